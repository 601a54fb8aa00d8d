"""The demo history: deterministic, realistic, and every event obeys the cart rules."""

import uuid
from collections import Counter
from datetime import datetime, timedelta

import orjson
import pytest

from cartui.demo import DEMO_START, DemoRefused, iter_demo_rows, write_demo
from cartui.domain import CartCheckedOut, ItemQuantityChanged, ItemRemoved, check, evolve, initial_state
from cartui.history import History
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore, parse_timestamp


@pytest.fixture(scope="module")
def rows(demo_db):
    with EventStore(demo_db) as store:
        return list(store.read_all(1))


def export_of(path) -> bytes:
    with EventStore(path) as store:
        return b"\n".join(row.export_line() for row in store.read_all(1))


def test_the_same_seed_writes_the_same_history(demo_db, tmp_path):
    again = tmp_path / "again.db"
    with EventStore(again) as store:
        write_demo(store, load_catalog())
    assert export_of(again) == export_of(demo_db)


def test_another_seed_writes_another_history():
    catalog = load_catalog()
    assert list(iter_demo_rows(catalog, seed=1, carts=40)) != list(iter_demo_rows(catalog, seed=2, carts=40))


def test_it_is_big_enough_to_explore(rows):
    assert len(rows) >= 2000
    assert len({row.stream_id for row in rows}) >= 40


def test_every_event_decodes_and_every_cart_obeys_the_rules(demo_db, rows):
    with EventStore(demo_db) as store:
        service = CartService(store, load_catalog())
        carts = {}
        for row in rows:
            event = service.decode(row)  # raises if it cannot be decoded
            state = carts.get(row.stream_id) or initial_state(row.stream_id)
            assert row.version == state.version + 1
            check(state, event)  # raises the rule it breaks
            carts[row.stream_id] = evolve(state, event)
    statuses = Counter(state.status for state in carts.values())
    assert statuses["checked_out"] >= 40 and statuses["open"] >= 20  # abandoned carts stay open
    assert any(state.status == "open" and not state.lines for state in carts.values())  # emptied


def test_carts_change_their_minds(demo_db, rows):
    with EventStore(demo_db) as store:
        decoded = [CartService(store, load_catalog()).decode(row) for row in rows]
    assert sum(isinstance(e, ItemRemoved) for e in decoded) >= 50
    assert sum(isinstance(e, ItemQuantityChanged) for e in decoded) >= 50
    events_per_cart = Counter(row.stream_id for row in rows)
    assert events_per_cart.most_common(1)[0][1] >= 30  # a few office orders with many events
    # Items removed before a checkout: the checkout came later in the same cart.
    checked_out = {row.stream_id for row, e in zip(rows, decoded) if isinstance(e, CartCheckedOut)}
    assert {row.stream_id for row, e in zip(rows, decoded) if isinstance(e, ItemRemoved)} & checked_out


def test_the_first_day_was_written_by_an_older_app(rows):
    first_day_end = DEMO_START + timedelta(days=1)
    added = [row for row in rows if row.type == "ItemAdded"]
    old = [row for row in added if row.schema_version == 1]
    assert old and all(parse_timestamp(row.recorded_at) < first_day_end for row in old)
    assert all(row.schema_version == 2 for row in added if parse_timestamp(row.recorded_at) >= first_day_end)
    assert '"price":' in old[0].data and '"name"' not in old[0].data


def test_a_week_of_shop_hours_with_a_gap_and_a_burst(rows):
    times = [parse_timestamp(row.recorded_at) for row in rows]
    assert times == sorted(times)
    assert DEMO_START <= times[0] and times[-1] < DEMO_START + timedelta(days=7)
    assert len({t.date() for t in times}) == 7
    assert all(t.hour >= 8 for t in times)  # nobody shops before the shop opens
    wednesday = (DEMO_START + timedelta(days=2)).date()
    assert not [t for t in times if t.date() == wednesday and 14 <= t.hour < 16]  # maintenance
    by_hour = Counter((t.date(), t.hour) for t in times)
    thursday_sale = ((DEMO_START + timedelta(days=3)).date(), 18)
    assert by_hour[thursday_sale] == max(by_hour.values())  # the flash sale is the busiest hour


def test_customers_have_names_and_some_carts_are_anonymous(demo_db, rows):
    with EventStore(demo_db) as store:
        summaries = History(store, CartService(store, load_catalog())).cart_summaries()
        customers = [s.customer for s in summaries]
    named = [c for c in customers if c]
    assert len(named) >= len(customers) // 2 and None in customers
    assert all(len(name.split()) >= 2 for name in named)
    assert Counter(named).most_common(1)[0][1] >= 2  # regulars come back with another cart


def test_ids_are_derived_from_the_seed_and_event_ids_are_time_ordered_as_the_service_makes_them(rows):
    assert all(row.stream_id.startswith("cart-") for row in rows)
    event_ids = [row.metadata_dict()["event_id"] for row in rows]
    assert len(set(event_ids)) == len(rows)
    assert all(uuid.UUID(i).version == 7 for i in event_ids)
    # A later moment gives a larger id (a command's events share their moment).
    assert all(a < b for a, b, earlier, later in zip(event_ids, event_ids[1:], rows, rows[1:])
               if earlier.recorded_at < later.recorded_at)


def test_demos_of_other_sizes_share_no_event_id():
    """Cart n of every demo of one seed shops alike, at times that sometimes meet:
    its ids must still differ, or importing one demo into another would skip, as
    already stored, events it does not hold."""
    catalog = load_catalog()
    ids = [{orjson.loads(row[5])["event_id"] for row in iter_demo_rows(catalog, carts=carts)}
           for carts in (300, 400)]
    assert not ids[0] & ids[1]


def test_it_goes_only_into_an_empty_database(demo_db):
    with EventStore(demo_db) as store:
        head = store.head_position()
        with pytest.raises(DemoRefused, match="already has events"):
            write_demo(store, load_catalog(), carts=40)
        assert store.head_position() == head


def test_progress_is_reported_up_to_the_total(tmp_db):
    seen = []
    with EventStore(tmp_db) as store:
        count = write_demo(store, load_catalog(), carts=200, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (count, count) and len(seen) > 1


def test_another_start_shifts_the_week(tmp_db):
    start = datetime.fromisoformat("2027-03-01T08:00:00+00:00")
    first = next(iter_demo_rows(load_catalog(), carts=40, start=start))
    assert first[6].startswith("2027-03-01T")
