"""Export and import: rows as stored, all or nothing, the first bad line named, idempotent."""

import json
import os
import sqlite3
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cartui import importer
from cartui.demo import write_demo
from cartui.import_checker import CheckerFailed, CheckerProcess
from cartui.importer import ImportFileError, import_file
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore


def event(stream, version, type_, data, *, event_id=None, at="2026-01-05T10:00:00.000000Z",
          schema_version=None, **more) -> dict:
    schema = schema_version or (2 if type_ == "ItemAdded" else 1)
    return {"stream_id": stream, "version": version, "type": type_, "schema_version": schema,
            "data": data, "recorded_at": at,
            "metadata": {"event_id": event_id or f"{stream}-{version}", "correlation_id": None,
                         "causation_id": None}, **more}


def espresso(quantity=1) -> dict:
    return {"sku": "COF-ESP-1KG", "name": "Espresso Beans 1 kg", "unit_price_cents": 2490,
            "quantity": quantity}


def good_cart(stream="cart-a") -> list[dict]:
    return [event(stream, 1, "CartCreated", {"customer": "Ada"}),
            event(stream, 2, "ItemAdded", espresso(2)),
            event(stream, 3, "ItemQuantityChanged", {"sku": "COF-ESP-1KG", "quantity": 3}),
            event(stream, 4, "CartCheckedOut", {"total_cents": 7470, "item_count": 3})]


def write_lines(path, lines) -> str:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n"
                              for line in lines))
    return str(path)


def log_of(db) -> bytes:
    with EventStore(db) as store:
        return b"".join(row.export_line() + b"\n" for row in store.read_all(1))


@pytest.fixture
def service(tmp_db):
    service = CartService(EventStore(tmp_db), load_catalog())
    yield service
    service.store.close()


@contextmanager
def checked_in_another_process() -> Iterator[list]:
    """Every file, however small, checked in the second process; yields the checkers
    started. One that dies fails the test: the careful path would hide it."""
    batches, started, failures = CheckerProcess.batches, [], []

    def batches_of_a_live_checker(checker):
        started.append(checker)
        try:
            yield from batches(checker)
        except CheckerFailed as exc:
            failures.append(exc)
            raise

    with mock.patch.object(importer, "CHECK_ELSEWHERE_BYTES", 0), \
            mock.patch.object(CheckerProcess, "batches", batches_of_a_live_checker):
        yield started
    assert not failures, "the checking process died"


@pytest.fixture(params=["empty", "empty, checked in another process", "with events",
                        "with events, checked in another process"])
def target(request, tmp_db):
    """The database an import goes into: empty (the fast path) or holding another cart,
    with the checks of the file here or, as for a large file, in another process."""
    if request.param.startswith("with events"):
        with EventStore(tmp_db) as store:
            CartService(store, load_catalog()).create_cart("cart-other", "Grace")
    with checked_in_another_process() if request.param.endswith("another process") else nullcontext():
        yield tmp_db


@pytest.fixture
def tries(monkeypatch) -> list[bool]:
    """Whether each pass of an import over its file was a first try (True) or the
    careful path (False)."""
    passes = []
    import_path = importer._import_path
    monkeypatch.setattr(importer, "_import_path",
                        lambda *args, fast: passes.append(fast) or import_path(*args, fast=fast))
    return passes


def with_new_ids(lines: list, ids: str) -> list:
    """The lines with new event ids, ascending or descending in the order they come;
    a repeated id stays repeated."""
    new_ids = {}
    for line in lines:
        if isinstance(line, dict):  # not a line that cannot be read
            n = len(new_ids)
            new_ids.setdefault(line["metadata"]["event_id"],
                               f"id-{n if ids == 'ascending' else 999 - n:03d}")
    return [dict(line, metadata=dict(line["metadata"], event_id=new_ids[line["metadata"]["event_id"]]))
            if isinstance(line, dict) else line for line in lines]


def write_lines_with_ids(path, lines: list, ids: str) -> str:
    """write_lines, the event ids ascending (as in cartui's exports: a bulk load keeps
    the event_id index) or descending (it builds that index at its end); a repeated
    id stays repeated."""
    file = write_lines(path, lines if ids == "ascending" else with_new_ids(lines, ids))
    with open(file, "rb") as written:
        assert importer._event_ids_ascending(written) == (ids == "ascending")
    return file


# -- round trips -----------------------------------------------------------------------------

def test_export_then_import_into_a_fresh_database_is_byte_identical(run_cli, tmp_path):
    source, copy = tmp_path / "source.db", tmp_path / "copy.db"
    with EventStore(source) as store:
        write_demo(store, load_catalog(), carts=60)
    exported = tmp_path / "events.jsonl"
    assert run_cli("export", exported, "--db", source).status == 0
    assert exported.read_bytes() == log_of(source)
    assert run_cli("export", "--db", source).stdout.encode() == exported.read_bytes()

    imported = run_cli("import", exported, "--db", copy)
    assert imported.status == 0, imported.stderr
    assert log_of(copy) == exported.read_bytes()


def test_importing_the_same_file_twice_changes_nothing(run_cli, target, tmp_path):
    file = write_lines(tmp_path / "cart.jsonl", good_cart())
    first = run_cli("import", file, "--db", target)
    assert first.status == 0 and "imported 4 events" in first.stdout
    after_first = log_of(target)
    second = run_cli("import", file, "--db", target)
    assert second.status == 0
    assert second.stdout == (f"nothing to import from {file}: its 4 events are already stored "
                             "or repeated\n")
    assert log_of(target) == after_first


