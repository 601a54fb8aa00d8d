"""Each dialog on its own, pushed by a tiny host app that records what it dismissed with."""

import asyncio
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from textual.app import App, ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static

from cartui.domain import Catalog, Product
from cartui.history import History
from cartui.resources import load_catalog
from cartui.service import CartService, CartSummary
from cartui.store import EventStore, NewEvent
from cartui.tui.screens import (
    CartPickerScreen, EventDetailScreen, EventFilterScreen, ExportScreen, GoToScreen,
    HelpScreen, NewCartScreen, ProductPickerScreen,
)
from cartui.tui.palette import CartuiCommands
from cartui.tui.screens.help import split_in_two
from cartui.tui.screens.dialog import ErrorLine
from cartui.tui.screens.picker import PickerTable

MARKUP = "[bold red]x[/]"
NO_RESULT = object()


class Host(App):
    """Pushes one screen on mount; `results` holds what it dismissed with."""

    def __init__(self, make_screen: Callable[[], Screen]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.results: list = []

    def compose(self) -> ComposeResult:
        yield Static("the app underneath")

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self.results.append)

    @property
    def result(self):
        return self.results[0] if self.results else NO_RESULT


def error_text(app: App) -> str:
    return app.screen.query_one(ErrorLine).message


async def type_text(pilot, text: str) -> None:
    """Type into the focused input in one go (pressing key by key is slow)."""
    pilot.app.focused.insert_text_at_cursor(text)
    await pilot.pause()


def screen_text(app: App) -> str:
    """The screen as the user reads it: plain text, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# -- go to ------------------------------------------------------------------------------------

def resolve(text: str) -> int:
    """Like the app's: a position in 0..500, or a time in January 2026."""
    if text.isdigit():
        if int(text) > 500:
            raise ValueError(f"position {text} is outside the log (0..500)")
        return int(text)
    if text.startswith("2026-01"):
        return 42
    raise ValueError(f"not a position or a time: {text!r}")


async def test_goto_dismisses_with_the_resolved_position():
    app = Host(lambda: GoToScreen(resolve))
    async with app.run_test() as pilot:
        assert isinstance(app.focused, Input)
        await pilot.press(*"120", "enter")
    assert app.result == 120


async def test_goto_accepts_a_time():
    app = Host(lambda: GoToScreen(resolve))
    async with app.run_test() as pilot:
        await type_text(pilot, "2026-01-06T14:00Z")
        await pilot.press("enter")
    assert app.result == 42


@pytest.mark.parametrize("typed, reason", [
    ("9999", "position 9999 is outside the log (0..500)"),
    ("yesterday", "not a position or a time: 'yesterday'"),
    ("", "type a position or a time"),
])
async def test_goto_refuses_inline_and_stays_open(typed, reason):
    app = Host(lambda: GoToScreen(resolve))
    async with app.run_test() as pilot:
        await pilot.press(*typed, "enter")
        assert isinstance(app.screen, GoToScreen)
        assert error_text(app) == reason
        await pilot.press("x")  # editing clears the refusal
        assert error_text(app) == ""
    assert app.result is NO_RESULT


async def test_goto_escape_cancels():
    app = Host(lambda: GoToScreen(resolve))
    async with app.run_test() as pilot:
        await pilot.press("1", "escape")
        assert not isinstance(app.screen, GoToScreen)
    assert app.result is None


# -- product picker ---------------------------------------------------------------------------

CATALOG = Catalog([
    Product("COF-ESP", "Espresso Beans 1 kg", 2490, "Coffee & Tea"),
    Product("TEA-EGR", "Earl Grey Tea", 690, "Coffee & Tea"),
    Product("KIT-CHF", "Chef's Knife", 6900, "Kitchen"),
    Product("BOK-DDD", "Domain-Driven Design", 5490, "Books"),
    Product("ODD-001", MARKUP, 123456, "[i]odd[/i]"),
])


def table_keys(app: App) -> list[str]:
    table = app.screen.query_one(PickerTable)
    return [row.key.value for row in table.ordered_rows]


def highlighted(app: App) -> str | None:
    return app.screen.query_one(PickerTable).highlighted_key


