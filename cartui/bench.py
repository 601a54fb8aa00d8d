"""`cartui bench`: a synthetic history and every speed figure of the engine and the read side.

The history is written straight into the store in one transaction (seeding a
million events through the service would only measure fsync); it follows
the cart rules (tests check it with the domain's `check`).
"""

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

from .domain import Catalog, evolve, initial_state
from .ids import time_ordered_uuid
from .projections import CHECKPOINT_EVERY
from .service import DEFAULT_SNAPSHOT_EVERY
from .store import EventStore, decode_event, remove_database
from .store.baselines import peak_memory_reported

BENCH_START = datetime(2025, 1, 6, tzinfo=timezone.utc)
CART_ARRIVAL_SECONDS = 65  # mean time between two new carts: ~1,330 a day, 120,000 in 90 days
STEP_SECONDS = 50  # mean time between two events of one cart
OPEN_SHARE = 0.25  # carts never checked out
BIG_CART_EVENTS = 10_000
BIG_CART_ID = "cart-big"
CUSTOMERS = ["ada", "grace", "alan", "edsger", "barbara", "ken", "margaret", "linus", None, None]


@dataclass
class SyntheticHistory:
    rows: list[tuple]  # the events table's rows, in position order
    carts: int
    big_cart: str
    big_cart_events: int


def synthetic_history(events: int, catalog: Catalog, *, seed: int = 7,
                      start: datetime = BENCH_START) -> SyntheticHistory:
    """`events` rows: about 8 events per cart (120,000 carts per 1,000,000 events),
    a quarter of the carts left open, carts arriving ~65 s apart (slower at night),
    each cart's events ~50 s apart, so carts interleave in the log; plus one big
    open cart (10,000 events, or a twentieth of a small history) spread over the
    whole span. Positions start at 1: write them into an empty store."""
    rng = random.Random(seed)
    products = [(p.sku, p.name, p.price_cents) for p in catalog.values()]
    big_size = min(BIG_CART_EVENTS, events // 20)
    timeline: list[tuple[int, int, int, str, str]] = []  # (time µs, cart, version, type, data)
    clock = 0.0
    cart = 0
    while len(timeline) + big_size < events:
        cart += 1
        hour = (clock / 3600) % 24
        clock += rng.expovariate(1 / CART_ARRIVAL_SECONDS) * (2.5 if hour < 7 else 0.8)
        moment = clock
        for version, (type_, data) in enumerate(_cart_script(rng, products), start=1):
            timeline.append((int(moment * 1e6), cart, version, type_, data))
            moment += 1 + rng.expovariate(1 / STEP_SECONDS)
    span = max(clock, 1.0)
    for version, (type_, data) in enumerate(_big_cart_script(rng, products, big_size), start=1):
        timeline.append((int(span * 1e6 * version / (big_size + 1)), 0, version, type_, data))
    timeline.sort()
    del timeline[events:]

    epoch = int(start.timestamp())
    rows = []
    for position, (micros, number, version, type_, data) in enumerate(timeline, start=1):
        seconds, micro = divmod(micros, 1_000_000)
        recorded_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch + seconds)) \
            + f".{micro:06d}Z"
        # Time-ordered ids, as the service makes them (cartui.ids).
        nanoseconds = (epoch * 1_000_000 + micros) * 1000
        event_id = time_ordered_uuid(nanoseconds, rng.getrandbits(62))
        command_id = time_ordered_uuid(nanoseconds, rng.getrandbits(62))
        metadata = (f'{{"event_id":"{event_id}","correlation_id":"{command_id}",'
                    f'"causation_id":"{command_id}"}}')
        stream_id = f"cart-{number:06d}" if number else BIG_CART_ID
        rows.append((position, stream_id, version, type_, 2 if type_ == "ItemAdded" else 1,
                     data, metadata, recorded_at))
    return SyntheticHistory(rows, cart, BIG_CART_ID, sum(1 for t in timeline if t[1] == 0))


def write_history(store: EventStore, history: SyntheticHistory, catalog: Catalog,
                  snapshot_every: int = DEFAULT_SNAPSHOT_EVERY) -> None:
    """Insert the rows into an empty store in one transaction, then the big cart's
    snapshots, as the service would have written them."""
    with store.bulk_transaction():
        store.insert_rows(history.rows)
    state = initial_state(history.big_cart)
    names = catalog.names()
    for row in store.read_stream(history.big_cart):
        state = evolve(state, decode_event(row.type, row.schema_version, row.data, names))
        if state.version % snapshot_every == 0:
            store.save_snapshot(history.big_cart, state.version, orjson.dumps(state.to_dict()).decode())


