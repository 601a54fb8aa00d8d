"""Export and import of the event log as JSON Lines (DESIGN.md, "Export format").

Export writes the rows as stored, one per line, in position order.

Import checks every line, then appends all of them in one transaction, or
none. Validation and insertion happen in one pass inside that transaction:
the first bad line rolls everything back, so the file is never held in
memory. A line is checked for:

- JSON and schema: an object with `stream_id`, `version`, `type`,
  `schema_version`, `data`, `metadata`, `recorded_at` (`position` may be
  there and is ignored; any other field is refused);
- `data` valid for its type and schema version, read through the same codec
  the application reads the store with (`ItemAdded` schema 1 and 2);
- `metadata` with a non-empty string `event_id`, and `correlation_id` and
  `causation_id` that are strings or null (other keys are kept);
- `version` continuing the stream as stored (1 for a new cart);
- the cart rules, on the stream's state (stored state for carts already in
  the database): `check` then `evolve`. Prices are not compared with today's
  catalog.

A line whose `metadata.event_id` is already stored, or appeared earlier in
the file, is skipped: importing the same file twice changes nothing.

`recorded_at` is kept, in the store's fixed-width form. The store never lets
time run backwards in position order, so a line older than the line before
it (or than the database's newest event) is recorded at that later time.
"""

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, Callable, Iterator

import orjson

from .domain import CartState, check, evolve, initial_state, validate_cart_id
from .domain.errors import DomainError
from .domain.events import CURRENT_SCHEMA_VERSION, EVENT_TYPES
from .service import CartService
from .store import ConcurrencyError, EventStore, UndecodableEvent, decode_event, normalize_timestamp

