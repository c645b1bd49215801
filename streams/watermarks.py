"""When may a quiet partition advance by wall clock? Measured on tick time, not processing time.

The worker's timer writes a tick (its wall-clock time) into every partition of every input
topic. A tick travels through ingest behind all input written before it and is
forwarded to every partition of ``segment-events``, so when partition P has seen ticks from
*every* input partition, the smallest of their times -- P's watermark -- is a time by which
everything produced earlier for P has reached P. P is idle when its watermark has moved
``idle_seconds`` past the watermark at its last input; then its open alerts may advance.

Processing-time idleness ("no input for 10 s here") is wrong after a rebalance or any pause
of the ingest stage: ticks queued behind the pause would advance segments whose older input
is still on its way. This rule cannot be fooled that way, because a tick cannot overtake
the input produced before it.
"""

from __future__ import annotations


class PartitionIdleness:
    """Per ``segment-events`` partition: marks of the input partitions, and when it last had input.

    After input, the partition's "busy" time is only known once *every* input partition has
    ticked again: the input was produced before the next tick of the partition it came
    through, so the largest mark at that point bounds its production time from above.
    """

    def __init__(self, sources: set[str], idle_seconds: float) -> None:
        self.sources = frozenset(sources)
        self.idle_seconds = idle_seconds
        self._marks: dict[int, dict[str, float]] = {}
        #: partition -> upper bound of its last input's production time; None while not known
        self._busy: dict[int, float | None] = {}
        #: partition -> input partitions that ticked since its last input
        self._since_input: dict[int, set[str]] = {}

    def forget(self) -> None:
        """Start over, as at start-up: after a rebalance.

        What this worker knew about a partition it held before is stale once the partition was
        away: another worker may have taken it past input this worker never saw, and an old "idle
        since" would advance its segments before the backlog that comes back with it is read.
        """
        self._marks.clear()
        self._busy.clear()
        self._since_input.clear()

    def snapshot(self, partition: int) -> dict:
        """What this partition's idleness is now, as JSON-able data (kept in the worker's table, so it
        survives a restart or a move to another worker)."""
        busy = self._busy.get(partition)
        return {"marks": dict(self._marks.get(partition, {})), "busy": busy,
                "since_input": sorted(self._since_input[partition]) if partition in self._since_input else None}

    def restore(self, partition: int, snap: dict) -> None:
        """Take up a partition where a snapshot left it (after :meth:`forget`, or at start-up).

        Safe however old the snapshot is, as long as it describes a prefix of the partition's log:
        input read again after it makes the partition busy again, and a tick older than a mark
        never lowers it, so the partition can only advance later than it might have, never earlier.
        """
        self._marks[partition] = {s: float(at) for s, at in snap.get("marks", {}).items() if s in self.sources}
        self._busy[partition] = None if snap.get("busy") is None else float(snap["busy"])
        if snap.get("since_input") is None:
            self._since_input.pop(partition, None)
        else:
            self._since_input[partition] = set(snap["since_input"]) & self.sources

    def watermark(self, partition: int) -> float | None:
        marks = self._marks.get(partition, {})
        if not self.sources <= marks.keys():
            return None  # some input partition has not ticked yet (start-up, or its ingest is down)
        return min(marks[s] for s in self.sources)

    def on_input(self, partition: int) -> None:
        self._busy[partition] = None
        self._since_input[partition] = set()

    def on_tick(self, partition: int, source: str, at: float) -> float | None:
        """Record a tick; return the wall time the partition may advance to, or None while busy."""
        marks = self._marks.setdefault(partition, {})
        marks[source] = max(at, marks.get(source, at))
        since = self._since_input.setdefault(partition, set())
        if self._busy.get(partition) is None:
            since.add(source)
            if not self.sources <= since:
                return None
            self._busy[partition] = max(marks.values())
        wm = self.watermark(partition)
        if wm is None or wm - self._busy[partition] < self.idle_seconds:
            return None
        return wm
