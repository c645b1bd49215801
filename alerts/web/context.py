"""The one object every web handler works over: the app's collaborators (:class:`WebContext`),
what the caller of a request may see through them, how a handler answers with an error
(:class:`Problem`, or :func:`error`'s JSON body) and reads a form, and the request limits every
route and the API's description share.

The app changes nothing itself. Acknowledging and silencing go through an injected
:class:`Actions` (the worker's produces events to the alerts topic, the audit log); notice
acknowledgements through :class:`NoticeActions`; a segment's recent incidents come from an
injected ``segment_detail``. Routes whose collaborator is not wired answer 501.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable, Mapping, Protocol

from aiohttp import web

from borderwatch.errors import BorderwatchError
from alerts.access import Principal, daily_from
from alerts.borders import border_of_segment, is_iso3, states_of
from alerts.escalation import LEVEL_INDEX
from alerts.history import AlertHistory
from alerts.model import is_arms_race
from alerts.notify.acks import OnBehalf
from alerts.notify.brief import stretch_title
from alerts.notify.i18n import SOURCE_LANGUAGE, translations
from alerts.policy import Policy
from alerts.web.live import LiveFeed
from alerts.web.tokens import Authenticator

@dataclass(frozen=True)
class Waiting:
    """What ``ready`` gives while the worker cannot process input for a reason it does not fail for
    (its broker does not answer): /health answers 200, not ready, with the reason."""

    reason: str


#: What an id in a path may be (alert, notice, segment ids): a route whose id does not match answers 404.
PATH_ID = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}"
# aiohttp >= 3.13 types request storage; older ones take strings.
PRINCIPAL: Any = web.RequestKey("principal", Principal) if hasattr(web, "RequestKey") else "principal"
TOKEN: Any = web.RequestKey("token", str) if hasattr(web, "RequestKey") else "token"
#: The largest request body read; the biggest real one is a silence with a 2000-character comment.
MAX_BODY_BYTES = 64 * 1024
#: The longest request line (path and query) and header line aiohttp's parser takes; longer is 400.
MAX_LINE_BYTES = 8190


class Actions(Protocol):
    """What the operator's buttons do. The worker's implementation produces the events that
    :mod:`alerts.state` returns to the alerts topic; the page sees the result through the feed.

    Implementations raise ``LookupError`` (404), ``PermissionError`` (403) or ``ValueError``
    (400, e.g. a silence guardrail) with a message for the caller.
    """

    async def acknowledge(self, alert_id: str, principal: Principal, until: datetime | None,
                          comment: str) -> dict: ...

    async def silence(self, matchers: dict[str, str], principal: Principal, until: datetime,
                      comment: str) -> dict: ...

    def silences(self) -> list[dict]: ...


class NoticeActions(Protocol):
    """Desks acknowledging the notices sent to them, and the centre on a desk's behalf; same error
    convention as :class:`Actions`. Who may is ``Principal.notice_right``'s to say
    (:meth:`alerts.notify.acks.NoticeAcks.acknowledge_as` asks it)."""

    async def acknowledge_notice(self, notice_id: str, principal: Principal, comment: str = "",
                                 on_behalf: OnBehalf | None = None) -> dict: ...


class NoticeFiles(Protocol):
    """Delivered notices again, as files (:class:`alerts.notify.archive.NoticeDownloads`): ``cap`` gives
    the CAP 1.2 XML, raising ``LookupError`` (404) for a notice the caller may not know of."""

    def cap(self, notice_id: str, principal: Principal) -> bytes: ...


#: ``segment_detail(segment_id)`` -> ``{"incidents": [incident dicts with releasable_to, newest first],
#: "daily": [{"date": "YYYY-MM-DD", "incidents": n, "fatalities": n, "baseline": x?}, ...]}``; may be async.
SegmentDetail = Callable[[str], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]


class Problem(BorderwatchError):
    """Raised by a handler: answer ``status`` with ``message`` (JSON, or a page for a browser)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def principal_of(request: web.Request) -> Principal:
    """Who is calling (set by :func:`alerts.web.auth.authenticate`)."""
    return request[PRINCIPAL]


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def form_of(request: web.Request) -> Mapping[str, Any]:
    try:
        return await request.post()
    except (ValueError, LookupError):  # no multipart boundary, bytes not in the charset, unknown charset
        raise Problem(400, "the form cannot be read: send it as application/x-www-form-urlencoded") from None


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@dataclass
class WebContext:
    """The web app's collaborators (:func:`alerts.web.app.build_web_app` documents each), and the
    queries the API and the pages share: each answers with what the caller may see only."""

    history: Callable[[], AlertHistory]
    metrics_text: Callable[[], bytes]
    auth: Authenticator
    live: LiveFeed
    clock: Callable[[], datetime]
    segment_names: Callable[[str], str] = lambda s: s
    ready: Callable[[], bool | str | Waiting] = lambda: True
    segments: Any = None
    segment_detail: SegmentDetail | None = None
    actions: Actions | None = None
    notice_actions: NoticeActions | None = None
    notice_files: NoticeFiles | None = None
    heartbeat: float = 15.0
    policy: Policy | None = None

    def visible(self, p: Principal) -> list[dict]:
        """The alerts ``p`` may see, as it may read them (``Principal.shown``), each with its ack and
        silence status now (with an AlertStore)."""
        h = self.history()
        return [p.shown(_shown(h, a)) for a in h.all() if p.sees(a)]

    def find_alert(self, p: Principal, alert_id: str) -> dict:
        h = self.history()
        a = h.alerts.get(alert_id)
        if a is None or not p.sees(a):
            raise Problem(404, f"no alert {alert_id}")  # the same answer whether hidden or absent
        return p.shown(_shown(h, a))

    def segment_rows(self, p: Principal, lang: str = SOURCE_LANGUAGE) -> list[dict]:
        """The segments ``p`` may look at (:func:`segment_table`), named in ``lang``."""
        return segment_table(self.segments, self.visible(p), p, self.names_in(lang), lang)

    def names_in(self, lang: str) -> Callable[[str], str]:
        """What a page in ``lang`` calls a segment: the registry's English title, or in another
        language the notices' name for the stretch (``alerts.notify.brief.stretch_title``)."""
        if lang == SOURCE_LANGUAGE:
            return self.segment_names
        return functools.partial(local_segment_name, self.segments, lang)

    async def segment_view(self, p: Principal, segment_id: str, lang: str = SOURCE_LANGUAGE,
                           rows: list[dict] | None = None) -> dict:
        """One segment as ``p`` may see it: its row, its alerts, its incidents and daily series;
        named in ``lang``. ``rows``: :meth:`segment_rows` in ``lang``, when the caller has them."""
        rows = self.segment_rows(p, lang) if rows is None else rows
        row = next((r for r in rows if r["segment_id"] == segment_id), None)
        if row is None and self.segments is not None:
            try:  # a pair-level segment nobody has alerted on yet
                s = self.segments.get(segment_id)
            except KeyError:
                s = None
            if s is not None and s.pair_level and p.sees_border(s.countries):
                row = {"segment_id": s.segment_id, "border": s.border, "countries": list(s.countries),
                       "name": self.names_in(lang)(s.segment_id) if lang != SOURCE_LANGUAGE else s.title,
                       "place": s.place, "place_ru": s.place_ru,
                       "length_km": round(s.length_km, 1), "pair_level": s.pair_level,
                       "coords": [], "level": "none", "open_alerts": 0}
        if row is None:
            raise Problem(404, f"no segment {segment_id}")
        detail: Mapping[str, Any] = {}
        if self.segment_detail is not None:
            try:
                detail = await maybe_await(self.segment_detail(segment_id)) or {}
            except LookupError:
                detail = {}
        incidents = p.redact(detail.get("incidents") or [])
        daily = list(detail.get("daily") or [])
        if not p.sees_all:
            daily = daily_from(incidents, len(daily))
        alerts = sorted((a for a in self.visible(p) if a["segment_id"] == segment_id),
                        key=lambda a: a["opened_at"], reverse=True)
        return dict(row, alerts=alerts, incidents=list(incidents), daily=daily,
                    detail_available=self.segment_detail is not None)


