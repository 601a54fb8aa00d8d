"""Plain sqlite3 doing the same work as cartui, without cartui: the baselines
`cartui bench` prints beside each of its figures.

Each is the least a program must do to get the same rows in or out of the
same schema (cartui's, with its indexes and triggers), with the same
durability, and nothing else: no decoding, no rules, no projections.
"""

import sqlite3
import sys
import time
from pathlib import Path

from .schema import SCHEMA_SQL

_COLUMNS = "position, stream_id, version, type, schema_version, data, metadata, recorded_at"


def connect(path: str | Path, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA_SQL)


def insert_one_per_transaction(path: str | Path, rows: list[tuple]) -> float:
    """Seconds to insert rows into a new database, each in its own durable transaction."""
    conn = connect(path)
    create_schema(conn)
    started = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def all_rows(path: str | Path) -> list[tuple]:
    conn = connect(path)
    rows = conn.execute(f"SELECT {_COLUMNS} FROM events ORDER BY position").fetchall()
    conn.close()
    return rows


def select_fold_columns(conn: sqlite3.Connection) -> int:
    """Read every row's columns a fold needs, in order; returns the count."""
    count = 0
    for _ in conn.execute("SELECT position, stream_id, version, type, schema_version, data, "
                          "recorded_at FROM events ORDER BY position"):
        count += 1
    return count


def select_between(conn: sqlite3.Connection, after: int, up_to: int) -> list[tuple]:
    return conn.execute("SELECT position, stream_id, version, type, schema_version, data, "
                        "recorded_at FROM events WHERE position > ? AND position <= ?",
                        (after, up_to)).fetchall()


def select_cart(conn: sqlite3.Connection, stream_id: str, up_to: int) -> list[tuple]:
    return conn.execute("SELECT version, type, data FROM events WHERE stream_id = ? AND "
                        "position <= ? ORDER BY position", (stream_id, up_to)).fetchall()


def select_snapshot_and_tail(conn: sqlite3.Connection, stream_id: str) -> list[tuple]:
    """The newest snapshot of a stream and the events after it."""
    snapshot = conn.execute("SELECT version, state FROM snapshots WHERE stream_id = ? "
                            "ORDER BY version DESC LIMIT 1", (stream_id,)).fetchone()
    version = snapshot[0] if snapshot else 0
    return [snapshot, *conn.execute("SELECT type, data FROM events WHERE stream_id = ? AND "
                                    "version > ? ORDER BY version", (stream_id, version))]


# Whole processes, run as `python -c SCRIPT ARGS...`.

# argv: database, cart, position. Prints the cart's rows up to the position.
READ_CART_SCRIPT = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
rows = conn.execute("SELECT version, type, data FROM events WHERE stream_id = ? AND position <= ? "
                    "ORDER BY position", (sys.argv[2], int(sys.argv[3]))).fetchall()
print(len(rows))
"""

# argv: JSON Lines file, new database. Inserts every line's row in one transaction.
IMPORT_SCRIPT = """
import sqlite3, sys, orjson
from cartui.store.baselines import connect, create_schema
conn = connect(sys.argv[2])
create_schema(conn)
conn.execute("BEGIN IMMEDIATE")
with open(sys.argv[1], "rb") as lines:
    batch = []
    for position, line in enumerate(lines, start=1):
        e = orjson.loads(line)
        batch.append((position, e["stream_id"], e["version"], e["type"], e["schema_version"],
                      orjson.dumps(e["data"]).decode(), orjson.dumps(e["metadata"]).decode(),
                      e["recorded_at"]))
        if len(batch) == 5000:
            conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", batch)
            batch.clear()
    conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", batch)
conn.execute("COMMIT")
from cartui.store.baselines import report_peak_memory
report_peak_memory()
"""


def python_command(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", script, *args]


_PEAK = "peak resident memory (kB): "


def report_peak_memory() -> None:
    """Tell the parent, on stderr, this process's peak resident memory plus the largest
    peak of the processes it started (an import's checker), as if both peaked at once.
    VmHWM counts only since exec: the rusage of a process also holds its parent's peak."""
    import resource
    try:
        with open("/proc/self/status") as status:
            kilobytes = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kilobytes += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write(f"\n{_PEAK}{kilobytes}\n")


def peak_memory_reported(stderr: str) -> float | None:
    """The peak memory in MB a process reported with report_peak_memory."""
    for line in reversed(stderr.splitlines()):
        if line.startswith(_PEAK):
            return int(line[len(_PEAK):]) / 1024
    return None
