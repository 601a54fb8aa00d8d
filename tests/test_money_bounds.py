"""Money is bounded (domain/events.py): no amount an event may record, nor any sum of
them a cart or the projections make, overflows SQLite's 64-bit INTEGER. An import
past a bound is refused naming its line; a stored row past one is undecodable."""

import json
import sqlite3

import orjson
import pytest

from cartui.domain.events import (
    MAX_CART_ITEMS, MAX_CART_TOTAL_CENTS, MAX_LINE_QUANTITY, MAX_UNIT_PRICE_CENTS,
)
from cartui.store import EventStore

AT = "2026-01-05T10:00:00.000000Z"
SQLITE_MAX = 2 ** 63 - 1


def event(stream, version, type_, data, *, schema_version=None) -> dict:
    return {"stream_id": stream, "version": version, "type": type_,
            "schema_version": schema_version or (2 if type_ == "ItemAdded" else 1),
            "data": data, "recorded_at": AT,
            "metadata": {"event_id": f"{stream}-{version}", "correlation_id": None,
                         "causation_id": None}}


def item(sku, price=MAX_UNIT_PRICE_CENTS, quantity=MAX_LINE_QUANTITY) -> dict:
    return {"sku": sku, "name": f"Product {sku}", "unit_price_cents": price, "quantity": quantity}


def write_lines(path, lines) -> str:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return str(path)


def log_of(db) -> bytes:
    with EventStore(db) as store:
        return b"".join(row.export_line() + b"\n" for row in store.read_all(1))


@pytest.fixture
def shop(run_cli, tmp_db):
    """A database the command line made: cart-a, open, one espresso (24.90)."""
    assert run_cli("new", "--cart", "cart-a", "--db", tmp_db).status == 0
    assert run_cli("add", "cart-a", "COF-ESP-1KG", "--db", tmp_db).status == 0
    return tmp_db


FULL_LINES = MAX_CART_TOTAL_CENTS // (MAX_LINE_QUANTITY * MAX_UNIT_PRICE_CENTS)  # 101 would pass
FULL_TOTAL = FULL_LINES * MAX_LINE_QUANTITY * MAX_UNIT_PRICE_CENTS


def full_cart(stream, *, lines=FULL_LINES, checked_out) -> list[dict]:
    """A cart of `lines` lines, each the most of the dearest price (the first of them
    schema 1, its float price at the bound), checked out at its total if asked."""
    events = [event(stream, 1, "CartCreated", {"customer": None}),
              event(stream, 2, "ItemAdded", {"sku": "OLD", "quantity": MAX_LINE_QUANTITY,
                                             "price": MAX_UNIT_PRICE_CENTS / 100}, schema_version=1)]
    events += [event(stream, version, "ItemAdded", item(f"SKU-{version}"))
               for version in range(3, lines + 2)]
    if checked_out:
        events.append(event(stream, lines + 2, "CartCheckedOut",
                            {"total_cents": lines * MAX_LINE_QUANTITY * MAX_UNIT_PRICE_CENTS,
                             "item_count": lines * MAX_LINE_QUANTITY}))
    return events


def test_the_bounds_keep_every_sum_far_inside_sqlite_integers():
    assert FULL_TOTAL <= MAX_CART_TOTAL_CENTS < FULL_TOTAL + MAX_LINE_QUANTITY * MAX_UNIT_PRICE_CENTS
    # A million checkouts at the largest total still fit.
    assert 1_000_000 * MAX_CART_TOTAL_CENTS < SQLITE_MAX


def test_the_catalog_prices_are_far_below_the_unit_price_bound(run_cli):
    products = json.loads(run_cli("catalog", "--json").stdout)
    assert products and max(p["price_cents"] for p in products) * 100 < MAX_UNIT_PRICE_CENTS


