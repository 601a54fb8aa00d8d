"""SQL of the read side: the derived tables the projections keep, and the reads
of the event log that folds and temporal queries need.

Every table here is derived from `events` and may be dropped at any time:
`projection_positions` (each projection's checkpoint: the last position it
applied), `projection_checkpoints` (the projections' figures at some
positions, JSON), `proj_cart_status` (each decodable CartCreated and
CartCheckedOut: the status it gave its cart), `proj_activity` (events per
hour), `proj_undecodable` (rows the projections could not decode), and
`proj_cart_summary` (one row per cart, as of the tip only).
"""

import sqlite3
from contextlib import contextmanager
from typing import Iterable, Mapping, Sequence

import orjson

from .event_store import EventStore
from .rows import all_rows_of, text_of
from .timestamps import TIMESTAMP_LIKE

# Bump when the derived tables' meaning changes: a read model of another
# format counts as not built, so the next catch-up rebuilds it.
READMODEL_FORMAT = 1

READMODEL_TABLES = ("projection_positions", "projection_checkpoints", "proj_cart_status",
                    "proj_activity", "proj_undecodable", "proj_cart_summary")

# Table names are placeholders: a rebuild fills a second set (suffix "_rebuild")
# while readers keep using the first, then swaps it in.
READMODEL_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS {projection_positions} (
    projection TEXT PRIMARY KEY,
    position   INTEGER NOT NULL,
    format     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {projection_checkpoints} (
    position INTEGER PRIMARY KEY,
    state    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS {proj_cart_status} (
    stream_id TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    status    TEXT    NOT NULL,
    PRIMARY KEY (stream_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {proj_activity} (
    hour   TEXT PRIMARY KEY,
    events INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {proj_undecodable} (
    position INTEGER PRIMARY KEY,
    reason   TEXT NOT NULL
);
-- Keyed by the cart's first position: the list (oldest cart first) is a plain
-- scan, and a cart is found from the events' (stream_id, position) index (an
-- index on cart_id would cost every rebuild a second B-tree to fill).
-- status "new": a stream with no decodable CartCreated yet, which is no cart.
-- lines: JSON [quantity by sku, unit_price_cents by sku] of a cart not checked
-- out (what its next event needs), NULL once checked out (its totals suffice).
CREATE TABLE IF NOT EXISTS {proj_cart_summary} (
    first_position   INTEGER PRIMARY KEY,
    cart_id          TEXT    NOT NULL,
    customer         TEXT,
    status           TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    total_cents      INTEGER NOT NULL,
    item_count       INTEGER NOT NULL,
    last_position    INTEGER NOT NULL,
    last_recorded_at TEXT    NOT NULL,
    lines            BLOB
);
"""

# What a fold reads of a row: no metadata (the widest column, never needed).
# Text whatever another program stored in a row (see rows.py). Not data, the widest
# column, for speed: a fold decodes a BLOB's bytes as it would their text.
FOLD_COLUMNS = (f"position, {text_of('stream_id')}, version, {text_of('type')}, schema_version, "
                f"data, {text_of('recorded_at')}")


class ReadModelStore:
    """The derived tables of the projections, on an EventStore's connection.

    `suffix` names another set of the same tables: the one a rebuild fills
    before `promote` makes it the set everybody reads.
    """

    def __init__(self, store: EventStore, suffix: str = "") -> None:
        self.store = store
        self.conn = store.conn
        self.suffix = suffix
        self.tables = {table: table + suffix for table in READMODEL_TABLES}

    def _sql(self, text: str) -> str:
        return text.format(**self.tables)

    # -- reading the log -------------------------------------------------------------------

    def fold_rows(self, after: int, up_to: int) -> list[tuple]:
        """Rows with after < position <= up_to, as FOLD_COLUMNS tuples, in order."""
        return all_rows_of(
            self.conn, f"SELECT {FOLD_COLUMNS} FROM events WHERE position > ? AND position <= ? "
            "ORDER BY position", (after, up_to))

    def stream_fold_rows(self, stream_id: str, up_to: int) -> list[tuple]:
        """One cart's rows at or before a position, as FOLD_COLUMNS tuples."""
        return all_rows_of(
            self.conn, f"SELECT {FOLD_COLUMNS} FROM events INDEXED BY events_stream_position "
            "WHERE stream_id = ? AND position <= ? ORDER BY position", (stream_id, up_to))

    def streams_between(self, first: int, last: int) -> set[str]:
        """The carts with an event at a position from first to last (inclusive)."""
        return {r[0] for r in all_rows_of(
            self.conn, f"SELECT DISTINCT {text_of('stream_id')} FROM events "
            "WHERE position BETWEEN ? AND ?", (first, last))}

    def first_position_from(self, moment: str) -> int | None:
        """The first position recorded at or after `moment` (stored timestamp text)."""
        # Walks the recorded_at index (MIN(position) would scan the log from 1);
        # as time never decreases in position order, its first entry is the one.
        row = self.conn.execute(
            "SELECT position FROM events WHERE recorded_at >= ? ORDER BY recorded_at, position "
            "LIMIT 1", (moment,)).fetchone()
        return row[0] if row else None

    def last_event_at_or_before(self, position: int) -> tuple[int, str] | None:
        """(position, recorded_at) of the last event at or before a position whose
        recorded_at is a time (not text another program wrote there)."""
        rows = all_rows_of(self.conn, f"SELECT position, recorded_at FROM events "
                           f"WHERE position <= ? AND {TIMESTAMP_LIKE} "
                           "ORDER BY position DESC LIMIT 1", (position,))
        return rows[0] if rows else None

    # -- reading the derived tables ----------------------------------------------------------

    def positions(self) -> dict[str, int]:
        """Each built projection's checkpoint; {} when none is built (or in another format)."""
        try:
            return {name: position for name, position in self.conn.execute(
                self._sql("SELECT projection, position FROM {projection_positions} WHERE format = ?"),
                (READMODEL_FORMAT,))}
        except sqlite3.OperationalError:  # never built, or dropped by hand
            return {}

    def checkpoint_at_or_before(self, position: int) -> tuple[int, dict] | None:
        """(position, figures) of the newest checkpoint at or before a position."""
        try:
            row = self.conn.execute(self._sql(
                "SELECT position, state FROM {projection_checkpoints} WHERE position <= ? "
                "ORDER BY position DESC LIMIT 1"), (position,)).fetchone()
        except sqlite3.OperationalError:
            return None
        return (row[0], orjson.loads(row[1])) if row else None

    def statuses_at(self, stream_ids: Iterable[str], position: int) -> dict[str, str | None]:
        """Each cart's status after its last decodable CartCreated/CartCheckedOut at or
        before `position` (None: no such event)."""
        ids = list(stream_ids)
        if not ids:
            return {}
        rows = self.conn.execute(self._sql(
            "SELECT ids.value, (SELECT status FROM {proj_cart_status} s WHERE s.stream_id = ids.value "
            "AND s.position <= ? ORDER BY s.position DESC LIMIT 1) FROM json_each(?) ids"),
            (position, orjson.dumps(ids).decode()))
        return dict(rows.fetchall())

    def cart_summary(self, stream_id: str) -> tuple | None:
        """One cart's stored row: (first_position, customer, status, version,
        total_cents, item_count, last_position, last_recorded_at, lines)."""
        return self.conn.execute(self._sql(
            "SELECT first_position, customer, status, version, total_cents, item_count, "
            "last_position, last_recorded_at, lines FROM {proj_cart_summary} "
            "WHERE first_position = (SELECT position FROM events INDEXED BY events_stream_position "
            "WHERE stream_id = ? ORDER BY position LIMIT 1) AND cart_id = ?"),
            (stream_id, stream_id)).fetchone()

    def cart_summaries(self) -> list[tuple]:
        """Every cart's summary, oldest cart first: (cart_id, customer, status, version,
        total_cents, item_count, last_position, last_recorded_at)."""
        try:
            return self.conn.execute(self._sql(
                "SELECT cart_id, customer, status, version, total_cents, item_count, "
                "last_position, last_recorded_at FROM {proj_cart_summary} WHERE status != 'new' "
                "ORDER BY first_position")).fetchall()
        except sqlite3.OperationalError:  # never built
            return []

    def activity(self) -> list[tuple[str, int]]:
        """(hour, events) of every hour the projection has met, in time order."""
        try:
            return self.conn.execute(
                self._sql("SELECT hour, events FROM {proj_activity} ORDER BY hour")).fetchall()
        except sqlite3.OperationalError:
            return []

    def undecodable(self) -> list[tuple[int, str]]:
        """(position, reason) of every row the projections could not decode, in order."""
        try:
            return self.conn.execute(self._sql(
                "SELECT position, reason FROM {proj_undecodable} ORDER BY position")).fetchall()
        except sqlite3.OperationalError:
            return []

    @contextmanager
    def snapshot(self):
        """One read transaction: every read inside sees the same database, even while
        another connection catches the projections up or rebuilds them."""
        if self.conn.in_transaction:  # already inside one: nothing to add
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------

    def create(self) -> None:
        """The tables, where missing. When some were dropped by hand while the
        checkpoints stayed, the checkpoints go too: built again from zero."""
        with self.store.transaction():
            names = [table for table, in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            if self.tables["projection_positions"] in names \
                    and not set(self.tables.values()) <= set(names):
                self.conn.execute(self._sql("DELETE FROM {projection_positions}"))
            self._create_tables()

    def drop(self) -> None:
        """Drop every derived table of the projections (never the events or snapshots)."""
        with self.store.transaction():
            self._clear()

    def exists(self) -> bool:
        """Whether this set of tables is there (a rebuild's may be dropped or promoted
        by another connection's)."""
        return self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (self.tables["projection_positions"],)).fetchone() is not None

    def promote(self) -> bool:
        """Make this set of tables the one everybody reads, in one transaction
        (readers see the old set or the new one, never a mix). False when the
        set is gone: another connection promoted it first."""
        with self.store.transaction():
            if not self.exists():
                return False
            for table, ours in self.tables.items():
                self.conn.execute(f"DROP TABLE IF EXISTS {table}")
                self.conn.execute(f"ALTER TABLE {ours} RENAME TO {table}")
        return True

    def _clear(self) -> None:
        for table in self.tables.values():
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        self._create_tables()

    def _create_tables(self) -> None:
        # One statement at a time: executescript would commit the transaction we are in.
        for statement in self._sql(READMODEL_SCHEMA_SQL).split(";"):
            if statement.strip():
                self.conn.execute(statement)

    def save(self, *, names: Sequence[str], expected: Mapping[str, int], clear: bool,
             position: int, checkpoints: Sequence[tuple[int, bytes]],
             drop_checkpoint: int | None,
             cart_status: Sequence[tuple[str, int, str]], activity: Mapping[str, int],
             undecodable: Sequence[tuple[int, str]], cart_summaries: Sequence[tuple] = ()
             ) -> bool:
        """Advance the projections `names` to `position`, in one transaction:
        their new derived rows and checkpoints (JSON), `clear` first when they
        were folded from zero (whatever an older run or format left goes).

        `cart_summaries` (rows of proj_cart_summary) replace those of their carts.

        `expected` are the positions read when the fold started: if another
        connection moved them meanwhile, nothing is written and the answer is
        False (the caller starts again from where they are now).
        """
        with self.store.transaction():
            if self.positions() != dict(expected):
                return False
            if clear:
                self._clear()
            sql = self._sql
            self.conn.executemany(sql("INSERT INTO {proj_cart_status} VALUES (?, ?, ?)"),
                                  cart_status)
            self.conn.executemany(sql(
                "INSERT INTO {proj_activity} VALUES (?, ?) "
                "ON CONFLICT (hour) DO UPDATE SET events = events + excluded.events"),
                activity.items())
            self.conn.executemany(sql("INSERT INTO {proj_undecodable} VALUES (?, ?)"), undecodable)
            self.conn.executemany(sql("INSERT OR REPLACE INTO {proj_cart_summary} "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), cart_summaries)
            if drop_checkpoint is not None:
                self.conn.execute(sql("DELETE FROM {projection_checkpoints} WHERE position = ?"),
                                  (drop_checkpoint,))
            self.conn.executemany(
                sql("INSERT OR REPLACE INTO {projection_checkpoints} VALUES (?, ?)"), checkpoints)
            self.conn.executemany(
                sql("INSERT OR REPLACE INTO {projection_positions} VALUES (?, ?, ?)"),
                [(name, position, READMODEL_FORMAT) for name in names])
        return True

    # -- measuring -------------------------------------------------------------------------

    def table_bytes(self) -> dict[str, int]:
        """Bytes on disk of each table with its indexes: the events and the derived ones."""
        sizes = dict.fromkeys(("events", "snapshots", *READMODEL_TABLES), 0)
        owners = {name: table for name, table in self.conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")}
        for name, size in self.conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owners.get(name)
            if table in sizes:
                sizes[table] += size
        return sizes