def test_an_empty_file_is_said_to_hold_no_events(run_cli, target, tmp_path):
    file = write_lines(tmp_path / "empty.jsonl", [])
    result = run_cli("import", file, "--db", target)
    assert (result.status, result.stdout) == (0, f"nothing to import from {file}: it holds no events\n")


def test_one_event_is_said_in_the_singular(run_cli, tmp_db, tmp_path):
    file = write_lines(tmp_path / "one.jsonl", good_cart()[:1])
    first = run_cli("import", file, "--db", tmp_db)
    assert first.stdout == f"imported 1 event from {file} (position 1)\n"
    again = run_cli("import", file, "--db", tmp_db)
    assert again.stdout == f"nothing to import from {file}: its one event is already stored\n"


def test_positions_are_assigned_after_the_head(target, tmp_path):
    with EventStore(target) as store:
        head = store.head_position()
        lines = [dict(line, position=1000 + i) for i, line in enumerate(good_cart())]
        result = import_file(store, CartService(store, load_catalog()),
                             write_lines(tmp_path / "f.jsonl", lines))
        assert (result.appended, result.skipped) == (4, 0)
        assert (result.first_position, result.last_position) == (head + 1, head + 4)
        assert [r.position for r in store.read_all(1)] == list(range(1, head + 5))


def test_an_import_continues_stored_carts(service, tmp_path):
    service.create_cart("cart-a", "Ada")
    service.add_item("cart-a", "COF-ESP-1KG", 1)
    file = write_lines(tmp_path / "more.jsonl", [
        event("cart-a", 3, "ItemAdded", espresso(4), at="2099-01-01T00:00:00Z"),
        event("cart-a", 4, "CartCheckedOut", {"total_cents": 12450, "item_count": 5},
              at="2099-01-01T00:00:00Z")])
    assert import_file(service.store, service, file).appended == 2
    state = service.load("cart-a").state
    assert (state.status, state.version, state.total_cents) == ("checked_out", 4, 12450)


def test_a_file_that_begins_with_a_byte_order_mark_imports(target, tmp_path):
    """UTF-8 with a BOM, as Windows editors save it."""
    file = tmp_path / "f.jsonl"
    file.write_bytes(importer.UTF8_BOM + open(write_lines(file, good_cart()), "rb").read())
    with EventStore(target) as store:
        assert import_file(store, CartService(store, load_catalog()), file).appended == 4


def test_blank_lines_are_ignored(target, tmp_path):
    file = tmp_path / "f.jsonl"
    file.write_bytes(b"\n" + orjson.dumps(good_cart()[0]) + b"\n\n   \n")
    with EventStore(target) as store:
        assert import_file(store, CartService(store, load_catalog()), file).appended == 1


def test_a_line_repeated_in_the_file_is_skipped(target, tmp_path):
    cart = good_cart()
    file = write_lines(tmp_path / "f.jsonl", [cart[0], cart[1], cart[1], cart[2], cart[0], cart[3]])
    with EventStore(target) as store:
        result = import_file(store, CartService(store, load_catalog()), file)
        assert (result.appended, result.skipped) == (4, 2)
        assert [r.version for r in store.read_all(1, stream_id="cart-a")] == [1, 2, 3, 4]


@pytest.mark.parametrize("ids", ["ascending", "descending"])
@pytest.mark.parametrize("batch_lines", [2, 4000], ids=["batches of 2", "one batch"])
def test_a_repeated_line_is_skipped_in_one_pass(target, tmp_path, monkeypatch, tries, ids,
                                                batch_lines):
    """A first try does not know the ids of the lines before, and refuses the repeat
    as a version that does not continue its cart; the inserted rows show it is one."""
    monkeypatch.setattr(importer, "BATCH_LINES", batch_lines)
    cart_3 = good_cart("cart-3")
    file = write_lines_with_ids(tmp_path / "f.jsonl", [
        *good_cart("cart-1"), *good_cart("cart-2"), *cart_3, cart_3[1], *good_cart("cart-4"),
        cart_3[3], *good_cart("cart-5"), *good_cart("cart-6")], ids)
    with EventStore(target) as store:
        head = store.head_position()
        result = import_file(store, CartService(store, load_catalog()), file)
        assert (result.appended, result.skipped, result.first_position) == (24, 2, head + 1)
        assert [r.version for r in store.read_all(head + 1, stream_id="cart-3")] == [1, 2, 3, 4]
    assert tries == [True]


def jsonl(events) -> str:
    return "".join(orjson.dumps(e).decode() + "\n" for e in events)


def test_a_pipe_into_an_empty_database_skips_repeated_lines(run_process, tmp_db):
    cart = good_cart()
    # /dev/stdin fed by a pipe: a file that can be read only once.
    done = run_process("import", "/dev/stdin", "--db", tmp_db, input=jsonl([*cart, cart[1]]))
    assert done.status == 0, done.stderr
    assert done.stdout.startswith("imported 4 events from /dev/stdin (positions 1..4), skipped 1")
    with EventStore(tmp_db) as store:
        assert [r.version for r in store.read_all(1)] == [1, 2, 3, 4]


def test_a_file_given_as_dev_stdin_is_checked_whole_in_another_process(tmp_path, tmp_db):
    """`cartui import /dev/stdin < FILE`: a file that can be read again, but whose name
    means another file in the checking process (its own stdin)."""
    lines = [*good_cart("cart-1"), *good_cart("cart-2")]
    saved_stdin = os.dup(0)
    with open(write_lines(tmp_path / "f.jsonl", lines), "rb") as file, \
            checked_in_another_process() as checkers, EventStore(tmp_db) as store:
        os.dup2(file.fileno(), 0)
        try:
            result = import_file(store, CartService(store, load_catalog()), "/dev/stdin")
        finally:
            os.dup2(saved_stdin, 0)
            os.close(saved_stdin)
    assert len(checkers) == 1
    assert (result.appended, result.last_position) == (8, 8)
    with EventStore(tmp_path / "by_name.db") as store:
        import_file(store, CartService(store, load_catalog()), tmp_path / "f.jsonl")
    assert log_of(tmp_db) == log_of(tmp_path / "by_name.db")


