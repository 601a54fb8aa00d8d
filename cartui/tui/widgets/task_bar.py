"""A one-line progress bar for long work running in a worker (export, rebuild, filtering).

Workers never touch widgets: they post `TaskBar.Progress` / `TaskBar.Done`
messages, which the app routes here on the UI thread.
"""

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ProgressBar, Static

from .formatting import literal


class TaskBar(Horizontal):
    class Progress(Message):
        def __init__(self, label: str, done: int, total: int) -> None:
            super().__init__()
            self.label, self.done, self.total = label, done, total

    class Done(Message):
        def __init__(self, message: str, ok: bool = True) -> None:
            super().__init__()
            self.message, self.ok = message, ok

    def compose(self) -> ComposeResult:
        yield Static(id="task-label")
        yield ProgressBar(id="task-progress", show_eta=False)

    def show_progress(self, label: str, done: int, total: int) -> None:
        """`total` 0: how long it takes is not known (the bar shows it is busy)."""
        self.add_class("-running")
        self.query_one("#task-label", Static).update(Text(literal(label)))
        self.query_one(ProgressBar).update(total=total or None, progress=done)

    def finish(self) -> None:
        self.remove_class("-running")
