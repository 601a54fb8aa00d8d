"""The Cart pane: the selected cart as of the history cursor."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...domain import CartState
from .formatting import count, literal, many, money

STATUS_LABELS = {"new": "not created yet", "open": "open", "checked_out": "checked out"}


class CartLines(DataTable):
    """The cart's lines. enter means what it means everywhere, the detail of the event
    at the cursor, also when the cart has no line (a table selects only a row)."""

    BINDINGS = [Binding("enter", "app.show_detail", "detail", show=False)]


class CartPane(Vertical):
    """Header (cart, customer, status, version), the lines, and the total."""

    _shown: tuple[CartState, int, str | None] | None = None
    _preferred_sku: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="cart-header")
        yield CartLines(id="cart-lines", cursor_type="row", zebra_stripes=True)
        yield Static(id="cart-total")

    @property
    def table(self) -> DataTable:
        return self.query_one("#cart-lines", DataTable)

    @property
    def selected_sku(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def select_line(self, sku: str) -> None:
        """Put the line cursor on this sku at the next redraw (the item just added)."""
        self._preferred_sku = sku

    def show_nothing(self, reason: str) -> None:
        self._shown = None
        self.query_one("#cart-header", Static).update(Text(reason))
        self.table.clear()
        self.query_one("#cart-total", Static).update("")
        self.set_class(True, "-empty")

    def on_resize(self) -> None:
        if self._shown is not None:
            shown, self._shown = self._shown, None
            self.show(*shown)

    def show(self, cart: CartState, position: int, why_not_created: str | None = None) -> None:
        """The cart at `position`; `why_not_created` words a cart that does not exist
        there for another reason than its CartCreated being still to come."""
        shown = self._shown
        if shown is not None and shown[0] == cart and shown[2] == why_not_created and (
                cart.exists or shown[1] == position):
            return  # stepping past other carts' events: nothing to redraw
        self._shown = (cart, position, why_not_created)
        self.set_class(False, "-empty")
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append(literal(cart.cart_id), "bold")
        if cart.customer:
            header.append("  ")
            # Text, not markup, with control characters escaped: a customer may look like either.
            header.append(literal(cart.customer), "italic")
        status = STATUS_LABELS.get(cart.status, cart.status)
        if cart.exists:
            header.append(f"\n{status} · version {cart.version} · {many(cart.version, 'event')}")
        elif why_not_created:
            header.append(f"\n{why_not_created}")
        else:  # version 0, no events: the position says it all
            header.append(f"\n{status} at position {count(position)}")
        self.set_class(cart.status == "checked_out", "-checked-out")
        self.query_one("#cart-header", Static).update(header)
        self._show_lines(cart)
        total = Text.assemble(("Total ", "bold"), (money(cart.total_cents), "bold"),
                              f"  {many(cart.item_count, 'item')}")
        self.query_one("#cart-total", Static).update(total)

    def _show_lines(self, cart: CartState) -> None:
        table = self.table
        keep = self._preferred_sku or self.selected_sku
        self._preferred_sku = None
        table.clear(columns=True)
        # Figures as wide as they need; the item name takes the rest (each column
        # has a cell of padding on both sides, and a cart longer than the table a
        # 1-cell scrollbar: the header row and the lines all fit, or not).
        widths = [max([len(heading)] + [len(cell) for cell in cells]) for heading, cells in (
            ("Qty", [str(l.quantity) for l in cart.lines.values()]),
            ("Price", [money(l.unit_price_cents) for l in cart.lines.values()]),
            ("Total", [money(l.line_total_cents) for l in cart.lines.values()]))]
        scrollbar = 1 if 1 + len(cart.lines) > table.size.height else 0
        item_width = max(8, self.content_region.width - sum(widths) - 2 * 4 - scrollbar)
        table.add_column("Item", key="item", width=item_width)
        for heading, width in zip(("Qty", "Price", "Total"), widths):
            table.add_column(Text(heading, justify="right"), key=heading.lower(), width=width)
        for line in cart.lines.values():
            table.add_row(
                Text(literal(line.name), overflow="ellipsis", no_wrap=True),
                Text(str(line.quantity), justify="right"),
                Text(money(line.unit_price_cents), justify="right"),
                Text(money(line.line_total_cents), justify="right"),
                key=line.sku,
            )
        if keep is not None and keep in cart.lines:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
