"""Create a cart: an optional id (one is made up when empty) and an optional customer."""

from typing import Iterable

from textual import on
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Input, Static

from ...domain import validate_cart_id
from ...domain.errors import InvalidCartId
from .dialog import Dialog, ErrorLine

CUSTOMER_MAX_LENGTH = 200  # CartCreated.customer


class CartIdValidator(Validator):
    """The domain's cart id rule, with its message, at the input."""

    def validate(self, value: str) -> ValidationResult:
        try:
            validate_cart_id(value)
        except InvalidCartId as exc:
            return self.failure(str(exc), value)
        return self.success()


class NewCartScreen(Dialog[tuple[str | None, str | None]]):
    """Dismisses with (cart id or None, customer or None), or None when cancelled.

    A cart id that breaks the rule is refused at the input with the reason;
    whether the id is already taken is for the service to say.
    """

    CSS_PATH = ["dialog.tcss", "new_cart.tcss"]
    DIALOG_TITLE = "New cart"
    KEY_HINTS = [("tab", "next field"), ("enter", "create"), ("esc", "cancel")]
    AUTO_FOCUS = "#new-cart-id"

    def compose_body(self) -> Iterable[Widget]:
        yield Static("Cart id", classes="label")
        yield Input(placeholder="empty: a new id is made up", id="new-cart-id",
                    validators=[CartIdValidator()], valid_empty=True)
        yield Static("Customer", classes="label")
        yield Input(placeholder="optional", id="new-cart-customer",
                    max_length=CUSTOMER_MAX_LENGTH)
        yield ErrorLine()

    @on(Input.Changed, "#new-cart-id")
    def cart_id_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.query_one(ErrorLine).show(result.failure_descriptions[0])
        else:
            self.query_one(ErrorLine).clear()

    @on(Input.Submitted)
    def create(self) -> None:
        id_input = self.query_one("#new-cart-id", Input)
        result = id_input.validate(id_input.value)
        if result is not None and not result.is_valid:
            self.query_one(ErrorLine).show(result.failure_descriptions[0])
            id_input.focus()
            return
        customer = self.query_one("#new-cart-customer", Input).value.strip()
        self.dismiss((id_input.value or None, customer or None))
