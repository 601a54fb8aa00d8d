"""The Projections pane: every read model as of the history cursor."""

from dataclasses import replace
from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import ProgressBar, Static

from ...projections import Projections
from ...store import format_timestamp, parse_timestamp
from .activity_sparkline import ActivitySparkline
from .formatting import count, literal, money

TOP_PRODUCTS = 5
# Beyond this many hours the sparkline shows only the hours that had events.
MAX_FILLED_HOURS = 24 * 366


def hourly_activity(activity: tuple[tuple[str, int], ...]) -> list[int]:
    """Events per hour from the first active hour to the last, quiet hours as 0."""
    if not activity:
        return []
    try:
        first, last = parse_timestamp(activity[0][0]), parse_timestamp(activity[-1][0])
    except ValueError:  # an hour another program wrote ("2026-13-45T10"): no calendar
        return [n for _, n in activity]
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
        top_products = Static(id="top-products")
        # "bought" can exceed "added": a quantity change adds no ItemAdded.
        top_products.tooltip = ("added    the quantities of ItemAdded\n"
                                "removed  ItemRemoved events\n"
                                "bought   the quantity at checkout,\n"
                                "         quantity changes included")
        yield top_products
        yield Static(id="activity-label")
        yield ActivitySparkline([], id="activity")

    _shown: tuple[Projections, dict[str, str]] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            shown, self._shown = self._shown, None
            self.show(*shown)

    def show(self, p: Projections, product_names: dict[str, str]) -> None:
        shown = self._shown
        if shown is not None and replace(shown[0], as_of_position=p.as_of_position) == p:
            return  # the event at the cursor moved no figure
        self._shown = (p, product_names)
        figures = _figure_lines(self.content_region.width - 1, [
            # Abandoned carts are open carts gone quiet: said so, not a third group.
            [("Open", count(p.carts_open)), ("of which abandoned", count(p.carts_abandoned)),
             ("Checked out", count(p.carts_checked_out))],
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
        label.append(f"  events per hour, peak {count(max(hours))}" if hours else "  no events yet")
        self.query_one("#activity-label", Static).update(label)
        self.query_one("#activity", ActivitySparkline).data = hours

    def _top_products(self, p: Projections, product_names: dict[str, str]) -> Text:
        """A small table as plain text (a rich Table re-renders on every repaint)."""
        ranked = sorted(p.products, key=lambda f: (-f.purchased_quantity, -f.added_quantity, f.sku))
        if not ranked:
            return Text.assemble(("Top products", "bold"), "  none added yet")
        rows = [(literal(product_names.get(f.sku, f.sku)), count(f.added_quantity),
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

    # -- catching up ---------------------------------------------------------------------------

    class Progress(Message):
        """From the catch-up worker: `done` of `total` events folded so far."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        def __init__(self, folded: int, error: str | None = None) -> None:
            super().__init__()
            self.folded, self.error = folded, error

    def show_catch_up(self, lag: "list | None", *, done: int = 0, total: int = 0,
                      rebuilding: bool = False) -> None:
        """Each stored projection's checkpoint against the head while a catch-up runs
        (`lag`: ProjectionLag items; None: caught up)."""
        self.set_class(lag is not None, "-catching-up")
        if lag is None:
            return
        head = max((p.head for p in lag), default=0)
        verb = "Rebuilding" if rebuilding else "Catching up"
        heading = f"{verb} the projections"
        figures = f"  {count(done)} of {count(total)} events" if total else ""
        width = self.content_region.width - 1
        if len(heading + figures) > width:  # narrow: the pane's title says what is caught up
            heading = verb
        if len(heading + figures) > width:
            figures = figures.removesuffix(" events")
        text = Text.assemble((heading, "bold"), figures, end="")
        for p in lag:
            line = f"  {p.projection:<10} checkpoint {count(p.position)} of {count(head)}"
            if len(line) > width:  # a narrow terminal: one projection a line all the same
                line = f"  {p.projection:<10} {count(p.position)} of {count(head)}"
            text.append("\n" + line)
        self.query_one("#catch-up-label", Static).update(text)
        self.query_one("#catch-up-bar", ProgressBar).update(total=max(total, 1), progress=done)

    def show_waiting(self) -> None:
        """The cursor is beyond what the checkpoints cover yet: no figures rather than a freeze."""
        self._shown = None
        self.query_one("#projection-figures", Static).update(Text(
            "The figures at this position appear as soon as the checkpoints reach it.",
            "italic"))
        self.query_one("#top-products", Static).update("")
        self.query_one("#activity-label", Static).update("")
        self.query_one("#activity", ActivitySparkline).data = []