async def test_product_picker_filters_as_you_type_and_adds_the_highlighted_one():
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        assert app.focused.id == "product-filter"
        assert table_keys(app) == ["COF-ESP", "TEA-EGR", "KIT-CHF", "BOK-DDD", "ODD-001"]
        await pilot.press(*"tea")  # begins the sku and the name, before the category "Coffee & Tea"
        assert table_keys(app) == ["TEA-EGR", "COF-ESP"]
        await pilot.press("down")  # moves the list while the filter keeps focus
        assert highlighted(app) == "COF-ESP" and app.focused.id == "product-filter"
        await pilot.press("enter")
    assert app.result == ("COF-ESP", 1)


async def test_product_picker_names_the_cart_it_adds_to_as_it_is_written():
    app = Host(lambda: ProductPickerScreen(CATALOG, "cart-[b]x[/b]"))
    async with app.run_test():
        title = app.screen.query_one(".dialog").border_title  # markup, as Textual keeps it
        assert Content.from_markup(title).plain == "Add an item to cart-[b]x[/b]"


async def test_product_picker_matches_sku_and_every_term():
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        await pilot.press(*"kit")
        assert table_keys(app) == ["KIT-CHF"]
        await pilot.press("ctrl+u")
        await type_text(pilot, "coffee grey")
        assert table_keys(app) == ["TEA-EGR"]


async def test_product_picker_highlights_the_best_match_as_the_filter_changes():
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        await pilot.press("down", "down")
        assert highlighted(app) == "KIT-CHF"
        await pilot.press(*"ea")  # begins "Earl Grey Tea", is inside "Espresso Beans"
        assert table_keys(app) == ["TEA-EGR", "COF-ESP"]
        assert highlighted(app) == "TEA-EGR"


async def test_product_picker_answers_the_mouse():
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        await pilot.click(PickerTable, offset=(3, 3))  # the header, then the third product
        assert highlighted(app) == "KIT-CHF" and isinstance(app.screen, ProductPickerScreen)
        await pilot.click(PickerTable, offset=(3, 3))  # a click on the highlighted row picks it
    assert app.result == ("KIT-CHF", 1)


async def test_product_picker_takes_a_quantity():
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        await pilot.press(*"chef", "tab")
        assert app.focused.id == "quantity"
        await pilot.press(*"12", "enter")  # the "1" was selected on focus: typing replaces it
    assert app.result == ("KIT-CHF", 12)


@pytest.mark.parametrize("typed", ["0", "100", "abc", "2.5"])
async def test_product_picker_refuses_a_bad_quantity_inline(typed):
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        await pilot.press("tab", *typed)
        reason = f"quantity must be a whole number from 1 to 99, got {typed if typed.isdigit() else repr(typed)}"
        assert error_text(app) == reason  # refused as it is typed
        await pilot.press("enter")
        assert isinstance(app.screen, ProductPickerScreen)
        assert error_text(app) == reason
        await pilot.press("ctrl+u", "9", "enter")
    assert app.result == ("COF-ESP", 9)


async def test_product_picker_with_nothing_matching_refuses_enter():
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        await pilot.press(*"zzz", "enter")
        assert table_keys(app) == []
        assert isinstance(app.screen, ProductPickerScreen)
        assert "no product matches" in error_text(app)
        assert "no product matches zzz" in str(app.screen.query_one("#product-count").render())


async def test_product_picker_shows_names_literally_and_prices_in_cents():
    app = Host(lambda: ProductPickerScreen(CATALOG))
    async with app.run_test() as pilot:
        text = screen_text(app)
        assert MARKUP in text and "[i]odd[/i]" in text
        assert "1,234.56" in text and "24.90" in text
        await pilot.press(*"[bold")  # filtering on markup characters is plain text too
        assert table_keys(app) == ["ODD-001"]
        await pilot.press("escape")
    assert app.result is None


# -- cart picker ------------------------------------------------------------------------------

def summary(cart_id: str, customer: str | None, status: str = "open", position: int = 1,
            total: int = 0) -> CartSummary:
    return CartSummary(cart_id, customer, status, 2, total, 1, position,
                       f"2026-01-05T10:{position:02d}:00.000000Z")


CARTS = [
    summary("cart-a", "ada", position=1, total=2490),
    summary("cart-b", MARKUP, status="checked_out", position=5, total=123456),
    summary("cart-c", None, position=3),
    summary("cart-d", "grace", position=4),
]


