"""Cart summaries: one line per cart as of the projections' tip, for the cart list.

A cart's summary is what `CartService.load` makes of its whole stream:
customer, status, version (the rows of the stream, undecodable ones
included: each takes its version number), total and item count of its lines,
and its last event.

Unlike the other projections it has no figures in the per-K checkpoints and
cannot answer "as of P": its derived table (`proj_cart_summary`, with the
lines of every cart not checked out) is the state as of the tip only, and
time travel never reads it. The fold that catches up meets a cart, reads its
stored summary (unless the cart begins right there), applies the cart's
events, and at each save writes the summaries it met back and forgets them:
memory stays the size of one chunk.
"""

from operator import mul

import orjson

from ..service import CartSummary
from ..store import UndecodableEvent
from ..store.readmodels import ReadModelStore
from .facts import read_fact

NEW, OPEN, CHECKED_OUT = "new", "open", "checked_out"


class SummaryState:
    """One cart's summary while a fold runs.

    The lines are two dicts, sku -> quantity and sku -> unit price, with the
    same keys in the same order (the totals zip their values); plain ints, so
    no tuple per event to allocate. They are None for a checked-out cart read
    from the table, whose lines are not stored, only its total and item count."""

    __slots__ = ("cart_id", "first_position", "customer", "status", "version", "last_position",
                 "last_recorded_at", "quantities", "prices", "total_cents", "item_count")

    def __init__(self, cart_id: str, first_position: int) -> None:
        self.cart_id = cart_id
        self.first_position = first_position  # the list's order: oldest cart first
        self.customer: str | None = None
        self.status = NEW  # no decodable CartCreated yet: not a cart (yet)
        self.version = self.last_position = 0
        self.last_recorded_at = ""
        self.quantities: dict[str, int] | None = {}
        self.prices: dict[str, int] | None = {}
        self.total_cents = self.item_count = 0


class CartSummariesProjection:
    """The summaries of the carts a fold meets, between two saves."""

    name = "summaries"

    def __init__(self, readmodels: ReadModelStore, start: int) -> None:
        self.readmodels = readmodels
        # The stored summaries are as of the fold's position between two saves:
        # at the checkpoint it starts from, and after each save. A fold from zero
        # must not read them before its first save (which clears them).
        self.stored_are_current = start > 0
        self.carts: dict[str, SummaryState] = {}  # met since the last save
        self.handlers = {"CartCreated": self.created, "ItemAdded": self.item_added,
                         "ItemQuantityChanged": self.quantity_changed,
                         "ItemRemoved": self.removed, "CartCheckedOut": self.checked_out}

    def meet(self, stream_id: str, position: int, version: int) -> SummaryState:
        """The cart's summary before its row at `position`: new at its first event
        (version 1), else as stored. (`!=`, not `>`: a row another program wrote
        may hold a version that is no number, 'abc', which is no first event.)"""
        cart = None
        if version != 1 and self.stored_are_current:
            cart = self._stored(stream_id)
        if cart is None:
            cart = SummaryState(stream_id, position)
        self.carts[stream_id] = cart
        return cart

    def _stored(self, stream_id: str) -> SummaryState | None:
        row = self.readmodels.cart_summary(stream_id)
        if row is None:
            return None
        cart = SummaryState(stream_id, row[0])
        (cart.customer, cart.status, cart.version, cart.total_cents, cart.item_count,
         cart.last_position, cart.last_recorded_at, lines) = row[1:]
        cart.quantities, cart.prices = orjson.loads(lines) if lines is not None else (None, None)
        return cart

    # The events, each with its fact (facts.py) as one tuple, as in folds.py.
    # Lines change whatever the status, as in CartState's evolve.

    def created(self, cart: SummaryState, fact: tuple) -> None:
        cart.status, cart.customer = OPEN, fact[0]

    def item_added(self, cart: SummaryState, fact: tuple) -> None:
        sku, quantity, price = fact
        quantities = cart.quantities
        if quantities is None:
            quantities = self._lines_before(cart)
        quantities[sku] = quantities.get(sku, 0) + quantity
        cart.prices[sku] = price  # a line keeps the unit price of its latest ItemAdded

    def quantity_changed(self, cart: SummaryState, fact: tuple) -> None:
        sku, quantity = fact
        quantities = cart.quantities
        if quantities is None:
            quantities = self._lines_before(cart)
        if sku in quantities:
            quantities[sku] = quantity

    def removed(self, cart: SummaryState, fact: tuple) -> None:
        sku = fact[0]
        quantities = cart.quantities
        if quantities is None:
            quantities = self._lines_before(cart)
        if sku in quantities:
            del quantities[sku], cart.prices[sku]

    def checked_out(self, cart: SummaryState, fact: tuple) -> None:
        cart.status = CHECKED_OUT  # its total is its lines', as CartState's

    def _lines_before(self, cart: SummaryState) -> dict[str, int]:
        """The lines before the row being folded (at cart.last_position)."""
        return self._lines_from_stream(cart, cart.last_position - 1)

    def _lines_from_stream(self, cart: SummaryState, up_to: int) -> dict[str, int]:
        """The lines of a checked-out cart read from the table, from its stream up to
        a position. Rare: only an event after a checkout, which no command
        appends, needs them."""
        cart.quantities, cart.prices = {}, {}
        handlers = {"ItemAdded": self.item_added, "ItemQuantityChanged": self.quantity_changed,
                    "ItemRemoved": self.removed}
        rows = self.readmodels.stream_fold_rows(cart.cart_id, up_to)
        for position, _, version, type_, schema_version, data, _ in rows:
            try:
                fact = read_fact(type_, schema_version, data, position, version)
            except UndecodableEvent:
                continue
            if type_ in handlers:
                handlers[type_](cart, fact)
        return cart.quantities

    # Saving.

    def take(self) -> list[tuple]:
        """The rows to store (as in proj_cart_summary) for the carts met since the
        last take, which are then forgotten: the table holds them now."""
        rows = []
        for stream_id, cart in self.carts.items():
            if cart.quantities is None and cart.status != CHECKED_OUT:  # reopened by a CartCreated
                self._lines_from_stream(cart, cart.last_position)
            lines = None
            if cart.quantities is not None:
                cart.total_cents = sum(map(mul, cart.quantities.values(), cart.prices.values()))
                cart.item_count = sum(cart.quantities.values())
                if cart.status != CHECKED_OUT:  # a checked-out cart needs its totals only
                    lines = orjson.dumps((cart.quantities, cart.prices))
            rows.append((cart.first_position, stream_id, cart.customer, cart.status, cart.version,
                         cart.total_cents, cart.item_count, cart.last_position,
                         cart.last_recorded_at, lines))
        self.carts.clear()
        self.stored_are_current = True
        return rows


def cart_summaries(readmodels: ReadModelStore) -> list[CartSummary]:
    """Every cart as of the projections' tip, oldest first (as CartService.load sees
    them: a stream with no decodable CartCreated is no cart)."""
    return [CartSummary(*row) for row in readmodels.cart_summaries()]
