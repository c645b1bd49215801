"""The web app's injected collaborators for tests, and :class:`Env`, the web app wired with them and
a token per role (tests only).

The worker's real :class:`alerts.web.context.Actions` produces events to the alerts topic and the feed
folds them; :class:`MemoryActions` folds straight into the history and tells the feed's
subscribers, which is what the web side observes either way. Notices are acknowledged by the
worker's own code (:func:`notice_actions`) over a real delivery log, so the web tests hold the
rules of ``alerts.access`` as the worker applies them.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from alerts.access import Principal
from alerts.history import AlertHistory
from alerts.model import AlertEvent, alert_id_for, decode_record
from alerts.notify.acks import NoticeAcks
from alerts.notify.archive import NoticeArchive, NoticeDownloads
from alerts.notify.delivery import DeliveryLog
from alerts.notify.notices import NoticeRenderer
from alerts.policy import load_policy
from alerts.state import AlertStore
from alerts.timefmt import iso, parse_time, utcnow
from alerts.web.app import build_web_app
from alerts.web.tokens import Authenticator, TokenFile
from streams.actions import WorkerActions
from streams.metrics import Metrics
from streams.segments import SegmentRegistry


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
                 clock: Callable[[], datetime] = utcnow, max_silence: timedelta = timedelta(days=30)) -> None:
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


#: Notices in the test delivery log, by id: the receiver each went to.
NOTICES = {"n-kgz": "secretariat-KGZ", "n-tjk": "secretariat-TJK", "n-desk": "regional-desk", "n-ops": "operators"}
NOTICE_SECRET = b"n" * 32


def worker_actions(data_dir: Path, clock: Callable[[], datetime], metrics: Metrics | None = None) -> WorkerActions:
    """The worker's own actions: notices acknowledged over a delivery log in ``data_dir`` that holds
    ``NOTICES``, each delivered an hour before ``clock()``; alert actions checked against the bundled
    policy and folded into ``.store`` as the feed would fold them from the alerts topic."""
    log = DeliveryLog.in_data_dir(data_dir)
    for notice_id, receiver in NOTICES.items():
        log.append({"kind": "delivered", "notice_id": notice_id, "sink": "file:notices", "receiver": receiver,
                    "group_key": "g", "at": iso(clock() - timedelta(hours=1)), "attempts": 1, "summary": {}})

    store = AlertStore(clock=clock)

    async def send(key: bytes, value: bytes) -> None:
        store.add(decode_record(value))

    return WorkerActions(load_policy(), store, send, clock, NoticeAcks(NOTICE_SECRET, log, metrics, clock=clock))


def notice_archive(data_dir: Path) -> NoticeArchive:
    """``NOTICES`` as the notifier keeps them for downloads (alerts/notify/archive.py), the Central
    Asian secretariats' in Russian."""
    from tests.notice_fixtures import BASE_URL, LANGUAGES, SECRET, WITH_LINE, request
    from tests.notice_fixtures import NOW as RENDERED

    archive = NoticeArchive(data_dir / "archive")
    render = archive.keeping(NoticeRenderer({"KGZ-TJK-07": WITH_LINE}.get, SECRET, BASE_URL, languages=LANGUAGES,
                                            clock=lambda: RENDERED))
    for notice_id, receiver in NOTICES.items():
        render(request(receiver, notice_id), None)
    return archive


TOKEN = "s3cret-token"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ROLES = ("operator", "engineer", "admin", "regional-desk", "secretariat:KGZ", "secretariat:TJK", "secretariat:UZB")


def history_events() -> list[AlertEvent]:
    return [
        alert_event("KGZ-TJK-07", level="warning"),
        alert_event("TJK-UZB-01", level="critical"),
        alert_event("KGZ-UZB", level="watch", releasable_to=("UZB",)),
        alert_event("KGZ-TJK-02", level="warning", releasable_to=("KGZ", "TJK"), summary="shared with both sides"),
        alert_event("KGZ-TJK-07", opened_at="2012-05-01T00:00:00Z", at="2012-05-01T00:00:00Z", seq=1),
        alert_event("KGZ-TJK-07", "resolved", "none", seq=2, opened_at="2012-05-01T00:00:00Z",
                    at="2012-05-20T00:00:00Z"),
    ]


def history() -> AlertHistory:
    return AlertHistory().extend(history_events())


#: Incidents as a segment keeps them (streams.pipeline.SegmentState.recent), newest last.
INCIDENTS = [
    {"event_id": "i-all", "day": 15536, "at": "2012-07-15T08:00:00Z", "category": "armed_clash", "fatalities": 2,
     "severity": 4, "classification": "public", "releasable_to": ["ALL"], "description": "public <script>",
     "source": "MIE 1.0"},
    {"event_id": "i-kgz", "day": 15537, "at": "2012-07-16T08:00:00Z", "category": "shelling", "fatalities": 1,
     "severity": 3, "classification": "restricted", "releasable_to": ["KGZ"], "description": "", "source": "kg-border"},
    {"event_id": "i-tjk", "day": 15537, "at": "2012-07-16T09:00:00Z", "category": "detention", "fatalities": 0,
     "severity": 2, "classification": "confidential", "releasable_to": ["TJK"], "description": "",
     "source": "tj-border"},
]
DAILY = [{"date": "2012-07-14", "incidents": 0, "fatalities": 0, "baseline": 0.2},
         {"date": "2012-07-15", "incidents": 1, "fatalities": 2, "baseline": 0.2},
         {"date": "2012-07-16", "incidents": 2, "fatalities": 1, "baseline": 0.3}]


class Env:
    """One app with a tokens file holding a token per role, the fakes, and a client.

    ``worker``: the worker's own actions for alerts too (:func:`worker_actions`), its store as the
    history, instead of :class:`MemoryActions` over an :class:`AlertHistory`.
    """

    def __init__(self, tmp_path, worker: bool = False, **kw):
        self.subscribers: set = set()
        self.file = TokenFile(tmp_path / "tokens.json")
        self.tokens = {role: self.file.add(role.replace(":", "-"), role, now=NOW) for role in ROLES}
        self.auth = Authenticator(self.file, clock=lambda: NOW)
        self.metrics = Metrics(CollectorRegistry())
        self.notices = worker_actions(tmp_path, lambda: NOW, self.metrics)
        if worker:
            self.history = self.notices.store.extend(history_events())
            self.actions = self.notices
        else:
            self.history = history()
            self.actions = MemoryActions(lambda: self.history, self.subscribers, clock=lambda: NOW)
        self.detail_calls: list[str] = []

        def detail(segment_id):
            self.detail_calls.append(segment_id)
            return {"incidents": INCIDENTS, "daily": DAILY} if segment_id == "KGZ-TJK-07" else {}

        downloads = NoticeDownloads(self.notices.acks.log, notice_archive(tmp_path), load_policy().receiver_principal)
        args = dict(auth=self.auth, segments=SegmentRegistry.default(), segment_detail=detail, actions=self.actions,
                    notice_actions=self.notices, notice_files=downloads, subscribers=self.subscribers, heartbeat=0.2,
                    clock=lambda: NOW)
        args.update(kw)
        self.app = build_web_app(lambda: self.history, lambda: b"borderwatch_up 1\n", TOKEN,
                                 lambda s: f"name of {s}", **args)

    def h(self, role: str) -> dict:
        return {"Authorization": f"Bearer {TOKEN if role == 'legacy' else self.tokens[role]}"}

    def run(self, check):
        async def main():
            async with TestClient(TestServer(self.app, host="127.0.0.1")) as client:
                return await check(client)
        return asyncio.run(main())
