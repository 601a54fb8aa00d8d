"""The projections against their definition, the plain fold (`fold_projections`):

- caught up incrementally, in random chunks, they equal a rebuild from zero;
- as of any position P (from checkpoints, beyond them, stepping either way)
  they equal the plain fold of the first P events;
- deleting the derived tables changes no answer;
- rows that cannot be decoded are reported by position and the fold goes on;
- the fast reading of rows agrees with the codec on what is decodable.

Histories here are arbitrary sequences of events, legal or not, with rows
that cannot be decoded: the projections must count whatever the log holds
exactly as the plain fold does.
"""

import gc
import json
import random
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cartui.bench import synthetic_history, write_history
from cartui.cli import run
from cartui.projections import Projections, Projector, ProjectionReader, fold_projections
from cartui.projections.facts import fact_of, read_fact
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import (
    ConcurrencyError, EventStore, UndecodableEvent, decode_event, format_timestamp,
)
from cartui.store.readmodels import ReadModelStore

CATALOG = load_catalog()
SKUS = ["COF-ESP-1KG", "TEA-EGR-100", "BOK-SQLITE"]
CARTS = ["c1", "c2", "c3", "c4"]
T0 = datetime(2026, 1, 5, 9, 40, tzinfo=timezone.utc)
# Seconds between two events: around the 60 minutes after which an open cart
# counts as abandoned, and across hour boundaries.
GAPS = [0, 0, 1, 30, 600, 1800, 3599, 3600, 3601, 5400]

PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _item(sku: str, quantity: int) -> str:
    return orjson.dumps({"sku": sku, "name": CATALOG[sku].name,
                         "unit_price_cents": CATALOG[sku].price_cents, "quantity": quantity}).decode()


@st.composite
def events(draw) -> tuple[str, int, str]:
    """(type, schema_version, data) of one row: mostly well-formed, legal or not."""
    sku = draw(st.sampled_from(SKUS))
    quantity = draw(st.sampled_from([1, 2, 3, 99]))
    return draw(st.sampled_from([
        ("CartCreated", 1, '{"customer":"ada"}'),
        ("CartCreated", 1, "{}"),
        ("ItemAdded", 2, _item(sku, quantity)),
        ("ItemAdded", 2, _item(sku, quantity)),
        ("ItemAdded", 1, orjson.dumps({"sku": sku, "quantity": quantity, "price": 24.9}).decode()),
        ("ItemQuantityChanged", 1, orjson.dumps({"sku": sku, "quantity": quantity}).decode()),
        ("ItemRemoved", 1, orjson.dumps({"sku": sku}).decode()),
        ("CartCheckedOut", 1, orjson.dumps({"total_cents": quantity * 1000,
                                            "item_count": quantity}).decode()),
        # rows no reader of today can decode
        ("ItemAdded", 2, "{not json"),
        ("CartCreated", 9, "{}"),
        ("CartRenamed", 1, '{"name":"x"}'),
        ("CartCheckedOut", 1, '{"total_cents":10.5,"item_count":1}'),
    ]))


@st.composite
def histories(draw, max_events: int = 40) -> list[tuple]:
    """Rows of the events table, positions 1..n, time never decreasing."""
    rows, versions, moment = [], {}, T0
    for position in range(1, draw(st.integers(0, max_events)) + 1):
        cart = draw(st.sampled_from(CARTS))
        type_, schema_version, data = draw(events())
        moment += timedelta(seconds=draw(st.sampled_from(GAPS)), microseconds=draw(st.sampled_from([0, 1])))
        versions[cart] = versions.get(cart, 0) + 1
        rows.append((position, cart, versions[cart], type_, schema_version, data,
                     f'{{"event_id":"e{position}","correlation_id":null,"causation_id":null}}',
                     format_timestamp(moment)))
    return rows


def new_store(rows: list[tuple] = ()) -> EventStore:
    store = EventStore(":memory:")
    append(store, rows)
    return store


def append(store: EventStore, rows) -> None:
    if rows:
        with store.transaction():
            store.insert_rows(rows)


def plain_fold(store: EventStore, position: int) -> Projections:
    decode = CartService(store, CATALOG).decode
    return fold_projections(store.read_all(1, up_to_position=position), decode, position)


def assert_same(got: Projections, expected: Projections) -> None:
    assert got == expected
    assert got.undecodable == expected.undecodable


