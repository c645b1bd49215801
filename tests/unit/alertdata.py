"""Builders for alert records and a clock the tests move by hand (no sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import yaml

from alerts.model import AlertEvent, alert_id_for
from alerts.policy import Policy, parse_policy

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Segment:
    """One segment's alert as the pipeline would number it: open, move, resolve."""

    def __init__(self, segment_id: str, opened_at: str = "2026-01-04T00:00:00Z", releasable_to=("ALL",),
                 countries: tuple[str, str] | None = None) -> None:
        self.segment_id = segment_id
        self.border = "-".join(segment_id.split("-")[:2])
        self.countries = countries or tuple(self.border.split("-"))
        self.opened_at = opened_at
        self.alert_id = alert_id_for(segment_id, opened_at)
        self.releasable_to = tuple(releasable_to)
        self.level, self.peak, self.seq = "none", "none", 0

    def _ev(self, transition: str, level: str) -> AlertEvent:
        order = ("none", "watch", "warning", "critical")
        prev, self.level, self.seq = self.level, level, self.seq + 1
        self.peak = max(self.peak, level, key=order.index)
        return AlertEvent(alert_id=self.alert_id, transition=transition, segment_id=self.segment_id,
                          border=self.border, countries=self.countries, level=level, previous_level=prev,
                          score=0.8, at=self.opened_at, opened_at=self.opened_at, seq=self.seq,
                          peak_level=self.peak, peak_score=0.8, summary=f"{level} on {self.segment_id}",
                          detector="reference", releasable_to=self.releasable_to,
                          resolved_at=self.opened_at if transition == "resolved" else None)

    def open(self, level: str = "warning") -> AlertEvent:
        return self._ev("opened", level)

    def move(self, level: str) -> AlertEvent:
        order = ("none", "watch", "warning", "critical")
        return self._ev("escalated" if order.index(level) > order.index(self.level) else "de-escalated", level)

    def resolve(self) -> AlertEvent:
        return self._ev("resolved", "none")


def policy_from(text: str, source: str = "policy.yml") -> Policy:
    return parse_policy(yaml.safe_load(text), source)


RECEIVERS = """
receivers:
  - {name: operators, role: operator, sinks: [{type: file, dir: out/ops}]}
  - {name: regional-desk, role: regional-desk, sinks: [{type: file, dir: out/desk}]}
  - {name: secretariat-KGZ, country: KGZ, sinks: [{type: file, dir: out/kgz}]}
  - {name: secretariat-TJK, country: TJK, sinks: [{type: file, dir: out/tjk}]}
  - {name: secretariat-UZB, country: UZB, sinks: [{type: file, dir: out/uzb}]}
"""