@pytest.mark.parametrize("bad, message", [
    ({"type": "ItemAdded", "data": item("X", price=2 ** 63, quantity=1)},
     f"ItemAdded unit_price_cents: Input should be less than or equal to {MAX_UNIT_PRICE_CENTS}"),
    ({"type": "ItemAdded", "data": item("X", price=MAX_UNIT_PRICE_CENTS + 1, quantity=1)},
     f"ItemAdded unit_price_cents: Input should be less than or equal to {MAX_UNIT_PRICE_CENTS}"),
    ({"type": "ItemAdded", "schema_version": 1, "data": {"sku": "X", "quantity": 1, "price": 1e17}},
     f"ItemAdded price: Input should be less than or equal to {MAX_UNIT_PRICE_CENTS // 100}"),
    ({"type": "ItemAdded", "schema_version": 1,
      "data": {"sku": "X", "quantity": 1, "price": MAX_UNIT_PRICE_CENTS / 100 + 0.01}},
     f"ItemAdded price: Input should be less than or equal to {MAX_UNIT_PRICE_CENTS // 100}"),
    ({"type": "CartCheckedOut", "data": {"total_cents": MAX_CART_TOTAL_CENTS + 1, "item_count": 1}},
     f"CartCheckedOut total_cents: Input should be less than or equal to {MAX_CART_TOTAL_CENTS}"),
    ({"type": "CartCheckedOut", "data": {"total_cents": 1, "item_count": MAX_CART_ITEMS + 1}},
     f"CartCheckedOut item_count: Input should be less than or equal to {MAX_CART_ITEMS}"),
], ids=["price-2**63", "price-bound+1", "schema-1-price-1e17", "schema-1-price-bound+0.01",
        "checkout-total", "checkout-items"])
def test_an_import_past_a_bound_is_refused_naming_the_line(run_cli, shop, tmp_path, bad, message):
    before = log_of(shop)
    lines = [event("cart-b", 1, "CartCreated", {"customer": None}),
             event("cart-b", 2, bad["type"], bad["data"], schema_version=bad.get("schema_version"))]
    result = run_cli("import", write_lines(tmp_path / "big.jsonl", lines), "--db", shop)
    assert result.status == 2
    assert result.error_lines == [f"error: line 2: {message}"]
    assert len(result.stderr.splitlines()) == 1
    assert log_of(shop) == before


def test_a_cart_past_what_a_checkout_records_cannot_check_out(run_cli, shop, tmp_path):
    """An imported cart may hold more than a checkout records (101 lines at the largest
    price): its checkout is refused in one line, on import and from the command line."""
    big = full_cart("cart-big", lines=FULL_LINES + 1, checked_out=True)
    before = log_of(shop)
    refused = run_cli("import", write_lines(tmp_path / "big.jsonl", big), "--db", shop)
    assert refused.status == 2
    assert refused.error_lines == [
        f"error: line {FULL_LINES + 3}: CartCheckedOut total_cents: Input should be less than or "
        f"equal to {MAX_CART_TOTAL_CENTS}"]
    assert log_of(shop) == before

    assert run_cli("import", write_lines(tmp_path / "open.jsonl", big[:-1]), "--db", shop).status == 0
    before = log_of(shop)
    checkout = run_cli("checkout", "cart-big", "--db", shop)
    assert checkout.status == 1
    total = (FULL_LINES + 1) * MAX_LINE_QUANTITY * MAX_UNIT_PRICE_CENTS
    assert checkout.error_lines == [
        f"error: cart 'cart-big' holds {(FULL_LINES + 1) * MAX_LINE_QUANTITY} items totalling "
        f"{total} cents, more than a checkout records (at most {MAX_CART_ITEMS} items and "
        f"{MAX_CART_TOTAL_CENTS} cents)"]
    assert log_of(shop) == before
    # Without one line it is within the bounds again.
    assert run_cli("remove", "cart-big", "SKU-3", "--db", shop).status == 0
    assert run_cli("checkout", "cart-big", "--db", shop).status == 0
    assert json.loads(run_cli("show", "cart-big", "--json", "--db", shop).stdout)["total_cents"] \
        == FULL_TOTAL


