"""Rows another program wrote into the log: text that is not UTF-8, BLOBs, data
that is not JSON, a recorded_at that is no time. Every reader reports such a
row by position or shows it as best it can, and goes on; none of them stops."""

import json
import sqlite3

import orjson
import pytest

from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import NO_STREAM, ConcurrencyError, EventStore, NewEvent, NotUtf8Text, StoreError

METADATA = '{"event_id":"%s","correlation_id":null,"causation_id":null}'


@pytest.fixture
def shop(tmp_db):
    """Two carts by cartui (positions 1-4), then whatever a test inserts."""
    service = CartService(EventStore(tmp_db), load_catalog())
    service.create_cart("cart-a", customer="Ada")
    service.add_item("cart-a", "COF-ESP-1KG", 2)
    service.create_cart("cart-b")
    service.add_item("cart-b", "TEA-EGR-100", 1)
    service.store.close()
    return tmp_db


def insert_foreign(db, stream_id_sql: str, data_sql: str,
                   recorded_at_sql: str = "'2030-01-01T00:00:00.000000Z'", *, event_id: str) -> int:
    """Insert one CartCreated row as another program might, values as SQL literals."""
    with sqlite3.connect(db, isolation_level=None) as conn:
        position = conn.execute("SELECT MAX(position) + 1 FROM events").fetchone()[0]
        conn.execute(f"INSERT INTO events VALUES (?, {stream_id_sql}, 1, 'CartCreated', 1, "
                     f"{data_sql}, ?, {recorded_at_sql})", (position, METADATA % event_id))
    conn.close()
    return position


NOT_UTF8_DATA = "CAST(x'7b22637573746f6d6572223a22636166e9227d' AS TEXT)"  # {"customer":"caf\xe9"}


def test_every_row_is_read_past_one_whose_text_is_not_utf8(shop):
    bad = insert_foreign(shop, "'cart-x'", NOT_UTF8_DATA, event_id="f1")
    insert_foreign(shop, "'cart-y'", "'{\"customer\":null}'", event_id="f2")
    with EventStore(shop) as store:
        rows = list(store.read_all(1))
        assert [r.position for r in rows] == [1, 2, 3, 4, 5, 6]
        assert type(rows[bad - 1].data) is NotUtf8Text and "caf\ufffd" in rows[bad - 1].data
        assert [r.position for r in store.read_range(1, 6)] == [1, 2, 3, 4, 5, 6]
        assert store.get(bad).data == rows[bad - 1].data
        assert [type(r.data) for r in store.read_all(bad + 1)] == [str]  # the lenient read ended


def test_the_commands_report_text_that_is_not_utf8_and_go_on(run_cli, shop):
    data = insert_foreign(shop, "'cart-x'", NOT_UTF8_DATA, event_id="f1")
    stream = insert_foreign(shop, "CAST(x'636172742dff' AS TEXT)", "'{\"customer\":null}'",
                            event_id="f2")
    verify = run_cli("verify", "--db", shop)
    assert verify.status == 1
    assert verify.stdout.splitlines() == [
        f"position {data} (cart-x version 1, CartCreated v1): CartCreated data is not UTF-8 text",
        f"position {stream} (cart-\ufffd version 1, CartCreated v1): stream_id is not UTF-8 text"]
    for command in (["carts", "--json"], ["projections", "--json"], ["events"], ["show", "cart-a"]):
        result = run_cli(*command, "--db", shop)
        assert result.status == 0, (command, result.stderr)
    projections = run_cli("projections", "--json", "--db", shop)
    assert f"1 event cannot be decoded and was skipped (position {data};" in projections.stderr
    shown = run_cli("show", "cart-x", "--db", shop)  # its one event does not decode
    assert shown.stderr.splitlines() == [
        f"warning: skipped position {data}: CartCreated data is not UTF-8 text",
        "error: cart 'cart-x' does not exist"]


