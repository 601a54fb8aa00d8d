"""The application service: what each command appends (events and metadata),
deterministic ids and clocks, retries on conflict, and the in-process cache
never leading to a wrong event or refusal."""

import itertools
import os
import sqlite3
import time
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartui import ids
from cartui.domain import errors
from cartui.ids import new_uuid, time_ordered_uuid
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import ANY, ConcurrencyError, EventStore, NewEvent, StoreBusy, StoreError

CATALOG = load_catalog()
SKU_A, SKU_B = list(CATALOG)[:2]
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)


def counter(prefix: str = "id"):
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers)}"


class Clock:
    """Ticks one second per reading."""

    def __init__(self) -> None:
        self.ticks = itertools.count()

    def __call__(self) -> datetime:
        return T0 + timedelta(seconds=next(self.ticks))


@pytest.fixture
def db(tmp_path):
    return tmp_path / "events.db"


@pytest.fixture
def store(db):
    with EventStore(db, clock=Clock()) as s:
        yield s


@pytest.fixture
def service(store):
    return CartService(store, CATALOG, new_id=counter())


@pytest.fixture
def other(db):
    """Another process's connection to the same file."""
    with EventStore(db) as s:
        yield s


def item_added(sku: str, quantity: int, event_id: str) -> NewEvent:
    data = {"sku": sku, "name": CATALOG[sku].name, "unit_price_cents": CATALOG[sku].price_cents,
            "quantity": quantity}
    return NewEvent("ItemAdded", orjson.dumps(data).decode(), event_id, schema_version=2)


def event(type_: str, event_id: str, **data) -> NewEvent:
    return NewEvent(type_, orjson.dumps(data).decode(), event_id)


def count_appends(store, monkeypatch) -> list:
    calls = []
    append = store.append
    monkeypatch.setattr(store, "append", lambda *a, **k: calls.append(a) or append(*a, **k))
    return calls


# -- what each command appends ----------------------------------------------------------------

def test_each_command_appends_its_event_with_metadata(store, service):
    price_a, price_b = CATALOG[SKU_A].price_cents, CATALOG[SKU_B].price_cents
    results = [
        service.create_cart("c1", customer="ada"),
        service.add_item("c1", SKU_A, 2),
        service.add_item("c1", SKU_B),
        service.change_quantity("c1", SKU_A, 5),
        service.remove_item("c1", SKU_B),
        service.check_out("c1"),
    ]
    rows = [row for result in results for row in result.events]
    assert [(r.type, orjson.loads(r.data)) for r in rows] == [
        ("CartCreated", {"customer": "ada"}),
        ("ItemAdded", {"sku": SKU_A, "name": CATALOG[SKU_A].name, "unit_price_cents": price_a,
                       "quantity": 2}),
        ("ItemAdded", {"sku": SKU_B, "name": CATALOG[SKU_B].name, "unit_price_cents": price_b,
                       "quantity": 1}),
        ("ItemQuantityChanged", {"sku": SKU_A, "quantity": 5}),
        ("ItemRemoved", {"sku": SKU_B}),
        ("CartCheckedOut", {"total_cents": 5 * price_a, "item_count": 5}),
    ]
    assert [r.schema_version for r in rows] == [1, 2, 2, 1, 1, 1]
    assert [(r.position, r.version) for r in rows] == [(i, i) for i in range(1, 7)]
    assert list(store.read_all()) == rows
    assert results[-1].state.status == "checked_out"
    assert all(result.attempts == 1 for result in results)

    metadata = [r.metadata_dict() for r in rows]
    # new_id is asked for the command's correlation id first, then each event's id.
    assert metadata[0] == {"event_id": "id-2", "correlation_id": "id-1", "causation_id": "id-1"}
    for result in results:
        meta = [r.metadata_dict() for r in result.events]
        assert len({m["correlation_id"] for m in meta}) == 1  # shared by a command's events
        assert all(m["causation_id"] for m in meta)
    assert len({m["event_id"] for m in metadata}) == len(rows)
    assert len({m["correlation_id"] for m in metadata}) == len(results)
    assert not {m["event_id"] for m in metadata} & {m["correlation_id"] for m in metadata}


def test_a_made_up_cart_id_already_taken_is_made_up_again(tmp_db):
    """Made-up ids hold 32 random bits: `new` must not refuse a cart the user never named."""
    with EventStore(tmp_db) as store:
        CartService(store, CATALOG).create_cart("cart-taken000")
        made = iter(["taken000", *(f"{n:08d}" for n in range(1, 100))])
        result = CartService(store, CATALOG, new_id=lambda: next(made)).create_cart(
            customer="Ada")
        assert result.state.cart_id == "cart-00000003" and result.state.customer == "Ada"
        assert store.stream_version("cart-taken000") == 1


