"""The projections as of any position, fast: the nearest checkpoint plus at most
CHECKPOINT_EVERY events, or the last answer's fold plus the events since.

Nothing here writes. Beyond the projections' own checkpoint (the tip) the
fold simply goes on from the tip, so answers are right however far behind the
stored projections are; catching them up (Projector) is what makes it fast.

Two figures are not in checkpoints, by design:
- abandoned carts (open, and quiet for over 60 minutes before the event at P) are
  counted from the events of those last 60 minutes: open(P) minus the open
  carts that had an event since then;
- activity before the checkpoint's hour comes from proj_activity: those hours
  are final, since recorded_at never decreases in position order.
"""

from bisect import bisect_left, bisect_right
from collections import OrderedDict

from ..store import EventStore, starts_like_timestamp
from ..store.readmodels import ReadModelStore
from .folds import FIGURE_NAMES, OPEN, Fold
from .model import ProductFigures, Projections, cutoff

ANSWERS_KEPT = 256  # projections at a position never change: the log is append-only


class ProjectionReader:
    """Projections as of any position. One per thread (it keeps the last fold)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.readmodels = ReadModelStore(store)
        self._fold: Fold | None = None  # the last fold, at _fold.position
        self._answers: OrderedDict[int, Projections] = OrderedDict()
        # Final facts read from the derived tables, good for any checkpoint at or
        # before the tip they were read at.
        self._activity: list[tuple[str, int]] = []
        self._activity_hours: list[str] = []
        self._undecodable: list[int] = []
        self._tables_read_at = -1

    def at(self, position: int) -> Projections:
        """Every projection after the events with position <= `position` (0: nothing)."""
        if position <= 0:
            return Projections(as_of_position=0)
        answer = self._answers.get(position)
        if answer is not None:
            self._answers.move_to_end(position)
            return answer
        with self.readmodels.snapshot():
            fold = self.fold_to(position)
            answer = self._answer(fold, position)
        self._answers[position] = answer
        if len(self._answers) > ANSWERS_KEPT:
            self._answers.popitem(last=False)
        return answer

    def fold_to(self, position: int) -> Fold:
        """A fold of every projection up to `position`: the last one moved forward
        when that is the shortest way, else a new one from the nearest checkpoint."""
        positions = self.readmodels.positions()
        tip = min(positions.get(name, 0) for name in FIGURE_NAMES)
        fold = self._fold
        if fold is not None and (fold.position > position or fold.start > tip):
            fold = None  # past the position, or rests on tables rebuilt since
        checkpoint = self.readmodels.checkpoint_at_or_before(min(position, tip)) if tip else None
        start = checkpoint[0] if checkpoint else 0
        if fold is None or start > fold.position:
            fold = Fold(self.readmodels, start, checkpoint[1] if checkpoint else None)
            if start > self._tables_read_at:
                self._read_tables(tip)
        fold.apply(self.readmodels.fold_rows(fold.position, position))
        fold.advance_to(position)
        self._fold = fold
        return fold

    def _read_tables(self, tip: int) -> None:
        self._activity = self.readmodels.activity()
        self._activity_hours = [hour for hour, _ in self._activity]
        self._undecodable = [position for position, _ in self.readmodels.undecodable()]
        self._tables_read_at = tip

    def _answer(self, fold: Fold, position: int) -> Projections:
        latest = self.latest_moment(fold, position)
        moment = cutoff(latest) if latest is not None else None
        abandoned = 0
        if moment is not None:
            abandoned = fold.carts.open - len(self.open_carts_active_since(fold, position, moment))
        products = fold.products.products
        return Projections(
            as_of_position=position,
            carts_open=fold.carts.open,
            carts_checked_out=fold.carts.checked_out,
            carts_abandoned=abandoned,
            orders=fold.revenue.orders,
            revenue_cents=fold.revenue.revenue_cents,
            products=tuple(ProductFigures(sku, *products[sku]) for sku in sorted(products)),
            activity=self._activity_at(fold),
            undecodable=tuple(self._undecodable[:bisect_right(self._undecodable, fold.start)])
            + tuple(p for p, _ in fold.undecodable),
        )

    def latest_moment(self, fold: Fold, position: int) -> str | None:
        """recorded_at of the last event at or before `position` (that has a time)."""
        if fold.last_recorded_at is not None and fold.position == position \
                and starts_like_timestamp(fold.last_recorded_at):
            return fold.last_recorded_at
        last = self.readmodels.last_event_at_or_before(position)
        return last[1] if last else None

    def open_carts_active_since(self, fold: Fold, position: int, moment: str) -> set[str]:
        """The carts open at `position` (the fold's) with an event recorded at or
        after `moment` among the events up to `position`."""
        first = self.readmodels.first_position_from(moment)
        if first is None or first > position:
            return set()
        active = self.readmodels.streams_between(first, position)
        return {cart for cart, status in fold.carts.statuses_of(active).items() if status == OPEN}

    def _activity_at(self, fold: Fold) -> tuple[tuple[str, int], ...]:
        """The hours before the fold's start hour, final, from the table; then the
        start hour's count at the checkpoint plus what the fold met."""
        activity = fold.activity
        counts = dict(activity.counts)
        if activity.start_hour is not None:
            counts[activity.start_hour] = counts.get(activity.start_hour, 0) + activity.start_events
        if not counts:
            return ()
        first_hour = min(counts) + ":00:00Z"
        earlier = self._activity[:bisect_left(self._activity_hours, first_hour)] if fold.start else []
        return tuple(earlier) + tuple((hour + ":00:00Z", n) for hour, n in sorted(counts.items()))
