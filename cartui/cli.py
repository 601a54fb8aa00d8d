"""The command line (DESIGN.md, "Command line contract"): a thin layer over the service.

A command is one function taking the `App` (the database the user chose,
opened on first use) and its own arguments:

    @command()
    @click.argument("cart", type=CART_ID)
    def checkout(app: App, cart: str) -> None:
        ...

`command` adds `--db` after the subcommand (it wins over the one before it)
and `main` turns every error into its exit status and one `error:` line.

Startup matters (`cartui show` runs in well under half a second): the
importer, the demo and above all the full-screen app (textual) are imported
only by the commands that need them.
"""

import codecs
import errno
import os
import signal
import sqlite3
import sys
import time
from functools import cached_property, wraps
from pathlib import Path
from typing import Callable, Iterable, Sequence

import click
import orjson

from . import resources
from .domain import validate_cart_id, validate_customer, validate_new_cart_id
from .domain.errors import DomainError, InvalidInput, RuleViolation
from .literal import literal
from .money import money
from .wording import exact_time, full_time, many
from .service import CartService
from .store import (
    ConcurrencyError, EventStore, NotUtf8Text, StoreError, UndecodableEvent, is_disk_full,
    is_lock_wait, is_read_only, is_unreadable_database, parse_timestamp, remove_database,
)

OK, REFUSED, INVALID, CONFLICT = 0, 1, 2, 3  # exit statuses (DESIGN.md)
BUG = 70  # an unexpected error: a bug in cartui, reported in one line
INTERRUPTED = 130
FOLLOW_POLL_SECONDS = 0.2
_SQLITE_MAX_INTEGER = 2**63 - 1  # a larger --limit cannot reach SQLite
# Errors only a write raises: a full disk, a quota, a file size limit.
_NO_ROOM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class CliError(Exception):
    """An error the command line reports as is, with its exit status."""

    def __init__(self, message: str, status: int = INVALID) -> None:
        super().__init__(message)
        self.status = status


class ReaderGone(Exception):
    """stdout's reader stopped reading (`cartui carts | head -1`). Not an OSError,
    which click would end itself, with a silent exit status 1."""


class App:
    """What every command shares: the database path the user chose and, opened
    on first use, its store and the cart service."""

    def __init__(self, db: str | None = None) -> None:
        self.db_option = db
        self._store: EventStore | None = None

    @property
    def db_path(self) -> Path:
        """--db, else $CARTUI_DB, else the default database."""
        if self.db_option is None:
            return resources.default_db_path()
        if not self.db_option:  # `--db "$DB"` with DB unset: not the current folder
            raise CliError("--db is empty: give the path of a database file")
        return Path(self.db_option)

    @property
    def uses_builtin_default(self) -> bool:
        """Only the built-in default database is seeded with the demo history."""
        return self.db_option is None and not os.environ.get(resources.DB_ENV_VAR)

    @property
    def store(self) -> EventStore:
        """The store, which must exist already: a command never creates a
        database by mistake (a typo in --db is an error, not a new empty file).
        An empty file (`touch`) is none yet either: reading it must not write a schema."""
        if self._store is None and (not self.db_path.exists() or self._is_empty_file()):
            raise CliError(f"no cartui database at {self.db_path} (`cartui new`, `cartui import` "
                           "or `cartui demo` create one)")
        return self.open_store()

    def _is_empty_file(self) -> bool:
        return self.db_path.is_file() and self.db_path.stat().st_size == 0

    def open_store(self) -> EventStore:
        """The store, creating the database if needed (new, import, demo, the app)."""
        if self._store is None:
            self.refuse_a_missing_folder()
            self._store = EventStore(self.db_path)
        return self._store

    def refuse_a_missing_folder(self) -> None:
        """A --db in a folder that does not exist is a typo, not a new store to start.
        The default database's folder (and $CARTUI_DB's, a setting) is made as needed."""
        folder = self.db_path.parent
        if self.db_option is not None and not folder.exists():
            raise CliError(f"no folder {folder} for the database (create it first)")

    @cached_property
    def catalog(self):
        return resources.load_catalog()

    @cached_property
    def service(self) -> CartService:
        return CartService(self.store, self.catalog)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self.__dict__.pop("service", None)


