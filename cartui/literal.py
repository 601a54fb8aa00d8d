"""Text from data, made safe to show on a terminal.

A customer, a product name or a cart id came from a user, an imported file or
another program's rows. Its control characters (C0, DEL, C1) are shown escaped,
as "\\x1b", never sent: a customer named "\\x1b[2J" must not clear the screen.
So are the line and paragraph separators and the bidirectional controls, which
would break a line or turn the text after them around ("Trojan Source").
"""

from .domain import CONTROL_CHARACTERS

_CONTROL = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in CONTROL_CHARACTERS}


def literal(value: object) -> str:
    """`value` as text, its control characters escaped."""
    return str(value).translate(_CONTROL)
