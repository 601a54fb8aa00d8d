"""The footer: every key of the main screen, wrapped over as many lines as the width needs.

Textual's Footer is one line that scrolls sideways, so most of cartui's keys
would sit off screen. This bar shows them all; a key's label is clickable.
Bindings that share a `Binding.Group` show as one item ("←→ step").
"""

from itertools import groupby
from typing import Iterable

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static


class KeyBar(Static):
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}

    def __init__(self, bindings: Iterable[Binding], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bindings = [b for b in bindings if b.show]

    def items(self) -> list[tuple[str, str, str]]:
        """(keys, description, action of the first binding) per item, in order."""
        items = []
        for group, members in groupby(self.bindings, key=lambda b: b.group or id(b)):
            members = list(members)
            if isinstance(group, Binding.Group):
                keys = "".join(b.key_display or b.key for b in members)
                items.append((keys, group.description, members[0].action))
            else:
                b = members[0]
                items.append((b.key_display or b.key, b.description, b.action))
        return items

    def on_mount(self) -> None:
        self._layout()
        # The colours are baked into the text: draw it again in a new theme's.
        self.app.theme_changed_signal.subscribe(
            self, lambda _: self.call_after_refresh(self._layout))

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        width = self.content_region.width
        if width <= 0:
            return
        items = self.items()
        # Two spaces between items read best; one space when it saves a line.
        wide, tight = self._pack(items, width, 2), self._pack(items, width, 1)
        lines, gap = (wide, 2) if len(wide) <= len(tight) else (tight, 1)
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        text = Text(no_wrap=True, end="")
        for number, line in enumerate(lines):
            if number:
                text.append("\n")
            for index, (keys, description, action) in enumerate(line):
                if index:
                    text.append(" " * gap)
                click = Style(meta={"@click": action})
                text.append(keys, key_style + click)
                text.append(" " + description, description_style + click)
        self.update(text)
        # Set the height outright: a height computed from content lags one resize behind.
        self.styles.height = len(lines)

    @staticmethod
    def _pack(items: list[tuple[str, str, str]], width: int, gap: int) -> list[list]:
        """Items in lines of at most `width` cells, in order."""
        lines: list[list] = [[]]
        used = 0
        for item in items:
            size = cell_len(item[0]) + 1 + cell_len(item[1])
            if lines[-1] and used + gap + size > width:
                lines.append([])
                used = 0
            used += size + (gap if lines[-1] else 0)
            lines[-1].append(item)
        return lines
