"""Domain errors: each broken cart rule has its own type and a one-line message.

`InvalidInput` errors are wrong whatever the cart holds (an unknown sku, a
quantity out of range); `RuleViolation` errors are refused because of the
cart's current state. The command line maps them to exit statuses 2 and 1.
"""

from .events import MAX_CART_ID_LENGTH, MAX_CUSTOMER_LENGTH, MAX_LINE_QUANTITY


class DomainError(Exception):
    """A command or event that the cart rules refuse."""

    def __str__(self) -> str:  # one line, always
        return " ".join(str(self.args[0]).split()) if self.args else type(self).__name__


class InvalidInput(DomainError):
    """The input alone is invalid, whatever the cart's state."""


class RuleViolation(DomainError):
    """The cart's state refuses the command."""


class UnknownSku(InvalidInput):
    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown sku {sku!r}: it is not in the catalog")
        self.sku = sku


class InvalidQuantity(InvalidInput):
    def __init__(self, quantity: object) -> None:
        # A long one is cut: the message stays one short line (4,000 digits were echoed).
        got = repr(quantity)
        if len(got) > 24:
            got = f"{got[:20]}… ({len(got)} characters)"
        super().__init__(
            f"quantity must be a whole number from 1 to {MAX_LINE_QUANTITY}, got {got}")
        self.quantity = quantity


class InvalidCartId(InvalidInput):
    def __init__(self, cart_id: object, new: bool = False) -> None:
        if new:
            super().__init__(f"a new cart id must not begin with '-' (a command line would take "
                             f"it for an option), got {cart_id!r}")
            return
        # A long one is counted, not echoed: the message stays one short line.
        got = (f"{len(cart_id)} characters" if isinstance(cart_id, str)
               and len(cart_id) > MAX_CART_ID_LENGTH else repr(cart_id))
        super().__init__(
            f"cart id must be 1 to {MAX_CART_ID_LENGTH} printable characters, with no space "
            f"at either end, got {got}")


class InvalidCustomer(InvalidInput):
    def __init__(self, customer: str, not_text: bool = False) -> None:
        if not_text:  # bytes that were not UTF-8, as Python passes them on
            super().__init__(f"a customer name must be UTF-8 text, got {customer!r} (check the "
                             "terminal's encoding)")
        elif len(customer) > MAX_CUSTOMER_LENGTH:
            super().__init__(f"a customer name holds at most {MAX_CUSTOMER_LENGTH} characters, "
                             f"got {len(customer)}")
        else:
            super().__init__(f"a customer name is one line of text, without control characters, "
                             f"got {customer!r}")


class CartNotFound(RuleViolation):
    def __init__(self, cart_id: str) -> None:
        super().__init__(f"cart {cart_id!r} does not exist")
        self.cart_id = cart_id


class CartAlreadyExists(RuleViolation):
    def __init__(self, cart_id: str) -> None:
        super().__init__(f"cart {cart_id!r} already exists")
        self.cart_id = cart_id


class SkuNotInCart(RuleViolation):
    def __init__(self, cart_id: str, sku: str) -> None:
        super().__init__(f"sku {sku!r} is not in cart {cart_id!r}")
        self.sku = sku


class LineLimitExceeded(RuleViolation):
    def __init__(self, sku: str, current: int, adding: int) -> None:
        super().__init__(f"a line holds at most {MAX_LINE_QUANTITY}: {sku!r} has {current}, "
                         f"adding {adding} would make {current + adding}")


class CartTooLarge(RuleViolation):
    """A cart past what a checkout may record (events.py): only an imported history
    or rows written by another program can hold one."""

    def __init__(self, cart_id: str, total: int, count: int, max_total: int,
                 max_count: int) -> None:
        super().__init__(
            f"cart {cart_id!r} holds {count} items totalling {total} cents, more than a checkout "
            f"records (at most {max_count} items and {max_total} cents)"
        )


class CartCheckedOut(RuleViolation):
    def __init__(self, cart_id: str) -> None:
        super().__init__(f"cart {cart_id!r} is checked out and accepts nothing more")


class EmptyCart(RuleViolation):
    def __init__(self, cart_id: str) -> None:
        super().__init__(f"cart {cart_id!r} is empty and cannot be checked out")


class EventMismatch(RuleViolation):
    """An event whose recorded figures disagree with the state it applies to."""