_LONGEST_ECHOED = 20  # characters of a bad value an error line repeats


class WholeNumber(click.IntRange):
    """An integer option or argument, bounded or not, in one wording for all of
    them ("'x' is not a valid whole number", where click says "integer" for one
    and "integer range" for another), and a value too long to echo cut short."""

    name = "whole number"

    def _describe_range(self) -> str:
        return "" if self.min is None and self.max is None else super()._describe_range()

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            if isinstance(value, str) and len(value) > _LONGEST_ECHOED:
                self.fail(f"{value[:_LONGEST_ECHOED]!r}… ({len(value):,} characters) is not "
                          f"a valid {self.name}", param, ctx)
            raise


class DomainChecked(click.ParamType):
    """Text checked by one of the domain's rules before anything is opened (a bad one
    is invalid input)."""

    def __init__(self, name: str, validate: Callable[[str], str | None]) -> None:
        self.name = name
        self.validate = validate

    def convert(self, value, param, ctx) -> str:
        try:
            return self.validate(value)
        except DomainError as exc:
            self.fail(str(exc), param, ctx)


CART_ID = DomainChecked("cart", validate_cart_id)
NEW_CART_ID = DomainChecked("cart", validate_new_cart_id)
CUSTOMER = DomainChecked("name", validate_customer)
# Checked when the database is opened (catalog and bench open none: they leave --db be).
DB_PATH = click.Path(path_type=str)


def _db_option(func: Callable) -> Callable:
    return click.option("--db", "db", type=DB_PATH, metavar="PATH",
                        help="The database file (default: $CARTUI_DB, else the default database).")(func)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@_db_option
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """An event-sourced shopping cart you can edit, watch and rewind.

    Without a command, opens the full-screen app. Exit status: 0 done, 1 the
    cart's state refused the command, 2 invalid input (arguments, import file,
    unreadable database, position past the head), 3 a concurrent change or a
    lock that outlived the retries. Every error ends with one `error:` line.
    """
    ctx.obj = App(db)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        _run_full_screen(ctx.obj)


def command(name: str | None = None, **settings) -> Callable:
    """Declare a subcommand: it takes the App first, and accepts --db too."""
    def decorate(func: Callable) -> click.Command:
        @wraps(func)
        def run(db: str | None, **params):
            app = click.get_current_context().find_object(App)
            if db is not None:
                app.db_option = db
            try:
                return func(app, **params)
            except BrokenPipeError:
                raise ReaderGone from None  # for run() to end it, not click
        return cli.command(name, **settings)(_db_option(run))
    return decorate


# -- the cart --------------------------------------------------------------------------------

@command()
@click.option("--cart", "cart_id", type=NEW_CART_ID, metavar="ID",
              help="The cart id (default: a new one).")
@click.option("--customer", type=CUSTOMER, metavar="NAME",
              help="Who the cart belongs to (default: anonymous).")
def new(app: App, cart_id: str | None, customer: str | None) -> None:
    """Create a cart and print its id."""
    app.open_store()
    # As the app's dialog reads its field: surrounding spaces dropped, a blank name is none.
    result = app.service.create_cart(cart_id, (customer or "").strip() or None)
    _echo_saved(result.state.cart_id)


@command()
@click.argument("cart", type=CART_ID)
@click.argument("sku")
@click.option("--qty", "quantity", type=WholeNumber(), metavar="N", default=1, show_default=True,
              help="How many to add (1..99).")
def add(app: App, cart: str, sku: str, quantity: int) -> None:
    """Add a product to a cart (again: the line's quantity goes up)."""
    state = app.service.add_item(cart, sku, quantity).state
    line = state.lines[sku]
    _echo_saved(f"added {quantity} x {literal(line.name)} to {cart}: {line.quantity} in the cart, "
                f"total {money(state.total_cents)}")


@command("set-qty")
@click.argument("cart", type=CART_ID)
@click.argument("sku")
@click.argument("quantity", metavar="N", type=WholeNumber())
def set_qty(app: App, cart: str, sku: str, quantity: int) -> None:
    """Set the quantity of a line in a cart (1..99)."""
    result = app.service.change_quantity(cart, sku, quantity)
    line = result.state.lines[sku]
    verb = "set" if result.events else "already"
    _echo_saved(f"{verb} {quantity} x {literal(line.name)} in {cart}: "
                f"total {money(result.state.total_cents)}")


