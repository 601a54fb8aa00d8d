"""`cartui bench` runs end to end on a small history and prints every figure with its
baseline (timings are never asserted); its synthetic history obeys the cart rules."""

from collections import Counter

import orjson

from cartui import bench
from cartui.bench import FIGURE_KEYS, Figure, format_report, summarize, synthetic_history
from cartui.cli import run
from cartui.domain import check, evolve, initial_state
from cartui.resources import load_catalog
from cartui.store import decode_event

CATALOG = load_catalog()


def test_the_synthetic_history_obeys_the_rules_and_looks_like_a_shop():
    history = synthetic_history(20_000, CATALOG, seed=11)
    rows = history.rows
    assert [r[0] for r in rows] == list(range(1, 20_001))
    assert all(a[7] <= b[7] for a, b in zip(rows, rows[1:]))  # time never runs backwards
    states, versions = {}, Counter()
    for position, stream_id, version, type_, schema_version, data, metadata, _ in rows:
        versions[stream_id] += 1
        assert version == versions[stream_id]
        event = decode_event(type_, schema_version, data)
        state = states.get(stream_id) or initial_state(stream_id)
        check(state, event)  # raises on a broken rule
        states[stream_id] = evolve(state, event)
        assert orjson.loads(metadata)["event_id"]
    carts = [s for s in states.values() if s.cart_id != history.big_cart]
    assert 7 <= len(rows) / len(states) <= 10  # ~8 events a cart
    open_share = sum(s.status == "open" for s in carts) / len(carts)
    assert 0.2 <= open_share <= 0.32  # a quarter left open (the last ones cut short)
    assert states[history.big_cart].version == history.big_cart_events == 1000
    event_ids = [orjson.loads(row[6])["event_id"] for row in rows]
    assert all(a < b for a, b, earlier, later in zip(event_ids, event_ids[1:], rows, rows[1:])
               if earlier[7] < later[7])  # time-ordered, as the service makes them


def test_bench_prints_every_figure_beside_its_baseline(capsys):
    assert run(["bench", "--events", "2000", "--json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["events"] == 2000 and report["carts"] > 100
    assert list(report["figures"]) == list(FIGURE_KEYS)
    for key, figure in report["figures"].items():
        assert figure["value"] > 0, key
        assert figure["target"] and figure["target_met"] is None  # not judged below 1M events
        assert (figure["baseline"] is None) == (key == "derived_to_log_ratio"), key
    table = format_report(report)
    assert all(figure["label"] in table for figure in report["figures"].values())


def a_report(command_ms: float, plain_ms: float, import_rate: float,
             pair_ratios: tuple[float, ...]) -> dict:
    """A run's report, as run_bench makes it, with three of its figures."""
    figures = [Figure("command_ms", "single command", "ms", command_ms, plain_ms, "insert",
                      pair_ratios),
               Figure("import_events_per_s", "import", "events/s", import_rate, 80_000.0, "plain"),
               Figure("step_forward_ms", "step +1", "ms", 0.5, 0.01, "SELECT one row")]
    return {"events": 1_000_000, "carts": 119_612, "checkpoint_every": 1000,
            "figures": {figure.key: figure.to_json() for figure in figures}}


RUNS = [a_report(0.20, 0.15, 95_000, (0.72, 0.75, 0.69)),
        a_report(0.23, 0.15, 105_000, (0.61, 0.66, 0.71)),
        a_report(0.19, 0.14, 120_000, (0.74, 0.70, 0.80))]


def test_the_single_command_is_judged_on_the_median_of_its_paired_runs():
    # The medians' ratio (0.15 / 0.20 = 0.75x) is not what counts: the median of
    # the pairs' ratios is, as the issue words the target.
    low = a_report(0.20, 0.15, 100_000, (0.62, 0.69, 0.95))["figures"]["command_ms"]
    high = a_report(0.20, 0.13, 100_000, (0.62, 0.71, 0.72))["figures"]["command_ms"]
    assert (low["target_met"], high["target_met"]) == (False, True)
    assert low["pair_ratios"] == [0.62, 0.69, 0.95]


def test_several_runs_are_judged_on_their_medians_and_each_is_counted():
    assert [r["figures"]["command_ms"]["target_met"] for r in RUNS] == [True, False, True]
    summary = summarize(RUNS)
    assert summary["runs"] == 3 and summary["events"] == 1_000_000
    command = summary["figures"]["command_ms"]
    # All nine pairs: median 0.71x, the target met, as two runs of three met it.
    assert (command["value"], command["baseline"], command["target_met"], command["runs_met"]) == (
        0.2, 0.15, True, 2)
    assert len(command["pair_ratios"]) == 9
    imported = summary["figures"]["import_events_per_s"]
    assert (imported["value"], imported["range"], imported["target_met"], imported["runs_met"]) == (
        105_000, [95_000, 120_000], True, 2)
    step = summary["figures"]["step_forward_ms"]
    assert (step["target_met"], step["runs_met"]) == (None, None)  # no target


def test_bench_runs_as_often_as_asked_and_prints_the_medians(monkeypatch, capsys):
    runs = iter(RUNS)
    monkeypatch.setattr(bench, "run_bench", lambda events, say: next(runs))
    assert run(["bench", "--runs", "3"]) == 0
    table = capsys.readouterr().out
    assert "medians of 3 runs" in table
    command = next(line for line in table.splitlines() if line.startswith("single command"))
    assert "0.2 ms (0.19-0.23)" in command
    assert "ok: 0.71x, the median of 9 paired runs, met in 2 of 3 runs" in command
    assert run(["bench", "--runs", "0"]) == 2
