"""How counts and times read, the same in the command line and in the app."""

from .literal import literal
from .store import starts_like_timestamp


def many(n: int, noun: str) -> str:
    """'1 event', '2,535 events'."""
    return f"1 {noun}" if n == 1 else f"{n:,} {noun}s"


# A recorded_at that is no time (a row another program wrote) reads as it is, escaped.

def full_time(recorded_at: str) -> str:
    """"2026-01-05T10:42:07.123456Z" -> "2026-01-05 10:42:07 UTC"."""
    if not starts_like_timestamp(recorded_at):
        return literal(recorded_at)
    return f"{recorded_at[:10]} {recorded_at[11:19]} UTC"


def exact_time(recorded_at: str) -> str:
    """"2026-01-05T10:42:07.123456Z" -> "2026-01-05 10:42:07.123456 UTC"."""
    if not starts_like_timestamp(recorded_at):
        return literal(recorded_at)
    return f"{recorded_at[:10]} {recorded_at[11:-1]} UTC"