@command()
@click.argument("cart", type=CART_ID)
@click.argument("sku")
def remove(app: App, cart: str, sku: str) -> None:
    """Remove a line from a cart."""
    state = app.service.remove_item(cart, sku).state
    _echo_saved(f"removed {sku} from {cart}: total {money(state.total_cents)}")


@command()
@click.argument("cart", type=CART_ID)
def checkout(app: App, cart: str) -> None:
    """Check a cart out: it accepts nothing more."""
    state = app.service.check_out(cart).state
    _echo_saved(f"checked out {cart}: {many(state.item_count, 'item')}, "
                f"total {money(state.total_cents)}")


@command()
@click.argument("cart", type=CART_ID)
@click.option("--at", "at_position", type=WholeNumber(min=0), metavar="POSITION",
              help="As of this global position (0: before the first event).")
@click.option("--at-time", metavar="ISO", help="As of this instant, e.g. 2026-01-06T12:00:00Z.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(app: App, cart: str, at_position: int | None, at_time: str | None, as_json: bool) -> None:
    """Show a cart, now or as it was at a position or a time."""
    from .history import History, PositionOutOfRange

    history = History(app.store, app.service)
    at_position = _resolve_at(history, at_position, at_time)
    try:
        loaded = history.cart_at(cart, at_position)
    except PositionOutOfRange as exc:
        raise CliError(str(exc)) from None
    for problem in loaded.undecodable:
        click.echo(f"warning: skipped position {problem.position}: {literal(problem.reason)}",
                   err=True)
    for what, where in (("a gap in the cart's versions", loaded.gap),
                        ("an event before the cart was created", loaded.uncreated),
                        ("an event recorded at no time", loaded.untimed)):
        if where is not None:
            click.echo(f"warning: {what} ({literal(where)}): another program wrote it", err=True)
    state = loaded.state
    if not state.exists:
        where = "" if at_position is None else f" at position {loaded.as_of_position}"
        raise CliError(f"cart {cart!r} does not exist{where}")
    if as_json:
        _echo_json(cart_json(state, loaded.as_of_position))
        return
    recorded_at = app.store.recorded_at(loaded.as_of_position)
    click.echo(f"Cart {cart} · {literal(state.customer or 'anonymous')} · "
               f"{state.status.replace('_', ' ')} · version {state.version}")
    click.echo(f"As of position {loaded.as_of_position:,}"
               + (f" ({exact_time(recorded_at)})" if recorded_at else ""))
    click.echo()
    if not state.lines:
        click.echo("  (no items)")
        return
    rows = [("SKU", "Product", "Qty", "Unit price", "Line total")]
    rows += [(line.sku, line.name, str(line.quantity), money(line.unit_price_cents),
              money(line.line_total_cents)) for line in state.lines.values()]
    rows.append(("", "", str(state.item_count), "Total", money(state.total_cents)))
    lines = table(rows, right={2, 3, 4})
    for line in lines[:-1]:
        click.echo("  " + line)
    click.echo("  " + "-" * _cells(lines[0]))
    click.echo("  " + lines[-1])


def cart_json(state, as_of_position: int) -> dict:
    """The `show --json` document (DESIGN.md)."""
    return {
        "cart_id": state.cart_id, "status": state.status, "customer": state.customer,
        "version": state.version,
        "items": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "unit_price_cents": line.unit_price_cents,
                   "line_total_cents": line.line_total_cents} for line in state.lines.values()],
        "total_cents": state.total_cents, "item_count": state.item_count,
        "as_of_position": as_of_position,
    }


