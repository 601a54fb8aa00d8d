"""The event store: an append-only log of events in one SQLite file.

Only this layer speaks SQL. Durability is `synchronous=FULL` by default: once
`append` returns, the events survive a power loss (WAL mode, fsync on every
commit). `synchronous="NORMAL"` trades the last commits on power loss (never
on a crash of the process) for speed.
"""

import os
import shutil
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

import orjson

from .rows import all_rows_of, rows_of, text_of
from .schema import (
    EVENT_ID_EXPR, EVENT_ID_INDEX, LEGACY_SCHEMA_SQL, SCHEMA_SQL, STREAM_VERSION_INDEX,
)
from .timestamps import (
    REAL_TIME, STORE_FORM_OF_REAL_TIME, format_timestamp, is_a_time, normalize_timestamp, utc_now,
    utc_now_text,
)

ANY = None  # expected_version: append whatever the stream's version
NO_STREAM = 0  # expected_version: the stream must not exist yet

BUSY_TIMEOUT_SECONDS = 5.0
SNAPSHOT_STATE_SCHEMA = 1
_COLUMNS = "position, stream_id, version, type, schema_version, data, metadata, recorded_at"
_EXPECTED_COLUMNS = {c.strip() for c in _COLUMNS.split(",")}
# The columns as read: text whatever another program stored in a row (see rows.py).
_READ_COLUMNS = (f"position, {text_of('stream_id')}, version, {text_of('type')}, schema_version, "
                 f"{text_of('data')}, {text_of('metadata')}, {text_of('recorded_at')}")
# bulk_transaction: the loads that keep the stream indexes (at most this many rows:
# past it, their pages outgrow the cache, and inserting into them costs more than
# building them), the page cache while rows are loaded with and without those
# indexes and while indexes are built, and the threads SQLite may use to sort.
_BULK_LOAD_STREAM_INDEX_ROWS = 2_000_000
_MAX_POSITION = 2**63 - 1  # SQLite's largest integer: "up to the head", whatever it is
_BULK_LOAD_CACHE_KB = 32768
_BULK_LOAD_APPEND_ONLY_CACHE_KB = 8192
_INDEX_SORT_CACHE_KB = 2048
_INDEX_SORT_THREADS = 2
# What SCHEMA_SQL makes besides the table: made again on open when missing.
_SCHEMA_OBJECTS = {"events_no_update", "events_no_delete", EVENT_ID_INDEX, "snapshots",
                   "events_stream_position", "events_recorded_at", STREAM_VERSION_INDEX}


