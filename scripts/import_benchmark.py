"""Measure `cartui import` on a large file: rate and (with /usr/bin/time -v) peak memory.

    .venv/bin/python scripts/import_benchmark.py generate /tmp/events.jsonl --events 1000000
    /usr/bin/time -v .venv/bin/python scripts/import_benchmark.py run /tmp/events.jsonl /tmp/bench.db

The file looks like a busy shop's export: about 8 events per cart, ~2,000
carts shopping at once, most checked out, some abandoned, the first 5% of the
ItemAdded rows in schema version 1. Not a test: it takes a while.
"""

import argparse
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore, format_timestamp


def generate(path: Path, events: int, seed: int) -> None:
    rng = random.Random(seed)
    catalog = load_catalog()
    products = list(catalog.values())
    moment = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
    active: list[list] = []  # carts shopping now: [cart_id, version, planned events]
    cart_count = 0
    used_ids: set[str] = set()

    def new_cart() -> list:
        nonlocal cart_count
        cart_count += 1
        cart_id = f"cart-{rng.getrandbits(32):08x}"  # random, like the app's ids
        while cart_id in used_ids:
            cart_id = f"cart-{rng.getrandbits(32):08x}"
        used_ids.add(cart_id)
        plan: list[tuple[str, dict]] = [("CartCreated", {"customer": rng.choice([None, "Ada Lovelace", "Alan Turing"])})]
        lines: dict[str, list[int]] = {}
        for product in rng.sample(products, rng.randint(3, 6)):
            qty = rng.randint(1, 3)
            lines[product.sku] = [product.price_cents, qty]
            plan.append(("ItemAdded", {"sku": product.sku, "name": product.name,
                                       "unit_price_cents": product.price_cents, "quantity": qty}))
        if rng.random() < 0.4:
            sku = rng.choice(list(lines))
            lines[sku][1] = rng.randint(1, 9)
            plan.append(("ItemQuantityChanged", {"sku": sku, "quantity": lines[sku][1]}))
        if rng.random() < 0.3:
            sku = rng.choice(list(lines))
            del lines[sku]
            plan.append(("ItemRemoved", {"sku": sku}))
        if rng.random() < 0.85:
            plan.append(("CartCheckedOut", {"total_cents": sum(p * q for p, q in lines.values()),
                                            "item_count": sum(q for _, q in lines.values())}))
        plan.reverse()
        return [cart_id, 0, plan]

    with path.open("wb") as out:
        for position in range(1, events + 1):
            while len(active) < 2000:
                active.append(new_cart())
            i = rng.randrange(len(active))
            cart = active[i]
            type_, data = cart[2].pop()
            cart[1] += 1
            schema_version = 2 if type_ == "ItemAdded" else 1
            if type_ == "ItemAdded" and position < events // 20:
                schema_version = 1
                data = {"sku": data["sku"], "quantity": data["quantity"],
                        "price": data["unit_price_cents"] / 100}
            if not cart[2]:
                active[i] = active[-1]
                active.pop()
            moment += timedelta(microseconds=rng.randint(1, 600_000))
            correlation = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            out.write(orjson.dumps({
                "position": position, "stream_id": cart[0], "version": cart[1], "type": type_,
                "schema_version": schema_version, "data": data,
                "metadata": {"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                             "correlation_id": correlation, "causation_id": correlation},
                "recorded_at": format_timestamp(moment)}) + b"\n")
    print(f"wrote {events:,} events of {cart_count:,} carts to {path}", file=sys.stderr)


def run(path: Path, db: Path) -> None:
    from cartui.importer import import_file

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = EventStore(db)
    service = CartService(store, load_catalog())
    started = time.perf_counter()
    result = import_file(store, service, path)
    seconds = time.perf_counter() - started
    print(f"imported {result.appended:,} events (skipped {result.skipped:,}) in {seconds:.2f} s: "
          f"{result.appended / seconds:,.0f} events/s", file=sys.stderr)
    started = time.perf_counter()
    again = import_file(store, service, path)
    seconds = time.perf_counter() - started
    print(f"again: appended {again.appended:,}, skipped {again.skipped:,} in {seconds:.2f} s",
          file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    g = sub.add_parser("generate")
    g.add_argument("file", type=Path)
    g.add_argument("--events", type=int, default=1_000_000)
    g.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("run")
    r.add_argument("file", type=Path)
    r.add_argument("db", type=Path)
    args = parser.parse_args()
    if args.what == "generate":
        generate(args.file, args.events, args.seed)
    else:
        run(args.file, args.db)


if __name__ == "__main__":
    main()
