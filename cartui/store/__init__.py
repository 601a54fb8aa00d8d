"""The SQLite event store. The only layer that speaks SQL."""

from .codec import UndecodableEvent, decode_event, version_not_whole
from .rows import NotUtf8Text
from .event_store import (
    ANY, NO_STREAM, ConcurrencyError, EventStore, NewEvent, RecordedEvent, StoreBusy, StoreError,
    StreamInfo, is_disk_full, is_lock_wait, is_read_only, is_unreadable_database, remove_database,
)
from .timestamps import (
    OutOfRangeInUtc, format_timestamp, is_a_time, normalize_timestamp, parse_timestamp,
    starts_like_timestamp, utc_now,
)

__all__ = [
    "UndecodableEvent", "decode_event", "version_not_whole", "NotUtf8Text", "ANY", "NO_STREAM",
    "ConcurrencyError", "EventStore", "NewEvent", "RecordedEvent", "StoreBusy", "StoreError",
    "StreamInfo",
    "OutOfRangeInUtc", "format_timestamp", "is_a_time", "normalize_timestamp", "parse_timestamp",
    "starts_like_timestamp", "utc_now", "is_disk_full", "is_lock_wait", "is_read_only",
    "is_unreadable_database", "remove_database",
]
