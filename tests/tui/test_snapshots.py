"""Screenshots of the main screen on the demo history (pytest-textual-snapshot).

Deterministic: the demo history is seeded, the app's clock is fixed, ids are
numbered and input cursors do not blink. After a deliberate change to the
look, review the new pictures and accept them with `--snapshot-update`.

The README's screenshot (data/screenshot.svg) is the "past" picture; a test
keeps it current: `CARTUI_WRITE_SCREENSHOT=1 pytest tests/tui/test_snapshots.py`
rewrites it.
"""

import os
from pathlib import Path

import pytest

WIDE, NARROW = (120, 35), (80, 24)
# Thursday of the demo week, during the flash sale: every pane has something to show.
IN_THE_PAST = "2026-01-08T18:25Z"
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "data" / "screenshot.svg"


def go_to(moment: str):
    async def run_before(pilot) -> None:
        await pilot.pause()  # snap_compare calls this before the screen is composed
        app = pilot.app
        app.move_cursor(app.resolve_position(moment))
        await pilot.pause()
    return run_before


def test_first_screen_wide(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=WIDE)


def test_first_screen_narrow(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=NARROW)


def test_in_the_past_wide(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=WIDE, run_before=go_to(IN_THE_PAST))


def test_in_the_past_narrow(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=NARROW, run_before=go_to(IN_THE_PAST))


def test_what_if(snap_compare, demo_app):
    """A checkout skipped: orders and revenue drop, the screen says WHAT-IF."""
    checkout = max(r.position for r in demo_app.store.read_all(1, up_to_position=1223)
                   if r.type == "CartCheckedOut")

    async def run_before(pilot) -> None:
        await pilot.pause()
        pilot.app.move_cursor(checkout)
        await pilot.press("x")
    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_product_picker(snap_compare, demo_app):
    async def run_before(pilot) -> None:
        await pilot.pause()
        # The demo ends on a checkout, which takes no more items: the last open cart.
        app = pilot.app
        rows = (app.store.get(p) for p in range(app.cursor.head, 0, -1))
        app.select_cart(next(r.stream_id for r in rows
                             if app.history.cart_at(r.stream_id).state.status == "open"))
        await pilot.pause()

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before, press=["a", *"tea"])


def test_event_detail_of_an_upcast_event(snap_compare, demo_app):
    """The first day was written by an older app: its ItemAdded rows are schema 1."""
    upcast = next(r.position for r in demo_app.store.read_all(1)
                  if r.type == "ItemAdded" and r.schema_version == 1)

    async def run_before(pilot) -> None:
        await pilot.pause()
        pilot.app.move_cursor(upcast)
        await pilot.press("enter")
    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_help(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=WIDE, press=["question_mark"])


async def test_readme_screenshot_is_current(demo_app):
    """data/screenshot.svg shows the demo history in the past, as the app draws it today."""
    async with demo_app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await go_to(IN_THE_PAST)(pilot)
        await pilot.pause()
        svg = demo_app.export_screenshot(title="cartui")
    if os.environ.get("CARTUI_WRITE_SCREENSHOT"):
        README_SCREENSHOT.write_text(svg, encoding="utf-8")
    if not README_SCREENSHOT.exists() or README_SCREENSHOT.read_text(encoding="utf-8") != svg:
        pytest.fail("data/screenshot.svg is out of date: look at the app, then rerun with "
                    "CARTUI_WRITE_SCREENSHOT=1")
