"""Decoding stored rows into domain events, upcasting old schema versions.

A row that cannot be decoded raises `UndecodableEvent` with its position, so
a reader can report it and go on instead of crashing. That includes a row
whose amounts are past the events' bounds (domain/events.py): every event
decoded can be summed into SQLite's 64-bit integers.
"""

from typing import Mapping

from pydantic import ValidationError

from ..domain.events import CURRENT_SCHEMA_VERSION, EVENT_TYPES, ItemAddedV1
from .rows import NotUtf8Text


class UndecodableEvent(Exception):
    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position
        self.reason = reason


def version_not_whole(position: int, version: object) -> UndecodableEvent:
    """A row whose version is no whole number: SQLite keeps 'abc' or 1.5 in an
    INTEGER column (CHECK (version >= 1) holds for any text). Every reader
    checks `type(version) is int` and raises this."""
    return UndecodableEvent(position, f"version {version!r} is not a whole number")


def decode_event(type_: str, schema_version: int, data: str | bytes,
                 product_names: Mapping[str, str] | None = None, position: int = 0):
    """The domain event of a stored row, read as the current schema."""
    if type(data) is NotUtf8Text:  # rows.py: a row another program wrote
        raise UndecodableEvent(position, f"{type_} data is not UTF-8 text")
    try:
        if type_ == "ItemAdded" and schema_version == 1:
            # Its price is bounded so that the upcast is within the unit price bound.
            return ItemAddedV1.model_validate_json(data).upcast(product_names)
        cls = EVENT_TYPES.get(type_)
        if cls is None:
            raise UndecodableEvent(position, f"unknown event type {type_!r}")
        if schema_version != CURRENT_SCHEMA_VERSION[type_]:
            raise UndecodableEvent(position, f"unknown schema version {schema_version} of {type_}")
        return cls.model_validate_json(data)
    except ValidationError as exc:
        raise UndecodableEvent(position, _first_error(type_, exc)) from None


def _first_error(type_: str, exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "data"
    if err.get("type") in ("json_invalid", "json_type"):
        return f"{type_} data is not valid JSON"
    value = err.get("input")
    if err.get("type") == "int_type" and type(value) is float and abs(value) >= 2**63:
        # 10**30, read by a JSON parser that turns what 64 bits cannot hold into a float
        return f"{type_} {where}: too large a number"
    return f"{type_} {where}: {err.get('msg', 'invalid')}"
