"""Text from data, made safe to show on a terminal.

A customer, a product name or a cart id came from a user, an imported file or
another program's rows. Its control characters (C0, DEL, C1) are shown escaped,
as "\\x1b", never sent: a customer named "\\x1b[2J" must not clear the screen.
So are the line and paragraph separators and the bidirectional controls, which
would break a line or turn the text after them around ("Trojan Source").
"""

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)]}
_CONTROL |= {c: f"\\u{c:04x}" for c in [0x2028, 0x2029, *range(0x202a, 0x202f),
                                        *range(0x2066, 0x206a)]}


def literal(value: object) -> str:
    """`value` as text, its control characters escaped."""
    return str(value).translate(_CONTROL)