@command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def carts(app: App, as_json: bool) -> None:
    """List every cart, oldest first.

    The list is a read model kept with the projections: they are first caught
    up from their checkpoints (with a progress bar on a terminal when that takes
    a while).
    """
    from .history import History

    summaries = History(app.store, app.service).cart_summaries(
        _catch_up_progress("catching up the projections"))
    if as_json:
        _echo_json([{"cart_id": s.cart_id, "customer": s.customer, "status": s.status,
                     "version": s.version, "total_cents": s.total_cents,
                     "item_count": s.item_count, "last_position": s.last_position,
                     "last_recorded_at": s.last_recorded_at} for s in summaries])
        return
    if not summaries:
        click.echo("no carts yet")
        return
    rows = [("Cart", "Customer", "Status", "Items", "Total", "Version", "Last change")]
    rows += [(s.cart_id, s.customer or "anonymous", s.status.replace("_", " "), str(s.item_count),
              money(s.total_cents), str(s.version), full_time(s.last_recorded_at))
             for s in summaries]
    for line in table(rows, right={3, 4, 5}):
        click.echo(line)


# -- the log ---------------------------------------------------------------------------------

@command()
@click.option("--cart", "cart_id", type=CART_ID, metavar="ID", help="Only this cart's events.")
@click.option("--from", "from_position", type=WholeNumber(min=1), default=1, metavar="POSITION",
              help="The first position (inclusive; at most the head + 1).")
@click.option("--limit", type=WholeNumber(min=1, max=_SQLITE_MAX_INTEGER), metavar="N",
              help="At most N events.")
@click.option("--follow", is_flag=True, help="Keep printing new events until interrupted.")
def events(app: App, cart_id: str | None, from_position: int, limit: int | None,
           follow: bool) -> None:
    """Print events as JSON Lines (the export format)."""
    store = app.store
    head = store.head_position()
    if from_position > head + 1:
        raise CliError(f"position {from_position:,} is outside the log (--from takes 1..{head + 1:,})")
    out = sys.stdout.buffer
    printed = 0
    next_position = from_position
    seen_version = store.data_version()
    if follow:
        _stop_on_sigterm()
    try:
        while True:
            # Read up to a head taken first: rows committed meanwhile come next time.
            head = store.head_position()
            for row in store.read_all(next_position, stream_id=cart_id, up_to_position=head,
                                      limit=None if limit is None else limit - printed):
                out.write(row.export_line() + b"\n")
                printed += 1
            out.flush()
            next_position = max(next_position, head + 1)
            if not follow or printed == limit:
                return
            while store.data_version() == seen_version:  # nothing committed by anyone else
                time.sleep(FOLLOW_POLL_SECONDS)
                store.check_still_the_file()
            seen_version = store.data_version()
    except KeyboardInterrupt:
        if not follow:
            raise  # a cut list: not a success, or a script would take it for the whole log
        return  # Ctrl-C or SIGTERM: the way to end --follow


@command()
@click.argument("file", type=click.Path(dir_okay=False, readable=False, path_type=Path),
                required=False)
def export(app: App, file: Path | None) -> None:
    """Write every event as JSON Lines (to stdout without FILE)."""
    from .importer import ExportRefused, export_events, export_file

    store = app.store
    if file is None or str(file) == "-":
        export_events(store, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    try:
        count = export_file(store, file)
    except ExportRefused as exc:
        raise CliError(str(exc)) from None
    click.echo(f"exported {many(count, 'event')} to {file}", err=True)


@command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True,
                                        path_type=Path))
def import_(app: App, file: Path) -> None:
    """Append the events of a JSON Lines file (- for stdin): all of them, or none.

    Every line is checked first (JSON, schema, the cart rules); the first bad
    line is named and nothing is appended. Lines whose event_id is already
    stored are skipped. A line recorded earlier than the line before it (or
    than the newest stored event) is recorded at that later time, since time
    never runs backwards in the log.
    """
    from .importer import import_file

    if str(file) == "-":
        file = Path("/dev/stdin")
    created = not app.db_path.exists()
    app.open_store()
    try:
        with _progress_bar("importing") as progress:
            result = import_file(app.store, app.service, file, progress=progress)
    except BaseException:
        if created:  # a failed import leaves no trace, not even an empty database
            app.close()
            remove_database(app.db_path)
        raise
    _echo_saved(result.summary(file))