def test_the_state_returned_is_the_state_loaded(service):
    service.create_cart("c1")
    result = service.add_item("c1", SKU_A, 3)
    assert service.load("c1").state == result.state
    assert result.state.lines[SKU_A].quantity == 3
    assert service.load("c1").as_of_position == 2


def test_a_cart_gets_an_id_when_none_is_given(service):
    result = service.create_cart()
    assert result.state.cart_id == "cart-id1"  # from new_id, so reproducible too
    assert CartService(service.store, CATALOG).create_cart().state.cart_id != "cart-id1"
    assert result.events[0].stream_id == result.state.cart_id
    with pytest.raises(errors.InvalidCartId):
        service.create_cart(" padded ")


def test_setting_the_quantity_a_line_has_appends_nothing(store, service):
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 2)
    result = service.change_quantity("c1", SKU_A, 2)
    assert result.events == [] and result.state.lines[SKU_A].quantity == 2
    assert store.head_position() == 2


@pytest.mark.parametrize("attempt, error", [
    (lambda s: s.create_cart("c1"), errors.CartAlreadyExists),
    (lambda s: s.add_item("nope", SKU_A), errors.CartNotFound),
    (lambda s: s.add_item("c1", "NOT-A-SKU"), errors.UnknownSku),
    (lambda s: s.add_item("c1", SKU_A, 0), errors.InvalidQuantity),
    (lambda s: s.add_item("c1", SKU_A, 2.5), errors.InvalidQuantity),
    (lambda s: s.add_item("c1", SKU_A, 98), errors.LineLimitExceeded),
    (lambda s: s.change_quantity("c1", SKU_B, 1), errors.SkuNotInCart),
    (lambda s: s.remove_item("c1", SKU_B), errors.SkuNotInCart),
    (lambda s: s.check_out("empty"), errors.EmptyCart),
])
def test_a_refused_command_appends_nothing(store, service, monkeypatch, attempt, error):
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 2)
    service.create_cart("empty")
    before = list(store.read_all())
    appends = count_appends(store, monkeypatch)
    with pytest.raises(error) as info:
        attempt(service)
    assert "\n" not in str(info.value)
    assert appends == []
    assert list(store.read_all()) == before


def test_creating_a_cart_another_process_made_is_refused_at_once(store, service, other,
                                                                 monkeypatch):
    # A new cart is decided without reading the store; the unique index is what
    # finds the existing one, and the retry that loads it must not back off.
    CartService(other, CATALOG, new_id=counter("theirs")).create_cart("c1", customer="ada")
    sleeps = []
    monkeypatch.setattr("cartui.service.time.sleep", sleeps.append)
    with pytest.raises(errors.CartAlreadyExists):
        service.create_cart("c1", customer="bob")
    assert sleeps == []
    assert [r.metadata_dict()["event_id"] for r in store.read_all()] == ["theirs-2"]
    assert service.load("c1").state.customer == "ada"


def test_ids_and_clock_injected_make_a_history_reproducible(tmp_path):
    def run(path) -> list[bytes]:
        with EventStore(path, clock=Clock()) as store:
            service = CartService(store, CATALOG, new_id=counter())
            cart = service.create_cart(customer="ada").state.cart_id
            service.add_item(cart, SKU_A, 2)
            service.add_item(cart, SKU_B, 1)
            service.check_out(cart)
            return [row.export_line() for row in store.read_all()]

    first, second = run(tmp_path / "one.db"), run(tmp_path / "two.db")
    assert first == second
    assert b'"recorded_at":"2026-01-05T10:00:00.000000Z"' in first[0]
    assert b'"recorded_at":"2026-01-05T10:00:03.000000Z"' in first[3]


def test_new_uuid_gives_distinct_time_ordered_version_7_uuids_and_a_forked_child_none_of_its_parents():
    before = time.time_ns() // 1_000_000
    made = [new_uuid() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == 1000
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 7
               and uuid.UUID(i).variant == uuid.RFC_4122 for i in made)
    # The first 48 bits are the Unix time in milliseconds when each was made.
    stamps = [uuid.UUID(i).int >> 80 for i in made]
    assert before <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= after
    first_of_each_millisecond = [i for n, i in enumerate(made) if n == 0 or stamps[n] != stamps[n - 1]]
    assert first_of_each_millisecond == sorted(first_of_each_millisecond)  # text order is time order
    assert len({i[-8:] for i in made}) == 1000  # new_cart_id takes the random end
    read, write = os.pipe()
    child = os.fork()  # the made-ahead ids must not be handed out twice
    if child == 0:
        os.write(write, "".join(new_uuid() for _ in range(64)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        theirs = pipe.read()
    ours = [new_uuid() for _ in range(64)]
    assert not any(i in theirs for i in ours)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2 ** 48 * 1_000_000 - 1), st.integers(0, 2 ** 48 * 1_000_000 - 1),
       st.integers(0, 2 ** 128 - 1))