def test_blobs_in_text_columns_are_read_as_their_text(run_cli, shop, tmp_path):
    blob_data = insert_foreign(shop, "'cart-x'", "x'fffe'", event_id="f1")
    blob_stream = insert_foreign(shop, "x'636172742d7a'", "'{\"customer\":null}'", event_id="f2")
    insert_foreign(shop, "'cart-w'", "CAST('{\"customer\":null}' AS BLOB)", event_id="f3")  # JSON
    exported = tmp_path / "out.jsonl"
    for command in (["events"], ["export", exported], ["projections"], ["carts", "--json"]):
        result = run_cli(*command, "--db", shop)
        assert result.status == 0, (command, result.stderr)
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert lines[blob_stream - 1]["stream_id"] == "cart-z"
    carts = json.loads(run_cli("carts", "--json", "--db", shop).stdout)
    assert [c["cart_id"] for c in carts] == ["cart-a", "cart-b", "cart-z", "cart-w"]  # not cart-x
    verify = run_cli("verify", "--db", shop)
    assert verify.stdout.splitlines() == [
        f"position {blob_data} (cart-x version 1, CartCreated v1): "
        "CartCreated data is not UTF-8 text"]


def test_data_that_is_not_json_is_exported_as_a_string_which_import_refuses(run_cli, shop,
                                                                             tmp_path):
    bad = insert_foreign(shop, "'cart-x'", "'{not json'", event_id="f1")
    exported = tmp_path / "out.jsonl"
    assert run_cli("export", exported, "--db", shop).status == 0
    # Every line is JSON.
    lines = [orjson.loads(line) for line in exported.read_bytes().splitlines()]
    assert lines[bad - 1]["data"] == "{not json"
    events = run_cli("events", "--from", bad, "--db", shop)
    assert orjson.loads(events.stdout)["data"] == "{not json"
    imported = run_cli("import", exported, "--db", tmp_path / "copy.db")
    assert imported.status == 2
    assert imported.error_lines == [f"error: line {bad}: data must be a JSON object"]


@pytest.mark.parametrize("no_time", [
    "garbage",  # after every time, in text order
    "2031-13-45T10:00:00Z",  # after every real time of 2031
    "2031-02-30T10:00:00.000000Z",
    "2031-02-28T24:00:00.000000Z",
], ids=["garbage", "no such month", "no such day", "no such hour"])
def test_a_recorded_at_that_is_no_time_is_reported_and_not_inherited(run_cli, shop, no_time):
    bad = insert_foreign(shop, "'cart-x'", "'{\"customer\":null}'", f"'{no_time}'", event_id="f1")
    # Its cart is shown, with a warning, and not changed, as README says of bad rows.
    refused = run_cli("add", "cart-x", "COF-ESP-1KG", "--db", shop)
    assert refused.status == 2 and refused.error_lines == [
        f"error: cart 'cart-x' has an event recorded at no time (position {bad}: recorded_at "
        f"'{no_time}' is no time), written by another program, so it cannot be changed"]
    shown = run_cli("show", "cart-x", "--db", shop)
    assert shown.status == 0 and "warning: an event recorded at no time" in shown.stderr
    assert run_cli("add", "cart-a", "COF-ESP-1KG", "--db", shop).status == 0
    assert run_cli("new", "--cart", "cart-later", "--db", shop).status == 0
    with EventStore(shop) as store:
        times = [r.recorded_at for r in store.read_all(bad + 1)]
        assert store.head_recorded_at() == times[-1]
    assert len(times) == 2 and all(t.startswith("20") and t.endswith("Z") for t in times)
    assert times == sorted(times)
    verify = run_cli("verify", "--db", shop)
    assert verify.stdout.splitlines() == [
        f"position {bad} (cart-x version 1, CartCreated v1): recorded_at: "
        f"not a time: '{no_time}' (like 2026-01-06T14:00Z)"]
    projections = run_cli("projections", "--json", "--db", shop)
    assert projections.status == 0, projections.stderr
    figures = json.loads(projections.stdout)
    # Every event but that one counted in an hour of its time, and no hour of its text.
    assert sum(row["events"] for row in figures["activity"]) == figures["as_of_position"] - 1
    assert all(row["hour"] < "2031" for row in figures["activity"])
    assert run_cli("show", "cart-x", "--db", shop).status == 0


def test_verify_finds_the_hole_an_insert_or_replace_leaves(run_cli, shop):
    """SQLite's REPLACE deletes the row it collides with without the DELETE trigger
    (a trigger on every insert to refuse it would cost each append more than its
    own work): the log cannot refuse it, verify shows where a row went."""
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("REPLACE INTO events SELECT 10, stream_id, version, type, schema_version, "
                     "data, json_set(metadata, '$.event_id', 'new'), recorded_at FROM events "
                     "WHERE position = 2")
    conn.close()
    verify = run_cli("verify", "--db", shop)
    assert verify.status == 1
    assert verify.stdout.splitlines()[0].startswith("position 2 missing: a row deleted")
    assert verify.stdout.splitlines()[1].startswith("positions 5..9 missing")
    assert verify.error_lines == ["error: 6 positions missing"]


