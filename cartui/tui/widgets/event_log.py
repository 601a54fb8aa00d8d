"""The Events pane: the global log, one row per event, newest at the bottom.

A line-API ScrollView: it renders only the rows on screen, reading them from
the store a page at a time by position, so a log of a million events costs no
more than one of ten. Row i is position i + 1, or, while a filter is on, the
i-th matching position.
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...store import EventStore, RecordedEvent, UndecodableEvent
from .formatting import SHORT_TYPES, clock_time, count, day_and_time, event_summary, fit, literal

PAGE_SIZE = 64
CACHED_PAGES = 64


@dataclass(frozen=True)
class EventFilter:
    """What `/` typed: `cart:ID`, `type:NAME`, or plain text matched against
    the cart id, the type and the summary (case-insensitive)."""

    text: str

    @property
    def cart(self) -> str | None:
        return self.text[5:].strip() if self.text.startswith("cart:") else None

    @property
    def type(self) -> str | None:
        return self.text[5:].strip().lower() if self.text.startswith("type:") else None

    def matches(self, row: RecordedEvent, summary: Callable[[RecordedEvent], str]) -> bool:
        if self.cart is not None:
            return row.stream_id == self.cart
        if self.type is not None:
            kind = self.type
            return row.type.lower() == kind or SHORT_TYPES.get(row.type, "").lower() == kind
        needle = self.text.lower()
        return (needle in row.stream_id.lower() or needle in row.type.lower()
                or needle in summary(row).lower())


class EventLog(ScrollView, can_focus=True):
    """Rows: position, time, cart, type, summary. The cursor row is highlighted,
    rows after it are dimmed (they have not happened yet), skipped rows are struck."""

    COMPONENT_CLASSES = {
        "event-log--cursor",
        "event-log--future",
        "event-log--skipped",
        "event-log--broken",
        "event-log--position",
        "event-log--time",
        "event-log--cart",
        "event-log--undecodable",
        "event-log--CartCreated",
        "event-log--ItemAdded",
        "event-log--ItemQuantityChanged",
        "event-log--ItemRemoved",
        "event-log--CartCheckedOut",
    }

    class Clicked(Message):
        """A row was clicked: move the history cursor to its position."""

        def __init__(self, position: int) -> None:
            super().__init__()
            self.position = position

    def __init__(self, store: EventStore, decode, product_names: dict[str, str], *,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.store = store
        self.decode = decode
        self.product_names = product_names
        self.head = 0
        self.cursor = 0
        self.skipped: frozenset[int] = frozenset()
        self.broken: frozenset[int] = frozenset()  # illegal once the skipped events are gone
        self.selected_cart: str | None = None
        self.matches: list[int] | None = None  # positions shown while a filter is on
        self._pages: OrderedDict[int, list[RecordedEvent]] = OrderedDict()
        self._summaries: OrderedDict[int, tuple[str, bool]] = OrderedDict()
        self._cart_width = 4
        # Nothing is drawn until the rows are scrolled to the cursor once: a first frame
        # painted before the first resize would flash the top of the log.
        self._placed = False
        self.event_filter: EventFilter | None = None  # what found `matches`

    # -- what to show ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self.head if self.matches is None else len(self.matches)

    def show(self, *, head: int, cursor: int, skipped: frozenset[int],
             broken: frozenset[int] = frozenset(), selected_cart: str | None = None) -> None:
        if head != self.head:
            self._drop_partial_pages()
        self.head, self.cursor, self.skipped, self.broken = head, cursor, skipped, broken
        self.selected_cart = selected_cart
        self._update_size()
        self.refresh()
        self.scroll_to_cursor()

    def set_filter(self, matches: list[int] | None, event_filter: EventFilter | None = None) -> None:
        """Show only these positions, found by `event_filter` (None: every event)."""
        self.matches, self.event_filter = matches, event_filter
        self._pages.clear()
        self._update_size()
        self.refresh()
        self.scroll_to_cursor()

    def _update_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.row_count)

    def on_resize(self) -> None:
        self._update_size()
        self.scroll_to_cursor()

    def cursor_index(self) -> int:
        """The row of the cursor's event (or of the last event before it, when filtered)."""
        if self.matches is None:
            return self.cursor - 1
        from bisect import bisect_right
        return bisect_right(self.matches, self.cursor) - 1

    def scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        if not self._placed:
            self._placed = True
            self.refresh()
        if self.cursor >= self.head:  # live: the newest rows, at the bottom
            self._scroll_to_row(self.row_count - height)
            return
        index = max(0, self.cursor_index())
        margin = min(2, height // 4)
        top = round(self.scroll_y)
        if not top <= index < top + height:  # a jump: the cursor row mid-screen, with context
            top = index - height // 2
        elif index < top + margin:  # a step: scroll just enough
            top = index - margin
        elif index >= top + height - margin:
            top = index - height + margin + 1
        self._scroll_to_row(top)

    def _scroll_to_row(self, top: int) -> None:
        # Forced: rows that have just come (a filter after one that matched nothing)
        # have no scrollbar until the next layout, and without one nothing scrolls.
        self.scroll_to(y=max(0, top), animate=False, immediate=True, force=True)

    # -- reading rows ------------------------------------------------------------------------

    def _drop_partial_pages(self) -> None:
        for number in [n for n, page in self._pages.items() if len(page) < PAGE_SIZE]:
            del self._pages[number]

    def row_at(self, index: int) -> RecordedEvent | None:
        if not 0 <= index < self.row_count:
            return None
        number, offset = divmod(index, PAGE_SIZE)
        page = self._pages.get(number)
        if page is None:
            page = self._read_page(number)
            self._pages[number] = page
            while len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page[offset] if offset < len(page) else None

    def _read_page(self, number: int) -> list[RecordedEvent]:
        first = number * PAGE_SIZE
        if self.matches is None:
            return self.store.read_range(first + 1, min(first + PAGE_SIZE, self.head))
        rows = []
        for position in self.matches[first:first + PAGE_SIZE]:
            row = self.store.get(position)
            if row is not None:
                rows.append(row)
        return rows

    def summary(self, row: RecordedEvent) -> str:
        return self._described(row)[0]

    def _described(self, row: RecordedEvent) -> tuple[str, bool]:
        """(summary, whether the row decodes), cached: rows never change."""
        described = self._summaries.get(row.position)
        if described is None:
            try:
                self.decode(row)
                decodes = True
            except UndecodableEvent:
                decodes = False
            described = (event_summary(row, self.decode, self.product_names), decodes)
            self._summaries[row.position] = described
            if len(self._summaries) > PAGE_SIZE * CACHED_PAGES:
                self._summaries.popitem(last=False)
        return described

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if not self._placed:
            return Strip.blank(width, self.rich_style)
        row = self.row_at(scroll_y + y)
        if row is None:
            if y == 0 and self.row_count == 0:
                return self._empty_line(width)
            return Strip.blank(width, self.rich_style)
        if row.position == self.cursor:
            row_style = self.get_component_rich_style("event-log--cursor")
        elif row.position > self.cursor:
            row_style = self.get_component_rich_style("event-log--future")
        else:
            row_style = Style()
        text = self._row_text(row, width, muted=row.position > self.cursor)
        if text.cell_len > width:  # a cut summary says so ("@ 9" would read as a price)
            text.truncate(width, overflow="ellipsis")
        text.stylize_before(row_style)  # under the columns' own colours
        strip = Strip(text.render(self.app.console), text.cell_len)
        strip = strip.crop_extend(scroll_x, scroll_x + width, row_style)
        return strip.apply_style(self.rich_style).apply_meta({"position": row.position})

    def _empty_line(self, width: int) -> Strip:
        if self.matches is not None and self.event_filter and self.event_filter.cart is not None:
            # cart: finds a whole id, as stored (one index lookup, at any size of log).
            message = "No cart has exactly this id: / again, plain text finds part of one."
        elif self.matches is not None:
            message = "No event matches the filter: / changes or clears it."
        else:
            # Short enough for the Events pane at 80 columns.
            message = "No events yet: n creates a cart, ^p imports a file."
        text = Text(message, self.get_component_rich_style("event-log--future"), end="")
        return Strip(text.render(self.app.console)).crop_extend(0, width, self.rich_style)

    def _row_text(self, row: RecordedEvent, width: int, muted: bool = False) -> Text:
        """One row's columns; `muted` (not happened yet) drops their colours for the row's own."""
        style = (lambda name: Style()) if muted else self._column_style
        position_width = max(4, len(str(self.head)))
        when = day_and_time(row.recorded_at) if width >= 64 else clock_time(row.recorded_at)
        kind = literal(row.type) if width >= 96 else SHORT_TYPES.get(row.type) or literal(row.type)
        kind_width = 19 if width >= 96 else 10
        # The cart column is as wide as the longest id seen so far (it only grows, so
        # columns do not jump while scrolling), at most 14 cells.
        cart = literal(row.stream_id)
        self._cart_width = max(self._cart_width, min(14, cell_len(cart)))
        summary, decodes = self._described(row)
        if not decodes:
            kind_style = summary_style = style("event-log--undecodable")
        else:
            kind_style, summary_style = style(f"event-log--{row.type}"), Style()
        cart_style = style("event-log--cart")
        if row.stream_id == self.selected_cart and not muted:  # the Cart pane's cart stands out
            cart_style += Style(bold=True)
        text = Text.assemble(
            (str(row.position).rjust(position_width), style("event-log--position")), " ",
            (when, style("event-log--time")), " ",
            (fit(cart, self._cart_width), cart_style), " ",
            (fit(kind, kind_width), kind_style), " ",  # a type cartui does not know is cut
            (summary, summary_style),
            no_wrap=True, end="",
        )
        if self.skipped or self.broken:  # a what-if: every row keeps a column for the tag
            tag, tag_style = ("skip ", "event-log--skipped") if row.position in self.skipped \
                else ("gone ", "event-log--broken") if row.position in self.broken else ("     ", None)
            text = Text.assemble((tag, Style(bold=True)), text, no_wrap=True, end="")
            if tag_style:
                text.stylize(style(tag_style))
        return text

    def _column_style(self, name: str) -> Style:
        """A column's colour and text style without its background, so the cursor
        row's background shows through every column."""
        full = self.get_component_rich_style(name)
        return Style(color=full.color, bold=full.bold, dim=full.dim, italic=full.italic,
                     strike=full.strike)

    # -- mouse -------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        position = event.style.meta.get("position") if event.style else None
        if position is not None:
            self.post_message(self.Clicked(position))

    # -- the title ---------------------------------------------------------------------------

    def describe(self, filter_text: str | None, scanning: str | None = None) -> None:
        """The border title: "Events", the filter (as typed, shown literally) and counts."""
        title = Content("Events")
        if filter_text:
            shown = f"{count(self.row_count)} of {count(self.head)}"
            title = Content.assemble("Events · filter ", (literal(filter_text), "bold"), f" · {shown}")
        if scanning:
            title = Content.assemble(title, f" · {scanning}")
        self.border_title = title


def positions_matching(store: EventStore, event_filter: EventFilter,
                       summary: Callable[[RecordedEvent], str], first: int, last: int,
                       progress: Callable[[int], None] | None = None,
                       chunk: int = 20_000) -> list[int]:
    """Positions in first..last whose event matches the filter (the log is read in chunks)."""
    found: list[int] = []
    if event_filter.cart is not None:
        rows: Sequence[RecordedEvent] = list(store.read_all(first, stream_id=event_filter.cart,
                                                            up_to_position=last))
        return [r.position for r in rows]
    start = first
    while start <= last:
        end = min(last, start + chunk - 1)
        found.extend(r.position for r in store.read_range(start, end)
                     if event_filter.matches(r, summary))
        if progress is not None:
            progress(end)
        start = end + 1
    return found


