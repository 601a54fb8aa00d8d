"""The History pane: where the cursor is (position, time, LIVE or PAST, playback)
and a slider over positions 0..head that answers the mouse."""

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ..cursor import HistoryCursor
from ...wording import full_time
from .formatting import count, day_and_time


class HistorySlider(Widget, can_focus=True):
    """A one-line track from position 0 (left) to the head (right); click or drag to move."""

    COMPONENT_CLASSES = {"history-slider--done", "history-slider--todo", "history-slider--knob",
                         "history-slider--skipped"}

    class Moved(Message):
        def __init__(self, position: int) -> None:
            super().__init__()
            self.position = position

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.position = 0
        self.head = 0
        self.skipped: frozenset[int] = frozenset()
        self._dragging = False

    def show(self, position: int, head: int, skipped: frozenset[int]) -> None:
        self.position, self.head, self.skipped = position, head, skipped
        self.refresh()

    def _x_of(self, position: int, width: int) -> int:
        return 0 if self.head == 0 else round(position * (width - 1) / self.head)

    def position_at(self, x: int) -> int:
        width = self.content_region.width
        if width <= 1 or self.head == 0:
            return 0
        return round(max(0, min(x, width - 1)) * self.head / (width - 1))

    def render(self) -> Text:
        width = max(1, self.content_region.width)
        knob = self._x_of(self.position, width)
        style = self.get_component_rich_style
        cells = ["━"] * knob + ["●"] + ["─"] * (width - knob - 1)
        text = Text(no_wrap=True, end="")
        text.append("".join(cells[:knob]), style("history-slider--done"))
        text.append(cells[knob], style("history-slider--knob"))
        text.append("".join(cells[knob + 1:]), style("history-slider--todo"))
        for position in self.skipped:
            x = self._x_of(position, width)
            if x != knob:
                text.stylize(style("history-slider--skipped"), x, x + 1)
        return text

    def _move_to(self, x: int) -> None:
        position = self.position_at(x)
        if position != self.position:
            self.post_message(self.Moved(position))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._dragging = True
        self.capture_mouse()
        self._move_to(event.x)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self._move_to(event.x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()


class HistoryBar(Widget):
    """Position, time at the cursor, LIVE / PAST, playback and what-if, above the slider."""

    COMPONENT_CLASSES = {"history-bar--live", "history-bar--past", "history-bar--what-if",
                         "history-bar--label", "history-bar--read-only"}

    def compose(self) -> ComposeResult:
        yield Static(id="history-info")
        yield HistorySlider(id="history-slider")

    def show(self, cursor: HistoryCursor, recorded_at: str | None, read_only: bool = False) -> None:
        """The info line; narrow screens get a short one that leaves the slider room beside it.
        `read_only`: the database cannot be written, so LIVE takes no edits either."""
        style = self.get_component_rich_style
        short = self.has_class("-compact")
        what_if = None
        if cursor.what_if:
            what_if = Text(f" WHAT-IF {len(cursor.skipped)} " if short else
                           f" WHAT-IF: {len(cursor.skipped)} skipped ", style("history-bar--what-if"))
        if not cursor.live:
            badge = Text(" PAST ", style("history-bar--past"))
        elif what_if is None:
            badge = Text(" LIVE ", style("history-bar--live"))
        else:  # at the head but not the present as stored (edits are off): no LIVE
            badge, what_if = what_if, None
        where = (f" {count(cursor.position)}/{count(cursor.head)}" if short else
                 f" position {count(cursor.position)} of {count(cursor.head)}")
        if recorded_at is None:
            when = " · start" if short else " · before the first event"
        else:
            when = " " + day_and_time(recorded_at) if short else " · " + full_time(recorded_at)
        state = "▶" if cursor.playing else "‖"
        if not short:
            state += " playing" if cursor.playing else " paused"
        parts = [badge, Text(where), Text(when),
                 Text(f" · {state} {cursor.speed_label}", style("history-bar--label"))]
        if read_only:
            parts.append(Text(" · read-only", style("history-bar--read-only")))
        if what_if is not None:
            parts += [Text(" "), what_if]
        if short:
            parts.append(Text(" "))
        info = self.query_one("#history-info", Static)
        # One line, so no new layout; except narrow, where its width is its content's.
        info.update(Text.assemble(*parts, no_wrap=True), layout=short)
        self.query_one(HistorySlider).show(cursor.position, cursor.head, cursor.skipped)