def test_a_row_before_position_1_is_listed_and_its_cart_not_changed(run_cli, shop):
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (0, 'cart-z', 1, 'CartCreated', 1, "
                     "'{\"customer\":null}', ?, '2020-01-01T00:00:00.000000Z')", (METADATA % "z1",))
    conn.close()
    verify = run_cli("verify", "--db", shop)
    assert verify.stdout.splitlines() == [
        "position 0: 1 row before position 1, outside the log that cartui reads (written by "
        "another program)"]
    assert verify.error_lines == ["error: 1 of 5 events cannot be decoded"]
    created = run_cli("new", "--cart", "cart-z", "--db", shop)
    assert created.status == 2 and created.error_lines == [
        "error: cart 'cart-z' has an event at position 0, before the log's position 1, written "
        "by another program, so it cannot be changed"]  # not a conflict to retry (exit 3)


def test_at_time_passes_over_a_row_recorded_at_no_time(run_cli, shop):
    """"12345" sorts before every date: it is no time at or before any moment."""
    with EventStore(shop) as store:
        first = store.recorded_at(1)
        head = store.head_position()
    insert_foreign(shop, "'cart-x'", "'{\"customer\":null}'", "'12345'", event_id="f1")
    cart = json.loads(run_cli("show", "cart-a", "--at-time", first, "--json", "--db", shop).stdout)
    assert cart["as_of_position"] == 1 and cart["items"] == []
    figures = json.loads(run_cli("projections", "--at-time", "9999-01-01T00:00Z", "--json",
                                 "--db", shop).stdout)
    assert figures["as_of_position"] == head  # the latest row that is a time


@pytest.mark.parametrize("other_form", [
    "2031-01-01T00:00:00Z", "2031-01-01T00:00:00+02:00", "2031-01-01T00:00:00",
    "2031-01-01T00:00:00.5Z", "2031-01-01T00:00:00garbage",
], ids=["no fraction", "an offset", "no zone", "a short fraction", "garbage after the second"])
def test_a_later_time_in_another_form_is_followed_in_the_stores_own(run_cli, shop, other_form):
    """Time never runs backwards in position order, and cartui writes its own form only."""
    bad = insert_foreign(shop, "'cart-x'", "'{\"customer\":null}'", f"'{other_form}'",
                         event_id="f1")
    assert run_cli("add", "cart-a", "COF-ESP-1KG", "--db", shop).status == 0
    assert run_cli("new", "--cart", "cart-later", "--db", shop).status == 0
    with EventStore(shop) as store:
        times = [r.recorded_at for r in store.read_all(bad + 1)]
        assert store.head_recorded_at() == times[-1]
    assert times == ["2031-01-01T00:00:01.000000Z"] * 2
    assert other_form < times[0]


@pytest.mark.parametrize("version", [1.5, "abc"])
def test_a_version_that_is_no_whole_number_is_reported(run_cli, shop, version):
    """SQLite keeps 1.5 and 'abc' in an INTEGER column (CHECK (version >= 1) holds
    for any text): the row is undecodable to every reader, and none stops."""
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (5, 'cart-v', ?, 'CartCreated', 1, "
                     "'{\"customer\":null}', ?, '2030-01-01T00:00:00.000000Z')",
                     (version, METADATA % "f1"))
    conn.close()
    reason = f"version {version!r} is not a whole number"
    verify = run_cli("verify", "--db", shop)
    assert verify.status == 1
    assert verify.stdout.splitlines() == [
        f"position 5 (cart-v version {version}, CartCreated v1): {reason}"]
    for command in (["carts"], ["projections"], ["rebuild"], ["events"]):
        result = run_cli(*command, "--db", shop)
        assert result.status == 0, (command, result.stderr)
    projections = run_cli("projections", "--json", "--db", shop)
    assert "1 event cannot be decoded and was skipped (position 5;" in projections.stderr
    assert orjson.loads(projections.stdout)["carts"]["open"] == 2  # cart-v never began
    shown = run_cli("show", "cart-v", "--db", shop)
    assert shown.status == 2 and shown.stderr.splitlines()[0] == f"warning: skipped position 5: {reason}"
    added = run_cli("add", "cart-v", "TEA-EGR-100", "--db", shop)
    assert added.status == 2 and reason in added.stderr


