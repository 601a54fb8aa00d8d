"""Pausing Python's cyclic garbage collector around the long loops over the log."""

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, as it was after.

    An import or a fold of a million events allocates and frees objects
    without cycles (reference counting frees them), but every allocation
    counts towards the collector's next pass, and each pass walks every
    object still alive, the fold's growing state included, to find nothing.
    Off, a rebuild of a million events runs a fifth faster. Threads that
    pause it at once only lose speed: it is on again when the first that
    found it on is done.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
