"""The full-screen app: the live event stream, the cart, the projections and a history slider.

The app is a thin shell over the services: EventStore (pages of the log, the
head, "anything new?"), CartService (every edit) and History (the world as of
the cursor). Widgets render what the app hands them; none writes SQL or holds a
cart rule. The cursor model (cartui.tui.cursor) decides where in history we are.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from bisect import bisect_right
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Callable, Mapping

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import WorkerFailed, get_current_worker

from ..domain import CartState, Catalog, errors, require_open
from ..history import History
from ..importer import ExportRefused, ImportFileError, export_file, import_file
from ..service import CartService, CommandResult
from ..store import (
    ConcurrencyError, EventStore, StoreBusy, StoreError, is_read_only, is_unreadable_database,
    parse_timestamp, utc_now,
)
from ..wording import full_time
from .cursor import AT_THE_EMPTY_WORLD, BIG_STEP, HistoryCursor
from .palette import CartuiCommands
from .screens import (
    CartPickerScreen, EventDetailScreen, EventFilterScreen, ExportScreen, GoToScreen, HelpScreen,
    ImportScreen, NewCartScreen, ProductPickerScreen,
)
from .widgets.cart_pane import CartPane
from .widgets.event_log import EventFilter, EventLog, positions_matching
from .widgets.formatting import count, event_summary, literal, many, money
from .widgets.history_bar import HistoryBar, HistorySlider
from .widgets.key_bar import KeyBar
from .widgets.projections_pane import ProjectionsPane
from .widgets.task_bar import TaskBar


HISTORY, CARTS, EVENTS, APP = "History", "Carts", "Events", "App"
# The stored projections may trail the head by this many events before the app
# catches them up in a worker (a fold of that many events takes a few milliseconds).
CATCH_UP_AFTER = 1000
# An edit runs on the screen's thread, so the screen is frozen while it waits for
# another process's write lock (a large import, say): it waits this long, not the
# command line's 5 s, then says the database is busy. Single commands of other
# processes hold the lock for milliseconds.
EDIT_LOCK_WAIT_SECONDS = 0.5
# A position typed into go-to: digits, or grouped by commas as the screen writes it.
POSITION_AS_SHOWN = re.compile(r"\d+|\d{1,3}(,\d{3})+")

# Every key of the main screen, by help section. The footer, the help screen
# and the command palette are all built from this one table, so they never drift.
# History keys work whichever region has focus (scrollables and tables bind
# home/end/pageup/pagedown themselves), so they are priority bindings on the
# main screen; a dialog is another screen, so they never fire in its Input.
STEP = Binding.Group("step")
JUMP = Binding.Group(f"±{BIG_STEP}")
SPEED = Binding.Group("speed")
CART_EVENTS = Binding.Group("cart events")
QUANTITY = Binding.Group("qty")
REGION = Binding.Group("region")


def key(keys: str, action: str, short: str, long: str, *, show: str | None = None,
        group: Binding.Group | None = None, priority: bool = False) -> Binding:
    """A binding with a short label (the footer) and a long one (help and palette).

    The footer shows a group's keys run together ("⇧←" + "→" reads "⇧←→")."""
    return Binding(keys, action, short, key_display=show, group=group, priority=priority,
                   tooltip=long)


KEYS: dict[str, list[Binding]] = {
    HISTORY: [
        key("left", "app.step(-1)", "back", "Step back one event (one shown, when filtered)",
            show="←", group=STEP, priority=True),
        key("right", "app.step(1)", "forward", "Step forward one event (one shown, when filtered)",
            show="→", group=STEP, priority=True),
        key("shift+left,pageup", f"app.step(-{BIG_STEP})", f"back {BIG_STEP}",
            f"Step back {BIG_STEP} events", show="⇧←", group=JUMP, priority=True),
        key("shift+right,pagedown", f"app.step({BIG_STEP})", f"forward {BIG_STEP}",
            f"Step forward {BIG_STEP} events", show="→", group=JUMP, priority=True),
        key("home", "app.go_start", "start", "Go to position 0, the empty world", priority=True),
        key("end", "app.go_live", "LIVE", "Return to the present (LIVE), clearing any what-if",
            priority=True),
        key("g", "app.go_to", "go to", "Go to a position or a time", priority=True),
        key("space", "app.toggle_play", "play",
            "Play or pause the history from the cursor (at LIVE: from the start)",
            priority=True),
        key("left_square_bracket", "app.slower", "slower", "Play slower (real time, 1x, 2x, 10x)",
            show="[", group=SPEED, priority=True),
        key("right_square_bracket", "app.faster", "faster", "Play faster (real time, 1x, 2x, 10x)",
            show="]", group=SPEED, priority=True),
        key("x", "app.toggle_skip", "what-if",
            "What-if: skip or restore the event at the cursor (the store is untouched)",
            priority=True),
        key("ctrl+left", "app.cart_event(-1)", "previous",
            "Previous event of the cart in the Cart pane",
            show="^←", group=CART_EVENTS, priority=True),
        key("ctrl+right", "app.cart_event(1)", "next",
            "Next event of the cart in the Cart pane",
            show="→", group=CART_EVENTS, priority=True),
    ],
    CARTS: [
        key("n", "app.new_cart", "new cart", "Create a new cart"),
        key("c", "app.pick_cart", "pick cart", "Pick the cart to show (and pin it)"),
        key("f", "app.toggle_follow", "follow",
            "Cart pane: follow the cart of the event at the cursor, or pin the cart shown"),
        key("a", "app.add_item", "add", "Add an item from the catalog to the cart"),
        key("plus", "app.change_quantity(1)", "+1", "One more of the selected line", show="+",
            group=QUANTITY),
        key("minus", "app.change_quantity(-1)", "-1", "One less of the selected line", show="-",
            group=QUANTITY),
        key("delete,backspace", "app.remove_line", "remove", "Remove the selected line",
            show="del"),
        key("o", "app.check_out", "check out", "Check out the cart"),
    ],
    EVENTS: [
        key("enter", "app.show_detail", "detail",
            "Detail of the event at the cursor: data, metadata, raw JSON, what it changed",
            show="⏎"),
        key("slash", "app.filter_events", "filter",
            "Filter the event stream by cart, type or text", show="/"),
    ],
    APP: [
        key("tab", "app.focus_next", "next", "Move focus to the next region", show="⇥",
            group=REGION),
        key("shift+tab", "app.focus_previous", "previous", "Move focus to the previous region",
            show="⇧⇥", group=REGION),
        key("question_mark,f1", "app.help", "help", "Help: every key", show="?"),
        key("ctrl+p", "app.command_palette", "palette",
            "Command palette: every action, import, export, themes", show="^p"),
        key("q", "app.quit", "quit", "Quit cartui"),
    ],
}
MAIN_BINDINGS: list[Binding] = [binding for keys in KEYS.values() for binding in keys]


