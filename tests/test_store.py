"""The SQLite event store against its contract in DESIGN.md: the append-only
log, optimistic concurrency, atomic appends, timestamps, robustness against
foreign or damaged files, change detection and snapshots."""

import os
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartui.domain import fold, initial_state
from cartui.history import History
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import (
    ANY, NO_STREAM, ConcurrencyError, EventStore, NewEvent, StoreBusy, StoreError, format_timestamp,
    is_unreadable_database,
)
from cartui.store import timestamps
from cartui.store.timestamps import utc_now_text

T0 = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
CATALOG = load_catalog()
SKU_A, SKU_B = list(CATALOG)[:2]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def created(event_id: str, customer: str | None = None, **kw) -> NewEvent:
    return NewEvent("CartCreated", orjson.dumps({"customer": customer}).decode(), event_id, **kw)


def added(event_id: str, sku: str = SKU_A, quantity: int = 1, **kw) -> NewEvent:
    data = {"sku": sku, "name": CATALOG[sku].name, "unit_price_cents": CATALOG[sku].price_cents,
            "quantity": quantity}
    return NewEvent("ItemAdded", orjson.dumps(data).decode(), event_id, schema_version=2, **kw)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "events.db"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(db, clock):
    with EventStore(db, clock=clock) as s:
        yield s


