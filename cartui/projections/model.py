"""The read models' figures as of one position, and the plain fold that defines them.

`fold_projections` is the reference: the projections are whatever it computes
from the first P events. Faster paths (checkpoints, incremental catch-up) must
give the same answers, and the tests hold them to it.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterable

from ..domain import CartCheckedOut, CartCreated, ItemAdded, ItemQuantityChanged, ItemRemoved
from ..store import (
    RecordedEvent, UndecodableEvent, format_timestamp, parse_timestamp, starts_like_timestamp,
)

ABANDONED_AFTER = timedelta(minutes=60)


@dataclass(frozen=True, slots=True)
class ProductFigures:
    sku: str
    added_quantity: int = 0
    removed_count: int = 0  # ItemRemoved events: what people took out again
    purchased_quantity: int = 0  # the sku's quantity in each cart at the moment it checked out

    def to_json(self) -> dict:
        return {"sku": self.sku, "added_quantity": self.added_quantity,
                "removed_count": self.removed_count, "purchased_quantity": self.purchased_quantity}


@dataclass(frozen=True, slots=True)
class Projections:
    """Every read model as of `as_of_position` (after the events with position <= it)."""

    as_of_position: int
    carts_open: int = 0
    carts_checked_out: int = 0
    carts_abandoned: int = 0  # open carts whose latest event is > 60 min older than the event at P
    orders: int = 0
    revenue_cents: int = 0
    products: tuple[ProductFigures, ...] = ()  # one per sku seen, by sku
    activity: tuple[tuple[str, int], ...] = ()  # (hour "YYYY-MM-DDTHH:00:00Z", events), in time order
    undecodable: tuple[int, ...] = field(default=(), compare=False)  # positions skipped

    @property
    def average_order_cents(self) -> int:
        return self.revenue_cents // self.orders if self.orders else 0

    def to_json(self) -> dict:
        return {
            "as_of_position": self.as_of_position,
            "carts": {"open": self.carts_open, "checked_out": self.carts_checked_out,
                      "abandoned": self.carts_abandoned},
            "revenue": {"orders": self.orders, "revenue_cents": self.revenue_cents,
                        "average_order_cents": self.average_order_cents},
            "products": [p.to_json() for p in self.products],
            "activity": [{"hour": hour, "events": n} for hour, n in self.activity],
        }


def cutoff(latest: str) -> str | None:
    """The stored-timestamp text 60 minutes before `latest`: a cart quiet since
    before it is abandoned. None when `latest` is no time to the minute (a row
    another program wrote, "2026-01-05T10:99Z"), from which no cart counts as
    abandoned."""
    try:
        return format_timestamp(parse_timestamp(latest) - ABANDONED_AFTER)
    except (ValueError, OverflowError):
        return None


def hour_of(recorded_at: str) -> str:
    """The activity bucket of a stored timestamp ("2026-01-05T10:42:..." -> "2026-01-05T10:00:00Z")."""
    return recorded_at[:13] + ":00:00Z"


def fold_projections(rows: Iterable[RecordedEvent], decode, as_of_position: int) -> Projections:
    """The plain fold: every projection from the first events of the log.

    `rows` are the events with position <= as_of_position, in order; `decode`
    turns a row into a domain event or raises UndecodableEvent.
    """
    status: dict[str, str] = {}
    lines: dict[str, dict[str, int]] = {}
    last_seen: dict[str, str] = {}
    products: dict[str, list[int]] = {}
    activity: dict[str, int] = {}
    orders = revenue = 0
    undecodable = []
    last_time = None
    for row in rows:
        # A recorded_at that is no time (a row another program wrote) counts in no
        # hour and dates nothing; one with a real hour counts in it.
        if starts_like_timestamp(row.recorded_at):
            last_time = row.recorded_at
            hour = hour_of(row.recorded_at)
            activity[hour] = activity.get(hour, 0) + 1
            last_seen[row.stream_id] = row.recorded_at
        try:
            event = decode(row)
        except UndecodableEvent:
            undecodable.append(row.position)
            continue
        cart = lines.setdefault(row.stream_id, {})
        match event:
            case CartCreated():
                status[row.stream_id] = "open"
            case ItemAdded(sku=sku, quantity=q):
                products.setdefault(sku, [0, 0, 0])[0] += q
                cart[sku] = cart.get(sku, 0) + q
            case ItemQuantityChanged(sku=sku, quantity=q):
                cart[sku] = q
            case ItemRemoved(sku=sku):
                products.setdefault(sku, [0, 0, 0])[1] += 1
                cart.pop(sku, None)
            case CartCheckedOut(total_cents=total):
                status[row.stream_id] = "checked_out"
                orders += 1
                revenue += total
                for sku, q in cart.items():
                    products.setdefault(sku, [0, 0, 0])[2] += q
    open_carts = [c for c, s in status.items() if s == "open"]
    abandoned = 0
    quiet_before = cutoff(last_time) if last_time is not None else None
    if quiet_before is not None:  # text order is time order (fixed-width UTC)
        abandoned = sum(1 for c in open_carts if c in last_seen and last_seen[c] < quiet_before)
    return Projections(
        as_of_position=as_of_position,
        carts_open=len(open_carts),
        carts_checked_out=sum(1 for s in status.values() if s == "checked_out"),
        carts_abandoned=abandoned,
        orders=orders,
        revenue_cents=revenue,
        products=tuple(ProductFigures(sku, *figures) for sku, figures in sorted(products.items())),
        activity=tuple(sorted(activity.items())),
        undecodable=tuple(undecodable),
    )
