"""The cart as a decider: `decide(command, state, catalog) -> events` and
`evolve(state, event) -> state`. Pure functions, no I/O.

`check(state, event)` is the other direction: could this event have been
decided from this state? Imports and what-if replays use it to refuse a
history that breaks the cart rules. `CartTally.apply(event)` is `check` then
`evolve` on the little of a cart the rules read, for checking a million
events quickly (imports).

Each rule is written once, in the `_require_*` helpers below, on plain values:
`decide`, `check` and `CartTally` all call them, so they cannot disagree.
"""

from functools import lru_cache
from types import MappingProxyType
from typing import Iterable, Literal, Mapping, NamedTuple

from . import errors
from .catalog import Product
from .commands import (
    AddItem, ChangeQuantity, ChangeQuantityBy, CheckOut, Command, CreateCart, RemoveItem,
)
from .events import (
    MAX_CART_ID_LENGTH, MAX_CART_ITEMS, MAX_CART_TOTAL_CENTS, MAX_CUSTOMER_LENGTH,
    MAX_LINE_QUANTITY,
    CartCheckedOut, CartCreated, ItemAdded, ItemQuantityChanged, ItemRemoved,
)

Status = Literal["new", "open", "checked_out"]


# A cart's state and lines are named tuples: immutable like frozen dataclasses,
# and built for a third of the cost, which every replayed event pays.
class Line(NamedTuple):
    sku: str
    name: str
    unit_price_cents: int
    quantity: int

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class CartState(NamedTuple):
    """A cart after some of its events. `version` counts the events applied."""

    cart_id: str
    status: Status = "new"
    customer: str | None = None
    lines: Mapping[str, Line] = MappingProxyType({})  # by sku, in order first added
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


def require_open(state: CartState) -> None:
    """What every change but a creation asks first: the cart exists and is not
    checked out (else its domain error). The app asks it before offering products."""
    _require_open(state.cart_id, state.status)


def validate_quantity(quantity: object) -> int:
    """Quantities are whole numbers from 1 to MAX_LINE_QUANTITY per command."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) \
            or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise errors.InvalidQuantity(quantity)
    return quantity


def validate_cart_id(cart_id: object) -> str:
    if not isinstance(cart_id, str) or not 1 <= len(cart_id) <= MAX_CART_ID_LENGTH \
            or not cart_id.isprintable() or cart_id != cart_id.strip():
        raise errors.InvalidCartId(cart_id)
    return cart_id


def validate_new_cart_id(cart_id: object) -> str:
    """The id of a cart being created: a cart id that does not begin with "-", which
    a command line reads as an option (`cartui add -x ...` would not find cart
    "-x"). Carts stored under such an id, by an import say, stay as they are."""
    if validate_cart_id(cart_id).startswith("-"):
        raise errors.InvalidCartId(cart_id, new=True)
    return cart_id


def validate_customer(customer: str | None) -> str | None:
    """A customer's name is one line of text: no control characters (a terminal
    would obey them), and at most MAX_CUSTOMER_LENGTH characters."""
    if customer is None:
        return None
    if not _is_unicode_text(customer):
        raise errors.InvalidCustomer(customer, not_text=True)
    if len(customer) > MAX_CUSTOMER_LENGTH or not CONTROL_CHARACTERS.isdisjoint(map(ord, customer)):
        raise errors.InvalidCustomer(customer)
    return customer


def _is_unicode_text(text: str) -> bool:
    """False for a lone surrogate: what Python makes of bytes that are not UTF-8 in a
    command's arguments (a Latin-1 terminal's "Zoë"), which no event can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# C0, DEL, C1, the line and paragraph separators, the bidirectional controls: a
# terminal obeys them, breaks the line or turns the text after them around. A
# customer's name holds none; shown, they are escaped (cartui/literal.py).
CONTROL_CHARACTERS = frozenset([*range(0x20), *range(0x7f, 0xa0), 0x2028, 0x2029,
                                *range(0x202a, 0x202f), *range(0x2066, 0x206a)])


