"""The projections as folds that can start at any checkpoint, not only at zero.

`fold_projections` (model.py) defines the figures; this is the same fold,
cut into one class per projection so that its figures can be saved at a
position (a checkpoint) and the fold resumed from there. Catch-up, rebuild
and time travel all run this one `Fold`.

What a checkpoint holds is only the figures (counts, sums, the current
hour): no copy of any cart. A fold that starts at checkpoint C and meets a
cart that began before C asks for what it needs as of C: the cart's status
(`proj_cart_status`) when the cart changes status, and the cart's lines (its
own stream) only when the cart checks out.
"""

from ..store import UndecodableEvent, starts_like_timestamp
from ..store.readmodels import ReadModelStore
from .facts import read_fact
from .summaries import CartSummariesProjection

OPEN, CHECKED_OUT = "open", "checked_out"
_UNKNOWN = object()


class CartsAsOfStart:
    """Carts as of the fold's start: which carts began inside the fold, and what
    the others were at the start, asked only when needed."""

    def __init__(self, readmodels: ReadModelStore | None, start: int) -> None:
        self.readmodels = readmodels
        self.start = start
        self.began_here: set[str] = set()  # carts whose first event (version 1) the fold met

    def knows_from_scratch(self, stream_id: str) -> bool:
        """True when no event of the cart can lie before the fold's start."""
        return self.start == 0 or stream_id in self.began_here

    def statuses(self, stream_ids) -> dict[str, str | None]:
        return self.readmodels.statuses_at(stream_ids, self.start)

    def lines(self, stream_id: str) -> dict[str, int]:
        lines: dict[str, int] = {}
        rows = self.readmodels.stream_fold_rows(stream_id, self.start)
        for position, _, version, type_, schema_version, data, _ in rows:
            try:
                fact = read_fact(type_, schema_version, data, position, version)
            except UndecodableEvent:
                continue
            apply_line(lines, type_, fact)
        return lines


def apply_line(lines: dict[str, int], type_: str, fact: tuple) -> None:
    """A cart's lines (sku -> quantity) as the projections count them."""
    if type_ == "ItemAdded":
        lines[fact[0]] = lines.get(fact[0], 0) + fact[1]
    elif type_ == "ItemQuantityChanged":
        lines[fact[0]] = fact[1]
    elif type_ == "ItemRemoved":
        lines.pop(fact[0], None)


class CartsProjection:
    """Open and checked-out carts. Persists each status change (proj_cart_status),
    which is what a later fold asks about carts that began before it."""

    name = "carts"

    def __init__(self, figures: dict | None, as_of_start: CartsAsOfStart) -> None:
        self.open = figures["open"] if figures else 0
        self.checked_out = figures["checked_out"] if figures else 0
        self.as_of_start = as_of_start
        self.statuses: dict[str, str | None] = {}  # as of the fold's position, for carts met
        self.new_statuses: list[tuple[str, int, str]] = []  # to persist

    def figures(self) -> dict:
        return {"open": self.open, "checked_out": self.checked_out}

    def set_status(self, stream_id: str, position: int, status: str) -> None:
        before = self.statuses.get(stream_id, _UNKNOWN)
        if before is _UNKNOWN:
            before = None if self.as_of_start.knows_from_scratch(stream_id) \
                else self.statuses_of([stream_id])[stream_id]
        if before == OPEN:
            self.open -= 1
        elif before == CHECKED_OUT:
            self.checked_out -= 1
        if status == OPEN:
            self.open += 1
        else:
            self.checked_out += 1
        self.statuses[stream_id] = status
        self.new_statuses.append((stream_id, position, status))

    def statuses_of(self, stream_ids) -> dict[str, str | None]:
        """The status of each cart as of the fold's position (None: never created)."""
        found, ask = {}, []
        for stream_id in stream_ids:
            status = self.statuses.get(stream_id, _UNKNOWN)
            if status is not _UNKNOWN:
                found[stream_id] = status
            elif self.as_of_start.knows_from_scratch(stream_id):
                found[stream_id] = None
            else:
                ask.append(stream_id)
        if ask:  # carts the fold has not seen change: as they were at its start
            asked = self.as_of_start.statuses(ask)
            self.statuses.update(asked)
            found.update(asked)
        return found

    def take_new_statuses(self) -> list[tuple[str, int, str]]:
        taken, self.new_statuses = self.new_statuses, []
        return taken


