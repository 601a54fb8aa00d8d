"""Time travel: carts and projections as of a position or a moment, the change an
event made, what-if with events left out, and catching up from another thread."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cartui.bench import synthetic_history, write_history
from cartui.domain import errors, evolve, fold, initial_state
from cartui.history import History, PositionOutOfRange, reenact
from cartui.projections import fold_projections
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore, UndecodableEvent, format_timestamp

CATALOG = load_catalog()
SKU_A, SKU_B, SKU_C = list(CATALOG)[:3]
PRICE_A, PRICE_B = CATALOG[SKU_A].price_cents, CATALOG[SKU_B].price_cents
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class World:
    """A store, a service writing through a hand-moved clock, and a History."""

    def __init__(self, path=":memory:") -> None:
        self.clock = Clock()
        self.store = EventStore(path, clock=self.clock)
        self.service = CartService(self.store, CATALOG, snapshot_every=3)
        self.history = History(self.store, self.service)

    def at(self, minutes: float, command: str, *args):
        """Run a service command at T0 + minutes."""
        self.clock.now = T0 + timedelta(minutes=minutes)
        return getattr(self.service, command)(*args)


@pytest.fixture
def world():
    w = World()
    yield w
    w.store.close()


def plain_projections(store, position, decode=None):
    decode = decode or CartService(store, CATALOG).decode
    return fold_projections(store.read_all(1, up_to_position=position), decode, position)


# -- carts and projections as of a position ------------------------------------------------------

COMMANDS = st.tuples(
    st.sampled_from(["create_cart", "add_item", "add_item", "add_item", "change_quantity",
                     "remove_item", "check_out"]),
    st.sampled_from(["c1", "c2", "c3"]),
    st.sampled_from([SKU_A, SKU_B, SKU_C]),
    st.sampled_from([1, 2, 40, 60, 99]),
    st.sampled_from([0, 0.5, 10, 59.99, 60, 61, 90]),  # minutes since the previous command
)


def run(world: World, commands) -> None:
    minutes = 0.0
    for name, cart, sku, quantity, gap in commands:
        minutes += gap
        args = {"create_cart": (cart,), "check_out": (cart,), "remove_item": (cart, sku)}.get(
            name, (cart, sku, quantity))
        try:
            world.at(minutes, name, *args)
        except errors.DomainError:
            pass  # refused: appends nothing


@PROPERTY
@given(commands=st.lists(COMMANDS, max_size=30))
def test_carts_and_projections_at_every_position_are_the_folds_of_the_first_events(commands):
    world = World()
    run(world, commands)
    world.history.catch_up()
    rows = list(world.store.read_all())
    for position in range(len(rows) + 1):
        for cart in ("c1", "c2", "c3"):
            expected = fold(initial_state(cart), (world.service.decode(r) for r in rows[:position]
                                                  if r.stream_id == cart))
            loaded = world.history.cart_at(cart, position)
            assert (loaded.state, loaded.as_of_position) == (expected, position)
        assert world.history.projections_at(position) == plain_projections(world.store, position)


def test_projections_at_the_head_by_default_and_positions_outside_the_log_refused(world):
    world.at(0, "create_cart", "c1")
    world.at(1, "add_item", "c1", SKU_A, 2)
    assert world.history.projections_at().as_of_position == 2
    assert world.history.projections_at().to_json()["carts"] == {
        "open": 1, "checked_out": 0, "abandoned": 0}
    for position in (-1, 3):
        with pytest.raises(PositionOutOfRange):
            world.history.projections_at(position)
        with pytest.raises(PositionOutOfRange):
            world.history.cart_at("c1", position)
    assert world.history.projections_at(0).to_json() == {
        "as_of_position": 0, "carts": {"open": 0, "checked_out": 0, "abandoned": 0},
        "revenue": {"orders": 0, "revenue_cents": 0, "average_order_cents": 0},
        "products": [], "activity": []}


def test_a_cart_quiet_for_more_than_60_minutes_before_the_event_at_p_is_abandoned(world):
    world.at(0, "create_cart", "quiet")
    world.at(0, "create_cart", "busy")
    world.at(60, "add_item", "busy", SKU_A, 1)  # exactly 60 minutes: not yet
    assert world.history.projections_at(3).carts_abandoned == 0
    world.at(60.001, "add_item", "busy", SKU_A, 1)  # now "quiet" is over 60 minutes old
    assert world.history.projections_at(4).carts_abandoned == 1
    assert world.history.projections_at(3).carts_abandoned == 0


# -- time ----------------------------------------------------------------------------------------

def test_time_lookups_at_the_boundaries(world):
    world.at(0, "create_cart", "c1")  # 1 at 10:00
    world.at(10, "add_item", "c1", SKU_A, 1)  # 2 and 3 at 10:10
    world.at(10, "add_item", "c1", SKU_B, 1)
    world.at(20, "check_out", "c1")  # 4 at 10:20
    at_time = world.history.position_at_time
    assert at_time("2026-01-05T09:59:59.999999Z") == 0  # before the first event
    assert at_time("2026-01-05T10:00:00Z") == 1  # exactly on an event's timestamp
    assert at_time("2026-01-05T10:10:00Z") == 3  # two events at that moment: after both
    assert at_time("2026-01-05T10:15:00Z") == 3  # between two events
    assert at_time("2026-01-05T11:15:00+01:00") == 3  # same instant, another zone
    assert at_time("2026-01-05T10:20:00.000001Z") == 4  # after the last
    assert at_time("2030-01-01T00:00:00Z") == 4
    with pytest.raises(ValueError):
        at_time("2026-01-05T10:00:00")  # no zone: refused, not guessed
    moment = world.history.position_at_time("2026-01-05T10:15:00Z")
    assert world.history.cart_at("c1", moment).state.item_count == 2


# -- the change an event made --------------------------------------------------------------------

def test_the_change_an_event_made_to_its_cart_and_to_the_projections(world):
    world.at(0, "create_cart", "c1")
    world.at(1, "add_item", "c1", SKU_A, 2)
    world.at(2, "add_item", "c1", SKU_B, 1)
    world.at(3, "change_quantity", "c1", SKU_A, 5)
    world.at(4, "check_out", "c1")

    change = world.history.change_at(4)
    assert change.event.type == "ItemQuantityChanged" and change.problem is None
    assert [(c.sku, c.quantity_before, c.quantity_after) for c in change.lines] == [(SKU_A, 2, 5)]
    assert (change.total_before, change.total_after) == (2 * PRICE_A + PRICE_B, 5 * PRICE_A + PRICE_B)
    hour = change.event.recorded_at[:10] + " " + change.event.recorded_at[11:13] + ":00"
    # A quantity change moves no figure by itself, but every event counts in its hour.
    assert change.projection_deltas() == {f"activity {hour}": (3, 4)}

    checkout = world.history.change_at(5)
    assert checkout.cart_before.status == "open" and checkout.cart_after.status == "checked_out"
    assert checkout.projection_deltas() == {
        "carts open": (1, 0), "carts checked out": (0, 1), "orders": (0, 1),
        "revenue (cents)": (0, 5 * PRICE_A + PRICE_B), f"{SKU_A} purchased": (0, 5),
        f"{SKU_B} purchased": (0, 1), f"activity {hour}": (4, 5)}
    with pytest.raises(PositionOutOfRange):
        world.history.change_at(6)


# -- what-if ---------------------------------------------------------------------------------------

def plain_what_if(store, position, skipped):
    """The reference: replay the log without the skipped events, the carts they
    belong to by the what-if rules, then the plain fold of what is left."""
    decode = CartService(store, CATALOG).decode
    rows = list(store.read_all(1, up_to_position=position))
    affected = {r.stream_id for r in rows if r.position in skipped}
    states, kept, replaced, problems = {}, [], {}, []
    for row in rows:
        if row.position in skipped:
            continue
        if row.stream_id in affected:
            try:
                event = decode(row)
            except UndecodableEvent:
                kept.append(row)
                continue
            state = states.get(row.stream_id) or initial_state(row.stream_id)
            try:
                event = reenact(state, event)
            except errors.DomainError as exc:
                problems.append((row.position, str(exc)))
                continue
            states[row.stream_id] = evolve(state, event)
            replaced[row.position] = event
        kept.append(row)
    figures = fold_projections(kept, lambda r: replaced.get(r.position) or decode(r), position)
    return figures, problems


def test_leaving_out_an_item_added_reports_the_removal_that_needed_it(world):
    world.at(0, "create_cart", "c1")
    world.at(1, "add_item", "c1", SKU_A, 2)  # 2: left out
    world.at(2, "add_item", "c1", SKU_B, 1)
    world.at(3, "remove_item", "c1", SKU_A)  # 4: needs 2
    what_if = world.history.what_if(4, frozenset({2}), "c1")
    assert [(p.position, p.message) for p in what_if.problems] == [
        (4, f"sku {SKU_A!r} is not in cart 'c1'")]
    assert list(what_if.cart.lines) == [SKU_B] and what_if.cart.version == 2
    assert what_if.projections.to_json()["products"] == [
        {"sku": SKU_B, "added_quantity": 1, "removed_count": 0, "purchased_quantity": 0}]
    assert world.store.head_position() == 4  # nothing written
    assert world.history.cart_at("c1", 4).state.lines.keys() == {SKU_B}


def test_a_checkout_after_a_left_out_item_happens_at_the_new_total(world):
    world.at(0, "create_cart", "c1")
    world.at(1, "add_item", "c1", SKU_A, 2)  # 2: left out
    world.at(2, "add_item", "c1", SKU_B, 3)
    world.at(3, "check_out", "c1")
    what_if = world.history.what_if(4, frozenset({2}), "c1")
    assert what_if.problems == ()
    assert what_if.cart.status == "checked_out"
    assert what_if.projections.to_json()["revenue"] == {
        "orders": 1, "revenue_cents": 3 * PRICE_B, "average_order_cents": 3 * PRICE_B}
    assert what_if.projections == plain_what_if(world.store, 4, {2})[0]


def test_leaving_out_a_cart_creation_reports_everything_on_that_cart(world):
    world.at(0, "create_cart", "c1")  # 1: left out
    world.at(0, "create_cart", "c2")
    world.at(1, "add_item", "c1", SKU_A, 1)
    world.at(2, "add_item", "c2", SKU_A, 1)
    world.at(3, "check_out", "c1")
    what_if = world.history.what_if(5, frozenset({1}))
    assert [(p.position, p.message) for p in what_if.problems] == [
        (3, "cart 'c1' does not exist"), (5, "cart 'c1' does not exist")]
    assert what_if.projections.to_json()["carts"] == {"open": 1, "checked_out": 0, "abandoned": 0}
    assert what_if.projections.activity == (("2026-01-05T10:00:00Z", 2),)


def test_leaving_out_a_lowered_quantity_makes_a_later_add_exceed_99(world):
    world.at(0, "create_cart", "c1")
    world.at(1, "add_item", "c1", SKU_A, 90)
    world.at(2, "change_quantity", "c1", SKU_A, 10)  # 3: left out
    world.at(3, "add_item", "c1", SKU_A, 50)
    what_if = world.history.what_if(4, frozenset({3}), "c1")
    assert [p.position for p in what_if.problems] == [4]
    assert "at most 99" in what_if.problems[0].message
    assert what_if.cart.lines[SKU_A].quantity == 90


def test_abandoned_carts_in_a_what_if(world):
    world.at(0, "create_cart", "c1")
    world.at(0, "create_cart", "c2")
    world.at(40, "add_item", "c1", SKU_A, 1)  # 3
    world.at(80, "add_item", "c1", SKU_B, 1)  # 4
    world.at(100, "add_item", "c2", SKU_A, 1)  # 5: 60 minutes before it is minute 40
    assert world.history.projections_at(5).carts_abandoned == 0

    def abandoned(skipped):
        what_if = world.history.what_if(5, frozenset(skipped))
        assert what_if.projections == plain_what_if(world.store, 5, skipped)[0]
        return what_if.projections.carts_abandoned

    assert abandoned({4}) == 0  # c1's last event is then at minute 40 exactly: not over 60
    assert abandoned({3, 4}) == 1  # c1 quiet since minute 0
    # Without the event at P, "60 minutes before" counts from the last event left in:
    assert abandoned({5}) == 1  # 4 at minute 80: c2 is quiet since minute 0
    assert abandoned({4, 5}) == 0  # 3 at minute 40: nobody is quiet for 60 minutes yet


def test_leaving_out_nothing_is_the_world_as_recorded(world):
    run(world, [("create_cart", "c1", SKU_A, 1, 0), ("add_item", "c1", SKU_A, 2, 1)])
    what_if = world.history.what_if(2, frozenset({7}), "c1")  # 7 is past P: not in this world
    assert what_if.projections == world.history.projections_at(2)
    assert what_if.cart == world.history.cart_at("c1", 2).state and what_if.problems == ()


@PROPERTY
@given(commands=st.lists(COMMANDS, min_size=1, max_size=30), data=st.data())
def test_what_if_equals_the_plain_replay_without_the_skipped_events(commands, data):
    world = World()
    run(world, commands)
    head = world.store.head_position()
    position = data.draw(st.integers(0, head), label="position")
    skipped = frozenset(data.draw(st.lists(st.integers(1, head + 1), max_size=3), label="skipped")) \
        if head else frozenset()
    world.history.catch_up()
    what_if = world.history.what_if(position, skipped, "c1")
    figures, problems = plain_what_if(world.store, position, skipped)
    assert what_if.projections == figures
    assert [(p.position, p.message) for p in what_if.problems] == problems


# -- the stored projections ----------------------------------------------------------------------

def test_catching_up_in_a_worker_thread_while_the_owner_keeps_asking(tmp_path):
    world = World(tmp_path / "events.db")
    write_history(world.store, synthetic_history(6000, CATALOG), CATALOG)
    assert {lag.lag for lag in world.history.lag()} == {6000}
    progress = []
    worker = threading.Thread(target=world.history.catch_up,
                              args=(lambda done, total: progress.append(done),))
    worker.start()
    answers = [world.history.projections_at(p) for p in (6000, 1, 3000, 5999)]
    worker.join()
    assert progress[-1] == 6000 and {lag.lag for lag in world.history.lag()} == {0}
    for answer in answers:
        assert answer == plain_projections(world.store, answer.as_of_position)
    world.history.rebuild()
    assert world.history.projections_at(4321) == plain_projections(world.store, 4321)


def test_answers_are_read_from_the_log_as_it_grows(world):
    world.at(0, "create_cart", "c1")
    world.history.catch_up()
    assert world.history.projections_at().carts_open == 1
    world.at(1, "create_cart", "c2")  # not caught up: the answer folds past the checkpoint
    assert world.history.projections_at().carts_open == 2
    assert [lag.lag for lag in world.history.lag()] == [1] * 5
    moment = format_timestamp(T0)
    assert world.history.position_at_time(moment) == 1
