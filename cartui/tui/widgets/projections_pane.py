"""The Projections pane: every read model as of the history cursor."""

from dataclasses import replace
from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Sparkline, Static

from ...projections import Projections
from ...store import format_timestamp, parse_timestamp
from .formatting import count, money

TOP_PRODUCTS = 5
# Beyond this many hours the sparkline shows only the hours that had events.
MAX_FILLED_HOURS = 24 * 366


def hourly_activity(activity: tuple[tuple[str, int], ...]) -> list[int]:
    """Events per hour from the first active hour to the last, quiet hours as 0."""
    if not activity:
        return []
    first, last = parse_timestamp(activity[0][0]), parse_timestamp(activity[-1][0])
    hours = int((last - first).total_seconds() // 3600) + 1
    if hours > MAX_FILLED_HOURS:
        return [n for _, n in activity]
    by_hour = dict(activity)
    return [by_hour.get(format_timestamp(first + timedelta(hours=h))[:13] + ":00:00Z", 0)
            for h in range(hours)]


def _figure_lines(width: int, groups: list[list[tuple[str, str]]]) -> Text:
    """Label/value pairs, each group starting a line, wrapped between pairs (never inside one)."""
    text = Text(end="")
    for number, pairs in enumerate(groups):
        if number:
            text.append("\n")
        used = 0
        for label, value in pairs:
            size = len(label) + 1 + len(value)
            if used and used + 3 + size > width:
                text.append("\n")
                used = 0
            elif used:
                text.append("   ")
                used += 3
            text.append(f"{label} ")
            text.append(value, "bold")
            used += size
    return text


class ProjectionsPane(VerticalScroll):
    """Carts by status, revenue and orders, top products, activity; and catch-up progress."""

    def compose(self) -> ComposeResult:
        yield Static(id="catch-up-label")
        yield ProgressBar(id="catch-up-bar", show_eta=False)
        yield Static(id="projection-figures")
        yield Static(id="top-products")
        yield Static(id="activity-label")
        yield Sparkline([], id="activity", summary_function=max)

    _shown: tuple[Projections, dict[str, str]] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            shown, self._shown = self._shown, None
            self.show(*shown)

    def show(self, p: Projections, product_names: dict[str, str]) -> None:
        if self._shown is not None and replace(self._shown[0], as_of_position=p.as_of_position) == p:
            return  # the event at the cursor moved no figure
        self._shown = (p, product_names)
        figures = _figure_lines(self.content_region.width - 1, [
            [("Open", count(p.carts_open)), ("Checked out", count(p.carts_checked_out)),
             ("Abandoned", count(p.carts_abandoned))],
            [("Orders", count(p.orders)), ("Revenue", money(p.revenue_cents)),
             ("Average", money(p.average_order_cents))],
        ])
        if p.undecodable:
            figures.append(f"\n{count(len(p.undecodable))} events could not be decoded",
                           "italic")
        self.query_one("#projection-figures", Static).update(figures)
        self.query_one("#top-products", Static).update(self._top_products(p, product_names))
        hours = hourly_activity(p.activity)
        label = Text("Activity", "bold")
        label.append(f"  events per hour, peak {max(hours)}" if hours else "  no events yet")
        self.query_one("#activity-label", Static).update(label)
        self.query_one("#activity", Sparkline).data = hours

    def _top_products(self, p: Projections, product_names: dict[str, str]) -> Text:
        """A small table as plain text (a rich Table re-renders on every repaint)."""
        ranked = sorted(p.products, key=lambda f: (-f.purchased_quantity, -f.added_quantity, f.sku))
        if not ranked:
            return Text.assemble(("Top products", "bold"), "  none added yet")
        rows = [(product_names.get(f.sku, f.sku), count(f.added_quantity),
                 count(f.removed_count), count(f.purchased_quantity))
                for f in ranked[:TOP_PRODUCTS]]
        headings = ("Top products", "added", "removed", "bought")
        widths = [max(len(headings[i]), *(len(r[i]) for r in rows)) for i in (1, 2, 3)]
        name_width = max(8, self.content_region.width - 1 - sum(w + 1 for w in widths))
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(headings[0].ljust(name_width)[:name_width], "bold")
        for heading, width in zip(headings[1:], widths):
            text.append(" " + heading.rjust(width), "bold")
        for name, *figures in rows:
            text.append("\n")
            text.append(name[:name_width - 1] + "…" if len(name) > name_width else
                        name.ljust(name_width))
            for figure, width in zip(figures, widths):
                text.append(" " + figure.rjust(width))
        return text

    def show_catch_up(self, label: str | None, done: int = 0, total: int = 0) -> None:
        """A projection checkpoint behind the head: say how far it has come (None: caught up)."""
        self.set_class(label is not None, "-catching-up")
        self.query_one("#catch-up-label", Static).update(Text(label or ""))
        bar = self.query_one("#catch-up-bar", ProgressBar)
        bar.update(total=max(total, 1), progress=done)