def _shown(h: Any, a: dict) -> dict:
    """With an AlertStore, an alert with its ack and silence status now."""
    return h.view(a) if hasattr(h, "view") else a


def _levels(alerts: Iterable[dict]) -> tuple[dict[str, str], dict[str, int]]:
    level: dict[str, str] = {}
    n_open: dict[str, int] = {}
    for a in alerts:
        if a.get("resolved_at"):
            continue
        s = a["segment_id"]
        n_open[s] = n_open.get(s, 0) + 1
        if LEVEL_INDEX[a["level"]] > LEVEL_INDEX[level.get(s, "none")]:
            level[s] = a["level"]
    return level, n_open


@functools.lru_cache(maxsize=16384)
def local_segment_name(registry: Any, lang: str, segment_id: str) -> str:
    """A segment (or an arms-race key, ``KGZ-TJK:arms``: its border) named in ``lang`` as the notices
    name it; from the registry where it has the segment, else from the states in its id."""
    key = segment_id.split(":", 1)[0]
    try:
        s = registry.get(key)
    except (KeyError, AttributeError):
        s = None
    if s is not None:
        return stretch_title(s.segment_id, s.countries, s.place_ru, lang, whole_border=s.pair_level or key != segment_id)
    states = states_of(border_of_segment(key))
    if not all(is_iso3(c) for c in states):
        return segment_id
    return stretch_title(key, states, None, lang, whole_border=key == border_of_segment(key))


def segment_table(registry: Any, alerts: list[dict], p: Principal,
                  names: Callable[[str], str] = lambda s: s, lang: str = SOURCE_LANGUAGE) -> list[dict]:
    """The segments ``p`` may look at, each with its level now from the alerts ``p`` sees.

    A secretariat gets the segments of its own borders. Pair-level segments (no geometry)
    are listed when some alert sits on one.
    """
    level, n_open = _levels(alerts)
    rows: dict[str, dict] = {}
    local = lang != SOURCE_LANGUAGE
    for s in (registry.segments() if registry is not None else []):
        if p.sees_border(s.countries):
            rows[s.segment_id] = {"segment_id": s.segment_id, "border": s.border, "countries": list(s.countries),
                                  "name": names(s.segment_id) if local else s.title, "place": s.place, "place_ru": s.place_ru,
                                  "length_km": round(s.length_km, 1), "pair_level": False,
                                  "coords": [[round(x, 4), round(y, 4)] for x, y in s.coords]}
    for a in alerts:
        sid = a["segment_id"]
        if sid in rows or not p.sees_border(a.get("countries") or ()):
            continue
        name = names(sid)
        if registry is not None and not local:
            try:
                name = registry.get(sid).name
            except KeyError:
                pass
        if is_arms_race(a):  # the whole border's, beside any alert on the border itself
            name = translations(lang).gettext("%(name)s: arms race") % {"name": name}
        rows[sid] = {"segment_id": sid, "border": a["border"], "countries": list(a.get("countries") or ()),
                     "name": name, "length_km": 0.0, "pair_level": sid == a["border"], "coords": []}
    for sid, row in rows.items():
        row["level"] = level.get(sid, "none")
        row["open_alerts"] = n_open.get(sid, 0)
    return sorted(rows.values(), key=lambda r: r["segment_id"])

