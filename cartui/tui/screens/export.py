"""Export the whole log as JSON Lines: which file to write."""

from pathlib import Path
from typing import Callable

from .file_dialog import FileDialog


class ExportScreen(FileDialog):
    """Also refuses a path whose folder does not exist, a file `is_database` says is
    the database's own and what is not a file (/dev/stdout would write over the
    screen); an existing file needs a second enter."""

    DIALOG_TITLE = "Export events"
    KEY_HINTS = [("enter", "export"), ("esc", "cancel")]
    HINT = "Every event in position order, as JSON Lines for cartui import"
    WANTED = "file to write"
    IN_A_FOLDER = "add a file name"

    def __init__(self, default_path: str, is_database: Callable[[Path], bool] = lambda path: False
                 ) -> None:
        super().__init__(default_path)
        self.is_database = is_database
        self.confirmed_overwrite: Path | None = None

    def refusal(self, path: Path) -> tuple[str, bool] | None:
        if not path.parent.is_dir():
            return f"folder {path.parent} does not exist", False
        if self.is_database(path):
            return f"{path} is the database being exported: choose another file", False
        if path.exists() and not path.is_file():  # a device, a FIFO: the screen, say
            return f"{path} is not a file: choose a file to write", False
        if path.exists() and self.confirmed_overwrite != path:
            self.confirmed_overwrite = path
            return f"{path} exists: enter again to replace it", True
        return None