async def test_cart_picker_lists_the_most_recent_first_and_starts_on_the_selected_cart():
    app = Host(lambda: CartPickerScreen(CARTS, "cart-c"))
    async with app.run_test() as pilot:
        assert app.focused.id == "cart-filter"
        assert table_keys(app) == ["cart-b", "cart-d", "cart-c", "cart-a"]
        assert highlighted(app) == "cart-c"
        await pilot.press("enter")
    assert app.result == "cart-c"


async def test_cart_picker_filters_by_customer_id_or_status():
    app = Host(lambda: CartPickerScreen(CARTS, None))
    async with app.run_test() as pilot:
        await pilot.press(*"gra")
        assert table_keys(app) == ["cart-d"]
        await pilot.press("ctrl+u", *"checked")
        assert table_keys(app) == ["cart-b"]
        await pilot.press("ctrl+u", *"cart-")
        assert len(table_keys(app)) == 4
        await pilot.press("down", "down", "up", "enter")
    assert app.result == "cart-d"


async def test_cart_picker_lists_matches_at_a_word_start_first():
    carts = [summary("cart-1", "Ada Nilsson", position=1),
             summary("cart-63edadaf", "Whitfield Rossi", position=9)]  # more recent, "ada" mid-id
    app = Host(lambda: CartPickerScreen(carts, None))
    async with app.run_test() as pilot:
        assert table_keys(app) == ["cart-63edadaf", "cart-1"]
        await pilot.press(*"ada")
        assert table_keys(app) == ["cart-1", "cart-63edadaf"]
        assert highlighted(app) == "cart-1"


async def test_cart_picker_shows_data_literally_and_refuses_enter_with_no_match():
    app = Host(lambda: CartPickerScreen(CARTS, None))
    async with app.run_test(size=(120, 35)) as pilot:
        text = screen_text(app)
        assert MARKUP in text and "1,234.56" in text and "checked out" in text
        assert "01-05 10:05:00" in text
        await pilot.press(*"nobody", "enter")
        assert isinstance(app.screen, CartPickerScreen)
        assert error_text(app) == "no cart matches the filter: change it to pick one"
        await pilot.press("escape")
    assert app.result is None


