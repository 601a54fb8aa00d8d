"""The ids cartui makes (of events, commands and new carts): time-ordered UUIDs
(version 7, RFC 9562).

48 bits of Unix time in milliseconds and 12 bits of its fraction (1/4096 ms),
then random bits. Ids made later sort after earlier ones, so the event_id index
takes each new id at its end, as it takes positions: its pages stay few and
warm, and a bulk import of cartui's own export keeps the index as it loads
instead of sorting a million random keys at the end (Marten's sequential GUIDs
serve the same end).
"""

import os
import time

# The random parts are made ahead, 256 per read of the OS's random source: a
# command needs two ids, and a system call right after a durable commit costs
# more than the rest. The millisecond is formatted once.
_RANDOM_PARTS_PER_BLOCK = 256
_RANDOM_PARTS: list[str] = []  # "-Vxxx-xxxxxxxxxxxx": the UUID after the time (V: variant)
os.register_at_fork(after_in_child=_RANDOM_PARTS.clear)  # a child must not repeat its parent's
_millisecond_prefix = (-1, "")  # the last millisecond and its "tttttttt-tttt-7"
_FRACTIONS = [f"{i:03x}" for i in range(4096)]  # a millisecond's fraction, in 4096ths
# The variant digit (RFC 9562: binary 10xx) from any random hex digit.
_VARIANT_DIGIT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")
# Where each of a part's 15 random hex digits goes in "-Vxxx-xxxxxxxxxxxx".
_DIGIT_PLACES = [i + 2 + (i >= 3) for i in range(15)]


def new_uuid() -> str:
    """A time-ordered UUID made now, as text, at a fraction of uuid.uuid4()'s cost."""
    global _millisecond_prefix
    now, nanoseconds = divmod(time.time_ns(), 1_000_000)
    millisecond, prefix = _millisecond_prefix  # one read of the pair: threads may replace it
    if millisecond != now:
        digits = f"{now:012x}"
        prefix = f"{digits[:8]}-{digits[8:]}-7"
        _millisecond_prefix = (now, prefix)
    fraction = _FRACTIONS[nanoseconds * 4096 // 1_000_000]
    try:
        return prefix + fraction + _RANDOM_PARTS.pop()  # atomic: threads never share a part
    except IndexError:
        _RANDOM_PARTS.extend(_random_parts(_RANDOM_PARTS_PER_BLOCK))
        return prefix + fraction + _RANDOM_PARTS.pop()


def time_ordered_uuid(unix_nanoseconds: int, random_bits: int) -> str:
    """The time-ordered UUID of a given moment and random bits (the lowest 62
    are used): for histories made up with seeded randomness (demo, bench)."""
    millisecond, nanoseconds = divmod(unix_nanoseconds, 1_000_000)
    value = (millisecond << 80 | 7 << 76 | (nanoseconds * 4096 // 1_000_000) << 64
             | 2 << 62 | random_bits & (1 << 62) - 1)
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _random_parts(count: int) -> list[str]:
    """`count` random UUID endings "-Vxxx-xxxxxxxxxxxx" (V: the variant digit),
    formatted a digit place at a time for all of them (one slice assignment
    each) rather than one at a time."""
    digits = os.urandom(8 * count).hex().encode()  # 16 random hex digits each
    text = bytearray(b"-" * (19 * count))  # 18 characters and a space each
    text[18::19] = b" " * count
    text[1::19] = digits[15::16].translate(_VARIANT_DIGIT)
    for digit, place in enumerate(_DIGIT_PLACES):
        text[place::19] = digits[digit::16]
    return text.decode().split()
