"""The few fields a projection needs from a stored row, read fast.

A fold over a million events cannot afford a pydantic model per row, so a row
whose JSON has exactly the shape of its event (the right keys, each of the
right type and range) is read with orjson alone. Anything else, an old schema
version, an extra key, a float where an int belongs, invalid JSON, goes to
the codec (`decode_event`), which decides. So a row is undecodable here
exactly when the codec says so: the fast path only accepts what the codec
accepts (tests/test_projections.py holds it to that on random data).
"""

import orjson

from ..domain.events import (
    CURRENT_SCHEMA_VERSION, MAX_CART_ITEMS, MAX_CART_TOTAL_CENTS, MAX_CUSTOMER_LENGTH,
    MAX_LINE_QUANTITY, MAX_PRODUCT_NAME_LENGTH, MAX_SKU_LENGTH, MAX_UNIT_PRICE_CENTS,
    CartCheckedOut, CartCreated, ItemAdded, ItemQuantityChanged, ItemRemoved,
)
from ..store import NotUtf8Text, UndecodableEvent, decode_event, version_not_whole

# The facts, by event type (all tuples):
#   CartCreated (customer,)   ItemAdded (sku, quantity, unit_price_cents)
#   ItemQuantityChanged (sku, quantity)   ItemRemoved (sku,)   CartCheckedOut (total_cents,)


# Each reader returns the fact when the dict has exactly its event's shape, else
# None (the codec then decides). The checks are inline: this runs per row.

def _cart_created(d: dict):
    if not d or (len(d) == 1 and "customer" in d):
        customer = d.get("customer")
        if customer is None or type(customer) is str and len(customer) <= MAX_CUSTOMER_LENGTH:
            return (customer,)
    return None


def _item_added(d: dict):
    if len(d) == 4:
        sku, quantity = d.get("sku"), d.get("quantity")
        name, price = d.get("name"), d.get("unit_price_cents")
        if type(sku) is str and 0 < len(sku) <= MAX_SKU_LENGTH and type(quantity) is int \
                and 0 < quantity <= MAX_LINE_QUANTITY \
                and type(name) is str and 0 < len(name) <= MAX_PRODUCT_NAME_LENGTH \
                and type(price) is int and 0 <= price <= MAX_UNIT_PRICE_CENTS:
            return (sku, quantity, price)
    return None


def _item_quantity_changed(d: dict):
    if len(d) == 2:
        sku, quantity = d.get("sku"), d.get("quantity")
        if type(sku) is str and 0 < len(sku) <= MAX_SKU_LENGTH and type(quantity) is int \
                and 0 < quantity <= MAX_LINE_QUANTITY:
            return (sku, quantity)
    return None


def _item_removed(d: dict):
    if len(d) == 1:
        sku = d.get("sku")
        if type(sku) is str and 0 < len(sku) <= MAX_SKU_LENGTH:
            return (sku,)
    return None


def _cart_checked_out(d: dict):
    if len(d) == 2:
        total, count = d.get("total_cents"), d.get("item_count")
        if type(total) is int and 0 <= total <= MAX_CART_TOTAL_CENTS and type(count) is int \
                and 1 <= count <= MAX_CART_ITEMS:
            return (total,)
    return None


# type -> (the schema version written today, its reader, facts by data text).
# Decoding is a pure function of the text, and most texts repeat (the same
# product added in the same quantity, the same quantity set, the same sku
# removed), so most rows cost one dict lookup instead of a JSON parse.
_FAST = {
    name: (CURRENT_SCHEMA_VERSION[name], reader, {}) for name, reader in [
        ("CartCreated", _cart_created), ("ItemAdded", _item_added),
        ("ItemQuantityChanged", _item_quantity_changed), ("ItemRemoved", _item_removed),
        ("CartCheckedOut", _cart_checked_out),
    ]
}
_KNOWN_TEXTS = 4096  # per event type
_loads, _JSONDecodeError = orjson.loads, orjson.JSONDecodeError


def read_fact(type_: str, schema_version: int, data: str | bytes, position: int = 0,
              version: object = 1) -> tuple:
    """The fact of a stored row (see above), or UndecodableEvent when the codec refuses
    it or its version is no whole number (as the service's decode)."""
    if type(version) is not int:
        raise version_not_whole(position, version)
    fast = _FAST.get(type_)
    if fast is not None and schema_version == fast[0]:
        known = fast[2]
        fact = known.get(data)
        if fact is not None:
            return fact
        try:
            # Text that is not UTF-8 (rows.py) is for the codec to refuse.
            d = _loads(data) if type(data) is not NotUtf8Text else None
        except _JSONDecodeError:
            d = None
        if type(d) is dict:
            fact = fast[1](d)
            if fact is not None:
                if len(known) >= _KNOWN_TEXTS:
                    known.clear()
                known[data] = fact
                return fact
    return fact_of(decode_event(type_, schema_version, data, None, position))


def fact_of(event) -> tuple:
    """The fact of a domain event."""
    match event:
        case CartCreated(customer=customer):
            return (customer,)
        case ItemAdded(sku=sku, quantity=quantity, unit_price_cents=price):
            return (sku, quantity, price)
        case ItemQuantityChanged(sku=sku, quantity=quantity):
            return (sku, quantity)
        case ItemRemoved(sku=sku):
            return (sku,)
        case CartCheckedOut(total_cents=total):
            return (total,)
    raise TypeError(f"not a cart event: {event!r}")


__all__ = ["read_fact", "fact_of", "UndecodableEvent"]
