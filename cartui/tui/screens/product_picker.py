"""Pick a product from the catalog, filtered as you type, and a quantity."""

from typing import Iterable

from rich.text import Text
from textual import on
from textual.containers import Horizontal
from textual.content import Content
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from ...domain import Catalog, Product, validate_quantity
from ...domain.errors import InvalidQuantity
from ...literal import literal
from ...money import money
from .dialog import ErrorLine, filtered
from .picker import PickerDialog, PickerTable

MATCH_STYLE = "bold underline"


def parse_quantity(text: str) -> int:
    """The quantity typed in a field, or InvalidQuantity saying why not."""
    text = text.strip()
    try:
        number: object = int(text)
    except ValueError:
        number = text  # validate_quantity refuses it, quoting what was typed
    return validate_quantity(number)


class QuantityValidator(Validator):
    """The cart's own quantity rule (1 to 99), with its message, at the input."""

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_quantity(value)
        except InvalidQuantity as exc:
            return self.failure(str(exc), value)
        return self.success()


class ProductPickerScreen(PickerDialog[tuple[str, int]]):
    """Filter the catalog by sku, name or category, pick a product and a
    quantity. Dismisses with (sku, quantity), or None when cancelled."""

    CSS_PATH = ["dialog.tcss", "product_picker.tcss"]
    DIALOG_TITLE = "Add an item"
    KEY_HINTS = [("↑↓", "choose"), ("tab", "quantity"), ("enter", "add"), ("esc", "cancel")]
    AUTO_FOCUS = "#product-filter"

    def __init__(self, catalog: Catalog, cart_id: str | None = None) -> None:
        super().__init__()
        self.catalog = catalog
        self.cart_id = cart_id  # the cart the item goes to, named in the title

    def dialog_title(self) -> str | Content:
        if self.cart_id is None:
            return self.DIALOG_TITLE
        return Content.assemble(f"{self.DIALOG_TITLE} to ", literal(self.cart_id))

    def compose_body(self) -> Iterable[Widget]:
        yield Input(placeholder="Filter by name, sku or category", id="product-filter")
        yield PickerTable(id="products")
        yield Static(id="product-count", classes="hint")
        with Horizontal(id="quantity-row"):
            yield Label("Quantity", classes="field-label")
            yield Input("1", id="quantity", validators=[QuantityValidator()])
        yield ErrorLine()

    def on_mount(self) -> None:
        table = self.picker_table
        table.add_column("Product", key="name")
        table.add_column("Category", key="category")
        table.add_column("SKU", key="sku")
        table.add_column(Text("Price", justify="right"), key="price")
        self.show_products("")

    def show_products(self, query: str) -> None:
        found, terms = filtered(self.catalog.values(), query,
                                lambda p: (p.sku, p.name, p.category))
        self.picker_table.show_rows((p.sku, self.cells(p, terms)) for p in found)
        count = Text(f"{len(found)} of {len(self.catalog)} products")
        if not found:
            count = Text.assemble("no product matches ", (query.strip(), "bold"))
        self.query_one("#product-count", Static).update(count)

    @staticmethod
    def cells(product: Product, terms: list[str]) -> tuple[Text, ...]:
        cells = (Text(product.name), Text(product.category), Text(product.sku))
        for cell in cells:
            cell.highlight_words(terms, MATCH_STYLE, case_sensitive=False)
        return (*cells, Text(money(product.price_cents), justify="right"))

    @property
    def highlighted_sku(self) -> str | None:
        return self.picker_table.highlighted_key

    @on(Input.Changed, "#product-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(ErrorLine).clear()
        self.show_products(event.value)

    @on(Input.Changed, "#quantity")
    def quantity_changed(self, event: Input.Changed) -> None:
        error = self.query_one(ErrorLine)
        result = event.validation_result
        # Refuse a bad quantity as it is typed, but not the empty field mid-edit.
        if result is not None and not result.is_valid and event.value.strip():
            error.show(result.failure_descriptions[0])
        else:
            error.clear()

    @on(Input.Submitted)
    @on(DataTable.RowSelected)
    def add(self) -> None:
        error = self.query_one(ErrorLine)
        quantity_input = self.query_one("#quantity", Input)
        try:
            quantity = parse_quantity(quantity_input.value)
        except InvalidQuantity as exc:
            error.show(str(exc))
            quantity_input.focus()
            return
        sku = self.highlighted_sku
        if sku is None:
            error.show("no product matches the filter: change it to pick one")
            return
        self.dismiss((sku, quantity))