def test_amounts_at_the_bounds_are_accepted_and_every_reader_sums_them(run_cli, shop, tmp_path):
    lines = full_cart("cart-x", checked_out=True) + full_cart("cart-y", checked_out=True)
    imported = run_cli("import", write_lines(tmp_path / "max.jsonl", lines), "--db", shop)
    assert imported.status == 0, imported.stderr

    carts = run_cli("carts", "--json", "--db", shop)
    assert carts.status == 0, carts.stderr
    totals = {c["cart_id"]: c["total_cents"] for c in json.loads(carts.stdout)}
    assert totals == {"cart-a": 2490, "cart-x": FULL_TOTAL, "cart-y": FULL_TOTAL}

    projections = run_cli("projections", "--json", "--db", shop)
    assert projections.status == 0, projections.stderr
    revenue = json.loads(projections.stdout)["revenue"]
    assert (revenue["orders"], revenue["revenue_cents"]) == (2, 2 * FULL_TOTAL)
    assert run_cli("projections", "--db", shop).status == 0

    shown = run_cli("show", "cart-x", "--json", "--db", shop)
    assert shown.status == 0
    assert json.loads(shown.stdout)["total_cents"] == FULL_TOTAL
    assert run_cli("verify", "--db", shop).status == 0


def insert_rows(db, rows) -> None:
    """Rows written by someone else, with plain sqlite3, after the head."""
    with sqlite3.connect(db, isolation_level=None) as other:
        head = other.execute("SELECT MAX(position) FROM events").fetchone()[0]
        for offset, (stream, version, type_, schema, data) in enumerate(rows, start=1):
            other.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (head + offset, stream, version, type_, schema, data,
                           json.dumps({"event_id": f"raw-{head + offset}", "correlation_id": None,
                                       "causation_id": None}), AT))
    other.close()


def test_a_stored_row_past_a_bound_is_reported_and_skipped_by_every_reader(run_cli, shop):
    insert_rows(shop, [
        ("cart-a", 3, "ItemAdded", 2, '{"sku":"X","name":"X","unit_price_cents":9223372036854775808,'
                                      '"quantity":1}'),
        ("cart-a", 4, "ItemAdded", 1, '{"sku":"Y","quantity":1,"price":1e17}'),
        ("cart-b", 1, "CartCreated", 1, '{"customer":null}'),
        ("cart-b", 2, "ItemAdded", 2, '{"sku":"Z","name":"Z","unit_price_cents":100,"quantity":1}'),
        ("cart-b", 3, "CartCheckedOut", 1, '{"total_cents":18446744073709551616,"item_count":1}'),
    ])
    verify = run_cli("verify", "--db", shop)
    assert verify.status == 1
    assert verify.stdout.splitlines() == [
        "position 3 (cart-a version 3, ItemAdded v2): ItemAdded unit_price_cents: Input should be "
        f"less than or equal to {MAX_UNIT_PRICE_CENTS}",
        "position 4 (cart-a version 4, ItemAdded v1): ItemAdded price: Input should be less than "
        f"or equal to {MAX_UNIT_PRICE_CENTS // 100}",
        "position 7 (cart-b version 3, CartCheckedOut v1): CartCheckedOut total_cents: Input should "
        f"be less than or equal to {MAX_CART_TOTAL_CENTS}",
    ]
    assert verify.error_lines == ["error: 3 of 7 events cannot be decoded"]

    carts = run_cli("carts", "--json", "--db", shop)
    assert carts.status == 0, carts.stderr
    totals = {c["cart_id"]: c["total_cents"] for c in json.loads(carts.stdout)}
    assert totals == {"cart-a": 2490, "cart-b": 100}

    projections = run_cli("projections", "--json", "--db", shop)
    assert projections.status == 0, projections.stderr
    assert json.loads(projections.stdout)["revenue"]["revenue_cents"] == 0

    shown = run_cli("show", "cart-a", "--json", "--db", shop)
    assert shown.status == 0, shown.stderr
    assert json.loads(shown.stdout)["total_cents"] == 2490
    assert run_cli("show", "cart-a", "--db", shop).status == 0
