"""How figures and events read on screen: money, times, one-line event summaries.

Everything returns plain strings or rich Text built from plain strings, so text
that came from data (names, customers) is never parsed as markup; `literal`
escapes its control characters, which a terminal would obey.
"""

import orjson
from rich.cells import cell_len, set_cell_size

from ...literal import literal
from ...money import money  # noqa: F401  (the panes format money through here)
from ...store import RecordedEvent, UndecodableEvent, starts_like_timestamp
from ...wording import many

SHORT_TYPES = {
    "CartCreated": "Created",
    "ItemAdded": "Added",
    "ItemQuantityChanged": "Quantity",
    "ItemRemoved": "Removed",
    "CartCheckedOut": "CheckedOut",
}



def count(n: int) -> str:
    return f"{n:,}"


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with "…" (a wide character,
    an emoji say, takes two cells)."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    text = text[:width]  # at least a cell a character (but for rare zero-width ones)
    while cell_len(text) > width - 1:
        text = text[:-1]
    return set_cell_size(text + "…", width)  # padded when a wide character left a cell


# Each shows a recorded_at that is no time (a row another program wrote) as it is,
# cut to the width of what it would have shown.

def clock_time(recorded_at: str) -> str:
    """"2026-01-05T10:42:07.123456Z" -> "10:42:07"."""
    if not starts_like_timestamp(recorded_at):
        return fit(literal(recorded_at), 8)
    return recorded_at[11:19]


def day_and_time(recorded_at: str) -> str:
    """"2026-01-05T10:42:07.123456Z" -> "01-05 10:42:07"."""
    if not starts_like_timestamp(recorded_at):
        return fit(literal(recorded_at), 14)
    return f"{recorded_at[5:10]} {recorded_at[11:19]}"


def event_summary(row: RecordedEvent, decode, product_names: dict[str, str]) -> str:
    """A short, human line about what one stored event says."""
    return literal(_summary(row, decode, product_names))


def _summary(row: RecordedEvent, decode, product_names: dict[str, str]) -> str:
    try:
        event = decode(row)
    except UndecodableEvent as exc:
        return f"cannot decode: {exc.reason}"
    match event.type:
        case "CartCreated":
            return f"for {event.customer}" if event.customer else "no customer"
        case "ItemAdded":
            upcast = " (stored v1)" if row.schema_version == 1 else ""
            return f"+{event.quantity} {event.name} @ {money(event.unit_price_cents)}{upcast}"
        case "ItemQuantityChanged":
            # The new quantity first, as "+2" and "-": a narrow pane cuts the name, not it.
            return f"→ {event.quantity} {product_names.get(event.sku, event.sku)}"
        case "ItemRemoved":
            return f"-{product_names.get(event.sku, event.sku)}"
        case "CartCheckedOut":
            return f"{many(event.item_count, 'item')}, {money(event.total_cents)}"
    return orjson.dumps(orjson.loads(row.data)).decode()
