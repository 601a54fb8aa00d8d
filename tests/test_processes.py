"""Real processes on one database file: concurrent writers, and a kill in the middle of an import."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore

ADDS_PER_PROCESS = 45  # two processes: at most 90, under the 99 a line holds

# Adds one espresso at a time through the real command line code, once told to go;
# prints the exit status of every `cartui add`.
ADDER = """
import contextlib, json, os, sys
from cartui import cli
db, cart, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
statuses = []
with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
    for _ in range(count):
        statuses.append(cli.run(["add", cart, "COF-ESP-1KG", "--db", db]))
print(json.dumps(statuses), flush=True)
"""

# Imports a file with the real importer, saying so after every batch it has inserted; a third
# argument sets the size from which a file is checked in another process.
IMPORTER = """
import sys
from cartui.importer import import_file
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore
from cartui import importer
if len(sys.argv) > 3:
    importer.CHECK_ELSEWHERE_BYTES = int(sys.argv[3])
store = EventStore(sys.argv[1])
import_file(store, CartService(store, load_catalog()), sys.argv[2],
            progress=lambda done, total: print("progress", done, total, flush=True))
print("committed", flush=True)
"""


def test_two_processes_adding_to_one_cart_lose_nothing(tmp_db, child_env):
    with EventStore(tmp_db) as store:
        CartService(store, load_catalog()).create_cart("cart-busy")
    adders = [subprocess.Popen([sys.executable, "-c", ADDER, str(tmp_db), "cart-busy",
                                str(ADDS_PER_PROCESS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env=child_env) for _ in range(2)]
    for adder in adders:
        assert adder.stdout.readline() == "ready\n"
    for adder in adders:  # both start adding at the same moment
        adder.stdin.write("go\n")
        adder.stdin.flush()
    statuses = []
    for adder in adders:
        out, _ = adder.communicate(timeout=120)
        assert adder.returncode == 0
        statuses += json.loads(out)
    assert set(statuses) <= {0, 3}  # each add landed, or gave up on the conflict with exit 3
    landed = statuses.count(0)
    with EventStore(tmp_db) as store:
        state = CartService(store, load_catalog()).load("cart-busy").state
        versions = [row.version for row in store.read_stream("cart-busy")]
    assert state.lines["COF-ESP-1KG"].quantity == landed
    assert versions == list(range(1, landed + 2))  # created, then one event per landed add


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """60,000 valid events: 15,000 carts of 4 events each."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    lines = []
    for cart in range(15_000):
        stream = f"cart-{cart:06d}"
        events = [("CartCreated", 1, {"customer": None}),
                  ("ItemAdded", 2, {"sku": "TEA-EGR-100", "name": "Earl Grey", "unit_price_cents": 690,
                                    "quantity": 2}),
                  ("ItemAdded", 2, {"sku": "STA-PCL-HB", "name": "Pencils", "unit_price_cents": 490,
                                    "quantity": 1}),
                  ("CartCheckedOut", 1, {"total_cents": 1870, "item_count": 3})]
        for version, (type_, schema_version, data) in enumerate(events, start=1):
            lines.append(orjson.dumps({
                "stream_id": stream, "version": version, "type": type_, "schema_version": schema_version,
                "data": data, "metadata": {"event_id": f"{stream}-{version}", "correlation_id": None,
                                           "causation_id": None},
                "recorded_at": "2026-02-01T10:00:00.000000Z"}))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, len(lines)