def derived_tables(store: EventStore, checkpoint_every: int) -> dict:
    """What a projection has stored: derived rows, positions, and its checkpoints
    at multiples of K and at its tip (other tips are dropped as it moves on)."""
    conn = store.conn
    positions = dict(conn.execute("SELECT projection, position FROM projection_positions"))
    tip = max(positions.values(), default=0)
    return {
        "positions": positions,
        "statuses": conn.execute("SELECT * FROM proj_cart_status ORDER BY 1, 2").fetchall(),
        "activity": conn.execute("SELECT * FROM proj_activity ORDER BY 1").fetchall(),
        "undecodable": conn.execute("SELECT * FROM proj_undecodable ORDER BY 1").fetchall(),
        "checkpoints": [(p, orjson.loads(s)) for p, s in conn.execute(
            "SELECT position, state FROM projection_checkpoints WHERE position % ? = 0 "
            "OR position = ? ORDER BY 1", (checkpoint_every, tip))],
    }


# -- incremental catch-up equals a rebuild -----------------------------------------------------

def caught_up_in_random_chunks(rows, data, after_each_catch_up=lambda store: None):
    """A store whose log grows by `rows` in random cuts, its projections caught up
    after each cut in random chunks; with the checkpoint interval drawn."""
    every = data.draw(st.integers(1, 7), label="checkpoint_every")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=4), label="cuts"))
    incremental = new_store()
    for first, last in zip([0, *cuts], [*cuts, len(rows)]):
        append(incremental, rows[first:last])  # the log grows...
        chunk = data.draw(st.integers(1, 10), label="chunk_events")
        Projector(incremental, checkpoint_every=every, chunk_events=chunk).catch_up()  # ...and is caught up
        after_each_catch_up(incremental)
    return incremental, every


@PROPERTY
@given(rows=histories(), data=st.data())
def test_caught_up_in_random_chunks_equals_rebuilt_from_zero(rows, data):
    incremental, every = caught_up_in_random_chunks(rows, data)

    rebuilt = new_store(rows)
    assert Projector(rebuilt, checkpoint_every=every).rebuild() == len(rows)

    assert derived_tables(incremental, every) == derived_tables(rebuilt, every)
    head = len(rows)
    assert_same(ProjectionReader(incremental).at(head), plain_fold(rebuilt, head))
    assert all(lag.lag == 0 for lag in Projector(incremental).lag())


# -- as of any position --------------------------------------------------------------------------

@PROPERTY
@given(rows=histories(), data=st.data())
def test_projections_at_every_position_equal_the_plain_fold(rows, data):
    """Checkpoints up to a tip that may lag the head; positions asked in a random
    order, then stepping forward and backward."""
    store = new_store(rows[:data.draw(st.integers(0, len(rows)), label="projected")])
    Projector(store, checkpoint_every=data.draw(st.integers(1, 6), label="every")).catch_up()
    append(store, rows[store.head_position():])
    expected = [plain_fold(store, p) for p in range(len(rows) + 1)]

    reader = ProjectionReader(store)
    order = data.draw(st.permutations(range(len(rows) + 1)), label="order")
    for p in [*order, *range(len(rows) + 1), *reversed(range(len(rows) + 1))]:
        assert_same(reader.at(p), expected[p])


def test_a_large_log_from_checkpoints_equals_the_plain_fold():
    """Thousands of interleaved carts (the bench's history), checkpoints every 100."""
    store = new_store(synthetic_history(3000, CATALOG, seed=3).rows)
    Projector(store, checkpoint_every=100, chunk_events=700).catch_up()
    rows = list(store.read_all())
    decode = CartService(store, CATALOG).decode
    reader = ProjectionReader(store)
    rng = random.Random(3)
    for p in [3000, 2999, 1, 100, 101, *(rng.randint(1, 3000) for _ in range(12))]:
        assert reader.at(p) == fold_projections(rows[:p], decode, p)
    head = reader.at(3000)
    assert head.carts_abandoned > 0 and head.orders > 0 and len(head.activity) > 3


