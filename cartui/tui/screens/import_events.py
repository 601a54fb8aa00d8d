"""Import events from a JSON Lines file: which file to read."""

import os
from pathlib import Path

from .file_dialog import FileDialog


class ImportScreen(FileDialog):
    """Also refuses a file that does not exist or cannot be read."""

    DIALOG_TITLE = "Import events"
    KEY_HINTS = [("enter", "import"), ("esc", "cancel")]
    HINT = ("JSON Lines as cartui export writes them. Every line is checked first, then all "
            "of it is appended, or nothing; events already stored are skipped.")
    WANTED = "file to read"
    IN_A_FOLDER = "choose a file in it"

    def refusal(self, path: Path) -> tuple[str, bool] | None:
        if not path.exists():
            return f"{path} does not exist", False
        if not os.access(path, os.R_OK):
            return f"{path} cannot be read: permission denied", False
        return None