def test_a_dash_imports_from_stdin(run_process, tmp_db):
    done = run_process("import", "-", "--db", tmp_db, input=jsonl(good_cart()))
    assert (done.status, done.stdout) == (
        0, "imported 4 events from /dev/stdin (positions 1..4)\n"), done.stderr


def test_a_pipe_into_an_empty_database_names_its_bad_line(run_process, tmp_db):
    done = run_process("import", "/dev/stdin", "--db", tmp_db, input=jsonl([*good_cart(), {"bad": 1}]))
    assert (done.status, done.stderr) == (2, "error: line 5: unknown field 'bad'\n")
    assert not os.path.exists(tmp_db)  # a failed import leaves no database behind


def test_the_command_line_counts_repeated_lines_with_the_stored_ones(run_cli, tmp_path):
    cart = good_cart()
    file = write_lines(tmp_path / "f.jsonl", [cart[0], cart[1], cart[1], cart[2], cart[3]])
    result = run_cli("import", file, "--db", tmp_path / "new.db")
    assert result.stdout == (f"imported 4 events from {file} (positions 1..4), "
                             "skipped 1 already stored or repeated\n")


# -- what is kept ----------------------------------------------------------------------------

def test_a_schema_1_item_added_stays_schema_1_and_reads_upcast(run_cli, tmp_db, tmp_path):
    old = event("cart-old", 2, "ItemAdded", {"sku": "TEA-EGR-100", "quantity": 2, "price": 6.9},
                schema_version=1)
    file = write_lines(tmp_path / "old.jsonl", [event("cart-old", 1, "CartCreated", {"customer": None}), old])
    assert run_cli("import", file, "--db", tmp_db).status == 0
    exported = [json.loads(line) for line in run_cli("export", "--db", tmp_db).stdout.splitlines()]
    assert (exported[1]["schema_version"], exported[1]["data"]) == (1, old["data"])
    shown = json.loads(run_cli("show", "cart-old", "--json", "--db", tmp_db).stdout)
    assert shown["items"] == [{"sku": "TEA-EGR-100", "name": "Earl Grey Tea, 100 bags",
                               "quantity": 2, "unit_price_cents": 690, "line_total_cents": 1380}]


def test_prices_are_not_checked_against_todays_catalog(service, tmp_path):
    cheap = dict(espresso(), unit_price_cents=1999, name="Espresso (old name)")
    file = write_lines(tmp_path / "f.jsonl", [good_cart()[0], event("cart-a", 2, "ItemAdded", cheap)])
    import_file(service.store, service, file)
    line = service.load("cart-a").state.lines["COF-ESP-1KG"]
    assert (line.name, line.unit_price_cents) == ("Espresso (old name)", 1999)


def test_recorded_at_is_normalized_and_never_runs_backwards(service, tmp_path):
    file = write_lines(tmp_path / "f.jsonl", [
        event("cart-a", 1, "CartCreated", {"customer": None}, at="2026-01-05T11:00:00+01:00"),
        event("cart-a", 2, "ItemAdded", espresso(), at="2026-01-05T12:30:00.5Z"),
        event("cart-a", 3, "ItemAdded", espresso(), at="2026-01-05T09:00:00Z"),  # older than line 2
        # As long as the store's form, but not it: a week date, a space for the T.
        event("cart-a", 4, "ItemAdded", espresso(), at="2026-W02-1T13:00:00.000000Z"),
        event("cart-a", 5, "ItemAdded", espresso(), at="2026-01-05 14:00:00.000000Z"),
    ])
    import_file(service.store, service, file)
    assert [r.recorded_at for r in service.store.read_all(1)] == [
        "2026-01-05T10:00:00.000000Z", "2026-01-05T12:30:00.500000Z", "2026-01-05T12:30:00.500000Z",
        "2026-01-05T13:00:00.000000Z", "2026-01-05T14:00:00.000000Z"]


def test_data_and_metadata_are_stored_compact_with_extra_metadata_kept(service, tmp_path):
    line = good_cart()[0]
    line["metadata"]["source"] = "shop-1"
    (tmp_path / "f.jsonl").write_bytes(json.dumps(line, indent=None, separators=(", ", ": ")).encode())
    import_file(service.store, service, tmp_path / "f.jsonl")
    row = service.store.get(1)
    assert row.data == '{"customer":"Ada"}'
    assert json.loads(row.metadata)["source"] == "shop-1"


# -- bad files: the first bad line named, nothing appended -----------------------------------

