"""The cart rules of DESIGN.md, one by one, on the pure decider; and how stored
rows are read back as domain events (upcasting, undecodable rows)."""

import pytest
from hypothesis import given, settings, strategies as st

from cartui.domain import (
    AddItem, CartCheckedOut, CartCreated, CartState, CartTally, Catalog, ChangeQuantity,
    ChangeQuantityBy, CheckOut,
    CreateCart, ItemAdded, ItemQuantityChanged, ItemRemoved, Product, RemoveItem, check, decide,
    errors, evolve, fold, initial_state, validate_cart_id, validate_quantity,
)
from cartui.store import UndecodableEvent, decode_event

CATALOG = Catalog([
    Product("TEA", "Green Tea", 450, "Drinks"),
    Product("MUG", "Stoneware Mug", 1299, "Kitchen"),
])


def run(*commands, catalog=CATALOG, cart_id="c1") -> CartState:
    """Decide and apply commands in order, as the service would."""
    state = initial_state(cart_id)
    for command in commands:
        state = fold(state, decide(command, state, catalog))
    return state


def refused(command, state, catalog=CATALOG) -> errors.DomainError:
    with pytest.raises(errors.DomainError) as info:
        decide(command, state, catalog)
    message = str(info.value)
    assert message and "\n" not in message, f"not one line: {message!r}"
    return info.value


@pytest.fixture
def open_cart() -> CartState:
    return run(CreateCart(cart_id="c1", customer="ada"), AddItem(cart_id="c1", sku="TEA", quantity=2))


@pytest.fixture
def checked_out_cart(open_cart) -> CartState:
    return fold(open_cart, decide(CheckOut(cart_id="c1"), open_cart, CATALOG))


# -- the rules: each refusal has its own type and one line ------------------------------------

def test_a_cart_id_is_created_once(open_cart):
    error = refused(CreateCart(cart_id="c1"), open_cart)
    assert type(error) is errors.CartAlreadyExists
    assert isinstance(error, errors.RuleViolation)
    assert "'c1'" in str(error)


@pytest.mark.parametrize("command", [
    AddItem(cart_id="c1", sku="TEA", quantity=1),
    ChangeQuantity(cart_id="c1", sku="TEA", quantity=1),
    RemoveItem(cart_id="c1", sku="TEA"),
    CheckOut(cart_id="c1"),
], ids=type)
def test_nothing_happens_to_a_cart_that_does_not_exist(command):
    error = refused(command, initial_state("c1"))
    assert type(error) is errors.CartNotFound
    assert isinstance(error, errors.RuleViolation)
    assert "c1" in str(error) and "does not exist" in str(error)


@pytest.mark.parametrize("quantity", [0, 100, -1])
@pytest.mark.parametrize("make", [
    lambda q: AddItem(cart_id="c1", sku="TEA", quantity=q),
    lambda q: ChangeQuantity(cart_id="c1", sku="TEA", quantity=q),
], ids=["add", "set-qty"])
def test_quantities_outside_1_to_99_are_invalid_input(open_cart, make, quantity):
    error = refused(make(quantity), open_cart)
    assert type(error) is errors.InvalidQuantity
    assert isinstance(error, errors.InvalidInput)
    assert "1 to 99" in str(error) and repr(quantity) in str(error)


@pytest.mark.parametrize("quantity", [2.5, "x", None, True, [3]])
@pytest.mark.parametrize("make", [
    lambda q: AddItem(cart_id="c1", sku="TEA", quantity=q),
    lambda q: ChangeQuantity(cart_id="c1", sku="TEA", quantity=q),
], ids=["add", "set-qty"])
def test_a_quantity_that_is_not_a_whole_number_is_invalid_input(open_cart, make, quantity):
    # Refused with the cart's own one-line error, whether the command model
    # or the decider notices: never a multi-line pydantic report.
    with pytest.raises(errors.InvalidQuantity) as info:
        decide(make(quantity), open_cart, CATALOG)
    assert "\n" not in str(info.value)


