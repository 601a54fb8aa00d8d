"""The command line as a user meets it: outputs, exit statuses, nothing appended on error."""

import fcntl
import functools
import json
import os
import queue
import shutil
import signal
import stat
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import pytest

from cartui import cli
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import NO_STREAM, EventStore, NewEvent


def open_service(db) -> CartService:
    return CartService(EventStore(db), load_catalog())


@pytest.fixture
def shop(tmp_db):
    """A database with an open cart (2 espresso, 1 notebook) and a checked-out one."""
    service = open_service(tmp_db)
    service.create_cart("cart-open", customer="Ada Lovelace")
    service.add_item("cart-open", "COF-ESP-1KG", 2)
    service.add_item("cart-open", "BOK-NTBK-A5", 1)
    service.create_cart("cart-done")
    service.add_item("cart-done", "TEA-EGR-100", 3)
    service.check_out("cart-done")
    service.store.close()
    return tmp_db


def log_of(db) -> bytes:
    """The whole log as exported: equal before and after means nothing was appended."""
    with EventStore(db) as store:
        return b"".join(row.export_line() + b"\n" for row in store.read_all(1))


def show_json(run_cli, db, cart, *more) -> dict:
    result = run_cli("show", cart, "--json", "--db", db, *more)
    assert result.status == 0, result.stderr
    return json.loads(result.stdout)


# -- happy paths -----------------------------------------------------------------------------

def test_new_reads_a_customer_as_the_app_does_a_blank_one_is_anonymous(run_cli, tmp_db):
    for cart, given in (("blank", ""), ("spaces", "   "), ("padded", "  Ada Lovelace ")):
        assert run_cli("new", "--cart", cart, "--customer", given, "--db", tmp_db).status == 0
    customers = {c["cart_id"]: c["customer"] for c in
                 json.loads(run_cli("carts", "--json", "--db", tmp_db).stdout)}
    assert customers == {"blank": None, "spaces": None, "padded": "Ada Lovelace"}


def test_a_cart_from_new_to_checkout(run_cli, tmp_db):
    created = run_cli("new", "--cart", "cart-1", "--customer", "Grace Hopper", "--db", tmp_db)
    assert (created.status, created.stdout) == (0, "cart-1\n")
    assert run_cli("add", "cart-1", "COF-ESP-1KG", "--qty", "2", "--db", tmp_db).status == 0
    assert run_cli("add", "cart-1", "COF-ESP-1KG", "--db", tmp_db).status == 0
    assert run_cli("add", "cart-1", "STA-PCL-HB", "--db", tmp_db).status == 0
    assert run_cli("set-qty", "cart-1", "COF-ESP-1KG", "5", "--db", tmp_db).status == 0
    assert run_cli("remove", "cart-1", "STA-PCL-HB", "--db", tmp_db).status == 0
    checked_out = run_cli("checkout", "cart-1", "--db", tmp_db)
    assert checked_out.status == 0
    assert "124.50" in checked_out.stdout  # 5 x 24.90

    cart = show_json(run_cli, tmp_db, "cart-1")
    assert cart == {
        "cart_id": "cart-1", "status": "checked_out", "customer": "Grace Hopper", "version": 7,
        "items": [{"sku": "COF-ESP-1KG", "name": "Espresso Beans 1 kg", "quantity": 5,
                   "unit_price_cents": 2490, "line_total_cents": 12450}],
        "total_cents": 12450, "item_count": 5, "as_of_position": 7,
    }


def test_new_without_an_id_prints_a_fresh_one(run_cli, tmp_db):
    first = run_cli("new", "--db", tmp_db).stdout.strip()
    second = run_cli("new", "--db", tmp_db).stdout.strip()
    assert first != second
    assert show_json(run_cli, tmp_db, first)["status"] == "open"


def test_show_prints_a_table_with_money_as_currency(run_cli, shop):
    result = run_cli("show", "cart-open", "--db", shop)
    assert result.status == 0
    assert "Ada Lovelace" in result.stdout and "open" in result.stdout
    espresso = next(line for line in result.stdout.splitlines() if "COF-ESP-1KG" in line)
    assert espresso.split()[-3:] == ["2", "24.90", "49.80"]
    total = result.stdout.splitlines()[-1].split()
    assert total == ["3", "Total", "64.70"]  # 49.80 + 14.90


def test_names_from_data_are_printed_literally(run_cli, tmp_db):
    """A name with an escape sequence comes from another program or an imported
    file (`new` refuses one): it is printed escaped."""
    service = open_service(tmp_db)
    service.store.append("cart-x", [NewEvent("CartCreated", orjson.dumps(
        {"customer": "[bold red]Eve[/] \x1b[31m \u202eevil"}).decode(), "e1")],
        expected_version=NO_STREAM)
    service.store.close()
    result = run_cli("show", "cart-x", "--db", tmp_db)
    assert "[bold red]Eve[/]" in result.stdout
    assert "\x1b" not in result.stdout and "\\x1b[31m \\u202eevil" in result.stdout


def test_carts_lists_every_cart(run_cli, shop):
    listed = json.loads(run_cli("carts", "--json", "--db", shop).stdout)
    assert [(c["cart_id"], c["customer"], c["status"], c["version"], c["total_cents"],
             c["last_position"]) for c in listed] == [
        ("cart-open", "Ada Lovelace", "open", 3, 6470, 3),
        ("cart-done", None, "checked_out", 3, 2070, 6),
    ]
    human = run_cli("carts", "--db", shop).stdout
    assert "cart-open" in human and "anonymous" in human and "64.70" in human