@command()
def verify(app: App) -> None:
    """List the stored events that cannot be decoded, by position.

    An event's data must decode for its type and schema version, its
    recorded_at must be a time, its version a whole number that continues its
    stream, its cart created before it, and its text UTF-8 (rows another
    program wrote may break any of these). The positions must run from 1
    without a hole: a missing one is a row deleted past the triggers (SQLite's
    INSERT OR REPLACE deletes a row it collides with without them). Exit
    status 0 when every event decodes; 1, after the list, when some do not.
    """
    store = app.store
    service = app.service
    count = bad = missing = 0
    versions: dict[str, int] = {}  # each stream's version so far
    created: set[str] = set()  # the streams whose CartCreated came
    before_the_log = store.first_position_before_the_log()
    if before_the_log is not None:
        outside = sum(1 for _ in store.read_all(before_the_log, up_to_position=0))
        count += outside
        bad += outside
        click.echo(f"position {before_the_log}{' and on' if outside > 1 else ''}: "
                   f"{many(outside, 'row')} before position 1, outside the log that cartui "
                   "reads (written by another program)")
    expected = 1
    for row in store.read_all(1):
        if row.position != expected:
            missing += row.position - expected
            click.echo(f"{_positions(expected, row.position - 1)} missing: a row "
                       "deleted past the triggers (as INSERT OR REPLACE deletes) or skipped by "
                       "another program")
        expected = row.position + 1
        count += 1
        before = versions.get(row.stream_id, 0)
        # A gap is reported once, then counted on from; a version that is no number
        # counts as the next one, as loading the cart counts it.
        versions[row.stream_id] = row.version if type(row.version) is int else before + 1
        if row.type == "CartCreated":
            created.add(row.stream_id)
        try:
            service.decode(row)
            parse_timestamp(row.recorded_at)
        except UndecodableEvent as exc:
            reason = exc.reason
        except ValueError as exc:  # a row another program wrote
            reason = f"recorded_at: {exc}"
        else:
            not_utf8 = [name for name, value in zip(row._fields, row) if type(value) is NotUtf8Text]
            if not_utf8:
                reason = f"{not_utf8[0]} is not UTF-8 text"
            elif row.version != before + 1:
                reason = f"version {row.version} does not continue its stream, at version {before}"
            elif row.stream_id not in created:
                reason = "it comes before its cart's CartCreated"
            else:
                continue
        bad += 1
        click.echo(f"position {row.position} ({literal(row.stream_id)} version "
                   f"{literal(row.version)}, {literal(row.type)} v{literal(row.schema_version)}): "
                   f"{literal(reason)}")
    problems = [f"{bad:,} of {many(count, 'event')} cannot be decoded"] if bad else []
    if missing:
        problems.append(f"{many(missing, 'position')} missing")
    if problems:
        raise CliError("; ".join(problems), REFUSED)
    click.echo({0: "the log is empty", 1: "its 1 event decodes"}.get(
        count, f"all {count:,} events decode"))


def _positions(first: int, last: int) -> str:
    return f"position {first:,}" if first == last else f"positions {first:,}..{last:,}"


# -- the read side ---------------------------------------------------------------------------

@command()
@click.option("--at", "at_position", type=WholeNumber(min=0), metavar="POSITION",
              help="As of this global position (0: before the first event).")
