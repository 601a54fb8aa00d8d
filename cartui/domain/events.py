"""The event catalog (DESIGN.md): the five facts a cart's history is made of.

Events are immutable pydantic models. `type` is the stable name stored in the
`events.type` column; it is not part of the stored `data` JSON.
"""

from functools import cached_property
from typing import Annotated, Literal, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field

Sku = Annotated[str, Field(min_length=1, max_length=64)]
Quantity = Annotated[int, Field(ge=1, le=99)]
Cents = Annotated[int, Field(ge=0)]
MAX_CUSTOMER_LENGTH = 200


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def data(self) -> dict:
        """The payload (everything but `type`)."""
        return self.model_dump(exclude={"type"})

    @cached_property
    def data_json(self) -> str:
        """The payload as stored in the `data` column: compact JSON.

        orjson on the fields is what model_dump_json gives for these plain
        str/int fields, at a quarter of the cost; and kept, since the decider
        hands out the same event for the same values: every command pays it.
        (pydantic compares, hashes and dumps fields only, not this; but
        `model_copy(update=...)` would keep it: make a new event instead.)"""
        return orjson.dumps({name: self.__dict__[name] for name in type(self).model_fields
                             if name != "type"}).decode()


class CartCreated(_Event):
    type: Literal["CartCreated"] = "CartCreated"
    customer: Annotated[str, Field(max_length=MAX_CUSTOMER_LENGTH)] | None = None


class ItemAdded(_Event):
    type: Literal["ItemAdded"] = "ItemAdded"
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    unit_price_cents: Cents
    quantity: Quantity


class ItemQuantityChanged(_Event):
    type: Literal["ItemQuantityChanged"] = "ItemQuantityChanged"
    sku: Sku
    quantity: Quantity


class ItemRemoved(_Event):
    type: Literal["ItemRemoved"] = "ItemRemoved"
    sku: Sku


class CartCheckedOut(_Event):
    type: Literal["CartCheckedOut"] = "CartCheckedOut"
    total_cents: Cents
    item_count: Annotated[int, Field(ge=1)]


Event = Annotated[
    Union[CartCreated, ItemAdded, ItemQuantityChanged, ItemRemoved, CartCheckedOut],
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[_Event]] = {
    cls.model_fields["type"].default: cls
    for cls in (CartCreated, ItemAdded, ItemQuantityChanged, ItemRemoved, CartCheckedOut)
}

# The schema version every event type is written with today.
CURRENT_SCHEMA_VERSION: dict[str, int] = {name: 1 for name in EVENT_TYPES} | {"ItemAdded": 2}


class ItemAddedV1(BaseModel):
    """`ItemAdded` as an older version of the app wrote it: a float price, no name."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    sku: Sku
    quantity: Quantity
    price: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    def upcast(self, product_names: "dict[str, str] | None" = None) -> ItemAdded:
        """Read as the current schema: cents from the float price, the name from the catalog."""
        name = (product_names or {}).get(self.sku, self.sku)
        return ItemAdded(
            sku=self.sku, name=name, unit_price_cents=round(self.price * 100), quantity=self.quantity
        )
