"""The cart summaries read model against its definition, each cart replayed alone
(`CartService.load`, as the cart list was built before the read model):

- caught up incrementally, in random chunks, it equals a rebuild from zero and
  the replay, on arbitrary histories (legal or not, with undecodable rows);
- deleting the derived tables and catching up gives the same answer;
- `cartui carts --json` prints what the replay of every cart gives, key for key.
"""

import orjson
from hypothesis import given, strategies as st

from cartui.bench import synthetic_history, write_history
from cartui.demo import write_demo
from cartui.history import History
from cartui.projections import Projector
from cartui.projections.summaries import cart_summaries
from cartui.resources import load_catalog
from cartui.service import CartService, CartSummary
from cartui.store import EventStore
from cartui.store.readmodels import READMODEL_TABLES, ReadModelStore

from test_projections import (
    PROPERTY, append, caught_up_in_random_chunks, caught_up_while_a_second_connection_catches_up,
    histories, new_store,
)

CATALOG = load_catalog()


def replayed(store: EventStore) -> list[CartSummary]:
    """Every cart loaded alone from its stream, oldest first: the definition."""
    service = CartService(store, CATALOG)
    summaries = []
    for stream_id, first_position, last_position, last_recorded_at in store.conn.execute(
            "SELECT stream_id, MIN(position), MAX(position), MAX(recorded_at) FROM events "
            "GROUP BY stream_id ORDER BY MIN(position)"):
        state = service.load(stream_id).state
        if state.exists:  # a stream whose CartCreated cannot be decoded is no cart
            summaries.append(CartSummary(stream_id, state.customer, state.status, state.version,
                                         state.total_cents, state.item_count, last_position,
                                         last_recorded_at))
    return summaries


def stored(store: EventStore) -> list[CartSummary]:
    return cart_summaries(ReadModelStore(store))


@PROPERTY
@given(rows=histories(), data=st.data())
def test_caught_up_in_random_chunks_equals_rebuilt_and_each_cart_replayed(rows, data):
    def each_cart_replayed(store):
        assert stored(store) == replayed(store)

    incremental, every = caught_up_in_random_chunks(rows, data, each_cart_replayed)

    rebuilt = new_store(rows)
    Projector(rebuilt, checkpoint_every=every).rebuild()
    assert stored(rebuilt) == stored(incremental) == replayed(rebuilt)


def test_a_history_of_thousands_of_interleaved_carts_in_chunks():
    """The bench's history: carts open across chunk boundaries, one big cart in all."""
    store = new_store(synthetic_history(6000, CATALOG, seed=11).rows)
    Projector(store, checkpoint_every=100, chunk_events=777).catch_up()
    summaries = stored(store)
    assert summaries == replayed(store)
    assert {"open", "checked_out"} == {s.status for s in summaries} and len(summaries) > 600


def test_deleting_the_derived_tables_and_catching_up_gives_the_same_answer():
    store = new_store(synthetic_history(2000, CATALOG, seed=5).rows)
    Projector(store, chunk_events=300).catch_up()
    before = stored(store)
    assert before == replayed(store)

    store.conn.execute("DROP TABLE proj_cart_summary")  # only this one...
    assert stored(store) == []
    Projector(store).catch_up()
    assert stored(store) == before

    for table in READMODEL_TABLES:  # ...then all of them
        store.conn.execute(f"DROP TABLE {table}")
    assert Projector(store).catch_up() == 2000
    assert stored(store) == before


def test_two_connections_catching_up_at_once(tmp_path):
    """A second connection catches up in the middle of the first's run: the first
    drops the summaries it folded and goes on from what the second stored."""
    with caught_up_while_a_second_connection_catches_up(tmp_path / "events.db") as (first, interrupted):
        assert interrupted == [1500]
        assert stored(first) == replayed(first)