def raw(db) -> sqlite3.Connection:
    """A plain sqlite3 client on the same file, as a stray tool would be."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def count_rows(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


# -- writing and reading back ------------------------------------------------------------------

def test_appended_rows_read_back_exactly_as_stored(db, store):
    odd_json = '{"customer":  "Zoë ☕ \\"the\\" customer"}'  # spacing and escapes kept as written
    appended = store.append("c1", [
        NewEvent("CartCreated", odd_json, "e1", correlation_id="k1", causation_id="k0"),
        added("e2", correlation_id="k1", causation_id="k1"),
    ], expected_version=NO_STREAM)

    assert [e.data for e in appended][0] == odd_json
    assert list(store.read_stream("c1")) == appended
    assert list(store.read_all()) == appended
    assert [store.get(1), store.get(2), store.get(3)] == [*appended, None]
    assert appended[0].metadata_dict() == {"event_id": "e1", "correlation_id": "k1",
                                           "causation_id": "k0"}
    assert appended[1].metadata_dict()["causation_id"] == "k1"
    store.close()
    with EventStore(db) as reopened:  # durable: another process sees the same rows
        assert list(reopened.read_all()) == appended


def test_positions_are_global_and_versions_count_per_stream(store):
    store.append("a", [created("e1")], NO_STREAM)
    store.append("b", [created("e2")], NO_STREAM)
    store.append("a", [added("e3"), added("e4", SKU_B)], 1)
    rows = list(store.read_all())
    assert [(r.position, r.stream_id, r.version) for r in rows] == [
        (1, "a", 1), (2, "b", 1), (3, "a", 2), (4, "a", 3)]
    assert (store.head_position(), store.stream_version("a"), store.stream_version("b"),
            store.stream_version("nope")) == (4, 3, 1, 0)
    assert [(s.stream_id, s.version, s.first_position, s.last_position) for s in store.streams()] == [
        ("a", 3, 1, 4), ("b", 1, 2, 2)]
    assert [r.position for r in store.read_all(2, limit=2)] == [2, 3]
    assert [r.position for r in store.read_all(1, stream_id="a", up_to_position=3)] == [1, 3]
    assert [r.position for r in store.read_range(2, 3)] == [2, 3]
    assert [r.version for r in store.read_stream("a", after_position=1)] == [2, 3]
    assert [r.version for r in store.read_stream("a", up_to_position=3)] == [1, 2]


# -- optimistic concurrency -------------------------------------------------------------------

def test_a_stale_expected_version_fails_and_writes_nothing(db, store):
    store.append("c1", [created("e1"), added("e2")], NO_STREAM)
    with pytest.raises(ConcurrencyError) as info:
        store.append("c1", [added("e3"), added("e4", SKU_B)], expected_version=1)
    assert "\n" not in str(info.value)
    assert count_rows(db) == 2
    assert store.stored_event_ids(["e3", "e4"]) == set()
    assert store.append("c1", [added("e3")], expected_version=2)[0].version == 3


def test_an_expected_version_ahead_of_the_stream_fails_and_leaves_no_gap(db, store):
    store.append("c1", [created("e1")], NO_STREAM)
    with pytest.raises(ConcurrencyError):
        store.append("c1", [added("e2")], expected_version=5)
    with pytest.raises(ConcurrencyError):
        store.append("new", [created("e3")], expected_version=1)
    assert count_rows(db) == 1


def test_no_stream_fails_on_an_existing_stream(db, store):
    store.append("c1", [created("e1")], NO_STREAM)
    with pytest.raises(ConcurrencyError):
        store.append("c1", [created("e2")], NO_STREAM)
    assert count_rows(db) == 1


def test_any_appends_whatever_the_version(store):
    store.append("c1", [created("e1")], ANY)
    store.append("c1", [added("e2")], ANY)
    store.append("c2", [created("e3")])
    assert [(r.stream_id, r.version) for r in store.read_all()] == [("c1", 1), ("c1", 2), ("c2", 1)]


def test_a_multi_event_append_is_all_or_nothing(db, store):
    store.append("c1", [created("e1")], NO_STREAM)
    # Make the database itself refuse the second event of the batch, mid-insert.
    with raw(db) as conn:
        conn.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.type = 'Boom' "
                     "BEGIN SELECT RAISE(ABORT, 'boom refused'); END")
    with pytest.raises(Exception, match="boom refused"):
        store.append("c1", [added("e2"), NewEvent("Boom", "{}", "e3"), added("e4")], expected_version=1)
    assert count_rows(db) == 1
    assert not store.conn.in_transaction
    # Two events with the same id in one batch: the second one fails, the first is undone too.
    with pytest.raises(ConcurrencyError):
        store.append("c1", [added("e5"), added("e5", SKU_B)], expected_version=1)
    assert count_rows(db) == 1
    assert store.append("c1", [added("e6")], expected_version=1)[0].position == 2


def test_a_snapshot_appended_with_events_lands_with_them_or_not_at_all(store):
    store.append("c1", [created("e1")], NO_STREAM, snapshot=(1, '{"s": 1}'))
    assert store.latest_snapshot("c1") == (1, 1, '{"s": 1}')
    with pytest.raises(ConcurrencyError):
        store.append("c1", [added("e2")], NO_STREAM, snapshot=(2, '{"s": 2}'))
    assert store.latest_snapshot("c1") == (1, 1, '{"s": 1}')


def test_a_duplicate_event_id_append_is_a_no_op(db, store):
    events = [created("e1"), added("e2")]
    first = store.append("c1", events, NO_STREAM)
    assert store.append("c1", events, NO_STREAM) == []  # the same command, retried
    assert store.append("c1", events, ANY) == []
    assert store.append("c1", [events[1]], ANY) == []
    assert list(store.read_all()) == first
    assert count_rows(db) == 2


def test_a_writer_that_never_lets_go_is_a_concurrency_error(db):
    with EventStore(db, busy_timeout=0.05) as store:
        locker = raw(db)
        locker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ConcurrencyError, match="locked"):
                store.append("c1", [created("e1")], NO_STREAM)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert store.append("c1", [created("e1")], NO_STREAM)[0].position == 1


# -- the log is append-only -------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    "UPDATE events SET data = '{\"customer\": \"mallory\"}' WHERE position = 1",
    "UPDATE events SET recorded_at = '2000-01-01T00:00:00.000000Z'",
    "DELETE FROM events WHERE position = 1",
    "DELETE FROM events",
])
def test_update_and_delete_are_refused_even_to_a_plain_sqlite_client(db, store, sql):
    before = store.append("c1", [created("e1", "ada")], NO_STREAM)
    with raw(db) as conn, pytest.raises(sqlite3.DatabaseError, match="immutable"):
        conn.execute(sql)
    assert list(store.read_all()) == before


# -- timestamps -------------------------------------------------------------------------------

def test_recorded_at_never_decreases_when_the_clock_goes_backwards(store, clock):
    store.append("c1", [created("e1")], NO_STREAM)
    clock.now = T0 - timedelta(hours=1)
    store.append("c1", [added("e2"), added("e3", SKU_B)], 1)
    clock.now = T0 + timedelta(microseconds=1)
    store.append("c1", [added("e4")], 3)
    stamps = [r.recorded_at for r in store.read_all()]
    assert stamps == [format_timestamp(T0)] * 3 + [format_timestamp(T0 + timedelta(microseconds=1))]
    assert stamps[0] == "2026-01-05T10:00:00.000000Z"  # fixed width: text order is time order


# Any instant from 1970 to a second before the end of year 9999, in nanoseconds.
@given(st.lists(st.integers(min_value=0, max_value=253402300798 * 10 ** 9 - 1), min_size=1, max_size=20))
def test_the_system_clocks_text_is_the_stored_form_of_its_instant(moments_ns):
    """utc_now_text formats a second once and reuses it: it must still agree with
    format_timestamp at every instant, in any order, across second boundaries."""
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    with pytest.MonkeyPatch.context() as patch:
        for ns in moments_ns + [n + 10 ** 9 for n in moments_ns] + moments_ns:
            patch.setattr(timestamps.time, "time_ns", lambda: ns)
            assert utc_now_text() == format_timestamp(epoch + timedelta(microseconds=ns // 1000))


def test_a_store_on_the_system_clock_records_the_time_of_the_append(db):
    with EventStore(db) as store:
        before = datetime.now(timezone.utc)
        recorded = store.append("c1", [created("e1")], NO_STREAM)[0].recorded_at
        after = datetime.now(timezone.utc)
    assert format_timestamp(before) <= recorded <= format_timestamp(after)

def test_position_at_time_boundaries(store, clock):
    for i in range(3):
        clock.now = T0 + timedelta(seconds=10 * i)
        store.append(f"c{i}", [created(f"e{i}")], NO_STREAM)

    def at(delta: float) -> int:
        return store.position_at_time(format_timestamp(T0 + timedelta(seconds=delta)))

    assert at(-0.000001) == 0  # before the first event: the empty world
    assert at(0) == 1  # exactly on the first
    assert at(5) == 1  # between the first and the second
    assert at(10) == 2
    assert at(19.999999) == 2
    assert at(20) == 3
    assert at(3600) == 3  # after the last
    assert store.recorded_at(2) == format_timestamp(T0 + timedelta(seconds=10))


# -- the file ---------------------------------------------------------------------------------

def test_wal_and_full_sync_are_on_by_default(db, store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with EventStore(db, synchronous="NORMAL") as fast:
        assert fast.conn.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_a_file_of_random_bytes_is_a_store_error_and_left_untouched(db):
    junk = os.urandom(8192)
    db.write_bytes(junk)
    with pytest.raises(StoreError) as info:
        EventStore(db)
    message = str(info.value)
    assert str(db) in message and "\n" not in message
    assert db.read_bytes() == junk


def test_a_sqlite_file_with_a_foreign_events_table_is_a_store_error(db):
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT, happened_at TEXT)")
        conn.execute("INSERT INTO events (what) VALUES ('their data')")
    with pytest.raises(StoreError) as info:
        EventStore(db)
    assert "events" in str(info.value) and "\n" not in str(info.value)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT what FROM events").fetchall() == [("their data",)]


def test_rows_that_cannot_be_decoded_crash_no_reader(db, store):
    service = CartService(store, CATALOG)
    service.create_cart("c1", "ada")
    with raw(db) as conn:  # rows a stray client wrote: a bad type, then bad JSON
        insert = ("INSERT INTO events (position, stream_id, version, type, schema_version, data, "
                  "metadata, recorded_at) VALUES (?, 'c1', ?, ?, ?, ?, ?, '2026-01-05T10:00:01.000000Z')")
        conn.execute(insert, (2, 2, "CartExploded", 1, "{}", '{"event_id": "x1"}'))
        conn.execute(insert, (3, 3, "ItemAdded", 2, '{"sku": "', '{"event_id": "x2"}'))
    store.append("c1", [added("e4", quantity=2)], expected_version=3)  # and a good one after

    assert [r.type for r in store.read_all()] == ["CartCreated", "CartExploded", "ItemAdded", "ItemAdded"]
    loaded = service.load("c1")
    assert [(u.position, "\n" in str(u)) for u in loaded.undecodable] == [(2, False), (3, False)]
    assert "unknown event type" in loaded.undecodable[0].reason
    assert "JSON" in loaded.undecodable[1].reason
    # The good events still count, and the bad ones keep their version numbers.
    assert loaded.state.customer == "ada"
    assert loaded.state.lines[SKU_A].quantity == 2
    assert loaded.state.version == 4
    assert loaded.as_of_position == 4
    assert [(s.cart_id, s.version) for s in History(store, service).cart_summaries()] == [("c1", 4)]


# -- change detection -------------------------------------------------------------------------

def test_data_version_moves_when_another_connection_commits_and_not_for_our_own_work(db, store):
    store.append("c1", [created("e1")], NO_STREAM)
    seen = store.data_version()
    list(store.read_all())
    store.head_position()
    assert store.data_version() == seen  # our reads
    store.append("c1", [added("e2")], 1)
    assert store.data_version() == seen  # our own commit: nothing *new* to us
    with EventStore(db) as other:
        other.append("c1", [added("e3")], 2)
    assert store.data_version() != seen
    moved = store.data_version()
    assert store.data_version() == moved


def test_a_read_transaction_sees_the_log_as_it_stood_while_another_connection_appends(db, store):
    store.append("c1", [created("e1")], NO_STREAM)
    with EventStore(db) as other:
        with store.read_transaction():
            assert store.head_position() == 1
            other.append("c1", [added("e2")], 1)  # the writer does not wait for the reader
            assert store.head_position() == 1
            assert store.stored_event_ids(["e1", "e2"]) == {"e1"}
        assert store.head_position() == 2


def test_streams_with_events_names_the_stored_ones(store):
    store.append("c1", [created("e1")], NO_STREAM)
    store.append("c 2", [created("e2")], NO_STREAM)
    assert store.streams_with_events(["c1", "c 2", "c3", 'c"4']) == {"c1", "c 2"}
    assert store.streams_with_events([]) == set()


# -- snapshots and loading ------------------------------------------------------------------

def history(service: CartService) -> None:
    """Nine events on c1, one on c2 in between."""
    service.create_cart("c1", "ada")
    service.add_item("c1", SKU_A, 2)
    service.create_cart("c2")
    service.add_item("c1", SKU_B, 1)
    service.change_quantity("c1", SKU_A, 5)
    service.add_item("c1", SKU_A, 1)
    service.remove_item("c1", SKU_B)
    service.add_item("c1", SKU_B, 3)
    service.change_quantity("c1", SKU_B, 4)
    service.check_out("c1")


def replay(store: EventStore, service: CartService, cart_id: str, up_to: int | None = None):
    rows = store.read_all(1, stream_id=cart_id, up_to_position=up_to)
    return fold(initial_state(cart_id), (service.decode(r) for r in rows))


def test_snapshots_can_be_dropped_and_load_gives_the_same_state(store):
    service = CartService(store, CATALOG, snapshot_every=3)
    history(service)
    assert store.latest_snapshot("c1")[0] == 9  # versions 3, 6 and 9 were snapshotted
    with_snapshots = [service.load("c1", at_position=p).state for p in range(11)]
    store.drop_snapshots()
    assert store.latest_snapshot("c1") is None
    without = [service.load("c1", at_position=p).state for p in range(11)]
    assert with_snapshots == without == [replay(store, service, "c1", p) for p in range(11)]
    assert without[-1].status == "checked_out"


def test_load_at_a_position_uses_only_snapshots_at_or_before_it(store):
    service = CartService(store, CATALOG, snapshot_every=1000)
    history(service)  # c1: versions 1..9 at positions 1, 2, 4..10
    # A snapshot the events would never produce tells whether load used it.
    marked = replay(store, service, "c1", 6)
    marker = orjson.dumps({**marked.to_dict(), "customer": "FROM SNAPSHOT"}).decode()
    store.save_snapshot("c1", 5, marker)  # version 5 is at position 6
    assert store.latest_snapshot("c1") == (5, 6, marker)

    assert service.load("c1", at_position=5).state == replay(store, service, "c1", 5)
    assert service.load("c1", at_position=6).state.customer == "FROM SNAPSHOT"
    assert service.load("c1", at_position=8).state.customer == "FROM SNAPSHOT"
    assert service.load("c1", at_position=8).state.lines == replay(store, service, "c1", 8).lines
    store.drop_snapshots()
    assert service.load("c1", at_position=8).state == replay(store, service, "c1", 8)


def test_load_reports_a_position_its_state_matches_while_another_process_writes(db, store):
    service = CartService(store, CATALOG)
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 1)
    other = EventStore(db)
    read_stream = store.read_stream

    def read_stream_then_other_appends(*args, **kwargs):
        yield from read_stream(*args, **kwargs)
        other.append("c1", [added("late", SKU_B)], ANY)

    store.read_stream = read_stream_then_other_appends
    try:
        loaded = service.load("c1")
    finally:
        del store.read_stream
        other.close()
    assert loaded.state == replay(store, service, "c1", loaded.as_of_position)
    assert store.head_position() == 3


def test_a_single_event_from_a_clock_behind_the_head_is_recorded_at_the_heads_time(db, store,
                                                                                    clock):
    # Another process, whose clock runs an hour ahead, appended last.
    with EventStore(db, clock=lambda: T0 + timedelta(hours=1)) as ahead:
        ahead.append("c1", [created("e1")], NO_STREAM)
    recorded = store.append("c1", [added("e2")], expected_version=1)
    assert [r.recorded_at for r in recorded] == ["2026-01-05T11:00:00.000000Z"]
    assert list(store.read_all())[-1] == recorded[0]
    with pytest.raises(ConcurrencyError):  # and the version check still holds on that path
        store.append("c1", [added("e3")], expected_version=5)
    assert store.head_position() == 2


def test_a_given_recorded_at_is_stored_fixed_width_utc_and_never_goes_back(store, clock):
    clock.now = T0 + timedelta(milliseconds=500)
    store.append("c1", [created("e1", recorded_at="2026-01-05T11:00:00.25+01:00")], NO_STREAM)
    store.append("c1", [added("e2", recorded_at="2026-01-05T10:00:00Z")], ANY)  # before the head
    store.append("c1", [added("e3", recorded_at="2026-01-05T10:00:01Z")], ANY)
    assert [r.recorded_at for r in store.read_all()] == [
        "2026-01-05T10:00:00.250000Z", "2026-01-05T10:00:00.250000Z", "2026-01-05T10:00:01.000000Z"]
    assert store.position_at_time("2026-01-05T10:00:00.999999Z") == 2


def test_a_sqlite_database_of_another_program_is_a_store_error_and_left_untouched(db):
    with raw(db) as conn:
        conn.execute("CREATE TABLE foo (x)")
        conn.execute("INSERT INTO foo VALUES ('their data')")
    with pytest.raises(StoreError) as info:
        EventStore(db)
    assert str(info.value) == (f"{db} is a database of another program (tables: foo): "
                               "cartui keeps its events in a file of its own")
    with raw(db) as conn:
        assert conn.execute("SELECT type, name FROM sqlite_master").fetchall() == [("table", "foo")]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.parametrize("sql", ["CREATE TABLE snapshots (id INTEGER PRIMARY KEY, blob TEXT)",
                                 "CREATE VIEW v AS SELECT 1"])
def test_a_database_with_only_a_table_named_like_cartuis_or_a_view_is_another_programs(db, sql):
    with raw(db) as conn:
        conn.execute(sql)
    with pytest.raises(StoreError, match="is a database of another program"):
        EventStore(db)


@pytest.mark.parametrize("tables", ["none", "SQLite's own"])
def test_a_sqlite_database_without_tables_of_another_program_is_cartuis(db, tables):
    with raw(db) as conn:
        conn.execute("PRAGMA user_version = 7")  # a database file, with no table in it
        if tables != "none":
            conn.execute("CREATE TABLE t (x)")
            conn.execute("CREATE INDEX t_x ON t (x)")
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("ANALYZE")  # sqlite_stat1, SQLite's own
            conn.execute("DROP TABLE t")
    with EventStore(db) as store:
        store.append("c1", [created("e1")], NO_STREAM)
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert count_rows(db) == 1


def test_a_sqlite_file_that_is_not_ours_is_not_switched_to_wal(db):
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError):
        EventStore(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.parametrize("dropped", [
    ["INDEX events_stream_position"], ["INDEX events_recorded_at"], ["TABLE snapshots"],
    ["INDEX events_stream_position", "INDEX events_recorded_at", "TABLE snapshots"],
])
def test_dropped_derived_objects_come_back_when_the_store_is_opened(db, store, dropped):
    service = CartService(store, CATALOG)
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 2)
    store.close()
    with raw(db) as conn:  # derived objects: someone may drop them
        for what in dropped:
            conn.execute(f"DROP {what}")
    with EventStore(db) as reopened:
        loaded = CartService(reopened, CATALOG).load("c1", at_position=2)
        assert loaded.state.lines[SKU_A].quantity == 2
        assert reopened.position_at_time("2999-01-01T00:00:00.000000Z") == 2


# -- UNIQUE(stream_id, version) ---------------------------------------------------------------

# `events` as cartui made it before UNIQUE(stream_id, version) became an index.
OLD_EVENTS_TABLE = """
CREATE TABLE events (
    position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1), type TEXT NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL, metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL, UNIQUE (stream_id, version))
