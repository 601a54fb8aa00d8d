"""The application service: the one place where a command becomes events.

load (snapshot + tail) -> decide -> append with the expected version; on a
conflict, reload, decide again and retry a bounded number of times. The
command line and the full-screen app both go through `CartService`.
"""

import random
import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import orjson

from .domain import (
    AddItem, CartState, Catalog, ChangeQuantity, ChangeQuantityBy, CheckOut, Command, CreateCart,
    RemoveItem, decide, evolve, initial_state, validate_new_cart_id,
)
from .domain.errors import CartAlreadyExists, RuleViolation
from .domain.events import CURRENT_SCHEMA_VERSION
from .ids import new_uuid
from .store import (
    ConcurrencyError, EventStore, NewEvent, RecordedEvent, StoreBusy, StoreError, UndecodableEvent,
    decode_event, is_a_time, version_not_whole,
)

DEFAULT_SNAPSHOT_EVERY = 50  # see README, "Speed": a load replays at most this many events
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class LoadedCart:
    state: CartState
    as_of_position: int  # the position the state was asked for (the head when not asked)
    undecodable: list[UndecodableEvent] = field(default_factory=list)
    # The first row whose version does not continue the stream (another program
    # wrote it), as "position P: version V after version U"; None in a sound stream.
    gap: str | None = None
    # The first row of the cart before its CartCreated (another program wrote it), as
    # "position P: ItemAdded before the cart's CartCreated"; None in a sound stream.
    uncreated: str | None = None
    # The first row whose recorded_at is no time (another program wrote it), as
    # "position P: recorded_at 'garbage' is no time"; None in a sound stream.
    untimed: str | None = None

    def why_unchangeable(self) -> str | None:
        """Why no event may be decided on this cart as stored, as "has ...": rows
        another program wrote. None when it may."""
        if self.undecodable:
            # Deciding on a cart not fully read could break a rule unseen.
            bad = self.undecodable[0]
            return f"has a stored event that cannot be decoded (position {bad.position}: {bad.reason})"
        if self.gap is not None:
            # Its next version may be taken already: every append would conflict.
            return f"has a gap in its versions ({self.gap}), written by another program"
        if self.uncreated is not None:
            # A CartCreated now would adopt the events that came before it.
            return (f"has an event before its CartCreated ({self.uncreated}), written by another "
                    "program")
        if self.untimed is not None:
            # verify lists it as a row that cannot be read: a cart it is in is not changed.
            return f"has an event recorded at no time ({self.untimed}), written by another program"
        return None


@dataclass(frozen=True)
class CartSummary:
    """One line of a cart list: who, how far, how much, and when it last moved (the
    cart summaries read model, cartui.projections.summaries, keeps them)."""

    cart_id: str
    customer: str | None
    status: str  # "open" or "checked_out"
    version: int
    total_cents: int
    item_count: int
    last_position: int
    last_recorded_at: str


class CommandResult(NamedTuple):
    state: CartState
    events: list[RecordedEvent]  # empty when the command changed nothing
    attempts: int


