"""Import events from a JSON Lines file: which file to read."""

import os
from pathlib import Path
from typing import Iterable

from textual import on
from textual.widget import Widget
from textual.widgets import Input, Static

from .dialog import Dialog, ErrorLine


class ImportScreen(Dialog[str]):
    """Asks for the file to read, starting from `default_path` (a folder to
    complete). Refuses an empty path, a folder and a file that does not exist
    or cannot be read. Dismisses with the path (`~` expanded), or None."""

    CSS_PATH = ["dialog.tcss", "import_events.tcss"]
    DIALOG_TITLE = "Import events"
    KEY_HINTS = [("enter", "import"), ("esc", "cancel")]
    AUTO_FOCUS = "#import-path"

    def __init__(self, default_path: str) -> None:
        super().__init__()
        self.default_path = default_path

    def compose_body(self) -> Iterable[Widget]:
        yield Static("JSON Lines as cartui export writes them. Every line is checked first, "
                     "then all of it is appended, or nothing; events already stored are skipped.",
                     classes="hint")
        yield Input(self.default_path, placeholder="file to read", id="import-path",
                    select_on_focus=False)
        yield ErrorLine()

    @on(Input.Changed)
    def forget_error(self) -> None:
        self.query_one(ErrorLine).clear()

    @on(Input.Submitted)
    def import_file(self, event: Input.Submitted) -> None:
        error = self.query_one(ErrorLine)
        text = event.value.strip()
        if not text:
            error.show("type the path of the file to read")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            error.show(f"{path} is a folder: choose a file in it")
            return
        if not path.exists():
            error.show(f"{path} does not exist")
            return
        if not os.access(path, os.R_OK):
            error.show(f"{path} cannot be read: permission denied")
            return
        self.dismiss(str(path))
