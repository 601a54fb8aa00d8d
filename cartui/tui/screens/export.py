"""Export the whole log as JSON Lines: which file to write."""

from pathlib import Path
from typing import Callable, Iterable

from textual import on
from textual.widget import Widget
from textual.widgets import Input, Static

from .dialog import Dialog, ErrorLine


class ExportScreen(Dialog[str]):
    """Asks for the file to write, starting from `default_path`. Refuses a
    folder, a path whose folder does not exist and a file `is_database` says
    is the database's own; an existing file needs a second enter. Dismisses
    with the path (`~` expanded), or None."""

    CSS_PATH = ["dialog.tcss", "export.tcss"]
    DIALOG_TITLE = "Export events"
    KEY_HINTS = [("enter", "export"), ("esc", "cancel")]
    AUTO_FOCUS = "#export-path"

    def __init__(self, default_path: str, is_database: Callable[[Path], bool] = lambda path: False
                 ) -> None:
        super().__init__()
        self.default_path = default_path
        self.is_database = is_database
        self.confirmed_overwrite: Path | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield Static("Every event in position order, as JSON Lines for cartui import",
                     classes="hint")
        yield Input(self.default_path, placeholder="file to write", id="export-path",
                    select_on_focus=False)
        yield ErrorLine()

    @on(Input.Changed)
    def forget_error(self) -> None:
        self.query_one(ErrorLine).clear()

    @on(Input.Submitted)
    def export(self, event: Input.Submitted) -> None:
        error = self.query_one(ErrorLine)
        text = event.value.strip()
        if not text:
            error.show("type the path of the file to write")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            error.show(f"{path} is a folder: add a file name")
            return
        if not path.parent.is_dir():
            error.show(f"folder {path.parent} does not exist")
            return
        if self.is_database(path):
            error.show(f"{path} is the database being exported: choose another file")
            return
        if path.exists() and self.confirmed_overwrite != path:
            self.confirmed_overwrite = path
            error.show(f"{path} exists: enter again to replace it", warning=True)
            return
        self.dismiss(str(path))