def test_deleting_the_derived_tables_changes_no_answer():
    store = new_store(synthetic_history(1500, CATALOG, seed=5).rows)
    Projector(store, checkpoint_every=50).catch_up()
    reader = ProjectionReader(store)
    positions = [0, 1, 49, 50, 51, 777, 1499, 1500]
    before = [reader.at(p) for p in positions]

    for table in ("projection_positions", "projection_checkpoints", "proj_cart_status",
                  "proj_activity", "proj_undecodable", "proj_cart_summary"):
        store.conn.execute(f"DROP TABLE {table}")
    assert [ProjectionReader(store).at(p) for p in positions] == before
    reader._answers.clear()  # the same reader too, with what it had cached from the tables
    assert [reader.at(p) for p in reversed(positions)] == before[::-1]
    assert [lag.position for lag in Projector(store).lag()] == [0] * 5

    Projector(store, checkpoint_every=50).catch_up()  # and built again
    assert [ProjectionReader(store).at(p) for p in positions] == before


# -- undecodable rows ----------------------------------------------------------------------------

def test_a_row_that_cannot_be_decoded_is_reported_and_the_fold_goes_on():
    moment = format_timestamp(T0)
    store = new_store([
        (1, "c1", 1, "CartCreated", 1, "{}", '{"event_id":"e1"}', moment),
        (2, "c1", 2, "ItemAdded", 2, "{not json", '{"event_id":"e2"}', moment),
        (3, "c1", 3, "ItemAdded", 2, _item(SKUS[0], 2), '{"event_id":"e3"}', moment),
        (4, "c1", 4, "CartCheckedOut", 1, '{"total_cents":4980,"item_count":2}',
         '{"event_id":"e4"}', moment),
    ])
    Projector(store).catch_up()
    figures = ProjectionReader(store).at(4)
    assert figures.undecodable == (2,)
    assert figures.to_json()["revenue"] == {"orders": 1, "revenue_cents": 4980,
                                            "average_order_cents": 4980}
    assert figures.to_json()["products"][0] == {"sku": SKUS[0], "added_quantity": 2,
                                                "removed_count": 0, "purchased_quantity": 2}
    assert figures.activity == (("2026-01-05T09:00:00Z", 4),)
    assert ReadModelStore(store).undecodable() == [(2, "ItemAdded data is not valid JSON")]


def test_rows_whose_recorded_at_is_no_time_count_as_the_plain_fold_counts_them():
    """Rows another program wrote, in text order among real times: a real hour with no
    such minute counts in its hour; no such day, month or hour counts in none; and
    no cart is abandoned as of a latest time that is no time to the minute."""
    times = ["2026-01-05T09:00:00.000000Z", "2026-01-05T09:10:00.000000Z",
             "2026-01-05T09:20:00.000000Z", "2026-01-05T09:99:00.000000Z",
             "2026-01-05T11:30:00.000000Z", "2026-01-05T11:99:00.000000Z",
             "2026-02-30T10:00:00.000000Z", "2026-03-01T12:00:00.000000Z",
             "2026-03-01T24:00:00.000000Z", "2026-13-45T10:00:00Z", "garbage"]
    rows = []
    for position, recorded_at in enumerate(times, start=1):
        cart, version = f"c{(position + 1) // 2}", 2 - position % 2
        type_, data = ("CartCreated", "{}") if version == 1 else ("ItemAdded", _item(SKUS[0], 1))
        rows.append((position, cart, version, type_, 2 if version == 2 else 1, data,
                     f'{{"event_id":"e{position}"}}', recorded_at))
    store = new_store(rows)
    Projector(store, checkpoint_every=3).catch_up()
    reader = ProjectionReader(store)
    for p in [*range(len(rows) + 1), *reversed(range(len(rows) + 1))]:
        assert_same(reader.at(p), plain_fold(store, p))
    assert reader.at(5).carts_abandoned == 2  # c1 and c2, quiet since 09:xx at 11:30
    assert reader.at(6).carts_abandoned == 0  # the latest is 11:99: no time to judge by
    assert reader.at(len(rows)).activity == (
        ("2026-01-05T09:00:00Z", 4), ("2026-01-05T11:00:00Z", 2), ("2026-03-01T12:00:00Z", 1))


# -- the stored projections ----------------------------------------------------------------------

def test_lag_is_the_distance_from_each_checkpoint_to_the_head():
    rows = synthetic_history(500, CATALOG).rows
    store = new_store(rows[:300])
    projector = Projector(store)
    assert {(lag.projection, lag.position, lag.lag) for lag in projector.lag()} == {
        (name, 0, 300) for name in ("carts", "revenue", "products", "activity", "summaries")}
    projector.catch_up()
    append(store, rows[300:])
    assert {(lag.position, lag.head, lag.lag) for lag in projector.lag()} == {(300, 500, 200)}