"""


def indexes_of_events(db) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")}


def test_a_stream_version_is_stored_once_even_by_a_plain_sqlite_client(db, store):
    store.append("c1", [created("e1")], NO_STREAM)
    with raw(db) as conn, pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO events VALUES (2, 'c1', 1, 'CartCreated', 1, '{}', "
                     "'{\"event_id\": \"e2\"}', '2026-01-05T10:00:00.000000Z')")
    with pytest.raises(ConcurrencyError):
        store.append("c1", [created("e3")], NO_STREAM)
    store.close()
    with raw(db) as conn:  # an index can be dropped: opening the store makes it again
        conn.execute("DROP INDEX events_stream_version")
    with EventStore(db) as reopened, pytest.raises(ConcurrencyError):
        reopened.append("c1", [created("e4")], NO_STREAM)


def bulk_row(position: int) -> tuple:
    return (position, f"c{position}", 1, "CartCreated", 1, '{"customer":null}',
            f'{{"event_id":"bulk-{position}"}}', "2026-01-05T10:00:00.000000Z")


def journal_mode(conn) -> str:
    return conn.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_bulk_load_into_an_empty_log_uses_a_rollback_journal_only_while_it_loads(db, store):
    with store.bulk_transaction() as bulk:
        assert bulk and journal_mode(store.conn) == "delete"
        store.insert_rows([bulk_row(1), bulk_row(2)])
    assert journal_mode(store.conn) == "wal"
    assert [r.stream_id for r in store.read_all()] == ["c1", "c2"]
    with store.bulk_transaction() as bulk:  # not empty any more: a plain WAL transaction
        assert not bulk and journal_mode(store.conn) == "wal"


@pytest.mark.parametrize("rows_expected, event_ids_ascending, built_at_the_end", [
    (2, False, {"events_event_id"}),
    (2, True, set()),
    (3_000_000, False, {"events_event_id", "events_stream_version", "events_stream_position"}),
    (3_000_000, True, {"events_stream_version", "events_stream_position"}),
    (None, False, {"events_event_id", "events_stream_version", "events_stream_position"}),
])
def test_a_bulk_load_keeps_the_indexes_it_can_insert_into_cheaply(
        db, store, rows_expected, event_ids_ascending, built_at_the_end):
    # The stream indexes while their pages fit its cache; the event_id index when
    # the ids come in order.
    every_index = indexes_of_events(db)
    with store.bulk_transaction(rows_expected, event_ids_ascending):
        during = {r[0] for r in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")}
        assert every_index - during == built_at_the_end
        store.insert_rows([bulk_row(1), bulk_row(2)])
    assert indexes_of_events(db) == every_index
    assert store.stored_event_ids(["bulk-1", "bulk-2"]) == {"bulk-1", "bulk-2"}
    with pytest.raises(ConcurrencyError):  # UNIQUE(stream_id, version) holds after the load
        store.append("c1", [created("again")], NO_STREAM)


@pytest.mark.parametrize("event_ids_ascending", [True, False])
def test_whether_event_ids_are_unique_is_known_during_a_bulk_load(db, store, event_ids_ascending):
    """Asked while the event_id index waits for the load's end, it is built then and there."""
    every_index = indexes_of_events(db)
    with store.bulk_transaction(2, event_ids_ascending):
        store.insert_rows([bulk_row(1), bulk_row(2)])
        assert store.event_ids_unique()
        assert store.stored_event_ids(["bulk-2", "bulk-3"]) == {"bulk-2"}
    assert indexes_of_events(db) == every_index  # each built once
    with store.bulk_transaction():
        assert store.event_ids_unique()  # not a bulk load: the index is there