def bad_line_cases():
    cart = good_cart()
    # Where in the line, as in a file of one line: the line's newline is no "line 2".
    yield "not JSON", b'{"stream_id": "cart-a", ', \
        "not valid JSON (unexpected end of data: line 1 column 25 (char 24))"
    yield "not UTF-8", b'{"stream_id": "cart-\xff"}', \
        "not valid JSON (not UTF-8 text: byte 0xff at column 21)"
    yield "not an object", b"[1, 2]", "a line must be a JSON object"
    yield "missing field", {k: v for k, v in cart[1].items() if k != "recorded_at"}, \
        "missing field 'recorded_at'"
    yield "unknown field", dict(cart[1], colour="red"), "unknown field 'colour'"
    yield "unknown type", dict(cart[1], type="ItemTeleported"), "unknown event type 'ItemTeleported'"
    yield "unknown schema", dict(cart[1], schema_version=7), "unknown schema version 7 of ItemAdded"
    yield "bad data", dict(cart[1], data=espresso(0)), "ItemAdded quantity"
    yield "a price past 64 bits", orjson.dumps(cart[1]).replace(
        b'"unit_price_cents":2490', b'"unit_price_cents":' + b"9" * 30), \
        "ItemAdded unit_price_cents: too large a number"
    yield "a price with a fraction of nought", orjson.dumps(cart[1]).replace(
        b'"unit_price_cents":2490', b'"unit_price_cents":2490.0'), \
        "ItemAdded unit_price_cents: Input should be a valid integer"
    yield "data without a name", dict(cart[1], data={"sku": "COF-ESP-1KG", "quantity": 1,
                                                      "unit_price_cents": 100}), "name"
    yield "bad cart id", dict(cart[1], stream_id=" cart-a"), "stream_id: cart id must be"
    yield "cart id not a string", dict(cart[1], stream_id=["cart-a"]), "stream_id: cart id must be"
    yield "type not a string", dict(cart[1], type=["ItemAdded"]), "unknown event type ['ItemAdded']"
    yield "schema not a number", dict(cart[1], schema_version="2"), "unknown schema version '2'"
    yield "version not a number", dict(cart[1], version="2"), "version must be a whole number"
    yield "data not an object", dict(cart[1], data=[1]), "data must be a JSON object"
    yield "recorded_at not a string", dict(cart[1], recorded_at=5), "recorded_at"
    yield "no event_id", dict(cart[1], metadata={"correlation_id": None, "causation_id": None}), \
        "metadata.event_id must be a non-empty string"
    yield "bad correlation", dict(cart[1], metadata={"event_id": "e", "correlation_id": 5,
                                                     "causation_id": None}), "correlation_id"
    yield "time without zone", dict(cart[1], recorded_at="2026-01-05T10:00:00"), "has no timezone"
    yield "no such day", dict(cart[1], recorded_at="2026-02-30T10:00:00.000000Z"), "recorded_at"
    yield "no such hour", dict(cart[1], recorded_at="2026-01-05T24:00:00.000000Z"), "recorded_at"
    yield "version gap", dict(cart[1], version=3), \
        "ItemAdded of 'cart-a' version 3 does not continue the stream, which is at version 1"
    yield "created twice", event("cart-a", 2, "CartCreated", {"customer": None}, event_id="again"), \
        "cart 'cart-a' already exists"
    yield "before it exists", event("cart-b", 1, "ItemAdded", espresso()), "cart 'cart-b' does not exist"
    yield "removing what is not there", event("cart-a", 2, "ItemRemoved", {"sku": "TEA-EGR-100"}), \
        "sku 'TEA-EGR-100' is not in cart 'cart-a'"
    yield "empty checkout", event("cart-a", 2, "CartCheckedOut", {"total_cents": 1, "item_count": 1}), \
        "cart 'cart-a' is empty and cannot be checked out"


@pytest.mark.parametrize("name, bad, message", list(bad_line_cases()),
                         ids=[case[0] for case in bad_line_cases()])
def test_a_bad_line_is_named_and_nothing_is_appended(run_cli, target, tmp_path, name, bad, message):
    lines = [good_cart("cart-z")[0], good_cart()[0], bad, *good_cart("cart-y")]
    file = write_lines(tmp_path / "bad.jsonl", lines)
    before = log_of(target)
    result = run_cli("import", file, "--db", target)
    assert result.status == 2
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("error: line 3: ")
    assert message in result.error_lines[0]
    assert log_of(target) == before


def test_rules_hold_across_lines_and_against_the_stored_cart(service, tmp_path):
    service.create_cart("cart-a")
    service.add_item("cart-a", "COF-ESP-1KG", 60)
    before = log_of(service.store.path)
    file = write_lines(tmp_path / "f.jsonl", [event("cart-a", 3, "ItemAdded", espresso(40))])
    with pytest.raises(ImportFileError, match="line 1: .*a line holds at most 99"):
        import_file(service.store, service, file)
    file = write_lines(tmp_path / "g.jsonl", [
        event("cart-a", 3, "CartCheckedOut", {"total_cents": 60 * 2490, "item_count": 60}),
        event("cart-a", 4, "ItemRemoved", {"sku": "COF-ESP-1KG"})])
    with pytest.raises(ImportFileError, match="line 2: .*is checked out"):
        import_file(service.store, service, file)
    file = write_lines(tmp_path / "h.jsonl", [
        event("cart-a", 3, "CartCheckedOut", {"total_cents": 100, "item_count": 60})])
    with pytest.raises(ImportFileError, match="line 1: .*records total_cents 100 and item_count 60, "
                                              "but the cart holds total_cents 149400 and "
                                              "item_count 60"):
        import_file(service.store, service, file)
    assert log_of(service.store.path) == before


