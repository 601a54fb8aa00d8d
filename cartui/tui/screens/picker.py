"""What the pickers share: a filter input over a list whose highlighted row
up/down move while the user keeps typing."""

from typing import Iterable, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from .dialog import Dialog, ResultType


class PickerTable(DataTable, can_focus=False):
    """A table of choices that never takes focus: the filter input keeps it.
    There is always a highlighted row while there are rows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", show_row_labels=False, cell_padding=1)

    def show_rows(self, rows: Iterable[tuple[str, Sequence[Text]]], keep: str | None = None) -> None:
        """Replace the rows; highlight the row keyed `keep` when it is there,
        else the first (the best match, as a filter ranks them)."""
        self.clear()
        index = 0
        for i, (key, cells) in enumerate(rows):
            self.add_row(*cells, key=key)
            if key == keep:
                index = i
        if self.row_count:
            self.move_cursor(row=index)

    @property
    def highlighted_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value


class PickerDialog(Dialog[ResultType]):
    """A dialog with a PickerTable: list keys work from inside its inputs."""

    BINDINGS = [
        Binding("up", "list_up", "Move up the list", show=False),
        Binding("down", "list_down", "Move down the list", show=False),
        Binding("pageup", "list_page_up", "Page up the list", show=False),
        Binding("pagedown", "list_page_down", "Page down the list", show=False),
    ]

    @property
    def picker_table(self) -> PickerTable:
        return self.query_one(PickerTable)

    def action_list_up(self) -> None:
        self.picker_table.action_cursor_up()

    def action_list_down(self) -> None:
        self.picker_table.action_cursor_down()

    def action_list_page_up(self) -> None:
        self.picker_table.action_page_up()

    def action_list_page_down(self) -> None:
        self.picker_table.action_page_down()
