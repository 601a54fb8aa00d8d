"""One event in full: what it says, how it is stored, and what it changed."""

from typing import Iterable

import orjson
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.widget import Widget
from textual.widgets import Static

from ...domain import CURRENT_SCHEMA_VERSION, CartState
from ...history import EventChange, LineChange
from ...money import money
from ...wording import exact_time
from ..widgets.formatting import literal
from .dialog import Dialog

ARROW = " → "
STATUS_WORDS = {"new": "not created", "open": "open", "checked_out": "checked out"}
MONEY_FIGURES = {"revenue (cents)": "revenue"}  # History's figure names counted in cents


def pretty_json(text: str) -> Content:
    """Stored JSON text, indented and highlighted; shown as it is if it does not parse."""
    try:
        text = orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return Content(literal(text))
    # orjson leaves DEL and C1 characters in strings as they are; its newlines stay.
    return highlight("\n".join(literal(line) for line in text.split("\n")), language="json")


def grid(rows: list[list[Content]], right_aligned: frozenset[int] = frozenset(),
         gap: int = 2) -> Content:
    """Rows of cells in aligned columns."""
    widths = [max(row[i].cell_length for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.right(width) if i in right_aligned else cell.pad_right(width - cell.cell_length)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        lines.append(Content(" " * gap).join(cells).rstrip())
    return Content("\n").join(lines)


def change(before: str, after: str) -> Content:
    return Content(before) if before == after else Content.assemble(before, ARROW, after)


def signed(n: int, is_money: bool = False) -> Content:
    text = money(n) if is_money else f"{n:,}"
    return Content.styled(("+" if n > 0 else "") + text, "$text-success" if n > 0 else "$text-error")


class EventDetailScreen(Dialog[None]):
    """The event at one position: its facts, stored data (and, for an upcast
    event, the stored schema and what it reads as), metadata, the change it
    made to its cart, the projection figures it moved, and the raw stored
    JSON line. Scrollable; enter or escape closes it (dismisses with None)."""

    CSS_PATH = ["dialog.tcss", "event_detail.tcss"]
    KEY_HINTS = [("↑↓", "scroll"), ("enter/esc", "close")]
    AUTO_FOCUS = "#event-detail-body"
    BINDINGS = [Binding("escape,enter", "close", "Close", tooltip="Close the event's detail")]

    def __init__(self, change: EventChange) -> None:
        super().__init__()
        self.change = change

    def dialog_title(self) -> Content:
        event = self.change.event
        return Content.assemble(f"Event {event.position:,} · ", literal(event.type))

    def action_close(self) -> None:
        self.dismiss(None)

    @property
    def upcast(self) -> bool:
        """Stored with an older schema and read as today's."""
        event = self.change.event
        return (self.change.decoded is not None
                and event.schema_version != CURRENT_SCHEMA_VERSION.get(event.type))

    def compose_body(self) -> Iterable[Widget]:
        event = self.change.event
        with VerticalScroll(id="event-detail-body"):
            yield from self.section("Event", self.facts())
            # What it did first: that is why one opens an event.
            yield from self.section(Content.assemble(
                "Change to cart ", literal(event.stream_id),
                (" in the what-if", "$text-warning") if self.change.in_what_if else ""),
                self.cart_change())
            yield from self.section("Projections moved", self.projection_change())
            if self.change.problem is not None:
                yield from self.section("Data (cannot be decoded)", Content.assemble(
                    (literal(self.change.problem), "$text-error"), "\n", pretty_json(event.data)))
            elif self.upcast:
                yield from self.section(f"Data as stored (schema {event.schema_version})",
                                        pretty_json(event.data))
                read_as = self.change.decoded.data_json
                yield from self.section(
                    f"Data as read, upcast to schema {CURRENT_SCHEMA_VERSION[event.type]}",
                    pretty_json(read_as))
            else:
                yield from self.section("Data", pretty_json(event.data))
            yield from self.section("Metadata", pretty_json(event.metadata))
            yield from self.section("Raw, as stored", Content(literal(event.export_line().decode())),
                                    classes="raw")

    @staticmethod
    def section(title: str | Content, body: Content, classes: str = "") -> Iterable[Widget]:
        yield Static(Content(title) if isinstance(title, str) else title, classes="section-title")
        yield Static(body, classes=f"section-body {classes}".strip())

    def facts(self) -> Content:
        event = self.change.event
        schema = Content(literal(event.schema_version))
        if self.upcast:
            schema = Content.assemble(
                f"{event.schema_version} as stored, read as {CURRENT_SCHEMA_VERSION[event.type]}",
                (" (upcast)", "$text-warning"))
        rows = [
            ("Position", Content(f"{event.position:,}")),
            ("Cart", Content(literal(event.stream_id))),
            ("Version", Content(literal(event.version))),
            ("Type", Content(literal(event.type))),
            ("Schema", schema),
            ("Recorded", Content(exact_time(event.recorded_at))),
        ]
        return grid([[Content.styled(name, "$text-muted"), value] for name, value in rows])

    def cart_change(self) -> Content:
        before, after = self.change.cart_before, self.change.cart_after
        parts: list[Content] = [grid([
            [Content.styled("Status", "$text-muted"),
             change(STATUS_WORDS.get(before.status, before.status),
                    STATUS_WORDS.get(after.status, after.status))],
            *([[Content.styled("Customer", "$text-muted"), Content(literal(after.customer))]]
              if after.customer is not None and after.customer != before.customer else []),
            [Content.styled("Version", "$text-muted"), change(str(before.version), str(after.version))],
            [Content.styled("Total", "$text-muted"), self.total_change(before, after)],
        ])]
        if self.change.left_out is not None:
            parts.append(Content.styled(f"{self.change.left_out[0].upper()}"
                                        f"{self.change.left_out[1:]}: it changes nothing.",
                                        "$text-warning"))
        elif self.change.lines:
            parts.append(self.line_changes(self.change.lines))
        elif self.change.problem is not None:
            parts.append(Content.styled("Undecodable: it changes nothing but the version.",
                                        "$text-muted"))
        return Content("\n\n").join(parts)

    @staticmethod
    def total_change(before: CartState, after: CartState) -> Content:
        total = change(money(before.total_cents), money(after.total_cents))
        delta = after.total_cents - before.total_cents
        return Content.assemble(total, "  (", signed(delta, is_money=True), ")") if delta else total

    @staticmethod
    def line_changes(lines: tuple[LineChange, ...]) -> Content:
        muted = "$text-muted"
        rows = [[Content.styled(h, f"{muted} bold") for h in ("", "Product", "SKU", "Qty", "Unit price")]]
        for line in lines:
            if line.quantity_before == 0:
                mark = Content.styled("+", "$text-success bold")
            elif line.quantity_after == 0:
                mark = Content.styled("−", "$text-error bold")
            else:
                mark = Content.styled("~", "$text-warning bold")
            prices = [money(p) for p in (line.unit_price_before, line.unit_price_after)
                      if p is not None]
            rows.append([mark, Content(literal(line.name)), Content(literal(line.sku)),
                         change(str(line.quantity_before), str(line.quantity_after)),
                         change(prices[0], prices[-1])])
        return grid(rows)

    def projection_change(self) -> Content:
        deltas = self.change.projection_deltas()
        if not deltas:
            return Content.styled("No projection figure moved.", "$text-muted")
        rows = []
        for name, (before, after) in deltas.items():
            is_money = name in MONEY_FIGURES
            shown = money if is_money else (lambda n: f"{n:,}")
            rows.append([Content(MONEY_FIGURES.get(name, name)), change(shown(before), shown(after)),
                         signed(after - before, is_money)])
        return grid(rows, right_aligned=frozenset({2}))