def test_the_first_bad_line_wins_across_batches(target, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_LINES", 3)  # several batches, some inserted already
    lines = [*good_cart("cart-1"), *good_cart("cart-2"),
             event("cart-3", 1, "ItemRemoved", {"sku": "COF-ESP-1KG"}),  # line 9: a rule broken
             b"{not json",  # line 10: malformed, in the same batch, but later
             *good_cart("cart-4")]
    file = write_lines(tmp_path / "f.jsonl", lines)
    before = log_of(target)
    with EventStore(target) as store:
        with pytest.raises(ImportFileError, match="^line 9: ItemRemoved of 'cart-3'"):
            import_file(store, CartService(store, load_catalog()), file)
    assert log_of(target) == before


def test_a_rule_broken_after_a_skipped_duplicate_is_still_found(target, tmp_path):
    cart = good_cart()
    lines = [cart[0], cart[1], cart[1], event("cart-a", 3, "ItemRemoved", {"sku": "TEA-EGR-100"})]
    before = log_of(target)
    with EventStore(target) as store:
        with pytest.raises(ImportFileError, match="^line 4: .*is not in cart"):
            import_file(store, CartService(store, load_catalog()), write_lines(tmp_path / "f.jsonl", lines))
    assert log_of(target) == before


@pytest.mark.parametrize("bad, message", [
    (b'{"stream_id": "cart-c", "vers', "not valid JSON"),  # an export cut short
    (event("cart-c", 2, "ItemRemoved", {"sku": "TEA-EGR-100"}), "is not in cart 'cart-c'")])
@pytest.mark.parametrize("ids", ["ascending", "descending"])
def test_a_bad_file_whose_lines_repeat_no_event_id_is_checked_once(target, tmp_path, monkeypatch,
                                                                    tries, bad, message, ids):
    """The careful path would name the same line: a large bad file is not read twice,
    whether the event_id index is kept while loading an empty log or built at the end."""
    monkeypatch.setattr(importer, "BATCH_LINES", 3)  # the bad line after rows inserted
    file = write_lines_with_ids(
        tmp_path / "f.jsonl", [*good_cart("cart-a"), *good_cart("cart-b"), good_cart("cart-c")[0], bad],
        ids)
    before = log_of(target)
    with EventStore(target) as store:
        with pytest.raises(ImportFileError, match=f"^line 10: .*{message}"):
            import_file(store, CartService(store, load_catalog()), file)
    assert tries == [True]
    assert log_of(target) == before


@pytest.mark.parametrize("last", ["breaks a rule", "cannot be read"])
@pytest.mark.parametrize("ids", ["ascending", "descending"])
@pytest.mark.parametrize("batch_lines", [2, 4000], ids=["batches of 2", "one batch"])
def test_a_bad_line_after_a_repeated_event_id_is_named_as_the_careful_path_would(
        tmp_db, tmp_path, monkeypatch, last, ids, batch_lines):
    """A repeat allowed where it stands goes in on a first try, and a line after it
    may then pass there and fail on the careful path, which skips the repeat: the
    careful path decides, whether the repeat is refused as it goes in (ids
    ascending) or could be found only once the event_id index is built."""
    monkeypatch.setattr(importer, "BATCH_LINES", batch_lines)
    lines = [*good_cart("cart-1"), *good_cart("cart-2"), *good_cart("cart-3"), good_cart("cart-a")[0],
             event("cart-b", 1, "CartCreated", {"customer": None}, event_id="cart-a-1"),  # a repeat
             event("cart-b", 2, "ItemAdded", espresso()),  # no cart-b without the repeat
             event("cart-b", 3, "ItemRemoved", {"sku": "TEA-EGR-100"}) if last == "breaks a rule"
             else b'{"stream_id": "cart-b", "vers']
    with EventStore(tmp_db) as store:
        with pytest.raises(ImportFileError, match="^line 15: ItemAdded of 'cart-b' version 2 "
                                                  "does not continue the stream, which is at version 0"):
            import_file(store, CartService(store, load_catalog()),
                        write_lines_with_ids(tmp_path / "f.jsonl", lines, ids))


def test_the_events_kept_for_lines_with_the_same_data_are_bounded(monkeypatch):
    raw_lines = [orjson.dumps(line) for cart in ("cart-1", "cart-2", "cart-3")
                 for line in good_cart(cart)] + [orjson.dumps(event("cart-4", 1, "CartCreated",
                                                                    {"customer": "Bo"}))]
    unbounded, _ = importer._LineReader(load_catalog().names()).read(1, raw_lines)
    monkeypatch.setattr(importer, "_DECODED_CACHE_SIZE", 3)
    reader = importer._LineReader(load_catalog().names())
    bounded, error = reader.read(1, raw_lines)
    assert error is None and [line[9] for line in bounded] == [line[9] for line in unbounded]
    kept = [data for versions in reader.decoder.by_schema.values()
            for events in versions.values() for data in events]
    assert 0 < len(kept) <= 3


@st.composite
def files_with_repeats_and_faults(draw) -> list:
    """Lines of a few good carts, in turns, with some lines repeated later, some
    event ids put on other lines, some rules broken and some lines unreadable."""
    carts = [good_cart(f"cart-{n}") for n in range(draw(st.integers(1, 4)))]
    lines = []
    while any(carts):
        cart = draw(st.sampled_from([cart for cart in carts if cart]))
        lines.append(cart.pop(0))
    for _ in range(draw(st.integers(0, 4))):
        fault = draw(st.sampled_from(["repeat", "id elsewhere", "rule", "unreadable"]))
        earlier = draw(st.integers(0, len(lines) - 1))
        later = draw(st.integers(earlier + 1, len(lines)))
        if isinstance(lines[earlier], bytes):
            continue
        if fault == "repeat":
            lines.insert(later, lines[earlier])
        elif fault == "id elsewhere" and later < len(lines) and isinstance(lines[later], dict):
            lines[later] = dict(lines[later], metadata=dict(
                lines[later]["metadata"], event_id=lines[earlier]["metadata"]["event_id"]))
        elif fault == "rule":
            lines.insert(later, event(lines[earlier]["stream_id"], lines[earlier]["version"] + 1,
                                      "ItemRemoved", {"sku": "TEA-EGR-100"}, event_id=f"rule-{later}"))
        elif fault == "unreadable":
            lines.insert(later, b'{"stream_id": "cart-0", "vers')
    if draw(st.booleans()):
        lines.append(b'{"stream_id": "cart-0", "vers')  # an export cut short
    return lines


def outcome_of_import(db: Path, file: str, fast: bool, stored: bool = False) -> tuple:
    """What an import of `file` into `db` (holding another cart if `stored`) does:
    its error, or its counts and the log."""
    with EventStore(db) as store:
        if stored:
            import_file(store, CartService(store, load_catalog()), write_lines(
                db.with_suffix(".seed.jsonl"), [event("cart-other", 1, "CartCreated", {"customer": "Grace"})]))
        try:
            if fast:
                result = import_file(store, CartService(store, load_catalog()), file)
            else:
                result = importer._import_path(store, CartService(store, load_catalog()), Path(file),
                                               None, fast=False)
        except ImportFileError as error:
            return "refused", error.line, error.reason
    return "imported", result.appended, result.skipped, log_of(db)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=files_with_repeats_and_faults(), ids=st.sampled_from(["ascending", "descending"]),
       batch_lines=st.sampled_from([1, 2, 3, 4000]))