def test_a_repeated_event_id_in_a_bulk_load_is_found_when_asked(db, store):
    every_index = indexes_of_events(db)
    repeat = bulk_row(3)[:6] + (bulk_row(1)[6],) + bulk_row(3)[7:]
    with pytest.raises(ValueError):
        with store.bulk_transaction(3, event_ids_ascending=False):
            store.insert_rows([bulk_row(1), bulk_row(2), repeat])
            assert not store.event_ids_unique()
            raise ValueError("the import gives up")
    assert store.head_position() == 0
    assert indexes_of_events(db) == every_index


def test_a_bulk_load_stays_in_wal_while_another_connection_has_the_file_open(db, store):
    reader = raw(db)
    try:
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
        with store.bulk_transaction() as bulk:
            assert bulk and journal_mode(store.conn) == "wal"
            store.insert_rows([bulk_row(1)])
            assert reader.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)  # not blocked
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone() == (1,)
    finally:
        reader.close()


def test_unreadable_database_errors_are_told_from_bugs():
    assert is_unreadable_database(sqlite3.DatabaseError("database disk image is malformed"))
    assert is_unreadable_database(sqlite3.OperationalError("disk I/O error"))
    assert is_unreadable_database(StoreError("cannot open x.db as a cartui database"))
    assert not is_unreadable_database(sqlite3.ProgrammingError("Cannot operate on a closed database."))
    assert not is_unreadable_database(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert not is_unreadable_database(ValueError("a bug"))


def test_opening_a_file_another_process_holds_whole_is_a_lock_error_not_a_bad_file(db):
    EventStore(db).close()
    holder = raw(db)  # as a bulk import into an empty log does, with a rollback journal
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreBusy, match="locked by another process"):
            EventStore(db, busy_timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with EventStore(db) as store:  # and once it lets go, all is well (and WAL again)
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_database_on_a_full_disk_says_so_not_that_it_is_no_database(db, monkeypatch):
    """Opening in WAL mode makes files beside the database; on a full disk SQLite
    says only 'disk I/O error'."""
    EventStore(db).close()
    disk_io_error = sqlite3.OperationalError("disk I/O error")
    disk_io_error.sqlite_errorcode, disk_io_error.sqlite_errorname = 10, "SQLITE_IOERR"

    def cannot_open(*args, **kwargs):
        raise disk_io_error
    monkeypatch.setattr(EventStore, "_connect", staticmethod(cannot_open))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100, 100, 0))
    with pytest.raises(StoreError, match=f"cannot open {db}: the disk it is on is full "
                                         r"\(disk I/O error\)"):
        EventStore(db)


