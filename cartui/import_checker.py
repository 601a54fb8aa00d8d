"""The checks of a large import, in a process of their own.

An import spends most of its time in Python, reading and checking lines, and
the rest in SQLite, inserting them. In one process the two share one
interpreter lock, so they mostly take turns. Here a child process
(`python -m cartui.import_checker FD`) reads and checks the file, with the
importer's own code, and hands over the checked rows while the parent
inserts the batch before: the two run at once, on two cores.

Into an empty log the child assumes every line is new. Into a log with
events it opens the database itself and checks against the stored carts and
event ids, in one read transaction. The parent starts it while holding the
write lock, so that is the log the rows go into (the parent still checks
that the first row's position follows its head).

The child reads its settings (the catalog, the database or null, the
importer's batch and read sizes: JSON, on its stdin) and writes frames to its
stdout, each a header (kind, length of the payload, bytes of the file read so
far) and a payload:
- ROWS: the rows as `_Importer.check` makes them, and the lines it refused
  among them as (number of rows before it, line, reason, event_id), in
  `marshal`, the fastest way between two processes of the same Python; the
  parent tells whether each refused line repeats an event_id it has stored,
  which this process cannot see, so it went on as if it did;
- BAD_LINE: the first line that cannot be read: its number and reason, as
  JSON; nothing follows;
- END: the file is checked, every row sent; the number of lines skipped as
  stored or repeated, as JSON.
A child that dies without its END (killed, say) is a CheckerFailed.
"""

import marshal
import os
import queue
import struct
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import BinaryIO, Iterator

import orjson

from .domain import Catalog
from .store import EventStore

ROWS, BAD_LINE, END = b"R", b"E", b"."
HEADER = struct.Struct("<cIQ")  # kind, payload length, bytes of the file read
_FRAMES_AHEAD = 4  # checked batches the child may hold while the parent inserts


class CheckerFailed(Exception):
    """The checking process ended without saying why: its checks are lost."""


class CheckerProcess:
    """The parent's side: starts the child, reads its batches, stops it."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.skipped = 0  # lines already stored or repeated: known once batches() ends

    @classmethod
    def start(cls, file: BinaryIO, catalog: Catalog, batch_lines: int, read_bytes: int,
              database: str | None = None) -> "CheckerProcess | None":
        """The child checking `file`, reading it as the importer here would, against
        the events of `database` (None: an empty log), or None where no Python can
        be started.

        The child inherits the file itself, not its name: a name may mean another
        file there (`/dev/stdin` is the child's settings pipe) or by then (an
        editor saving over it). The two share its offset: this process must not
        read the file until the child is stopped."""
        if not sys.executable:
            return None
        # It imports what this process imports, from where this process found it; in
        # its own session, Ctrl-C reaches this process only, which stops the child. Its
        # traceback, if it has one, only costs time (the file is checked here again):
        # it is shown where cartui shows its own (CARTUI_DEBUG).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}
        stderr = None if os.environ.get("CARTUI_DEBUG") else subprocess.DEVNULL
        fd = file.fileno()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(fd)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True,
                pass_fds=(fd,))
        except (OSError, ValueError):  # ValueError: no pass_fds on this system
            return None
        checker = cls(process)
        try:
            process.stdin.write(orjson.dumps({
                "catalog": catalog.records(), "database": database,
                "batch_lines": batch_lines, "read_bytes": read_bytes}))
            process.stdin.close()
        except OSError:  # it died at once; batches() says so
            pass
        return checker

    def batches(self) -> Iterator[tuple[list[tuple], list[tuple[int, object]], int]]:
        """(checked rows, the lines refused among them, bytes of the file read), to the
        end of the file, as importer._checked_batches makes them; ImportFileError for
        the first line that cannot be read."""
        from .importer import ImportFileError

        read = self.process.stdout.read
        while True:
            header = read(HEADER.size)
            if len(header) != HEADER.size:
                raise CheckerFailed()
            kind, length, done_bytes = HEADER.unpack(header)
            payload = read(length)
            if len(payload) != length:
                raise CheckerFailed()
            if kind == ROWS:
                rows, refused = marshal.loads(payload)
                yield rows, [(index, ImportFileError(*error)) for index, *error in refused], done_bytes
            elif kind == BAD_LINE:
                raise ImportFileError(*orjson.loads(payload))
            elif kind == END:
                self.skipped = orjson.loads(payload)
                return
            else:
                raise CheckerFailed()

    def stop(self) -> None:
        """End the child, done or not, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.stdout.close()
        self.process.wait()


# -- the child ---------------------------------------------------------------------------------

def check_file(fd: int, catalog: Catalog, database: str | None, out: BinaryIO) -> None:
    """Check the lines of the file open as `fd`, from its start, against the events
    of `database` (None: an empty log) and write the frames to `out`.

    A thread writes them, so the checks go on while the parent is busy
    inserting and the pipe is full."""
    from .gc_pause import cycle_collector_paused
    from .importer import ImportFileError, _checked_batches, _Importer, _LineReader
    from .service import CartService

    frames: queue.Queue = queue.Queue(maxsize=_FRAMES_AHEAD)

    def write_frames() -> None:
        try:
            while (frame := frames.get()) is not None:
                out.write(frame)
                out.flush()
        except OSError:  # the parent is gone, or stopped reading: it is done with us
            os._exit(1)

    writer = threading.Thread(target=write_frames, name="cartui-checker-frames", daemon=True)
    writer.start()

    def send(kind: bytes, payload: bytes, done_bytes: int) -> None:
        frames.put(HEADER.pack(kind, len(payload), done_bytes) + payload)

    reader = _LineReader(catalog.names())
    done_bytes = 0
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        with open(fd, "rb") as file, cycle_collector_paused(), \
                _stored_log(database) as store:
            importer = _Importer(store, None if store is None else CartService(store, catalog))
            for rows, refused, done_bytes in _checked_batches(file, reader, importer):
                if rows or refused:
                    refused_lines = [(index, e.line, e.reason, e.event_id) for index, e in refused]
                    send(ROWS, marshal.dumps((rows, refused_lines)), done_bytes)
        send(END, orjson.dumps(importer.skipped), done_bytes)
    except ImportFileError as error:
        send(BAD_LINE, orjson.dumps([error.line, error.reason]), done_bytes)
    finally:
        frames.put(None)
        writer.join()


@contextmanager
def _stored_log(database: str | None) -> Iterator[EventStore | None]:
    """The database's log as it stands now, to the end of the block; None for none."""
    if database is None:
        yield None
        return
    with EventStore(database) as store, store.read_transaction():
        yield store


def main() -> None:
    from . import importer

    settings = orjson.loads(sys.stdin.buffer.read())
    importer.BATCH_LINES, importer.READ_BYTES = settings["batch_lines"], settings["read_bytes"]
    check_file(int(sys.argv[1]), Catalog.from_records(settings["catalog"]), settings["database"],
               sys.stdout.buffer)


if __name__ == "__main__":
    main()