def test_catch_up_reports_progress_in_events_up_to_the_total():
    store = new_store(synthetic_history(1000, CATALOG).rows)
    calls = []
    assert Projector(store, chunk_events=300).rebuild(lambda done, total: calls.append((done, total))) == 1000
    assert calls == [(0, 1000), (300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    assert Projector(store).catch_up(lambda *a: calls.append(a)) == 0  # nothing new: no report


@pytest.mark.parametrize("collecting", [True, False])
def test_a_rebuild_pauses_the_cycle_collector_and_leaves_it_as_it_was(collecting):
    """Off while it folds (it would walk the fold's state again and again), and
    as it was after, also when the fold fails: an app left without it would grow."""
    store = new_store(synthetic_history(300, CATALOG).rows)
    seen = []
    was = gc.isenabled()
    try:
        (gc.enable if collecting else gc.disable)()
        Projector(store, chunk_events=100).rebuild(lambda done, total: seen.append(gc.isenabled()))
        assert gc.isenabled() is collecting and seen == [False] * 4

        def fail(done, total):
            raise RuntimeError("interrupted")

        with pytest.raises(RuntimeError):
            Projector(store).rebuild(fail)
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()


@contextmanager
def caught_up_while_a_second_connection_catches_up(path, **projector_options):
    """2,000 events caught up on a first connection in chunks of 500, with a second
    connection catching up in full after the first chunk. Yields the first store and
    what the second folded."""
    with EventStore(path) as first, EventStore(path) as second:
        append(first, synthetic_history(2000, CATALOG).rows)
        interrupted = []

        def progress(done, total):
            if done and not interrupted:
                interrupted.append(Projector(second, **projector_options).catch_up())

        Projector(first, chunk_events=500, **projector_options).catch_up(progress)
        yield first, interrupted


def test_two_connections_catching_up_at_once_apply_every_event_once(tmp_path):
    """A second connection catches up in the middle of the first's run: the first
    notices (its next chunk would not follow on) and goes on from there."""
    with caught_up_while_a_second_connection_catches_up(tmp_path / "events.db",
                                                        checkpoint_every=10) as (first, interrupted):
        assert interrupted == [1500]
        with EventStore(":memory:") as fresh:
            append(fresh, list(map(tuple, (r for r in first.conn.execute("SELECT * FROM events")))))
            Projector(fresh, checkpoint_every=10).rebuild()
            assert derived_tables(first, 10) == derived_tables(fresh, 10)


def test_a_catch_up_overtaken_by_another_connection_counts_its_work_as_done(tmp_path):
    """Two apps on one file catch up after an import: the one whose chunks keep being
    overtaken shows the projections getting there, not "0 of what is left" again and again."""
    path = tmp_path / "events.db"
    with EventStore(path) as first, EventStore(path) as second:
        append(first, synthetic_history(2500, CATALOG).rows[:2000])
        calls = []

        def progress(done, total):
            calls.append((done, total))
            if done == 500:  # after the first chunk: the other app folds everything, then more comes
                Projector(second).catch_up()
                append(second, synthetic_history(2500, CATALOG).rows[2000:])

        assert Projector(first, chunk_events=500).catch_up(progress) == 1000
        assert calls == [(0, 2000), (500, 2000), (2000, 2500), (2500, 2500)]


def test_readers_keep_the_old_projections_until_a_rebuild_swaps_the_new_ones_in(tmp_path):
    path = tmp_path / "events.db"
    with EventStore(path) as store, EventStore(path) as other:
        append(store, synthetic_history(1200, CATALOG).rows)
        Projector(store).catch_up()
        expected = plain_fold(store, 1100)
        seen = []

        def progress(done, total):
            if 0 < done < total:  # mid-rebuild, on another connection
                seen.append(ReadModelStore(other).positions())
                assert ProjectionReader(other).at(1100) == expected

        assert Projector(store, chunk_events=400).rebuild(progress) == 1200
        assert seen == [dict.fromkeys(
            ("carts", "revenue", "products", "activity", "summaries"), 1200)] * 2
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
        assert not {t for t in tables if t.endswith("_rebuild")}
        assert ProjectionReader(other).at(1100) == expected


def test_a_rebuild_that_another_overtakes_stops_as_a_conflict_and_the_projections_are_right(
        tmp_path):
    path = tmp_path / "events.db"
    with EventStore(path) as store, EventStore(path) as other:
        append(store, synthetic_history(1200, CATALOG).rows)

        def progress(done, total):
            if 0 < done < total:  # mid-rebuild, another connection rebuilds from the start
                Projector(other).rebuild()

        with pytest.raises(ConcurrencyError, match="another rebuild ran at the same time"):
            Projector(store, chunk_events=400).rebuild(progress)
        assert ProjectionReader(store).at(1200) == plain_fold(store, 1200)


def test_projections_of_an_older_format_are_built_again():
    store = new_store(synthetic_history(300, CATALOG).rows)
    Projector(store).catch_up()
    store.conn.execute("UPDATE projection_positions SET format = 0")  # as an older cartui left it
    assert Projector(store).catch_up() == 300  # not built, as far as this version knows
    assert ProjectionReader(store).at(300) == plain_fold(store, 300)


# -- reading rows fast ---------------------------------------------------------------------------

JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([98, 99, 100, 2 ** 64, 10 ** 30]),
    st.sampled_from([10 ** 6, 10 ** 6 + 1, 10 ** 8, 10 ** 8 + 1, 10 ** 12, 10 ** 12 + 1, 2 ** 63]),  # bounds
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1.0, 2.0, 0.5]),
    st.text(max_size=3), st.sampled_from(["", "x" * 64, "x" * 65, "n" * 200, "n" * 201, "SKU-1"]),
    st.lists(st.integers(), max_size=2),
)
KEYS = ["sku", "name", "unit_price_cents", "quantity", "price", "customer", "total_cents",
        "item_count", "type", "extra"]


