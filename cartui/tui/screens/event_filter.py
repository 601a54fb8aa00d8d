"""Filter the event stream: by cart, by type, or by any text."""

from typing import Iterable

from rich.table import Table
from textual import on
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Static

from ...domain import EVENT_TYPES
from .dialog import Dialog

KEYWORDS = ("cart:", "type:")


class FilterSuggester(Suggester):
    """Completes the word being typed: `ty` -> `type:`, `type:itema` -> `type:ItemAdded`
    (accepting a suggestion replaces the value, so the type's case comes out right)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        word = value.split(" ")[-1]
        if not word:
            return None
        head = value[:len(value) - len(word)]
        for keyword in KEYWORDS:
            if keyword.startswith(word.casefold()) and len(word) < len(keyword):
                return head + keyword
        if word.casefold().startswith("type:"):
            typed = word[len("type:"):].casefold()
            for name in EVENT_TYPES:
                if name.casefold().startswith(typed) and len(name) > len(typed):
                    return head + "type:" + name
        return None


class EventFilterScreen(Dialog[str]):
    """Edits the event stream's filter. Dismisses with the filter text ("" clears
    the filter), or None when cancelled.

    Syntax: plain words match the cart id, the event type or the summary;
    `cart:ID` keeps one cart's events, `type:ItemAdded` one type's.
    """

    CSS_PATH = ["dialog.tcss", "event_filter.tcss"]
    DIALOG_TITLE = "Filter events"
    KEY_HINTS = [("→", "complete"), ("enter", "apply"), ("esc", "cancel")]
    AUTO_FOCUS = "#event-filter"

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current

    def compose_body(self) -> Iterable[Widget]:
        yield Input(self.current, placeholder="text, cart:ID or type:NAME", id="event-filter",
                    suggester=FilterSuggester())
        yield Static(self.syntax(), classes="hint", id="event-filter-syntax")

    @staticmethod
    def syntax() -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row("words", "match the cart id, the event type or the summary")
        table.add_row("cart:ID", "only this cart's events")
        table.add_row("type:NAME", "only events of this type:")
        table.add_row("", ", ".join(EVENT_TYPES))
        table.add_row("empty", "every event again")
        return table

    @on(Input.Submitted)
    def apply(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())