def _cart_script(rng: random.Random, products: list) -> list[tuple[str, str]]:
    """One cart's events, legal by construction: created, some adds, changes and
    removals, then (three times in four) a checkout of what it holds."""
    customer = rng.choice(CUSTOMERS)
    script = [("CartCreated", orjson.dumps({"customer": customer}).decode())]
    lines: dict[str, list] = {}  # sku -> [name, price, quantity]
    for _ in range(rng.randint(1, 12)):
        roll = rng.random()
        if not lines or roll < 0.6:
            sku, name, price = rng.choice(products)
            quantity = rng.choice((1, 1, 1, 2, 2, 3))
            line = lines.setdefault(sku, [name, price, 0])
            line[2] += quantity
            script.append(("ItemAdded", orjson.dumps(
                {"sku": sku, "name": name, "unit_price_cents": price, "quantity": quantity}).decode()))
        elif roll < 0.85:
            sku = rng.choice(list(lines))
            quantity = rng.randint(1, 5)
            if quantity == lines[sku][2]:
                quantity = quantity % 5 + 1
            lines[sku][2] = quantity
            script.append(("ItemQuantityChanged",
                           orjson.dumps({"sku": sku, "quantity": quantity}).decode()))
        else:
            sku = rng.choice(list(lines))
            del lines[sku]
            script.append(("ItemRemoved", orjson.dumps({"sku": sku}).decode()))
    if rng.random() >= OPEN_SHARE:
        if not lines:
            sku, name, price = rng.choice(products)
            lines[sku] = [name, price, 1]
            script.append(("ItemAdded", orjson.dumps(
                {"sku": sku, "name": name, "unit_price_cents": price, "quantity": 1}).decode()))
        total = sum(price * quantity for _, price, quantity in lines.values())
        count = sum(quantity for _, _, quantity in lines.values())
        script.append(("CartCheckedOut",
                       orjson.dumps({"total_cents": total, "item_count": count}).decode()))
    return script


def _big_cart_script(rng: random.Random, products: list, size: int) -> list[tuple[str, str]]:
    """A long-lived open cart: three lines whose quantities keep changing."""
    if size <= 0:
        return []
    script = [("CartCreated", orjson.dumps({"customer": "big spender"}).decode())]
    chosen = rng.sample(products, 3)
    for sku, name, price in chosen:
        script.append(("ItemAdded", orjson.dumps(
            {"sku": sku, "name": name, "unit_price_cents": price, "quantity": 1}).decode()))
    quantities = {sku: 1 for sku, _, _ in chosen}
    while len(script) < size:
        sku = rng.choice(chosen)[0]
        quantity = rng.randint(1, 99)
        if quantity == quantities[sku]:
            quantity = quantity % 99 + 1
        quantities[sku] = quantity
        script.append(("ItemQuantityChanged", orjson.dumps({"sku": sku, "quantity": quantity}).decode()))
    return script[:size]


# -- measuring -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One speed figure beside its plain-sqlite3 baseline from the same run."""

    key: str
    label: str
    unit: str
    value: float
    baseline: float | None  # the same work in plain sqlite3 (None: no such thing)
    baseline_label: str
    # For a figure measured in pairs with its baseline: each pair's baseline / value.
    pair_ratios: tuple[float, ...] = ()

    @property
    def target(self) -> str:
        return TARGETS[self.key][0]

    @property
    def met(self) -> bool | None:
        return meets_target(self.key, self.value, self.baseline, self.pair_ratios)

    def to_json(self) -> dict:
        paired = ({"pair_ratios": [round(r, 4) for r in self.pair_ratios]} if self.pair_ratios
                  else {})
        return {"label": self.label, "unit": self.unit, "value": round(self.value, 4),
                "baseline": None if self.baseline is None else round(self.baseline, 4),
                "baseline_label": self.baseline_label, "target": self.target,
                "target_met": self.met} | paired