async def test_cart_picker_fits_80_columns():
    app = Host(lambda: CartPickerScreen(CARTS, None))
    async with app.run_test(size=(80, 24)):
        table = app.screen.query_one(PickerTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_cart_picker_shows_at_most_500_rows_and_says_so():
    carts = [summary(f"cart-{i}", None, position=i % 60) for i in range(1200)]
    app = Host(lambda: CartPickerScreen(carts, None))
    async with app.run_test() as pilot:
        assert len(table_keys(app)) == 500
        assert "the first 500 of 1,200 matching carts: type to narrow" in screen_text(app)
        await pilot.press(*"cart-11")  # cart-11, cart-110..119, cart-1100..1199
        assert len(table_keys(app)) == 111
        assert "111 of 1,200 carts" in screen_text(app)
        assert "as stored now" not in screen_text(app)


async def test_cart_picker_in_the_past_says_its_list_is_as_stored_now():
    app = Host(lambda: CartPickerScreen(CARTS, None, cursor_in_the_past=True))
    async with app.run_test():
        assert f"{len(CARTS)} of {len(CARTS)} carts · as stored now, not at the cursor" \
            in screen_text(app)


# -- new cart ---------------------------------------------------------------------------------

async def test_new_cart_with_nothing_typed_leaves_the_id_to_the_service():
    app = Host(NewCartScreen)
    async with app.run_test() as pilot:
        assert app.focused.id == "new-cart-id"
        await pilot.press("enter")
    assert app.result == (None, None)


async def test_new_cart_takes_an_id_and_a_customer_literally():
    app = Host(NewCartScreen)
    async with app.run_test() as pilot:
        await type_text(pilot, "cart-42")
        await pilot.press("tab")
        assert app.focused.id == "new-cart-customer"
        await type_text(pilot, f"  {MARKUP} ")
        await pilot.press("enter")
    assert app.result == ("cart-42", MARKUP)


@pytest.mark.parametrize("typed, got", [(" padded", "' padded'"), ("x" * 65, "65 characters")])
async def test_new_cart_refuses_a_bad_id_inline(typed, got):
    app = Host(NewCartScreen)
    async with app.run_test() as pilot:
        await type_text(pilot, typed)
        reason = ("cart id must be 1 to 64 printable characters, with no space at either end, "
                  f"got {got}")
        assert error_text(app) == reason  # as it is typed
        await pilot.press("tab", *"ada", "enter")  # submitting from the customer field
        assert isinstance(app.screen, NewCartScreen)
        assert error_text(app) == reason
        assert app.focused.id == "new-cart-id"  # back where the problem is
        await pilot.press("escape")
    assert app.result is None


async def test_new_cart_refuses_a_taken_id_and_keeps_what_was_typed():
    app = Host(lambda: NewCartScreen(lambda cart_id: cart_id == "cart-taken"))
    async with app.run_test() as pilot:
        await type_text(pilot, "cart-taken")
        await pilot.press("tab", *"ada", "enter")
        assert isinstance(app.screen, NewCartScreen)
        assert error_text(app) == "cart 'cart-taken' already exists"
        assert app.focused.id == "new-cart-id" and app.focused.value == "cart-taken"
        app.focused.value = "cart-free"
        await pilot.press("enter")
    assert app.result == ("cart-free", "ada")


async def test_new_cart_refuses_a_customer_name_over_200_characters():
    app = Host(NewCartScreen)
    async with app.run_test() as pilot:
        await pilot.press("tab")
        await type_text(pilot, "y" * 201)  # as a paste would
        reason = "a customer name holds at most 200 characters, got 201"
        assert error_text(app) == reason
        await pilot.press("enter")
        assert isinstance(app.screen, NewCartScreen) and error_text(app) == reason
        await pilot.press("backspace", "enter")
    assert app.result == (None, "y" * 200)


# -- event filter -----------------------------------------------------------------------------

async def test_event_filter_starts_from_the_current_filter_and_documents_the_syntax():
    app = Host(lambda: EventFilterScreen("cart:ada"))
    async with app.run_test() as pilot:
        assert app.focused.value == "cart:ada"
        text = screen_text(app)
        assert "cart:ID" in text and "type:NAME" in text and "ItemQuantityChanged" in text
        await pilot.press("end", *" gin", "enter")
    assert app.result == "cart:ada gin"


async def test_event_filter_completes_event_types():
    app = Host(lambda: EventFilterScreen(""))
    async with app.run_test() as pilot:
        await pilot.press(*"type:itemq", "right")  # right accepts the suggestion
        assert app.focused.value == "type:ItemQuantityChanged"
        await pilot.press("enter")
    assert app.result == "type:ItemQuantityChanged"


async def test_event_filter_empty_clears_and_escape_cancels():
    app = Host(lambda: EventFilterScreen("type:ItemAdded"))
    async with app.run_test() as pilot:
        await pilot.press("ctrl+u", "enter")  # clear the field
    assert app.result == ""
    app = Host(lambda: EventFilterScreen("type:ItemAdded"))
    async with app.run_test() as pilot:
        await pilot.press("x", "escape")
    assert app.result is None


# -- export -----------------------------------------------------------------------------------

async def test_export_dismisses_with_the_path(tmp_path):
    default = str(tmp_path / "events.jsonl")
    app = Host(lambda: ExportScreen(default))
    async with app.run_test() as pilot:
        assert app.focused.value == default
        await pilot.press("enter")
    assert app.result == default


async def test_export_refuses_a_folder_or_a_missing_folder(tmp_path):
    app = Host(lambda: ExportScreen(str(tmp_path)))
    async with app.run_test() as pilot:
        await pilot.press("enter")
        assert error_text(app) == f"{tmp_path} is a folder: add a file name"
        await type_text(pilot, "/nowhere/out.jsonl")
        await pilot.press("enter")
        assert error_text(app) == f"folder {tmp_path}/nowhere does not exist"
        await pilot.press("ctrl+u")
        await pilot.press("enter")
        assert error_text(app) == "type the path of the file to write"
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
    assert app.result is None


async def test_a_path_pasted_after_the_folder_the_field_starts_with_starts_afresh(tmp_path):
    """As in Emacs: "/start/folder//tmp/x" is /tmp/x and "/start/folder/~/x" is ~/x."""
    pasted = tmp_path / "out.jsonl"
    app = Host(lambda: ExportScreen(str(tmp_path / "start") + os.sep))
    async with app.run_test() as pilot:
        await type_text(pilot, str(pasted))
        await pilot.press("enter")
    assert app.result == str(pasted)
    app = Host(lambda: ExportScreen(str(tmp_path) + os.sep))
    async with app.run_test() as pilot:
        await type_text(pilot, "~/out.jsonl")
        await pilot.press("enter")
    assert app.result == str(Path.home() / "out.jsonl")


async def test_export_refuses_what_is_not_a_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    app = Host(lambda: ExportScreen(str(fifo)))
    async with app.run_test() as pilot:
        await pilot.press("enter")
        assert error_text(app) == f"{fifo} is not a file: choose a file to write"
        await pilot.press("enter")  # not a question: the same refusal
        assert isinstance(app.screen, ExportScreen)


async def test_export_asks_before_replacing_a_file(tmp_path):
    existing = tmp_path / "old.jsonl"
    existing.write_text("")
    app = Host(lambda: ExportScreen(str(existing)))
    async with app.run_test() as pilot:
        await pilot.press("enter")
        assert error_text(app) == f"{existing} exists: enter again to replace it"
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("enter")
    assert app.result == str(existing)


# -- event detail -----------------------------------------------------------------------------

@pytest.fixture
def history(tmp_path):
    """A small real log: create (customer with markup), add, an old schema-1 ItemAdded,
    change, remove, check out, and a row that cannot be decoded."""
    ticks = iter(range(1000))

    def clock():
        return datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc) + timedelta(seconds=next(ticks))

    ids = iter(range(1000))
    store = EventStore(tmp_path / "cartui.db", clock=clock)
    service = CartService(store, load_catalog(), new_id=lambda: f"id-{next(ids)}")
    service.create_cart("cart-1", MARKUP)                            # 1
    service.add_item("cart-1", "COF-ESP-1KG", 2)                     # 2
    store.append("cart-1", [NewEvent(                                # 3
        type="ItemAdded", schema_version=1, event_id="legacy-1",
        data='{"sku":"TEA-EGR-100","quantity":3,"price":12.5}')])
    service.change_quantity("cart-1", "COF-ESP-1KG", 5)              # 4
    service.remove_item("cart-1", "TEA-EGR-100")                     # 5
    service.check_out("cart-1")                                      # 6
    store.append("cart-2", [NewEvent(                                # 7
        type="CartCreated", event_id="broken-1", data='{"customer": 42}')])
    yield History(store, service)
    store.close()