def test_a_long_quantity_is_cut_in_its_message():
    assert str(errors.InvalidQuantity(10 ** 4000)) == (
        "quantity must be a whole number from 1 to 99, got 10000000000000000000… "
        "(4001 characters)")
    assert str(errors.InvalidQuantity(100)) == "quantity must be a whole number from 1 to 99, got 100"


@pytest.mark.parametrize("quantity", [0, 100, -1, 2.5, "7", True, None])
def test_validate_quantity_accepts_only_whole_numbers_1_to_99(quantity):
    with pytest.raises(errors.InvalidQuantity):
        validate_quantity(quantity)
    assert [validate_quantity(q) for q in (1, 50, 99)] == [1, 50, 99]


def test_only_skus_from_the_catalog_can_be_added(open_cart):
    error = refused(AddItem(cart_id="c1", sku="NOPE", quantity=1), open_cart)
    assert type(error) is errors.UnknownSku
    assert isinstance(error, errors.InvalidInput)
    assert "'NOPE'" in str(error)


@pytest.mark.parametrize("command", [RemoveItem(cart_id="c1", sku="NOPE"),
                                     ChangeQuantity(cart_id="c1", sku="NOPE", quantity=2)])
def test_a_sku_in_neither_the_catalog_nor_the_cart_is_invalid_input(open_cart, command):
    assert type(refused(command, open_cart)) is errors.UnknownSku  # exit 2, as for add
    assert type(refused(command.model_copy(update={"sku": "MUG"}), open_cart)) \
        is errors.SkuNotInCart  # a product of the catalog, not in this cart: exit 1


def test_a_line_whose_product_left_the_catalog_can_still_change_or_go():
    without_tea = Catalog([Product("MUG", "Stoneware Mug", 1299, "Kitchen")])
    state = run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="TEA", quantity=1),
                ChangeQuantity(cart_id="c1", sku="TEA", quantity=3))
    changed = fold(state, decide(ChangeQuantity(cart_id="c1", sku="TEA", quantity=5), state,
                                 without_tea))
    assert changed.lines["TEA"].quantity == 5
    assert "TEA" not in fold(state, decide(RemoveItem(cart_id="c1", sku="TEA"), state,
                                           without_tea)).lines


def test_a_change_by_a_delta_counts_from_the_cart_as_decided():
    state = run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="TEA", quantity=2),
                ChangeQuantityBy(cart_id="c1", sku="TEA", delta=3),
                ChangeQuantityBy(cart_id="c1", sku="TEA", delta=-1))
    assert state.lines["TEA"].quantity == 4
    events = decide(ChangeQuantityBy(cart_id="c1", sku="TEA", delta=1), state, CATALOG)
    assert [(type(e), e.quantity) for e in events] == [(ItemQuantityChanged, 5)]  # as set-qty 5
    for delta, why in [(-4, errors.InvalidQuantity), (96, errors.InvalidQuantity)]:
        assert type(refused(ChangeQuantityBy(cart_id="c1", sku="TEA", delta=delta), state)) is why
    assert type(refused(ChangeQuantityBy(cart_id="c1", sku="MUG", delta=1), state)) \
        is errors.SkuNotInCart
    done = run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="TEA", quantity=99),
               CheckOut(cart_id="c1"))
    assert type(refused(ChangeQuantityBy(cart_id="c1", sku="TEA", delta=1), done)) \
        is errors.CartCheckedOut  # closed: that is the reason, not 100


def test_a_line_never_exceeds_99_through_repeated_adds(open_cart):
    state = run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="TEA", quantity=60),
                AddItem(cart_id="c1", sku="TEA", quantity=39))
    assert state.lines["TEA"].quantity == 99
    error = refused(AddItem(cart_id="c1", sku="TEA", quantity=1), state)
    assert type(error) is errors.LineLimitExceeded
    assert isinstance(error, errors.RuleViolation)
    assert "99" in str(error) and "100" in str(error)
    # Another sku is its own line.
    assert run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="TEA", quantity=99),
               AddItem(cart_id="c1", sku="MUG", quantity=99)).item_count == 198