def test_what_is_not_a_file_is_refused_and_nothing_made_beside_it(tmp_path):
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    with pytest.raises(StoreError, match=f"cannot open {fifo}: it is not a file"):
        EventStore(fifo)
    assert [p.name for p in tmp_path.iterdir()] == ["fifo.db"]  # no journal beside it


def test_a_file_deleted_or_replaced_under_an_open_store_is_noticed(db, tmp_path):
    with EventStore(db) as store:
        store.check_still_the_file()  # the same file: nothing to say
        other = tmp_path / "other.db"
        EventStore(other).close()
        os.replace(other, db)
        with pytest.raises(StoreError, match="was deleted or replaced by another program"):
            store.check_still_the_file()
        os.remove(db)
        with pytest.raises(StoreError, match="was deleted or replaced"):
            store.check_still_the_file()


def test_a_new_database_is_not_made_beside_the_wal_of_a_deleted_one(db):
    """SQLite would take the WAL for the new file's own: writes into it are lost."""
    with EventStore(db) as store:
        CartService(store, CATALOG).create_cart("cart-1", None)
        os.remove(db)  # its -wal and -shm stay, open
        with pytest.raises(StoreError, match=f"cannot make {db}: {db}-wal and {db}-shm of a "
                                             "deleted database are still there"):
            EventStore(db)
    assert not os.path.exists(db)