def open_detail(history: History, position: int, size=(100, 120)):
    """The detail of one event, tall enough that all of it is on screen."""
    app = Host(lambda: EventDetailScreen(history.change_at(position)))
    return app, app.run_test(size=size)


async def test_event_detail_of_an_upcast_event_shows_both_versions_and_what_it_changed(history):
    app, running = open_detail(history, 3)
    async with running as pilot:
        text = screen_text(app)
        assert "Event 3 · ItemAdded" in text
        assert "1 as stored, read as 2 (upcast)" in text
        assert "Data as stored (schema 1)" in text and '"price": 12.5' in text
        assert "Data as read, upcast to schema 2" in text
        assert '"name": "Earl Grey Tea, 100 bags"' in text and '"unit_price_cents": 1250' in text
        # the change to its cart: the new line, the total before -> after
        assert re.search(r"\+\s+Earl Grey Tea, 100 bags\s+TEA-EGR-100\s+0 → 3\s+12\.50", text)
        assert "49.80 → 87.30  (+37.50)" in text
        assert re.search(r"TEA-EGR-100 added\s+0 → 3\s+\+3", text)
        # the raw line, as stored: schema 1, the float price (folded over lines: join them)
        raw = "".join(line.strip(" │") for line in text.split("Raw, as stored")[1].splitlines())
        assert ('"position":3,"stream_id":"cart-1","version":3,"type":"ItemAdded","schema_version":1,'
                '"data":{"sku":"TEA-EGR-100","quantity":3,"price":12.5}') in raw
        await pilot.press("enter")
    assert app.result is None


async def test_event_detail_shows_quantity_changes_removals_and_checkout_figures(history):
    app, running = open_detail(history, 4)
    async with running:
        assert re.search(r"~\s+Espresso Beans 1 kg\s+COF-ESP-1KG\s+2 → 5\s+24\.90", screen_text(app))
    app, running = open_detail(history, 5)
    async with running:
        text = screen_text(app)
        assert re.search(r"−\s+Earl Grey Tea, 100 bags\s+TEA-EGR-100\s+3 → 0\s+12\.50", text)
        assert "(-37.50)" in text
    app, running = open_detail(history, 6)
    async with running as pilot:
        text = screen_text(app)
        assert "open → checked out" in text
        assert re.search(r"revenue\s+0\.00 → 124\.50\s+\+124\.50", text)
        assert re.search(r"carts open\s+1 → 0\s+-1", text)
        await pilot.press("escape")
    assert app.result is None