@pytest.mark.parametrize("command", [
    ChangeQuantity(cart_id="c1", sku="MUG", quantity=3),
    RemoveItem(cart_id="c1", sku="MUG"),
], ids=type)
def test_changing_or_removing_needs_the_sku_in_the_cart(open_cart, command):
    error = refused(command, open_cart)  # MUG is in the catalog, not in the cart
    assert type(error) is errors.SkuNotInCart
    assert isinstance(error, errors.RuleViolation)
    assert "'MUG'" in str(error) and "'c1'" in str(error)


@pytest.mark.parametrize("command", [
    AddItem(cart_id="c1", sku="MUG", quantity=1),
    ChangeQuantity(cart_id="c1", sku="TEA", quantity=5),
    RemoveItem(cart_id="c1", sku="TEA"),
    CheckOut(cart_id="c1"),
], ids=type)
def test_a_checked_out_cart_accepts_nothing_more(checked_out_cart, command):
    error = refused(command, checked_out_cart)
    assert type(error) is errors.CartCheckedOut
    assert isinstance(error, errors.RuleViolation)
    assert "checked out" in str(error)


def test_a_checked_out_cart_cannot_be_created_again(checked_out_cart):
    assert type(refused(CreateCart(cart_id="c1"), checked_out_cart)) is errors.CartAlreadyExists


def test_an_empty_cart_cannot_be_checked_out():
    created = run(CreateCart(cart_id="c1"))
    error = refused(CheckOut(cart_id="c1"), created)
    assert type(error) is errors.EmptyCart
    assert isinstance(error, errors.RuleViolation)
    emptied = run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="MUG", quantity=1),
                  RemoveItem(cart_id="c1", sku="MUG"))
    assert type(refused(CheckOut(cart_id="c1"), emptied)) is errors.EmptyCart


@pytest.mark.parametrize("cart_id", ["", " c1", "c1\n", "x" * 65])
def test_a_cart_id_must_be_visible_text(cart_id):
    error = refused(CreateCart(cart_id=cart_id), initial_state(cart_id))
    assert type(error) is errors.InvalidCartId
    assert isinstance(error, errors.InvalidInput)


def test_a_new_cart_id_cannot_begin_like_an_option_but_a_stored_one_is_read():
    error = refused(CreateCart(cart_id="-x"), initial_state("-x"))
    assert type(error) is errors.InvalidCartId and "must not begin with '-'" in str(error)
    assert run(CreateCart(cart_id="x-"), cart_id="x-").status == "open"
    assert validate_cart_id("-x") == "-x"  # imported under that id: still a cart to read


def test_a_customer_name_too_long_to_store_is_invalid_input():
    error = refused(CreateCart(cart_id="c1", customer="x" * 201), initial_state("c1"))
    assert type(error) is errors.InvalidCustomer
    assert isinstance(error, errors.InvalidInput)
    assert run(CreateCart(cart_id="c1", customer="x" * 200)).customer == "x" * 200


@pytest.mark.parametrize("customer", ["x\x1b[2Jy", "line\nbreak", "tab\there", "bell\x07", "c1\x9b",
                                      "line\u2028separator", "turned\u202earound"])
def test_a_customer_name_with_control_characters_is_invalid_input(customer):
    error = refused(CreateCart(cart_id="c1", customer=customer), initial_state("c1"))
    assert type(error) is errors.InvalidCustomer
    assert "without control characters" in str(error) and "\n" not in str(error)


def test_a_customer_name_that_is_not_unicode_text_is_invalid_input():
    """A lone surrogate: how Python passes on argument bytes that are not UTF-8."""
    error = refused(CreateCart(cart_id="c1", customer="Zo\udceb"), initial_state("c1"))
    assert type(error) is errors.InvalidCustomer
    assert str(error).startswith("a customer name must be UTF-8 text, got 'Zo\\udceb'")


def test_a_customer_name_may_hold_any_printable_text():
    name = "Zoë Ó Briain-García 👩‍💻 (VIP)"  # accents, an emoji joined by U+200D
    assert run(CreateCart(cart_id="c1", customer=name)).customer == name


# -- what the events record -------------------------------------------------------------------

def test_creating_records_the_customer():
    assert decide(CreateCart(cart_id="c1", customer="ada"), initial_state("c1"), CATALOG) == [
        CartCreated(customer="ada")]
    state = run(CreateCart(cart_id="c1", customer="ada"))
    assert (state.status, state.customer, state.version, state.lines) == ("open", "ada", 1, {})