# Each figure's target, in words and as a test of its value and baseline (None: no
# target), in the order of the report. The single command is judged as the issue
# words it: the median, over its paired runs, of each pair's plain / cartui.
TARGETS = {
    "command_ms": (">= 0.7x plain speed",
                   lambda value, plain, ratios: statistics.median(ratios) >= 0.7),
    "import_events_per_s": (">= 100,000", lambda value, plain, *_: value >= 100_000),
    "import_peak_mb": ("< 300", lambda value, plain, *_: value < 300),
    "import_random_ids_events_per_s": ("for comparison", None),
    "show_at_process_s": ("< 0.5", lambda value, plain, *_: value < 0.5),
    "load_big_cart_ms": ("< 0.5", lambda value, plain, *_: value < 0.5),
    "rebuild_events_per_s": (">= 150,000", lambda value, plain, *_: value >= 150_000),
    "jump_median_ms": ("<= 5", lambda value, plain, *_: value <= 5),
    "jump_p95_ms": ("<= 15", lambda value, plain, *_: value <= 15),
    "step_forward_ms": ("cheap", None),
    "step_backward_ms": ("cheap", None),
    "projections_at_process_s": ("< 1", lambda value, plain, *_: value < 1),
    "derived_to_log_ratio": ("<= 1", lambda value, plain, *_: value <= 1),
}
FIGURE_KEYS = tuple(TARGETS)
TARGET_EVENTS = 1_000_000
COMMAND_RUNS, COMMANDS_PER_RUN = 11, 500
JUMPS, STEPS, PROCESS_RUNS, LOADS = 300, 100, 5, 300
IMPORT_RUNS = 3  # each imports the whole history: the median of three whole processes


def meets_target(key: str, value: float, baseline: float | None,
                 pair_ratios=()) -> bool | None:
    test = TARGETS[key][1]
    return None if test is None else test(value, baseline, pair_ratios)


def run_bench(events: int = TARGET_EVENTS, *, say=lambda text: None, seed: int = 7) -> dict:
    """Build a synthetic history of `events` in a temporary directory and measure
    everything; `say` hears what is being done. Returns the report (to_json)."""
    import tempfile

    from .resources import load_catalog

    catalog = load_catalog()
    with tempfile.TemporaryDirectory(prefix="cartui-bench-") as tmp:
        bench = _Bench(Path(tmp), events, catalog, say, seed)
        figures = bench.run()
    full_size = events >= TARGET_EVENTS
    return {
        "events": events,
        "carts": bench.carts,
        "checkpoint_every": CHECKPOINT_EVERY,
        "figures": {f.key: f.to_json() | ({} if full_size else {"target_met": None})
                    for f in figures},
    }


def summarize(reports: list[dict]) -> dict:
    """Several runs' reports as one: each figure's median value and median baseline,
    judged against its target, with the range of its values and the number of
    runs that met the target ("runs", "range", "runs_met")."""
    summary = dict(reports[0], runs=len(reports), figures={})
    for key, first in reports[0]["figures"].items():
        figures = [report["figures"][key] for report in reports]
        values = [figure["value"] for figure in figures]
        baselines = [figure["baseline"] for figure in figures]
        value = statistics.median(values)
        baseline = None if None in baselines else statistics.median(baselines)
        pair_ratios = [ratio for figure in figures for ratio in figure.get("pair_ratios", ())]
        judged = first["target_met"] is not None
        summary["figures"][key] = first | {
            "value": round(value, 4), "baseline": None if baseline is None else round(baseline, 4),
            "range": [min(values), max(values)],
            "target_met": meets_target(key, value, baseline, pair_ratios) if judged else None,
            "runs_met": sum(figure["target_met"] for figure in figures) if judged else None,
            **({"pair_ratios": pair_ratios} if pair_ratios else {})}
    return summary


