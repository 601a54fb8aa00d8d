"""The activity sparkline: events per hour, with bars measured from zero.

Textual's Sparkline scales from the lowest value to the highest, which reads
well for a price but not for a count: an hour of 2 events beside one of 4
would draw as no bar at all. Here a bar's height is its share of the peak, an
hour with any event shows at least the lowest bar, and a quiet hour none.
"""

from math import ceil
from typing import Sequence

from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.renderables._blend_colors import blend_colors
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.widgets import Sparkline

BARS = SparklineRenderable.BARS  # the same eight heights as Textual's


class ZeroBasedSparkline:
    """Bars of `data` (one per column; several values a column keep their largest)
    in `height` lines, each bar as tall as its share of the largest value."""

    def __init__(self, data: Sequence[int], *, width: int, height: int,
                 min_color: Color, max_color: Color) -> None:
        self.data, self.width, self.height = data, width, height
        self.min_color, self.max_color = min_color, max_color

    def columns(self) -> list[int]:
        """Each column's largest value; fewer values than columns are stretched across."""
        data = list(self.data)
        buckets = [max(bucket) for bucket in SparklineRenderable._buckets(data, self.width)]
        return [buckets[column * len(buckets) // self.width] for column in range(self.width)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        peak = max(self.data, default=0)
        if peak <= 0 or self.width <= 0:
            for line in range(self.height):
                yield Segment(" " * self.width)
                if line < self.height - 1:
                    yield Segment.line()
            return
        levels = len(BARS) * self.height
        columns = [(value, ceil(value * levels / peak) if value > 0 else 0)
                   for value in self.columns()]
        for line in reversed(range(self.height)):
            low = line * len(BARS)  # the levels below this line
            for value, level in columns:
                if level <= low:
                    yield Segment(" ")
                    continue
                bar = "█" if level >= low + len(BARS) else BARS[level - low - 1]
                yield Segment(bar, Style(color=blend_colors(self.min_color, self.max_color,
                                                            value / peak)))
            if line:
                yield Segment.line()


class ActivitySparkline(Sparkline):
    """Textual's Sparkline widget (its colours, its data), drawn from zero."""

    def render(self) -> ZeroBasedSparkline:
        _, base = self.background_colors
        min_color = base + self.get_component_styles("sparkline--min-color").color
        max_color = base + self.get_component_styles("sparkline--max-color").color
        return ZeroBasedSparkline(self.data or [], width=self.size.width, height=self.size.height,
                                  min_color=min_color.rich_color, max_color=max_color.rich_color)