@settings(max_examples=400, deadline=None)
@given(type_=st.sampled_from(["CartCreated", "ItemAdded", "ItemQuantityChanged", "ItemRemoved",
                              "CartCheckedOut", "Unknown"]),
       schema_version=st.sampled_from([1, 1, 2, 3]),
       data=st.one_of(
           st.dictionaries(st.sampled_from(KEYS), JSON_VALUES, max_size=5).map(
               json.dumps),
           st.sampled_from(['{"sku":"A","sku":"B"}', '{"sku":"A"', "[]", "null", '"x"', "",
                            '{"sku":"\\ud800"}', '{"total_cents":1e2,"item_count":1}',
                            '{"sku": "A", "quantity": 01}', ' {"sku":"A"} ']),
       ))
def test_fast_reading_agrees_with_the_codec(type_, schema_version, data):
    try:
        expected = fact_of(decode_event(type_, schema_version, data, None, 7))
    except UndecodableEvent as exc:
        expected = ("undecodable", exc.reason)
    for _ in range(2):  # the second time from what it remembers of the text
        try:
            got = read_fact(type_, schema_version, data, 7)
        except UndecodableEvent as exc:
            got = ("undecodable", exc.reason)
        assert got == expected


# -- the command line ----------------------------------------------------------------------------

def test_the_projections_command_catches_up_then_answers_as_of_a_position(tmp_path, capsys):
    db = tmp_path / "events.db"
    with EventStore(db) as store:
        write_history(store, synthetic_history(800, CATALOG), CATALOG)
    assert run(["projections", "--db", str(db), "--at", "500", "--json"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    with EventStore(db) as store:
        assert {lag.lag for lag in Projector(store).lag()} == {0}  # caught up on the way
        assert printed == plain_fold(store, 500).to_json()
        moment = store.recorded_at(321)
    assert run(["projections", "--db", str(db), "--at-time", moment, "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["as_of_position"] == 321

    assert run(["projections", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Projections as of position 800 (") and "Revenue" in text

    assert run(["projections", "--db", str(db), "--at", "801"]) == 2
    assert capsys.readouterr().err == "error: position 801 is outside the log (0..800)\n"


def test_the_rebuild_command_folds_everything_again(tmp_path, capsys):
    db = tmp_path / "events.db"
    with EventStore(db) as store:
        write_history(store, synthetic_history(300, CATALOG), CATALOG)
    assert run(["rebuild", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith(
        "rebuilt 5 projections (carts, revenue, products, activity, summaries) from 300 events")
    with EventStore(db) as store:
        assert [lag.position for lag in Projector(store).lag()] == [300] * 5
