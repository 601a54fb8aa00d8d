"""The history cursor: where in the log the app is looking, and how it moves.

Pure Python (no textual import) so the rules of moving through history are
tested on their own: the cursor is a position between 0 (the empty world) and
the head (the present). At the head it is LIVE and follows new events; below
it, it is in the PAST and stays put while the log grows. A set of skipped
positions makes a what-if; playback speeds live here too.
"""

from dataclasses import dataclass, field

# (label, events per second), slowest first; None replays the recorded gaps between
# events. Real time is the slow end: people add to a cart seconds or minutes apart.
SPEEDS: tuple[tuple[str, float | None], ...] = (
    ("real time", None), ("1x", 2.0), ("2x", 4.0), ("10x", 20.0),
)
FIRST_SPEED = 1  # 1x
AT_THE_EMPTY_WORLD = "Position 0 is the empty world, before any event: step right first."
# "Real time" waits at most this long between two events: the demo history has
# gaps of hours that nobody wants to sit through.
LONGEST_REAL_TIME_GAP = 5.0
# And at least this long: events recorded at the same instant (or a time before the
# one of the event before, or no time at all) still play one after the other, and
# a Textual timer of 0 seconds never fires.
SHORTEST_REAL_TIME_GAP = 0.001
BIG_STEP = 100


@dataclass
class HistoryCursor:
    head: int = 0
    position: int = 0
    skipped: frozenset[int] = field(default_factory=frozenset)
    speed_index: int = FIRST_SPEED
    playing: bool = False

    # -- where we are ----------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """At the present: new events move the cursor with them."""
        return self.position == self.head

    @property
    def what_if(self) -> bool:
        return bool(self.skipped)

    @property
    def editable(self) -> bool:
        """Edits append at the head: only when the screen shows the head as stored."""
        return self.live and not self.what_if

    # -- moving ------------------------------------------------------------------------------

    def move_to(self, position: int) -> None:
        self.position = max(0, min(self.head, position))

    def step(self, delta: int) -> None:
        self.move_to(self.position + delta)

    def go_live(self) -> None:
        """Back to the present as stored: the head, nothing skipped."""
        self.position = self.head
        self.skipped = frozenset()

    def head_moved(self, head: int) -> None:
        """The log grew (this process or another appended); a live cursor follows."""
        was_live = self.live
        self.head = head
        if was_live or self.position > head:
            self.position = head

    # -- what-if -----------------------------------------------------------------------------

    def toggle_skip(self, position: int) -> bool:
        """Skip the event at `position`, or restore it if skipped. Returns True if now skipped."""
        if not 1 <= position <= self.head:
            raise ValueError(AT_THE_EMPTY_WORLD)
        if position in self.skipped:
            self.skipped = self.skipped - {position}
            return False
        self.skipped = self.skipped | {position}
        return True

    # -- playback ----------------------------------------------------------------------------

    @property
    def speed_label(self) -> str:
        return SPEEDS[self.speed_index][0]

    @property
    def real_time(self) -> bool:
        return SPEEDS[self.speed_index][1] is None

    def faster(self) -> bool:
        """One speed faster; False at the fastest already."""
        if self.speed_index == len(SPEEDS) - 1:
            return False
        self.speed_index += 1
        return True

    def slower(self) -> bool:
        """One speed slower; False at the slowest already."""
        if self.speed_index == 0:
            return False
        self.speed_index -= 1
        return True

    def delay_before_next(self, recorded_gap_seconds: float | None = None) -> float:
        """Seconds to wait before playing the next event at the current speed.

        In real time the recorded gap is replayed as is, within bounds."""
        per_second = SPEEDS[self.speed_index][1]
        if per_second is not None:
            return 1.0 / per_second
        gap = recorded_gap_seconds or 0.0
        return max(SHORTEST_REAL_TIME_GAP, min(LONGEST_REAL_TIME_GAP, gap))
