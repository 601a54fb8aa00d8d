"""Reading rows that another program may have written.

cartui writes every text column as UTF-8 text, but SQLite stores whatever a
client gives it: a BLOB, or text whose bytes are not UTF-8. Python's sqlite3
stops at such text with an OperationalError, which would end every reader of
the log at one bad row. So the queries of `events` read each text column
through `text_of` (a BLOB comes as its bytes taken for text; the folds read
`data` as stored, and decode a BLOB's bytes as its text), and
`rows_of`/`all_rows_of` read a column that is not UTF-8 as `NotUtf8Text`
instead of stopping: the text with U+FFFD for its bad bytes, as most tools
show it, marked so that the codec refuses such data and `cartui verify`
names the column. The rows are then reported by position like any other.
"""

import sqlite3
from typing import Iterator, Sequence


class NotUtf8Text(str):
    """Text read from a column whose bytes are not UTF-8, with U+FFFD for the bad ones."""

    __slots__ = ()


def text_of(column: str) -> str:
    """A text column as SQL that yields text whatever its row holds (a BLOB, a number)."""
    return f"CAST({column} AS TEXT)"


def rows_of(conn: sqlite3.Connection, sql: str, args: Sequence = ()) -> Iterator[tuple]:
    """The rows of a query, as iterating its cursor gives them (and as fast), but a
    column that is not UTF-8 is read leniently instead of ending the iteration."""
    cursor = conn.execute(sql, args)
    while True:
        try:
            yield from cursor
            return
        except sqlite3.OperationalError as exc:
            if not _is_text_not_utf8(exc):
                raise
            yield _read_again_leniently(conn, cursor)


def all_rows_of(conn: sqlite3.Connection, sql: str, args: Sequence = ()) -> list[tuple]:
    """`rows_of` as a list: fetchall's speed, unless a column is not UTF-8."""
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if not _is_text_not_utf8(exc):
            raise
    return list(rows_of(conn, sql, args))


def _is_text_not_utf8(error: sqlite3.OperationalError) -> bool:
    return str(error).startswith("Could not decode to UTF-8")


def _read_again_leniently(conn: sqlite3.Connection, cursor: sqlite3.Cursor) -> tuple:
    # sqlite3 steps to the next row only once a row is made, so the cursor still
    # stands on the row it could not decode. Other readers of the connection meanwhile
    # read valid text as before: only text that is not UTF-8 reads differently.
    conn.text_factory = _lenient_text
    try:
        return next(cursor)
    finally:
        conn.text_factory = str


def _lenient_text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return NotUtf8Text(raw.decode("utf-8", "replace"))