class RevenueProjection:
    """Orders and revenue: every CartCheckedOut and its recorded total."""

    name = "revenue"

    def __init__(self, figures: dict | None) -> None:
        self.orders = figures["orders"] if figures else 0
        self.revenue_cents = figures["revenue_cents"] if figures else 0

    def figures(self) -> dict:
        return {"orders": self.orders, "revenue_cents": self.revenue_cents}

    def checked_out(self, total_cents: int) -> None:
        self.orders += 1
        self.revenue_cents += total_cents


class ProductsProjection:
    """Per sku: quantity added, ItemRemoved events, quantity in carts at checkout."""

    name = "products"

    def __init__(self, figures: dict | None, as_of_start: CartsAsOfStart) -> None:
        self.products: dict[str, list[int]] = (
            {sku: list(f) for sku, f in figures.items()} if figures else {})
        self.as_of_start = as_of_start
        self.lines: dict[str, dict[str, int]] = {}  # carts whose lines the fold knows
        # Carts that began before the fold: their line events, applied to the
        # lines they had at the start only if they check out (rarely asked).
        self.pending: dict[str, list[tuple[str, tuple]]] = {}

    def figures(self) -> dict:
        return {sku: list(f) for sku, f in self.products.items()}

    def _figures(self, sku: str) -> list[int]:
        figures = self.products.get(sku)
        if figures is None:
            figures = self.products[sku] = [0, 0, 0]
        return figures

    def _lines_or_pending(self, stream_id: str, type_: str, fact: tuple) -> dict | None:
        """The cart's lines if the fold can know them, else None with the event kept aside."""
        if self.as_of_start.knows_from_scratch(stream_id):
            lines = self.lines[stream_id] = {}
            return lines
        self.pending.setdefault(stream_id, []).append((type_, fact))
        return None

    # The event handlers take the row's fact as one tuple (facts.py): a call that
    # unpacks it (*fact) costs twice as much, and a rebuild makes a million.

    def item_added(self, stream_id: str, position: int, fact: tuple) -> None:
        sku, quantity = fact[0], fact[1]
        figures = self.products.get(sku) or self._figures(sku)
        figures[0] += quantity
        lines = self.lines.get(stream_id)
        if lines is None:
            lines = self._lines_or_pending(stream_id, "ItemAdded", fact)
            if lines is None:
                return
        lines[sku] = lines.get(sku, 0) + quantity

    def quantity_changed(self, stream_id: str, position: int, fact: tuple) -> None:
        sku, quantity = fact
        lines = self.lines.get(stream_id)
        if lines is None:
            lines = self._lines_or_pending(stream_id, "ItemQuantityChanged", fact)
            if lines is None:
                return
        lines[sku] = quantity

    def removed(self, stream_id: str, position: int, fact: tuple) -> None:
        sku = fact[0]
        figures = self.products.get(sku) or self._figures(sku)
        figures[1] += 1
        lines = self.lines.get(stream_id)
        if lines is None:
            lines = self._lines_or_pending(stream_id, "ItemRemoved", fact)
            if lines is None:
                return
        lines.pop(sku, None)

    def checked_out(self, stream_id: str) -> None:
        lines = self.lines.get(stream_id)
        if lines is None:
            if self.as_of_start.knows_from_scratch(stream_id):
                lines = self.lines[stream_id] = {}
            else:  # began before the fold: its lines at the start, then what the fold met
                lines = self.lines[stream_id] = self.as_of_start.lines(stream_id)
                for type_, fact in self.pending.pop(stream_id, ()):
                    apply_line(lines, type_, fact)
        for sku, quantity in lines.items():
            self._figures(sku)[2] += quantity


class ActivityProjection:
    """Events per hour (by recorded_at). A checkpoint holds only the current hour's
    count: earlier hours are final once the log has moved past them, since
    recorded_at never decreases in position order. (Fold.apply counts the rows.)"""

    name = "activity"

    def __init__(self, figures: dict | None) -> None:
        self.hour: str | None = figures["hour"] if figures else None  # "YYYY-MM-DDTHH"
        self.hour_events: int = figures["events"] if figures else 0
        self.start_hour, self.start_events = self.hour, self.hour_events  # at the checkpoint
        self.counts: dict[str, int] = {}  # per hour, the events this fold met (not yet persisted)

    def figures(self) -> dict:
        return {"hour": self.hour, "events": self.hour_events}

    def take_counts(self) -> dict[str, int]:
        """Events per hour ("YYYY-MM-DDTHH:00:00Z") met since the last take."""
        taken, self.counts = self.counts, {}
        return {hour + ":00:00Z": n for hour, n in taken.items()}