SMALLEST_WINDOW = (80, 24)  # every region usable (DESIGN.md)


class MainScreen(Screen):
    """The four regions. Holds no state but whether its window was too small to show
    them all (said once): the app decides what every widget shows."""

    BINDINGS = MAIN_BINDINGS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self, store: EventStore, service: CartService) -> None:
        super().__init__()
        self.store = store
        self.service = service
        self._too_small = False

    def compose(self) -> ComposeResult:
        yield Static(id="banner")
        with Horizontal(id="body"):
            log = EventLog(self.store, self.service.decode, self.service.product_names,
                           id="events")
            log.border_title = "Events"
            yield log
            with Vertical(id="side"):
                cart = CartPane(id="cart")
                cart.border_title = "Cart"
                yield cart
                projections = ProjectionsPane(id="projections")
                projections.border_title = "Projections"
                yield projections
        yield TaskBar(id="task")
        history = HistoryBar(id="history")
        history.border_title = "History"
        yield history
        yield KeyBar(MAIN_BINDINGS, id="keys")

    def on_mount(self) -> None:
        self.app.start_showing()

    def on_resize(self, event: events.Resize) -> None:
        # Crossing the 100-column breakpoint changes the layout and the History line's length.
        self.app.after_refresh(self.app.refresh_view)
        width, height = event.size
        too_small = width < SMALLEST_WINDOW[0] or height < SMALLEST_WINDOW[1]
        if too_small and not self._too_small:  # said once as it gets too small, not per resize
            self.app.say(f"The window is {width}x{height}: some regions have no room below "
                         f"{SMALLEST_WINDOW[0]}x{SMALLEST_WINDOW[1]}. Make it larger to see "
                         "them all.", title="Window too small", severity="warning")
        self._too_small = too_small


READ_ONLY = ("The database is read-only to cartui (its file, or the folder it is in, cannot "
             "be written): it shows the history, and edits, imports and rebuilds are off.")


class CartsLoaded(Message):
    """A worker read every cart's summary for the cart picker. A message, not a call
    from the thread: it comes after the worker's TaskBar.Progress messages, so the
    bar it hides is not shown again by one of them."""

    def __init__(self, carts: list) -> None:
        super().__init__()
        self.carts = carts


class FilterScanned(Message):
    """A worker found the positions of the events that match a filter (up to `scanned_to`)."""

    def __init__(self, event_filter: EventFilter, matches: list[int], scanned_to: int) -> None:
        super().__init__()
        self.event_filter, self.matches, self.scanned_to = event_filter, matches, scanned_to


