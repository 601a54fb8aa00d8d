"""Commands: what a user asks of a cart. The decider turns them into events."""

from typing import Annotated, Union

from pydantic import BaseModel, ConfigDict, ValidationError, WrapValidator

from . import errors


def _whole_number(value: object, handler) -> int:
    """A quantity that is not a whole number is refused with the cart's own
    one-line InvalidQuantity, not a pydantic report (the decider checks 1..99)."""
    if isinstance(value, bool):  # True is not a quantity of 1
        raise errors.InvalidQuantity(value)
    try:
        return handler(value)
    except ValidationError:
        raise errors.InvalidQuantity(value) from None


Quantity = Annotated[int, WrapValidator(_whole_number)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    cart_id: str


class CreateCart(_Command):
    customer: str | None = None


class AddItem(_Command):
    sku: str
    quantity: Quantity = 1


class ChangeQuantity(_Command):
    sku: str
    quantity: Quantity


class ChangeQuantityBy(_Command):
    """A line's quantity up or down by `delta` from what the cart holds when it is
    decided (the app's + and -): two people pressing + at once make two more."""
    sku: str
    delta: int


class RemoveItem(_Command):
    sku: str


class CheckOut(_Command):
    pass


Command = Union[CreateCart, AddItem, ChangeQuantity, ChangeQuantityBy, RemoveItem, CheckOut]