def wait_for(condition, what: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the import ended or took too long before {what}")
        time.sleep(0.005)


def assert_all_or_nothing(db, before: int, imported: int) -> None:
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()
    with EventStore(db) as store:
        assert store.head_position() in (before, before + imported)
        assert len(store.stored_event_ids(["cart-000000-1", "cart-014999-4"])) in (0, 2)


@pytest.mark.parametrize("checked_elsewhere", [False, True],
                         ids=["checked in its process", "checked in another process"])
def test_a_killed_import_into_a_database_with_events_leaves_all_or_nothing(tmp_db, big_file,
                                                                           child_env,
                                                                           checked_elsewhere):
    if checked_elsewhere and not Path("/proc/self/cmdline").exists():
        pytest.skip("finding the checking process needs Linux's /proc")
    path, count = big_file
    with EventStore(tmp_db) as store:
        CartService(store, load_catalog()).create_cart("cart-before")
    wal = tmp_db.with_name(tmp_db.name + "-wal")
    start_size = wal.stat().st_size if wal.exists() else 0
    threshold = "0" if checked_elsewhere else str(1 << 60)
    importing = subprocess.Popen([sys.executable, "-c", IMPORTER, str(tmp_db), str(path), threshold],
                                 stdout=subprocess.PIPE, text=True, env=child_env)
    assert importing.stdout.readline().startswith("progress")  # a batch is in, uncommitted
    checkers = checker_processes(importing.pid)
    assert len(checkers) == (1 if checked_elsewhere else 0)
    # Mid-transaction: pages of the open transaction are spilling into the WAL.
    wait_for(lambda: wal.exists() and wal.stat().st_size > start_size + 2_000_000,
             "it wrote anything", importing)
    importing.send_signal(signal.SIGKILL)
    importing.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while running(checkers):  # it finds its reader gone and ends too
        assert time.monotonic() < deadline, "the checking process outlived its import"
        time.sleep(0.01)
    assert_all_or_nothing(tmp_db, 1, count)
    # And the database goes on working: the same import now lands whole.
    with EventStore(tmp_db) as store:
        from cartui.importer import import_file
        if store.head_position() == 1:
            assert import_file(store, CartService(store, load_catalog()), path).appended == count


def checker_processes(importer_pid: int) -> set[int]:
    """The processes an import started to check its file (see cartui.import_checker)."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # not a process, or gone meanwhile
            continue
        if b"cartui.import_checker" in argv and parent == importer_pid:
            found.add(int(proc.name))
    return found


def running(pids: set[int]) -> set[int]:
    """Those of `pids` still running (neither gone nor a zombie)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.parametrize("checked_elsewhere", [False, True],
                         ids=["checked in its process", "checked in another process"])
def test_a_killed_import_into_an_empty_database_leaves_nothing(tmp_db, big_file, child_env,
                                                               checked_elsewhere):
    if checked_elsewhere and not Path("/proc/self/cmdline").exists():
        pytest.skip("finding the checking process needs Linux's /proc")
    path, count = big_file
    EventStore(tmp_db).close()
    threshold = "0" if checked_elsewhere else str(1 << 60)
    importing = subprocess.Popen([sys.executable, "-c", IMPORTER, str(tmp_db), str(path), threshold],
                                 stdout=subprocess.PIPE, text=True, env=child_env)
    first = importing.stdout.readline()  # a batch is in; the transaction is still open
    assert first.startswith("progress")
    checkers = checker_processes(importing.pid)
    assert len(checkers) == (1 if checked_elsewhere else 0)
    # The load writes into the database file itself (a rollback journal keeps what was
    # there): kill it once pages have spilled, so that the next open must roll back.
    wait_for(lambda: tmp_db.stat().st_size > 4_000_000, "it wrote into the file", importing)
    importing.send_signal(signal.SIGKILL)
    rest, _ = importing.communicate(timeout=30)
    # The checking process finds its reader gone and ends too.
    deadline = time.monotonic() + 30
    while running(checkers):
        assert time.monotonic() < deadline, "the checking process outlived its import"
        time.sleep(0.01)
    assert_all_or_nothing(tmp_db, 0, count)
    if "committed" not in rest:
        with EventStore(tmp_db) as store:
            assert store.head_position() == 0
            # The indexes dropped for the fast path are all there again.
            names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
            assert {"events_event_id", "events_stream_position", "events_recorded_at"} <= names
            assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
