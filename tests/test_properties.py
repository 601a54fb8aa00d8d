"""Properties of the whole engine, on random command sequences run through the
service on a real SQLite file (a fresh one per example):

1. replaying a cart's stored events from zero gives the state the service last returned;
2. the state at position P is the fold of the cart's events with position <= P;
3. loading from snapshots gives the same state as a full replay;
4. a command refused by a rule appends nothing;
and every stored event is one the rules allow (`check`) where it stands.

Three writers take turns: a service, a second service on the same connection
and a third on another connection, so the cache is exercised as well.
"""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from cartui.domain import check, errors, evolve, fold, initial_state
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore

CATALOG = load_catalog()
CARTS = ["c1", "c2", "c3"]
SKUS = [*list(CATALOG)[:3], "NOT-A-SKU"]
QUANTITIES = [1, 2, 3, 1, 2, 3, 40, 60, 98, 99, -1, 0, 100, 2.5]
SNAPSHOT_EVERY = 3

# Weighted by repetition: mostly adds and changes, on the carts the script starts
# with; checkouts are rare since they end a cart.
KINDS = ["add_item"] * 6 + ["change_quantity"] * 3 + ["remove_item"] * 2 + ["create_cart", "check_out"]


@st.composite
def commands(draw) -> tuple:
    """(service method, writer, cart_id, *arguments)."""
    kind = draw(st.sampled_from(KINDS))
    head = (kind, draw(st.integers(0, 2)), draw(st.sampled_from(["c1", "c1", "c2", "c2", "c3"])))
    if kind == "create_cart":
        return (*head, draw(st.sampled_from([None, "ada"])))
    if kind == "check_out":
        return head
    sku = draw(st.sampled_from([*SKUS, *SKUS[:3]]))
    if kind == "remove_item":
        return (*head, sku)
    return (*head, sku, draw(st.sampled_from(QUANTITIES)))


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def replay(store: EventStore, service: CartService, cart_id: str, up_to: int | None = None):
    rows = store.read_all(1, stream_id=cart_id, up_to_position=up_to)
    return fold(initial_state(cart_id), (service.decode(row) for row in rows))


@PROPERTY_SETTINGS
@given(script=st.lists(commands(), min_size=15, max_size=60), data=st.data())
def test_the_log_is_the_truth_whatever_the_commands(script, data):
    # c1 and c2 exist from the start so that most commands have a cart to act on;
    # c3 only if the script creates it.
    script = [("create_cart", 0, "c1", None), ("create_cart", 2, "c2", "ada"), *script]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.db"
        with EventStore(path) as store, EventStore(path) as other:
            services = [CartService(store, CATALOG, snapshot_every=SNAPSHOT_EVERY),
                        CartService(store, CATALOG, snapshot_every=SNAPSHOT_EVERY),
                        CartService(other, CATALOG, snapshot_every=SNAPSHOT_EVERY)]
            returned = {}
            for name, writer, cart_id, *args in script:
                head = store.head_position()
                try:
                    result = getattr(services[writer], name)(cart_id, *args)
                except errors.DomainError:
                    assert store.head_position() == head  # (4) a refusal appends nothing
                    continue
                # Nobody writes concurrently here: only a cache made stale by another
                # service's write costs a second attempt.
                assert result.attempts <= 2
                assert [r.position for r in result.events] == list(
                    range(head + 1, head + 1 + len(result.events)))
                returned[cart_id] = result.state

            service = services[0]
            head = store.head_position()
            for cart_id in CARTS:  # (1) replay from zero == what the service last said
                assert replay(store, service, cart_id) == returned.get(cart_id, initial_state(cart_id))

            state = {}
            for row in store.read_all():  # every stored event is one the rules allow
                before = state.get(row.stream_id) or initial_state(row.stream_id)
                event = service.decode(row)
                check(before, event)
                state[row.stream_id] = evolve(before, event)

            positions = sorted({0, head, *data.draw(st.lists(st.integers(0, head), max_size=4))})
            for cart_id in CARTS:  # (2) state at P == fold of events <= P, via snapshots
                with_snapshots = [service.load(cart_id, at_position=p) for p in positions]
                assert [loaded.state for loaded in with_snapshots] == [
                    replay(store, service, cart_id, p) for p in positions]
                assert [loaded.as_of_position for loaded in with_snapshots] == positions
                assert all(not loaded.undecodable for loaded in with_snapshots)

            latest = {cart_id: service.load(cart_id).state for cart_id in CARTS}
            store.drop_snapshots()  # (3) snapshots change nothing but speed
            fresh = CartService(store, CATALOG)
            assert {cart_id: fresh.load(cart_id).state for cart_id in CARTS} == latest
            for cart_id in CARTS:
                assert [fresh.load(cart_id, at_position=p).state for p in positions] == [
                    replay(store, service, cart_id, p) for p in positions]


@PROPERTY_SETTINGS
@given(script=st.lists(st.tuples(st.sampled_from(SKUS[:2]), st.integers(1, 40)), max_size=12))
def test_snapshots_taken_every_few_versions_match_a_full_replay(script):
    # Long single-cart histories so that many snapshots are taken and used.
    with tempfile.TemporaryDirectory() as tmp, EventStore(Path(tmp) / "events.db") as store:
        service = CartService(store, CATALOG, snapshot_every=SNAPSHOT_EVERY)
        service.create_cart("c1")
        for sku, quantity in script:
            try:
                service.add_item("c1", sku, quantity)
            except errors.LineLimitExceeded:
                service.change_quantity("c1", sku, quantity)
        version = service.load("c1").state.version
        snapshot = store.latest_snapshot("c1")
        assert (snapshot[0] if snapshot else 0) == version - version % SNAPSHOT_EVERY
        head = store.head_position()
        with_snapshots = [service.load("c1", at_position=p).state for p in range(head + 1)]
        store.drop_snapshots()
        assert with_snapshots == [service.load("c1", at_position=p).state for p in range(head + 1)]
        assert with_snapshots == [replay(store, service, "c1", p) for p in range(head + 1)]
