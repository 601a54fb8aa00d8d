"""Commands: what a user asks of a cart. The decider turns them into events."""

from typing import Union

from pydantic import BaseModel, ConfigDict


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    cart_id: str


class CreateCart(_Command):
    customer: str | None = None


class AddItem(_Command):
    sku: str
    quantity: int = 1


class ChangeQuantity(_Command):
    sku: str
    quantity: int


class RemoveItem(_Command):
    sku: str


class CheckOut(_Command):
    pass


Command = Union[CreateCart, AddItem, ChangeQuantity, RemoveItem, CheckOut]