def test_a_version_gap_refuses_changes_instead_of_conflicting_for_ever(run_cli, shop):
    """cart-a is at version 2; another program writes its version 4. Appending
    version 3 would conflict on every retry: the command is refused instead."""
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (5, 'cart-a', 4, 'ItemRemoved', 1, "
                     "'{\"sku\":\"COF-ESP-1KG\"}', ?, '2030-01-01T00:00:00.000000Z')",
                     (METADATA % "f1",))
    conn.close()
    added = run_cli("add", "cart-a", "TEA-EGR-100", "--db", shop)
    assert added.status == 2 and added.stderr == (
        "error: cart 'cart-a' has a gap in its versions (position 5: version 4 after version 2), "
        "written by another program, so it cannot be changed\n")
    assert run_cli("events", "--from", "6", "--db", shop).stdout == ""  # nothing appended
    shown = run_cli("show", "cart-a", "--db", shop)  # read as the projections read it
    assert shown.status == 0 and shown.stderr == (
        "warning: a gap in the cart's versions (position 5: version 4 after version 2): another "
        "program wrote it\n")
    verify = run_cli("verify", "--db", shop)
    assert verify.status == 1 and verify.stdout == (
        "position 5 (cart-a version 4, ItemRemoved v1): version 4 does not continue its stream, "
        "at version 2\n")


def test_a_stream_without_a_version_1_is_not_a_stream_that_does_not_exist(run_cli, shop):
    """Another program began cart-o at version 5: "must not exist" appends (one
    event or several) are refused, so `new` cannot slip a version 1 under it."""
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (5, 'cart-o', 5, 'CartCreated', 1, "
                     "'{\"customer\":null}', ?, '2030-01-01T00:00:00.000000Z')", (METADATA % "f1",))
    conn.close()
    with EventStore(shop) as store:
        event = NewEvent("CartCreated", '{"customer":null}', "n1")
        for events in ([event], [event, NewEvent("CartCreated", '{"customer":null}', "n2")]):
            with pytest.raises(ConcurrencyError):
                store.append("cart-o", events, expected_version=NO_STREAM)
        assert store.head_position() == 5
    created = run_cli("new", "--cart", "cart-o", "--db", shop)
    assert created.status == 2 and "has a gap in its versions (position 5: version 5 after " \
        "version 0)" in created.stderr


def test_a_cart_whose_first_event_is_not_its_creation_is_not_created_over_it(run_cli, shop,
                                                                             tmp_path):
    """Another program began cart-g with an ItemAdded: a CartCreated now would adopt
    an item added before the cart existed."""
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (5, 'cart-g', 1, 'ItemAdded', 2, ?, ?, "
                     "'2030-01-01T00:00:00.000000Z')",
                     ('{"sku":"TEA-EGR-100","name":"Earl Grey","unit_price_cents":650,'
                      '"quantity":1}', METADATA % "f1"))
    conn.close()
    told = ("cart 'cart-g' has an event before its CartCreated (position 5: ItemAdded before "
            "the cart's CartCreated), written by another program")
    for args in (["new", "--cart", "cart-g"], ["add", "cart-g", "TEA-EGR-100"]):
        result = run_cli(*args, "--db", shop)
        assert result.status == 2 and result.error_lines[-1].startswith(f"error: {told}"), result
    line = {"stream_id": "cart-g", "version": 2, "type": "CartCreated", "schema_version": 1,
            "data": {"customer": None},
            "metadata": {"event_id": "i1", "correlation_id": None, "causation_id": None},
            "recorded_at": "2030-01-02T00:00:00Z"}
    (tmp_path / "more.jsonl").write_bytes(orjson.dumps(line) + b"\n")
    imported = run_cli("import", str(tmp_path / "more.jsonl"), "--db", shop)
    assert imported.status == 2 and f"line 1: {told}" in imported.stderr
    shown = run_cli("show", "cart-g", "--db", shop)
    assert "warning: an event before the cart was created (position 5: ItemAdded before the " \
        "cart's CartCreated)" in shown.stderr
    verified = run_cli("verify", "--db", shop)
    assert verified.status == 1 and verified.stdout == (
        "position 5 (cart-g version 1, ItemAdded v2): it comes before its cart's CartCreated\n")
    assert run_cli("events", "--from", "6", "--db", shop).stdout == ""


