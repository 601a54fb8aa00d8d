"""The cart domain: events, commands, the decider and the catalog. Pure Python."""

from . import errors
from .cart import (
    CONTROL_CHARACTERS, CartState, CartTally, Line, MAX_LINE_QUANTITY, check, decide, evolve, fold,
    initial_state, require_open, validate_cart_id, validate_customer, validate_new_cart_id,
    validate_quantity,
)
from .catalog import Catalog, Product
from .commands import (
    AddItem, ChangeQuantity, ChangeQuantityBy, CheckOut, Command, CreateCart, RemoveItem,
)
from .events import (
    CURRENT_SCHEMA_VERSION, EVENT_TYPES, CartCheckedOut, CartCreated, Event, ItemAdded,
    ItemAddedV1, ItemQuantityChanged, ItemRemoved,
)

__all__ = [
    "errors", "CONTROL_CHARACTERS", "CartState", "CartTally", "Line", "MAX_LINE_QUANTITY", "check",
    "decide", "evolve", "fold", "initial_state", "require_open", "validate_cart_id",
    "validate_customer", "validate_new_cart_id", "validate_quantity", "Catalog", "Product",
    "AddItem", "ChangeQuantity",
    "ChangeQuantityBy", "CheckOut", "Command", "CreateCart", "RemoveItem",
    "CURRENT_SCHEMA_VERSION", "EVENT_TYPES", "CartCheckedOut", "CartCreated", "Event", "ItemAdded",
    "ItemAddedV1", "ItemQuantityChanged", "ItemRemoved",
]