def test_a_first_try_imports_or_refuses_a_file_as_the_careful_path_does(lines, ids, batch_lines):
    """Whatever repeats and faults a file holds, the fast path into an empty database
    (which trusts its verdict on a bad line, and skips a repeat it refused where it
    stood) ends as the careful path alone would, on every line."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(importer, "BATCH_LINES", batch_lines):
        tmp = Path(tmp)
        file = write_lines(tmp / "f.jsonl", with_new_ids(lines, ids))
        assert outcome_of_import(tmp / "first.db", file, fast=True) == \
            outcome_of_import(tmp / "careful.db", file, fast=False)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=files_with_repeats_and_faults(), ids=st.sampled_from(["ascending", "descending"]),
       stored=st.booleans())
def test_the_checks_in_another_process_import_or_refuse_a_file_as_the_careful_path_does(
        lines, ids, stored):
    """The same, checked in the second process (a few examples: each starts one)."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(importer, "BATCH_LINES", 3), \
            checked_in_another_process() as started:
        tmp = Path(tmp)
        file = write_lines(tmp / "f.jsonl", with_new_ids(lines, ids))
        assert outcome_of_import(tmp / "first.db", file, True, stored) == \
            outcome_of_import(tmp / "careful.db", file, False, stored)
    assert started


def test_an_import_into_an_empty_database_keeps_its_indexes(tmp_db, tmp_path):
    with EventStore(tmp_db) as store:
        indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        import_file(store, CartService(store, load_catalog()), write_lines(tmp_path / "f.jsonl", good_cart()))
        assert {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")} \
            == indexes
        assert store.stored_event_ids(["cart-a-1", "cart-a-4"]) == {"cart-a-1", "cart-a-4"}


def test_lines_longer_than_a_read_and_batches_of_any_size_import_whole(target, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "READ_BYTES", 50)  # every line spans several reads
    monkeypatch.setattr(importer, "BATCH_LINES", 3)
    lines = [*good_cart("cart-1"), *good_cart("cart-2"), good_cart("cart-3")[0]]
    file = tmp_path / "f.jsonl"
    file.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))  # no newline at the end
    with EventStore(target) as store:
        head = store.head_position()
        result = import_file(store, CartService(store, load_catalog()), file)
        assert (result.appended, result.skipped) == (9, 0)
        assert [(r.stream_id, r.version) for r in store.read_all(head + 1)] == [
            (line["stream_id"], line["version"]) for line in lines]


def test_an_event_id_repeated_on_an_otherwise_good_line_is_skipped(target, tmp_path):
    # Into an empty database the fast path only finds it when the unique index is built.
    again = event("cart-b", 1, "CartCreated", {"customer": None}, event_id="cart-a-1")
    file = write_lines(tmp_path / "f.jsonl", [*good_cart(), again])
    with EventStore(target) as store:
        result = import_file(store, CartService(store, load_catalog()), file)
        assert (result.appended, result.skipped) == (4, 1)
        assert not store.stream_exists("cart-b")
        assert store.stored_event_ids(["cart-a-1"]) == {"cart-a-1"}


@pytest.mark.parametrize("ascending", [True, False])
def test_a_repeated_event_id_is_skipped_whether_the_id_index_is_kept_or_built_at_the_end(
        tmp_db, tmp_path, monkeypatch, ascending):
    # cartui's own ids ascend: the bulk load keeps the event_id index and a repeat
    # fails its insert; other ids build the index at the end, which finds it.
    ids = iter(sorted(f"id-{n:03d}" for n in range(16))[::1 if ascending else -1])
    lines = [dict(line, metadata=dict(line["metadata"], event_id=next(ids)))
             for cart in ("cart-1", "cart-2", "cart-3", "cart-4") for line in good_cart(cart)]
    again = event("cart-5", 1, "CartCreated", {"customer": None},
                  event_id=lines[-1]["metadata"]["event_id"])
    file = write_lines(tmp_path / "f.jsonl", [*lines, again])
    with EventStore(tmp_db) as store:
        asked = []
        bulk_transaction = store.bulk_transaction

        def spy(rows_expected=None, event_ids_ascending=False):
            asked.append(event_ids_ascending)
            return bulk_transaction(rows_expected, event_ids_ascending)

        monkeypatch.setattr(store, "bulk_transaction", spy)
        result = import_file(store, CartService(store, load_catalog()), file)
        assert asked == [ascending]
        assert (result.appended, result.skipped) == (16, 1)
        assert not store.stream_exists("cart-5")
        assert len(store.stored_event_ids([line["metadata"]["event_id"] for line in lines])) == 16