def decide(command: Command, state: CartState, catalog: Mapping[str, Product]) -> list:
    """The events a command produces from a state, or the domain error it breaks."""
    # Dispatch on the exact type: commands are final, and a pydantic model's
    # isinstance (ABCMeta) that misses costs more than the rest of a rule.
    kind = type(command)
    if kind is AddItem:
        sku, quantity = command.sku, validate_quantity(command.quantity)
        product = catalog.get(sku)
        if product is None:
            raise errors.UnknownSku(sku)
        _require_open(state.cart_id, state.status)
        _require_room(sku, _quantity_of(state, sku), quantity)
        return [_item_added(sku, product.name, product.price_cents, quantity)]
    if kind is ChangeQuantity:
        sku, quantity = command.sku, validate_quantity(command.quantity)
        _require_a_line_to_change(sku, state, catalog)
        if state.lines[sku].quantity == quantity:
            return []  # nothing changes, so nothing happened
        return [_quantity_changed(sku, quantity)]
    if kind is ChangeQuantityBy:
        _require_a_line_to_change(command.sku, state, catalog)
        if command.delta == 0:
            return []
        quantity = validate_quantity(state.lines[command.sku].quantity + command.delta)
        return [_quantity_changed(command.sku, quantity)]
    if kind is RemoveItem:
        _require_a_line_to_change(command.sku, state, catalog)
        return [_item_removed(command.sku)]
    if kind is CheckOut:
        _require_open(state.cart_id, state.status)
        _require_lines(state.cart_id, bool(state.lines))
        total, count = state.total_cents, state.item_count
        _require_recordable(state.cart_id, total, count)
        return [_checked_out(total, count)]
    if kind is CreateCart:
        validate_new_cart_id(command.cart_id)
        customer = validate_customer(command.customer)
        _require_new(state.cart_id, state.status)
        return [_cart_created(customer)]
    raise TypeError(f"not a cart command: {command!r}")


# Events are immutable values, and a shop decides the same few again and again
# (this sku, this many): each is built and validated once, then shared.
@lru_cache(maxsize=1024)
def _cart_created(customer: str | None) -> CartCreated:
    return CartCreated(customer=customer)


@lru_cache(maxsize=4096)
def _item_added(sku: str, name: str, unit_price_cents: int, quantity: int) -> ItemAdded:
    return ItemAdded(sku=sku, name=name, unit_price_cents=unit_price_cents, quantity=quantity)


@lru_cache(maxsize=4096)
def _quantity_changed(sku: str, quantity: int) -> ItemQuantityChanged:
    return ItemQuantityChanged(sku=sku, quantity=quantity)


@lru_cache(maxsize=1024)
def _item_removed(sku: str) -> ItemRemoved:
    return ItemRemoved(sku=sku)


@lru_cache(maxsize=4096)
def _checked_out(total_cents: int, item_count: int) -> CartCheckedOut:
    return CartCheckedOut(total_cents=total_cents, item_count=item_count)


# evolve builds states and lines with tuple.__new__ and the fields in their
# order: a named tuple's own __new__ is a Python function that costs as much
# again, and every command and every replayed event pays it.
_tuple_new = tuple.__new__


