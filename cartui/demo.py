"""The demo history: a deterministic week of a small web shop, written through the cart decider.

Every event is decided by `decide` from the cart's state and applied with
`evolve`, so the history obeys the cart rules by construction. Everything is
derived from the seed (ids included), so the same seed gives the same
history byte for byte.

What the week holds, so that every feature has something to show:
- traffic in shop hours with a lunch and an evening peak, busier Fridays, a
  quiet Sunday, a two-hour maintenance gap on Wednesday afternoon and a
  flash-sale burst on Thursday at 18:00;
- named customers (some with several carts) and anonymous carts;
- carts checked out, carts abandoned (left open), carts emptied again,
  items removed and quantities changed before checkout, a few office orders
  with many events, customers who come back to a saved cart days later;
- the first day was written by an older version of the app: its `ItemAdded`
  rows are stored as schema version 1 (`sku`, `quantity`, `price` as a float,
  no `name`), so reading them shows upcasting at work.
"""

import heapq
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import orjson

from .domain import (
    AddItem, CartState, Catalog, ChangeQuantity, CheckOut, Command, CreateCart, RemoveItem,
    decide, evolve, initial_state,
)
from .domain.errors import DomainError
from .domain.events import CURRENT_SCHEMA_VERSION
from .ids import time_ordered_uuid
from .store import EventStore, RecordedEvent, format_timestamp

DEMO_START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)  # a Monday, when the shop opens
DEFAULT_SEED = 2026
DEFAULT_CARTS = 300
DAYS = 7
OPENING_HOUR = 8

# Relative traffic by hour of day: sessions start between 08:00 and 22:00.
HOUR_WEIGHTS = {8: 2, 9: 3, 10: 4, 11: 4, 12: 7, 13: 6, 14: 3, 15: 3, 16: 3, 17: 4,
                18: 6, 19: 9, 20: 8, 21: 4}
DAY_WEIGHTS = [1.0, 0.9, 0.8, 1.1, 1.3, 1.2, 0.5]  # Monday .. Sunday
MAINTENANCE = (2, (14, 15))  # Wednesday 14:00-16:00: nobody could shop
FLASH_SALE = (3, 18, 40 * 60)  # Thursday 18:00, a burst over 40 minutes
FLASH_SALE_SHARE = 0.12

FIRST_NAMES = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Niklaus",
    "Radia", "Tim", "Sophie", "Linus", "Katherine", "John", "Hedy", "Dennis", "Joan", "Guido",
    "Annie", "Bjarne", "Karen", "Leslie", "Mary", "Whitfield", "Evelyn", "Yukihiro", "Lynn", "Ward",
    "Amara", "Mateo", "Priya", "Jonas", "Chiara", "Kwame", "Ingrid", "Tomás", "Mei", "Oskar",
]
LAST_NAMES = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen",
    "Wirth", "Perlman", "Berners-Lee", "Wilson", "Torvalds", "Johnson", "McCarthy", "Lamarr",
    "Ritchie", "Clarke", "van Rossum", "Easley", "Stroustrup", "Spärck Jones", "Lamport", "Shaw",
    "Diffie", "Boyd", "Matsumoto", "Conway", "Cunningham", "Okafor", "García", "Raman", "Berg",
    "Rossi", "Mensah", "Lund", "Ferreira", "Chen", "Nilsson",
]

# How shoppers behave, and how many of them behave so.
KIND_WEIGHTS = {"buyer": 46, "abandoner": 20, "returning": 15, "emptied": 6, "idle": 4}
OFFICE_ORDER_SHARE = 30  # one cart in this many is an office order with many events
QUANTITY_WEIGHTS = ([1, 2, 3, 4, 6], [70, 15, 8, 4, 3])

Row = tuple[str, int, str, int, str, str, str]  # stream_id, version, type, schema_version, data, metadata, recorded_at
Progress = Callable[[int, int], None]  # (done, total)


class DemoRefused(Exception):
    """The demo history is only written into a database without events."""


def write_demo(store: EventStore, catalog: Catalog, *, seed: int = DEFAULT_SEED,
               carts: int = DEFAULT_CARTS, start: datetime = DEMO_START,
               progress: Progress | None = None) -> int:
    """Write the demo history into an empty store in one transaction; return the event count."""
    rows = list(iter_demo_rows(catalog, seed=seed, carts=carts, start=start))
    with store.transaction():
        # Checked under the write lock, so two processes seeding at once write it once.
        if store.head_position() != 0:
            raise DemoRefused(f"{store.path} already has events: the demo history goes into "
                              "an empty database")
        for first in range(0, len(rows), 1000):
            batch = rows[first:first + 1000]
            store.insert_rows(RecordedEvent(first + i, *row) for i, row in enumerate(batch, start=1))
            if progress is not None:
                progress(first + len(batch), len(rows))
    return len(rows)