class CartService:
    def __init__(self, store: EventStore, catalog: Catalog, *,
                 new_id: Callable[[], str] = new_uuid,
                 snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        self.store = store
        self.catalog = catalog
        self.new_id = new_id
        self.snapshot_every = snapshot_every
        self.max_attempts = max_attempts
        self.product_names = catalog.names()
        # The state after this service's last append to each cart: see _decide.
        self._latest: dict[str, CartState] = {}

    # -- reading ---------------------------------------------------------------------------

    def decode(self, row: RecordedEvent):
        """The domain event of a stored row (upcast); raises UndecodableEvent."""
        if type(row.version) is not int:
            raise version_not_whole(row.position, row.version)
        return decode_event(row.type, row.schema_version, row.data, self.product_names, row.position)

    def load(self, cart_id: str, at_position: int | None = None) -> LoadedCart:
        """A cart's state from its newest snapshot plus the events after it.

        Rows that cannot be decoded are skipped and reported, never fatal; a row
        whose version does not continue the stream is folded, and reported.
        """
        # The head is read first and everything up to it: another process may
        # append meanwhile, and the state must be the one as of the reported position.
        as_of = self.store.head_position() if at_position is None else at_position
        state = initial_state(cart_id)
        snapshot = self.store.latest_snapshot(cart_id, as_of)
        after = 0
        if snapshot is not None:
            state, after = CartState.from_dict(orjson.loads(snapshot[2])), snapshot[1]
        undecodable = []
        gap = uncreated = untimed = None
        for row in self.store.read_stream(cart_id, after_position=after, up_to_position=as_of):
            if row.version != state.version + 1 and gap is None:
                gap = f"position {row.position}: version {row.version} after version {state.version}"
            if state.status == "new" and row.type != "CartCreated" and uncreated is None:
                uncreated = f"position {row.position}: {row.type} before the cart's CartCreated"
            if untimed is None and not is_a_time(row.recorded_at):
                untimed = f"position {row.position}: recorded_at {row.recorded_at!r} is no time"
            try:
                state = evolve(state, self.decode(row))
            except UndecodableEvent as exc:
                undecodable.append(exc)
                state = skip_undecodable(state)
        return LoadedCart(state, as_of, undecodable, gap, uncreated, untimed)

    # -- writing ---------------------------------------------------------------------------

    def execute(self, command: Command) -> CommandResult:
        """Decide and append, retrying on a concurrent change. Raises a DomainError
        when a rule is broken, ConcurrencyError when the retries ran out."""
        correlation_id = self.new_id()
        for attempt in range(1, self.max_attempts + 1):
            state, decided = self._decide(command, attempt == 1)
            if not decided:
                return CommandResult(state, [], attempt)
            new_state = state
            events = []
            for e in decided:
                new_state = evolve(new_state, e)
                events.append(NewEvent(e.type, e.data_json, self.new_id(),
                                       CURRENT_SCHEMA_VERSION[e.type], correlation_id, correlation_id))
            snapshot = None
            if new_state.version // self.snapshot_every > state.version // self.snapshot_every:
                snapshot = (new_state.version, orjson.dumps(new_state.to_dict()).decode())
            try:
                recorded = self.store.append(command.cart_id, events, state.version, snapshot)
                if not recorded:
                    # The store takes ids it already holds for a retried append and
                    # writes nothing; these ids were just made, so new_id repeated one.
                    raise ConcurrencyError(f"event id {events[0].event_id!r} is already stored")
            except ConcurrencyError as exc:
                self._latest.pop(command.cart_id, None)
                if attempt == self.max_attempts or isinstance(exc, StoreBusy):
                    raise
                if attempt > 1:  # refused on a fresh load: no retry helps a row no load reads
                    self._refuse_rows_before_the_log(command.cart_id)
                # The first retry goes at once: most often the cart had moved on
                # while it sat in the cache. Then back off a little, with jitter,
                # so that two writers stop colliding.
                if attempt > 1:
                    time.sleep(random.uniform(0, 0.002 * attempt))
                continue
            latest = self._latest  # at most 4096 carts: the one cached longest goes first
            if len(latest) >= 4096:
                latest.pop(next(iter(latest)))
            latest[new_state.cart_id] = new_state
            # tuple.__new__ skips the named tuple's own __new__, a Python function
            # that costs as much again: every command pays it.
            return tuple.__new__(CommandResult, (new_state, recorded, attempt))
        raise AssertionError("unreachable")

    def _refuse_rows_before_the_log(self, cart_id: str) -> None:
        position = self.store.first_position_before_the_log(cart_id)
        if position is not None:
            raise StoreError(f"cart {cart_id!r} has an event at position {position}, before the "
                             "log's position 1, written by another program, so it cannot be "
                             "changed")

    def _decide(self, command: Command, trust_cache: bool) -> tuple[CartState, list]:
        """The state to append to and the events the command makes of it.

        Without a read when it can: the cart as our last append left it, or
        the empty cart for a CreateCart. That state may be stale (another
        writer), but the events are appended at its version, which the store
        refuses if the cart moved on; the retry then loads. A refusal or a
        no-op cannot be checked that way, so it is decided again on the cart
        as stored.
        """
        if trust_cache:
            state = self._latest.get(command.cart_id)
            if state is None and isinstance(command, CreateCart):
                state = initial_state(command.cart_id)
            if state is not None:
                try:
                    decided = decide(command, state, self.catalog)
                except RuleViolation:
                    decided = []
                if decided:
                    return state, decided
        loaded = self.load(command.cart_id)
        why = loaded.why_unchangeable()
        if why is not None:
            raise StoreError(f"cart {command.cart_id!r} {why}, so it cannot be changed")
        return loaded.state, decide(command, loaded.state, self.catalog)

    def create_cart(self, cart_id: str | None = None, customer: str | None = None) -> CommandResult:
        """A new cart; without an id, one is made up (the result's state says which).
        A made-up id holds 32 random bits: one already taken (a chance in about 4
        billion per stored cart) is made up again."""
        if cart_id is not None:
            cart_id = validate_new_cart_id(cart_id)
            return self.execute(CreateCart(cart_id=cart_id, customer=customer))
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self.execute(CreateCart(cart_id=self.new_cart_id(), customer=customer))
            except CartAlreadyExists:
                if attempt == self.max_attempts:
                    raise
        raise AssertionError("unreachable")

    def new_cart_id(self) -> str:
        # The end of an id: a time-ordered UUID starts with the clock, the same
        # for a minute at a time, and ends with random digits.
        return "cart-" + self.new_id().replace("-", "")[-8:]

    def add_item(self, cart_id: str, sku: str, quantity: int = 1) -> CommandResult:
        return self.execute(AddItem(cart_id=cart_id, sku=sku, quantity=quantity))

    def change_quantity(self, cart_id: str, sku: str, quantity: int) -> CommandResult:
        return self.execute(ChangeQuantity(cart_id=cart_id, sku=sku, quantity=quantity))

    def change_quantity_by(self, cart_id: str, sku: str, delta: int) -> CommandResult:
        return self.execute(ChangeQuantityBy(cart_id=cart_id, sku=sku, delta=delta))

    def remove_item(self, cart_id: str, sku: str) -> CommandResult:
        return self.execute(RemoveItem(cart_id=cart_id, sku=sku))

    def check_out(self, cart_id: str) -> CommandResult:
        return self.execute(CheckOut(cart_id=cart_id))


def skip_undecodable(state: CartState) -> CartState:
    """The state after a row that cannot be decoded: it still takes its version number."""
    return state._replace(version=state.version + 1)