def test_a_cart_known_to_the_service_is_not_appended_under_a_gap(shop):
    """The service decides on the cart as its last append left it (no read): the
    store still refuses version 3 under another program's version 4."""
    service = CartService(EventStore(shop), load_catalog())
    service.add_item("cart-a", "TEA-EGR-100")  # cart-a at version 3, known to the service
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (6, 'cart-a', 5, 'ItemRemoved', 1, "
                     "'{\"sku\":\"TEA-EGR-100\"}', ?, '2030-01-01T00:00:00.000000Z')",
                     (METADATA % "f1",))
    conn.close()
    with pytest.raises(StoreError, match=r"gap in its versions \(position 6: version 5 after "
                                         r"version 3\)"):
        service.add_item("cart-a", "COF-ESP-1KG")
    assert service.store.head_position() == 6
    service.store.close()


def test_an_import_into_a_cart_with_a_gap_is_refused(run_cli, shop, tmp_path):
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (5, 'cart-a', 5, 'ItemRemoved', 1, "
                     "'{\"sku\":\"COF-ESP-1KG\"}', ?, '2030-01-01T00:00:00.000000Z')",
                     (METADATA % "f1",))
    conn.close()
    line = {"stream_id": "cart-a", "version": 4, "type": "ItemAdded", "schema_version": 2,  # under 5
            "data": {"sku": "TEA-EGR-100", "name": "Earl Grey", "unit_price_cents": 650,
                     "quantity": 1},
            "metadata": {"event_id": "i1", "correlation_id": None, "causation_id": None},
            "recorded_at": "2030-01-02T00:00:00Z"}
    file = tmp_path / "more.jsonl"
    file.write_bytes(orjson.dumps(line) + b"\n")
    result = run_cli("import", str(file), "--db", shop)
    assert result.status == 2 and "line 1: cart 'cart-a' has a gap in its versions (position 5: " \
        "version 5 after version 2)" in result.stderr
    assert run_cli("events", "--from", "6", "--db", shop).stdout == ""


def test_control_characters_in_a_rows_columns_are_printed_escaped(run_cli, shop):
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (5, 'cart-x', 1, 'CartCreated', 1, "
                     "'{\"customer\":null}', ?, '2030\x1b[2J')", (METADATA % "f1",))
        conn.execute("INSERT INTO events VALUES (6, 'cart-x', 'z\x1b[2J', 'CartCreated', "
                     "'v\x1b[31m', '{}', ?, '2030-01-01T00:00:00.000000Z')", (METADATA % "f2",))
    conn.close()
    outputs = [run_cli(*command, "--db", shop) for command in (
        ["show", "cart-x", "--at", "5"], ["projections", "--at", "5"], ["verify"])]
    assert "(2030\\x1b[2J)" in outputs[0].stdout and "(2030\\x1b[2J)" in outputs[1].stdout
    assert "(cart-x version z\\x1b[2J, CartCreated vv\\x1b[31m)" in outputs[2].stdout
    assert not any("\x1b" in o.stdout + o.stderr for o in outputs)


def test_a_row_after_a_snapshot_is_read_whatever_its_version_holds(shop):
    """cart-a has a snapshot at version 4; another program then writes a row at
    version 1.5. Read after the snapshot's position, not its version, the row is
    reported, and the cart refuses changes, as without a snapshot."""
    service = CartService(EventStore(shop), load_catalog(), snapshot_every=4)
    service.add_item("cart-a", "TEA-EGR-100")
    service.add_item("cart-a", "TEA-EGR-100")  # version 4: a snapshot
    assert service.store.latest_snapshot("cart-a")[0] == 4
    with sqlite3.connect(shop, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (7, 'cart-a', 1.5, 'ItemRemoved', 1, "
                     "'{\"sku\":\"TEA-EGR-100\"}', ?, '2030-01-01T00:00:00.000000Z')",
                     (METADATA % "f1",))
    conn.close()
    fresh = CartService(service.store, load_catalog(), snapshot_every=4)  # nothing cached
    loaded = fresh.load("cart-a")
    assert [(u.position, u.reason) for u in loaded.undecodable] == [
        (7, "version 1.5 is not a whole number")]
    with pytest.raises(StoreError, match="cannot be decoded"):
        fresh.add_item("cart-a", "COF-ESP-1KG")
    service.store.close()
