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
  the database), through the domain's `CartTally`. Prices are not compared
  with today's catalog.

A line whose `metadata.event_id` is already stored, or appeared earlier in
the file, is skipped: importing the same file twice changes nothing.

`recorded_at` is kept, in the store's fixed-width form. The store never lets
time run backwards in position order, so a line older than the line before
it (or than the database's newest event) is recorded at that later time.
"""

import os
import secrets
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Mapping

import orjson

from .domain import CartTally, validate_cart_id
from .domain.errors import DomainError
from .domain.events import CURRENT_SCHEMA_VERSION, EVENT_TYPES
from .gc_pause import cycle_collector_paused
from .import_checker import CheckerFailed, CheckerProcess
from .service import CartService
from .store import ConcurrencyError, EventStore, UndecodableEvent, decode_event, normalize_timestamp
from .wording import many

BATCH_LINES = 4000
# A file this large is checked in another process (import_checker):
# starting it takes a quarter of a second, which two cores win back after about this much.
CHECK_ELSEWHERE_BYTES = 20 << 20
# An exported line takes 270 bytes or more (a CartCreated with its uuids): the store
# is told to expect at most the file's size / 256 lines.
_FEWEST_BYTES_PER_LINE = 256
READ_BYTES = 8 << 20  # a few large reads, split into lines (see _batches)
_ORDER_SAMPLE_BYTES = 1 << 20  # the head of a file whose event ids' order decides the load
_REQUIRED = ("stream_id", "version", "type", "schema_version", "data", "metadata", "recorded_at")
_ALLOWED = frozenset(_REQUIRED) | {"position"}
_FIELD_COUNT = len(_REQUIRED)
_KNOWN_SCHEMAS = {(t, v) for t, v in CURRENT_SCHEMA_VERSION.items()} | {("ItemAdded", 1)}
_DECODED_CACHE_SIZE = 10_000

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)

# A line once read and checked on its own, as a plain tuple (cheap to make):
# (number, stream_id, version, type, schema_version, data, metadata, recorded_at, event_id, event)
Line = tuple


class ImportFileError(Exception):
    """A line of the file is malformed or breaks a rule: nothing was imported."""

    def __init__(self, line: int, reason: str, event_id: str | None = None) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason
        # Of a line refused by the checks against its stream: its event_id (a line
        # whose id is stored already is skipped instead: see _insert_skipping_repeats).
        self.event_id = event_id


@dataclass(frozen=True)
class ImportResult:
    appended: int  # events appended
    skipped: int  # lines whose event_id was already stored or earlier in the file
    first_position: int = 0  # positions of the appended events (0 when none)
    last_position: int = 0

    def summary(self, source: object) -> str:
        """What the import of `source` did, in one line: the same words in the
        command line and in the app."""
        if self.appended:
            skipped = f", skipped {self.skipped:,} already stored or repeated" if self.skipped else ""
            positions = (f"position {self.first_position:,}" if self.appended == 1 else
                         f"positions {self.first_position:,}..{self.last_position:,}")
            return f"imported {many(self.appended, 'event')} from {source} ({positions}){skipped}"
        if self.skipped == 1:
            return f"nothing to import from {source}: its one event is already stored"
        if self.skipped:
            return (f"nothing to import from {source}: its {self.skipped:,} events are "
                    "already stored or repeated")
        return f"nothing to import from {source}: it holds no events"


def export_events(store: EventStore, out: BinaryIO, progress: Progress | None = None) -> int:
    """Write every event as stored, one JSON line each, in position order; return the count.
    `progress` hears (events written, the head when the export began)."""
    count = 0
    head = store.head_position() if progress is not None else 0
    chunk: list[bytes] = []
    for row in store.read_all(1):  # one statement: one consistent snapshot of the log
        chunk.append(row.export_line())
        count += 1
        if len(chunk) == 1000:
            out.write(b"\n".join(chunk) + b"\n")
            chunk.clear()
            if progress is not None:
                progress(count, max(head, count))
    if chunk:
        out.write(b"\n".join(chunk) + b"\n")
    return count


class ExportRefused(Exception):
    """The file to export to cannot be written: nothing was written."""


def export_file(store: EventStore, path: str | Path, progress: Progress | None = None) -> int:
    """`export_events` into a file, written beside it and renamed: the file is never
    left half written, and the database itself (or its WAL) is never the file.
    The file gets the mode a new file gets (the umask's), or keeps the one it had;
    a symlink keeps pointing at it. What is not a file (a device, a FIFO,
    /dev/stdout) is written into, never replaced."""
    path = Path(path)
    if store.is_own_file(path):
        raise ExportRefused(f"{path} is the database being exported: choose another file")
    try:
        is_a_file = stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        is_a_file = True  # to be made
    except OSError as exc:
        raise _refused(path, exc) from None
    if not is_a_file:
        return _export_into(store, path, progress)
    target = Path(os.path.realpath(path))
    try:
        handle, temporary = _new_file_beside(target)
        if target.exists():
            os.fchmod(handle, stat.S_IMODE(target.stat().st_mode))
    except OSError as exc:
        raise _refused(path, exc) from None
    try:
        with os.fdopen(handle, "wb") as out:
            count = export_events(store, out, progress)
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename == temporary:  # not a name to show
            raise _refused(path, exc) from None
        raise
    return count


def _export_into(store: EventStore, path: Path, progress: Progress | None) -> int:
    try:
        with open(path, "wb") as out:
            return export_events(store, out, progress)
    except OSError as exc:
        raise _refused(path, exc) from None


def _refused(path: Path, exc: OSError) -> ExportRefused:
    return ExportRefused(f"cannot write {path}: {exc.strerror or exc}")


def _new_file_beside(path: Path) -> tuple[int, str]:
    """A new hidden file in `path`'s folder, opened for writing, with the mode the umask
    gives a new file (tempfile.mkstemp's are private: an export is often for others)."""
    temporary = str(path.with_name(f".{path.name}.{secrets.token_hex(8)}"))
    return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary


def import_file(store: EventStore, service: CartService, path: str | Path,
                progress: Progress | None = None) -> ImportResult:
    """Import a JSON Lines file: all of it or, on the first bad line, nothing (ImportFileError).

    Into an empty database the import takes a fast path that looks nothing
    up: no stored streams, no stored ids; the store builds some indexes at
    the end. Into one with events it looks up the stored carts and ids. A
    large file is checked in another process meanwhile (see import_checker),
    so checks and inserts run on two cores. Neither first try knows every
    event_id of the lines before a line (the other process does not see the
    rows of earlier batches): a line refused where it stands is skipped if
    its id is stored by then (the same line twice, say), and a repeat that
    went in as a row fails the unique index, on insert or when it is built.
    Then the file is imported again on the careful path, here, which
    decides: only such files pay twice. A pipe (/dev/stdin, say) cannot be
    read twice, so it takes the careful path at once.
    """
    path = Path(path)
    with cycle_collector_paused():  # it would walk every cart tally again and again
        if not path.is_file():
            return _import_path(store, service, path, progress, fast=False)
        try:
            return _import_path(store, service, path, progress, fast=True)
        except _FirstTryFailed:
            return _import_path(store, service, path, progress, fast=False)


class _FirstTryFailed(Exception):
    """The fast path, or the checks in another process, failed: the careful path decides."""


def _import_path(store: EventStore, service: CartService, path: Path,
                 progress: Progress | None, fast: bool) -> ImportResult:
    total_bytes = path.stat().st_size
    checker = None
    bulk = False
    try:
        with path.open("rb") as file, \
                _transaction(store, fast, total_bytes // _FEWEST_BYTES_PER_LINE,
                             fast and _event_ids_ascending(file)) as bulk:
            if fast and total_bytes >= CHECK_ELSEWHERE_BYTES and (bulk or store.in_wal_mode()):
                # Started under the write lock: into a log with events, the checker
                # reads the stored carts and ids as this transaction found them
                # (in WAL mode: a reader would hold up this writer otherwise).
                checker = CheckerProcess.start(file, service.catalog, BATCH_LINES, READ_BYTES,
                                               None if bulk else store.path)
            try:
                if checker is not None:
                    return _insert_checked_elsewhere(store, checker, total_bytes, progress)
                reader = _LineReader(service.product_names)
                importer = _Importer(None if bulk else store, service)
                for rows, refused, done_bytes in _checked_batches(file, reader, importer):
                    _insert_skipping_repeats(store, rows, refused)
                    if progress is not None:
                        progress(done_bytes, max(total_bytes, done_bytes))
            except ImportFileError:
                # The careful path would name the same line, unless a line before it
                # repeated an event_id unseen (it skips every repeat).
                if (bulk or checker is not None) and not store.event_ids_unique():
                    raise _FirstTryFailed() from None
                raise
    except (ConcurrencyError, CheckerFailed):
        if bulk or checker is not None:
            raise _FirstTryFailed() from None
        raise
    finally:
        if checker is not None:
            checker.stop()
    return importer.result()


def _insert_skipping_repeats(store: EventStore, rows: list[tuple],
                             refused: list[tuple[int, ImportFileError]]) -> None:
    """Insert a batch's rows. Each line refused where it stood (the number of rows
    before it, its error) was taken for a repeat, skipped: if its event_id is
    stored once the rows before it are, it is one, else its error stands.

    A first try (the fast path, the checks in another process) does not know
    every event_id met before a line; this is where it learns. A repeat that
    went in as a row (its line allowed where it stood) fails the event_id
    index as it goes in, or when the index is built (ConcurrencyError: the
    careful path decides)."""
    start = 0
    # Lines refused one after another (a file holding another twice, say) are asked
    # about at once.
    for index, together in groupby(refused, key=itemgetter(0)):
        if index > start:
            store.insert_rows(rows[start:index])
            start = index
        # A bulk load may have left the event_id index for its end: built now, since
        # looking up an id without it reads every row.
        if not store.event_ids_unique():
            raise ConcurrencyError("an event_id repeats among the rows")
        errors = [error for _, error in together]
        stored = store.stored_event_ids([error.event_id for error in errors])
        for error in errors:
            if error.event_id not in stored:
                raise error
    if len(rows) > start:
        store.insert_rows(rows[start:])


def _insert_checked_elsewhere(store: EventStore, checker: CheckerProcess, total_bytes: int,
                              progress: Progress | None) -> ImportResult:
    """Insert the rows the checking process hands over (ConcurrencyError if it
    checked them against another log than this transaction's)."""
    first_position = position = store.head_position() + 1
    for rows, refused, done_bytes in checker.batches():
        if rows and rows[0][0] != position:
            raise ConcurrencyError(f"the rows were checked for position {rows[0][0]} on, "
                                   f"the log is at {position - 1}")
        _insert_skipping_repeats(store, rows, refused)
        position += len(rows)
        if progress is not None:
            progress(done_bytes, max(total_bytes, done_bytes))
    if position == first_position:
        return ImportResult(0, checker.skipped)
    return ImportResult(position - first_position, checker.skipped, first_position, position - 1)


@contextmanager
def _transaction(store: EventStore, fast: bool, rows_expected: int,
                 event_ids_ascending: bool) -> Iterator[bool]:
    """One transaction for the whole import; yields whether it is a bulk load
    into an empty log (the fast path)."""
    if fast:
        with store.bulk_transaction(rows_expected, event_ids_ascending) as bulk:
            yield bulk
    else:
        with store.transaction():
            yield False


def _event_ids_ascending(file: BinaryIO) -> bool:
    """Whether the event ids of the file's first lines ascend, as cartui's
    time-ordered ids do in its export (nine pairs in ten or more: ids made in
    the same millisecond come in any order). Reads at most 1 MB, then rewinds;
    lines it cannot read are for the checks to name, later."""
    if not file.seekable():  # a pipe is read once
        return False
    head = file.read(_ORDER_SAMPLE_BYTES).split(b"\n")[:-1]  # whole lines only
    file.seek(0)
    ids = []
    for raw in head:
        try:
            event_id = orjson.loads(raw)["metadata"]["event_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
        if type(event_id) is str:
            ids.append(event_id)
    pairs = len(ids) - 1
    return pairs > 0 and sum(a < b for a, b in zip(ids, ids[1:])) >= 0.9 * pairs


# -- reading: each line on its own ------------------------------------------------------------

UTF8_BOM = b"\xef\xbb\xbf"


def _batches(file: BinaryIO) -> Iterator[tuple[int, list[bytes], int]]:
    """(number of the first line, up to BATCH_LINES lines, bytes read so far).

    Reads large blocks and splits them: iterating over the file line by line
    costs more than the checks of some lines. Each line keeps its newline
    (JSON allows it): BytesIO's readlines finds them with memchr, where
    bytes.split looks at every byte in turn."""
    number = 1
    done = 0
    lines: list[bytes] = []
    begun: list[bytes] = []  # the start of a line whose end is in a later block
    while block := file.read(READ_BYTES):
        if not done and block.startswith(UTF8_BOM):  # as Windows editors begin a file
            block = block[len(UTF8_BOM):]
            done = len(UTF8_BOM)
        done += len(block)
        if b"\n" not in block:
            begun.append(block)  # a long line: joined once its end comes
            continue
        parts = BytesIO(block).readlines()
        parts[0] = b"".join((*begun, parts[0]))
        begun = [] if parts[-1].endswith(b"\n") else [parts.pop()]
        lines += parts
        while len(lines) >= BATCH_LINES:
            yield number, lines[:BATCH_LINES], done - sum(map(len, begun))
            number += BATCH_LINES
            del lines[:BATCH_LINES]
    last = b"".join(begun)  # after the last newline: a line without one, or nothing
    if last:
        lines.append(last)
    if lines:
        yield number, lines, done


class _Decoder:
    """Domain events from the data text of lines, through the codec the store is
    read with. Many lines carry the same data (the same sku and quantity, an
    anonymous CartCreated), and events are immutable: a decoded one is reused."""

    def __init__(self, product_names: Mapping[str, str]) -> None:
        self.product_names = product_names
        # By type, then schema version (two lookups cost less than making a pair): by data text.
        self.by_schema: dict[str, dict[int, dict[str, object]]] = {}
        for type_, schema_version in _KNOWN_SCHEMAS:
            self.by_schema.setdefault(type_, {})[schema_version] = {}
        self.count = 0

    def decode(self, number: int, type_: str, schema_version: int, data_text: str):
        try:
            event = decode_event(type_, schema_version, data_text, self.product_names, number)
        except UndecodableEvent as exc:
            raise ImportFileError(number, exc.reason) from None
        if self.count >= _DECODED_CACHE_SIZE:  # many different checkouts, say
            for versions in self.by_schema.values():
                for events in versions.values():
                    events.clear()
            self.count = 0
        self.by_schema[type_][schema_version][data_text] = event
        self.count += 1
        return event


class _LineReader:
    """The checks of each line on its own: JSON, fields, stream id, types, data
    for its type and schema version, metadata, time (made the store's form)."""

    def __init__(self, product_names: Mapping[str, str]) -> None:
        self.decoder = _Decoder(product_names)
        self.valid_streams: set[str] = set()

    def read(self, first_number: int, raw_lines: list[bytes]) -> tuple[list[Line], ImportFileError | None]:
        """The lines read, up to the first bad one, and its error (or None).

        The common case runs inline, each unusual one calls a helper that
        words the error: this loop runs a million times an import."""
        lines: list[Line] = []
        loads, dumps, fromisoformat = orjson.loads, orjson.dumps, datetime.fromisoformat
        decoder, by_schema, valid_streams = self.decoder, self.decoder.by_schema, self.valid_streams
        number = first_number - 1
        try:
            for raw in raw_lines:
                number += 1
                try:
                    obj = loads(raw)
                except orjson.JSONDecodeError:
                    if raw.isspace() or not raw:
                        continue  # blank lines (a trailing newline, say) carry nothing
                    raise _json_error(number, raw) from None
                if type(obj) is not dict:
                    raise ImportFileError(number, "a line must be a JSON object")
                if len(obj) - ("position" in obj) != _FIELD_COUNT:
                    raise _fields_error(number, obj)
                try:
                    stream_id, version, type_, schema_version, data, metadata, recorded_at = (
                        obj["stream_id"], obj["version"], obj["type"], obj["schema_version"],
                        obj["data"], obj["metadata"], obj["recorded_at"])
                except KeyError:
                    raise _fields_error(number, obj) from None
                if type(stream_id) is not str or stream_id not in valid_streams:
                    try:
                        valid_streams.add(validate_cart_id(stream_id))
                    except DomainError as exc:
                        raise ImportFileError(number, f"stream_id: {exc}") from None
                if type(version) is not int or version < 1:
                    raise ImportFileError(number, f"version must be a whole number from 1, got {version!r}")
                # (bool and float are not int: True and 2.0 would find the events of 1 and 2)
                if type(type_) is not str or type(schema_version) is not int:
                    raise _schema_error(number, type_, schema_version)
                try:
                    events = by_schema[type_][schema_version]
                except KeyError:
                    raise _schema_error(number, type_, schema_version) from None
                if type(data) is not dict:
                    raise ImportFileError(number, "data must be a JSON object")
                data_text = dumps(data).decode()
                if type(metadata) is not dict:
                    raise _metadata_error(number, metadata)
                try:  # (subscripts: cheaper than three calls of get)
                    event_id, correlation_id, causation_id = (
                        metadata["event_id"], metadata["correlation_id"], metadata["causation_id"])
                except KeyError:
                    raise _metadata_error(number, metadata) from None
                if type(event_id) is not str or not event_id \
                        or (correlation_id is not None and type(correlation_id) is not str) \
                        or (causation_id is not None and type(causation_id) is not str):
                    raise _metadata_error(number, metadata)
                metadata_text = dumps(metadata).decode()
                # Most often already the store's form "YYYY-MM-DDTHH:MM:SS.ffffffZ", kept as
                # it is: a time fromisoformat reads (it takes ASCII digits only), of that
                # length, with the separators in their places.
                try:
                    fromisoformat(recorded_at)
                    stored_form = len(recorded_at) == 27 and recorded_at[26] == "Z" \
                        and recorded_at[4:20:3] == "--T::."
                except (ValueError, TypeError):
                    stored_form = False
                if not stored_form:
                    recorded_at = _recorded_at(number, recorded_at)
                event = events.get(data_text)
                if event is None:
                    event = decoder.decode(number, type_, schema_version, data_text)
                lines.append((number, stream_id, version, type_, schema_version, data_text,
                              metadata_text, recorded_at, event_id, event))
        except ImportFileError as error:
            return lines, error
        return lines, None


# -- checking against the streams, and inserting ----------------------------------------------

class _Importer:
    """Checks lines read against their streams and turns them into rows, inside
    the caller's transaction: the version continues the stream, the cart rules
    (the domain's CartTally) allow the event; positions and times are given.

    Without a store (the fast path, into an empty log) it assumes every line
    is new; with one (the careful path) it looks up stored streams and skips
    ids already stored or seen earlier.
    """

    def __init__(self, store: EventStore | None, service: CartService | None) -> None:
        self.store = store
        self.service = service
        self.fast = store is None
        self.appended = 0
        self.skipped = 0
        self.first_position = 1 if store is None else store.head_position() + 1
        self.next_position = self.first_position
        self.last_time = "" if store is None else store.head_recorded_at() or ""
        self.tallies: dict[str, CartTally] = {}  # every stream met so far

    def result(self) -> ImportResult:
        if not self.appended:
            return ImportResult(0, self.skipped)
        return ImportResult(self.appended, self.skipped, self.first_position, self.next_position - 1)

    def check(self, lines: list[Line]) -> tuple[list[tuple], list[tuple[int, ImportFileError]]]:
        """The rows of these lines, and the lines refused where they stood (the
        number of rows before each, its error). A refused line is taken for a
        repeat of an event_id met before, skipped, which the caller checks
        (_insert_skipping_repeats): without a store, or with one another
        process writes to, the ids of earlier lines are not known here."""
        fast = self.fast
        tallies = self.tallies
        if not fast:
            # Stored before the import or by an earlier batch (this transaction sees its own rows).
            known_ids = self.store.stored_event_ids([line[8] for line in lines])
            # The carts met first in this batch, asked for at once: most are new, and
            # need no load (_stored_tally).
            unseen = {line[1] for line in lines}.difference(tallies)
            for stream_id in unseen.difference(self.store.streams_with_events(unseen)):
                tallies[stream_id] = CartTally(stream_id)
        rows = []
        refused = []
        last_time = self.last_time
        position = self.next_position
        for number, stream_id, version, type_, schema_version, data, metadata, recorded_at, \
                event_id, event in lines:
            if not fast:
                if event_id in known_ids:
                    self.skipped += 1
                    continue
                known_ids.add(event_id)
            try:
                tally = tallies.get(stream_id)
                if tally is None:
                    tally = tallies[stream_id] = self._stored_tally(number, stream_id)
                if version != tally.version + 1:
                    raise ImportFileError(
                        number, f"{type_} of {stream_id!r} version {version} does not continue the "
                                f"stream, which is at version {tally.version} (expected "
                                f"{tally.version + 1})")
                tally.apply(event)
            except (ImportFileError, DomainError) as exc:
                error = exc if isinstance(exc, ImportFileError) else ImportFileError(
                    number, f"{type_} of {stream_id!r} version {version}: {exc}")
                error.event_id = event_id
                refused.append((len(rows), error))
                self.skipped += 1
                continue
            # Time never runs backwards in position order (the store's contract).
            if recorded_at > last_time:
                last_time = recorded_at
            rows.append((position, stream_id, version, type_, schema_version, data, metadata,
                         last_time))
            position += 1
        self.last_time = last_time
        self.next_position = position
        self.appended += len(rows)
        return rows, refused

    def _stored_tally(self, number: int, stream_id: str) -> CartTally:
        if self.fast:
            return CartTally(stream_id)
        loaded = self.service.load(stream_id)
        why = loaded.why_unchangeable()
        if why is not None:
            raise ImportFileError(number, f"cart {stream_id!r} {why}, so this line cannot be checked")
        return CartTally.of(loaded.state)


def _checked_batches(file: BinaryIO, reader: _LineReader, importer: _Importer
                     ) -> Iterator[tuple[list[tuple], list[tuple[int, ImportFileError]], int]]:
    """(the rows of a batch of lines, the lines refused among them (see
    _Importer.check), bytes of the file read so far), each line read and checked;
    the first line that cannot be read raises its ImportFileError after the
    rows before it."""
    for first_number, raw_lines, done_bytes in _batches(file):
        lines, unreadable = reader.read(first_number, raw_lines)
        rows, refused = importer.check(lines)
        # marshal (import_checker) records every object held elsewhere as a reference
        # it must remember: without the lines, most of the rows' are not.
        del lines
        yield rows, refused, done_bytes
        if unreadable is not None:
            raise unreadable


def _recorded_at(number: int, text: object) -> str:
    """The store's fixed-width UTC text for a timestamp in any other form."""
    try:
        return normalize_timestamp(text)
    except (ValueError, OverflowError) as exc:
        raise ImportFileError(number, f"recorded_at: {exc}") from None


# The errors of a line the reading loop found wrong, worded precisely.

def _json_error(number: int, raw: bytes) -> ImportFileError:
    try:  # the parser's own words for this speak of surrogates
        raw.decode()
    except UnicodeDecodeError as exc:
        return ImportFileError(number, f"not valid JSON (not UTF-8 text: byte "
                                       f"0x{raw[exc.start]:02x} at column {exc.start + 1})")
    try:  # parsed again without its newline, after which the parser would count "line 2"
        orjson.loads(raw.rstrip(b"\r\n"))
    except orjson.JSONDecodeError as exc:
        return ImportFileError(number, f"not valid JSON ({exc})")
    return ImportFileError(number, "not valid JSON")


def _fields_error(number: int, obj: dict) -> ImportFileError:
    unknown = sorted(obj.keys() - _ALLOWED)
    if unknown:
        return ImportFileError(number, f"unknown field {unknown[0]!r}")
    missing = next(key for key in _REQUIRED if key not in obj)
    return ImportFileError(number, f"missing field {missing!r}")


def _schema_error(number: int, type_: object, schema_version: object) -> ImportFileError:
    if type(type_) is not str or type_ not in EVENT_TYPES:
        return ImportFileError(number, f"unknown event type {type_!r}")
    return ImportFileError(number, f"unknown schema version {schema_version!r} of {type_}")


def _metadata_error(number: int, metadata: object) -> ImportFileError:
    if type(metadata) is not dict:
        return ImportFileError(number, "metadata must be a JSON object")
    event_id = metadata.get("event_id")
    if type(event_id) is not str or not event_id:
        return ImportFileError(number, "metadata.event_id must be a non-empty string")
    for key in ("correlation_id", "causation_id"):
        if key not in metadata:
            return ImportFileError(number, f"metadata.{key} is missing (a string or null)")
    bad = next(key for key in ("correlation_id", "causation_id")
               if metadata[key] is not None and type(metadata[key]) is not str)
    return ImportFileError(number, f"metadata.{bad} must be a string or null")