def test_adding_records_name_and_price_of_the_moment(open_cart):
    assert decide(AddItem(cart_id="c1", sku="MUG", quantity=3), open_cart, CATALOG) == [
        ItemAdded(sku="MUG", name="Stoneware Mug", unit_price_cents=1299, quantity=3)]


def test_adding_a_sku_already_in_the_cart_appends_another_item_added_and_raises_the_line(open_cart):
    events = decide(AddItem(cart_id="c1", sku="TEA", quantity=5), open_cart, CATALOG)
    assert events == [ItemAdded(sku="TEA", name="Green Tea", unit_price_cents=450, quantity=5)]
    state = fold(open_cart, events)
    assert list(state.lines) == ["TEA"]
    assert state.lines["TEA"].quantity == 7
    assert state.version == open_cart.version + 1


def test_a_line_keeps_the_unit_price_of_its_latest_item_added(open_cart):
    dearer = Catalog([Product("TEA", "Green Tea (new)", 500, "Drinks")])
    state = fold(open_cart, decide(AddItem(cart_id="c1", sku="TEA", quantity=1), open_cart, dearer))
    line = state.lines["TEA"]
    assert (line.quantity, line.unit_price_cents, line.name) == (3, 500, "Green Tea (new)")
    assert line.line_total_cents == 1500
    assert state.total_cents == 1500


def test_a_later_catalog_change_does_not_rewrite_the_cart(open_cart):
    # The price lives in the ItemAdded event, not in the catalog.
    assert open_cart.lines["TEA"].unit_price_cents == 450
    dearer = Catalog([Product("TEA", "Green Tea", 999, "Drinks")])
    changed = fold(open_cart, decide(ChangeQuantity(cart_id="c1", sku="TEA", quantity=4),
                                     open_cart, dearer))
    assert changed.lines["TEA"].unit_price_cents == 450
    assert changed.total_cents == 1800


def test_changing_the_quantity_sets_the_line(open_cart):
    events = decide(ChangeQuantity(cart_id="c1", sku="TEA", quantity=9), open_cart, CATALOG)
    assert events == [ItemQuantityChanged(sku="TEA", quantity=9)]
    assert fold(open_cart, events).lines["TEA"].quantity == 9


def test_setting_the_quantity_a_line_already_has_records_nothing(open_cart):
    assert decide(ChangeQuantity(cart_id="c1", sku="TEA", quantity=2), open_cart, CATALOG) == []


def test_removing_drops_the_line_and_a_readd_starts_fresh(open_cart):
    state = run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="TEA", quantity=2),
                AddItem(cart_id="c1", sku="MUG", quantity=1), RemoveItem(cart_id="c1", sku="TEA"))
    assert list(state.lines) == ["MUG"]
    state = fold(state, decide(AddItem(cart_id="c1", sku="TEA", quantity=1), state, CATALOG))
    assert list(state.lines) == ["MUG", "TEA"]
    assert state.lines["TEA"].quantity == 1


def test_checkout_records_total_cents_and_item_count():
    state = run(CreateCart(cart_id="c1"), AddItem(cart_id="c1", sku="TEA", quantity=3),
                AddItem(cart_id="c1", sku="MUG", quantity=2))
    events = decide(CheckOut(cart_id="c1"), state, CATALOG)
    assert events == [CartCheckedOut(total_cents=3 * 450 + 2 * 1299, item_count=5)]
    after = fold(state, events)
    assert after.status == "checked_out"
    assert after.total_cents == 3948 and after.item_count == 5


def test_state_survives_a_snapshot_round_trip(open_cart):
    state = run(CreateCart(cart_id="c1", customer=None), AddItem(cart_id="c1", sku="MUG", quantity=2),
                AddItem(cart_id="c1", sku="TEA", quantity=1), CheckOut(cart_id="c1"))
    assert CartState.from_dict(state.to_dict()) == state
    assert list(CartState.from_dict(state.to_dict()).lines) == ["MUG", "TEA"]


