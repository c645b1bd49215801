"""Fold the alert log into rows and current state (alerts.csv, the feed, the page)."""

from __future__ import annotations

import csv
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from alerts.escalation import LEVEL_INDEX
from alerts.model import INCIDENT, AlertEvent

CSV_COLUMNS = ("alert_id", "border", "segment_id", "level", "opened_at", "resolved_at", "score", "summary", "kind")


@dataclass
class AlertHistory:
    """Current state per alert, built from the log; redelivered transitions are ignored.

    With ``keep_resolved``, only that many resolved alerts are kept, the most recently resolved:
    a long-running worker's memory stays flat however long it runs, and older history is read
    from the alerts topic (``backtest`` and ``alerts.csv`` keep everything: None).
    """

    alerts: dict[str, dict] = field(default_factory=dict)
    keep_resolved: int | None = None
    #: alert id -> whether someone still needs it (the notifier, until its resolution is told):
    #: the oldest resolved alert is not forgotten while pinned, and the next resolution retries
    pinned: Callable[[str], bool] | None = field(default=None, repr=False, compare=False)
    #: (segment_id, seq) of every transition folded and still remembered
    _seen: set[tuple[str, int]] = field(default_factory=set)
    #: segment_id -> the highest seq of a forgotten alert: anything at or below it was seen
    _forgotten_through: dict[str, int] = field(default_factory=dict)
    #: alert ids in the order they resolved (only with ``keep_resolved``)
    _resolved: deque = field(default_factory=deque)

    def add(self, ev: AlertEvent) -> bool:
        """Fold one transition in; False when it was a duplicate."""
        key = (ev.segment_id, ev.seq)
        if key in self._seen or ev.seq <= self._forgotten_through.get(ev.segment_id, 0):
            return False
        self._seen.add(key)
        cur = self.alerts.get(ev.alert_id)
        if cur is None:
            cur = {"alert_id": ev.alert_id, "border": ev.border, "segment_id": ev.segment_id,
                   "countries": list(ev.countries), "opened_at": ev.opened_at, "resolved_at": None,
                   "kind": getattr(ev, "kind", INCIDENT), "transitions": []}
            self.alerts[ev.alert_id] = cur
        if ev.transition in ("opened", "escalated"):
            cur["summary"] = ev.summary  # the summary (and explanation) of the alert's peak
            cur["explanation"] = getattr(ev, "explanation", None)
            # and where their figures may go: that transition's, not the latest one's
            cur["figures_releasable_to"] = list(ev.figures_releasable_to)
        cur.update(level=ev.level, score=ev.score, peak_level=ev.peak_level, peak_score=ev.peak_score,
                   detector=ev.detector, classification=ev.classification,
                   releasable_to=list(ev.releasable_to), evidence=list(ev.evidence), updated_at=ev.at,
                   history_releasable_to=list(ev.history_releasable_to),
                   seq=ev.seq)
        if ev.transition == "resolved":
            cur["resolved_at"] = ev.resolved_at or ev.at
            cur["level"] = "none"
        # each with its own release: the alert is shown by its latest, a transition by its own
        # (alerts.access.Principal.shown)
        cur["transitions"].append({"transition": ev.transition, "level": ev.level, "at": ev.at, "score": ev.score,
                                   "seq": ev.seq, "releasable_to": list(ev.releasable_to)})
        if ev.transition == "resolved" and self.keep_resolved is not None:
            self._resolved.append(ev.alert_id)
            while len(self._resolved) > self.keep_resolved:
                if self.pinned is not None and self.pinned(self._resolved[0]):
                    break
                self.forget(self._resolved.popleft())
        return True

    def forget(self, alert_id: str) -> None:
        """Drop a resolved alert from memory; its transitions, if read again, stay duplicates.

        Alerts of a segment resolve in the order of their seqs, so the segment's high mark of
        forgotten seqs replaces their keys in ``_seen``.
        """
        cur = self.alerts.pop(alert_id, None)
        if cur is None:
            return
        seqs = [t["seq"] for t in cur["transitions"]]
        seg = cur["segment_id"]
        self._forgotten_through[seg] = max(self._forgotten_through.get(seg, 0), *seqs)
        self._seen.difference_update((seg, s) for s in seqs)

    def extend(self, events: Iterable[AlertEvent]) -> "AlertHistory":
        for ev in events:
            self.add(ev)
        return self

    def open_alerts(self) -> list[dict]:
        return [a for a in self.all() if a["resolved_at"] is None]

    def all(self) -> list[dict]:
        return list(self.alerts.values())

    def level_by_segment(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.all():
            lvl = 0 if a["resolved_at"] else LEVEL_INDEX[a["level"]]
            out[a["segment_id"]] = max(out.get(a["segment_id"], 0), lvl)
        return out

    def rows(self) -> list[dict]:
        """alerts.csv rows: one per opening, with the alert's peak level and score."""
        return [{"alert_id": a["alert_id"], "border": a["border"], "segment_id": a["segment_id"],
                 "level": a["peak_level"], "opened_at": a["opened_at"], "resolved_at": a["resolved_at"] or "",
                 "score": f"{a['peak_score']:.4f}", "summary": a["summary"], "kind": a.get("kind", INCIDENT)}
                for a in sorted(self.all(), key=lambda a: (a["opened_at"], a["segment_id"]))]


def write_csv(rows: list[dict], out) -> None:
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
