"""Prometheus Alertmanager: each alert of a notice posted to ``/api/v2/alerts``.

Alertmanager identifies an alert by its label set, so posting the same notice
twice updates one alert instead of adding a second: the API is idempotent by
design. Labels: ``alertname=BorderEscalation``, ``alert_id``, ``segment_id``,
``border``, ``severity`` (the current level) and ``receiver``. On every send
the other severities of the same alert are posted as resolved, so an escalation
from warning to critical leaves one active alert, not two.

Alertmanager resolves an alert nobody refreshes at its ``endsAt``; a notice is
not resent on every evaluation the way Prometheus resends, so an active alert's
``endsAt`` is the notice time plus ``ttl`` seconds (default 1 day: keep it above
the policy's repeat_interval). A resolved alert ends at the notice time.

Config: ``{type: alertmanager, url: http://alertmanager:9093, ttl?: 86400, timeout?: 10}``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Mapping

from alerts.escalation import LEVELS
from alerts.model import ALERTNAME
from alerts.notify.model import Notice, Section
from alerts.notify.sinks.base import Sink, check_keys, check_positive, check_url
from alerts.notify.sinks.http import post
from alerts.timefmt import parse_iso, rfc3339_millis

SEVERITIES = LEVELS[1:]


class AlertmanagerSink(Sink):
    type = "alertmanager"
    REQUIRED = {"url": str}
    OPTIONAL = {"ttl": (int, float), "timeout": (int, float)}

    def __init__(self, url: str, *, ttl: float = 86400.0, timeout: float = 10.0, name: str | None = None) -> None:
        self.url, self.ttl, self.timeout = url.rstrip("/"), ttl, timeout
        self.name = name or f"alertmanager:{self.url}"

    @classmethod
    def check_values(cls, config: Mapping[str, Any]) -> None:
        check_url(config)
        check_positive(config, "ttl", "timeout")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "AlertmanagerSink":
        check_keys(config, cls)
        return cls(config["url"], ttl=float(config.get("ttl", 86400)), timeout=float(config.get("timeout", 10)),
                   name=config.get("name"))

    def alerts(self, notice: Notice) -> list[dict[str, Any]]:
        """The v2 API body for a notice."""
        now = parse_iso(notice.created_at)
        notice_url = notice.ack_url.split("?", 1)[0]  # never the token: it acknowledges as the desk
        out = []
        for s in notice.sections:
            current = None if s.resolved_at else s.level
            for severity in SEVERITIES:
                active = severity == current
                ends = now + timedelta(seconds=self.ttl) if active else now
                starts = min(parse_iso(s.opened_at), ends)
                out.append({"labels": self._labels(notice, s, severity),
                            "annotations": {"summary": s.summary, "trend": s.trend, "notice_id": notice.notice_id,
                                            "notice_url": notice_url, "peak_level": s.peak_level,
                                            "evidence_incidents": str(len(s.evidence))},
                            "startsAt": rfc3339_millis(starts), "endsAt": rfc3339_millis(ends), "generatorURL": notice_url})
        return out

    @staticmethod
    def _labels(notice: Notice, s: Section, severity: str) -> dict[str, str]:
        return {"alertname": ALERTNAME, "alert_id": s.alert_id, "segment_id": s.segment_id, "border": s.border,
                "severity": severity, "receiver": notice.receiver}

    def send(self, notice: Notice) -> None:
        post(self.url + "/api/v2/alerts", json.dumps(self.alerts(notice)).encode(), {}, self.timeout, "alertmanager")