class CartuiApp(App):
    TITLE = "cartui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {CartuiCommands}

    def __init__(self, store: EventStore, service: CartService, history: History, *,
                 catalog: Catalog | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 poll_interval: float = 0.25,
                 cursor_blink: bool = True,
                 selected_cart: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.service = service
        self.history = history
        self.catalog = catalog if catalog is not None else service.catalog
        self.clock = clock
        self.poll_interval = poll_interval
        self.cursor_blink = cursor_blink
        head = store.head_position()
        self.cursor = HistoryCursor(head=head, position=head)
        # The Cart pane shows this cart, or (None) the cart of the event at the cursor.
        self.pinned_cart: str | None = selected_cart
        self._cart_of_position: tuple[int, str | None] = (-1, None)
        self.event_filter: EventFilter | None = None
        self._data_version = store.data_version()
        self._play_timer: Timer | None = None
        self._frame_due = 0.0  # when the frame playing now was due (time.monotonic)
        # Asked when the app starts and before each write (_refuse_if_read_only), not on
        # every redraw.
        self._read_only = False
        self._panes_pending = False
        # Where the stored projections are while a catch-up runs (None: not catching up).
        self._projections_tip: int | None = None
        # (monotonic start, whether it is a rebuild) while a catch-up or rebuild runs.
        self._projections_work: tuple[float, bool] | None = None
        # The file an import worker is appending (it holds the write lock meanwhile).
        self._importing: str | None = None
        # Why the app left early: the database could not be read (see _handle_exception).
        self.database_error: BaseException | None = None

    def _handle_exception(self, error: Exception) -> None:
        """An unreadable database is bad input, not a bug in cartui: the app leaves
        without a traceback, and run_app hands the error to the command line,
        which says it in one line (exit 2). Anything else is Textual's to report."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        if not is_unreadable_database(cause):
            super()._handle_exception(error)
        elif self.database_error is None:
            self.database_error = cause
            self.exit()

    def get_default_screen(self) -> Screen:
        return MainScreen(self.store, self.service)

    # -- the widgets -------------------------------------------------------------------------

    @property
    def main(self) -> MainScreen:
        """The main screen, under whatever dialog is open."""
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    @property
    def event_log(self) -> EventLog:
        return self.main.query_one(EventLog)

    @property
    def cart_pane(self) -> CartPane:
        return self.main.query_one(CartPane)

    @property
    def projections_pane(self) -> ProjectionsPane:
        return self.main.query_one(ProjectionsPane)

    # -- life cycle --------------------------------------------------------------------------

    def start_showing(self) -> None:
        """The main screen is composed: fill it and start following the head."""
        self._read_only = not self.store.may_write()
        self.check_projections()
        self.refresh_view()
        # The History line's badges carry the theme's colours: draw them again in a new one.
        self.theme_changed_signal.subscribe(
            self, lambda _: self.after_refresh(self.refresh_view))
        self.set_interval(self.poll_interval, self.poll_for_new_events)
        self.event_log.focus()

    def poll_for_new_events(self) -> None:
        """Another process may have appended: PRAGMA data_version says so in microseconds.
        A file deleted or replaced meanwhile ends the app, as an unreadable one does."""
        self.store.check_still_the_file()
        version = self.store.data_version()
        if version != self._data_version:
            self._data_version = version
            self.head_changed()

    def head_changed(self) -> None:
        head = self.store.head_position()
        if head == self.cursor.head:
            return
        old_head = self.cursor.head
        self.cursor.head_moved(head)
        if self.event_filter is not None and self.event_log.matches is not None:
            new = positions_matching(self.store, self.event_filter, self.event_log.summary,
                                     old_head + 1, head)
            self.event_log.set_filter(self.event_log.matches + new, self.event_filter)
        self.check_projections()
        self.refresh_view()

    @property
    def selected_cart(self) -> str | None:
        """The cart the Cart pane shows: the pinned one, else the cursor's event's cart."""
        if self.pinned_cart is not None:
            return self.pinned_cart
        position = self.cursor.position
        if self._cart_of_position[0] != position:
            row = self.store.get(position) if position else None
            self._cart_of_position = (position, row.stream_id if row else None)
        return self._cart_of_position[1]

    # -- showing the world as of the cursor --------------------------------------------------

    def refresh_view(self) -> None:
        """Cheap parts now (log, slider, banner); the panes once the key queue is drained."""
        cursor = self.cursor
        main = self.main
        main.set_class(not cursor.live, "-past")
        main.set_class(cursor.what_if, "-what-if")
        recorded_at = self.store.recorded_at(cursor.position) if cursor.position else None
        history_bar = main.query_one(HistoryBar)
        history_bar.set_class(main.has_class("-narrow"), "-compact")
        history_bar.show(cursor, recorded_at, read_only=self._read_only)
        self._show_banner(recorded_at)
        self.event_log.show(head=cursor.head, cursor=cursor.position, skipped=cursor.skipped,
                            broken=self.event_log.broken if cursor.what_if else frozenset(),
                            selected_cart=self.selected_cart)
        self.event_log.describe(self.event_filter.text if self.event_filter else None)
        self.cart_pane.border_subtitle = ("pinned · f follows the cursor" if self.pinned_cart
                                          else "follows the cursor · f pins")
        self._schedule_panes()

    def _schedule_panes(self) -> None:
        """Work the panes out once the keys already queued are handled (held keys coalesce)."""
        if not self._panes_pending:
            self._panes_pending = True
            self.after_refresh(self._update_panes)

    def after_refresh(self, callback: Callable, *args) -> None:
        """`call_after_refresh`, safe over a dialog. Textual queues that callback on the
        screen on top, and a dialog closed before its next paint drops it: the panes
        then never updated again. Over a dialog, the app's own queue runs it."""
        if self.screen is self.screen_stack[0]:
            self.call_after_refresh(callback, *args)
        else:
            self.call_later(callback, *args)

    def _show_banner(self, recorded_at: str | None) -> None:
        cursor = self.cursor
        when = full_time(recorded_at) if recorded_at else "before the first event"
        where = f"position {count(cursor.position)} of {count(cursor.head)}"
        if cursor.what_if:
            skipped = ", ".join(count(p) for p in sorted(cursor.skipped)[:3])
            more = f" and {len(cursor.skipped) - 3} more" if len(cursor.skipped) > 3 else ""
            # What to do first; the history bar just below says where.
            message = f"WHAT-IF without event {skipped}{more} · x restores, end returns to LIVE"
            if not self.main.has_class("-narrow"):
                message += f" · the store is untouched · {where}"
        elif not cursor.live and self.main.has_class("-narrow"):
            # The history bar just below says where, in short: the time keeps its room.
            message = f"◀ PAST · read-only, end returns to LIVE · {when}"
        elif not cursor.live:
            message = f"◀ PAST · read-only, end returns to LIVE · {where} · {when}"
        else:
            message = ""
        banner = self.main.query_one("#banner", Static)
        text = Text(message)
        if str(banner.content) != str(text):
            banner.update(text)

    def _projections_within_reach(self, position: int) -> bool:
        """Whether the figures at `position` come from a stored checkpoint plus a short fold.
        While a catch-up is still far behind, asking would fold from zero on the UI thread."""
        return self._projections_tip is None or position <= self._projections_tip + CATCH_UP_AFTER

    def _update_panes(self) -> None:
        self._panes_pending = False
        cursor = self.cursor
        position = cursor.position
        cart_id = self.selected_cart
        if not self._projections_within_reach(position):
            self.projections_pane.show_waiting()
            if cursor.what_if:
                self.cart_pane.show_nothing("The what-if is worked out once the projections "
                                            "have caught up (see Projections).")
            elif cart_id is None:
                self.cart_pane.show_nothing("No cart here.")
            else:
                self.cart_pane.show(self.history.cart_at(cart_id, position).state, position)
            return
        if cursor.what_if:
            world = self.history.what_if(position, cursor.skipped, cart_id)
            cart, projections = world.cart, world.projections
            broken = frozenset(p.position for p in world.problems)
            if broken != self.event_log.broken:
                self.event_log.broken = broken
                self.event_log.refresh()
        else:
            cart = self.history.cart_at(cart_id, position).state if cart_id else None
            projections = self.history.projections_at(position)
            self.event_log.broken = frozenset()
        if cart is None:
            self.cart_pane.show_nothing(
                "No cart yet: n creates one." if cursor.head == 0 else
                "Position 0 is the empty world: no cart yet. → steps to the first event.")
        elif (cursor.what_if and not cart.exists
              and self.history.cart_at(cart_id, position).state.exists):
            # Short: the pane cuts its status line (35 columns at 80x24).
            self.cart_pane.show(cart, position, "CartCreated skipped in this what-if")
        else:
            self.cart_pane.show(cart, position)
        self.projections_pane.show(projections, self.service.product_names)

    # -- moving through history --------------------------------------------------------------

    def move_cursor(self, position: int) -> None:
        if position > self.cursor.head:
            self.head_changed()
        self.cursor.move_to(position)
        self.refresh_view()

    def action_step(self, delta: int) -> None:
        """`delta` events; while the log is filtered, `delta` of the events it shows."""
        shown = self.event_log.matches
        if shown is None:
            self.move_cursor(self.cursor.position + delta)
            return
        position = self.cursor.position
        last_at_or_before = bisect_right(shown, position) - 1
        on_a_shown_row = last_at_or_before >= 0 and shown[last_at_or_before] == position
        index = last_at_or_before + delta + (0 if delta > 0 or on_a_shown_row else 1)
        target = shown[max(0, min(len(shown) - 1, index))] if shown else position
        if (target - position) * delta <= 0:  # none that way: never a step the other way
            # Without a word the key would seem broken: the log has events beyond.
            self.say(f"No {'later' if delta > 0 else 'earlier'} event matches the filter: "
                     "/ changes or clears it"
                     + (", end returns to LIVE." if delta > 0 and not self.cursor.live else "."))
            return
        self.move_cursor(target)

    def action_go_start(self) -> None:
        self.move_cursor(0)

    def action_go_live(self) -> None:
        self.head_changed()
        self.stop_playing()
        self.cursor.go_live()
        self.refresh_view()

    def resolve_position(self, text: str) -> int:
        """What the go-to dialog typed: a position, or an ISO time (with a zone)."""
        text = text.strip()
        if POSITION_AS_SHOWN.fullmatch(text):  # 1200, or 1,200 as the screen writes it
            return self.history.check_position(int(text.replace(",", "")))
        try:
            return self.history.position_at_time(text)
        except ValueError as exc:
            if text[:4].isdigit() and "-" in text:  # a time, but without its zone, say
                raise ValueError(str(exc)) from None
            raise ValueError(f"{text!r} is neither a position (0..{count(self.history.head())}) "
                             "nor a time like 2026-01-06T14:00Z") from None

    def action_go_to(self) -> None:
        self.open(GoToScreen(self.resolve_position),
                  lambda position: position is not None and self.move_cursor(position))

    @on(HistorySlider.Moved)
    def slider_moved(self, event: HistorySlider.Moved) -> None:
        self.move_cursor(event.position)

    @on(EventLog.Clicked)
    def row_clicked(self, event: EventLog.Clicked) -> None:
        self.move_cursor(event.position)

    def action_cart_event(self, direction: int) -> None:
        """The selected cart's previous (-1) or next (+1) event from the cursor."""
        cart_id = self.selected_cart
        if cart_id is None:
            self.say("No cart here: c picks one.", severity="warning")
            return
        position = self.cursor.position
        if direction < 0:
            earlier = [r.position for r in self.store.read_stream(cart_id,
                                                                  up_to_position=position - 1)]
            target = earlier[-1] if earlier else None
        else:
            later = list(self.store.read_all(position + 1, stream_id=cart_id, limit=1))
            target = later[0].position if later else None
        if target is None:
            where = "before" if direction < 0 else "after"
            self.say(f"{cart_id} has no event {where} position {count(position)}.")
            return
        self.move_cursor(target)

    # -- playback ----------------------------------------------------------------------------

    def action_toggle_play(self) -> None:
        if self.cursor.playing:
            self.stop_playing()
            self.refresh_view()
            return
        if self.cursor.live:
            if self.cursor.head == 0:
                self.say("Nothing to play: the log is empty.")
                return
            self.cursor.move_to(0)  # at the present there is nothing ahead: replay it all
            self.say("Replaying the log from its start: space pauses, end returns to LIVE.")
        self.cursor.playing = True
        self._schedule_next_frame()
        self.refresh_view()

    def stop_playing(self) -> None:
        self.cursor.playing = False
        if self._play_timer is not None:
            self._play_timer.stop()
            self._play_timer = None

    def _schedule_next_frame(self, after_a_frame: bool = False) -> None:
        """The next frame, a delay after this one was due (not after it was drawn: a
        frame that comes late, behind the drawing of the one before, must not slow the
        speed down), or at once when the screen cannot keep up."""
        if self._play_timer is not None:
            self._play_timer.stop()
        gap = None
        if self.cursor.real_time:
            now = self.store.recorded_at(self.cursor.position) if self.cursor.position else None
            following = self.store.recorded_at(self.cursor.position + 1)
            try:
                gap = (parse_timestamp(following) - parse_timestamp(now)).total_seconds()
            except ValueError:  # the start, the end, or a time another program wrote as text
                gap = None
        now = time.monotonic()
        delay = self.cursor.delay_before_next(gap)
        self._frame_due = max(now, self._frame_due + delay) if after_a_frame else now + delay
        # Never 0: a Textual timer of no interval divides by it and never fires.
        self._play_timer = self.set_timer(max(self._frame_due - now, 0.001), self._play_frame)

    def _play_frame(self) -> None:
        self._play_timer = None
        if not self.cursor.playing:
            return
        self.cursor.step(1)
        if self.cursor.live:
            self.stop_playing()
        else:
            self._schedule_next_frame(after_a_frame=True)
        self.refresh_view()

    def _speed_changed(self) -> None:
        if self.cursor.playing:
            self._schedule_next_frame()
        self.refresh_view()

    def action_faster(self) -> None:
        if self.cursor.faster():
            self._speed_changed()
        else:
            self.say(f"{self.cursor.speed_label} is the fastest speed: [ plays slower.")

    def action_slower(self) -> None:
        if self.cursor.slower():
            self._speed_changed()
        else:
            slowest = self.cursor.speed_label.capitalize()
            self.say(f"{slowest} is the slowest speed: ] plays faster.")

    # -- what-if ------------------------------------------------------------------------------

    def action_toggle_skip(self) -> None:
        position = self.cursor.position
        if position == 0:
            self._say_no_event_at_zero()
            return
        self.cursor.toggle_skip(position)
        self.refresh_view()  # the banner and the struck row say what is skipped

    def _say_no_event_at_zero(self) -> None:
        self.say(AT_THE_EMPTY_WORLD if self.cursor.head else "The log is empty: n creates a cart.",
                 severity="warning")

    # -- editing (only at the present) -------------------------------------------------------

    def _refuse_unless_present(self) -> bool:
        """True (and says why, and how to get back) when an edit may not append now."""
        if self._importing is not None:
            # An edit would wait for the import's write lock, the screen frozen meanwhile.
            self.say(f"An import of {self._importing} is appending: edit again once it ends.",
                     title="Busy", severity="warning")
            return True
        if self._refuse_if_read_only():
            return True
        cursor = self.cursor
        if cursor.editable:
            return False
        if cursor.what_if:
            self.say("A what-if is active: the screen does not show the stored history, "
                     "so edits and imports are off. Press end to clear it and return to LIVE.",
                     title="Not at the present", severity="warning")
        else:
            self.say(f"You are looking at the past (position {count(cursor.position)} of "
                     f"{count(cursor.head)}): edits and imports only happen at the present. "
                     "Press end to return to LIVE.", title="Not at the present",
                     severity="warning")
        return True

    def _refuse_if_read_only(self) -> bool:
        """True (and says why) when the database cannot be written now; the History
        line follows the answer."""
        read_only = not self.store.may_write()
        if read_only != self._read_only:
            self._read_only = read_only
            self.refresh_view()
        if read_only:
            self.say(READ_ONLY, title="Read-only", severity="warning")
        return read_only

    def _selected_cart_or_say(self) -> str | None:
        if self.selected_cart is None:
            self.say("No cart here: n creates one, c picks one.", severity="warning")
        return self.selected_cart

    def run_command(self, command: Callable[[], CommandResult],
                    hints: Mapping[type[errors.DomainError], str] | None = None
                    ) -> CommandResult | None:
        """Run one service command on a cart; a refusal becomes a notification, with
        the hint `hints` gives for its kind, if any. Its result, or None when it did not run.

        The cart it changed stays in the Cart pane (pinned) whatever else gets appended."""
        try:
            result = command()
        except errors.DomainError as exc:
            hint = next((h for kind, h in (hints or {}).items() if isinstance(exc, kind)), None)
            self.say(f"{exc}: {hint}" if hint else str(exc), title="Refused", severity="error")
            return None
        except StoreBusy:
            self.say("Another process is writing to the database (an import, say), so the "
                     "change was not saved. Nothing was lost: the log is as it was. Try again "
                     "once it is done.", title="Busy", severity="error")
            return None
        except ConcurrencyError:
            self.say("Another process kept changing this cart, so the change was not "
                     "saved. Nothing was lost: the log is as it was. Try again.",
                     title="Busy", severity="error")
            return None
        except StoreError as exc:
            self.say(f"{exc}. Nothing was saved.", title="Not saved", severity="error")
            return None
        self.pinned_cart = result.state.cart_id
        self.head_changed()
        return result

    def action_new_cart(self) -> None:
        if self._refuse_unless_present():
            return
        def create(answer: tuple[str | None, str | None] | None) -> None:
            if answer is None:
                return
            # No id typed: the service makes one up.
            self.run_command(lambda: self.service.create_cart(answer[0] or None, answer[1]))
        self.open(NewCartScreen(self.store.stream_exists), create)

    def action_pick_cart(self) -> None:
        self._load_carts_for_the_picker()

    @work(thread=True, exclusive=True, group="carts")
    def _load_carts_for_the_picker(self) -> None:
        """Every cart's summary from the read model (caught up first: long only after
        much has been appended), on a connection of its own, then the picker."""
        self.post_message(TaskBar.Progress("Loading the carts…", 0, 0))

        def progress(done: int, total: int) -> None:
            self.post_message(TaskBar.Progress("Catching up the cart list…", done, total))

        store = self._worker_store()
        try:
            carts = History(store, self._service_on(store)).cart_summaries(progress)
        finally:
            if store is not self.store:
                store.close()
        self.post_message(CartsLoaded(carts))

    @on(CartsLoaded)
    def _open_cart_picker(self, message: CartsLoaded) -> None:
        self.main.query_one(TaskBar).finish()
        if len(self.screen_stack) > 1:  # another dialog opened meanwhile: that one is wanted now
            return
        self.open(CartPickerScreen(message.carts, self.selected_cart, not self.cursor.live),
                  lambda cart_id: cart_id is not None and self.select_cart(cart_id))

    def select_cart(self, cart_id: str) -> None:
        """Pin the Cart pane to this cart."""
        self.pinned_cart = cart_id
        self.refresh_view()

    def action_toggle_follow(self) -> None:
        if self.pinned_cart is None:
            if self.selected_cart is None:
                self.say("No cart at the cursor to pin: c picks one.", severity="warning")
                return
            self.pinned_cart = self.selected_cart
            self.say(f"The Cart pane keeps showing {self.pinned_cart}; f follows the cursor again.")
        else:
            self.pinned_cart = None
            self.say("The Cart pane shows the cart of the event at the cursor.")
        self.refresh_view()

    def _open_cart(self, cart_id: str) -> CartState | None:
        """The cart's state when it takes changes, else None (and says why): asked before
        the app works out a product or a quantity, which would be refused for the wrong
        reason."""
        state = self.history.cart_at(cart_id).state
        try:
            require_open(state)
        except errors.DomainError as exc:
            self.say(str(exc), title="Refused", severity="error")
            return None
        return state

    def action_add_item(self) -> None:
        if self._refuse_unless_present() or (cart_id := self._selected_cart_or_say()) is None:
            return
        if self._open_cart(cart_id) is None:  # before the product is chosen, not after
            return

        def add(answer: tuple[str, int] | None) -> None:
            if answer is not None:
                sku, quantity = answer
                self.cart_pane.select_line(sku)  # so + and - act on what was just added
                self.run_command(lambda: self.service.add_item(cart_id, sku, quantity))
        self.open(ProductPickerScreen(self.catalog, cart_id), add)

    def _selected_line(self) -> str | None:
        sku = self.cart_pane.selected_sku
        if sku is None:
            self.say("The cart has no line to change: a adds an item.", severity="warning")
        return sku

    def action_change_quantity(self, delta: int) -> None:
        if self._refuse_unless_present() or (cart_id := self._selected_cart_or_say()) is None:
            return
        if (sku := self._selected_line()) is None:
            return
        # The domain refuses 0 as a quantity: what the user wants then is to remove the line.
        hints = {errors.InvalidQuantity: "del removes the line"} if delta < 0 else None
        # Relative: on the cart as stored when decided, so that two apps pressing + at
        # once make two more, not one.
        self.run_command(lambda: self.service.change_quantity_by(cart_id, sku, delta), hints)

    def action_remove_line(self) -> None:
        if self._refuse_unless_present() or (cart_id := self._selected_cart_or_say()) is None:
            return
        if (sku := self._selected_line()) is None:
            return
        self.run_command(lambda: self.service.remove_item(cart_id, sku))

    def action_check_out(self) -> None:
        if self._refuse_unless_present() or (cart_id := self._selected_cart_or_say()) is None:
            return
        result = self.run_command(lambda: self.service.check_out(cart_id))
        if result is not None:  # o acts at once: say what it did, as the order it is
            state = result.state
            self.say(f"{cart_id}: {many(state.item_count, 'item')}, {money(state.total_cents)}",
                     title="Checked out")

    # -- events: detail and filter -----------------------------------------------------------

    def action_show_detail(self) -> None:
        position = self.cursor.position
        if position == 0:
            self._say_no_event_at_zero()
            return
        self.open(EventDetailScreen(self.history.change_at(position, self.cursor.skipped)))

    def action_filter_events(self) -> None:
        current = self.event_filter.text if self.event_filter else ""
        self.open(EventFilterScreen(current), self.apply_filter)

    def apply_filter(self, text: str | None) -> None:
        if text is None:
            return
        text = text.strip()
        if not text:
            self.event_filter = None
            self.event_log.set_filter(None)
            self.refresh_view()
            return
        self.event_filter = EventFilter(text)
        self.scan_for_filter(self.event_filter, self.cursor.head)

    @work(thread=True, exclusive=True, group="filter")
    def scan_for_filter(self, event_filter: EventFilter, head: int) -> None:
        """Read the log in chunks on a connection of its own (SQLite connections are not
        shared across threads) and post the matching positions back."""
        worker = get_current_worker()
        store = self._worker_store()
        summary = partial(event_summary, decode=self.service.decode,
                          product_names=self.service.product_names)
        label = f"Filtering events by {event_filter.text}"

        def progress(done: int) -> None:
            if not worker.is_cancelled:
                self.post_message(TaskBar.Progress(label, done, head))
        try:
            matches = positions_matching(store, event_filter, summary, 1, head, progress)
        finally:
            if store is not self.store:
                store.close()
        if not worker.is_cancelled:
            self.post_message(FilterScanned(event_filter, matches, head))

    @on(FilterScanned)
    def _filter_ready(self, message: FilterScanned) -> None:
        self.main.query_one(TaskBar).finish()
        if message.event_filter != self.event_filter:
            return
        matches = message.matches
        if message.scanned_to < self.cursor.head:
            matches += positions_matching(self.store, message.event_filter, self.event_log.summary,
                                          message.scanned_to + 1, self.cursor.head)
        self.event_log.set_filter(matches, message.event_filter)
        self.refresh_view()

    def _worker_store(self) -> EventStore:
        if self.store.path == ":memory:":
            return self.store
        return EventStore(self.store.path)

    def _service_on(self, store: EventStore) -> CartService:
        """The cart service on a worker's store (the app's own on the app's store)."""
        return self.service if store is self.store else CartService(store, self.catalog)

    # -- long work: the stored projections --------------------------------------------------

    def check_projections(self) -> None:
        """Catch the stored projections up in a worker when they trail the head by much
        (a large import, events from another process): the panes wait, the UI does not."""
        if self._projections_work is not None:
            return  # already at it
        lag = self.history.lag()
        if lag and max(p.lag for p in lag) >= CATCH_UP_AFTER:
            self.catch_up_projections()

    def action_rebuild_projections(self) -> None:
        if not self._refuse_if_read_only():
            self.catch_up_projections(rebuild=True)

    def catch_up_projections(self, rebuild: bool = False) -> None:
        """A catch-up folds into the projections the app reads, so until it reaches the
        cursor the pane waits; a rebuild folds into fresh tables swapped in at the end,
        so the figures stay (the same facts, the same answers) and only progress shows."""
        if rebuild:
            self._projections_tip = None
        else:
            self._projections_tip = min((p.position for p in self.history.lag()), default=0)
        self._projections_work = (time.monotonic(), rebuild)
        self._show_projections_work(0, 0)
        self.refresh_view()
        # After the next paint: the worker's fold competes with the UI thread for the GIL.
        self.after_refresh(self._catch_up_in_a_worker, rebuild)

    def _show_projections_work(self, done: int, total: int) -> None:
        started, rebuilding = self._projections_work
        # While rebuilding, the checkpoints of the tables being read are not the news.
        lag = [] if rebuilding else self.history.lag()
        if not rebuilding:
            self._projections_tip = min((p.position for p in lag), default=0)
        self.projections_pane.show_catch_up(lag, done=done, total=total, rebuilding=rebuilding)

    @work(thread=True, exclusive=True, group="projections")
    def _catch_up_in_a_worker(self, rebuild: bool) -> None:
        # History.catch_up / rebuild use a connection of their own: safe in this thread.
        def progress(done: int, total: int) -> None:
            self.post_message(ProjectionsPane.Progress(done, total))
        try:
            folded = (self.history.rebuild if rebuild else self.history.catch_up)(progress)
        except Exception as exc:  # the app goes on with the plain fold; say what happened
            if is_read_only(exc):
                why = "the database is read-only to cartui"
            elif isinstance(exc, ConcurrencyError):  # another rebuild, say: words for people
                why = str(exc)
            else:
                why = f"{type(exc).__name__}: {exc}"
            self.post_message(ProjectionsPane.Finished(0, why))
            return
        self.post_message(ProjectionsPane.Finished(folded))

    @on(ProjectionsPane.Progress)
    def projections_progress(self, message: ProjectionsPane.Progress) -> None:
        if self._projections_work is not None:
            self._show_projections_work(message.done, message.total)
            self._schedule_panes()

    @on(ProjectionsPane.Finished)
    def projections_finished(self, message: ProjectionsPane.Finished) -> None:
        started, asked = self._projections_work or (0.0, False)
        self._projections_work = None
        self._projections_tip = None
        self.projections_pane.show_catch_up(None)
        if message.error:
            self.say(f"The projections could not be brought up to date: {message.error}",
                     severity="error")
        elif asked or time.monotonic() - started > 1.0:  # say so when it was asked or seen
            self.say(f"Projections up to date ({count(message.folded)} events folded).")
        self.refresh_view()

    # -- long work: import and export --------------------------------------------------------

    def action_import(self) -> None:
        if self._importing is not None:
            self.say(f"An import of {self._importing} is running: one at a time.",
                     severity="warning")
            return
        if self._refuse_unless_present():  # it appends: like an edit, only at the present
            return
        self.open(ImportScreen(str(Path.cwd()) + os.sep),
                  lambda path: path and self.import_events(path))

    def import_events(self, path: str) -> None:
        """Import a file as `cartui import` does, in a worker: every line checked, then
        all of it appended or nothing. Edits are refused until it ends: from now, not
        from when the worker's thread starts (an edit in between would wait for the
        import's write lock, the screen frozen)."""
        self._importing = path
        self._import_in_background(path)

    @work(thread=True, exclusive=True, group="import")
    def _import_in_background(self, path: str) -> None:
        """The import, on a connection of its own."""
        store = self._worker_store()
        try:
            result = import_file(
                store, self._service_on(store), path, lambda done, total: self.post_message(
                    TaskBar.Progress(f"Importing {path}", done, total)))
        except ImportFileError as exc:
            self.post_message(TaskBar.Done(f"Nothing imported: {path} {exc}", ok=False))
            return
        except (OSError, StoreError, ConcurrencyError, sqlite3.Error) as exc:
            self.post_message(TaskBar.Done(f"Import failed, nothing imported: {_reason(exc)}",
                                           ok=False))
            return
        finally:
            self._importing = None
            if store is not self.store:
                store.close()
        summary = result.summary(path)
        self.call_from_thread(self.head_changed)  # at once, not at the next poll
        self.post_message(TaskBar.Done(summary[0].upper() + summary[1:]))

    def action_export(self) -> None:
        stamp = self.clock().strftime("%Y%m%d-%H%M%S")
        default = str(Path.cwd() / f"cartui-events-{stamp}.jsonl")
        self.open(ExportScreen(default, self.store.is_own_file),
                  lambda path: path and self.export_events(path))

    @work(thread=True, exclusive=True, group="export")
    def export_events(self, path: str) -> None:
        store = self._worker_store()
        try:
            written = export_file(store, path, lambda done, head: self.post_message(
                TaskBar.Progress(f"Exporting {count(head)} events to {path}", done, head)))
        except (ExportRefused, OSError) as exc:
            self.post_message(TaskBar.Done(f"Export failed: {_reason(exc)}", ok=False))
            return
        finally:
            if store is not self.store:
                store.close()
        self.post_message(TaskBar.Done(f"Exported {count(written)} events to {path}"))

    @on(TaskBar.Progress)
    def task_progress(self, message: TaskBar.Progress) -> None:
        self.main.query_one(TaskBar).show_progress(message.label, message.done, message.total)

    @on(TaskBar.Done)
    def task_done(self, message: TaskBar.Done) -> None:
        self.main.query_one(TaskBar).finish()
        self.say(message.message, severity="information" if message.ok else "error")

    # -- help, palette, dialogs --------------------------------------------------------------

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(section, [(keys, description)]) from the main screen's bindings."""
        return [(section, [(" / ".join(self._key_name(k) for k in b.key.split(",")), b.tooltip)
                           for b in bindings])
                for section, bindings in KEYS.items()]

    @staticmethod
    def _key_name(key: str) -> str:
        names = {"left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?",
                 "slash": "/", "plus": "+", "minus": "-"}
        return names.get(key, key)

    def action_help(self) -> None:
        self.open(HelpScreen(self.help_sections()))

    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """Every action of the main screen, plus the palette-only ones."""
        commands = []
        for section, bindings in KEYS.items():
            for binding in bindings:
                if binding.action.startswith(("app.focus", "app.command_palette")):
                    continue
                keys = " / ".join(self._key_name(k) for k in binding.key.split(","))
                commands.append((binding.tooltip, f"{section} · key {keys}",
                                 partial(self.run_action, binding.action.removeprefix("app."))))
        commands.append(("Export events…", "Write every event to a JSON Lines file",
                         self.action_export))
        commands.append(("Import events…", "Append the events of a JSON Lines file: all "
                         "checked first, then all of them or none", self.action_import))
        commands.append(("Rebuild projections", "Drop the stored read models and fold the "
                         "whole log again, with progress", self.action_rebuild_projections))
        return commands

    def get_system_commands(self, screen: Screen):
        """Textual's own, but "Keys": its key panel squeezes the four regions (at 80
        columns, the projections into broken rows), and ? lists every key already."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Quit"):  # Quit: "Quit cartui" says its key
                yield command

    def say(self, message: str, **options) -> None:
        """A notification. Never markup, nor control characters: messages quote
        cart ids, skus and paths. Not again while it still shows: keys pressed one
        after another would stack the same refusal over the panes."""
        text, title = literal(message), options.get("title", "")
        if any(shown.message == text and shown.title == title and not shown.has_expired
               for shown in self._notifications):
            return
        self.notify(text, markup=False, **options)

    def open(self, screen: Screen, callback: Callable | None = None) -> None:
        """Push a dialog; a playing history pauses while it is open."""
        if self.cursor.playing:
            self.stop_playing()
            self.refresh_view()
        self.push_screen(screen, callback)
        if not self.cursor_blink:
            def steady_cursors() -> None:
                for field in screen.query(Input):
                    field.cursor_blink = False
            screen.call_after_refresh(steady_cursors)


def _reason(exc: BaseException) -> object:
    """Why a worker's file work failed, in words: an OSError's without its errno."""
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else exc


def open_app_store(db_path: Path, **options) -> EventStore:
    """The app's own connection to the database (its workers open their own)."""
    return EventStore(db_path, busy_timeout=EDIT_LOCK_WAIT_SECONDS, **options)


def run_app(db_path: Path) -> int:
    """Open the full-screen app on a database (created if missing); its exit status.
    A database that turns out unreadable is raised once the app has left."""
    from ..resources import load_catalog

    store = open_app_store(db_path)
    try:
        catalog = load_catalog()
        service = CartService(store, catalog)
        app = CartuiApp(store, service, History(store, service), catalog=catalog)
        app.run()
    finally:
        store.close()
    if app.database_error is not None:
        raise app.database_error
    return app.return_code or 0
