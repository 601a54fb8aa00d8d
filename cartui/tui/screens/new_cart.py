"""Create a cart: an optional id (one is made up when empty) and an optional customer."""

from typing import Callable, Iterable

from textual import on
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Input, Static

from ...domain import validate_customer, validate_new_cart_id
from ...domain.errors import CartAlreadyExists, InvalidCartId, InvalidCustomer
from .dialog import Dialog, ErrorLine


class CartIdValidator(Validator):
    """The domain's rule on a new cart's id, with its message, at the input."""

    def validate(self, value: str) -> ValidationResult:
        try:
            validate_new_cart_id(value)
        except InvalidCartId as exc:
            return self.failure(str(exc), value)
        return self.success()


class CustomerValidator(Validator):
    """The domain's rule on a customer's name, with its message, at the input
    (an Input max_length would silently refuse a long paste)."""

    def validate(self, value: str) -> ValidationResult:
        try:
            validate_customer(value.strip())
        except InvalidCustomer as exc:
            return self.failure(str(exc), value)
        return self.success()


class NewCartScreen(Dialog[tuple[str | None, str | None]]):
    """Dismisses with (cart id or None, customer or None), or None when cancelled.

    A cart id or a customer that breaks the domain's rules is refused at the
    input with the reason, and so is an id that `exists` says is taken (the
    service still decides, should another process take it meanwhile): the
    dialog stays open with what was typed.
    """

    CSS_PATH = ["dialog.tcss", "new_cart.tcss"]
    DIALOG_TITLE = "New cart"
    KEY_HINTS = [("tab", "next field"), ("enter", "create"), ("esc", "cancel")]
    AUTO_FOCUS = "#new-cart-id"

    def __init__(self, exists: Callable[[str], bool] = lambda cart_id: False) -> None:
        super().__init__()
        self.exists = exists

    def compose_body(self) -> Iterable[Widget]:
        yield Static("Cart id", classes="label")
        yield Input(placeholder="empty: a new id is made up", id="new-cart-id",
                    validators=[CartIdValidator()], valid_empty=True)
        yield Static("Customer", classes="label")
        yield Input(placeholder="optional", id="new-cart-customer",
                    validators=[CustomerValidator()])
        yield ErrorLine()

    def first_problem(self) -> tuple[Input, str] | None:
        """The first input whose value is refused, and why."""
        for field in self.query(Input):
            result = field.validate(field.value)
            if result is not None and not result.is_valid:
                return field, result.failure_descriptions[0]
        return None

    @on(Input.Changed)
    def show_problem(self) -> None:
        problem = self.first_problem()
        self.query_one(ErrorLine).show(problem[1] if problem else "")

    @on(Input.Submitted)
    def create(self) -> None:
        problem = self.first_problem()
        if problem is not None:
            field, message = problem
            self.query_one(ErrorLine).show(message)
            field.focus()
            return
        cart_id = self.query_one("#new-cart-id", Input).value
        if cart_id and self.exists(cart_id):
            self.query_one(ErrorLine).show(str(CartAlreadyExists(cart_id)))
            self.query_one("#new-cart-id", Input).focus()
            return
        customer = self.query_one("#new-cart-customer", Input).value.strip()
        self.dismiss((cart_id or None, customer or None))