# -- check: would the rules have allowed this event here? ----------------------------------------

TEA_ADDED = ItemAdded(sku="TEA", name="Green Tea", unit_price_cents=450, quantity=1)


@pytest.mark.parametrize("state_name, event, error", [
    ("open", CartCreated(customer=None), errors.CartAlreadyExists),
    ("new", TEA_ADDED, errors.CartNotFound),
    ("new", ItemRemoved(sku="TEA"), errors.CartNotFound),
    ("open", ItemAdded(sku="TEA", name="Green Tea", unit_price_cents=450, quantity=98),
     errors.LineLimitExceeded),
    ("open", ItemQuantityChanged(sku="MUG", quantity=1), errors.SkuNotInCart),
    ("open", ItemRemoved(sku="MUG"), errors.SkuNotInCart),
    ("checked_out", TEA_ADDED, errors.CartCheckedOut),
    ("checked_out", ItemRemoved(sku="TEA"), errors.CartCheckedOut),
    ("checked_out", CartCheckedOut(total_cents=900, item_count=2), errors.CartCheckedOut),
    ("created", CartCheckedOut(total_cents=0, item_count=1), errors.EmptyCart),
    ("open", CartCheckedOut(total_cents=899, item_count=2), errors.EventMismatch),
    ("open", CartCheckedOut(total_cents=900, item_count=3), errors.EventMismatch),
])
def test_check_refuses_events_that_break_a_rule(open_cart, checked_out_cart, state_name, event, error):
    state = {"new": initial_state("c1"), "created": run(CreateCart(cart_id="c1")),
             "open": open_cart, "checked_out": checked_out_cart}[state_name]
    with pytest.raises(error) as info:
        check(state, event)
    assert "\n" not in str(info.value)


def test_check_accepts_what_the_rules_allow_even_at_an_old_price(open_cart):
    check(initial_state("c1"), CartCreated(customer=None))
    check(open_cart, ItemAdded(sku="ZZZ", name="Gone from the catalog", unit_price_cents=1, quantity=97))
    check(open_cart, ItemAdded(sku="TEA", name="Green Tea", unit_price_cents=1, quantity=97))
    check(open_cart, ItemQuantityChanged(sku="TEA", quantity=99))
    check(open_cart, ItemRemoved(sku="TEA"))
    check(open_cart, CartCheckedOut(total_cents=900, item_count=2))


def test_evolve_counts_versions(open_cart):
    assert open_cart.version == 2
    assert evolve(open_cart, ItemRemoved(sku="TEA")).version == 3


# -- CartTally: the same rules, on the little of a cart they read -------------------------------

@st.composite
def cart_events(draw, state: CartState):
    """Any event, often one the rules allow from `state`, often one they refuse."""
    sku = draw(st.sampled_from(["TEA", "MUG", "PEN", *state.lines]))
    kind = draw(st.sampled_from(["created", "added", "added", "added", "changed", "removed",
                                 "checked_out"]))
    if kind == "created":
        return CartCreated(customer=draw(st.sampled_from([None, "ada"])))
    if kind == "added":
        return ItemAdded(sku=sku, name=draw(st.sampled_from(["Tea", "Old name"])),
                         unit_price_cents=draw(st.sampled_from([0, 1, 450, 1299])),
                         quantity=draw(st.sampled_from([1, 2, 40, 60, 98, 99])))
    if kind == "changed":
        return ItemQuantityChanged(sku=sku, quantity=draw(st.integers(1, 99)))
    if kind == "removed":
        return ItemRemoved(sku=sku)
    total, count = state.total_cents, state.item_count
    if draw(st.booleans()):  # figures that disagree with the cart, a little or wholly
        total += draw(st.sampled_from([-1, 0, 1, 450]))
        count += draw(st.sampled_from([-1, 0, 1]))
    return CartCheckedOut(total_cents=max(total, 0), item_count=max(count, 1))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), length=st.integers(1, 40))