def database_files(path: str | Path) -> tuple[Path, ...]:
    """A database's file and those SQLite keeps beside it: WAL, shared memory, journal."""
    return tuple(Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal"))


def remove_database(path: str | Path) -> None:
    """Delete a database that no connection has open, with every file of it."""
    for file in database_files(path):
        file.unlink(missing_ok=True)


class StoreError(Exception):
    """The database cannot be used: unreadable, not ours, or locked for good."""


def is_lock_wait(error: BaseException) -> bool:
    """Whether SQLite gave up waiting for another connection's lock (the busy timeout)."""
    return isinstance(error, sqlite3.OperationalError) and getattr(
        error, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def is_read_only(error: BaseException) -> bool:
    """Whether SQLite refused a write because the file (or its folder) is read-only to us."""
    return isinstance(error, sqlite3.OperationalError) and getattr(
        error, "sqlite_errorname", "").startswith("SQLITE_READONLY")


def is_disk_full(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorname", "") == "SQLITE_FULL"


def _disk_full_beside(path: str) -> bool:
    """Whether the file system of `path`'s folder has no room left: opening in WAL
    mode makes two files beside the database, which cannot grow then."""
    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free == 0
    except OSError:
        return False


def is_unreadable_database(error: BaseException) -> bool:
    """Whether an error says the database cannot be read: StoreError from the store,
    or SQLite's own from a read (a page scribbled over, a disk I/O error). Its
    other errors (a closed connection, a broken constraint) are cartui's bugs."""
    return isinstance(error, StoreError) or type(error) in (sqlite3.DatabaseError,
                                                            sqlite3.OperationalError)


class ConcurrencyError(Exception):
    """The stream moved on since it was read (or the write lock never came)."""


class _VersionRefused(ConcurrencyError):
    """The expected version is not the stream's: a conflict, or a retried append."""


class StoreBusy(ConcurrencyError):
    """The write lock did not come within the busy timeout. SQLite kept trying
    for all that time already, so a caller should not wait it out again."""


class RecordedEvent(NamedTuple):
    """A row of `events`, as stored: `data` and `metadata` are the JSON text.

    A named tuple rather than a frozen dataclass: as immutable, and built for
    a quarter of the cost, which every read of the log pays once per row.
    """

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: str
    metadata: str
    recorded_at: str

    def metadata_dict(self) -> dict:
        return orjson.loads(self.metadata)

    def export_line(self) -> bytes:
        """One JSON Lines record, without re-encoding the stored JSON text. A data
        or metadata text that is not JSON (a row another program wrote) goes in
        as a JSON string: the line stays JSON, and an import refuses it by number."""
        head = orjson.dumps({"position": self.position, "stream_id": self.stream_id,
                             "version": self.version, "type": self.type,
                             "schema_version": self.schema_version})
        return b"".join((head[:-1], b',"data":', _json_text(self.data), b',"metadata":',
                         _json_text(self.metadata), b',"recorded_at":',
                         orjson.dumps(self.recorded_at), b"}"))


def _json_text(text: str) -> bytes:
    """Stored JSON text as it is, or as a JSON string when it is not JSON."""
    encoded = text.encode()
    try:
        orjson.loads(encoded)
    except orjson.JSONDecodeError:
        return orjson.dumps(text)
    return encoded


class NewEvent(NamedTuple):
    """An event about to be appended. `data` is JSON text."""

    type: str
    data: str
    event_id: str
    schema_version: int = 1
    correlation_id: str | None = None
    causation_id: str | None = None
    recorded_at: str | None = None  # kept when given (imports), else the store's clock

    def metadata_json(self) -> str:
        return orjson.dumps({"event_id": self.event_id, "correlation_id": self.correlation_id,
                             "causation_id": self.causation_id}).decode()


@dataclass(frozen=True, slots=True)
class StreamInfo:
    stream_id: str
    version: int
    first_position: int
    last_position: int
    last_recorded_at: str


class EventStore:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 clock: Callable[[], datetime] = utc_now,
                 busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = str(path)
        self.clock = clock
        self._indexes_left_for_the_end: dict[str, str] = {}  # of a bulk load: name -> SQL
        # The time an append records, as stored: the fast form of the system clock's.
        self._now = utc_now_text if clock is utc_now else lambda: format_timestamp(clock())
        if self.path != ":memory:":
            self._refuse_what_sqlite_would_mistake(self.path)
        if synchronous.upper() not in ("FULL", "NORMAL", "OFF", "EXTRA"):
            raise ValueError(f"unknown synchronous mode {synchronous!r}")
        # Opened only to read, as it is (see _open_where_only_readable).
        self.read_only = False
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            try:
                self.conn = self._connect(self.path, busy_timeout, synchronous)
                self._create_schema()  # first: it refuses a file that is not ours, untouched
            except sqlite3.OperationalError as exc:
                if not self._only_readable(exc):
                    raise
                self._open_where_only_readable(busy_timeout)
            if not self.read_only and not self.in_wal_mode():
                self._turn_to_wal()
            self._identity = self._file_identity()
        except sqlite3.OperationalError as exc:
            if is_lock_wait(exc):
                # A bulk import into an empty log holds the whole file for its length.
                raise StoreBusy(f"{self.path} is locked by another process (an import, say); "
                                f"try again when it is done: {exc}") from None
            if _disk_full_beside(self.path):  # SQLite says only "disk I/O error"
                raise StoreError(f"cannot open {self.path}: the disk it is on is full "
                                 f"({exc})") from None
            raise StoreError(f"cannot open {self.path} as a cartui database: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open {self.path} as a cartui database: {exc}") from None
        except FileExistsError as exc:  # from mkdir: a file where a directory should be
            raise StoreError(
                f"cannot open {self.path}: {exc.filename} is not a directory") from None
        except OSError as exc:
            raise StoreError(f"cannot open {self.path}: {exc.strerror or exc}") from None

    @staticmethod
    def _connect(target: str, busy_timeout: float, synchronous: str,
                 uri: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(target, isolation_level=None, timeout=busy_timeout,
                               check_same_thread=False, uri=uri)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _only_readable(self, exc: sqlite3.OperationalError) -> bool:
        """Whether SQLite could not open the file for want of writing beside it: a
        folder cartui may not write to (a read-only file system, say), where it
        cannot make the WAL's shared memory. With no WAL left there, the file alone
        is the whole log."""
        path = Path(self.path)
        # (SQLite says CANTOPEN on a read-only file system, READONLY_DIRECTORY where
        # permissions forbid writing.)
        return (exc.sqlite_errorname in ("SQLITE_CANTOPEN", "SQLITE_READONLY_DIRECTORY")
                and path.is_file()
                and os.access(path, os.R_OK) and not os.access(path.parent, os.W_OK)
                and not database_files(path)[1].exists())

    def _open_where_only_readable(self, busy_timeout: float) -> None:
        """Open the file to read it as it is: nothing can change it where nothing
        can be written (SQLite's immutable)."""
        if hasattr(self, "conn"):  # it opened, then could not read
            self.conn.close()
        self.conn = self._connect(f"{Path(self.path).resolve().as_uri()}?mode=ro&immutable=1",
                                  busy_timeout, "OFF", uri=True)
        self.read_only = True
        self._create_schema()

    def may_write(self) -> bool:
        """Whether this process may write to the database: not when it was opened only
        to read, nor when the file, or the folder SQLite writes the WAL into, is
        read-only to it (permissions, a read-only file system, an immutable file).
        A few system calls; a write may still fail (a full disk)."""
        if self.read_only:
            return False
        if self.path == ":memory:":
            return True
        database, wal, shared_memory = database_files(self.path)[:3]
        return os.access(database, os.W_OK) and (
            os.access(database.parent, os.W_OK)
            or all(os.access(beside, os.W_OK) for beside in (wal, shared_memory)))

    @staticmethod
    def _refuse_what_sqlite_would_mistake(path: str) -> None:
        if os.path.exists(path) and not os.path.isfile(path):
            # A device or a FIFO: SQLite would fail, but not before making a journal
            # beside it (/dev/null-journal).
            raise StoreError(f"cannot open {path}: it is not a file")
        if not os.path.lexists(path):
            # SQLite would take them for the new database's own, and a WAL that a
            # program still has open (the file deleted under it) would swallow writes.
            left = [str(beside) for beside in database_files(path)[1:] if beside.exists()]
            if left:
                raise StoreError(
                    f"cannot make {path}: {' and '.join(left)} of a deleted database "
                    "are still there (another program may have it open); remove them first")

    def _file_identity(self) -> tuple[int, int] | None:
        if self.path == ":memory:":
            return None
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return None
        return status.st_dev, status.st_ino

    def check_still_the_file(self) -> None:
        """StoreError if the file at the path is no longer the one opened (deleted, or
        replaced by another): what is written now would be lost. One stat call."""
        if self._file_identity() != self._identity:
            raise StoreError(f"{self.path} was deleted or replaced by another program while "
                             "cartui had it open: open it again")

    def _turn_to_wal(self) -> None:
        try:
            self.conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if not is_lock_wait(exc):
                raise
            # Another connection is writing with a rollback journal: a bulk import into
            # an empty log, which turns the file back to WAL when it is done. SQLite
            # refuses the change at once, without a busy wait; the file reads as it
            # is meanwhile, each read waiting for the writer's locks as any other.

    def _create_schema(self) -> None:
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(events)")}
        if columns and columns != _EXPECTED_COLUMNS:
            raise StoreError(f"{self.path} has an events table that is not cartui's "
                             f"(columns: {', '.join(sorted(columns))})")
        if not columns:
            self._refuse_another_programs_tables()
        names = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
        sql = SCHEMA_SQL
        if columns and self._has_stream_version_constraint():
            names.add(STREAM_VERSION_INDEX)  # the old table constraint does its work
            sql = LEGACY_SCHEMA_SQL
        if not columns or not _SCHEMA_OBJECTS <= names:
            self.conn.executescript("BEGIN IMMEDIATE;" + sql + "COMMIT;")

    def _refuse_another_programs_tables(self) -> None:
        """A file without `events` is cartui's to start only if it holds no table or
        view but SQLite's own: cartui makes `events` first, so any other is another
        program's (a `snapshots` of its own, say), which must not get cartui's."""
        theirs = [name for (name,) in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]
        if theirs:
            shown = ", ".join(theirs[:5]) + (", ..." if len(theirs) > 5 else "")  # one short line
            raise StoreError(f"{self.path} is a database of another program (tables: {shown}): "
                             "cartui keeps its events in a file of its own")

    def _has_stream_version_constraint(self) -> bool:
        """A table made before UNIQUE(stream_id, version) became an index: the
        constraint's index is one SQLite made itself (no SQL)."""
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'events' AND sql IS NULL").fetchone() is not None

    def close(self) -> None:
        self.conn.close()

    def is_own_file(self, path: str | Path) -> bool:
        """Whether `path` is this database's file, or the WAL, shared memory or
        journal beside it: a file that must never be written over."""
        if self.path == ":memory:":
            return False
        target = Path(path).resolve()
        for own in database_files(self.path):
            if target == own.resolve() or (target.exists() and own.exists()
                                           and os.path.samefile(target, own)):
                return True
        return False

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self):
        """One write transaction: all of it lands or none of it."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._write_refused(exc) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            # Also after a failed COMMIT (a full disk, say), which SQLite may
            # leave open: the connection must not stay inside the transaction.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _write_refused(self, exc: sqlite3.OperationalError) -> Exception:
        """What to raise when SQLite will not start or finish a write: a lock held
        beyond the busy timeout, or a file it cannot write (read-only, disk full)."""
        if is_lock_wait(exc):
            return StoreBusy(f"the database stayed locked by another writer: {exc}")
        return StoreError(f"cannot write to {self.path}: {exc}")

    @contextmanager
    def transaction(self):
        """One write transaction for bulk work (imports, seeding): `insert_rows` inside it."""
        with self._write() as conn:
            yield conn

    @contextmanager
    def bulk_transaction(self, rows_expected: int | None = None, event_ids_ascending: bool = False):
        """`transaction()` for loading many rows into an empty log (imports).

        Indexes whose inserts would be random are dropped and built again
        before the commit: sorting a million keys once costs a fraction of
        inserting them one by one. That is the event_id index, unless the
        caller expects the rows' event ids in ascending order (cartui's own
        time-ordered ids, exported): then each goes in at the index's end, and
        keeping it costs less than building it (a wrong guess costs speed, not
        correctness). The two led by stream_id take each row at its stream's
        place: for a load of up to 2,000,000 `rows_expected` they are kept,
        since their pages stay in a larger cache and a large import inserts
        while another process checks, which leaves it time for them; for a larger or
        unknown load they are built at the end too. recorded_at never
        decreases in position order, so its index only grows at its end and is
        kept. Yields True; until the end nothing may be looked up by event_id
        (nor by stream, for a large load), and a duplicate event_id fails the
        insert or the commit with ConcurrencyError. Into a log with events it
        is a plain transaction and yields False. All or nothing either way.

        While it loads an empty log, the file leaves WAL for a rollback
        journal if no other connection has it open: the rows go straight into
        the database file, where building the indexes reads them faster than
        out of the WAL, and the commit has no WAL of the whole log to copy
        back. The price: a reader that comes meanwhile waits for the load to
        end (or gives up after its busy timeout). Then back to WAL.
        """
        rollback_journal = self.head_position() == 0 and self._set_journal_mode("delete")
        try:
            with self._bulk_load(rows_expected, event_ids_ascending) as bulk:
                yield bulk
        finally:
            if rollback_journal:
                self._set_journal_mode("wal")  # failing that, the next open sets it

    def in_wal_mode(self) -> bool:
        """Whether other connections can read while this one writes. An in-memory
        database, or a file on a file system without WAL's shared memory, has a
        rollback journal instead, where a reader holds up a writer."""
        return self.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def _set_journal_mode(self, mode: str) -> bool:
        """Whether the file is in `mode` now; leaving WAL needs the file to ourselves."""
        try:
            return self.conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
        except sqlite3.OperationalError:  # another connection has the file open
            return False

    @contextmanager
    def _bulk_load(self, rows_expected: int | None, event_ids_ascending: bool):
        with self._write() as conn:
            if self.head_position() != 0:
                yield False
                return
            cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
            threads = conn.execute("PRAGMA threads").fetchone()[0]
            try:
                keep_stream_indexes = (rows_expected is not None
                                       and rows_expected <= _BULK_LOAD_STREAM_INDEX_ROWS)
                kept = {"events_recorded_at"}
                if keep_stream_indexes:
                    kept |= {STREAM_VERSION_INDEX, "events_stream_position"}
                if event_ids_ascending:
                    kept.add(EVENT_ID_INDEX)
                # Indexes that only grow at their ends need a small cache for the
                # pages they write to; the stream indexes want more.
                cache_kb = _BULK_LOAD_CACHE_KB if keep_stream_indexes else _BULK_LOAD_APPEND_ONLY_CACHE_KB
                conn.execute(f"PRAGMA cache_size = {-cache_kb}")
                left = self._indexes_left_for_the_end = {name: sql for name, sql in conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
                    "AND sql IS NOT NULL") if name not in kept}
                for name in left:
                    conn.execute(f'DROP INDEX "{name}"')
                yield True
                # CREATE INDEX sorts in runs the size of the cache: small runs sort in
                # the CPU's caches, and SQLite's helper threads sort some while it
                # reads on (a large cache made one slow sort of a million keys).
                conn.execute(f"PRAGMA cache_size = {-_INDEX_SORT_CACHE_KB}")
                conn.execute(f"PRAGMA threads = {_INDEX_SORT_THREADS}")
                for sql in left.values():
                    conn.execute(sql)
            except sqlite3.IntegrityError as exc:
                raise ConcurrencyError(f"the rows break a unique index: {exc}") from None
            finally:
                self._indexes_left_for_the_end = {}
                conn.execute(f"PRAGMA cache_size = {cache_size}")
                conn.execute(f"PRAGMA threads = {threads}")

    # -- writing ---------------------------------------------------------------------------

    def append(self, stream_id: str, events: Sequence[NewEvent], expected_version: int | None = ANY,
               snapshot: tuple[int, str] | None = None) -> list[RecordedEvent]:
        """Append events to one stream in one transaction: all land or none.

        `expected_version`: the stream's version the events were decided on
        (`NO_STREAM` = 0: it must not exist yet), or `ANY`. A stale expected
        version raises ConcurrencyError and writes nothing. If every event's
        event_id is already stored the append is a no-op (a retried command).
        `snapshot` = (version, state JSON) is stored in the same transaction.
        """
        # The fast path checks nothing up front: the INSERT itself refuses an
        # expected version that is not the stream's last (_INSERT_ONE_SQL) and the
        # event_id index refuses a duplicate.
        try:
            if len(events) == 1 and expected_version is not ANY and snapshot is None:
                # One statement is its own transaction (a write statement takes the
                # write lock before it reads, like BEGIN IMMEDIATE): a single
                # command's append costs one round trip to SQLite.
                try:
                    recorded = [self._insert_one(stream_id, events[0], expected_version,
                                                 self._now())]
                except sqlite3.OperationalError as exc:
                    raise self._write_refused(exc) from None
                return recorded
            with self._write():
                return self._insert_new(stream_id, events, expected_version, snapshot)
        except _VersionRefused as exc:
            conflict = exc
        except sqlite3.IntegrityError as exc:
            conflict = ConcurrencyError(
                f"stream {stream_id!r} moved on from version {expected_version}: {exc}")
        if events and len(self.stored_event_ids([e.event_id for e in events])) == len(events):
            return []
        raise conflict from None

    def _insert_new(self, stream_id: str, events: Sequence[NewEvent],
                    expected_version: int | None, snapshot: tuple[int, str] | None
                    ) -> list[RecordedEvent]:
        now = self._now()
        if expected_version is not ANY and len(events) == 1:
            recorded = [self._insert_one(stream_id, events[0], expected_version, now)]
        else:
            recorded = self._insert_many(stream_id, events, expected_version, now)
        if snapshot is not None:
            version, state = snapshot
            self.conn.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?)",
                              (stream_id, version, recorded[-1].position, SNAPSHOT_STATE_SCHEMA, state))
        return recorded

    def _insert_one(self, stream_id: str, e: NewEvent, expected_version: int, now: str
                    ) -> RecordedEvent:
        """A single command's event in one statement: the head, the version check
        and the insert, for the price of the insert alone."""
        given = normalize_timestamp(e.recorded_at) if e.recorded_at else now
        metadata = e.metadata_json()
        args = (stream_id, stream_id, expected_version, expected_version + 1, e.type,
                e.schema_version, e.data, metadata, given, given)
        try:
            position = self.conn.execute(_INSERT_ONE_SQL, args).lastrowid
            recorded_at = given
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname != "SQLITE_CONSTRAINT_NOTNULL":
                raise
            # The head was recorded later than `given` (another process's clock),
            # or the expected version is not the stream's last: see _INSERT_ONE_SQL.
            try:
                (position, recorded_at), = self.conn.execute(_INSERT_ONE_AT_HEAD_TIME_SQL,
                                                             args[:-1]).fetchall()
            except sqlite3.IntegrityError as exc:
                if exc.sqlite_errorname != "SQLITE_CONSTRAINT_NOTNULL":
                    raise
                raise _VersionRefused(f"stream {stream_id!r} is at version "
                                      f"{self.stream_version(stream_id)}, expected "
                                      f"{expected_version}") from None
        # tuple.__new__ skips the named tuple's own __new__, a Python function
        # that costs as much again: every command pays it.
        return tuple.__new__(RecordedEvent, (position, stream_id, expected_version + 1, e.type,
                                             e.schema_version, e.data, metadata, recorded_at))

    def _insert_many(self, stream_id: str, events: Sequence[NewEvent],
                     expected_version: int | None, now: str) -> list[RecordedEvent]:
        stored = self.stream_version(stream_id)
        current = stored if expected_version is ANY else expected_version
        if current != stored:
            raise _VersionRefused(f"stream {stream_id!r} is at version {stored}, expected {current}")
        head, head_time = self.head_position(), self.head_recorded_at()
        recorded = []
        for i, e in enumerate(events, start=1):
            # recorded_at never decreases in position order, whatever the clock says;
            # a given time is made fixed-width UTC first, so that text order is time order.
            given = normalize_timestamp(e.recorded_at) if e.recorded_at else None
            head_time = max(given or now, head_time or "")
            recorded.append(RecordedEvent(head + i, stream_id, current + i, e.type, e.schema_version,
                                          e.data, e.metadata_json(), head_time))
        self.conn.executemany(f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                              recorded)
        return recorded

    def insert_rows(self, rows: Iterable[RecordedEvent | tuple]) -> None:
        """Insert fully formed rows (positions and versions decided by the caller).

        Must run inside `transaction()`; the constraints still refuse a
        version that does not continue its stream. A few thousand rows go in
        per statement: cheaper than a statement per row, and SQLite works
        through them without holding the GIL, so another thread can run.
        """
        chunk: list[tuple] = []
        try:
            for row in rows:
                chunk.append(row)
                if len(chunk) == self._rows_per_insert:
                    self._insert_chunk(chunk)
                    chunk = []
            if chunk:
                self._insert_chunk(chunk)
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyError(f"the stream moved on while appending: {exc}") from None

    @cached_property
    def _rows_per_insert(self) -> int:
        return max(1, min(4000, self.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 8))

    def _insert_chunk(self, chunk: list[tuple]) -> None:
        self.conn.execute(_insert_rows_sql(len(chunk)), list(chain.from_iterable(chunk)))

    def save_snapshot(self, stream_id: str, version: int, state: str) -> None:
        """Store a stream's state at one of its versions (derived data)."""
        with self._write():
            self.conn.execute(
                "INSERT OR REPLACE INTO snapshots SELECT stream_id, version, position, ?, ? "
                "FROM events WHERE stream_id = ? AND version = ?",
                (SNAPSHOT_STATE_SCHEMA, state, stream_id, version))

    def drop_snapshots(self) -> None:
        with self._write():
            self.conn.execute("DELETE FROM snapshots")

    # -- reading ---------------------------------------------------------------------------

    @contextmanager
    def read_transaction(self):
        """Reads inside see the log as it stood at the first of them, whatever
        other connections commit meanwhile (WAL: a writer does not wait for it)."""
        self.conn.execute("BEGIN")
        try:
            yield self
        finally:
            self.conn.execute("COMMIT")  # ends the read; nothing was written

    def stored_event_ids(self, event_ids: Iterable[str]) -> set[str]:
        """Which of these event ids are stored."""
        return self._stored_values(EVENT_ID_EXPR, event_ids)

    def event_ids_unique(self) -> bool:
        """Whether no event_id is stored twice, with the index that keeps it so in
        place: always, but during a bulk load that left that index for its end,
        which builds it now (False when a repeated id stops it)."""
        sql = self._indexes_left_for_the_end.get(EVENT_ID_INDEX)
        if sql is None:
            return True
        try:
            self.conn.execute(sql)
        except sqlite3.IntegrityError:
            return False
        del self._indexes_left_for_the_end[EVENT_ID_INDEX]
        return True

    def streams_with_events(self, stream_ids: Iterable[str]) -> set[str]:
        """Which of these streams hold an event (the others are new)."""
        return self._stored_values("stream_id", stream_ids)

    def _stored_values(self, indexed: str, values: Iterable[str]) -> set[str]:
        """The values some row holds in `indexed`, a column or expression with an
        index: one query, one index lookup each."""
        return {row[0] for row in self.conn.execute(
            f"SELECT value FROM json_each(?) WHERE EXISTS "
            f"(SELECT 1 FROM events WHERE {indexed} = value)",
            (orjson.dumps(list(values)).decode(),))}

    def stream_version(self, stream_id: str) -> int:
        return self.conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?", (stream_id,)
        ).fetchone()[0]

    def first_position_before_the_log(self, stream_id: str | None = None) -> int | None:
        """A row at position 0 or below (another program wrote it; cartui numbers from
        1 and reads from there): the first such position, of one stream or any."""
        sql, args = "SELECT MIN(position) FROM events WHERE position < 1", ()
        if stream_id is not None:
            sql, args = sql + " AND stream_id = ?", (stream_id,)
        return self.conn.execute(sql, args).fetchone()[0]

    def head_position(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()[0]

    def head_recorded_at(self) -> str | None:
        """The time an append must not go below: the latest recorded (see _HEAD_TIME_SQL)."""
        rows = all_rows_of(self.conn, _HEAD_TIME_SQL)
        return rows[0][0] if rows else None

    def data_version(self) -> int:
        """Changes whenever another connection commits: a microsecond "anything new?" check."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def get(self, position: int) -> RecordedEvent | None:
        rows = all_rows_of(self.conn, f"SELECT {_READ_COLUMNS} FROM events WHERE position = ?",
                           (position,))
        return RecordedEvent(*rows[0]) if rows else None

    def read_stream(self, stream_id: str, *, after_position: int = 0,
                    up_to_position: int | None = None) -> Iterator[RecordedEvent]:
        """One stream's events in order, optionally only those after a position (a
        snapshot's) and at or before another: one range of its index, whatever the
        rows' versions hold (another program's may hold 1.5)."""
        sql = (f"SELECT {_READ_COLUMNS} FROM events INDEXED BY events_stream_position "
               "WHERE stream_id = ? AND position > ? AND position <= ? ORDER BY position")
        up_to = _MAX_POSITION if up_to_position is None else up_to_position
        args = (stream_id, after_position, up_to)
        for row in rows_of(self.conn, sql, args):
            yield RecordedEvent(*row)

    def read_all(self, from_position: int = 1, *, limit: int | None = None,
                 stream_id: str | None = None, up_to_position: int | None = None
                 ) -> Iterator[RecordedEvent]:
        """Every event from a position (inclusive), in position order."""
        where, args = ["position >= ?"], [from_position]
        if stream_id is not None:
            where.append("stream_id = ?")
            args.append(stream_id)
        if up_to_position is not None:
            where.append("position <= ?")
            args.append(up_to_position)
        sql = f"SELECT {_READ_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY position"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        for row in rows_of(self.conn, sql, args):
            yield RecordedEvent(*row)

    def read_range(self, first: int, last: int) -> list[RecordedEvent]:
        """Events with first <= position <= last: a page of the global log."""
        return [RecordedEvent(*r) for r in all_rows_of(
            self.conn, f"SELECT {_READ_COLUMNS} FROM events WHERE position BETWEEN ? AND ? "
            "ORDER BY position", (first, last))]

    def position_at_time(self, moment: str) -> int:
        """The largest position recorded at or before `moment` (fixed-width UTC text); 0 if none.

        A row another program wrote may hold text that is no time and sorts before
        it ("12345"): such a row was recorded at no time, so it is passed over."""
        position = self.conn.execute("SELECT MAX(position) FROM events WHERE recorded_at <= ?",
                                     (moment,)).fetchone()[0]
        while position and not is_a_time(self.recorded_at(position)):
            position = self.conn.execute(
                "SELECT MAX(position) FROM events WHERE recorded_at <= ? AND position < ?",
                (moment, position)).fetchone()[0]
        return position or 0

    def recorded_at(self, position: int) -> str | None:
        rows = all_rows_of(self.conn, f"SELECT {text_of('recorded_at')} FROM events "
                           "WHERE position = ?", (position,))
        return rows[0][0] if rows else None

    def streams(self) -> list[StreamInfo]:
        """Every stream with its version and where it starts and ends in the log."""
        return [StreamInfo(*r) for r in all_rows_of(
            self.conn, f"SELECT {text_of('stream_id')}, MAX(version), MIN(position), "
            f"MAX(position), {text_of('MAX(recorded_at)')} FROM events GROUP BY stream_id "
            "ORDER BY MIN(position)")]

    def stream_exists(self, stream_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM events WHERE stream_id = ? LIMIT 1",
                                 (stream_id,)).fetchone() is not None

    def latest_snapshot(self, stream_id: str, up_to_position: int | None = None
                        ) -> tuple[int, int, str] | None:
        """(version, position, state JSON) of the newest usable snapshot, if any."""
        sql = ("SELECT version, position, state FROM snapshots WHERE stream_id = ? "
               "AND state_schema = ?")
        args: list = [stream_id, SNAPSHOT_STATE_SCHEMA]
        if up_to_position is not None:
            sql += " AND position <= ?"
            args.append(up_to_position)
        return self.conn.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()


# A single event in one statement. The position is NULL, which SQLite makes one
# more than the largest (rows are never deleted, so no number comes twice). The
# version is NULL, which NOT NULL refuses, when the expected version is not the
# stream's last (UNIQUE would refuse one behind, but not one ahead, nor a version
# under a gap that another program left: 3 when it wrote 4 after 2). recorded_at
# is NULL too when the head was recorded later than the given time
# (_HEAD_TIME): _INSERT_ONE_AT_HEAD_TIME_SQL then
# raises the time to the head's and returns it. Usually the time stands and the
# position is the cursor's lastrowid: RETURNING would cost as much as the rest
# of the statement's work.
_NEXT_POSITION_AND_VERSION = """
    NULL, ?,
    CASE WHEN (SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?) = ?
         THEN ? END,
    ?, ?, ?, ?,"""
# The latest recorded_at that is a time: text order is time order for the
# store's fixed-width UTC text (recorded_at never decreases, so it is the head's),
# and a row another program wrote may hold any text, which must not become the
# time of every later append ("garbage" sorts after every date, "2026-13-45T10:00Z"
# after every day of 2026). It walks the recorded_at index down from its top, which
# holds a time but in such a log; a time in another form is taken in the store's.
_HEAD_TIME_SQL = (
    f"SELECT {STORE_FORM_OF_REAL_TIME} FROM events "
    "WHERE recorded_at <= '9999-12-31T23:59:59.999999Z' "
    f"AND {REAL_TIME} ORDER BY recorded_at DESC LIMIT 1")
_HEAD_TIME = f"COALESCE(({_HEAD_TIME_SQL}), '')"
_INSERT_ONE_SQL = f"""
INSERT INTO events ({_COLUMNS}) VALUES ({_NEXT_POSITION_AND_VERSION}
    CASE WHEN ? >= {_HEAD_TIME} THEN ? END)
"""
_INSERT_ONE_AT_HEAD_TIME_SQL = f"""
INSERT INTO events ({_COLUMNS}) VALUES ({_NEXT_POSITION_AND_VERSION} MAX(?, {_HEAD_TIME}))
RETURNING position, recorded_at
"""


@lru_cache(maxsize=8)
def _insert_rows_sql(count: int) -> str:
    """INSERT of `count` rows in one statement (the same text object each time:
    sqlite3 finds its prepared statement by the text)."""
    return f"INSERT INTO events ({_COLUMNS}) VALUES " + ",".join(["(?,?,?,?,?,?,?,?)"] * count)
