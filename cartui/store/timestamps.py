"""recorded_at is stored as fixed-width ISO-8601 UTC text with microseconds,
so that comparing the text compares the instants (and the index can serve
"at or before T")."""

import re
import time
from datetime import datetime, timezone

# The start of a stored timestamp, up to its hour, and a real hour of a real day. A
# row another program wrote may hold any text as recorded_at ("2026-13-45T10:..."
# included); what does not start so is no time at all. The same test in Python
# (starts_like_timestamp) and in SQL, on the recorded_at column: what SQLite's
# strftime writes of its julianday differs for an hour that does not exist (the
# 30th of February, the 24th hour), and is NULL for the 13th month.
_HOUR_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}")
TIMESTAMP_LIKE = (
    "(recorded_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]*' "
    "AND recorded_at >= '0001' "
    "AND strftime('%Y-%m-%dT%H', julianday(substr(recorded_at, 1, 10) || ' ' "
    "|| substr(recorded_at, 12, 2) || ':00')) IS substr(recorded_at, 1, 13))")
# Wholly a time to the second: the only rows an append may take its time from.
REAL_TIME = ("(recorded_at >= '0001' AND strftime('%Y-%m-%dT%H:%M:%S', "
             "julianday(substr(recorded_at, 1, 19))) IS substr(recorded_at, 1, 19))")
# Such a row's time as an append records it: its own text in the store's form, else
# ("2031-01-01T00:00:00Z", "...+02:00", "...garbage") the store form of the next
# second, which still sorts after that text, so that cartui never writes another form.
STORE_FORM_OF_REAL_TIME = (
    "CASE WHEN recorded_at GLOB '????-??-??T??:??:??.[0-9][0-9][0-9][0-9][0-9][0-9]Z' "
    "THEN recorded_at ELSE strftime('%Y-%m-%dT%H:%M:%S', julianday(substr(recorded_at, 1, 19)), "
    "'+1 second') || '.000000Z' END")


def format_timestamp(moment: datetime) -> str:
    # %-format and isoformat are several times faster than strftime, and pad the
    # year to 4 digits.
    if moment.tzinfo is timezone.utc:  # the clock's own: the fastest form
        return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (
            moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
            moment.microsecond)
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    if moment.utcoffset():
        moment = moment.astimezone(timezone.utc)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    """An ISO-8601 instant; a time without a zone is refused, `Z` means UTC."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (like 2026-01-06T14:00Z)") from None
    if moment.tzinfo is None:
        if "T" not in text.upper() and " " not in text.strip():  # a date alone
            raise ValueError(f"timestamp {text!r} is a date without a time and a zone "
                             f"(like {moment.date().isoformat()}T00:00Z)")
        raise ValueError(f"timestamp {text!r} has no timezone (add Z for UTC)")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+05:00 is a year 0 in UTC
        raise OutOfRangeInUtc(text, after=moment.year == 9999) from None


def is_a_time(text: str) -> bool:
    """Whether stored text is a time (another program may have written any text)."""
    try:
        parse_timestamp(text)
    except ValueError:
        return False
    return True


class OutOfRangeInUtc(ValueError):
    """An instant before year 1 or after year 9999 in UTC: no event can be recorded
    then, though a question about a time (`--at-time`) may name it."""

    def __init__(self, text: str, after: bool) -> None:
        super().__init__(f"timestamp {text!r} is out of range in UTC")
        self.after = after  # after the year 9999, else before the year 1


def starts_like_timestamp(text: str) -> bool:
    """Whether stored text begins as a timestamp does, with a real hour ("YYYY-MM-DDTHH")."""
    if _HOUR_PREFIX.match(text) is None:
        return False
    try:
        datetime.fromisoformat(text[:13])
    except ValueError:  # the 13th month, the 30th of February, the 24th hour
        return False
    return True


def normalize_timestamp(text: str) -> str:
    return format_timestamp(parse_timestamp(text))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


_second_text = (0, "1970-01-01T00:00:00")  # the last whole second formatted, and its text


def utc_now_text() -> str:
    """format_timestamp(utc_now()) at a quarter of its cost: every append pays it.
    The date and time of day are formatted once a second."""
    global _second_text
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    second, text = _second_text  # one read of the pair: threads may replace it meanwhile
    if second != seconds:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second_text = (seconds, text)
    return f"{text}.{micros:06d}Z"
