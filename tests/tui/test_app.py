"""The main screen driven with Pilot: every key of issue 4, LIVE / PAST, editing only at the
present, what-if, the dialogs it opens, and live updates from another process."""

import sqlite3
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import orjson
import pytest
from rich.cells import cell_len
from rich.console import Console
from textual.content import Content
from textual.widgets import DataTable, Input, Static

from cartui.demo import write_demo
from cartui.history import History
from cartui.importer import export_file
from cartui.projections import Projections
from cartui.projections.projector import ProjectionLag
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import ConcurrencyError, EventStore, StoreBusy, StoreError, parse_timestamp
from cartui.tui.app import KEYS, MAIN_BINDINGS, READ_ONLY, MainScreen
from cartui.tui.cursor import (
    AT_THE_EMPTY_WORLD, BIG_STEP, LONGEST_REAL_TIME_GAP, SHORTEST_REAL_TIME_GAP, HistoryCursor,
)
from cartui.tui.widgets.activity_sparkline import ActivitySparkline
from cartui.tui.widgets.event_log import EventLog
from cartui.tui.widgets.history_bar import HistorySlider
from cartui.tui.widgets.task_bar import TaskBar

MARKUP = "[bold red]x[/]"


async def until(pilot, condition, timeout: float = 5.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def text_of(app, selector: str) -> str:
    return str(app.main.query_one(selector, Static).content)


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def cart_lines(app) -> dict[str, int]:
    """sku -> quantity as the Cart pane shows it."""
    table = app.main.query_one("#cart-lines", DataTable)
    return {row.value: int(str(table.get_cell(row, "qty"))) for row in table.rows}


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause()


async def type_in(pilot, text: str) -> None:
    """Fill the focused input at once (typing a long text key by key only costs time)."""
    await settle(pilot)
    field = pilot.app.focused
    assert isinstance(field, Input), field
    field.value = text
    await pilot.pause()


# -- where the cursor is -------------------------------------------------------------------


async def test_opens_live_at_the_head(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        head = demo_app.store.head_position()
        assert demo_app.cursor.position == head == demo_app.cursor.head
        assert "LIVE" in text_of(demo_app, "#history-info")
        assert not demo_app.main.has_class("-past")
        assert demo_app.main.query_one(EventLog).cursor == head
        for title in ("Events", "Cart", "Projections", "History"):
            assert any(w.border_title == title for w in demo_app.main.query("*"))


async def test_stepping_and_jumping(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        head = demo_app.cursor.head
        await pilot.press("left")
        assert demo_app.cursor.position == head - 1
        await pilot.press("shift+left")
        assert demo_app.cursor.position == head - 1 - BIG_STEP
        await pilot.press("pageup")
        assert demo_app.cursor.position == head - 1 - 2 * BIG_STEP
        await pilot.press("right")
        assert demo_app.cursor.position == head - 2 * BIG_STEP
        await pilot.press("shift+right", "pagedown")
        assert demo_app.cursor.position == head
        await pilot.press("home")
        assert demo_app.cursor.position == 0
        await pilot.press("left")  # nothing before the empty world
        assert demo_app.cursor.position == 0
        await pilot.press("end")
        assert demo_app.cursor.position == head
        await pilot.press("right")  # nothing after the present
        assert demo_app.cursor.position == head


async def test_the_past_is_marked_across_the_screen(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("left")
        await settle(pilot)
        head = demo_app.cursor.head
        assert demo_app.main.has_class("-past")
        assert "PAST" in text_of(demo_app, "#history-info")
        banner = demo_app.main.query_one("#banner", Static)
        assert banner.display and "PAST" in str(banner.content) and "end" in str(banner.content)
        assert f"position {head - 1:,} of {head:,}" in text_of(demo_app, "#history-info")
        await pilot.press("end")
        await settle(pilot)
        assert not demo_app.main.has_class("-past")
        assert not demo_app.main.query_one("#banner", Static).display
        assert "LIVE" in text_of(demo_app, "#history-info")


async def test_history_keys_work_whichever_region_has_focus(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.main.query_one("#cart-lines", DataTable).focus()
        await pilot.press("home")
        assert demo_app.cursor.position == 0
        await pilot.press("tab")
        await pilot.press("end", "pageup")
        assert demo_app.cursor.position == demo_app.cursor.head - BIG_STEP


async def test_timestamp_at_the_cursor(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("home", "right")
        first = demo_app.store.get(1).recorded_at
        assert f"{first[:10]} {first[11:19]} UTC" in text_of(demo_app, "#history-info")
        await pilot.press("left")
        assert "before the first event" in text_of(demo_app, "#history-info")


async def test_panes_show_the_world_as_of_the_cursor(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        history = demo_app.history
        await pilot.press("g")
        await type_in(pilot, "1200")
        await pilot.press("enter")
        await settle(pilot)
        expected = history.projections_at(1200)
        figures = text_of(demo_app, "#projection-figures")
        assert f"Orders {expected.orders:,}" in figures
        assert f"Open {expected.carts_open:,}" in figures
        assert f"of which abandoned {expected.carts_abandoned:,}" in figures  # a subset of open
        cart = history.cart_at(demo_app.selected_cart, 1200).state
        assert sum(cart_lines(demo_app).values()) == cart.item_count


# -- go to -----------------------------------------------------------------------------------


async def test_go_to_a_position_a_time_and_refuse_nonsense(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        assert isinstance(demo_app.screen.query_one(Input), Input)
        await pilot.press(*"12", "left", "left", "right")  # the arrows edit the text here
        assert demo_app.cursor.position == demo_app.cursor.head
        await pilot.press("enter")
        await settle(pilot)
        assert demo_app.cursor.position == 12
        await pilot.press("g")
        await type_in(pilot, "2026-01-06T14:00Z")
        await pilot.press("enter")
        await settle(pilot)
        assert demo_app.cursor.position == demo_app.store.position_at_time(
            "2026-01-06T14:00:00.000000Z")
        at = demo_app.cursor.position
        await pilot.press("g")
        await type_in(pilot, "yesterday")
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(demo_app.screen, MainScreen)  # the dialog stays open, says why
        await pilot.press("escape")
        assert demo_app.cursor.position == at
        await pilot.press("g")
        await type_in(pilot, "999999")
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(demo_app.screen, MainScreen)
        await pilot.press("escape")


async def test_a_window_too_small_for_every_region_says_so_once(demo_app):
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        assert not any("too small" in n.title.lower() for n in demo_app._notifications)
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        await pilot.resize_terminal(61, 20)  # still too small: not said again
        await settle(pilot)
        told = [str(n.message) for n in demo_app._notifications if n.title == "Window too small"]
        assert told == ["The window is 60x20: some regions have no room below 80x24. Make it "
                        "larger to see them all."]
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert len([n for n in demo_app._notifications if n.title == "Window too small"]) == 1


def test_resolve_position_explains_itself(demo_app):
    with pytest.raises(ValueError, match="outside the log"):
        demo_app.resolve_position("999999")
    with pytest.raises(ValueError, match="neither a position"):
        demo_app.resolve_position("soon")
    with pytest.raises(ValueError, match=r"'2026-01-08 18:00' has no timezone \(add Z for UTC\)"):
        demo_app.resolve_position("2026-01-08 18:00")
    with pytest.raises(ValueError, match=r"'2026-01-08' is a date without a time and a zone"):
        demo_app.resolve_position("2026-01-08")
    # Years 0 and 10000 in UTC: before every event, after every event.
    assert demo_app.resolve_position("0001-01-01T00:00+05:00") == 0
    assert demo_app.resolve_position("9999-12-31T23:59:59-05:00") == demo_app.cursor.head
    assert demo_app.resolve_position("2000-01-01T00:00Z") == 0
    assert demo_app.resolve_position(" 7 ") == 7
    assert demo_app.resolve_position("1,200") == 1200  # as the screen writes positions
    with pytest.raises(ValueError, match=rf"'1,20' is neither a position \(0..{demo_app.cursor.head:,}\)"):
        demo_app.resolve_position("1,20")


# -- mouse -----------------------------------------------------------------------------------


async def test_slider_and_rows_answer_the_mouse(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        slider = demo_app.main.query_one(HistorySlider)
        await pilot.click(HistorySlider, offset=(0, 0))
        await settle(pilot)
        assert demo_app.cursor.position == 0
        middle = slider.content_region.width // 2
        await pilot.click(HistorySlider, offset=(middle, 0))
        await settle(pilot)
        assert demo_app.cursor.position == slider.position_at(middle)
        assert 0 < demo_app.cursor.position < demo_app.cursor.head
        await pilot.mouse_down(HistorySlider, offset=(10, 0))  # drag the knob
        await pilot.hover(HistorySlider, offset=(30, 0))
        await settle(pilot)
        assert demo_app.cursor.position == slider.position_at(30)
        await pilot.mouse_up(HistorySlider, offset=(30, 0))
        await pilot.hover(HistorySlider, offset=(50, 0))  # released: hovering moves nothing
        await settle(pilot)
        assert demo_app.cursor.position == slider.position_at(30)
        log = demo_app.main.query_one(EventLog)
        row = log.row_at(int(log.scroll_y) + 1)
        await pilot.click(EventLog, offset=(5, 2))  # the border, then the first two rows
        await settle(pilot)
        assert demo_app.cursor.position == row.position


async def test_cart_pane_follows_the_cursor_until_pinned(demo_app):
    store = demo_app.store
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await type_in(pilot, "1200")
        await pilot.press("enter")
        await settle(pilot)
        assert store.get(1200).stream_id in text_of(demo_app, "#cart-header")
        other = next(r for r in store.read_all(1201) if r.stream_id != store.get(1200).stream_id)
        await pilot.press("f")  # pin the cart shown
        demo_app.move_cursor(other.position)
        await settle(pilot)
        assert store.get(1200).stream_id in text_of(demo_app, "#cart-header")
        await pilot.press("f")  # follow the cursor again
        await settle(pilot)
        assert other.stream_id in text_of(demo_app, "#cart-header")
        await pilot.press("home")
        await settle(pilot)
        assert "empty world" in text_of(demo_app, "#cart-header")


async def test_ctrl_arrows_stop_at_the_carts_first_event_and_say_so(demo_app):
    first = demo_app.store.get(1)
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("home", "right", "ctrl+left")
        await settle(pilot)
        assert demo_app.cursor.position == 1
        # The toast is drawn, with the cart id as plain text.
        await until(pilot, lambda: demo_app.screen.query("Toast"), what="a toast")
        await settle(pilot)
        toasts = [str(t.render()) for t in demo_app.screen.query("Toast")]
        assert any(f"{first.stream_id} has no event before position 1" in t for t in toasts)


# -- playback --------------------------------------------------------------------------------


async def test_play_pause_and_speed(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("home")
        await pilot.press("]", "]")
        assert demo_app.cursor.speed_label == "10x"
        await pilot.press("space")
        assert demo_app.cursor.playing
        await until(pilot, lambda: demo_app.cursor.position >= 3, what="playback to advance")
        await pilot.press("space")
        assert not demo_app.cursor.playing
        stopped_at = demo_app.cursor.position
        await pilot.pause(0.2)
        assert demo_app.cursor.position == stopped_at
        assert "paused 10x" in text_of(demo_app, "#history-info")
        await pilot.press("]")
        assert demo_app.cursor.speed_label == "10x"  # the fastest stays the fastest
        await pilot.press("[", "[", "[")
        assert demo_app.cursor.speed_label == "real time"  # the recorded gaps: the slow end
        await pilot.press("[")
        assert demo_app.cursor.speed_label == "real time"
        await pilot.press("]")
        assert demo_app.cursor.speed_label == "1x"


async def test_a_frame_that_comes_late_does_not_slow_playback_down(demo_app, monkeypatch):
    """Each frame is due a delay after the one before was due, not after it was drawn."""
    import cartui.tui.app as app_module

    clock = [1000.0]
    monkeypatch.setattr(app_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    delays = []
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("home", "]", "]")  # 10x: a frame every 0.05 s
        monkeypatch.setattr(demo_app, "set_timer", lambda delay, callback: delays.append(
            round(delay, 6)) or SimpleNamespace(stop=lambda: None))
        demo_app.action_toggle_play()
        for late_by in (0.02, 0.0, 0.5, 0.0):
            clock[0] = demo_app._frame_due + late_by
            demo_app._play_frame()
    # 20 ms late: the next comes 20 ms sooner; half a second behind: at once (a timer
    # must wait a little), with no burst after.
    assert delays == [0.05, 0.03, 0.05, 0.001, 0.05]


async def test_play_at_live_replays_from_the_start_and_says_so(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("space")
        assert demo_app.cursor.playing and demo_app.cursor.position <= 1
        assert "Replaying the log from its start: space pauses, end returns to LIVE." \
            in notices(demo_app)
        await pilot.press("end")
        assert demo_app.cursor.live and not demo_app.cursor.playing


async def test_playing_reaches_the_present_and_goes_live(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("left", "left", "left", "]", "]", "space")
        await until(pilot, lambda: demo_app.cursor.live, what="playback to reach the head")
        assert not demo_app.cursor.playing


async def test_real_time_replays_recorded_gaps(demo_app):
    demo_app.cursor.speed_index = 0  # real time, the slow end
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        # The demo's shortest gap between two events is a few milliseconds: played as recorded.
        rows = list(demo_app.store.read_all(1))
        gap, position = min((parse_timestamp(b.recorded_at) - parse_timestamp(a.recorded_at),
                             a.position) for a, b in zip(rows, rows[1:]))
        assert gap.total_seconds() < 0.05
        demo_app.move_cursor(position)
        await pilot.press("space")
        await until(pilot, lambda: demo_app.cursor.position > position, timeout=0.5,
                    what="a gap of milliseconds to play at once")
        await pilot.press("space")
        # From position 0 there is no gap to replay (no time before the first event).
        demo_app.move_cursor(0)
        await pilot.press("space")
        await until(pilot, lambda: demo_app.cursor.position >= 1, timeout=0.5,
                    what="real time to play on from position 0")
        await pilot.press("space")


# -- editing at the present ------------------------------------------------------------------


async def test_new_cart_add_change_remove_check_out(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        head = demo_app.cursor.head
        await pilot.press("n")
        await pilot.press("tab", *"Ada", "enter")  # no id typed: the app makes one up
        await settle(pilot)
        assert demo_app.cursor.head == head + 1 and demo_app.cursor.live
        cart_id = demo_app.selected_cart
        assert demo_app.store.get(head + 1).stream_id == cart_id
        await pilot.press("a")
        await type_in(pilot, "espresso")
        await pilot.press("enter")
        await settle(pilot)
        assert cart_lines(demo_app) == {"COF-ESP-1KG": 1}
        await pilot.press("plus", "plus")
        await settle(pilot)
        assert cart_lines(demo_app) == {"COF-ESP-1KG": 3}
        await pilot.press("minus")
        await settle(pilot)
        assert cart_lines(demo_app) == {"COF-ESP-1KG": 2}
        await pilot.press("a")
        await type_in(pilot, "tent")
        await pilot.press("enter")
        await settle(pilot)
        assert cart_lines(demo_app) == {"COF-ESP-1KG": 2, "OUT-TNT-2P": 1}
        await pilot.press("delete")  # the line just added: the tent
        await settle(pilot)
        assert cart_lines(demo_app) == {"COF-ESP-1KG": 2}
        await pilot.press("o")
        await settle(pilot)
        state = demo_app.history.cart_at(cart_id).state
        assert state.status == "checked_out"
        assert "checked out" in text_of(demo_app, "#cart-header")
        assert f"{cart_id}: 2 items, 49.80" in notices(demo_app)  # the order it made
        assert demo_app.event_log.cursor == demo_app.cursor.head  # the new events, at the bottom


async def test_a_broken_rule_is_a_notification_and_appends_nothing(demo_app):
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n", "enter")
        await settle(pilot)
        head = demo_app.store.head_position()
        await pilot.press("o")  # an empty cart cannot be checked out
        await settle(pilot)
        assert demo_app.store.head_position() == head
        assert any("empty" in n for n in notices(demo_app))
        await pilot.press("minus")  # no line to change
        assert demo_app.store.head_position() == head


async def test_a_plus_at_the_same_time_as_another_apps_makes_two_more(demo_app):
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n", "enter", "a")
        await type_in(pilot, "espresso")
        await pilot.press("enter")
        await settle(pilot)
        head = demo_app.store.head_position()
        execute = demo_app.service.execute

        def beaten(command):  # another app's + lands first, from the same 1
            with EventStore(demo_app.store.path) as store:
                CartService(store, demo_app.catalog).change_quantity_by(
                    command.cart_id, command.sku, 1)
            return execute(command)
        demo_app.service.execute = beaten
        await pilot.press("plus")
        await settle(pilot)
        assert demo_app.store.head_position() == head + 2  # theirs and ours
        assert cart_lines(demo_app) == {"COF-ESP-1KG": 3}


async def test_quantity_below_one_is_refused_with_the_domain_reason(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("n", "enter")
        await pilot.press("a")
        await type_in(pilot, "espresso")
        await pilot.press("enter")
        await settle(pilot)
        head = demo_app.store.head_position()
        await pilot.press("minus")
        await settle(pilot)
        assert demo_app.store.head_position() == head
        assert "quantity must be a whole number from 1 to 99, got 0: del removes the line" \
            in notices(demo_app)
        cart_id = demo_app.selected_cart
        demo_app.run_command(lambda: demo_app.service.change_quantity(cart_id, "COF-ESP-1KG", 99))
        await settle(pilot)
        head = demo_app.store.head_position()
        await pilot.press("plus")  # the other end: no hint, there is nothing else to do
        await settle(pilot)
        assert demo_app.store.head_position() == head
        assert "quantity must be a whole number from 1 to 99, got 100" in notices(demo_app)
        demo_app.run_command(lambda: demo_app.service.check_out(cart_id))
        await settle(pilot)
        head = demo_app.store.head_position()
        await pilot.press("plus")  # closed: that is the reason, whatever the quantity
        await settle(pilot)
        assert demo_app.store.head_position() == head
        assert notices(demo_app)[-1] == f"cart {cart_id!r} is checked out and accepts nothing more"


async def test_edits_are_refused_in_the_past_and_say_how_to_return(demo_app):
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        head = demo_app.store.head_position()
        await pilot.press("left")
        for key in ("a", "n", "o", "plus", "minus", "delete"):
            demo_app.clear_notifications()
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(demo_app.screen, MainScreen), key  # no dialog opened
            said = notices(demo_app)
            assert len(said) == 1 and "past" in said[0] and "end" in said[0], key
        assert demo_app.store.head_position() == head


@pytest.mark.parametrize("failure, told", [
    (ConcurrencyError("stream moved on"), "kept changing this cart"),
    (StoreBusy("the database stayed locked"), "Another process is writing"),
    (StoreError("cannot write to try.db: attempt to write a readonly database"), "readonly"),
])
async def test_a_write_that_fails_tells_the_user_and_loses_nothing(demo_app, monkeypatch,
                                                                    failure, told):
    def fail(*args, **kwargs):
        raise failure
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(demo_app.service, "check_out", fail)
        head = demo_app.store.head_position()
        await pilot.press("o")
        await settle(pilot)
        assert demo_app.store.head_position() == head
        assert any(told in n and "Nothing was" in n for n in notices(demo_app))


async def test_an_edit_while_another_process_writes_is_refused_without_a_long_freeze_and_lands_after(
        demo_app, demo_db):
    other = sqlite3.connect(demo_db, isolation_level=None)  # an import's, say
    try:
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
            await settle(pilot)
            # The screen is frozen while an edit waits for the lock: not for 5 s.
            assert demo_app.store.conn.execute("PRAGMA busy_timeout").fetchone()[0] <= 1000
            head = demo_app.store.head_position()
            await pilot.press("n", "enter")
            await settle(pilot)
            assert demo_app.store.head_position() == head
            assert any("Another process is writing" in n and "Nothing was lost" in n
                       for n in notices(demo_app))
            other.execute("ROLLBACK")
            await pilot.press("n", "enter")
            await settle(pilot)
            assert demo_app.store.head_position() == head + 1
    finally:
        other.close()


async def test_a_database_found_unreadable_ends_the_app_quietly_for_the_cli_to_say(
        demo_app, monkeypatch):
    # A page scribbled over shows only when a read reaches it: here, stepping back.
    def malformed(*args, **kwargs):
        raise sqlite3.DatabaseError("database disk image is malformed")
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(demo_app.history, "projections_at", malformed)
        await pilot.press("left")
        await settle(pilot)
        assert not demo_app.is_running
    assert str(demo_app.database_error) == "database disk image is malformed"
    assert demo_app._exit_renderables == []  # no traceback printed on the way out


async def test_the_panes_follow_after_a_dialog_closes_with_their_update_pending(demo_app):
    """Events from another process while a dialog is open schedule the panes' update;
    Textual drops what was queued on a dialog closed before its next paint."""
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        dialog = demo_app.screen
        dialog._invoke_later = lambda callback, sender: None  # closing: what it gets is lost
        demo_app.move_cursor(1)  # as a new head would: the panes are due an update
        await pilot.press("escape")
        await settle(pilot)
        assert demo_app.screen is demo_app.main and not demo_app._panes_pending
        assert "Orders 0" in text_of(demo_app, "#projection-figures")  # as of position 1
        await pilot.press("end")
        await settle(pilot)
        assert "Orders 0" not in text_of(demo_app, "#projection-figures")  # and it goes on


async def test_a_database_deleted_under_the_app_ends_it_for_the_cli_to_say(cartui_app, tmp_path):
    """An edit after that would go into a file no path leads to: lost."""
    db = tmp_path / "gone.db"
    app = cartui_app(db, poll_interval=0.05)
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await settle(pilot)
            db.unlink()
            await until(pilot, lambda: not app.is_running, what="the poll to notice")
    finally:
        app.store.close()
    assert str(app.database_error) == (f"{db} was deleted or replaced by another program while "
                                       "cartui had it open: open it again")


# -- what-if ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(120, 35), (80, 24)])
async def test_the_what_if_banner_fits_and_writes_positions_as_the_screen_does(demo_app, size):
    async with demo_app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("left", "x")
        await settle(pilot)
        banner = demo_app.main.query_one("#banner", Static)
        text = str(banner.content)
        assert f"WHAT-IF without event {demo_app.cursor.head - 1:,} · x restores" in text
        assert len(text) <= banner.content_region.width  # nothing cut


async def test_what_if_skip_recomputes_without_touching_the_store(demo_app):
    store = demo_app.store
    checkout = max(r.position for r in store.read_all(1) if r.type == "CartCheckedOut")
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.move_cursor(checkout)
        await settle(pilot)
        orders = demo_app.history.projections_at(checkout).orders
        assert f"Orders {orders:,}" in text_of(demo_app, "#projection-figures")
        head = store.head_position()
        await pilot.press("x")
        await settle(pilot)
        assert demo_app.main.has_class("-what-if")
        assert "WHAT-IF" in str(demo_app.main.query_one("#banner", Static).content)
        assert f"Orders {orders - 1:,}" in text_of(demo_app, "#projection-figures")
        assert store.head_position() == head
        await pilot.press("a")  # no editing while the screen shows a history that is not stored
        assert isinstance(demo_app.screen, MainScreen)
        assert any("what-if" in n for n in notices(demo_app))
        demo_app.move_cursor(head)  # at the head, but not the present as stored: not LIVE
        await settle(pilot)
        assert text_of(demo_app, "#history-info").startswith(" WHAT-IF: 1 skipped  position")
        demo_app.move_cursor(checkout)
        await settle(pilot)
        await pilot.press("x")  # restore
        await settle(pilot)
        assert not demo_app.main.has_class("-what-if")
        assert f"Orders {orders:,}" in text_of(demo_app, "#projection-figures")
        await pilot.press("x", "end")  # end clears the what-if
        await settle(pilot)
        assert demo_app.cursor.live and not demo_app.cursor.what_if
        assert text_of(demo_app, "#history-info").startswith(" LIVE ")
        assert not demo_app.main.has_class("-what-if")


async def test_a_skipped_row_stays_in_line_with_the_others(demo_app):
    """In a what-if every row keeps a column for the tag, so the skipped row's
    position, time and type sit under everyone else's."""
    checkout = max(r.position for r in demo_app.store.read_all(1) if r.type == "CartCheckedOut")
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.move_cursor(checkout)
        await pilot.press("x")
        await settle(pilot)
        log = demo_app.main.query_one(EventLog)
        rows = [text for y in range(log.size.height) if (text := log.render_line(y).text).strip()]
        assert [text[:9] for text in rows if text.startswith("skip")] == [f"skip {checkout}"]
        assert len(rows) > 5 and all(  # the demo's positions have four digits
            text[:5] in ("skip ", "     ") and text[5:9].isdigit() and text[9] == " " for text in rows)


async def test_event_detail_in_a_what_if_shows_the_what_if_world(demo_app):
    """Skip a cart's creation: its later events open as left out, changing nothing."""
    store = demo_app.store
    rows = list(store.read_all(1))
    created = next(r for r in reversed(rows) if r.type == "CartCreated"
                   and sum(o.stream_id == r.stream_id for o in rows) >= 3)
    later = max(r.position for r in rows if r.stream_id == created.stream_id)
    real = demo_app.history.change_at(later)
    assert real.cart_before.version > 0 and not real.in_what_if
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.move_cursor(created.position)
        await pilot.press("x")
        demo_app.move_cursor(later)
        await settle(pilot)
        assert text_of(demo_app, "#cart-header").endswith(
            "\nCartCreated skipped in this what-if")
        await pilot.press("enter")
        await settle(pilot)
        detail = demo_app.screen
        assert type(detail).__name__ == "EventDetailScreen"
        change = detail.change
        assert change.in_what_if and change.left_out.startswith(
            f"left out in this what-if: cart '{created.stream_id}' does not exist")
        assert change.cart_before == change.cart_after and change.cart_after.version == 0
        assert change.projection_deltas() == {}  # "No projection figure moved."
        shown = "\n".join(str(s.render()) for s in detail.query("Static"))
        assert "in the what-if" in shown and "Left out in this what-if" in shown


async def test_enter_and_x_on_an_empty_log_say_how_to_begin(empty_app):
    async with empty_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        for key in ("enter", "x"):
            empty_app.clear_notifications()
            await pilot.press(key)
            assert notices(empty_app) == ["The log is empty: n creates a cart."]


async def test_a_refusal_repeated_while_it_shows_is_shown_once(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("left")  # the past: edits are refused
        await settle(pilot)
        await pilot.press("a", "n", "o", "a")
        said = notices(demo_app)
        assert len(said) == 1 and said[0].startswith("You are looking at the past")
        demo_app.clear_notifications()
        await pilot.press("a")  # gone: said again
        assert notices(demo_app) == said


async def test_a_database_the_app_may_not_write_says_so_before_an_edit(demo_app, monkeypatch):
    monkeypatch.setattr(EventStore, "may_write", lambda store: False)
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        assert "LIVE" in text_of(demo_app, "#history-info")
        assert "read-only" in text_of(demo_app, "#history-info")
        for key in ("n", "a", "o"):
            demo_app.clear_notifications()
            await pilot.press(key)
            assert len(demo_app.screen_stack) == 1  # no dialog to fill in first
            assert notices(demo_app) == [READ_ONLY], key
        for action in ("rebuild_projections", "import"):
            demo_app.clear_notifications()
            await demo_app.run_action(action)
            await pilot.pause()
            assert len(demo_app.screen_stack) == 1, action
            assert notices(demo_app) == [READ_ONLY], action
        monkeypatch.setattr(EventStore, "may_write", lambda store: True)  # writable again
        await pilot.press("n")
        assert type(demo_app.screen).__name__ == "NewCartScreen"
        assert "read-only" not in text_of(demo_app, "#history-info")


async def test_enter_in_the_cart_pane_shows_the_detail_also_without_lines(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.main.query_one("#cart-lines", DataTable).focus()
        await pilot.press("n", "enter")  # a new cart: no line yet
        await settle(pilot)
        assert demo_app.main.query_one("#cart-lines", DataTable).row_count == 0
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "EventDetailScreen"
        assert pilot.app.screen.change.event.type == "CartCreated"


async def test_skipping_at_position_zero_is_explained(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("home", "x")
        assert not demo_app.cursor.what_if
        assert AT_THE_EMPTY_WORLD in notices(demo_app)


# -- dialogs ---------------------------------------------------------------------------------


async def test_product_picker_adds_the_chosen_quantity(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("n", "enter")
        await settle(pilot)
        await pilot.press("a")
        assert not isinstance(demo_app.screen, MainScreen)
        await type_in(pilot, "matcha")
        await pilot.press("tab", "tab")
        quantity = demo_app.screen.query_one("#quantity", Input)
        quantity.value = "3"
        await pilot.press("enter")
        await settle(pilot)
        assert cart_lines(demo_app) == {"TEA-MAT-030": 3}


async def test_adding_to_a_checked_out_cart_is_refused_before_choosing(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        cart = demo_app.store.get(demo_app.cursor.head).stream_id  # the demo ends on a checkout
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(demo_app.screen, MainScreen)  # no product picker to fill in first
        assert f"cart '{cart}' is checked out and accepts nothing more" in notices(demo_app)


async def test_event_detail_opens_on_enter(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert type(demo_app.screen).__name__ == "EventDetailScreen"
        await pilot.press("escape")
        await pilot.press("home", "enter")  # no event at position 0
        assert isinstance(demo_app.screen, MainScreen)


@pytest.mark.parametrize("key", ["question_mark", "f1"])
async def test_help_lists_every_key(demo_app, key):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert type(demo_app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert isinstance(demo_app.screen, MainScreen)
    sections = dict(demo_app.help_sections())
    described = {keys for entries in sections.values() for keys, _ in entries}
    for expected in ("left", "shift+left / pageup", "home", "end", "g", "space", "[", "]", "x",
                     "ctrl+left", "n", "c", "a", "+", "-", "delete / backspace", "o", "enter",
                     "/", "tab", "shift+tab", "? / f1", "ctrl+p", "q"):
        assert expected in described, expected


async def test_cart_picker_chooses_the_cart_to_show(demo_app):
    other = demo_app.store.get(1).stream_id
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        assert demo_app.selected_cart != other
        await pilot.press("c")
        await demo_app.workers.wait_for_complete()  # the cart list loads in a worker
        await settle(pilot)
        await type_in(pilot, other)
        await pilot.press("enter")
        await settle(pilot)
        assert demo_app.selected_cart == other
        assert other in text_of(demo_app, "#cart-header")


async def test_cart_picker_shows_a_dash_for_no_customer_and_an_empty_one(demo_app):
    for cart_id, customer in [("cart-nobody", None), ("cart-blank", "")]:
        demo_app.service.create_cart(cart_id, customer)
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        picker = pilot.app.screen
        carts = {cart.cart_id: cart for cart in picker.carts}
        for cart_id in ("cart-nobody", "cart-blank"):
            assert str(picker.cells(carts[cart_id], [])[1]) == "—"


async def test_a_dialog_opened_while_the_cart_list_loads_stays_on_top_alone(demo_app,
                                                                            monkeypatch):
    """c then a before the cart list has loaded (it catches up after other programs'
    appends): the Add dialog opens at once, the cart list later. The user has moved
    on, so the picker does not cover the dialog (its choice would change the cart
    the dialog does not name), and the loading bar goes."""
    a_pressed = threading.Event()
    cart_summaries = History.cart_summaries

    def catching_up_until_a_is_pressed(history, progress=None):
        progress(1, 2)
        a_pressed.wait(timeout=10)
        progress(2, 2)
        return cart_summaries(history, progress)
    monkeypatch.setattr(History, "cart_summaries", catching_up_until_a_is_pressed)
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.run_command(lambda: demo_app.service.create_cart("cart-open"))
        await settle(pilot)
        await pilot.press("c", "a")
        a_pressed.set()
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        assert [type(screen).__name__ for screen in demo_app.screen_stack[1:]] == [
            "ProductPickerScreen"]
        assert not demo_app.main.query_one(TaskBar).has_class("-running")


async def test_filter_the_event_stream_by_cart(demo_app):
    cart = demo_app.store.get(1).stream_id
    mine = [r.position for r in demo_app.store.read_all(1, stream_id=cart)]
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_in(pilot, f"cart:{cart}")
        await pilot.press("enter")
        log = demo_app.main.query_one(EventLog)
        await until(pilot, lambda: log.matches is not None, what="the filter scan")
        assert log.matches == mine
        assert [log.row_at(i).stream_id for i in range(log.row_count)] == [cart] * len(mine)
        await pilot.press("home", "right")  # the arrows walk the rows shown
        assert demo_app.cursor.position == mine[0]
        await pilot.press("right")
        assert demo_app.cursor.position == mine[1]
        await pilot.press("left")
        assert demo_app.cursor.position == mine[0]
        await pilot.press("end", "left")
        assert demo_app.cursor.position == mine[-1]
        await pilot.press("right")  # the cart's last event: the key says why it stays
        assert demo_app.cursor.position == mine[-1]
        assert ("No later event matches the filter: / changes or clears it, end returns to LIVE."
                in notices(demo_app))
        await pilot.press("end", "right")  # past the last match: not a step back to it
        assert demo_app.cursor.live
        assert "No later event matches the filter: / changes or clears it." in notices(demo_app)
        await pilot.press("slash")
        await settle(pilot)
        demo_app.screen.query_one(Input).value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert log.matches is None and log.row_count == demo_app.cursor.head


async def test_filter_by_type_and_text(demo_app):
    log = None
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        log = demo_app.main.query_one(EventLog)
        demo_app.apply_filter("type:CartCheckedOut")
        await until(pilot, lambda: log.matches is not None, what="the filter scan")
        assert {log.row_at(i).type for i in range(log.row_count)} == {"CartCheckedOut"}
        demo_app.apply_filter("matcha")
        await until(pilot, lambda: log.matches is not None and log.row_count
                    and demo_app.event_filter.text == "matcha"
                    and "Matcha" in log.summary(log.row_at(0)), what="the text filter")


async def test_a_filter_after_one_that_matched_nothing_shows_the_cursor(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        log = demo_app.main.query_one(EventLog)
        demo_app.move_cursor(demo_app.cursor.head // 2)
        await settle(pilot)
        demo_app.apply_filter("zzz-nothing")
        await until(pilot, lambda: log.matches == [], what="the empty filter")
        demo_app.apply_filter("type:ItemAdded")
        await until(pilot, lambda: log.matches, what="the filter scan")
        await settle(pilot)
        top, height = round(log.scroll_y), log.scrollable_content_region.height
        assert top > 0 and top <= log.cursor_index() < top + height


async def test_a_cart_filter_without_a_whole_id_says_what_it_takes(demo_app):
    cart = demo_app.store.get(1).stream_id
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        log = demo_app.event_log
        demo_app.apply_filter(f"cart:{cart[:-2].upper()}")
        await until(pilot, lambda: log.matches == [], what="the cart filter")
        await settle(pilot)
        assert log.render_line(0).text.rstrip() == (
            "No cart has exactly this id: / again, plain text finds part of one.")
        demo_app.apply_filter(cart[-6:].upper())  # plain text: part of an id, any case
        await until(pilot, lambda: log.matches, what="the text filter")
        assert log.row_at(0).stream_id == cart


async def test_ctrl_arrows_walk_the_selected_cart(demo_app):
    cart = demo_app.selected_cart
    mine = [r.position for r in demo_app.store.read_all(1, stream_id=cart)]
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+left")
        assert demo_app.cursor.position == mine[-2]
        await pilot.press("ctrl+left")
        assert demo_app.cursor.position == mine[-3]
        await pilot.press("ctrl+right")
        assert demo_app.cursor.position == mine[-2]


async def test_export_runs_in_a_worker(demo_app, tmp_path):
    target = tmp_path / "events.jsonl"
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.export_events(str(target))
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        lines = target.read_bytes().splitlines()
        assert len(lines) == demo_app.store.head_position()
        assert lines[0] == demo_app.store.get(1).export_line()
        assert any("Exported" in n for n in notices(demo_app))


async def test_export_from_the_palette_asks_for_a_file(demo_app, tmp_path):
    target = tmp_path / "out.jsonl"
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        export = next(c for name, _, c in demo_app.palette_commands() if name == "Export events…")
        export()
        await type_in(pilot, str(target))
        await pilot.press("enter")
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        assert len(target.read_bytes().splitlines()) == demo_app.cursor.head


@pytest.mark.parametrize("suffix", ["", "-wal"])
async def test_export_never_writes_over_the_database(demo_app, demo_db, suffix):
    before = demo_db.read_bytes()
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        export = next(c for name, _, c in demo_app.palette_commands() if name == "Export events…")
        export()
        await type_in(pilot, f"{demo_db}{suffix}")
        await pilot.press("enter", "enter")  # an existing file asks for a second enter
        await settle(pilot)
        assert "is the database being exported: choose another file" in str(
            pilot.app.screen.query_one("ErrorLine").render())
        await pilot.press("escape")
        demo_app.export_events(str(demo_db))  # and the worker refuses it too
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        assert any("Export failed" in n and "database being exported" in n
                   for n in notices(demo_app))
    assert demo_db.read_bytes()[:100] == before[:100] and demo_app.store.head_position() > 0


def palette_command(app, name: str):
    return next(command for title, _, command in app.palette_commands() if title == name)


async def test_import_from_the_palette_appends_a_file_in_a_worker(demo_db, empty_app, tmp_path):
    exported = tmp_path / "demo.jsonl"
    with EventStore(demo_db) as store:
        lines = export_file(store, exported)
    async with empty_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        palette_command(empty_app, "Import events…")()
        await type_in(pilot, str(exported))
        await pilot.press("enter")
        await empty_app.workers.wait_for_complete()
        await settle(pilot)
        assert empty_app.store.head_position() == lines
        assert empty_app.cursor.head == lines and empty_app.cursor.live  # shown at once
        assert f"Imported {lines:,} events from {exported} (positions 1..{lines:,})" \
            in notices(empty_app)
        assert "Orders" in text_of(empty_app, "#projection-figures")
        empty_app.import_events(str(exported))  # the same file again changes nothing
        await empty_app.workers.wait_for_complete()
        await settle(pilot)
        assert empty_app.store.head_position() == lines
        assert f"Nothing to import from {exported}: its {lines:,} events are already stored " \
            "or repeated" in notices(empty_app)


async def test_import_of_a_bad_file_names_the_line_and_appends_nothing(demo_app, tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = demo_app.store.get(1).export_line().replace(b'"cart-', b'"other-')
    bad.write_bytes(good + b"\n" + b"{not json\n")
    head = demo_app.store.head_position()
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.import_events(str(bad))
        # Busy from the call on, before the worker's thread has even started.
        assert demo_app._importing == str(bad)
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        assert demo_app.store.head_position() == head
        assert any(n.startswith(f"Nothing imported: {bad} line 2: not valid JSON")
                   for n in notices(demo_app))


async def test_import_dialog_refuses_what_it_cannot_read(demo_app, tmp_path):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        palette_command(demo_app, "Import events…")()
        missing = tmp_path / "nope.jsonl"
        for typed, why in [("", "type the path of the file to read"),
                           (str(tmp_path), f"{tmp_path} is a folder: choose a file in it"),
                           (str(missing), f"{missing} does not exist")]:
            await type_in(pilot, typed)
            await pilot.press("enter")
            await settle(pilot)
            assert str(pilot.app.screen.query_one("ErrorLine").render()) == why
        await pilot.press("escape")
        assert pilot.app.screen is demo_app.main


async def test_an_import_is_refused_in_the_past_and_in_a_what_if_like_an_edit(demo_app):
    """The banner says read-only there: the import dialog does not open."""
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("left")
        await settle(pilot)
        palette_command(demo_app, "Import events…")()
        await settle(pilot)
        assert pilot.app.screen is demo_app.main
        assert any("edits and imports only happen at the present" in n for n in notices(demo_app))
        await pilot.press("end", "x")
        await settle(pilot)
        palette_command(demo_app, "Import events…")()
        await settle(pilot)
        assert pilot.app.screen is demo_app.main
        assert any("so edits and imports are off" in n for n in notices(demo_app))


async def test_edits_wait_while_an_import_appends(demo_app):
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        head = demo_app.store.head_position()
        demo_app._importing = "big.jsonl"  # as an import marks its run
        await pilot.press("n")
        await settle(pilot)
        assert pilot.app.screen is demo_app.main  # no dialog: nothing could be saved now
        assert "An import of big.jsonl is appending: edit again once it ends." in notices(demo_app)
        palette_command(demo_app, "Import events…")()
        await settle(pilot)
        assert pilot.app.screen is demo_app.main
        assert "An import of big.jsonl is running: one at a time." in notices(demo_app)
        demo_app._importing = None
        await pilot.press("n", "enter")
        await settle(pilot)
        assert demo_app.store.head_position() == head + 1


async def test_the_activity_peak_is_written_like_every_other_figure(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        busy = Projections(as_of_position=508_671, activity=(("2026-01-05T10:00:00Z", 508_671),))
        demo_app.projections_pane.show(busy, {})
        await settle(pilot)
        assert "events per hour, peak 508,671" in text_of(demo_app, "#activity-label")


async def test_the_activity_sparkline_draws_nothing_before_the_first_event(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        activity = demo_app.main.query_one("#activity", ActivitySparkline)

        def drawn() -> str:
            console = Console(width=activity.size.width, color_system=None)
            return "".join(segment.text for segment in console.render(activity.render()))

        assert "█" in drawn()  # the busiest hour of the demo week
        await pilot.press("home")
        await settle(pilot)
        assert drawn().strip() == "" and "no events yet" in text_of(demo_app, "#activity-label")


async def test_hovering_top_products_explains_its_columns(demo_app):
    """"bought" can be more than "added" (a quantity change adds no ItemAdded):
    the table says what each column counts when the mouse rests on it."""
    async with demo_app.run_test(size=(120, 35), tooltips=True) as pilot:
        await settle(pilot)
        await pilot.hover("#top-products")
        tooltip = demo_app.screen.query_one("#textual-tooltip")
        await until(pilot, lambda: tooltip.display, what="the tooltip")
        shown = str(tooltip.render())
        assert "added    the quantities of ItemAdded" in shown
        assert "bought   the quantity at checkout" in shown


# -- the stored projections -----------------------------------------------------------------


@pytest.fixture
def demo_without_checkpoints(tmp_path):
    """The demo history as a bare log: no projection has met any event yet."""
    path = tmp_path / "bare.db"
    with EventStore(path) as store:
        write_demo(store, load_catalog())
    return path


async def test_projections_trailing_the_head_catch_up_in_a_worker(demo_without_checkpoints,
                                                                    cartui_app):
    app = cartui_app(demo_without_checkpoints)
    assert max(p.lag for p in app.history.lag()) == app.store.head_position()
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert all(p.lag == 0 for p in app.history.lag())
        assert not app.projections_pane.has_class("-catching-up")
        orders = app.history.projections_at(app.cursor.head).orders
        assert f"Orders {orders:,}" in text_of(app, "#projection-figures")
    app.store.close()


async def test_while_catching_up_far_behind_the_panes_wait_instead_of_freezing(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        lag = demo_app.history.lag()
        demo_app._projections_tip = 0  # as if a catch-up had only just started
        demo_app.projections_pane.show_catch_up(lag, done=0, total=lag[0].head)
        demo_app.refresh_view()
        await settle(pilot)
        assert "appear as soon as the checkpoints reach it" in text_of(
            demo_app, "#projection-figures")
        label = text_of(demo_app, "#catch-up-label")
        assert "Catching up" in label and f"of {lag[0].head:,}" in label
        await pilot.press("home", "right")  # near a checkpoint: figures at once
        await settle(pilot)
        assert "Open 1" in text_of(demo_app, "#projection-figures")


async def test_each_projection_catching_up_takes_one_line_on_a_narrow_terminal(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lag = [ProjectionLag(p.projection, 152_551, 302_551) for p in demo_app.history.lag()]
        demo_app.projections_pane.show_catch_up(lag, done=50_000, total=150_000)
        await settle(pilot)
        label = demo_app.main.query_one("#catch-up-label", Static)
        assert label.size.height == 1 + len(lag)  # the heading, then a line each: none wrapped
        assert "carts      152,551 of 302,551" in text_of(demo_app, "#catch-up-label")


async def test_a_read_only_database_lists_its_carts_and_says_why_it_cannot_rebuild(
        demo_app, monkeypatch):
    from cartui.projections.projector import Projector

    def read_only(self, progress=None):
        error = sqlite3.OperationalError("attempt to write a readonly database")
        error.sqlite_errorname = "SQLITE_READONLY"
        raise error
    monkeypatch.setattr(Projector, "catch_up", read_only)
    monkeypatch.setattr(Projector, "rebuild", read_only)
    async with demo_app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("c")  # the cart list needs the projections caught up: it loads instead
        await until(pilot, lambda: type(demo_app.screen).__name__ == "CartPickerScreen",
                    what="the cart picker")
        await pilot.press("escape")
        palette_command(demo_app, "Rebuild projections")()
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        assert demo_app.is_running
        assert ("The projections could not be brought up to date: the database is read-only "
                "to cartui" in notices(demo_app))


async def test_rebuild_from_the_palette_list(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        rebuild = next(c for name, _, c in demo_app.palette_commands()
                       if name == "Rebuild projections")
        rebuild()
        assert demo_app.projections_pane.has_class("-catching-up")
        assert "Rebuilding" in text_of(demo_app, "#catch-up-label")
        # The tables read meanwhile stay until the new ones are swapped in: figures stay.
        assert demo_app._projections_within_reach(demo_app.cursor.head)
        await demo_app.workers.wait_for_complete()
        await settle(pilot)
        assert not demo_app.projections_pane.has_class("-catching-up")
        assert all(p.lag == 0 for p in demo_app.history.lag())
        assert any(f"{demo_app.cursor.head:,} events folded" in n for n in notices(demo_app))


# -- live updates ----------------------------------------------------------------------------


APPEND_FROM_ANOTHER_PROCESS = """
import sys
from cartui.demo import write_demo
from cartui.importer import export_file
from cartui.resources import load_catalog
from cartui.service import CartService
from cartui.store import EventStore
with EventStore(sys.argv[1]) as store:
    CartService(store, load_catalog()).create_cart("cart-from-elsewhere", "Grace")
"""


async def test_follows_events_appended_by_another_process(demo_app, demo_db):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        head = demo_app.cursor.head
        subprocess.run([sys.executable, "-c", APPEND_FROM_ANOTHER_PROCESS, str(demo_db)],
                       check=True)
        await until(pilot, lambda: demo_app.cursor.head == head + 1, timeout=3,
                    what="the other process's event")
        assert demo_app.cursor.live and demo_app.cursor.position == head + 1
        log = demo_app.main.query_one(EventLog)
        assert log.row_at(log.row_count - 1).stream_id == "cart-from-elsewhere"


async def test_the_past_stays_put_while_another_thread_appends(demo_app, demo_db):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press("left")
        position, head = demo_app.cursor.position, demo_app.cursor.head

        def append() -> None:
            with EventStore(demo_db) as store:
                CartService(store, load_catalog()).create_cart("cart-thread", None)
        writer = threading.Thread(target=append)
        writer.start()
        writer.join()
        await until(pilot, lambda: demo_app.cursor.head == head + 1, timeout=3,
                    what="the thread's event")
        assert demo_app.cursor.position == position and not demo_app.cursor.live


async def test_a_filtered_log_takes_in_matching_events_as_they_arrive(demo_app, demo_db):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        log = demo_app.main.query_one(EventLog)
        demo_app.apply_filter("cart:cart-later")
        await until(pilot, lambda: log.matches is not None, what="the filter scan")
        assert log.row_count == 0
        head = demo_app.cursor.head
        with EventStore(demo_db) as other:
            service = CartService(other, load_catalog())
            service.create_cart("cart-other", None)
            service.create_cart("cart-later", "Ada")
        await until(pilot, lambda: demo_app.cursor.head == head + 2, what="the new events")
        assert log.matches == [head + 2]


# -- rows another program wrote --------------------------------------------------------------


async def test_rows_another_program_wrote_are_shown_and_played_over(demo_db, cartui_app):
    """Text that is not UTF-8, a recorded_at that is no time, a BLOB cart id: the log
    shows them, playback passes them, their detail opens (tests/test_foreign_rows.py)."""
    metadata = '{"event_id":"%s","correlation_id":null,"causation_id":null}'
    with sqlite3.connect(demo_db, isolation_level=None) as other:
        head = other.execute("SELECT MAX(position) FROM events").fetchone()[0]
        other.execute("INSERT INTO events VALUES (?, 'cart-x', 1, 'CartCreated', 1, "
                      "CAST(x'7b22637573746f6d6572223a22636166e9227d' AS TEXT), ?, 'garbage')",
                      (head + 1, metadata % "f1"))
        other.execute("INSERT INTO events VALUES (?, x'636172742d7a', 1, 'CartCreated', 1, "
                      "'{\"customer\":null}', ?, '2026-01-12T08:00:00.000000Z')",
                      (head + 2, metadata % "f2"))
        other.execute("INSERT INTO events VALUES (?, 'cart-z', 2, 'ItemGiftWrapped', 1, '{}', ?, "
                      "'2026-01-12T08:00:01.000000Z')", (head + 3, metadata % "f3"))
    other.close()
    app = cartui_app(demo_db)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        log = app.main.query_one(EventLog)
        bottom = log.row_count - 1 - int(log.scroll_y)
        garbage, blob, unknown = (log.render_line(bottom - n).text for n in (2, 1, 0))
        assert garbage.startswith(f"{head + 1} garbage        cart-x")  # in the time's place
        assert "cannot decode" in garbage
        assert "cart-z" in blob and "no customer" in blob
        # A type cartui does not know is cut to its column: the summaries line up.
        assert "ItemGiftW… cannot decode" in unknown
        assert unknown.index("cannot decode") == garbage.index("cannot decode")
        app.move_cursor(head - 1)
        await pilot.press("space")  # plays over the row without a time
        await until(pilot, lambda: app.cursor.live, what="playback to reach the head")
        app.move_cursor(head + 1)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "EventDetailScreen"


# -- text from data is literal ---------------------------------------------------------------


async def test_markup_in_data_is_shown_literally(empty_app):
    async with empty_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        assert "No cart yet" in text_of(empty_app, "#cart-header")
        log = empty_app.main.query_one(EventLog)
        assert log.render_line(0).text.rstrip() == (
            "No events yet: n creates a cart, ^p imports a file.")
        empty_app.run_command(lambda: empty_app.service.create_cart("cart-m", MARKUP))
        await settle(pilot)
        assert MARKUP in text_of(empty_app, "#cart-header")
        log = empty_app.main.query_one(EventLog)
        rendered = log.render_line(log.row_count - 1 - int(log.scroll_y)).text
        assert f"for {MARKUP}" in rendered


async def test_control_characters_in_data_are_shown_escaped_never_sent(empty_db, cartui_app):
    """Rows another program wrote, with a terminal's clear-screen and bell in the
    customer, the product's name and the cart id: shown as \\x1b, never obeyed."""
    metadata = '{"event_id":"%s","correlation_id":null,"causation_id":null}'
    added = orjson.dumps({"sku": "TEA-EGR-100", "quantity": 1, "unit_price_cents": 500,
                          "name": "Tea\x07\x1b[2J"}).decode()
    with EventStore(empty_db):
        pass  # the schema
    with sqlite3.connect(empty_db, isolation_level=None) as other:
        other.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (1, "cart\x1b[2J", 1, "CartCreated", 1, '{"customer":"x\\u001b[2Jy"}', metadata % "c1",
             "2026-01-12T08:00:00.000000Z"),
            (2, "cart\x1b[2J", 2, "ItemAdded", 2, added, metadata % "c2",
             "2026-01-12T08:00:01.000000Z"),
            (3, "cart\x1b[2J", 3, "Oops\x1b[2J", 1, '{"a":"\x9b2J\x7f"}', metadata % "c3",
             "2026-01-12T08:00:02.000000Z")])
    other.close()
    app = cartui_app(empty_db)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        log = app.main.query_one(EventLog)
        created, item = (log.render_line(y).text for y in (0, 1))
        assert "cart\\x1b[2J" in created and "for x\\x1b[2Jy" in created
        assert "Tea\\x07\\x1b[2J" in item
        header = text_of(app, "#cart-header")
        assert "cart\\x1b[2J" in header and "x\\x1b[2Jy" in header
        line = str(app.cart_pane.table.get_row_at(0)[0])
        assert line == "Tea\\x07\\x1b[2J"
        shown = [created, item, header, line]
        await pilot.press("c")  # the cart picker
        await settle(pilot)
        picker = app.screen.query_one(DataTable)
        shown.append(" ".join(str(cell) for cell in picker.get_row_at(0)))
        assert "x\\x1b[2Jy" in shown[-1]
        await pilot.press("escape")
        app.move_cursor(2)
        await pilot.press("enter")  # the event in full
        await settle(pilot)
        shown.append("\n".join(str(s.render()) for s in app.screen.query("Static")))
        assert "Change to cart cart\\x1b[2J" in shown[-1] and "Tea\\x07\\x1b[2J" in shown[-1]
        await pilot.press("escape")
        app.move_cursor(3)  # a type of another program's, and raw C1 and DEL in its JSON
        await pilot.press("enter")
        await settle(pilot)
        shown.append(str(app.screen.dialog_title()))
        assert shown[-1] == "Event 3 · Oops\\x1b[2J"
        shown.append("\n".join(str(s.render()) for s in app.screen.query("Static")))
        assert "\\x9b2J\\x7f" in shown[-1]
        assert not any(c in text for text in shown for c in "\x07\x1b\x7f\x9b")


async def test_a_cart_id_of_wide_characters_keeps_the_columns_in_line(empty_app):
    """Emoji take two cells each: the cart column is measured in cells, not characters."""
    async with empty_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        for cart_id in ("cart-a", "🛒" * 10):
            empty_app.run_command(lambda c=cart_id: empty_app.service.create_cart(c))
            await settle(pilot)
        log = empty_app.main.query_one(EventLog)
        rows = [log.render_line(y).text for y in (0, 1)]
        assert "🛒" * 6 + "…" in rows[1]  # cut to the column's 14 cells
        assert [cell_len(row[:row.index("Created")]) for row in rows] == [35, 35]


async def test_a_long_customer_name_never_hides_the_cart_status(empty_app):
    async with empty_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        empty_app.run_command(lambda: empty_app.service.create_cart(
            "cart-l", "Maximilian Alexander von Habsburg-Lothringen III"))
        await settle(pilot)
        header = empty_app.main.query_one("#cart-header")
        first, second = (header.render_line(y).text.strip() for y in (0, 1))
        assert first.startswith("cart-l  Maximilian") and first.endswith("…")
        assert second == "open · version 1 · 1 event"


async def test_a_new_theme_recolours_the_footer_and_history_line(demo_app):
    def colours(selector: str) -> set:
        content = demo_app.main.query_one(selector, Static).content
        return {str(span.style) for span in content.spans}
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        keys, history = colours("#keys"), colours("#history-info")
        demo_app.theme = "textual-light"
        await settle(pilot)
        assert colours("#keys") != keys and colours("#history-info") != history


async def test_a_filter_that_looks_like_markup_is_shown_as_typed(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        demo_app.apply_filter(MARKUP)
        await until(pilot, lambda: demo_app.event_log.matches is not None, what="the scan")
        await settle(pilot)
        shown = Content.from_markup(demo_app.event_log.border_title).plain  # as drawn
        assert f"filter {MARKUP} · 0 of" in shown
        assert "No event matches" in demo_app.event_log.render_line(0).text


async def test_tab_moves_between_regions_and_q_quits(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        regions = []
        for _ in range(4):
            regions.append(demo_app.focused.id)
            await pilot.press("tab")
        assert regions == ["events", "cart-lines", "projections", "history-slider"]
        assert demo_app.focused.id == "events"
        await pilot.press("shift+tab")
        assert demo_app.focused.id == "history-slider"
        await pilot.press("q")
        await settle(pilot)
        assert not demo_app.is_running


# -- the key table ---------------------------------------------------------------------------


def test_every_key_of_the_issue_is_a_described_binding():
    keys = {k for b in MAIN_BINDINGS for k in b.key.split(",")}
    for key in ("left", "right", "shift+left", "shift+right", "pageup", "pagedown", "home", "end",
                "g", "space", "left_square_bracket", "right_square_bracket", "n", "tab",
                "shift+tab", "c", "slash", "ctrl+left", "ctrl+right", "a", "plus", "minus",
                "delete", "backspace", "o", "x", "enter", "question_mark", "f1", "ctrl+p", "q"):
        assert key in keys, key
    assert all(b.description and b.tooltip for b in MAIN_BINDINGS)
    history_keys = {k for b in KEYS["History"] for k in b.key.split(",")}
    assert all(b.priority for b in KEYS["History"])
    assert {"left", "home", "end", "pageup", "pagedown"} <= history_keys


async def test_palette_leaves_out_textuals_key_panel_and_its_second_quit(demo_app):
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        system = [command.title for command in demo_app.get_system_commands(demo_app.screen)]
        assert "Keys" not in system  # ? lists the keys, in a screen
        assert "Quit" not in system  # "Quit cartui" is there, with its key
        assert "Quit cartui" in [name for name, _, _ in demo_app.palette_commands()]


def test_palette_offers_every_action_and_export(demo_app):
    names = [name for name, _, _ in demo_app.palette_commands()]
    assert "Export events…" in names and "Import events…" in names
    assert "Rebuild projections" in names
    for binding in MAIN_BINDINGS:
        if not binding.action.startswith(("app.focus", "app.command_palette")):
            assert binding.tooltip in names


# -- the cursor model (pure) -----------------------------------------------------------------


def test_cursor_follows_the_head_only_when_live():
    cursor = HistoryCursor(head=10, position=10)
    cursor.head_moved(12)
    assert cursor.position == 12 and cursor.live
    cursor.step(-3)
    cursor.head_moved(20)
    assert cursor.position == 9 and not cursor.live
    cursor.move_to(99)
    assert cursor.position == 20 and cursor.live
    cursor.move_to(-5)
    assert cursor.position == 0


def test_cursor_what_if_blocks_edits_and_end_clears_it():
    cursor = HistoryCursor(head=10, position=10)
    assert cursor.editable
    assert cursor.toggle_skip(10) is True
    assert cursor.what_if and cursor.live and not cursor.editable
    assert cursor.toggle_skip(10) is False and not cursor.what_if
    cursor.toggle_skip(4)
    cursor.go_live()
    assert cursor.editable and cursor.skipped == frozenset()
    with pytest.raises(ValueError, match="Position 0 is the empty world"):
        cursor.toggle_skip(0)


async def test_speed_keys_at_either_end_say_so(demo_app):
    async with demo_app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.press(*"]]]")
        assert demo_app.cursor.speed_label == "10x"
        assert "10x is the fastest speed: [ plays slower." in notices(demo_app)
        await pilot.press(*"[[[[")
        assert demo_app.cursor.real_time
        assert "Real time is the slowest speed: ] plays faster." in notices(demo_app)


def test_cursor_speeds_and_real_time_gaps():
    cursor = HistoryCursor(head=10)
    assert cursor.speed_label == "1x" and cursor.delay_before_next() == 0.5
    cursor.faster()
    cursor.faster()
    assert cursor.speed_label == "10x" and cursor.delay_before_next(100.0) == 0.05
    assert not cursor.faster()
    assert cursor.speed_label == "10x"
    cursor.slower()
    cursor.slower()
    cursor.slower()
    assert cursor.real_time and cursor.speed_label == "real time"
    assert not cursor.slower()
    assert cursor.real_time
    assert cursor.delay_before_next(1.5) == 1.5
    assert cursor.delay_before_next(3600.0) == LONGEST_REAL_TIME_GAP  # hours are shortened
    assert cursor.delay_before_next(-1.0) == cursor.delay_before_next(0.0) == SHORTEST_REAL_TIME_GAP
    assert cursor.delay_before_next(None) == SHORTEST_REAL_TIME_GAP  # no time to compare
