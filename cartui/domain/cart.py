"""The cart as a decider: `decide(command, state, catalog) -> events` and
`evolve(state, event) -> state`. Pure functions, no I/O.

`check(state, event)` is the other direction: could this event have been
decided from this state? Imports and what-if replays use it to refuse a
history that breaks the cart rules.
"""

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping

from . import errors
from .catalog import Product
from .commands import AddItem, ChangeQuantity, CheckOut, Command, CreateCart, RemoveItem
from .events import (
    MAX_CUSTOMER_LENGTH, CartCheckedOut, CartCreated, ItemAdded, ItemQuantityChanged, ItemRemoved,
)

MAX_LINE_QUANTITY = 99
Status = Literal["new", "open", "checked_out"]


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    name: str
    unit_price_cents: int
    quantity: int

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass(frozen=True, slots=True)
class CartState:
    """A cart after some of its events. `version` counts the events applied."""

    cart_id: str
    status: Status = "new"
    customer: str | None = None
    lines: Mapping[str, Line] = field(default_factory=dict)  # by sku, in order first added
    version: int = 0

    @property
    def exists(self) -> bool:
        return self.status != "new"

    @property
    def total_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines.values())

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines.values())

    def to_dict(self) -> dict:
        return {
            "cart_id": self.cart_id,
            "status": self.status,
            "customer": self.customer,
            "version": self.version,
            "lines": [
                [l.sku, l.name, l.unit_price_cents, l.quantity] for l in self.lines.values()
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "CartState":
        return cls(
            cart_id=d["cart_id"],
            status=d["status"],
            customer=d["customer"],
            version=d["version"],
            lines={sku: Line(sku, name, price, qty) for sku, name, price, qty in d["lines"]},
        )


def initial_state(cart_id: str) -> CartState:
    return CartState(cart_id=cart_id)


def validate_quantity(quantity: object) -> int:
    """Quantities are whole numbers from 1 to 99 per command."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 99:
        raise errors.InvalidQuantity(quantity)
    return quantity


def validate_cart_id(cart_id: object) -> str:
    if not isinstance(cart_id, str) or not 1 <= len(cart_id) <= 64 or not cart_id.isprintable() \
            or cart_id != cart_id.strip():
        raise errors.InvalidCartId(cart_id)
    return cart_id


def decide(command: Command, state: CartState, catalog: Mapping[str, Product]) -> list:
    """The events a command produces from a state, or the domain error it breaks."""
    match command:
        case CreateCart(customer=customer):
            validate_cart_id(command.cart_id)
            if customer is not None and len(customer) > MAX_CUSTOMER_LENGTH:
                raise errors.InvalidCustomer(customer)
            if state.exists:
                raise errors.CartAlreadyExists(state.cart_id)
            return [CartCreated(customer=customer)]
        case AddItem(sku=sku, quantity=quantity):
            validate_quantity(quantity)
            product = catalog.get(sku)
            if product is None:
                raise errors.UnknownSku(sku)
            _require_open(state)
            current = state.lines[sku].quantity if sku in state.lines else 0
            if current + quantity > MAX_LINE_QUANTITY:
                raise errors.LineLimitExceeded(sku, current, quantity)
            return [ItemAdded(sku=sku, name=product.name,
                              unit_price_cents=product.price_cents, quantity=quantity)]
        case ChangeQuantity(sku=sku, quantity=quantity):
            validate_quantity(quantity)
            _require_open(state)
            line = _require_line(state, sku)
            if line.quantity == quantity:
                return []  # nothing changes, so nothing happened
            return [ItemQuantityChanged(sku=sku, quantity=quantity)]
        case RemoveItem(sku=sku):
            _require_open(state)
            _require_line(state, sku)
            return [ItemRemoved(sku=sku)]
        case CheckOut():
            _require_open(state)
            if not state.lines:
                raise errors.EmptyCart(state.cart_id)
            return [CartCheckedOut(total_cents=state.total_cents, item_count=state.item_count)]
    raise TypeError(f"not a cart command: {command!r}")


def evolve(state: CartState, event) -> CartState:
    """The state after one event. Trusts the event: see `check` for the rules."""
    # States are built directly: dataclasses.replace costs microseconds per
    # event, which replays and imports of a million events feel.
    version = state.version + 1
    match event:
        case ItemAdded(sku=sku):
            lines = dict(state.lines)
            old = lines.get(sku)
            quantity = event.quantity + (old.quantity if old else 0)
            # A line keeps the unit price (and name) of its latest ItemAdded.
            lines[sku] = Line(sku, event.name, event.unit_price_cents, quantity)
            return CartState(state.cart_id, state.status, state.customer, lines, version)
        case ItemQuantityChanged(sku=sku):
            lines = dict(state.lines)
            old = lines.get(sku)
            if old is not None:
                lines[sku] = Line(sku, old.name, old.unit_price_cents, event.quantity)
            return CartState(state.cart_id, state.status, state.customer, lines, version)
        case ItemRemoved(sku=sku):
            lines = dict(state.lines)
            lines.pop(sku, None)
            return CartState(state.cart_id, state.status, state.customer, lines, version)
        case CartCreated(customer=customer):
            return CartState(state.cart_id, "open", customer, state.lines, version)
        case CartCheckedOut():
            return CartState(state.cart_id, "checked_out", state.customer, state.lines, version)
    raise TypeError(f"not a cart event: {event!r}")


def check(state: CartState, event) -> None:
    """Raise the domain error an event breaks if applied to `state`.

    Prices and names are not checked against today's catalog: history keeps
    the price at the moment of adding.
    """
    match event:
        case CartCreated():
            if state.exists:
                raise errors.CartAlreadyExists(state.cart_id)
        case ItemAdded(sku=sku, quantity=quantity):
            _require_open(state)
            current = state.lines[sku].quantity if sku in state.lines else 0
            if current + quantity > MAX_LINE_QUANTITY:
                raise errors.LineLimitExceeded(sku, current, quantity)
        case ItemQuantityChanged(sku=sku) | ItemRemoved(sku=sku):
            _require_open(state)
            _require_line(state, sku)
        case CartCheckedOut(total_cents=total, item_count=count):
            _require_open(state)
            if not state.lines:
                raise errors.EmptyCart(state.cart_id)
            if (total, count) != (state.total_cents, state.item_count):
                raise errors.EventMismatch(
                    f"checkout of cart {state.cart_id!r} records total {total} and {count} items, "
                    f"but the cart holds {state.total_cents} and {state.item_count}"
                )
        case _:
            raise TypeError(f"not a cart event: {event!r}")


def fold(state: CartState, events: Iterable) -> CartState:
    for event in events:
        state = evolve(state, event)
    return state


def _require_open(state: CartState) -> None:
    if not state.exists:
        raise errors.CartNotFound(state.cart_id)
    if state.status == "checked_out":
        raise errors.CartCheckedOut(state.cart_id)


def _require_line(state: CartState, sku: str) -> Line:
    line = state.lines.get(sku)
    if line is None:
        raise errors.SkuNotInCart(state.cart_id, sku)
    return line
