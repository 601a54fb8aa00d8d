"""Catching the projections up from their checkpoints, and rebuilding them from zero.

One pass over the log feeds every projection (reading the log once is what
makes a rebuild fast); each projection's checkpoint is advanced in the same
transaction as its derived rows, one chunk of the log at a time, so an
interrupted catch-up loses at most one chunk and readers always see the
projections as of some position.

Several connections may catch up at once (the app's worker, a command in
another terminal): each chunk is written only if the projections are still
where that fold started, else the fold starts again from where they are now.
"""

import time
from dataclasses import dataclass
from typing import Callable

import orjson

from ..gc_pause import cycle_collector_paused
from ..store import ConcurrencyError, EventStore
from ..store.readmodels import ReadModelStore
from .folds import PROJECTION_NAMES, Fold

# Figures are checkpointed every CHECKPOINT_EVERY positions: a jump to any
# position folds at most that many events. Measured on 1,000,000 events here, a
# jump costs ~0.9 ms (the cart, the 60-minute window) plus ~4 us per event
# folded: 250 gives a 1.2 ms median for 5.5 MB of checkpoints (1.2% of the
# log); 1,000 doubles the median, 100 saves 0.2 ms for 2.5 times the storage.
CHECKPOINT_EVERY = 250
CHUNK_EVENTS = 50_000  # events per transaction while catching up

Progress = Callable[[int, int], object]  # progress(done, total), in events


@dataclass(frozen=True)
class ProjectionLag:
    projection: str
    position: int  # its checkpoint: the last position it has applied
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


REBUILD_SUFFIX = "_rebuild"  # the set of tables a rebuild fills before swapping it in


class Projector:
    def __init__(self, store: EventStore, *, checkpoint_every: int = CHECKPOINT_EVERY,
                 chunk_events: int = CHUNK_EVENTS, tables_suffix: str = "") -> None:
        self.store = store
        self.readmodels = ReadModelStore(store, tables_suffix)
        self.checkpoint_every = checkpoint_every
        self.chunk_events = chunk_events

    def lag(self) -> list[ProjectionLag]:
        """Each projection's checkpoint against the head of the log."""
        with self.readmodels.snapshot():
            positions = self.readmodels.positions()
            head = self.store.head_position()
        return [ProjectionLag(name, positions.get(name, 0), head) for name in PROJECTION_NAMES]

    def rebuild(self, progress: Progress | None = None) -> int:
        """Fold the whole log again from zero, into a second set of tables that then
        replaces every projection in one transaction: meanwhile readers go on with
        the old ones (the same facts, so answers do not change). Returns the events
        folded."""
        fresh = Projector(self.store, checkpoint_every=self.checkpoint_every,
                          chunk_events=self.chunk_events, tables_suffix=REBUILD_SUFFIX)
        fresh.readmodels.drop()  # whatever an interrupted rebuild left
        try:
            folded = fresh.catch_up(progress)
        except Exception:
            if fresh.readmodels.exists():
                raise
            # Another rebuild began meanwhile (it drops what it finds first) or swapped
            # these tables in before this one was done: it rebuilds them all the same.
            raise ConcurrencyError("another rebuild ran at the same time and rebuilds the "
                                   "projections: this one stopped") from None
        fresh.readmodels.promote()
        return folded + self.catch_up()  # the events appended meanwhile

    def catch_up(self, progress: Progress | None = None) -> int:
        """Fold the events after the projections' checkpoints, up to the head as it
        is now. Returns the number of events folded (by this connection)."""
        self.readmodels.create()
        with cycle_collector_paused():
            return self._catch_up(progress)

    def _catch_up(self, progress: Progress | None) -> int:
        folded = 0
        origin = None  # where this catch-up began: progress counts from there
        while True:
            with self.readmodels.snapshot():
                positions = self.readmodels.positions()
                head = self.store.head_position()
                start, figures = self._start(positions)
            origin = start if origin is None else min(origin, start)
            if start >= head:
                if progress is not None and folded:  # the rest was folded by another connection
                    progress(head - origin, head - origin)
                return folded

            def overall(done: int, total: int, ahead: int = start - origin) -> None:
                # What another connection folded meanwhile counts as done: a catch-up that
                # keeps losing the race to it still shows the projections getting there.
                progress(ahead + done, ahead + total)

            done = self._fold(positions, start, figures, head,
                              None if progress is None else overall)
            folded += done
            if done == head - start:
                return folded
            # Another connection moved the projections meanwhile: go on from there.

    def _start(self, positions: dict[str, int]) -> tuple[int, dict | None]:
        """Where a catch-up starts: the projections' common checkpoint with its
        figures, or zero when they disagree or the figures are missing."""
        values = {positions.get(name, 0) for name in PROJECTION_NAMES}
        if len(values) == 1 and (start := values.pop()) > 0:
            checkpoint = self.readmodels.checkpoint_at_or_before(start)
            if checkpoint is not None and checkpoint[0] == start:
                return start, checkpoint[1]
        return 0, None

    def _fold(self, positions: dict[str, int], start: int, figures: dict | None, head: int,
              progress: Progress | None) -> int:
        """Fold (start, head] chunk by chunk; returns how far it got before another
        connection moved the projections (head - start when it did not)."""
        fold = Fold(self.readmodels, start, figures, summaries=True)
        expected = dict(positions)
        tip = start
        total = head - start
        if progress is not None:
            progress(0, total)
        while tip < head:
            last = min(tip + self.chunk_events, head)
            checkpoints = fold.apply(self.readmodels.fold_rows(tip, last), self.checkpoint_every)
            fold.advance_to(last)
            checkpoints.append((last, fold.figures()))
            saved = self.readmodels.save(
                names=PROJECTION_NAMES, expected=expected, clear=start == 0 and tip == 0,
                position=last,
                checkpoints=[(p, orjson.dumps(f)) for p, f in checkpoints],
                # The previous tip was kept only to resume from; multiples stay.
                drop_checkpoint=tip if tip % self.checkpoint_every else None,
                cart_status=fold.carts.take_new_statuses(),
                activity=fold.activity.take_counts(),
                undecodable=fold.undecodable,
                cart_summaries=fold.summaries.take())
            if not saved:
                return tip - start
            fold.undecodable = []
            expected = dict.fromkeys(PROJECTION_NAMES, last)
            tip = last
            if progress is not None:
                progress(tip - start, total)
        return tip - start


class ProgressLine:
    """A one-line progress report for a terminal: position, rate and time left.
    Shown only once the work has taken `delay` seconds: short work stays quiet."""

    def __init__(self, write: Callable[[str], object], label: str = "catching up",
                 delay: float = 0.5, every: float = 0.1) -> None:
        self.write = write
        self.label = label
        self.delay = delay
        self.every = every
        self.started = time.perf_counter()
        self.shown_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        elapsed = now - self.started
        finished = done >= total
        if elapsed < self.delay:
            return
        if not finished and self.shown_at is not None and now - self.shown_at < self.every:
            return
        self.shown_at = now
        rate = done / max(elapsed, 1e-9)
        left = (total - done) / rate if rate else 0.0
        width = 24
        filled = width * done // total if total else width
        self.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                   f"{done:,}/{total:,} events, {rate:,.0f}/s, {left:,.0f} s left ")
        if finished:
            self.write("\n")
