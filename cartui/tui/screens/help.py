"""Every key of the main screen, by section."""

from typing import Iterable

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from .dialog import Dialog

Sections = list[tuple[str, list[tuple[str, str]]]]


def split_in_two(sections: Sections) -> tuple[Sections, Sections]:
    """Two columns of about the same height, sections kept in reading order."""
    heights = [len(keys) + 2 for _, keys in sections]  # a title and a gap above it
    total, running, cut = sum(heights), 0, len(sections)
    for i, height in enumerate(heights):
        if i and running + height / 2 > total / 2:
            cut = i
            break
        running += height
    return sections[:cut], sections[cut:]


class HelpScreen(Dialog[None]):
    """Titled groups of (keys, description). The app builds them from its
    bindings, so help never drifts from the footer. Sections in two columns
    on a wide screen, one under the other on a narrow one; escape, q, ? or f1 closes it
    (dismisses with None)."""

    CSS_PATH = ["dialog.tcss", "help.tcss"]
    DIALOG_TITLE = "Help"
    KEY_HINTS = [("↑↓", "scroll"), ("esc", "close")]
    AUTO_FOCUS = "#help-body"
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", tooltip="Close the help")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(self, sections: Sections) -> None:
        super().__init__()
        self.sections = sections

    def compose_body(self) -> Iterable[Widget]:
        with VerticalScroll(id="help-body"):
            yield Static("Every key of the main screen. ctrl+p opens the command palette: "
                         "every action by name, plus themes.", classes="hint", markup=False)
            with Horizontal(id="help-columns"):
                for column in split_in_two(self.sections):
                    # One key width per column: descriptions line up across its sections.
                    key_width = max((len(k) for _, keys in column for k, _ in keys), default=0)
                    with Vertical(classes="help-column"):
                        for title, keys in column:
                            yield Static(Text(title), classes="help-section-title")
                            yield Static(self.key_table(keys, key_width), classes="help-keys")

    @staticmethod
    def key_table(keys: list[tuple[str, str]], key_width: int) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, min_width=key_width)
        table.add_column()
        for key, description in keys:
            table.add_row(Text(key), Text(description))
        return table

    def action_close(self) -> None:
        self.dismiss(None)
