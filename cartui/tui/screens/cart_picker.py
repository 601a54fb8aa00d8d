"""Choose the cart the app shows: every cart, filtered as you type."""

from typing import Iterable

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from ...service import CartSummary
from ...money import money
from ..widgets.formatting import day_and_time, literal
from .dialog import ErrorLine, filtered
from .picker import PickerDialog, PickerTable

MATCH_STYLE = "bold underline"
MAX_ROWS = 500  # beyond this, typing narrows the list: it stays instant with any number of carts
DIALOG_WIDTH = 110  # as in cart_picker.tcss
STATUS_WORDS = {"open": "open", "checked_out": "checked out"}


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def text_widths(screen_width: int, longest_id: int) -> tuple[int, int, bool]:
    """(cart id width, customer width, show the items column) for the dialog
    at this screen width: ids and customers share what the figures leave."""
    inner = min(DIALOG_WIDTH, screen_width) - 5  # borders, padding, scrollbar
    show_items = inner >= 90
    # Each column has one cell of padding either side: status 11, total 10,
    # last activity 14, items 5 wide.
    rest = inner - 4 - (13 + 12 + 16) - (7 if show_items else 0)
    cart = max(8, min(longest_id, rest // 2))
    return cart, max(8, rest - cart), show_items


class CartPickerScreen(PickerDialog[str]):
    """Every cart with its customer, status, total and last activity, most
    recently active first; filter by cart id, customer or status. `selected`
    starts highlighted. Dismisses with the cart id, or None when cancelled."""

    CSS_PATH = ["dialog.tcss", "cart_picker.tcss"]
    DIALOG_TITLE = "Choose a cart"
    KEY_HINTS = [("↑↓", "choose"), ("enter", "show"), ("esc", "cancel")]
    AUTO_FOCUS = "#cart-filter"

    def __init__(self, carts: list[CartSummary], selected: str | None = None,
                 cursor_in_the_past: bool = False) -> None:
        super().__init__()
        self.carts = sorted(carts, key=lambda c: c.last_position, reverse=True)
        self.selected = selected
        # The list is the carts as stored now: in the past, say so beside the count.
        self.as_stored_now = " · as stored now, not at the cursor" if cursor_in_the_past else ""
        self.widths: tuple[int, int, bool] | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield Input(placeholder="Filter by cart, customer or status", id="cart-filter")
        yield PickerTable(id="carts")
        yield Static(id="cart-count", classes="hint")
        yield ErrorLine()

    def on_mount(self) -> None:
        self.on_resize()

    def on_resize(self) -> None:
        longest_id = max((cell_len(literal(c.cart_id)) for c in self.carts), default=4)
        widths = text_widths(self.size.width, longest_id)
        if widths != self.widths:
            self.widths = widths
            self.build_columns()

    def build_columns(self) -> None:
        cart_width, customer_width, show_items = self.widths
        table = self.picker_table
        keep = table.highlighted_key or self.selected
        table.clear(columns=True)
        # Ids and customers can be long: fixed widths, cut with an ellipsis.
        table.add_column("Cart", key="cart", width=cart_width)
        table.add_column("Customer", key="customer", width=customer_width)
        table.add_column("Status", key="status", width=11)
        if show_items:
            table.add_column(Text("Items", justify="right"), key="items", width=5)
        table.add_column(Text("Total", justify="right"), key="total", width=10)
        table.add_column("Last activity", key="last", width=14)
        self.show_carts(self.query_one("#cart-filter", Input).value, keep=keep)

    def show_carts(self, query: str, keep: str | None = None) -> None:
        found, terms = filtered(self.carts, query,
                                lambda c: (c.cart_id, c.customer, status_word(c.status)))
        self.picker_table.show_rows(
            ((c.cart_id, self.cells(c, terms)) for c in found[:MAX_ROWS]), keep=keep)
        if not self.carts:
            count = Text("no carts yet")
        elif not found:
            count = Text.assemble("no cart matches ", (query.strip(), "bold"))
        elif len(found) > MAX_ROWS:
            count = Text(f"the first {MAX_ROWS} of {len(found):,} matching carts: type to narrow")
        else:
            count = Text(f"{len(found):,} of {len(self.carts):,} carts{self.as_stored_now}")
        self.query_one("#cart-count", Static).update(count)

    def cells(self, cart: CartSummary, terms: list[str]) -> tuple[Text, ...]:
        cart_id = Text(literal(cart.cart_id), overflow="ellipsis", no_wrap=True)
        customer = (Text(literal(cart.customer), overflow="ellipsis", no_wrap=True)
                    if cart.customer else Text("—", style="dim"))  # none, or an empty name
        status = Text(status_word(cart.status))
        for cell in (cart_id, customer, status):
            cell.highlight_words(terms, MATCH_STYLE, case_sensitive=False)
        items = (Text(str(cart.item_count), justify="right"),) if self.widths[2] else ()
        return (cart_id, customer, status, *items,
                Text(money(cart.total_cents), justify="right"),
                Text(day_and_time(cart.last_recorded_at)))

    @on(Input.Changed, "#cart-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(ErrorLine).clear()
        self.show_carts(event.value)

    @on(Input.Submitted)
    @on(DataTable.RowSelected)
    def choose(self) -> None:
        cart_id = self.picker_table.highlighted_key
        if cart_id is None:
            self.query_one(ErrorLine).show(
                "no cart to show: there are none yet" if not self.carts
                else "no cart matches the filter: change it to pick one")
            return
        self.dismiss(cart_id)