def evolve(state: CartState, event) -> CartState:
    """The state after one event. Trusts the event: see `check` for the rules."""
    # Dispatch is on the exact type, as in decide.
    version = state.version + 1
    kind = type(event)
    if kind is ItemAdded:
        sku = event.sku
        lines = dict(state.lines)
        old = lines.get(sku)
        quantity = event.quantity + (old.quantity if old else 0)
        # A line keeps the unit price (and name) of its latest ItemAdded.
        lines[sku] = _tuple_new(Line, (sku, event.name, event.unit_price_cents, quantity))
        return _tuple_new(CartState, (state.cart_id, state.status, state.customer, lines, version))
    if kind is ItemQuantityChanged:
        sku = event.sku
        lines = dict(state.lines)
        old = lines.get(sku)
        if old is not None:
            lines[sku] = _tuple_new(Line, (sku, old.name, old.unit_price_cents, event.quantity))
        return _tuple_new(CartState, (state.cart_id, state.status, state.customer, lines, version))
    if kind is ItemRemoved:
        lines = dict(state.lines)
        lines.pop(event.sku, None)
        return _tuple_new(CartState, (state.cart_id, state.status, state.customer, lines, version))
    if kind is CartCreated:
        return _tuple_new(CartState, (state.cart_id, "open", event.customer, state.lines, version))
    if kind is CartCheckedOut:
        return _tuple_new(CartState, (state.cart_id, "checked_out", state.customer, state.lines,
                                      version))
    raise TypeError(f"not a cart event: {event!r}")


def check(state: CartState, event) -> None:
    """Raise the domain error an event breaks if applied to `state`.

    Prices and names are not checked against today's catalog: history keeps
    the price at the moment of adding.
    """
    match event:
        case CartCreated():
            _require_new(state.cart_id, state.status)
        case ItemAdded(sku=sku, quantity=quantity):
            _require_open(state.cart_id, state.status)
            _require_room(sku, _quantity_of(state, sku), quantity)
        case ItemQuantityChanged(sku=sku) | ItemRemoved(sku=sku):
            _require_open(state.cart_id, state.status)
            _require_line(state.cart_id, sku, sku in state.lines)
        case CartCheckedOut(total_cents=total, item_count=count):
            _require_open(state.cart_id, state.status)
            _require_lines(state.cart_id, bool(state.lines))
            _require_figures(state.cart_id, total, count, state.total_cents, state.item_count)
        case _:
            raise TypeError(f"not a cart event: {event!r}")


class CartTally:
    """What the cart rules read of a cart, and nothing else: its status, its
    version and, per sku, the unit price and quantity of the line. `apply`
    checks an event and updates the tally in place, which costs a fraction of
    `check` and `evolve` on a `CartState` (no names, no copies of the lines):
    imports check a million events with it. A checked-out cart accepts
    nothing more, so its tally forgets its lines."""

    __slots__ = ("cart_id", "status", "version", "lines")

    def __init__(self, cart_id: str, status: Status = "new", version: int = 0,
                 lines: Mapping[str, tuple[int, int]] | None = None) -> None:
        self.cart_id = cart_id
        self.status: Status = status
        self.version = version
        self.lines: dict[str, tuple[int, int]] = {} if lines is None else dict(lines)

    @classmethod
    def of(cls, state: CartState) -> "CartTally":
        """The tally of a state (a cart stored before an import, say)."""
        lines = {} if state.status == "checked_out" else {
            sku: (line.unit_price_cents, line.quantity) for sku, line in state.lines.items()}
        return cls(state.cart_id, state.status, state.version, lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CartTally):
            return NotImplemented
        return (self.cart_id, self.status, self.version, self.lines) == (
            other.cart_id, other.status, other.version, other.lines)

    def __repr__(self) -> str:
        return f"CartTally({self.cart_id!r}, {self.status!r}, {self.version}, {self.lines!r})"

    def apply(self, event) -> None:
        """`check(state, event)` then `evolve`, on the tally: raises the domain
        error the event breaks (and changes nothing), else applies it."""
        # Two costs matter a million times an import: reading a field of a pydantic
        # model (its class has __getattr__), so each is read once; and calling the
        # rules, so the usual case is one test inline, and only an event that
        # fails it calls them, in their order, to raise the error they word.
        kind = type(event)
        if kind is ItemAdded:
            sku, quantity = event.sku, event.quantity
            line = self.lines.get(sku)
            current = line[1] if line else 0
            if self.status != "open" or current + quantity > MAX_LINE_QUANTITY:
                _require_open(self.cart_id, self.status)
                _require_room(sku, current, quantity)
            # A line keeps the unit price of its latest ItemAdded.
            self.lines[sku] = (event.unit_price_cents, current + quantity)
        elif kind is ItemQuantityChanged:
            sku = event.sku
            line = self.lines.get(sku)
            if self.status != "open" or line is None:
                _require_open(self.cart_id, self.status)
                _require_line(self.cart_id, sku, line is not None)
            self.lines[sku] = (line[0], event.quantity)
        elif kind is ItemRemoved:
            sku = event.sku
            if self.status != "open" or sku not in self.lines:
                _require_open(self.cart_id, self.status)
                _require_line(self.cart_id, sku, sku in self.lines)
            del self.lines[sku]
        elif kind is CartCreated:
            _require_new(self.cart_id, self.status)
            self.status = "open"
        elif kind is CartCheckedOut:
            _require_open(self.cart_id, self.status)
            _require_lines(self.cart_id, bool(self.lines))
            total = count = 0
            for price, quantity in self.lines.values():
                total += price * quantity
                count += quantity
            _require_figures(self.cart_id, event.total_cents, event.item_count, total, count)
            self.status = "checked_out"
            self.lines = {}
        else:
            raise TypeError(f"not a cart event: {event!r}")
        self.version += 1