# The projections whose figures are in the checkpoints: they answer as of any position.
FIGURE_NAMES = (CartsProjection.name, RevenueProjection.name, ProductsProjection.name,
                ActivityProjection.name)
# Every stored projection: the cart summaries answer as of the tip only.
PROJECTION_NAMES = (*FIGURE_NAMES, CartSummariesProjection.name)


class Fold:
    """Every projection, folded forward from a checkpoint (or from zero). The cart
    summaries only when asked (`summaries`): they fold from the stored tip alone,
    which is what catching up does and time travel never does."""

    def __init__(self, readmodels: ReadModelStore | None, start: int = 0,
                 figures: dict | None = None, summaries: bool = False) -> None:
        figures = figures or {}
        self.start = self.position = start
        self.as_of_start = CartsAsOfStart(readmodels, start)
        self.carts = CartsProjection(figures.get("carts"), self.as_of_start)
        self.revenue = RevenueProjection(figures.get("revenue"))
        self.products = ProductsProjection(figures.get("products"), self.as_of_start)
        self.activity = ActivityProjection(figures.get("activity"))
        self.summaries = CartSummariesProjection(readmodels, start) if summaries else None
        self.undecodable: list[tuple[int, str]] = []  # met by this fold: (position, reason)
        self.last_recorded_at: str | None = None  # of the last row folded

    def figures(self) -> dict:
        """What a checkpoint stores."""
        return {p.name: p.figures()
                for p in (self.carts, self.revenue, self.products, self.activity)}

    def checked_out(self, stream_id: str, position: int, fact: tuple) -> None:
        self.carts.set_status(stream_id, position, CHECKED_OUT)
        self.revenue.checked_out(fact[0])
        self.products.checked_out(stream_id)

    def created(self, stream_id: str, position: int, fact: tuple) -> None:
        self.carts.set_status(stream_id, position, OPEN)

    def apply(self, rows, checkpoint_every: int = 0) -> list[tuple[int, dict]]:
        """Fold rows (FOLD_COLUMNS tuples, in position order, after self.position).

        Returns the figures at each position that is a multiple of
        `checkpoint_every` (when given): the checkpoints to store.
        """
        # The hot loop of every rebuild: one handler call per decodable row (two with
        # the summaries), and the hour counted inline (a run of rows shares an hour:
        # time only grows).
        handlers = {"CartCreated": self.created, "ItemAdded": self.products.item_added,
                    "ItemQuantityChanged": self.products.quantity_changed,
                    "ItemRemoved": self.products.removed, "CartCheckedOut": self.checked_out}
        began_here = self.as_of_start.began_here
        activity = self.activity
        counts = activity.counts
        hour, hour_events = activity.hour, activity.hour_events
        summaries = self.summaries
        if summaries is not None:
            summary_carts, meet, summary_handlers = summaries.carts, summaries.meet, summaries.handlers
        checkpoints = []
        position = recorded_at = None
        for position, stream_id, version, type_, schema_version, data, recorded_at in rows:
            if version == 1:
                began_here.add(stream_id)
            if recorded_at.startswith(hour or "\0"):
                hour_events += 1
                counts[hour] = counts.get(hour, 0) + 1
            elif starts_like_timestamp(recorded_at):  # not text another program wrote there
                hour, hour_events = recorded_at[:13], 1
                counts[hour] = counts.get(hour, 0) + 1
            if summaries is not None:  # every row counts, an undecodable one too
                cart = summary_carts.get(stream_id) or meet(stream_id, position, version)
                cart.version += 1
                cart.last_position, cart.last_recorded_at = position, recorded_at
            try:
                fact = read_fact(type_, schema_version, data, position, version)
            except UndecodableEvent as exc:
                self.undecodable.append((position, exc.reason))
            else:
                handlers[type_](stream_id, position, fact)
                if summaries is not None:
                    summary_handlers[type_](cart, fact)
            if checkpoint_every and position % checkpoint_every == 0:
                activity.hour, activity.hour_events = hour, hour_events
                checkpoints.append((position, self.figures()))
        activity.hour, activity.hour_events = hour, hour_events
        if position is not None:
            self.position, self.last_recorded_at = position, recorded_at
        return checkpoints

    def advance_to(self, position: int) -> None:
        """The fold has met every row up to `position` (positions may have gaps)."""
        self.position = max(self.position, position)
