"""Temporal queries: the world (any cart, every projection) as of a position or a time.

This is the service the command line (`show --at`, `projections --at`) and the
full-screen app ask. Projections at P come from the nearest checkpoint plus
at most CHECKPOINT_EVERY events (cartui.projections.reader); a cart at P from
its newest snapshot at or before P plus its events since.

Threads: a History answers on its store's connection, so use it from one
thread at a time. `catch_up` and `rebuild` are the exception: they open a
connection of their own (for a file database), so a worker thread may run
them while the app keeps asking.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from .domain import CartCheckedOut, CartState, check, errors, evolve, initial_state
from .projections import ProductFigures, Projections
from .projections.folds import OPEN, Fold
from .projections.model import cutoff
from .projections.projector import Progress, ProjectionLag, Projector
from .projections.reader import ProjectionReader
from .projections.summaries import cart_summaries
from .service import CartService, CartSummary, LoadedCart, skip_undecodable
from .store import (
    EventStore, OutOfRangeInUtc, RecordedEvent, UndecodableEvent, decode_event, is_disk_full,
    is_read_only, normalize_timestamp,
)


class PositionOutOfRange(ValueError):
    """A position past the head (or below zero)."""


@dataclass(frozen=True)
class LineChange:
    sku: str
    name: str
    quantity_before: int  # 0: the line was not there
    quantity_after: int  # 0: the line is gone
    unit_price_before: int | None
    unit_price_after: int | None


@dataclass(frozen=True)
class EventChange:
    """What the event at one position did: its cart before and after, and the
    projection figures it moved (in a what-if: in the world without the
    skipped events, and `left_out` says why it did nothing there)."""

    event: RecordedEvent
    decoded: object | None  # the domain event, None when the row cannot be decoded
    problem: str | None  # why it cannot be decoded
    cart_before: CartState
    cart_after: CartState
    lines: tuple[LineChange, ...]
    projections_before: Projections
    projections_after: Projections
    in_what_if: bool = False
    left_out: str | None = None  # in a what-if, why the event did nothing there

    @property
    def total_before(self) -> int:
        return self.cart_before.total_cents

    @property
    def total_after(self) -> int:
        return self.cart_after.total_cents

    def projection_deltas(self) -> dict[str, tuple[int, int]]:
        """Figures the event moved: name -> (before, after)."""
        before, after = _figures(self.projections_before), _figures(self.projections_after)
        return {k: (before.get(k, 0), v) for k, v in after.items() if before.get(k, 0) != v} | {
            k: (v, 0) for k, v in before.items() if k not in after}


@dataclass(frozen=True)
class SkippedEventProblem:
    position: int
    message: str  # the rule the event breaks once the skipped ones are gone


@dataclass(frozen=True)
class WhatIf:
    """The world as of a position with some events left out; the store is untouched."""

    as_of_position: int
    skipped: frozenset[int]
    cart: CartState | None
    projections: Projections
    problems: tuple[SkippedEventProblem, ...] = field(default=())


def reenact(state: CartState, event):
    """The event as it happens again from `state` in a what-if, or the DomainError
    it now breaks.

    The rules are `check`'s, with one difference: a checkout charges what the
    cart holds now. Leaving out an ItemAdded changes what the checkout costs;
    it does not make the checkout illegal. (`check` itself stays strict: an
    import must refuse a checkout whose recorded total disagrees with its cart.)
    """
    if isinstance(event, CartCheckedOut) and state.lines:
        event = CartCheckedOut(total_cents=state.total_cents, item_count=state.item_count)
    check(state, event)
    return event


class History:
    def __init__(self, store: EventStore, service: CartService) -> None:
        self.store = store
        self.service = service
        self.reader = ProjectionReader(store)

    # -- resolving positions ---------------------------------------------------------------

    def head(self) -> int:
        return self.store.head_position()

    def check_position(self, position: int) -> int:
        head = self.head()
        if not 0 <= position <= head:
            raise PositionOutOfRange(f"position {position:,} is outside the log (0..{head:,})")
        return position

    def position_at_time(self, moment: str) -> int:
        """The largest position recorded at or before `moment` (ISO-8601 with a zone);
        0 when it is before the first event."""
        try:
            moment = normalize_timestamp(moment)
        except OutOfRangeInUtc as exc:  # after every event, or before them all
            return self.store.head_position() if exc.after else 0
        return self.store.position_at_time(moment)

    # -- the world as of P -----------------------------------------------------------------

    def cart_at(self, cart_id: str, position: int | None = None) -> LoadedCart:
        """A cart after the events with position <= `position` (the head when None)."""
        if position is not None:
            self.check_position(position)
        return self.service.load(cart_id, at_position=position)

    def projections_at(self, position: int | None = None) -> Projections:
        """Every projection after the events with position <= `position` (the head when
        None). Fast once checkpoints exist; stepping by one from the last position
        asked folds one event. Never writes: see `catch_up`."""
        position = self.head() if position is None else self.check_position(position)
        return self.reader.at(position)

    def change_at(self, position: int, skipped: frozenset[int] = frozenset()) -> EventChange:
        """The change made by the event at `position` (1..head), in the world
        without the events at `skipped` (a what-if) when any come before it."""
        self.check_position(position)
        row = self.store.get(position)
        if row is None:
            raise PositionOutOfRange(f"no event at position {position}")
        try:
            decoded, problem = self.service.decode(row), None
        except UndecodableEvent as exc:
            decoded, problem = None, exc.reason
        skipped = frozenset(p for p in skipped if p <= position)
        if not skipped:
            before = self.service.load(row.stream_id, at_position=position - 1).state
            after = self.service.load(row.stream_id, at_position=position).state
            return EventChange(row, decoded, problem, before, after, _line_changes(before, after),
                               self.projections_at(position - 1), self.projections_at(position))
        world_before = self.what_if(position - 1, skipped, row.stream_id)
        world_after = self.what_if(position, skipped, row.stream_id)
        left_out = "skipped in this what-if" if position in skipped else next(
            (f"left out in this what-if: {p.message}" for p in world_after.problems
             if p.position == position), None)
        before, after = world_before.cart, world_after.cart
        return EventChange(row, decoded, problem, before, after, _line_changes(before, after),
                           world_before.projections, world_after.projections, True, left_out)

    def what_if(self, position: int, skipped: frozenset[int], cart_id: str | None = None) -> WhatIf:
        """The world at `position` had the events at `skipped` never happened.

        Only the carts of the skipped events can change: each is replayed without
        them (`reenact`), and a later event of theirs that becomes illegal, an
        ItemRemoved of a sku whose ItemAdded was skipped, anything on a cart whose
        CartCreated was skipped, a line over 99, a checkout of an emptied cart, is
        reported and left out too. A checkout whose cart now holds less is kept at
        the new total. Every other cart is taken as recorded.
        """
        self.check_position(position)
        skipped = frozenset(skipped)
        actual = self.projections_at(position)
        rows = [self.store.get(p) for p in sorted(skipped) if 1 <= p <= position]
        affected = sorted({row.stream_id for row in rows if row is not None})
        if not affected:
            cart = self.cart_at(cart_id, position).state if cart_id is not None else None
            return WhatIf(position, skipped, cart, actual, ())
        with self.reader.readmodels.snapshot():
            replays = [self._replay(stream_id, position, skipped) for stream_id in affected]
            projections = self._projections_without(actual, position, replays)
        problems = tuple(sorted((p for r in replays for p in r.problems), key=lambda p: p.position))
        cart = None
        if cart_id is not None:
            replayed = {r.stream_id: r.state for r in replays}
            cart = replayed.get(cart_id) or self.cart_at(cart_id, position).state
        return WhatIf(position, skipped, cart, projections, problems)

    def _replay(self, stream_id: str, position: int, skipped: frozenset[int]) -> "_CartReplay":
        """One cart's events up to `position`, as recorded and without the skipped ones."""
        rows = self.reader.readmodels.stream_fold_rows(stream_id, position)
        recorded = Fold(None)
        recorded.apply(rows)
        state = initial_state(stream_id)
        kept, dropped, problems = [], set(), []
        for row in rows:
            at, _, _, type_, schema_version, data, _ = row
            if at in skipped:
                dropped.add(at)
                continue
            try:
                event = decode_event(type_, schema_version, data, self.service.product_names, at)
            except UndecodableEvent:
                kept.append(row)  # still there, still undecodable
                state = skip_undecodable(state)
                continue
            try:
                again = reenact(state, event)
            except errors.DomainError as exc:
                problems.append(SkippedEventProblem(at, str(exc)))
                dropped.add(at)
                continue
            state = evolve(state, again)
            if again is not event:  # a checkout at its new total
                row = (*row[:5], again.data_json, row[6])
            kept.append(row)
        without = Fold(None)
        without.apply(kept)
        return _CartReplay(stream_id, state, recorded, without, dropped, problems,
                           kept[-1][6] if kept else None)

    def _projections_without(self, actual: Projections, position: int,
                             replays: list["_CartReplay"]) -> Projections:
        """`actual` with each replayed cart's part taken out and its replay put in."""
        open_carts = actual.carts_open
        checked_out, orders, revenue = actual.carts_checked_out, actual.orders, actual.revenue_cents
        products = {p.sku: [p.added_quantity, p.removed_count, p.purchased_quantity]
                    for p in actual.products}
        activity = dict(actual.activity)
        for replay in replays:
            for fold, sign in ((replay.recorded, -1), (replay.without, 1)):
                open_carts += sign * fold.carts.open
                checked_out += sign * fold.carts.checked_out
                orders += sign * fold.revenue.orders
                revenue += sign * fold.revenue.revenue_cents
                for sku, figures in fold.products.products.items():
                    mine = products.setdefault(sku, [0, 0, 0])
                    for i, n in enumerate(figures):
                        mine[i] += sign * n
                for hour, n in fold.activity.counts.items():
                    key = hour + ":00:00Z"
                    activity[key] = activity.get(key, 0) + sign * n
        dropped = set().union(*(r.dropped for r in replays))
        return Projections(
            as_of_position=position,
            carts_open=open_carts,
            carts_checked_out=checked_out,
            carts_abandoned=self._abandoned_without(position, open_carts, replays, dropped),
            orders=orders,
            revenue_cents=revenue,
            products=tuple(ProductFigures(sku, *f) for sku, f in sorted(products.items()) if any(f)),
            activity=tuple((hour, n) for hour, n in sorted(activity.items()) if n),
            undecodable=tuple(p for p in actual.undecodable if p not in dropped),
        )

    def _abandoned_without(self, position: int, open_carts: int, replays: list["_CartReplay"],
                           dropped: set[int]) -> int:
        # "60 minutes before the event at P" counts from the last event left in.
        last = position
        while (found := self.reader.readmodels.last_event_at_or_before(last)) is not None \
                and found[0] in dropped:
            last = found[0] - 1
        moment = cutoff(found[1]) if found is not None else None
        if moment is None:
            return 0
        replayed = {r.stream_id for r in replays}
        fold = self.reader.fold_to(position)
        active = self.reader.open_carts_active_since(fold, position, moment) - replayed
        active |= {r.stream_id for r in replays
                   if r.without.carts.statuses.get(r.stream_id) == OPEN
                   and r.last_recorded_at is not None and r.last_recorded_at >= moment}
        return open_carts - len(active)

    # -- the stored projections ------------------------------------------------------------

    def lag(self) -> list[ProjectionLag]:
        """Each projection's checkpoint (the last position it applied) against the
        head: what the app shows as "catching up"."""
        return Projector(self.store).lag()

    def catch_up(self, progress: Progress | None = None) -> int:
        """Fold into the stored projections the events they have not met yet, on a
        connection of its own (any thread may call it); progress(done, total) in
        events after each chunk. Returns the events folded."""
        with self._own_connection() as store:
            return Projector(store).catch_up(progress)

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop every projection and fold the whole log again (own connection too)."""
        with self._own_connection() as store:
            return Projector(store).rebuild(progress)

    def catch_up_where_writable(self, progress: Progress | None = None) -> bool:
        """`catch_up`, or False when the database cannot be written now (read-only to
        this process, or its disk full): the stored projections stay behind, and what
        reads them must fold the rest. A command that only reads still answers."""
        try:
            self.catch_up(progress)
        except Exception as exc:
            if not (is_read_only(exc) or is_disk_full(exc)):
                raise
            return False
        return True

    def cart_summaries(self, progress: Progress | None = None) -> list[CartSummary]:
        """Every cart as of the head, oldest first, from the cart summaries read model:
        the projections are caught up first (`catch_up`, progress included). Where
        they cannot be stored (a read-only database, a full disk) every cart is
        loaded instead (slower, the same list)."""
        if self.catch_up_where_writable(progress):
            return cart_summaries(self.reader.readmodels)
        summaries = []
        for stream in self.store.streams():
            state = self.service.load(stream.stream_id).state
            if state.exists:
                summaries.append(CartSummary(
                    stream.stream_id, state.customer, state.status, stream.version,
                    state.total_cents, state.item_count, stream.last_position,
                    stream.last_recorded_at))
        return summaries

    @contextmanager
    def _own_connection(self):
        if self.store.path == ":memory:":  # another connection would be another database
            yield self.store
            return
        store = EventStore(self.store.path, synchronous="NORMAL")  # derived data only
        try:
            yield store
        finally:
            store.close()


@dataclass
class _CartReplay:
    stream_id: str
    state: CartState  # in the what-if
    recorded: Fold  # the cart's part of the projections, as recorded
    without: Fold  # and in the what-if
    dropped: set[int]  # skipped, and left out as now illegal
    problems: list[SkippedEventProblem]
    last_recorded_at: str | None  # of its last event left in


def _line_changes(before: CartState, after: CartState) -> tuple[LineChange, ...]:
    changes = []
    for sku in dict.fromkeys([*before.lines, *after.lines]):
        old, new = before.lines.get(sku), after.lines.get(sku)
        if old != new:
            changes.append(LineChange(
                sku, (new or old).name, old.quantity if old else 0, new.quantity if new else 0,
                old.unit_price_cents if old else None, new.unit_price_cents if new else None))
    return tuple(changes)


def _figures(p: Projections) -> dict[str, int]:
    figures = {"carts open": p.carts_open, "carts checked out": p.carts_checked_out,
               "carts abandoned": p.carts_abandoned, "orders": p.orders,
               "revenue (cents)": p.revenue_cents}
    for product in p.products:
        figures[f"{product.sku} added"] = product.added_quantity
        figures[f"{product.sku} removed"] = product.removed_count
        figures[f"{product.sku} purchased"] = product.purchased_quantity
    for hour, events in p.activity:  # every event with a time counts in its hour
        figures[f"activity {hour[:10]} {hour[11:16]}"] = events
    return {k: v for k, v in figures.items() if v}