def test_time_ordered_uuids_sort_by_their_moment_and_new_uuid_writes_them_alike(
        first, second, random_bits):
    early, late = sorted((first, second))
    made = [time_ordered_uuid(moment, random_bits) for moment in (early, late)]
    for moment, text in zip((early, late), made):
        value = uuid.UUID(text)
        assert str(value) == text and value.version == 7 and value.variant == uuid.RFC_4122
        assert value.int >> 80 == moment // 1_000_000  # Unix milliseconds
    assert made[0] <= made[1]  # text order is time order (to 1/4096 ms)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: late))
        assert new_uuid()[:19] == made[1][:19]  # the time and its fraction; then random digits


# -- conflicts --------------------------------------------------------------------------------

def interleave(store, monkeypatch, write_first, times: int | None = 1) -> list:
    """Make `write_first()` (another connection's append) run just before the
    service's next `times` appends (every one when None): between its load and append."""
    calls = []
    append = store.append

    def append_after_another_writer(*args, **kwargs):
        calls.append(args)
        if times is None or len(calls) <= times:
            write_first()
        return append(*args, **kwargs)

    monkeypatch.setattr(store, "append", append_after_another_writer)
    return calls


def test_a_conflict_reloads_redecides_and_succeeds_on_the_second_attempt(
        store, service, other, monkeypatch):
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 1)
    calls = interleave(store, monkeypatch,
                       lambda: other.append("c1", [item_added(SKU_B, 4, "theirs")], ANY))
    result = service.add_item("c1", SKU_A, 2)
    assert result.attempts == 2 and len(calls) == 2
    assert [(r.version, r.type) for r in result.events] == [(4, "ItemAdded")]
    assert result.state.lines[SKU_A].quantity == 3
    assert result.state.lines[SKU_B].quantity == 4  # decided on the reloaded cart
    assert service.load("c1").state == result.state
    assert [r.version for r in store.read_stream("c1")] == [1, 2, 3, 4]


def test_after_a_conflict_the_command_is_decided_again_and_may_be_refused(
        store, service, other, monkeypatch):
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 1)
    interleave(store, monkeypatch,
               lambda: other.append("c1", [event("ItemQuantityChanged", "theirs", sku=SKU_A,
                                                 quantity=98)], ANY))
    with pytest.raises(errors.LineLimitExceeded):
        service.add_item("c1", SKU_A, 2)
    assert [r.type for r in store.read_all()] == ["CartCreated", "ItemAdded", "ItemQuantityChanged"]


def test_when_conflicts_never_stop_it_gives_up_and_writes_nothing(db, store, other, monkeypatch):
    service = CartService(store, CATALOG, new_id=counter("ours"), max_attempts=3)
    service.create_cart("c1")
    theirs = counter("theirs")
    calls = interleave(store, monkeypatch,
                       lambda: other.append("c1", [item_added(SKU_B, 1, theirs())], ANY), times=None)
    with pytest.raises(ConcurrencyError) as info:
        service.add_item("c1", SKU_A, 1)
    assert "\n" not in str(info.value)
    assert len(calls) == 3
    rows = list(store.read_all())
    assert [r.metadata_dict()["event_id"] for r in rows] == ["ours-2", "theirs-1", "theirs-2", "theirs-3"]
    assert SKU_A not in service.load("c1").state.lines


def test_a_lock_held_past_the_busy_timeout_fails_at_once_without_retries(db, monkeypatch):
    # SQLite waited the whole busy timeout already: eight more waits would keep
    # a user at the prompt for eight times as long.
    with EventStore(db, busy_timeout=0.05) as store:
        service = CartService(store, CATALOG, new_id=counter())
        service.create_cart("c1")
        appends = count_appends(store, monkeypatch)
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreBusy, match="locked"):
                service.add_item("c1", SKU_A, 1)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert len(appends) == 1
        assert service.add_item("c1", SKU_A, 1).state.lines[SKU_A].quantity == 1


def test_a_database_that_cannot_be_written_is_a_store_error_not_a_conflict(store, service):
    service.create_cart("c1")
    store.conn.execute("PRAGMA query_only = 1")  # as a read-only file would (tests run as root)
    for attempt in (lambda: service.add_item("c1", SKU_A, 1), lambda: service.create_cart("c2")):
        with pytest.raises(StoreError, match="cannot write"):
            attempt()
    assert store.head_position() == 1


