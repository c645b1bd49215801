"""In-memory stand-ins for the web app's injected collaborators (tests only).

The worker's real :class:`alerts.web.Actions` produces events to the alerts topic and the feed
folds them; this one folds straight into the history and tells the feed's subscribers, which is
what the web side observes either way.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Callable

from alerts.policy import load_policy
from alerts.access import Principal
from alerts.history import AlertHistory
from alerts.model import AlertEvent, alert_id_for
from alerts.tokens import iso, parse_time, utc_now


def alert_event(seg: str, transition: str = "opened", level: str = "warning", seq: int = 1,
                at: str = "2012-07-17T00:00:00Z", opened_at: str = "2012-07-17T00:00:00Z",
                releasable_to: tuple[str, ...] = ("ALL",), summary: str = "x <b>y</b>") -> AlertEvent:
    border = "-".join(seg.split("-")[:2])
    return AlertEvent(alert_id=alert_id_for(seg, opened_at), transition=transition, segment_id=seg,
                      border=border, countries=tuple(border.split("-")), level=level, previous_level="none",
                      score=0.8, at=at, opened_at=opened_at, seq=seq, peak_level=level if level != "none" else "warning",
                      peak_score=0.8, summary=summary, detector="reference", releasable_to=releasable_to,
                      resolved_at=at if transition == "resolved" else None)


class MemoryActions:
    """Acknowledgements and silences kept in memory, with the policy's two silence guardrails."""

    def __init__(self, history: Callable[[], AlertHistory], subscribers: set | None = None,
                 clock: Callable[[], datetime] = utc_now, max_silence: timedelta = timedelta(days=30)) -> None:
        self.history, self.subscribers, self.clock, self.max_silence = history, subscribers, clock, max_silence
        self._silences: list[dict] = []
        self._ids = itertools.count(1)
        self.calls: list[tuple] = []

    async def acknowledge(self, alert_id: str, principal: Principal, until: datetime | None, comment: str) -> dict:
        self.calls.append(("acknowledge", alert_id, principal, until, comment))
        a = self.history().alerts.get(alert_id)
        if a is None:
            raise LookupError(f"no alert {alert_id}")
        if a["resolved_at"]:
            raise ValueError(f"{alert_id} is resolved; there is nothing to acknowledge")
        now = iso(self.clock())
        ack = {"by": principal.name, "until": iso(until) if until else None, "comment": comment, "at": now}
        a["acknowledged"] = ack
        a["transitions"].append({"transition": "acknowledged", "level": a["level"], "at": now, "score": a["score"]})
        event = {"alert_id": alert_id, "transition": "acknowledged", "segment_id": a["segment_id"],
                 "border": a["border"], "countries": a["countries"], "releasable_to": a["releasable_to"], **ack}
        for q in list(self.subscribers or ()):
            q.put_nowait(event)
        await asyncio.sleep(0)
        return event

    async def silence(self, matchers: dict[str, str], principal: Principal, until: datetime, comment: str) -> dict:
        self.calls.append(("silence", matchers, principal, until, comment))
        if not {"border", "segment_id"} & set(matchers):
            raise ValueError("a silence must name at least a border or a segment")
        if until - self.clock() > self.max_silence:
            raise ValueError(f"a silence may last at most {self.max_silence.days} days")
        s = {"silence_id": f"si-{next(self._ids)}", "matchers": dict(matchers), "until": iso(until),
             "by": principal.name, "comment": comment, "created": iso(self.clock())}
        self._silences.append(s)
        return s

    def silences(self) -> list[dict]:
        now = self.clock()
        return [s for s in self._silences if parse_time(s["until"]) > now]


class MemoryNotices:
    """Notices by id -> receiver; acknowledging one addressed elsewhere is refused."""

    def __init__(self, receivers: dict[str, str]) -> None:
        self.receivers = receivers
        self.acks: list[dict] = []

    async def acknowledge_notice(self, notice_id: str, principal: Principal, comment: str) -> dict:
        receiver = self.receivers.get(notice_id)
        if receiver is None:
            raise LookupError(f"no notice {notice_id}")
        mine = set(load_policy().receivers_of(principal))
        if receiver not in mine:
            raise PermissionError(f"notice {notice_id} went to {receiver}, not to {principal.role_string}")
        ack = {"notice_id": notice_id, "receiver": receiver, "by": principal.name, "comment": comment}
        self.acks.append(ack)
        return ack