def format_report(report: dict) -> str:
    """The report as a table (of medians, for several runs)."""
    runs = report.get("runs", 1)
    rows = [("figure", "cartui" if runs == 1 else "cartui (lowest-highest)",
             "plain sqlite3", "target", "")]
    for figure in report["figures"].values():
        met = {True: "ok", False: "MISSED", None: ""}[figure["target_met"]]
        if ratios := figure.get("pair_ratios"):
            met += f"{': ' if met else ''}{statistics.median(ratios):.2f}x, the median of " \
                   f"{len(ratios)} paired runs"
        value = f"{_number(figure['value'])} {figure['unit']}"
        if runs > 1:
            low, high = figure["range"]
            value += f" ({_number(low)}-{_number(high)})"
            if figure["runs_met"] is not None:
                met += f", met in {figure['runs_met']} of {runs} runs"
        rows.append((figure["label"], value, "" if figure["baseline"] is None else
                     f"{_number(figure['baseline'])} ({figure['baseline_label']})",
                     figure["target"], met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"cartui bench: {report['events']:,} events, {report['carts']:,} carts, "
             f"checkpoints every {report['checkpoint_every']:,} events"
             + ("" if runs == 1 else f"; medians of {runs} runs, each judged too"), ""]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    if report["events"] < TARGET_EVENTS:
        lines += ["", f"(targets are for {TARGET_EVENTS:,} events: not judged at this size)"]
    return "\n".join(lines)


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value < 1 else f"{value:.2f}"


class _Bench:
    def __init__(self, tmp: Path, events: int, catalog: Catalog, say, seed: int) -> None:
        self.tmp, self.events, self.catalog, self.say, self.seed = tmp, events, catalog, say, seed
        self.rng = random.Random(seed)
        self.db = tmp / "bench.db"
        self.carts = 0
        self.big_cart = BIG_CART_ID

    def run(self) -> list[Figure]:
        self.say(f"writing a synthetic history of {self.events:,} events")
        history = synthetic_history(self.events, self.catalog, seed=self.seed)
        self.carts, self.big_cart = history.carts, history.big_cart
        with EventStore(self.db, synchronous="OFF") as store:
            write_history(store, history, self.catalog)
        del history
        os.sync()  # the history on disk now, not written back during the durable measurements
        figures = [*self.commands(), *self.rebuild(), *self.time_travel(), *self.load_big_cart(),
                   *self.processes(), *self.import_()]
        order = {key: i for i, key in enumerate(FIGURE_KEYS)}
        return sorted(figures, key=lambda f: order[f.key])

    # Single commands through the service, durable, against inserting the same rows.
    def commands(self) -> list[Figure]:
        from .service import CartService
        from .store import baselines

        self.say(f"single commands, durable: {COMMAND_RUNS} paired runs of {COMMANDS_PER_RUN}")

        def through_the_service(path: Path) -> float:
            with EventStore(path) as store:
                service = CartService(store, self.catalog)
                calls = _shopping(service, self.catalog, COMMANDS_PER_RUN, random.Random(self.seed))
                started = time.perf_counter()
                for method, args in calls:
                    method(*args)
                return (time.perf_counter() - started) * 1000 / COMMANDS_PER_RUN

        through_the_service(self.tmp / "commands-warm-up.db")
        rows = baselines.all_rows(self.tmp / "commands-warm-up.db")  # what the script appends
        service_ms, plain_ms = [], []
        for run in range(COMMAND_RUNS):
            plain = lambda: plain_ms.append(  # noqa: E731
                baselines.insert_one_per_transaction(self.tmp / f"plain-{run}.db", rows)
                * 1000 / len(rows))
            ours = lambda: service_ms.append(  # noqa: E731
                through_the_service(self.tmp / f"commands-{run}.db"))
            for measure in ((ours, plain) if run % 2 == 0 else (plain, ours)):  # neither always first
                measure()
        return [Figure("command_ms", "single command through the service (durable)", "ms",
                       statistics.median(service_ms), statistics.median(plain_ms),
                       "insert the same row, own transaction",
                       tuple(p / o for o, p in zip(service_ms, plain_ms)))]

    def rebuild(self) -> list[Figure]:
        from .history import History
        from .service import CartService
        from .store import baselines
        from .store.readmodels import ReadModelStore

        self.say("rebuilding every projection from zero")
        conn = baselines.connect(self.db)
        baselines.select_fold_columns(conn)  # the same warm cache for both
        started = time.perf_counter()
        count = baselines.select_fold_columns(conn)
        plain = count / (time.perf_counter() - started)
        conn.close()
        with EventStore(self.db) as store:
            history = History(store, CartService(store, self.catalog))
            started = time.perf_counter()
            history.rebuild()
            ours = self.events / (time.perf_counter() - started)
            sizes = ReadModelStore(store).table_bytes()
        derived = sum(size for table, size in sizes.items() if table not in ("events", "snapshots"))
        ratio = derived / sizes["events"]
        return [
            Figure("rebuild_events_per_s", "rebuild of all projections from zero", "events/s",
                   ours, plain, "bare SELECT of the columns"),
            Figure("derived_to_log_ratio", "checkpoints and derived tables / event log", "x",
                   ratio, None, f"log {sizes['events'] / 1e6:,.0f} MB, derived "
                   f"{derived / 1e6:,.1f} MB"),
        ]

    def time_travel(self) -> list[Figure]:
        from .history import History
        from .service import CartService
        from .store import baselines

        self.say(f"{JUMPS} jumps to random positions, {STEPS} steps each way")
        conn = baselines.connect(self.db)
        with EventStore(self.db) as store:
            history = History(store, CartService(store, self.catalog))
            head = history.head()
            jumps, plain = [], []
            for _ in range(JUMPS):
                position = self.rng.randint(1, head)
                cart = store.get(position).stream_id
                started = time.perf_counter()
                history.cart_at(cart, position)
                history.projections_at(position)
                jumps.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                baselines.select_between(conn, position - position % CHECKPOINT_EVERY, position)
                baselines.select_cart(conn, cart, position)
                plain.append((time.perf_counter() - started) * 1000)
            forward, backward, plain_step = [], [], []
            start = self.rng.randint(STEPS + 1, head - STEPS - 1)
            history.projections_at(start)
            for position in range(start + 1, start + STEPS + 1):
                started = time.perf_counter()
                history.projections_at(position)
                forward.append((time.perf_counter() - started) * 1000)
            start = self.rng.randint(STEPS + 1, head - STEPS - 1)
            history.projections_at(start)
            for position in range(start - 1, start - STEPS - 1, -1):
                started = time.perf_counter()
                history.projections_at(position)
                backward.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                baselines.select_between(conn, position - 1, position)
                plain_step.append((time.perf_counter() - started) * 1000)
        conn.close()
        jumps.sort()
        median, p95 = statistics.median(jumps), jumps[int(len(jumps) * 0.95)]
        plain_median = statistics.median(plain)
        return [
            Figure("jump_median_ms", "jump to a random position: cart + every projection, median",
                   "ms", median, plain_median, "SELECT rows from checkpoint to P + the cart's"),
            Figure("jump_p95_ms", "jump to a random position, 95th percentile", "ms", p95,
                   sorted(plain)[int(len(plain) * 0.95)], "the same SELECTs"),
            Figure("step_forward_ms", "step +1 from the last position, median", "ms",
                   statistics.median(forward), statistics.median(plain_step), "SELECT one row"),
            Figure("step_backward_ms", "step -1 from the last position, median", "ms",
                   statistics.median(backward), statistics.median(plain_step), "SELECT one row"),
        ]

    def load_big_cart(self) -> list[Figure]:
        from .service import CartService
        from .store import baselines

        with EventStore(self.db) as store:
            size = store.stream_version(self.big_cart)
            self.say(f"loading the latest state of a {size:,}-event cart")
            service = CartService(store, self.catalog)
            ours = _median_ms(lambda: service.load(self.big_cart), LOADS)
        conn = baselines.connect(self.db)
        plain = _median_ms(lambda: baselines.select_snapshot_and_tail(conn, self.big_cart), LOADS)
        conn.close()
        return [Figure("load_big_cart_ms", f"latest state of a {size:,}-event cart (snapshots)",
                       "ms", ours, plain, "SELECT its snapshot and the events after")]

    def processes(self) -> list[Figure]:
        """Whole processes, as a user runs them, against a process that only reads."""
        from .store import baselines

        self.say("whole processes: cartui show --at, cartui projections --at")
        with EventStore(self.db) as store:
            head = store.head_position()
            position = self.rng.randint(1, head)
            cart = store.get(position).stream_id
        plain = _median_process_s(baselines.python_command(
            baselines.READ_CART_SCRIPT, str(self.db), cart, str(position)))
        show = _median_process_s([*_cartui(), "show", cart, "--at", str(position), "--json",
                                  "--db", str(self.db)])
        projections = _median_process_s([*_cartui(), "projections", "--at", str(position),
                                         "--json", "--db", str(self.db)])
        return [
            Figure("show_at_process_s", "cartui show CART --at P, whole process", "s", show,
                   plain, "python + sqlite3 reading the cart's rows"),
            Figure("projections_at_process_s", "cartui projections --at P, whole process", "s",
                   projections, plain, "python + sqlite3 reading the cart's rows"),
        ]

    def import_(self) -> list[Figure]:
        from .importer import export_events
        from .store import baselines

        exported = self.tmp / "export.jsonl"
        with EventStore(self.db) as store, exported.open("wb") as out:
            export_events(store, out)
        # The same file as another tool (or cartui before time-ordered ids) writes
        # it: random event ids, so the event_id index is built at the end.
        random_ids = self.tmp / "export-random-ids.jsonl"
        _with_random_event_ids(exported, random_ids, self.rng)
        self.say(f"importing {self.events:,} events from JSON Lines: {IMPORT_RUNS} rounds of "
                 f"cartui and plain, and cartui with random event ids")

        def ours(file: Path, into: Path) -> list[str]:
            return baselines.python_command(CARTUI_SCRIPT, "import", str(file), "--db", str(into))

        def plain(file: Path, into: Path) -> list[str]:
            return baselines.python_command(baselines.IMPORT_SCRIPT, str(file), str(into))

        times: dict[str, list] = {"ours": [], "plain": [], "ours random": [], "plain random": []}
        for run in range(IMPORT_RUNS):
            measures = [("ours", ours, exported), ("plain", plain, exported),
                        ("ours random", ours, random_ids)]
            if run == 0:  # once: it is there for comparison, and the slowest of all
                measures.append(("plain random", plain, random_ids))
            turn = run % len(measures)  # each takes each place in the order once
            for name, command, file in measures[turn:] + measures[:turn]:
                into = self.tmp / "imported.db"  # a gigabyte of databases need not wait for the end
                times[name].append(_process(command(file, into)))
                remove_database(into)
        rate, plain_rate, random_rate, plain_random_rate = (
            self.events / statistics.median(seconds for seconds, _ in times[name]) for name in times)
        peak, plain_peak = max(p for _, p in times["ours"]), max(p for _, p in times["plain"])
        return [
            Figure("import_events_per_s", "import from JSON Lines, whole process", "events/s",
                   rate, plain_rate, "parse and INSERT, one transaction"),
            Figure("import_peak_mb", "import: peak memory, its processes added", "MB", peak, plain_peak,
                   "the same plain import"),
            Figure("import_random_ids_events_per_s", "the same import, random event ids", "events/s",
                   random_rate, plain_random_rate, "the same plain import, one run"),
        ]


def _with_random_event_ids(source: Path, target: Path, rng: random.Random) -> None:
    """A copy of an export whose event ids are random (version 4) UUIDs."""
    marker = b'"event_id":"'
    with source.open("rb") as lines, target.open("wb") as out:
        for line in lines:
            start = line.index(marker) + len(marker)
            end = line.index(b'"', start)
            new_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)).encode()
            out.write(b"".join((line[:start], new_id, line[end:])))


