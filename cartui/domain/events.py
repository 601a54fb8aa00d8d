"""The event catalog (DESIGN.md): the five facts a cart's history is made of.

Events are immutable pydantic models. `type` is the stable name stored in the
`events.type` column; it is not part of the stored `data` JSON.
"""

from functools import cached_property
from typing import Annotated, Literal, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field

# -- bounds ---------------------------------------------------------------------------------
#
# Money is summed downstream: a cart's total, and the projections' revenue over
# every cart, land in SQLite INTEGER columns, whose 64-bit range (about
# 9.2 * 10**18) one unbounded amount in an imported file could pass. So every
# amount an event records is bounded, far beyond any real shop:
#
# - a unit price is at most 1,000,000.00, five thousand times the catalog's
#   dearest product, and a line holds at most 99 (a cart rule);
# - a checkout records at most 10,000,000,000.00 (10**12 cents) and a million
#   items: a cart of 101 lines of 99 at the largest price would pass it (the
#   catalog has fewer products than that), and a million checkouts at it still
#   fit in SQLite's integers.
MAX_LINE_QUANTITY = 99
MAX_UNIT_PRICE_CENTS = 100_000_000
MAX_CART_TOTAL_CENTS = 10**12
MAX_CART_ITEMS = 1_000_000
MAX_CUSTOMER_LENGTH = 200
MAX_PRODUCT_NAME_LENGTH = 200
MAX_SKU_LENGTH = 64
MAX_CART_ID_LENGTH = 64

Sku = Annotated[str, Field(min_length=1, max_length=MAX_SKU_LENGTH)]
Quantity = Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)]
UnitPriceCents = Annotated[int, Field(ge=0, le=MAX_UNIT_PRICE_CENTS)]


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
    name: Annotated[str, Field(min_length=1, max_length=MAX_PRODUCT_NAME_LENGTH)]
    unit_price_cents: UnitPriceCents
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
    total_cents: Annotated[int, Field(ge=0, le=MAX_CART_TOTAL_CENTS)]
    item_count: Annotated[int, Field(ge=1, le=MAX_CART_ITEMS)]


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
    # In currency units: at most MAX_UNIT_PRICE_CENTS / 100, so its upcast is
    # within the unit price bound (round(p * 100) grows with p, and 10**6 * 100
    # is exact in floating point).
    price: Annotated[float, Field(ge=0, le=MAX_UNIT_PRICE_CENTS / 100, allow_inf_nan=False)]

    def upcast(self, product_names: "dict[str, str] | None" = None) -> ItemAdded:
        """Read as the current schema: cents from the float price, the name from the catalog."""
        name = (product_names or {}).get(self.sku, self.sku)
        return ItemAdded(
            sku=self.sku, name=name, unit_price_cents=round(self.price * 100), quantity=self.quantity
        )
