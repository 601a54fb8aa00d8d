"""What the export and import dialogs share: one path to type, refused inline."""

from pathlib import Path
from typing import ClassVar, Iterable

from textual import on
from textual.widget import Widget
from textual.widgets import Input, Static

from .dialog import Dialog, ErrorLine


def typed_path(text: str) -> Path:
    """The path in the field. A path typed or pasted after the folder the field
    starts with begins afresh where it begins with "/" or "~/" (as in Emacs):
    "/home/me//tmp/x.jsonl" is /tmp/x.jsonl, "/tmp/~/x.jsonl" is ~/x.jsonl."""
    starts = [text.rfind("//") + 1, text.rfind("/~/") + 1]  # 0 where there is none
    if text.endswith("/~"):
        starts.append(len(text) - 1)
    return Path(text[max(starts):]).expanduser()


class FileDialog(Dialog[str]):
    """Asks for a file, starting from `default_path`. Refuses an empty path, a folder
    and whatever `refusal` names; dismisses with the path (`~` expanded), or None."""

    CSS_PATH = ["dialog.tcss", "file_dialog.tcss"]
    AUTO_FOCUS = "#file-path"
    HINT: ClassVar[str] = ""
    WANTED: ClassVar[str] = ""  # "file to write": what the input asks for
    IN_A_FOLDER: ClassVar[str] = ""  # what to do when the path is a folder

    def __init__(self, default_path: str) -> None:
        super().__init__()
        self.default_path = default_path

    def compose_body(self) -> Iterable[Widget]:
        yield Static(self.HINT, classes="hint")
        yield Input(self.default_path, placeholder=self.WANTED, id="file-path",
                    select_on_focus=False)
        yield ErrorLine()

    def refusal(self, path: Path) -> tuple[str, bool] | None:
        """Why `path` will not do (and whether it is a warning that enter again
        overrides), or None when it will."""
        return None

    @on(Input.Changed)
    def forget_error(self) -> None:
        self.query_one(ErrorLine).clear()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        error = self.query_one(ErrorLine)
        text = event.value.strip()
        if not text:
            error.show(f"type the path of the {self.WANTED}")
            return
        path = typed_path(text)
        refusal = (f"{path} is a folder: {self.IN_A_FOLDER}", False) if path.is_dir() \
            else self.refusal(path)
        if refusal is not None:
            error.show(*refusal)
            return
        self.dismiss(str(path))