def test_catalog_lists_the_products(run_cli, tmp_db):
    products = json.loads(run_cli("catalog", "--json", "--db", tmp_db).stdout)
    assert len(products) == len(load_catalog())
    assert {"sku": "COF-ESP-1KG", "name": "Espresso Beans 1 kg", "price_cents": 2490,
            "category": "Coffee & Tea"} in products
    assert "24.90" in run_cli("catalog", "--db", tmp_db).stdout


def test_a_db_that_is_a_folder_or_empty_is_refused_where_a_database_is_opened(run_cli, tmp_path):
    # catalog opens none: it leaves --db be, whatever it names (as it does $CARTUI_DB).
    for db in (tmp_path, ""):
        assert run_cli("catalog", "--db", db).status == 0
    refused = run_cli("carts", "--db", tmp_path)
    assert refused.status == 2 and refused.error_lines == [
        f"error: cannot open {tmp_path}: it is not a file"]
    for command in ("carts", "new"):
        empty = run_cli(command, "--db", "")
        assert empty.status == 2 and empty.error_lines == [
            "error: --db is empty: give the path of a database file"]


def test_events_prints_json_lines_in_export_format(run_cli, shop):
    lines = run_cli("events", "--db", shop).stdout.splitlines()
    assert lines[0].encode() == log_of(shop).splitlines()[0]
    assert [json.loads(line)["position"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert set(json.loads(lines[0])) == {"position", "stream_id", "version", "type",
                                         "schema_version", "data", "metadata", "recorded_at"}


@pytest.mark.parametrize("args, positions", [
    (["--from", "3"], [3, 4, 5, 6]),  # inclusive
    (["--limit", "2"], [1, 2]),
    (["--from", "2", "--limit", "3"], [2, 3, 4]),
    (["--cart", "cart-done"], [4, 5, 6]),
    (["--cart", "cart-open", "--from", "3"], [3]),
    (["--from", "7"], []),  # the next position: nothing yet
])
def test_events_from_limit_and_cart(run_cli, shop, args, positions):
    result = run_cli("events", *args, "--db", shop)
    assert result.status == 0
    assert [json.loads(line)["position"] for line in result.stdout.splitlines()] == positions


def test_verify_passes_a_clean_log(run_cli, shop):
    result = run_cli("verify", "--db", shop)
    assert (result.status, result.stderr) == (0, "")
    assert "all 6 events decode" in result.stdout


def test_verify_lists_rows_that_cannot_be_decoded_and_exits_1(run_cli, shop):
    with EventStore(shop) as store, store.transaction():
        store.insert_rows([(7, "cart-open", 4, "ItemAdded", 2, '{"sku": "COF-ESP-1KG"}',
                            '{"event_id": "x1"}', "2030-01-01T00:00:00.000000Z"),
                           (8, "cart-open", 5, "Teleported", 1, "{}", '{"event_id": "x2"}',
                            "2030-01-01T00:00:00.000000Z")])
    result = run_cli("verify", "--db", shop)
    assert result.status == 1
    assert [line.split(" ")[:2] for line in result.stdout.splitlines()] == [
        ["position", "7"], ["position", "8"]]
    assert "unknown event type 'Teleported'" in result.stdout
    assert result.stderr.splitlines()[-1] == "error: 2 of 8 events cannot be decoded"


def test_python_dash_m_cartui_runs_the_command_line(run_process, shop):
    result = run_process("show", "cart-open", "--json", "--db", shop)
    assert result.status == 0
    assert json.loads(result.stdout)["total_cents"] == 6470


def test_plain_commands_do_not_import_textual(child_env):
    code = ("import sys; from cartui import cli; cli.run(['catalog', '--json']); "
            "print('textual' in sys.modules, 'cartui.importer' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=child_env)
    assert done.stderr.strip() == "False False"


# -- --db and the default database -----------------------------------------------------------

def test_db_before_or_after_the_subcommand(run_cli, shop, tmp_path):
    other = tmp_path / "other.db"
    open_service(other).create_cart("cart-elsewhere")
    assert run_cli("--db", shop, "show", "cart-open").status == 0
    assert run_cli("show", "cart-open", "--db", shop).status == 0
    # The one after the subcommand wins.
    assert run_cli("--db", shop, "show", "cart-elsewhere", "--db", other).status == 0
    assert run_cli("--db", other, "show", "cart-open", "--db", shop).status == 0


def test_cartui_db_environment_variable_without_db(run_cli, shop):
    assert run_cli("show", "cart-open", env={"CARTUI_DB": str(shop)}).status == 0


def test_a_missing_database_is_not_created_by_reading_commands(run_cli, tmp_db):
    result = run_cli("show", "cart-1", "--db", tmp_db)
    assert result.status == 2
    assert result.error_lines == [f"error: no cartui database at {tmp_db} (`cartui new`, "
                                  "`cartui import` or `cartui demo` create one)"]
    assert not tmp_db.exists()


def test_an_empty_file_is_no_database_and_reading_it_writes_nothing(run_cli, tmp_db):
    tmp_db.touch()
    for command in (["show", "cart-1"], ["carts"], ["events"], ["verify"], ["export"]):
        result = run_cli(*command, "--db", tmp_db)
        assert result.status == 2
        assert result.error_lines[0].startswith(f"error: no cartui database at {tmp_db} ")
    assert tmp_db.stat().st_size == 0
    assert run_cli("new", "--cart", "cart-1", "--db", tmp_db).status == 0  # writing commands may
    assert run_cli("show", "cart-1", "--db", tmp_db).status == 0


def test_a_failed_import_into_a_new_database_leaves_no_file(run_cli, tmp_db, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = run_cli("import", bad, "--db", tmp_db)
    assert result.status == 2 and result.error_lines[0].startswith("error: line 1: not valid JSON")
    assert list(tmp_db.parent.glob(tmp_db.name + "*")) == []


def test_a_database_under_a_file_is_a_one_line_error(run_cli, tmp_path):
    (tmp_path / "plain-file").write_text("")
    result = run_cli("new", "--db", tmp_path / "plain-file" / "cartui.db")
    assert result.status == 2
    assert result.error_lines == [f"error: cannot open {tmp_path}/plain-file/cartui.db: "
                                  f"{tmp_path}/plain-file is not a directory"]


@pytest.mark.parametrize("args", [
    ["--db", "DB", "new", "--cart", "cart-1"], ["new", "--cart", "cart-1", "--db", "DB"],
    ["--db", "DB", "demo", "--carts", "2"], ["import", "FILE", "--db", "DB"],
    ["--db", "DB"],  # the app
])
def test_a_db_in_a_folder_that_does_not_exist_is_refused_and_nothing_is_made(
        run_cli, monkeypatch, tmp_path, args):
    import cartui.tui.app

    opened = []
    monkeypatch.setattr(cartui.tui.app, "run_app", opened.append)
    monkeypatch.setattr(cli, "_terminal_problem", lambda: None)  # as in a terminal
    (tmp_path / "events.jsonl").write_text("")
    missing = tmp_path / "misspelt"
    places = {"DB": missing / "cartui.db", "FILE": tmp_path / "events.jsonl"}
    result = run_cli(*[places.get(arg, arg) for arg in args])
    assert result.status == 2
    assert result.error_lines == [f"error: no folder {missing} for the database (create it first)"]
    assert not missing.exists() and opened == []


@pytest.mark.parametrize("term, why", [
    ("xterm-256color", "error: the full-screen app needs a terminal: run it in one, or use a "
                       "command (cartui --help)"),
    ("dumb", "error: the full-screen app cannot draw on a dumb terminal (TERM=dumb): set TERM, "
             "e.g. TERM=xterm-256color, or use a command (cartui --help)"),
])
def test_the_app_without_a_terminal_it_can_draw_on_says_so_and_makes_nothing(
        child_env, tmp_path, term, why):
    db = tmp_path / "app.db"
    done = subprocess.run([sys.executable, "-m", "cartui", "--db", str(db)], capture_output=True,
                          text=True, env={**child_env, "TERM": term}, timeout=60)
    assert (done.returncode, done.stderr) == (2, why + "\n")
    assert done.stdout == "" and not db.exists()


@pytest.mark.parametrize("encoding, draws", [("utf-8", True), ("UTF8", True),
                                             ("ISO-8859-1", False), ("ascii", False)])
def test_the_app_in_a_terminal_that_is_not_utf8_says_so(monkeypatch, encoding, draws):
    """It draws frames and arrows in Unicode: elsewhere they came out as '\\u256d'."""
    from types import SimpleNamespace

    monkeypatch.setattr(sys, "stdin", SimpleNamespace(isatty=lambda: True))
    monkeypatch.setattr(sys, "stdout", SimpleNamespace(isatty=lambda: True, encoding=encoding))
    problem = cli._terminal_problem()
    monkeypatch.undo()
    assert problem == (None if draws else
                       f"the full-screen app draws in Unicode, and this terminal's locale is "
                       f"{encoding}: run it with a UTF-8 locale (e.g. LC_ALL=C.UTF-8), or use a "
                       "command (cartui --help)")


def test_a_terminal_that_cannot_show_a_name_gets_question_marks_not_a_crash(
        run_cli, tmp_db, child_env):
    assert run_cli("new", "--cart", "c1", "--customer", "Zoë 山田", "--db", tmp_db).status == 0
    for command in (["carts"], ["show", "c1"]):
        done = subprocess.run([sys.executable, "-m", "cartui", *command, "--db", str(tmp_db)],
                              capture_output=True, env={**child_env, "PYTHONIOENCODING": "latin-1"},
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Zoë ??".encode("latin-1") in done.stdout


def test_the_default_database_and_cartui_db_get_their_folder_made(run_cli, tmp_path):
    from cartui.resources import builtin_default_db_path

    assert not builtin_default_db_path().parent.exists()
    assert run_cli("new", "--cart", "cart-1").status == 0
    assert builtin_default_db_path().exists()
    setting = tmp_path / "made" / "for" / "cartui.db"
    assert run_cli("new", "--cart", "cart-1", env={"CARTUI_DB": str(setting)}).status == 0
    assert setting.exists()


@pytest.mark.parametrize("args", [["carts"], ["new", "--cart", "cart-1"], ["verify"]])
def test_a_sqlite_file_of_another_program_is_refused_and_left_as_it_was(run_cli, tmp_path, args):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE foo (x)")
    conn.close()
    before = other.read_bytes()
    result = run_cli(*args, "--db", other)
    assert result.status == 2
    assert result.error_lines == [f"error: {other} is a database of another program (tables: "
                                  "foo): cartui keeps its events in a file of its own"]
    assert other.read_bytes() == before  # no tables added, still not in WAL mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_the_app_seeds_only_the_builtin_default_database(run_cli, monkeypatch, tmp_path):
    import cartui.tui.app
    from cartui.resources import builtin_default_db_path

    opened = []
    monkeypatch.setattr(cartui.tui.app, "run_app", opened.append)
    monkeypatch.setattr(cli, "_terminal_problem", lambda: None)  # as in a terminal
    default = builtin_default_db_path()
    assert not default.exists()

    first = run_cli()
    assert first.status == 0, first.stderr
    assert opened == [default]
    assert "demo history" in first.stderr
    seeded = log_of(default)
    assert len(seeded.splitlines()) >= 2000
    run_cli()  # seeded once: a second run leaves it alone
    assert log_of(default) == seeded

    chosen = tmp_path / "chosen.db"
    assert run_cli("--db", chosen).status == 0
    assert run_cli(env={"CARTUI_DB": str(tmp_path / "env.db")}).status == 0
    assert opened[-2:] == [chosen, tmp_path / "env.db"]
    for path in (chosen, tmp_path / "env.db"):
        assert not path.exists() or log_of(path) == b""


def test_demo_writes_the_history_once(run_cli, tmp_db):
    written = run_cli("demo", "--db", tmp_db, "--carts", "40", "--seed", "3")
    assert written.status == 0
    before = log_of(tmp_db)
    assert len(before.splitlines()) > 40
    again = run_cli("demo", "--db", tmp_db)
    assert again.status == 2
    assert again.error_lines[0].startswith("error: ") and "already has events" in again.stderr
    assert log_of(tmp_db) == before


# -- exit statuses, and nothing appended on any error ----------------------------------------

def test_one_of_a_thing_is_said_in_the_singular(run_cli, tmp_db, tmp_path):
    assert run_cli("new", "--cart", "solo", "--db", tmp_db).status == 0
    assert run_cli("verify", "--db", tmp_db).stdout == "its 1 event decodes\n"
    assert run_cli("rebuild", "--db", tmp_db).stdout.startswith(
        "rebuilt 5 projections (carts, revenue, products, activity, summaries) from 1 event in ")
    assert run_cli("export", tmp_path / "one.jsonl", "--db", tmp_db).stderr == (
        f"exported 1 event to {tmp_path / 'one.jsonl'}\n")
    run_cli("add", "solo", "TEA-EGR-100", "--db", tmp_db)
    assert run_cli("checkout", "solo", "--db", tmp_db).stdout == (
        "checked out solo: 1 item, total 6.90\n")
    shown = run_cli("projections", "--db", tmp_db).stdout
    assert "Revenue  1 order · 6.90" in shown and "Activity 1 hour with events" in shown


def test_text_tables_line_up_wide_characters_by_the_columns_they_take():
    lines = cli.table([("Cart", "Total"), ("購物車-1", "24.90"), ("cart-2", "0.00")], right={1})
    assert lines == ["Cart      Total",
                     "購物車-1  24.90",  # three characters, six columns
                     "cart-2     0.00"]


@pytest.mark.parametrize("args, status, message", [
    (["add", "cart-nope", "COF-ESP-1KG"], 1, "cart 'cart-nope' does not exist"),
    (["new", "--cart", "cart-open"], 1, "cart 'cart-open' already exists"),
    (["remove", "cart-open", "TEA-EGR-100"], 1, "sku 'TEA-EGR-100' is not in cart 'cart-open'"),
    (["set-qty", "cart-open", "TEA-EGR-100", "2"], 1, "not in cart"),
    (["add", "cart-open", "COF-ESP-1KG", "--qty", "98"], 1, "a line holds at most 99"),
    (["add", "cart-done", "COF-ESP-1KG"], 1, "is checked out"),
    (["checkout", "cart-done"], 1, "is checked out"),
    (["add", "cart-open", "NOT-A-SKU"], 2, "unknown sku 'NOT-A-SKU'"),
    (["add", "cart-open", "COF-ESP-1KG", "--qty", "0"], 2, "from 1 to 99"),
    (["set-qty", "cart-open", "COF-ESP-1KG", "100"], 2, "from 1 to 99"),
    (["add", "cart-open", "COF-ESP-1KG", "--qty", "two"], 2, "'two' is not a valid whole number"),
    (["show", "cart-open", "--at", "x"], 2, "'x' is not a valid whole number"),
    (["add", "cart-open", "COF-ESP-1KG", "--qty", "9" * 5000], 2,
     "'99999999999999999999'… (5,000 characters) is not a valid whole number"),
    (["add", " cart-open", "COF-ESP-1KG"], 2, "cart id must be"),
    (["new", "--cart=-x"], 2, "a new cart id must not begin with '-'"),
    (["new", "--cart", "x" * 65], 2, "cart id must be 1 to 64 printable characters, with no "
     "space at either end, got 65 characters"),
    (["add", "cart-open"], 2, "Missing argument 'SKU'"),
    (["frobnicate"], 2, "No such command 'frobnicate'"),
    (["show", "cart-open", "--colour"], 2, "No such option '--colour'"),
    (["show", "cart-nope"], 2, "cart 'cart-nope' does not exist"),
    (["show", "cart-open", "--at", "7"], 2, "position 7 is outside the log (0..6)"),
    (["show", "cart-open", "--at", "0"], 2, "cart 'cart-open' does not exist at position 0"),
    (["show", "cart-open", "--at", "1", "--at-time", "2026-01-01T00:00:00Z"], 2, "not both"),
    (["show", "cart-open", "--at-time", "2026-01-01T00:00:00"], 2, "has no timezone"),
    (["show", "cart-open", "--at-time", "yesterday"], 2, "--at-time: not a time: 'yesterday' (like"),
    (["show", "cart-open", "--at-time", "2026-01-05"], 2,
     "'2026-01-05' is a date without a time and a zone (like 2026-01-05T00:00Z)"),
    # Valid ISO-8601, but a year 0 in UTC: before every event.
    (["show", "cart-open", "--at-time", "0001-01-01T00:00:00+05:00"], 2,
     "cart 'cart-open' does not exist at position 0"),
    (["events", "--from", "8"], 2, "position 8 is outside the log (--from takes 1..7)"),
    (["events", "--from", "0"], 2, "--from"),
    (["events", "--limit", str(10**23)], 2, "--limit"),
    (["import", "no-such-file.jsonl"], 2, "does not exist"),
    (["export", "no-such-directory/events.jsonl"], 2, "cannot write no-such-directory/events.jsonl"),
])
def test_every_error_has_its_status_one_error_line_and_appends_nothing(
        run_cli, shop, args, status, message):
    before = log_of(shop)
    result = run_cli(*args, "--db", shop)
    assert result.status == status, result.stderr
    assert len(result.error_lines) == 1 and result.stderr.splitlines()[-1] == result.error_lines[0]
    assert message in result.error_lines[0]
    assert "Traceback" not in result.stderr
    assert log_of(shop) == before


@pytest.mark.parametrize("target", ["itself", "its WAL", "a link to it"])
def test_export_never_writes_over_the_database(run_cli, shop, tmp_path, target):
    path = {"itself": shop, "its WAL": f"{shop}-wal", "a link to it": tmp_path / "link.db"}[target]
    if target == "a link to it":
        path.symlink_to(shop)
    before = log_of(shop)
    result = run_cli("export", path, "--db", shop)
    assert result.status == 2
    assert result.error_lines == [
        f"error: {path} is the database being exported: choose another file"]
    assert log_of(shop) == before


def test_export_makes_a_file_others_may_read_and_keeps_an_existing_files_mode(
        run_cli, shop, tmp_path):
    new, kept = tmp_path / "new.jsonl", tmp_path / "kept.jsonl"
    kept.write_text("old\n")
    kept.chmod(0o640)
    umask = os.umask(0o022)
    try:
        assert run_cli("export", new, "--db", shop).status == 0
        assert run_cli("export", kept, "--db", shop).status == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # as any new file, not private
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert kept.read_bytes() == new.read_bytes() != b"old\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_writes_into_what_is_not_a_file_and_through_a_link(run_cli, shop, tmp_path):
    """A FIFO (or a device, or /dev/stdout) is written into, never replaced by a file;
    a symlink keeps pointing at the file it names."""
    fifo, link, real = tmp_path / "fifo", tmp_path / "link.jsonl", tmp_path / "real.jsonl"
    os.mkfifo(fifo)
    real.write_text("old\n")
    link.symlink_to(real)
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_bytes()))
    reader.start()
    assert run_cli("export", fifo, "--db", shop).status == 0
    reader.join(timeout=30)
    assert run_cli("export", link, "--db", shop).status == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
    assert read == [real.read_bytes()] and read[0].count(b"\n") == len(log_of(shop).splitlines())


def test_a_file_that_cannot_be_replaced_is_named_not_the_hidden_one_beside_it(
        run_cli, shop, tmp_path, monkeypatch):
    """An immutable file (chattr +i), say: the rename over it is refused."""
    def refused(source, target):
        raise PermissionError(1, "Operation not permitted", source, None, target)
    monkeypatch.setattr(os, "replace", refused)
    kept = tmp_path / "kept.jsonl"
    kept.write_text("old\n")
    result = run_cli("export", kept, "--db", shop)
    assert (result.status, result.error_lines) == (
        2, [f"error: cannot write {kept}: Operation not permitted"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # none left
    assert kept.read_text() == "old\n"


def test_export_into_a_full_device_is_an_error_and_leaves_the_device(run_cli, shop, tmp_path):
    full = tmp_path / "full"  # a /dev/full of the test's own: a regression must not replace the system's
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except (PermissionError, AttributeError):
        pytest.skip("making a device needs root")
    result = run_cli("export", full, "--db", shop)
    assert (result.status, result.error_lines) == (
        2, [f"error: cannot write {full}: No space left on device"])
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_empty_cart_cannot_be_checked_out(run_cli, tmp_db):
    run_cli("new", "--cart", "cart-empty", "--db", tmp_db)
    before = log_of(tmp_db)
    result = run_cli("checkout", "cart-empty", "--db", tmp_db)
    assert result.status == 1
    assert result.error_lines == ["error: cart 'cart-empty' is empty and cannot be checked out"]
    assert log_of(tmp_db) == before


def test_a_cart_whose_history_cannot_be_read_is_not_changed(run_cli, shop):
    with sqlite3.connect(shop, isolation_level=None) as other:  # written by someone else
        other.execute("INSERT INTO events SELECT MAX(position) + 1, 'cart-open', 4, "
                      "'ItemTeleported', 1, '{}', '{\"event_id\":\"z\"}', MAX(recorded_at) "
                      "FROM events")
    before = log_of(shop)
    result = run_cli("add", "cart-open", "COF-ESP-1KG", "--db", shop)
    assert result.status == 2
    assert result.error_lines == [
        "error: cart 'cart-open' has a stored event that cannot be decoded (position 7: unknown "
        "event type 'ItemTeleported'), so it cannot be changed"]
    assert log_of(shop) == before


def test_an_app_that_finds_the_database_unreadable_exits_2_with_one_line(run_cli, shop,
                                                                         monkeypatch):
    from cartui.tui.app import CartuiApp

    def run_into_a_bad_page(app):
        app.database_error = sqlite3.DatabaseError("database disk image is malformed")
    monkeypatch.setattr(CartuiApp, "run", run_into_a_bad_page)
    monkeypatch.setattr(cli, "_terminal_problem", lambda: None)  # as in a terminal
    result = run_cli("--db", shop)
    assert result.status == 2
    assert result.error_lines == ["error: cannot read the database: database disk image is malformed"]


@pytest.mark.parametrize("message, name, rebuild_error", [
    ("attempt to write a readonly database", "SQLITE_READONLY",
     "the database is read-only, and this command writes to it: attempt to write a readonly "
     "database"),
    ("database or disk is full", "SQLITE_FULL",
     "cannot write to the database, nothing was saved: database or disk is full"),
], ids=["read-only", "disk full"])
def test_carts_and_projections_fold_what_they_cannot_store(run_cli, shop, monkeypatch,
                                                           message, name, rebuild_error):
    """A command that only reads still answers when the projections cannot be stored."""
    from cartui.projections.projector import Projector

    assert run_cli("carts", "--db", shop).status == 0  # the projections stored up to here
    service = open_service(shop)
    service.create_cart("cart-new", customer="Grace")
    service.add_item("cart-new", "TEA-EGR-100", 2)
    service.add_item("cart-open", "TEA-EGR-100", 1)
    service.store.close()
    cannot_write = sqlite_error(sqlite3.OperationalError, message, name)

    def refused(self, progress=None):
        raise cannot_write
    with monkeypatch.context() as patched:
        patched.setattr(Projector, "catch_up", refused)
        as_read_only = [run_cli(*args, "--db", shop) for args in
                        (["carts"], ["carts", "--json"], ["projections", "--json"])]
    assert [r.status for r in as_read_only] == [0, 0, 0], as_read_only
    caught_up = [run_cli(*args, "--db", shop) for args in
                 (["carts"], ["carts", "--json"], ["projections", "--json"])]
    assert [r.stdout for r in as_read_only] == [r.stdout for r in caught_up]
    assert "cart-new" in caught_up[0].stdout

    with monkeypatch.context() as patched:  # rebuild has nothing to fall back on
        patched.setattr(Projector, "rebuild", refused)
        rebuilt = run_cli("rebuild", "--db", shop)
    assert (rebuilt.status, rebuilt.error_lines) == (2, ["error: " + rebuild_error])


# Two ways a folder and the database in it are read-only to cartui, each a command line
# run in it: a read-only file system (a bind mount of its own, in a mount namespace of its
# own) and the permissions of another user (root's file, run as nobody). Linux, as root.
_READ_ONLY_WAYS = {
    "a read-only file system": ["unshare", "-m", "sh", "-c",
                                'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" '
                                '&& exec "$@"'],
    "another user's file and folder": ["sh", "-c", 'exec setpriv --reuid=65534 --regid=65534 '
                                       '--clear-groups "$@"'],
}


def read_only_run(way: str, folder, *args) -> subprocess.CompletedProcess:
    """`cartui ARGS...` where `folder` is read-only to it, the `way` it is."""
    return subprocess.run([*_READ_ONLY_WAYS[way], str(folder), sys.executable, "-m", "cartui",
                           *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def folder_others_may_read():
    """A new folder under /tmp that every user may read (pytest's own are root's only)."""
    folder = Path(tempfile.mkdtemp(prefix="cartui-read-only-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.parametrize("way", list(_READ_ONLY_WAYS))
def test_a_database_cartui_may_only_read_is_read_as_it_is(shop, folder_others_may_read,
                                                          run_process, way):
    """Where SQLite cannot make the WAL's shared memory beside it, it cannot open it as
    usual; with no WAL left there, the file alone is the whole log."""
    folder = folder_others_may_read
    db = folder / "shop.db"
    shutil.copy(shop, db)  # closed: the WAL is in the file
    db.chmod(0o644)
    try:
        probe = read_only_run(way, folder, "catalog")  # opens no database
    except OSError:
        probe = None
    if probe is None or probe.returncode != 0 or os.geteuid() != 0:
        pytest.skip(f"needs {way} to be made: Linux, as root")
    for args in (["carts"], ["show", "cart-open"], ["events"], ["verify"], ["projections"]):
        here, there = run_process(*args, "--db", shop), read_only_run(way, folder, *args,
                                                                      "--db", db)
        assert (there.returncode, there.stdout) == (here.status, here.stdout), there.stderr
    refused = read_only_run(way, folder, "add", "cart-open", "TEA-EGR-100", "--db", db)
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[-1].startswith("error: cannot write to ")
    assert sorted(p.name for p in folder.iterdir()) == ["shop.db"]


def sqlite_error(kind, message: str, name: str):
    """An error as the sqlite3 module raises it, with SQLite's error name."""
    error = kind(message)
    error.sqlite_errorname = name
    return error


@pytest.mark.parametrize("error, status", [
    (sqlite_error(sqlite3.DatabaseError, "database disk image is malformed", "SQLITE_CORRUPT"), 2),
    (sqlite_error(sqlite3.OperationalError, "disk I/O error", "SQLITE_IOERR"), 2),
    (sqlite_error(sqlite3.OperationalError, "database is locked", "SQLITE_BUSY"), 3),
    (sqlite3.ProgrammingError("Cannot operate on a closed database."), 70),  # a bug of ours
])
def test_sqlite_errors_map_to_an_unreadable_database_a_lock_or_a_bug(error, status):
    assert cli.exit_status(error)[0] == status


def test_a_lock_that_outlives_the_retries_exits_3(run_cli, shop, monkeypatch):
    monkeypatch.setattr(cli, "EventStore", functools.partial(EventStore, busy_timeout=0.02))
    before = log_of(shop)
    blocker = sqlite3.connect(shop, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        result = run_cli("add", "cart-open", "COF-ESP-1KG", "--db", shop)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert result.status == 3
    assert len(result.error_lines) == 1
    assert log_of(shop) == before


def test_usage_errors_show_usage_then_end_with_the_error_line(run_cli, tmp_db):
    result = run_cli("set-qty", "cart-1", "--db", tmp_db)
    assert result.status == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Usage: cartui set-qty")
    assert lines[-1] == "error: Missing argument 'SKU'."


def test_help_is_not_an_error(run_cli):
    result = run_cli("--help")
    assert result.status == 0 and "show" in result.stdout and result.error_lines == []


def test_a_file_of_random_bytes_is_an_unreadable_database(run_process, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    for args in (["show", "cart-1"], ["add", "cart-1", "COF-ESP-1KG"], ["import", junk]):
        result = run_process(*args, "--db", junk)
        assert result.status == 2
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith("error: cannot open") and "Traceback" not in result.stderr


# -- time travel -----------------------------------------------------------------------------

def test_show_at_a_position(run_cli, shop):
    assert show_json(run_cli, shop, "cart-open", "--at", "1")["items"] == []
    at_2 = show_json(run_cli, shop, "cart-open", "--at", "2")
    assert (at_2["version"], at_2["total_cents"], at_2["as_of_position"]) == (2, 4980, 2)
    # Later events of other carts do not change it.
    assert show_json(run_cli, shop, "cart-open", "--at", "5")["version"] == 3
    assert show_json(run_cli, shop, "cart-done", "--at", "5")["status"] == "open"
    assert show_json(run_cli, shop, "cart-done", "--at", "6")["status"] == "checked_out"


def test_show_at_a_time(run_cli, shop):
    times = [json.loads(line)["recorded_at"]
             for line in run_cli("events", "--db", shop).stdout.splitlines()]
    at = show_json(run_cli, shop, "cart-open", "--at-time", times[1])
    assert at["as_of_position"] == max(i + 1 for i, t in enumerate(times) if t <= times[1])
    # The same instant in another zone is the same position.
    far_future = show_json(run_cli, shop, "cart-done", "--at-time", "2999-01-01T01:00:00+01:00")
    assert far_future["as_of_position"] == 6
    # Past the year 9999 in UTC: no event can be later, so the head.
    assert show_json(run_cli, shop, "cart-done", "--at-time",
                     "9999-12-31T23:59:59-05:00")["as_of_position"] == 6
    before_anything = run_cli("show", "cart-open", "--at-time", "2000-01-01T00:00:00Z", "--db", shop)
    assert before_anything.status == 2
    assert before_anything.error_lines == ["error: cart 'cart-open' does not exist at position 0"]


def test_times_read_the_same_in_show_carts_and_projections(run_cli, shop):
    """In UTC, said so, in the app's form; `show` and `projections` to the microsecond,
    which tells apart the events of one second that --at-time chooses between."""
    recorded = [json.loads(line)["recorded_at"]
                for line in run_cli("events", "--db", shop).stdout.splitlines()]
    day, clock = recorded[1][:10], recorded[1][11:-1]  # "2026-01-05", "10:00:00.123456"
    shown = run_cli("show", "cart-open", "--at", "2", "--db", shop).stdout.splitlines()[1]
    assert shown == f"As of position 2 ({day} {clock} UTC)"
    figures = run_cli("projections", "--at", "2", "--db", shop).stdout.splitlines()[0]
    assert figures == f"Projections as of position 2 ({day} {clock} UTC)"
    cart_open = next(line for line in run_cli("carts", "--db", shop).stdout.splitlines()
                     if line.startswith("cart-open"))
    assert cart_open.endswith(f"{recorded[2][:10]} {recorded[2][11:19]} UTC")


# -- events --follow -------------------------------------------------------------------------

class Lines:
    """A child's stdout lines, read as they come, each awaited with a deadline."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.queue.put(line)

    def next(self, deadline: float) -> bytes:
        try:
            return self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.process.kill()
            pytest.fail("no line from `cartui events --follow` in time")


def test_events_follow_prints_events_appended_by_another_process(shop, popen_cartui):
    follower = popen_cartui("events", "--follow", "--from", "5", "--db", shop)
    lines = Lines(follower)
    try:
        deadline = time.monotonic() + 20
        assert json.loads(lines.next(deadline))["position"] == 5
        assert json.loads(lines.next(deadline))["position"] == 6
        open_service(shop).add_item("cart-open", "STA-PCL-HB", 4)  # another process's write
        new = json.loads(lines.next(deadline))
        assert (new["position"], new["type"], new["data"]["sku"]) == (7, "ItemAdded", "STA-PCL-HB")
    finally:
        follower.send_signal(signal.SIGTERM)
        _, stderr = follower.communicate(timeout=20)
    assert follower.returncode == 0
    assert stderr == b""  # ended cleanly: no traceback, no error


def test_events_follow_ends_quietly_when_the_reader_goes_away(shop, popen_cartui):
    follower = popen_cartui("events", "--follow", "--db", shop)
    first = follower.stdout.readline()  # blocks until the existing events are printed
    assert json.loads(first)["position"] == 1
    follower.stdout.close()  # like `| head -1`
    open_service(shop).add_item("cart-open", "STA-PCL-HB", 1)  # the next write hits the closed pipe
    follower.wait(timeout=20)
    assert follower.returncode == 0
    assert follower.stderr.read() == b""


# -- output that cannot be written -----------------------------------------------------------

@pytest.mark.parametrize("args, lines_read", [
    (["carts"], 1), (["events"], 1), (["events", "--follow"], 1), (["export"], 1),
    # Outputs a pipe holds whole, or written at once (a write cut short by a closed
    # pipe reports no error): the reader is gone before the first line.
    (["catalog"], 0), (["projections"], 0), (["verify"], 0), (["carts", "--json"], 0),
    (["projections", "--json"], 0),
])
def test_a_reader_that_stops_reading_ends_cartui_quietly(demo_db, child_env, args, lines_read):
    """`cartui carts | head -1`: not an error, whichever the command."""
    read_end, write_end = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # one page: the rest of the output waits for the reader
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    reader = os.fdopen(read_end, "rb")
    if not lines_read:
        reader.close()
    process = subprocess.Popen([sys.executable, "-m", "cartui", *args, "--db", str(demo_db)],
                               stdout=write_end, stderr=subprocess.PIPE, env=child_env)
    os.close(write_end)
    if lines_read:
        assert reader.readline()
        reader.close()
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (0, b"")  # no error, no complaint at exit


def test_new_with_a_customer_that_is_not_utf8_is_refused_before_anything_is_made(child_env,
                                                                                 tmp_path):
    db = tmp_path / "fresh.db"
    # The bytes of a Latin-1 terminal's "Zoë", as the shell passes them on.
    done = subprocess.run([sys.executable, "-m", "cartui", "new", "--customer", b"Zo\xeb",
                           "--db", str(db)], capture_output=True, text=True, env=child_env,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "error: Invalid value for '--customer': a customer name must be UTF-8 text, "
        "got 'Zo\\udceb' (check the terminal's encoding)")
    assert not db.exists()


def test_a_closed_standard_output_is_an_error_and_nothing_is_done(child_env, tmp_path):
    db = tmp_path / "fresh.db"
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "cartui",
                           "new", "--cart", "cart-1", "--db", str(db)],
                          capture_output=True, text=True, env=child_env, timeout=60)
    assert (done.returncode, done.stderr) == (
        2, "error: the standard output is closed: nothing was done\n")
    assert not db.exists()


def test_a_closed_standard_error_changes_no_status(child_env, demo_db):
    done = subprocess.run(["sh", "-c", 'exec "$@" 2>&-', "sh", sys.executable, "-m", "cartui",
                           "carts", "--db", str(demo_db)], capture_output=True, text=True,
                          env=child_env, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("Cart ")


@pytest.mark.parametrize("args", [["events"], ["export"]])
def test_ctrl_c_in_the_middle_of_a_listing_is_not_a_success(demo_db, child_env, args):
    """Only `events --follow` ends with Ctrl-C as planned: a list cut short exits 130,
    or a script would take part of the log for all of it."""
    read_end, write_end = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    process = subprocess.Popen([sys.executable, "-m", "cartui", *args, "--db", str(demo_db)],
                               stdout=write_end, stderr=subprocess.PIPE, env=child_env)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert reader.readline()  # it is writing, and waits for the reader to go on
        process.send_signal(signal.SIGINT)
        rest = reader.read()  # drained, so that it can finish
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and stderr.endswith(b"error: interrupted\n")
    assert rest.count(b"\n") < 2_000  # cut short: the demo has more events


class _InterruptedImport:
    """A module finder that raises KeyboardInterrupt for one module, as Ctrl-C
    pressed while it loads would."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, name, path=None, target=None):
        if name == self.name:
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_the_command_line_loads_or_tells_an_error_is_one_line(monkeypatch,
                                                                           capsys):
    import cartui.__main__ as entry

    monkeypatch.delitem(sys.modules, "cartui.cli")
    monkeypatch.setattr(sys, "meta_path", [_InterruptedImport("cartui.cli"), *sys.meta_path])
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert (exited.value.code, capsys.readouterr().err) == (130, "error: interrupted\n")
    monkeypatch.undo()

    def interrupted_while_telling(argv):
        try:
            raise cli.CliError("cart 'x' does not exist")
        finally:  # Ctrl-C as the error is told
            raise KeyboardInterrupt
    monkeypatch.setattr(cli, "run", interrupted_while_telling)
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert (exited.value.code, capsys.readouterr().err) == (130, "error: interrupted\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_change_made_whose_output_cannot_be_written_is_a_success_that_says_so(
        shop, child_env):
    """The event is stored: an error status would have a script retry a done command."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "cartui", "add", "cart-open", "TEA-EGR-100",
                               "--db", str(shop)], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=child_env, timeout=60)
    assert (done.returncode, done.stderr) == (0, (
        "warning: done, but the output could not be written (No space left on device): "
        "added 1 x Earl Grey Tea, 100 bags to cart-open: 1 in the cart, total 71.60\n"))
    assert open_service(shop).load("cart-open").state.lines["TEA-EGR-100"].quantity == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("args", [["carts"], ["catalog"], ["projections", "--json"], ["events"],
                                  ["events", "--follow"], ["export"], ["verify"]])
def test_an_output_on_a_full_disk_is_one_error_line_and_status_2(demo_db, child_env, args):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "cartui", *args, "--db", str(demo_db)],
                              stdout=full, stderr=subprocess.PIPE, env=child_env, timeout=60)
    assert done.returncode == 2
    assert done.stderr == b"error: cannot write the output: No space left on device\n"