def iter_demo_rows(catalog: Catalog, *, seed: int = DEFAULT_SEED, carts: int = DEFAULT_CARTS,
                   start: datetime = DEMO_START) -> Iterator[Row]:
    """The demo events in the order they happened, as rows ready to store (without positions).

    Carts shop at the same time: each cart's session is a script of timed
    commands, and the scripts are merged by time. Memory is proportional to
    the carts shopping at once, so this also generates large histories.
    """
    if carts < 1:
        raise ValueError("the demo needs at least one cart")
    rng = random.Random(seed)
    skus = list(catalog)
    schema_1_until = start + timedelta(days=1)
    names = _customers(rng, carts)
    cart_ids = [f"cart-{n:08x}" for n in rng.sample(range(16 ** 8), carts)]
    # Cart n of every demo of this seed shops alike, at times that sometimes meet:
    # ids of one size mixed with this keep a demo of another size from holding them.
    id_salt = random.Random(f"{seed}:{carts}").getrandbits(128)
    queue: list = []
    for index, session_start in enumerate(_session_starts(rng, carts, start)):
        cart_rng = random.Random(f"{seed}:{index}")
        cart = _Cart(initial_state(cart_ids[index]), cart_rng)
        script = _script(cart, names[index], skus, start, session_start, _kind(cart_rng, index))
        _push(queue, index, cart, script)
    while queue:
        moment, index, command, cart, script = heapq.heappop(queue)
        try:
            events = decide(command, cart.state, catalog)
        except DomainError:
            events = []  # the shopper tried something the cart refuses: nothing happens
        nanoseconds = (moment - _UNIX_EPOCH) // _MICROSECOND * 1000
        correlation_id = _uuid(nanoseconds, cart.rng, id_salt)
        recorded_at = format_timestamp(moment)
        for event in events:
            cart.state = evolve(cart.state, event)
            type_, schema_version, data = event.type, CURRENT_SCHEMA_VERSION[event.type], event.data()
            if type_ == "ItemAdded" and moment < schema_1_until:
                # As the first version of the app wrote it: a float price, no name.
                schema_version = 1
                data = {"sku": data["sku"], "quantity": data["quantity"],
                        "price": data["unit_price_cents"] / 100}
            metadata = {"event_id": _uuid(nanoseconds, cart.rng, id_salt),
                        "correlation_id": correlation_id, "causation_id": correlation_id}
            yield (cart.state.cart_id, cart.state.version, type_, schema_version,
                   orjson.dumps(data).decode(), orjson.dumps(metadata).decode(), recorded_at)
        _push(queue, index, cart, script)


@dataclass
class _Cart:
    """The cart as the shopper sees it (scripts read it to choose their next step),
    with the cart's own random numbers: carts do not disturb each other's."""
    state: CartState
    rng: random.Random


def _push(queue: list, index: int, cart: _Cart, script) -> None:
    step = next(script, None)
    if step is not None:
        moment, command = step
        heapq.heappush(queue, (moment, index, command, cart, script))


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _uuid(unix_nanoseconds: int, rng: random.Random, salt: int) -> str:
    """A time-ordered id as the service makes them (cartui.ids), from the cart's
    random numbers (128 bits, as ever: the demo stays the same history) and the salt
    of the demo's seed and size."""
    return time_ordered_uuid(unix_nanoseconds, rng.getrandbits(128) ^ salt)