def fold(state: CartState, events: Iterable) -> CartState:
    for event in events:
        state = evolve(state, event)
    return state


# -- the rules, each once, on plain values -------------------------------------------------

def _require_a_line_to_change(sku: str, state: CartState, catalog: Mapping[str, Product]) -> None:
    """An open cart with a line of this sku. A sku in neither the catalog nor the cart
    is a typing slip (invalid input), checked first; a line of a product the catalog
    dropped since stays in the cart, to change or remove."""
    if sku not in state.lines and sku not in catalog:
        raise errors.UnknownSku(sku)
    _require_open(state.cart_id, state.status)
    _require_line(state.cart_id, sku, sku in state.lines)


def _require_new(cart_id: str, status: Status) -> None:
    if status != "new":
        raise errors.CartAlreadyExists(cart_id)


def _require_open(cart_id: str, status: Status) -> None:
    if status == "new":
        raise errors.CartNotFound(cart_id)
    if status == "checked_out":
        raise errors.CartCheckedOut(cart_id)


def _require_room(sku: str, current: int, adding: int) -> None:
    if current + adding > MAX_LINE_QUANTITY:
        raise errors.LineLimitExceeded(sku, current, adding)


def _require_recordable(cart_id: str, total: int, count: int) -> None:
    """A checkout's figures are within the bounds of CartCheckedOut (events.py): a
    cart of some hundred lines at absurd prices (an imported history) is refused
    in one line instead of failing."""
    if total > MAX_CART_TOTAL_CENTS or count > MAX_CART_ITEMS:
        raise errors.CartTooLarge(cart_id, total, count, MAX_CART_TOTAL_CENTS, MAX_CART_ITEMS)


def _require_line(cart_id: str, sku: str, in_cart: bool) -> None:
    if not in_cart:
        raise errors.SkuNotInCart(cart_id, sku)


def _require_lines(cart_id: str, has_lines: bool) -> None:
    if not has_lines:
        raise errors.EmptyCart(cart_id)


def _require_figures(cart_id: str, total: int, count: int, held_total: int, held_count: int) -> None:
    """A checkout records the total and item count of what the cart holds."""
    if (total, count) != (held_total, held_count):
        raise errors.EventMismatch(
            # In the event's own field names: the one who reads it is writing those fields.
            f"checkout of cart {cart_id!r} records total_cents {total} and item_count {count}, "
            f"but the cart holds total_cents {held_total} and item_count {held_count}"
        )


def _quantity_of(state: CartState, sku: str) -> int:
    line = state.lines.get(sku)
    return line.quantity if line is not None else 0