def _shopping(service, catalog: Catalog, commands: int, rng: random.Random) -> list[tuple]:
    """`commands` single commands, the way people shop: create a cart, add three
    products, change a quantity, remove one, check out; again. As (method,
    arguments) pairs, made before the clock starts, as the plain loop's rows are."""
    skus = list(catalog)
    calls: list[tuple] = []
    while len(calls) < commands:
        cart = service.new_cart_id()
        first, second, third = rng.sample(skus, 3)
        calls += [(service.create_cart, (cart,)), (service.add_item, (cart, first, 1)),
                  (service.add_item, (cart, second, 2)), (service.add_item, (cart, third, 1)),
                  (service.change_quantity, (cart, first, 5)), (service.remove_item, (cart, third)),
                  (service.check_out, (cart,))]
    return calls[:commands]


def _median_ms(work, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _cartui() -> list[str]:
    """The command as a user runs it: the `cartui` script beside this Python, if installed."""
    script = Path(sys.executable).parent / "cartui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cartui"]


# `cartui ARGS...` exactly as the installed script runs it, reporting its peak memory.
CARTUI_SCRIPT = """
import sys
from cartui.cli import run
from cartui.store.baselines import report_peak_memory
status = run(sys.argv[1:])
report_peak_memory()
sys.exit(status)
"""


def _process(command: list[str]) -> tuple[float, float | None]:
    """(seconds, peak memory in MB if the process reports it) of a whole process,
    which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    error = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])}... failed ({done.returncode}): {error.strip()}")
    return seconds, peak_memory_reported(error)


def _median_process_s(command: list[str]) -> float:
    _process(command)  # the first run warms the OS cache; cold means a new process
    return statistics.median(_process(command)[0] for _ in range(PROCESS_RUNS))