def _customers(rng: random.Random, carts: int) -> list[str | None]:
    """A name per cart, None for anonymous carts; regulars come back with several carts."""
    regulars = [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(max(3, carts // 12))]
    names: list[str | None] = []
    for _ in range(carts):
        roll = rng.random()
        if roll < 0.28:
            names.append(None)
        elif roll < 0.55:
            names.append(rng.choice(regulars))
        else:
            names.append(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
    return names


def _session_starts(rng: random.Random, carts: int, start: datetime) -> list[datetime]:
    """When each cart's session begins, in time order."""
    slots, weights = [], []
    for day, day_weight in enumerate(DAY_WEIGHTS[:DAYS]):
        for hour, hour_weight in HOUR_WEIGHTS.items():
            if (day, hour) in {(MAINTENANCE[0], h) for h in MAINTENANCE[1]}:
                continue
            slots.append((day, hour))
            weights.append(day_weight * hour_weight)
    flash_day, flash_hour, flash_seconds = FLASH_SALE
    bursts = int(carts * FLASH_SALE_SHARE)
    offsets = [timedelta(days=day, hours=hour - OPENING_HOUR, seconds=rng.uniform(0, 3600))
               for day, hour in rng.choices(slots, weights, k=carts - bursts)]
    offsets += [timedelta(days=flash_day, hours=flash_hour - OPENING_HOUR,
                          seconds=rng.uniform(0, flash_seconds)) for _ in range(bursts)]
    return sorted(start + offset for offset in offsets)


def _kind(rng: random.Random, index: int) -> str:
    if index % OFFICE_ORDER_SHARE == OFFICE_ORDER_SHARE // 2:
        return "office"
    return rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]


def _script(cart: _Cart, customer: str | None, skus: list[str], week_start: datetime,
            moment: datetime, kind: str) -> Iterator[tuple[datetime, Command]]:
    """A shopper's session: timed commands. Reads `cart` to pick what to change or remove."""
    cart_id, rng = cart.state.cart_id, cart.rng

    def later(low: float, high: float) -> datetime:
        nonlocal moment
        moment += timedelta(seconds=rng.uniform(low, high))
        return moment

    def quantity() -> int:
        return rng.choices(*QUANTITY_WEIGHTS)[0]

    def in_cart() -> list[str]:
        return list(cart.state.lines)

    # Shoppers browse a few favourite aisles rather than the whole catalog.
    favourites = rng.sample(skus, k=min(len(skus), rng.randint(4, 10)))

    yield moment, CreateCart(cart_id=cart_id, customer=customer)
    if kind == "idle":
        return
    if kind == "office":
        # An office order: many lines, quantities revised again and again.
        for sku in rng.sample(skus, k=min(len(skus), rng.randint(12, 22))):
            yield later(10, 90), AddItem(cart_id=cart_id, sku=sku, quantity=rng.randint(2, 12))
        for _ in range(rng.randint(12, 30)):
            lines = in_cart()
            roll = rng.random()
            if roll < 0.65 and lines:
                yield later(8, 120), ChangeQuantity(cart_id=cart_id, sku=rng.choice(lines),
                                                    quantity=rng.randint(1, 40))
            elif roll < 0.85 and len(lines) > 3:
                yield later(8, 120), RemoveItem(cart_id=cart_id, sku=rng.choice(lines))
            else:
                yield later(8, 120), AddItem(cart_id=cart_id, sku=rng.choice(skus),
                                             quantity=rng.randint(1, 6))
        yield later(120, 900), CheckOut(cart_id=cart_id)
        return

    for _ in range(1 if kind == "emptied" else rng.randint(2, 8)):
        yield later(6, 150), AddItem(cart_id=cart_id, sku=rng.choice(favourites), quantity=quantity())
    if kind == "emptied":
        for sku in in_cart():  # second thoughts: everything goes back
            yield later(20, 300), RemoveItem(cart_id=cart_id, sku=sku)
        return
    for _ in range(rng.choices([0, 1, 2, 3], [40, 35, 17, 8])[0]):
        lines = in_cart()
        if lines:
            yield later(10, 120), ChangeQuantity(cart_id=cart_id, sku=rng.choice(lines),
                                                 quantity=quantity())
    if rng.random() < 0.4 and len(in_cart()) > 1:
        yield later(10, 180), RemoveItem(cart_id=cart_id, sku=rng.choice(in_cart()))
    if kind == "returning":
        # Saved for later: back on a later day of the week, in shop hours, adds a little more.
        day = (moment - week_start).days + rng.randint(1, 3)
        if day >= DAYS:
            return  # the week ended first: the cart stays open
        hour = rng.choices(list(HOUR_WEIGHTS), list(HOUR_WEIGHTS.values()))[0]
        moment = week_start + timedelta(days=day, hours=hour - OPENING_HOUR,
                                        seconds=rng.uniform(0, 3600))
        for _ in range(rng.randint(1, 4)):
            yield later(6, 150), AddItem(cart_id=cart_id, sku=rng.choice(skus), quantity=quantity())
        if rng.random() < 0.5 and in_cart():
            yield later(10, 120), ChangeQuantity(cart_id=cart_id, sku=rng.choice(in_cart()),
                                                 quantity=quantity())
        if rng.random() < 0.3:
            return  # ...and leaves it open again
    if kind == "abandoner":
        return
    yield later(30, 420), CheckOut(cart_id=cart_id)