def test_a_tally_refuses_and_applies_exactly_what_check_and_evolve_do(data, length):
    state, tally = initial_state("c1"), CartTally("c1")
    for _ in range(length):
        event = data.draw(cart_events(state))
        try:
            check(state, event)
        except errors.DomainError as refusal:
            with pytest.raises(type(refusal)) as info:
                tally.apply(event)
            assert str(info.value) == str(refusal)  # the same one-line message
        else:
            tally.apply(event)
            state = evolve(state, event)
        assert tally == CartTally.of(state)  # a refused event changed nothing


def test_a_tally_of_a_checked_out_cart_keeps_no_lines(checked_out_cart):
    tally = CartTally.of(checked_out_cart)
    assert (tally.status, tally.version, tally.lines) == ("checked_out", 3, {})
    with pytest.raises(errors.CartCheckedOut):
        tally.apply(TEA_ADDED)
    with pytest.raises(TypeError):
        CartTally("c1").apply(AddItem(cart_id="c1", sku="TEA", quantity=1))


# -- reading stored rows: upcasting and undecodable rows -----------------------------------------

NAMES = CATALOG.names()


def test_item_added_schema_1_is_upcast_with_cents_and_the_catalog_name():
    event = decode_event("ItemAdded", 1, '{"sku": "TEA", "quantity": 2, "price": 19.99}', NAMES, 7)
    # 19.99 * 100 is 1998.9999999999998 in floating point: rounded, not truncated.
    assert event == ItemAdded(sku="TEA", name="Green Tea", unit_price_cents=1999, quantity=2)


def test_item_added_schema_1_takes_the_sku_as_name_when_the_catalog_does_not_know_it():
    event = decode_event("ItemAdded", 1, '{"sku": "OLD-1", "quantity": 1, "price": 4.5}', NAMES, 7)
    assert event == ItemAdded(sku="OLD-1", name="OLD-1", unit_price_cents=450, quantity=1)


def test_item_added_schema_1_accepts_a_whole_number_price():
    event = decode_event("ItemAdded", 1, '{"sku": "TEA", "quantity": 1, "price": 3}', NAMES, 7)
    assert event.unit_price_cents == 300


def test_current_schema_rows_decode_as_they_were_written():
    for event in [CartCreated(customer="ada"), TEA_ADDED, ItemQuantityChanged(sku="TEA", quantity=3),
                  ItemRemoved(sku="TEA"), CartCheckedOut(total_cents=450, item_count=1)]:
        import orjson
        schema = 2 if event.type == "ItemAdded" else 1
        assert decode_event(event.type, schema, orjson.dumps(event.data()), NAMES, 1) == event


@pytest.mark.parametrize("type_, schema, data, reason", [
    ("CartDeleted", 1, '{}', "unknown event type"),
    ("CartCreated", 1, '{"customer": ', "not valid JSON"),
    ("ItemAdded", 2, 'not json at all', "not valid JSON"),
    ("ItemAdded", 2, '{"sku": "TEA", "name": "Tea", "unit_price_cents": 450, "quantity": 0}', "quantity"),
    ("ItemAdded", 2, '{"sku": "TEA", "name": "Tea", "unit_price_cents": "450", "quantity": 1}',
     "unit_price_cents"),
    ("ItemRemoved", 1, '{}', "sku"),
    ("ItemRemoved", 1, '{"sku": "TEA", "extra": 1}', "extra"),
    ("ItemRemoved", 1, '[]', "ItemRemoved"),
    ("ItemAdded", 1, '{"sku": "TEA", "quantity": 1, "price": -1.0}', "price"),
    ("ItemAdded", 1, '{"sku": "TEA", "quantity": 1, "price": 1e307}', "price"),
    ("ItemAdded", 3, '{"sku": "TEA", "name": "Tea", "unit_price_cents": 450, "quantity": 1}',
     "unknown schema version 3"),
    ("CartCreated", 2, '{"customer": null}', "unknown schema version 2"),
])
def test_rows_that_cannot_be_decoded_raise_undecodable_event_with_their_position(
        type_, schema, data, reason):
    with pytest.raises(UndecodableEvent) as info:
        decode_event(type_, schema, data, NAMES, position=42)
    assert info.value.position == 42
    assert reason in info.value.reason
    assert str(info.value).startswith("position 42: ")
    assert "\n" not in str(info.value)
