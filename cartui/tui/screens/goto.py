"""Go to a position or a time: the history cursor jumps there."""

from typing import Callable, Iterable

from textual import on
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Static

from .dialog import Dialog, ErrorLine


class GoToScreen(Dialog[int]):
    """Asks for a position ("1200") or an ISO time ("2026-01-06T14:00Z").

    `resolve` turns the text into a position or raises ValueError with a
    one-line reason, shown under the input while the dialog stays open.
    Dismisses with the position, or None when cancelled.
    """

    CSS_PATH = ["dialog.tcss", "goto.tcss"]
    DIALOG_TITLE = "Go to"
    KEY_HINTS = [("enter", "go"), ("esc", "cancel")]
    AUTO_FOCUS = "#goto-input"

    def __init__(self, resolve: Callable[[str], int]) -> None:
        super().__init__()
        self.resolve = resolve

    def compose_body(self) -> Iterable[Widget]:
        yield Static(Content("A position, like 1200, or a time, like 2026-01-06T14:00Z"),
                     classes="hint")
        yield Input(placeholder="position or time", id="goto-input")
        yield ErrorLine(id="goto-error")

    @on(Input.Changed)
    def forget_error(self) -> None:
        self.query_one(ErrorLine).clear()

    @on(Input.Submitted)
    def go(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        error = self.query_one(ErrorLine)
        if not text:
            error.show("type a position or a time")
            return
        try:
            position = self.resolve(text)
        except ValueError as exc:
            error.show(str(exc) or f"cannot go to {text!r}")
            return
        self.dismiss(position)