def test_a_file_in_a_rollback_journal_with_a_writer_opens_and_reads(db):
    """An import into an empty log holds the file with a rollback journal: a reader that
    comes meanwhile cannot turn it back to WAL, and reads as it is (or waits for it)."""
    with EventStore(db) as store:
        CartService(store, CATALOG).create_cart("cart-1", None)
    holder = raw(db)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN IMMEDIATE")  # writing, the rows still in its cache
    try:
        with EventStore(db, busy_timeout=0.05) as store:
            assert store.head_position() == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with EventStore(db) as store:  # once it lets go, the next open makes it WAL again
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("events_before", [0, 2])
def test_a_database_with_the_old_table_constraint_keeps_it_and_works(db, events_before):
    with raw(db) as conn:
        conn.execute(OLD_EVENTS_TABLE)
    with EventStore(db) as store:
        service = CartService(store, CATALOG)
        if events_before:
            service.create_cart("c0")
            service.add_item("c0", SKU_A, 1)
        with store.bulk_transaction():  # the event_id index is dropped and built again
            store.insert_rows([(events_before + 1, "c1", 1, "CartCreated", 1, '{"customer":null}',
                                '{"event_id":"bulk-1"}', "2026-01-05T10:00:00.000000Z")])
        service.add_item("c1", SKU_A, 2)
        with pytest.raises(ConcurrencyError):
            store.append("c1", [created("again")], NO_STREAM)
        assert service.load("c1").state.lines[SKU_A].quantity == 2
        assert store.head_position() == events_before + 2
    indexes = indexes_of_events(db)
    assert "events_stream_version" not in indexes  # no second index on the same columns
    assert any(name.startswith("sqlite_autoindex_events") for name in indexes)
    assert {"events_event_id", "events_stream_position", "events_recorded_at"} <= indexes
