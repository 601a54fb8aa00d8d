"""Temporal queries: the world (any cart, every projection) as of a position or a time.

This is the service the command line (`show --at`, `projections --at`) and the
full-screen app ask. The first implementation folds from zero; checkpoints
make it fast (see the read-side issue) without changing any answer.
"""

from dataclasses import dataclass, field, replace

from .domain import CartState, check, errors, evolve, initial_state
from .projections import Projections, fold_projections
from .service import CartService, LoadedCart
from .store import EventStore, RecordedEvent, UndecodableEvent, normalize_timestamp


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
    projection figures it moved."""

    event: RecordedEvent
    decoded: object | None  # the domain event, None when the row cannot be decoded
    problem: str | None  # why it cannot be decoded
    cart_before: CartState
    cart_after: CartState
    lines: tuple[LineChange, ...]
    projections_before: Projections
    projections_after: Projections

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


class History:
    def __init__(self, store: EventStore, service: CartService) -> None:
        self.store = store
        self.service = service

    # -- resolving positions ---------------------------------------------------------------

    def head(self) -> int:
        return self.store.head_position()

    def check_position(self, position: int) -> int:
        head = self.head()
        if not 0 <= position <= head:
            raise PositionOutOfRange(f"position {position} is outside the log (0..{head})")
        return position

    def position_at_time(self, moment: str) -> int:
        """The largest position recorded at or before `moment` (ISO-8601 with a zone)."""
        return self.store.position_at_time(normalize_timestamp(moment))

    # -- the world as of P -----------------------------------------------------------------

    def cart_at(self, cart_id: str, position: int | None = None) -> LoadedCart:
        if position is not None:
            self.check_position(position)
        return self.service.load(cart_id, at_position=position)

    def projections_at(self, position: int | None = None) -> Projections:
        position = self.head() if position is None else self.check_position(position)
        rows = self.store.read_all(1, up_to_position=position)
        return fold_projections(rows, self.service.decode, position)

    def change_at(self, position: int) -> EventChange:
        """The change made by the event at `position` (1..head)."""
        self.check_position(position)
        row = self.store.get(position)
        if row is None:
            raise PositionOutOfRange(f"no event at position {position}")
        before = self.service.load(row.stream_id, at_position=position - 1).state
        after = self.service.load(row.stream_id, at_position=position).state
        try:
            decoded, problem = self.service.decode(row), None
        except UndecodableEvent as exc:
            decoded, problem = None, exc.reason
        return EventChange(row, decoded, problem, before, after, _line_changes(before, after),
                           self.projections_at(position - 1), self.projections_at(position))

    def what_if(self, position: int, skipped: frozenset[int], cart_id: str | None = None) -> WhatIf:
        """The world at `position` had the events at `skipped` never happened.

        A later event that becomes illegal without them (an ItemRemoved of a
        sku whose ItemAdded was skipped) is reported and left out too.
        """
        self.check_position(position)
        carts: dict[str, CartState] = {}
        kept: list[RecordedEvent] = []
        problems: list[SkippedEventProblem] = []
        for row in self.store.read_all(1, up_to_position=position):
            if row.position in skipped:
                continue
            try:
                event = self.service.decode(row)
            except UndecodableEvent:
                kept.append(row)  # the fold reports it as undecodable
                continue
            state = carts.get(row.stream_id) or initial_state(row.stream_id)
            try:
                check(state, event)
            except errors.DomainError as exc:
                problems.append(SkippedEventProblem(row.position, str(exc)))
                continue
            carts[row.stream_id] = evolve(state, event)
            kept.append(row)
        projections = fold_projections(kept, self.service.decode, position)
        cart = carts.get(cart_id) if cart_id is not None else None
        if cart_id is not None and cart is None:
            cart = initial_state(cart_id)
        return WhatIf(position, frozenset(skipped), cart, projections, tuple(problems))


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
    return {k: v for k, v in figures.items() if v}