def test_a_cart_with_an_event_that_cannot_be_decoded_is_not_changed(db, store, service):
    service.create_cart("c1")
    with sqlite3.connect(db, isolation_level=None) as other:  # a database written by someone else
        other.execute("INSERT INTO events VALUES (2, 'c1', 2, 'ItemAdded', 2, '{not json', "
                      "'{\"event_id\":\"x\"}', '2026-01-05T10:00:01.000000Z')")
    fresh = CartService(store, CATALOG, new_id=counter("fresh"))
    for attempt in (lambda: fresh.add_item("c1", SKU_A, 1), lambda: fresh.create_cart("c1"),
                    lambda: service.check_out("c1")):
        with pytest.raises(StoreError, match="position 2: ItemAdded data is not valid JSON"):
            attempt()
    assert store.head_position() == 2


# -- the in-process cache ------------------------------------------------------------------------

def test_a_stale_cache_costs_one_refused_append_never_a_wrong_event(store, service, other,
                                                                    monkeypatch):
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 2)  # the service now holds c1 in its cache
    other.append("c1", [event("ItemRemoved", "theirs", sku=SKU_A)], expected_version=2)
    appends = count_appends(store, monkeypatch)
    with pytest.raises(errors.SkuNotInCart):
        service.change_quantity("c1", SKU_A, 5)
    # Decided on the cached cart, appended at its version 2, refused by the
    # store (the cart is at 3); decided again on the stored cart: refused.
    assert [version for _, _, version, _ in appends] == [2]
    assert [r.type for r in store.read_stream("c1")] == ["CartCreated", "ItemAdded", "ItemRemoved"]


def test_a_refusal_decided_on_the_cache_is_decided_again_on_the_stored_cart(store, service, other):
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 2)
    other.append("c1", [item_added(SKU_B, 1, "theirs")], expected_version=2)
    result = service.change_quantity("c1", SKU_B, 7)  # the cache holds no SKU_B line
    assert result.attempts == 1  # the refusal was checked before appending, not rescued by a retry
    assert result.state.lines[SKU_B].quantity == 7
    other.append("c1", [event("CartCheckedOut", "theirs-2", total_cents=result.state.total_cents,
                              item_count=result.state.item_count)], expected_version=4)
    with pytest.raises(errors.CartCheckedOut):
        service.add_item("c1", SKU_A, 1)


def test_the_cache_sees_another_writer_on_the_same_connection(store, service):
    # The TUI may run an import or a second service over the very same store.
    service.create_cart("c1")
    service.add_item("c1", SKU_A, 2)
    second = CartService(store, CATALOG, new_id=counter("second"))
    second.change_quantity("c1", SKU_A, 9)
    back_to_two = service.change_quantity("c1", SKU_A, 2)  # not "already 2, nothing to do"
    assert [r.type for r in back_to_two.events] == ["ItemQuantityChanged"]
    second.add_item("c1", SKU_B, 1)
    assert service.change_quantity("c1", SKU_B, 3).state.lines[SKU_B].quantity == 3
    store.append("c1", [event("ItemRemoved", "direct", sku=SKU_A)], ANY)
    with pytest.raises(errors.SkuNotInCart):
        service.remove_item("c1", SKU_A)
    assert service.check_out("c1").state.status == "checked_out"
    assert service.load("c1").state.item_count == 3
    assert [r.version for r in store.read_stream("c1")] == list(range(1, 9))


def test_a_command_whose_event_ids_are_taken_is_not_reported_as_done(store):
    # Two services whose new_id both count from 1 (a test harness, a replayed
    # seed): the second one's first event id is already stored. The store takes
    # such an append for a retry and writes nothing; the command must not
    # pretend it happened.
    CartService(store, CATALOG, new_id=counter()).create_cart("c1")  # ids id-1, id-2
    second = CartService(store, CATALOG, new_id=counter())
    result = second.add_item("c1", SKU_A, 2)
    assert [r.type for r in result.events] == ["ItemAdded"]
    assert second.load("c1").state.lines[SKU_A].quantity == 2
    assert result.attempts == 2


def test_when_every_new_id_is_taken_the_command_fails_and_writes_nothing(store):
    CartService(store, CATALOG, new_id=counter()).create_cart("c1")
    stuck = CartService(store, CATALOG, new_id=lambda: "id-2", max_attempts=2)
    with pytest.raises(ConcurrencyError):
        stuck.add_item("c1", SKU_A, 2)
    assert store.head_position() == 1