def test_an_export_of_what_the_service_wrote_has_its_event_ids_in_order(service, tmp_path):
    for cart in ("cart-1", "cart-2", "cart-3"):
        service.create_cart(cart)
        service.add_item(cart, "COF-ESP-1KG", 2)
    service.check_out("cart-1")
    exported = tmp_path / "events.jsonl"
    with exported.open("wb") as out:
        importer.export_events(service.store, out)
    with exported.open("rb") as file:
        assert importer._event_ids_ascending(file)  # an import into an empty log keeps the index


def test_the_order_of_event_ids_is_read_from_the_head_of_a_file_only(tmp_path):
    ordered = [event("cart-a", 1, "CartCreated", {"customer": None}, event_id=f"id-{n:03d}")
               for n in range(20)]
    path = write_lines(tmp_path / "f.jsonl", [*ordered[:10], b"not json", {"metadata": 1},
                                              *ordered[10:]])
    with open(path, "rb") as file:
        assert importer._event_ids_ascending(file) and file.tell() == 0
    path = write_lines(tmp_path / "g.jsonl", ordered[::-1])
    with open(path, "rb") as file:
        assert not importer._event_ids_ascending(file)
    read, write = os.pipe()  # a pipe is read once: it is not sampled
    os.write(write, (tmp_path / "f.jsonl").read_bytes())
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        assert not importer._event_ids_ascending(pipe) and pipe.read(1) == b"{"