def test_a_fold_from_zero_reads_no_summary_left_from_before():
    """Checkpoints gone but the summaries left: the fold starts from zero and must not
    take a stored summary for the cart's state (here a stream that a stray client
    began at version 2, so its first row does not say "new cart")."""
    moment = "2026-01-05T10:00:00.000000Z"
    item = orjson.dumps({"sku": "COF-ESP-1KG", "name": "Espresso", "unit_price_cents": 2490,
                         "quantity": 1}).decode()
    store = new_store([
        (1, "c1", 2, "CartCreated", 1, "{}", '{"event_id":"e1"}', moment),
        (2, "c1", 3, "ItemAdded", 2, item, '{"event_id":"e2"}', moment),
    ])
    Projector(store).catch_up()
    assert stored(store) == replayed(store)
    store.conn.execute("DROP TABLE projection_positions")
    assert Projector(store).catch_up() == 2
    assert stored(store) == replayed(store) == [
        CartSummary("c1", None, "open", 2, 2490, 1, 2, moment)]


def test_an_undecodable_row_is_reported_and_still_takes_its_version():
    moment = "2026-01-05T10:00:00.000000Z"
    item = orjson.dumps({"sku": "COF-ESP-1KG", "name": "Espresso", "unit_price_cents": 2490,
                         "quantity": 2}).decode()
    store = new_store([
        (1, "c1", 1, "CartCreated", 1, '{"customer":"ada"}', '{"event_id":"e1"}', moment),
        (2, "c1", 2, "ItemAdded", 2, "{not json", '{"event_id":"e2"}', moment),
        (3, "c1", 3, "ItemAdded", 2, item, '{"event_id":"e3"}', moment),
        (4, "c2", 1, "CartCreated", 9, "{}", '{"event_id":"e4"}', moment),  # no cart, then
    ])
    Projector(store).catch_up()
    assert stored(store) == [CartSummary("c1", "ada", "open", 3, 4980, 2, 3, moment)]
    assert ReadModelStore(store).undecodable() == [
        (2, "ItemAdded data is not valid JSON"), (4, "unknown schema version 9 of CartCreated")]


def test_history_catches_up_before_it_lists(tmp_path):
    path = tmp_path / "events.db"
    rows = synthetic_history(1000, CATALOG).rows
    with EventStore(path) as store:
        append(store, rows[:400])
        history = History(store, CartService(store, CATALOG))
        assert history.cart_summaries() == replayed(store)
        append(store, rows[400:])
        progress = []
        assert history.cart_summaries(lambda done, total: progress.append((done, total))) \
            == replayed(store)
        assert progress[-1] == (600, 600)
        assert {lag.projection: lag.lag for lag in history.lag()}["summaries"] == 0


def test_carts_json_is_each_cart_replayed_key_for_key(tmp_path, run_cli):
    db = tmp_path / "demo.db"
    with EventStore(db) as store:
        write_demo(store, CATALOG)
        expected = [{"cart_id": s.cart_id, "customer": s.customer, "status": s.status,
                     "version": s.version, "total_cents": s.total_cents,
                     "item_count": s.item_count, "last_position": s.last_position,
                     "last_recorded_at": s.last_recorded_at} for s in replayed(store)]
    result = run_cli("carts", "--json", "--db", db)
    assert (result.status, result.stderr) == (0, "")
    assert result.stdout.encode() == orjson.dumps(expected, option=orjson.OPT_INDENT_2) + b"\n"
    assert len(expected) > 100

    text = run_cli("carts", "--db", db).stdout.splitlines()
    assert text[0].split() == ["Cart", "Customer", "Status", "Items", "Total", "Version",
                               "Last", "change"]
    assert [line.split()[0] for line in text[1:]] == [cart["cart_id"] for cart in expected]


def test_carts_on_a_synthetic_history_after_a_rebuild(tmp_path, run_cli):
    db = tmp_path / "events.db"
    with EventStore(db) as store:
        write_history(store, synthetic_history(3000, CATALOG), CATALOG)
    assert run_cli("rebuild", "--db", db).status == 0
    printed = orjson.loads(run_cli("carts", "--json", "--db", db).stdout)
    with EventStore(db) as store:
        assert [CartSummary(**cart) for cart in printed] == replayed(store)
