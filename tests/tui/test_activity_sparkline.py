"""The activity sparkline draws events per hour from zero: a bar's height is its
share of the busiest hour, a quiet hour draws nothing."""

from rich.color import Color
from rich.console import Console

from cartui.tui.widgets.activity_sparkline import ZeroBasedSparkline


def drawn(data, width: int, height: int = 1) -> list[str]:
    """The sparkline's lines as text, top line first."""
    sparkline = ZeroBasedSparkline(data, width=width, height=height,
                                   min_color=Color.parse("blue"), max_color=Color.parse("red"))
    console = Console(width=width, color_system=None)
    text = "".join(segment.text for segment in sparkline.__rich_console__(console, console.options))
    return text.split("\n")


def test_an_hour_of_half_the_peak_draws_half_a_bar():
    # Textual's own Sparkline scales from the lowest hour: 2 beside 4 drew as nothing.
    assert drawn([2, 4], width=2) == ["▄█"]


def test_quiet_hours_draw_nothing_and_any_event_draws_at_least_the_lowest_bar():
    assert drawn([0, 1, 1000], width=3) == [" ▁█"]


def test_two_lines_share_the_height():
    # 16 levels in two lines: 1 of 16 is the lowest bar, 8 fills the lower line.
    assert drawn([1, 8, 12, 16], width=4, height=2) == ["  ▄█", "▁███"]


def test_more_hours_than_columns_keep_each_columns_busiest_hour():
    assert drawn([0, 4, 0, 0, 2, 0], width=3) == ["█ ▄"]


def test_fewer_hours_than_columns_are_stretched_across():
    assert drawn([0, 5], width=4) == ["  ██"]


def test_no_events_draws_an_empty_line_not_a_baseline():
    assert drawn([], width=5, height=2) == ["     ", "     "]
    assert drawn([0, 0], width=2) == ["  "]