@click.option("--at-time", metavar="ISO", help="As of this instant, e.g. 2026-01-06T12:00:00Z.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def projections(app: App, at_position: int | None, at_time: str | None, as_json: bool) -> None:
    """Print the read models, now or as they were at a position or a time.

    The stored projections are first caught up from their checkpoints (with a
    progress bar on a terminal when that takes a while).
    """
    from .history import History, PositionOutOfRange

    history = History(app.store, app.service)
    at_position = _resolve_at(history, at_position, at_time)
    # Read-only: the checkpoints stay behind, and the fold from them reaches the head.
    history.catch_up_where_writable(_catch_up_progress("catching up the projections"))
    try:
        figures = history.projections_at(at_position)
    except PositionOutOfRange as exc:
        raise CliError(str(exc)) from None
    if figures.undecodable:
        shown = ", ".join(str(p) for p in figures.undecodable[:10])
        more = "..." if len(figures.undecodable) > 10 else ""
        some = many(len(figures.undecodable), "event")
        were, positions = (("was", "position") if len(figures.undecodable) == 1
                           else ("were", "positions"))
        click.echo(f"warning: {some} cannot be decoded and {were} skipped ({positions} "
                   f"{shown}{more}; `cartui verify` lists them)", err=True)
    if as_json:
        _echo_json(figures.to_json())
        return
    recorded_at = app.store.recorded_at(figures.as_of_position)
    click.echo(f"Projections as of position {figures.as_of_position:,}"
               + (f" ({exact_time(recorded_at)})" if recorded_at else ""))
    click.echo()
    click.echo(f"Carts    {figures.carts_open:,} open ({figures.carts_abandoned:,} abandoned: "
               f"quiet for over 60 minutes) · {figures.carts_checked_out:,} checked out")
    click.echo(f"Revenue  {many(figures.orders, 'order')} · {money(figures.revenue_cents)} · "
               f"average order {money(figures.average_order_cents)}")
    if figures.products:
        click.echo()
        rows = [("SKU", "Added", "Removed", "Purchased")]
        rows += [(p.sku, f"{p.added_quantity:,}", f"{p.removed_count:,}",
                  f"{p.purchased_quantity:,}") for p in figures.products]
        for line in table(rows, right={1, 2, 3}):
            click.echo("  " + line)
    if figures.activity:
        click.echo()
        first, last = figures.activity[0][0], figures.activity[-1][0]
        click.echo(f"Activity {many(len(figures.activity), 'hour')} with events, {first} .. {last}; "
                   "the latest (--json lists them all):")
        rows = [("Hour", "Events")] + [(hour, f"{n:,}") for hour, n in figures.activity[-12:]]
        for line in table(rows, right={1}):
            click.echo("  " + line)


@command()
def rebuild(app: App) -> None:
    """Drop every projection and fold the whole log again, from zero."""
    from .history import History
    from .projections.folds import PROJECTION_NAMES

    history = History(app.store, app.service)
    started = time.perf_counter()
    count = history.rebuild(_catch_up_progress("rebuilding", delay=0))
    seconds = time.perf_counter() - started
    click.echo(f"rebuilt {len(PROJECTION_NAMES)} projections ({', '.join(PROJECTION_NAMES)}) "
               f"from {many(count, 'event')} in {seconds:.2f} s")


@command()
@click.option("--events", "event_count", type=WholeNumber(min=100), default=1_000_000,
              show_default=True, metavar="N", help="Events in the synthetic history.")
@click.option("--runs", type=WholeNumber(min=1), default=1, show_default=True, metavar="N",
              help="Run N times; report each figure's median, range and the runs that met "
                   "its target.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (stable keys).")
def bench(app: App, event_count: int, runs: int, as_json: bool) -> None:
    """Measure every speed figure on a synthetic history, in a temporary database,
    each beside plain sqlite3 doing the same work in the same run."""
    from .bench import format_report, run_bench, summarize

    reports = []
    for run_number in range(1, runs + 1):
        which = "" if runs == 1 else f"run {run_number} of {runs}: "
        reports.append(run_bench(event_count,
                                 say=lambda text: click.echo(f"bench: {which}{text}", err=True)))
    report = reports[0] if runs == 1 else summarize(reports)
    if as_json:
        _echo_json(report)
    else:
        click.echo(format_report(report))


def _resolve_at(history, at_position: int | None, at_time: str | None) -> int | None:
    """--at or --at-time as a position (None: the head)."""
    if at_position is not None and at_time is not None:
        raise click.UsageError("give --at or --at-time, not both")
    if at_time is None:
        return at_position
    try:
        return history.position_at_time(at_time)
    except ValueError as exc:
        raise CliError(f"--at-time: {exc}") from None


def _catch_up_progress(label: str, delay: float = 0.5):
    """A progress line on stderr when it is a terminal (once the work has taken
    `delay` seconds); None otherwise."""
    if not sys.stderr.isatty():
        return None
    from .projections import ProgressLine

    def write(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    return ProgressLine(write, label, delay=delay)


# -- the shop --------------------------------------------------------------------------------

@command()
@click.option("--seed", type=WholeNumber(), metavar="N", default=None,
              help="Another seed, another (equally fixed) history.")
@click.option("--carts", "cart_count", type=WholeNumber(min=1), default=None, metavar="N",
              help="How many carts.")
def demo(app: App, seed: int | None, cart_count: int | None) -> None:
    """Write the demo history (a week of a small shop) into an empty database."""
    from .demo import DEFAULT_CARTS, DEFAULT_SEED, write_demo

    store = app.open_store()
    with _progress_bar("writing the demo history") as progress:
        count = write_demo(store, app.catalog, seed=DEFAULT_SEED if seed is None else seed,
                           carts=DEFAULT_CARTS if cart_count is None else cart_count,
                           progress=progress)
    _echo_saved(f"wrote {count:,} demo events into {app.db_path}")


@command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def catalog(app: App, as_json: bool) -> None:
    """List the products a cart accepts."""
    if as_json:
        _echo_json(app.catalog.records())
        return
    rows = [("SKU", "Product", "Price", "Category")]
    rows += [(p.sku, p.name, money(p.price_cents), p.category) for p in app.catalog.values()]
    for line in table(rows, right={2}):
        click.echo(line)


# -- the full-screen app ---------------------------------------------------------------------

def _run_full_screen(app: App) -> None:
    if (problem := _terminal_problem()) is not None:
        raise CliError(problem)
    app.refuse_a_missing_folder()  # the app opens the database itself, making any folder
    if app.uses_builtin_default:
        _seed_default_database(app)
    try:
        from .tui.app import run_app
    except ModuleNotFoundError as exc:
        if exc.name != "cartui.tui.app":
            raise
        raise CliError("the full-screen app is not part of this installation") from None
    path = app.db_path
    app.close()  # the app opens the database itself
    if run_app(path):  # an unexpected error ended the app, which showed where
        raise SystemExit(BUG)


def _terminal_problem() -> str | None:
    """Why the full-screen app cannot run here, if it cannot: it draws on a terminal
    and reads its keys (without one it would fill a file with escape codes, and on
    TERM=dumb it redraws for ever at two sizes)."""
    if os.environ.get("TERM") == "dumb":
        return ("the full-screen app cannot draw on a dumb terminal (TERM=dumb): set TERM, "
                "e.g. TERM=xterm-256color, or use a command (cartui --help)")
    if not all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout)):
        return "the full-screen app needs a terminal: run it in one, or use a command (cartui --help)"
    encoding = sys.stdout.encoding or "ascii"
    if codecs.lookup(encoding).name != "utf-8":  # it would draw its frames as \u256d...
        return (f"the full-screen app draws in Unicode, and this terminal's locale is {encoding}: "
                "run it with a UTF-8 locale (e.g. LC_ALL=C.UTF-8), or use a command (cartui --help)")
    return None