BATCH_LINES = 5000
_REQUIRED = ("stream_id", "version", "type", "schema_version", "data", "metadata", "recorded_at")
_ALLOWED = frozenset(_REQUIRED) | {"position"}
_KNOWN_SCHEMAS = {(t, v) for t, v in CURRENT_SCHEMA_VERSION.items()} | {("ItemAdded", 1)}
_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_DECODED_CACHE_SIZE = 10_000
_NO_LINES = MappingProxyType({})

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class ImportFileError(Exception):
    """A line of the file is malformed or breaks a rule: nothing was imported."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class ImportResult:
    appended: int  # events appended
    skipped: int  # lines whose event_id was already stored or earlier in the file
    first_position: int = 0  # positions of the appended events (0 when none)
    last_position: int = 0


def export_events(store: EventStore, out: BinaryIO) -> int:
    """Write every event as stored, one JSON line each, in position order; return the count."""
    count = 0
    chunk: list[bytes] = []
    for row in store.read_all(1):  # one statement: one consistent snapshot of the log
        chunk.append(row.export_line())
        count += 1
        if len(chunk) == 1000:
            out.write(b"\n".join(chunk) + b"\n")
            chunk.clear()
    if chunk:
        out.write(b"\n".join(chunk) + b"\n")
    return count


def import_file(store: EventStore, service: CartService, path: str | Path,
                progress: Progress | None = None) -> ImportResult:
    """Import a JSON Lines file: all of it or, on the first bad line, nothing (ImportFileError).

    Into an empty database the import takes a fast path that looks nothing
    up: no stored streams, no stored ids, and the store rebuilds its indexes
    at the end. A file that fails on that path may hold a duplicate event_id
    (to be skipped, not refused), so it is imported again on the careful
    path, which decides. Only files with such duplicates or errors pay twice.
    """
    path = Path(path)
    # Nothing an import allocates forms a cycle, but a million allocations make
    # the cyclic collector walk every cart state again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            return _import_path(store, service, path, progress, fast=True)
        except _FastPathFailed:
            return _import_path(store, service, path, progress, fast=False)
    finally:
        if collecting:
            gc.enable()


class _FastPathFailed(Exception):
    pass


def _import_path(store: EventStore, service: CartService, path: Path,
                 progress: Progress | None, fast: bool) -> ImportResult:
    total_bytes = path.stat().st_size
    bulk = False
    with path.open("rb") as lines:
        try:
            with _transaction(store, fast) as bulk:
                importer = _Importer(store, service, fast=bulk)
                batch: list[tuple[int, bytes]] = []
                done_bytes = 0
                for number, raw in enumerate(lines, start=1):
                    batch.append((number, raw))
                    done_bytes += len(raw)
                    if len(batch) == BATCH_LINES:
                        importer.import_batch(batch)
                        batch = []
                        if progress is not None:
                            progress(done_bytes, max(total_bytes, done_bytes))
                importer.import_batch(batch)
                if progress is not None:
                    progress(done_bytes, max(total_bytes, done_bytes))
        except (ImportFileError, ConcurrencyError):
            if bulk:
                raise _FastPathFailed() from None
            raise
    return importer.result()


@contextmanager
def _transaction(store: EventStore, fast: bool) -> Iterator[bool]:
    """One transaction for the whole import; yields whether it is a bulk load
    into an empty log (the fast path)."""
    if fast:
        with store.bulk_transaction() as bulk:
            yield bulk
    else:
        with store.transaction():
            yield False


class _Importer:
    """Checks lines and inserts them, in batches, inside the caller's transaction.

    The fast path (an empty database) assumes every line is new; the careful
    path looks up stored streams and skips ids already stored or seen earlier.
    """

    def __init__(self, store: EventStore, service: CartService, fast: bool) -> None:
        self.store = store
        self.service = service
        self.fast = fast
        self.product_names = service.product_names
        self.appended = 0
        self.skipped = 0
        self.first_position = store.head_position() + 1
        self.next_position = self.first_position
        self.last_time = store.head_recorded_at() or ""
        # The state of every stream met so far. A checked-out cart keeps no lines.
        self.states: dict[str, CartState] = {}
        self.decoded: dict[tuple, object] = {}

    def result(self) -> ImportResult:
        if not self.appended:
            return ImportResult(0, self.skipped)
        return ImportResult(self.appended, self.skipped, self.first_position, self.next_position - 1)

    def import_batch(self, batch: list[tuple[int, bytes]]) -> None:
        parsed: list[tuple] = []
        malformed: ImportFileError | None = None
        for number, raw in batch:
            if not raw.strip():
                continue  # blank lines (a trailing newline, say) carry nothing
            try:
                parsed.append(self._parse(number, raw))
            except ImportFileError as exc:
                malformed = exc  # raised once the lines before it are checked: the first bad line wins
                break
        known_ids: set[str] = set()
        if not self.fast and parsed:
            # Stored before the import or in an earlier batch (this transaction sees its own rows).
            known_ids = self.store.stored_event_ids([line[9] for line in parsed])
        rows = []
        for line in parsed:
            if not self.fast:
                if line[9] in known_ids:
                    self.skipped += 1
                    continue
                known_ids.add(line[9])
            rows.append(self._check(line))
        if rows:
            self.store.insert_rows(rows)
        if malformed is not None:
            raise malformed

    def _parse(self, number: int, raw: bytes) -> tuple:
        """Schema checks of one line: (number, stream_id, version, type, schema_version,
        data text, metadata text, recorded_at, event, event_id)."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ImportFileError(number, f"not valid JSON ({exc})") from None
        if type(obj) is not dict:
            raise ImportFileError(number, "a line must be a JSON object")
        if not (len(obj) == len(_ALLOWED) and obj.keys() <= _ALLOWED):  # fast path: all of them
            _check_fields(number, obj)
        stream_id, version, type_, schema_version = (
            obj["stream_id"], obj["version"], obj["type"], obj["schema_version"])
        if type(stream_id) is not str or stream_id not in self.states:  # one met already is valid
            try:
                validate_cart_id(stream_id)
            except DomainError as exc:
                raise ImportFileError(number, f"stream_id: {exc}") from None
        if type(version) is not int or version < 1:
            raise ImportFileError(number, f"version must be a whole number from 1, got {version!r}")
        if type(type_) is not str or type(schema_version) is not int \
                or (type_, schema_version) not in _KNOWN_SCHEMAS:
            if type(type_) is not str or type_ not in EVENT_TYPES:
                raise ImportFileError(number, f"unknown event type {type_!r}")
            raise ImportFileError(number, f"unknown schema version {schema_version!r} of {type_}")
        data = obj["data"]
        if type(data) is not dict:
            raise ImportFileError(number, "data must be a JSON object")
        data_text = orjson.dumps(data).decode()
        metadata = obj["metadata"]
        event_id = _check_metadata(number, metadata)
        return (number, stream_id, version, type_, schema_version, data_text,
                orjson.dumps(metadata).decode(), _recorded_at(number, obj["recorded_at"]),
                self._decode(number, type_, schema_version, data_text), event_id)

    def _decode(self, number: int, type_: str, schema_version: int, data_text: str):
        # Many lines carry the same data (the same sku and quantity, an anonymous
        # CartCreated): events are immutable, so a decoded one can be reused.
        key = (type_, schema_version, data_text)
        event = self.decoded.get(key)
        if event is None:
            try:
                event = decode_event(type_, schema_version, data_text, self.product_names, number)
            except UndecodableEvent as exc:
                raise ImportFileError(number, exc.reason) from None
            if len(self.decoded) >= _DECODED_CACHE_SIZE:
                self.decoded.clear()
            self.decoded[key] = event
        return event

    def _check(self, line: tuple) -> tuple:
        """The cart rules on the stream's state; the row to insert."""
        number, stream_id, version, type_, schema_version, data, metadata, recorded_at, event, _ = line
        state = self.states.get(stream_id)
        if state is None:
            state = self._stored_state(number, stream_id)
        if version != state.version + 1:
            raise ImportFileError(
                number, f"{type_} of {stream_id!r} version {version} does not continue the stream, "
                        f"which is at version {state.version} (expected {state.version + 1})")
        try:
            check(state, event)
        except DomainError as exc:
            raise ImportFileError(number, f"{type_} of {stream_id!r} version {version}: {exc}") from None
        state = evolve(state, event)
        if state.status == "checked_out":
            # Nothing more can happen to it: keep what the checks still need, not its lines.
            state = CartState(stream_id, "checked_out", None, _NO_LINES, version)
        self.states[stream_id] = state
        # Time never runs backwards in position order (the store's contract).
        if recorded_at > self.last_time:
            self.last_time = recorded_at
        position = self.next_position
        self.next_position += 1
        self.appended += 1
        return (position, stream_id, version, type_, schema_version, data, metadata, self.last_time)

    def _stored_state(self, number: int, stream_id: str) -> CartState:
        if self.fast:
            return initial_state(stream_id)
        loaded = self.service.load(stream_id)
        if loaded.undecodable:
            bad = loaded.undecodable[0]
            raise ImportFileError(
                number, f"cart {stream_id!r} has a stored event that cannot be decoded "
                        f"(position {bad.position}: {bad.reason}), so this line cannot be checked")
        return loaded.state