async def test_event_detail_shows_data_literally(history):
    app, running = open_detail(history, 1)
    async with running:
        text = screen_text(app)
        assert "not created → open" in text
        assert re.search(r"Customer\s+\[bold red\]x\[/\]", text)
        assert f'"customer": "{MARKUP}"' in text


async def test_event_detail_of_an_undecodable_row_says_why(history):
    app, running = open_detail(history, 7)
    async with running:
        text = screen_text(app)
        assert "Data (cannot be decoded)" in text
        assert "CartCreated customer: Input should be a valid string" in text
        assert "it changes nothing but the version" in text


async def test_event_detail_scrolls_at_80x24(history):
    app, running = open_detail(history, 3, size=(80, 24))
    async with running as pilot:
        body = app.screen.query_one("#event-detail-body")
        assert app.focused is body and body.max_scroll_y > 0
        await pilot.press("pagedown")
        assert body.scroll_y > 0
        assert isinstance(app.screen, EventDetailScreen)


# -- help -------------------------------------------------------------------------------------

SECTIONS = [
    ("History", [("left", "Step back one event"), ("shift+right / pagedown", "Step forward 100 events"),
                 ("g", "Go to a position or a time")]),
    ("Carts", [("a", "Add an item"), ("delete / backspace", "Remove the selected line")]),
    ("Odd [b]section[/b]", [("[", f"Slower, said {MARKUP}")]),
]


@pytest.mark.parametrize("size", [(120, 35), (80, 24)])
async def test_help_lists_every_section_and_key_literally(size):
    app = Host(lambda: HelpScreen(SECTIONS))
    async with app.run_test(size=size) as pilot:
        text = screen_text(app)
        app.screen.query_one("#help-body").scroll_end(animate=False)
        await pilot.pause()
        text += screen_text(app)  # what a short screen shows further down
        for title, keys in SECTIONS:
            assert title in text
            for keys_shown, description in keys:
                assert re.search(re.escape(keys_shown) + r"\s+" + re.escape(description), text)


@pytest.mark.parametrize("key", ["escape", "q", "question_mark", "f1"])
async def test_help_closes(key):
    app = Host(lambda: HelpScreen(SECTIONS))
    async with app.run_test() as pilot:
        await pilot.press(key)
        assert not isinstance(app.screen, HelpScreen)
    assert app.result is None


def test_help_splits_sections_in_two_balanced_columns_in_reading_order():
    one = [("A", [("k", "d")] * 10), ("B", [("k", "d")] * 3), ("C", [("k", "d")] * 4)]
    assert split_in_two(one) == (one[:1], one[1:])
    assert split_in_two(one[:1]) == (one[:1], [])


# -- command palette --------------------------------------------------------------------------

class PaletteHost(App):
    COMMANDS = App.COMMANDS | {CartuiCommands}

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def palette_commands(self):
        return [
            ("Go to a position or a time", "History · key g", lambda: self.ran.append("go to")),
            ("Export events…", "Write every event to a JSON Lines file",
             lambda: self.ran.append("export")),
            (f"Odd {MARKUP}", "key [b]o[/b]", lambda: self.ran.append("odd")),
        ]


def palette_prompts(app: App) -> list[str]:
    from textual.command import CommandList
    options = app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_palette_finds_an_app_command_and_runs_it():
    app = PaletteHost()
    async with app.run_test() as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"export")
        await wait_for(pilot, lambda: any("Export events…" in p for p in palette_prompts(app)))
        prompts = palette_prompts(app)
        assert "Write every event to a JSON Lines file" in prompts[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.ran == ["export"])


async def test_palette_shows_names_and_help_literally():
    app = PaletteHost()
    async with app.run_test() as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"odd")
        await wait_for(pilot, lambda: any(MARKUP in p for p in palette_prompts(app)))
        assert any("key [b]o[/b]" in p for p in palette_prompts(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.ran == ["odd"])


async def wait_for(pilot, condition, timeout: float = 5.0) -> None:
    """The palette searches in a worker: poll until it has answered."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await pilot.pause(0.02)