def _seed_default_database(app: App) -> None:
    """On first run, the default database gets the demo history to explore."""
    from .demo import DemoRefused, write_demo

    store = app.open_store()
    if store.head_position() != 0:
        return
    click.echo(f"cartui: first run: writing the demo history into {app.db_path} ...", err=True)
    try:
        count = write_demo(store, app.catalog)
    except DemoRefused:
        return  # another cartui seeded it meanwhile
    click.echo(f"cartui: {count:,} demo events written", err=True)


# -- output ----------------------------------------------------------------------------------


def table(rows: Sequence[Sequence[str]], right: set[int] = frozenset()) -> list[str]:
    """Aligned columns (the first row is the header); `right` holds right-aligned columns."""
    rows = [[literal(cell) for cell in row] for row in rows]
    widths = [max(_cells(row[i]) for row in rows) for i in range(len(rows[0]))]

    def pad(cell: str, i: int) -> str:
        room = " " * (widths[i] - _cells(cell))
        return room + cell if i in right else cell + room
    return ["  ".join(pad(cell, i) for i, cell in enumerate(row)).rstrip() for row in rows]


def _cells(text: str) -> int:
    """The columns `text` takes in a terminal: two for an emoji or a CJK character,
    none for a joiner or an accent that combines."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # only then: it costs start-up time
    return cell_len(text)


def _echo_saved(text: str) -> None:
    """The line of a command whose change is already stored. Output that cannot be
    written (a full disk) does not make it an error: the change stands, the status
    says success, and stderr says what could not be printed."""
    try:
        click.echo(text)
    except OSError as exc:
        if exc.errno not in _NO_ROOM_ERRNOS:
            raise
        _silence_stdout()  # what is still buffered would fail again at exit
        click.echo(f"warning: done, but the output could not be written ({exc.strerror}): "
                   f"{text}", err=True)


def _echo_json(document) -> None:
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.buffer.flush()


class _progress_bar:
    """A progress bar on stderr when it is a terminal; nothing otherwise.
    Yields the `progress(done, total)` callback the long operations take."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not sys.stderr.isatty():
            return None
        return self.update

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _stop_on_sigterm() -> None:
    """SIGTERM ends `events --follow` the way Ctrl-C does: cleanly."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)


# -- errors and exit statuses ----------------------------------------------------------------

def main(argv: Iterable[str] | None = None) -> None:
    # A terminal that cannot show every character (a Latin-1 locale, and a customer
    # "山田" another user typed) gets "?" for it, not a crash in the middle of a table.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        status = run(argv)
    except KeyboardInterrupt:  # Ctrl-C while an error was being told
        status = _fail("interrupted", INTERRUPTED)
    sys.exit(status)


def run(argv: Iterable[str] | None = None) -> int:
    """Run the command line; return the exit status. Every error is one `error:` line."""
    if sys.stderr is None:  # started with it closed (2>&-): the status still tells
        sys.stderr = open(os.devnull, "w")
    if sys.stdout is None:  # started with it closed (>&-): what was done could not be told
        return _fail("the standard output is closed: nothing was done", INVALID)
    try:
        result = cli.main(args=None if argv is None else list(argv), prog_name="cartui",
                          standalone_mode=False)
        sys.stdout.flush()  # here, where a failed write is handled, not at exit
        return result if isinstance(result, int) else OK
    except SystemExit as exc:  # the full-screen app may end this way
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or OK
        return _fail(str(exc.code), BUG)
    except click.UsageError as exc:
        if exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
            click.echo(f"Try '{exc.ctx.command_path} --help' for help.", err=True)
        return _fail(exc.format_message(), INVALID)
    except (ReaderGone, BrokenPipeError):
        _silence_stdout()
        return OK  # the reader stopped reading (`cartui carts | head -1`): not an error
    except BaseException as exc:  # noqa: BLE001 - every error becomes one line, never a traceback
        status, message = exit_status(exc)
        if status == BUG and os.environ.get("CARTUI_DEBUG"):
            raise
        return _fail(message, status)


def exit_status(exc: BaseException) -> tuple[int, str]:
    """The one place that maps an exception to an exit status and its message."""
    from .demo import DemoRefused
    from .importer import ImportFileError

    match exc:
        case CliError():
            return exc.status, str(exc)
        case RuleViolation():
            return REFUSED, str(exc)
        case InvalidInput() | ImportFileError() | DemoRefused() | StoreError():
            return INVALID, str(exc)
        case ConcurrencyError():
            return CONFLICT, str(exc)
        case sqlite3.OperationalError() if is_lock_wait(exc):
            return CONFLICT, f"the database stayed locked: {exc}"
        case sqlite3.OperationalError() if is_read_only(exc):
            return INVALID, f"the database is read-only, and this command writes to it: {exc}"
        case sqlite3.OperationalError() if is_disk_full(exc):  # import, demo, rebuild: all or none
            return INVALID, f"cannot write to the database, nothing was saved: {exc}"
        case sqlite3.DatabaseError() if is_unreadable_database(exc):
            return INVALID, f"cannot read the database: {exc}"
        case click.ClickException():
            return INVALID, exc.format_message()
        case OSError() if exc.filename is None and exc.errno in _NO_ROOM_ERRNOS:
            return INVALID, f"cannot write the output: {exc.strerror}"
        case OSError() if exc.filename is not None:
            return INVALID, f"{exc.filename}: {exc.strerror or exc}"
        case click.Abort() | KeyboardInterrupt():
            return INTERRUPTED, "interrupted"
        case DomainError():
            return REFUSED, str(exc)
    return BUG, f"unexpected {type(exc).__name__}: {exc} (a bug in cartui; CARTUI_DEBUG=1 shows where)"


def _fail(message: str, status: int) -> int:
    click.echo("error: " + " ".join(str(message).split()), err=True)
    return status


def _silence_stdout() -> None:
    """After a closed pipe, Python would complain again when it flushes stdout at exit:
    what is left goes to os.devnull instead."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
