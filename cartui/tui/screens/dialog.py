"""What every cartui dialog shares: a compact box centred over the dimmed app,
its title in the top border, its keys in the bottom border, escape to cancel,
and a line under the inputs where a refusal explains itself."""

import re
from typing import Callable, ClassVar, Iterable, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

ResultType = TypeVar("ResultType")
T = TypeVar("T")



def matches(terms: list[str], *fields: str | None) -> bool:
    """Every whitespace-separated term of a filter appears in one of the fields (any case)."""
    haystack = " ".join(f for f in fields if f).casefold()
    return all(term in haystack for term in terms)


def starts_words(terms: list[str], *fields: str | None) -> bool:
    """Every term begins a word of the fields: "ada" for "Ada Lovelace", not for "cart-63edadaf".
    Such matches are what the user meant more often: pickers list them first."""
    haystack = " ".join(f for f in fields if f).casefold()
    return all(re.search(r"(?<!\w)" + re.escape(term), haystack) for term in terms)


def filtered(items: Iterable[T], query: str, fields: Callable[[T], tuple[str | None, ...]]
             ) -> tuple[list[T], list[str]]:
    """The items matching a filter (and its terms): those whose words the terms begin
    first, by the first field where they do ("tea" lists a tea before a coffee of
    the category "Coffee & Tea"), then the others, each group in the items' own order."""
    terms = filter_terms(query)
    found = [item for item in items if matches(terms, *fields(item))]
    found.sort(key=lambda item: _rank(terms, fields(item)))
    return found, terms


def _rank(terms: list[str], fields: tuple[str | None, ...]) -> int:
    for number, field in enumerate(fields):
        if field and starts_words(terms, field):
            return number
    return len(fields) if starts_words(terms, *fields) else len(fields) + 1


def filter_terms(query: str) -> list[str]:
    return query.casefold().split()


class ErrorLine(Static):
    """Says in one sentence why the dialog refused the input; empty when all is well."""

    message = ""

    def show(self, message: str, warning: bool = False) -> None:
        """Show why (or, as a warning, what enter again will do)."""
        message = " ".join(message.split())  # one line, whatever the message
        self.message = message
        self.set_class(warning, "-warning")
        # Messages quote what the user typed: Text keeps it literal, never markup.
        self.update(Text(message))

    def clear(self) -> None:
        self.show("")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog. Subclasses give a title, key hints and `compose_body`."""

    CSS_PATH = "dialog.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close the dialog without a result")]

    DIALOG_TITLE: ClassVar[str] = ""
    # Keys and what they do, shown in the bottom border: the dialog's own footer.
    KEY_HINTS: ClassVar[list[tuple[str, str]]] = [("esc", "cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.dialog_title()
            box.border_subtitle = self.hints_text()
            yield from self.compose_body()

    def dialog_title(self) -> str | Content:
        return self.DIALOG_TITLE

    def compose_body(self) -> Iterable[Widget]:
        raise NotImplementedError

    def hints_text(self) -> Text:
        text = Text()
        for i, (keys, what) in enumerate(self.KEY_HINTS):
            if i:
                text.append("  ")
            text.append(keys, style="bold")
            text.append(f" {what}")
        return text

    def action_cancel(self) -> None:
        self.dismiss(None)