def test_a_failure_while_inserting_appends_nothing_and_leaves_the_store_usable(target, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr(importer, "BATCH_LINES", 2)  # several batches: the second one fails
    lines = [*good_cart("cart-1"), *good_cart("cart-2")]
    file = write_lines(tmp_path / "f.jsonl", lines)
    before = log_of(target)
    with EventStore(target) as store:
        insert_rows = store.insert_rows
        batches = []

        def failing_insert(rows):
            batches.append(rows)
            if len(batches) == 2:
                raise OSError("disk full")
            insert_rows(rows)

        monkeypatch.setattr(store, "insert_rows", failing_insert)
        with pytest.raises(OSError, match="disk full"):
            import_file(store, CartService(store, load_catalog()), file)
        assert not store.conn.in_transaction
        monkeypatch.setattr(store, "insert_rows", insert_rows)
        assert import_file(store, CartService(store, load_catalog()), file).appended == 8
    assert log_of(target).startswith(before)


# -- the checks of a large file, in another process -------------------------------------------

def test_the_checking_process_hands_over_the_rows_and_refused_lines_and_names_an_unreadable_one(
        tmp_path):
    lines = [*good_cart("cart-1"), event("cart-2", 1, "CartCreated", {"customer": "Ada"}),
             event("cart-2", 2, "ItemRemoved", {"sku": "COF-ESP-1KG"}), *good_cart("cart-3"),
             b"{not json"]
    file = open(write_lines(tmp_path / "f.jsonl", lines), "rb")
    checker = CheckerProcess.start(file, load_catalog(), batch_lines=3, read_bytes=1 << 20)
    file.close()  # the child has its own
    batches = []
    try:
        with pytest.raises(ImportFileError) as raised:
            batches.extend(checker.batches())
    finally:
        checker.stop()
    assert raised.value.line == 11 and raised.value.reason.startswith("not valid JSON")
    assert [len(rows) for rows, _, _ in batches] == [3, 2, 3, 1]
    assert batches[0][0][0] == (1, "cart-1", 1, "CartCreated", 1, '{"customer":"Ada"}',
                                orjson.dumps(lines[0]["metadata"]).decode(), lines[0]["recorded_at"])
    # Line 6 is refused after the two rows before it in its batch, and taken for a
    # repeat (the parent tells): the positions go on without it.
    (index, refused), = batches[1][1]
    assert (index, refused.line, refused.reason, refused.event_id) == (
        2, 6, "ItemRemoved of 'cart-2' version 2: sku 'COF-ESP-1KG' is not in cart 'cart-2'",
        lines[5]["metadata"]["event_id"])
    assert [row[0] for rows, _, _ in batches for row in rows] == list(range(1, 10))
    assert [refused for _, refused, _ in batches if refused] == [batches[1][1]]


def imported_here_and_elsewhere(tmp_path, monkeypatch, history, lines):
    """The logs after importing `lines` into two databases holding `history` (events
    as import lines): checked in this process, and in another while nothing may be
    checked here. And the second import's result."""
    file = write_lines(tmp_path / "f.jsonl", lines)
    here, elsewhere = tmp_path / "here.db", tmp_path / "elsewhere.db"
    for db in (here, elsewhere):
        with EventStore(db) as store:
            import_file(store, CartService(store, load_catalog()),
                        write_lines(tmp_path / "history.jsonl", history))
    with EventStore(here) as store:
        import_file(store, CartService(store, load_catalog()), file)
    monkeypatch.setattr(importer, "CHECK_ELSEWHERE_BYTES", 0)
    monkeypatch.setattr(importer._LineReader, "read", lambda *_: pytest.fail("checked here"))
    with EventStore(elsewhere) as store:
        result = import_file(store, CartService(store, load_catalog()), file)
    return log_of(here), log_of(elsewhere), result


def test_a_large_import_into_a_database_with_events_is_checked_in_another_process(
        tmp_path, monkeypatch):
    """The checking process reads the stored carts and event ids itself."""
    stored = good_cart("cart-a")[:2]
    lines = [good_cart("cart-a")[1],  # stored: skipped
             *good_cart("cart-a")[2:],  # continue the stored cart
             *good_cart("cart-b")]
    here, elsewhere, result = imported_here_and_elsewhere(tmp_path, monkeypatch, stored, lines)
    assert elsewhere == here
    assert (result.appended, result.skipped, result.first_position, result.last_position) == (
        6, 1, 3, 8)


def test_a_large_import_that_breaks_a_rule_of_a_stored_cart_names_the_line(tmp_path,
                                                                          monkeypatch):
    stored = good_cart("cart-a")  # checked out
    lines = [*good_cart("cart-b"), event("cart-a", 5, "ItemAdded", espresso())]
    monkeypatch.setattr(importer, "CHECK_ELSEWHERE_BYTES", 0)
    db = tmp_path / "shop.db"
    with EventStore(db) as store:
        service = CartService(store, load_catalog())
        import_file(store, service, write_lines(tmp_path / "history.jsonl", stored))
        before = log_of(db)
        with pytest.raises(ImportFileError) as raised:
            import_file(store, service, write_lines(tmp_path / "f.jsonl", lines))
    assert (raised.value.line, raised.value.reason) == (
        5, "ItemAdded of 'cart-a' version 5: cart 'cart-a' is checked out and accepts nothing "
           "more")
    assert log_of(db) == before


def test_rows_checked_against_an_older_log_are_checked_again_here(tmp_path, monkeypatch):
    """Another program appended after the checking process read the log, leaving a gap in
    the positions: its rows would go in under the new head, so they are refused and
    the file is checked again in this process."""
    db, older = tmp_path / "shop.db", tmp_path / "older.db"
    with EventStore(db) as store:
        import_file(store, CartService(store, load_catalog()),
                    write_lines(tmp_path / "history.jsonl", good_cart("cart-a")))
    older.write_bytes(db.read_bytes())  # closed: the WAL is in the file
    with sqlite3.connect(db, isolation_level=None) as conn:
        conn.execute("INSERT INTO events VALUES (100, 'cart-z', 1, 'CartCreated', 1, '{}', "
                     "'{\"event_id\":\"z-1\"}', '2026-01-05T11:00:00.000000Z')")
    conn.close()
    start = CheckerProcess.start
    monkeypatch.setattr(CheckerProcess, "start", lambda file, catalog, lines, size, database:
                        start(file, catalog, lines, size, str(older)))
    monkeypatch.setattr(importer, "CHECK_ELSEWHERE_BYTES", 0)
    with EventStore(db) as store:
        result = import_file(store, CartService(store, load_catalog()),
                             write_lines(tmp_path / "f.jsonl", good_cart("cart-b")))
        assert (result.first_position, result.last_position) == (101, 104)
        assert [r.position for r in store.read_all(1)] == [1, 2, 3, 4, 100, 101, 102, 103, 104]


def test_a_large_import_into_a_database_with_events_and_no_wal_is_checked_here(tmp_path,
                                                                              monkeypatch):
    """With a rollback journal (a file system without WAL's shared memory, say) a reader
    holds up the writer: another process reading the stored carts would make every
    spill of the import's cache wait for it (200,000 events took 45 s instead of 3)."""
    monkeypatch.setattr(importer, "CHECK_ELSEWHERE_BYTES", 0)
    monkeypatch.setattr(CheckerProcess, "start", lambda *_: pytest.fail("checked elsewhere"))
    with EventStore(tmp_path / "shop.db") as store:
        service = CartService(store, load_catalog())
        service.create_cart("cart-before")
        assert store.conn.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
        result = import_file(store, service, write_lines(tmp_path / "f.jsonl", good_cart()))
        assert (result.appended, result.last_position) == (4, 5)


@pytest.mark.parametrize("python", ["/bin/false", "", "/no/such/python"],
                         ids=["dies at once", "no python to start", "cannot be started"])
def test_an_import_whose_checking_process_fails_is_checked_here_instead(tmp_db, tmp_path,
                                                                        monkeypatch, python):
    monkeypatch.setattr(importer, "CHECK_ELSEWHERE_BYTES", 0)
    monkeypatch.setattr("sys.executable", python)
    lines = [*good_cart("cart-1"), *good_cart("cart-2")]
    file = write_lines(tmp_path / "f.jsonl", lines)
    with EventStore(tmp_db) as store:
        result = import_file(store, CartService(store, load_catalog()), file)
    assert (result.appended, result.first_position, result.last_position) == (8, 1, 8)
    monkeypatch.setattr(importer, "CHECK_ELSEWHERE_BYTES", 1 << 60)
    with EventStore(tmp_path / "here.db") as store:
        import_file(store, CartService(store, load_catalog()), file)
    assert log_of(tmp_db) == log_of(tmp_path / "here.db")


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "CARTUI_DEBUG"])
def test_a_checking_process_that_fails_shows_its_traceback_only_when_debugging(
        tmp_path, monkeypatch, capfd, debug):
    if debug:
        monkeypatch.setenv("CARTUI_DEBUG", "1")
    else:
        monkeypatch.delenv("CARTUI_DEBUG", raising=False)
    with (tmp_path / "f.jsonl").open("wb") as unreadable:  # open for writing only
        checker = CheckerProcess.start(unreadable, load_catalog(), batch_lines=3,
                                       read_bytes=1 << 20)
    try:
        with pytest.raises(CheckerFailed):
            list(checker.batches())
    finally:
        checker.stop()
    assert ("Bad file descriptor" in capfd.readouterr().err) == debug
