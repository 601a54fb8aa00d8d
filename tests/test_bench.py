"""`cartui bench` runs end to end on a small history and prints every figure with its
baseline (timings are never asserted); its synthetic history obeys the cart rules."""

from collections import Counter

import orjson

from cartui.bench import FIGURE_KEYS, format_report, synthetic_history
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