def _check_fields(number: int, obj: dict) -> None:
    unknown = sorted(obj.keys() - _ALLOWED)
    if unknown:
        raise ImportFileError(number, f"unknown field {unknown[0]!r}")
    for key in _REQUIRED:
        if key not in obj:
            raise ImportFileError(number, f"missing field {key!r}")


def _check_metadata(number: int, metadata: object) -> str:
    if type(metadata) is not dict:
        raise ImportFileError(number, "metadata must be a JSON object")
    event_id = metadata.get("event_id")
    if type(event_id) is not str or not event_id:
        raise ImportFileError(number, "metadata.event_id must be a non-empty string")
    for key in ("correlation_id", "causation_id"):
        if key not in metadata:
            raise ImportFileError(number, f"metadata.{key} is missing (a string or null)")
        value = metadata[key]
        if value is not None and type(value) is not str:
            raise ImportFileError(number, f"metadata.{key} must be a string or null")
    return event_id


def _recorded_at(number: int, text: object) -> str:
    """The store's fixed-width UTC text for a timestamp (kept as is when already so)."""
    if type(text) is str and _STORED_TIME.fullmatch(text):
        try:
            datetime.fromisoformat(text)  # the shape is right; is the date real?
            return text
        except ValueError:
            pass
    try:
        return normalize_timestamp(text)
    except (ValueError, OverflowError) as exc:
        raise ImportFileError(number, f"recorded_at: {exc}") from None
