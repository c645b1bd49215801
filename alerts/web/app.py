"""The operator's HTTP surface: JSON API, server-sent events, OpenAPI document and the page.

Every route but /health, the sign-in form and the page's static assets needs a token:
``Authorization: Bearer <t>``, or the HttpOnly, SameSite=Strict cookie that ``POST /login``
sets (no token ever travels in a URL).
Tokens carry a role (:mod:`alerts.web.tokens`); what a caller sees is decided by its
:class:`alerts.access.Principal` alone: alerts through ``sees``, evidence through
``redact``, actions through ``may_act``.

The app changes nothing itself. Acknowledging and silencing go through an
injected :class:`Actions` (the worker's produces events to the alerts topic, the
audit log); notice acknowledgements through :class:`NoticeActions`; a segment's
recent incidents come from an injected ``segment_detail``. Routes whose
collaborator is not wired answer 501.

CSRF: the page signs in with a cookie, so a cross-site page could make a browser send it. A
request authenticated by the cookie may change something only with the ``X-Borderwatch-Request``
header (a cross-site page cannot send a custom header without a CORS preflight, which this app
never grants), a JSON body, and an ``Origin`` (when sent) of this host; sign-in and sign-out take
no cookie but check the ``Origin`` too. The notice link's confirm form needs no cookie: its token is
the authority, and a page that has the token could post it itself.

Limits, in one place: a body over ``MAX_BODY_BYTES`` answers 413, a request line or header over
``MAX_LINE_BYTES`` 400 (from aiohttp's parser, before any route), a path id that is not an id
(``PATH_ID``: no ``/``, no leading dot, so no ``..``) 404 from the router; no route reads a file
named by the request.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import re
import secrets
from collections import deque
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable, Mapping, Protocol

from aiohttp import web

from alerts.web import pages
from alerts.access import ACK_ALERTS, READ_METRICS, READ_SILENCES, SILENCE, Principal
from alerts.escalation import LEVEL_INDEX, LEVELS
from alerts.history import AlertHistory
from alerts.model import alert_labels
from alerts.notify.acks import ExpiredAckLink, OnBehalf
from alerts.notify.cap import MEDIA_TYPE as CAP_MEDIA_TYPE
from alerts.policy import Policy, format_duration
from alerts.timefmt import ISO_TIME, iso, parse_time, utcnow
from alerts.web.tokens import LEGACY_NAME, Authenticator, bearer_token

log = logging.getLogger("borderwatch.web")

COOKIE = "borderwatch_token"
CSRF_HEADER = "X-Borderwatch-Request"
#: Reachable without a token: the probe, the sign-in form and the page's static script and style.
PUBLIC = frozenset({"/health", "/login", "/logout", "/assets/app.js", "/assets/style.css"})
#: What an id in a path may be (alert, notice, segment ids): a route whose id does not match answers 404.
PATH_ID = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}"
#: The largest request body read; the biggest real one is a silence with a 2000-character comment.
MAX_BODY_BYTES = 64 * 1024
#: The longest request line (path and query) and header line aiohttp's parser takes; longer is 400.
MAX_LINE_BYTES = 8190
#: A notice's acknowledgement link carries its own HMAC token (alerts/notify/acks.py): no sign-in.
_NOTICE_CONFIRM = re.compile(rf"/notices/{PATH_ID}/confirm|/n/{PATH_ID}")
LIVE = web.AppKey("live", object)
# aiohttp >= 3.13 types request storage; older ones take strings.
_PRINCIPAL: Any = web.RequestKey("principal", Principal) if hasattr(web, "RequestKey") else "principal"
_TOKEN: Any = web.RequestKey("token", str) if hasattr(web, "RequestKey") else "token"
#: Labels a silence may match on (exact values).
SILENCE_LABELS = ("segment_id", "border", "level", "detector", "classification")
MAX_COMMENT = 2000
_ALERT_QUERY = {"status", "level", "border", "segment", "segment_id", "since", "until"}
_EVENT_QUERY = {"level", "border", "segment", "segment_id"}
_PAGE_PATHS = ("/", "/ui/")


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


def may(p: Principal, action: str) -> None:
    """403 with ``alerts.access``'s words unless ``p`` may do ``action``."""
    refused = p.refusal(action)
    if refused:
        raise _Problem(403, refused)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _iso_param(q: Mapping[str, str], name: str) -> datetime | None:
    raw = q.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(ISO_TIME, raw):
            raise ValueError(raw)
        return parse_time(raw)
    except ValueError:  # the form, or a day the month does not have
        raise _Problem(400, f"{name} must be an ISO 8601 time such as 2012-07-01T00:00:00Z") from None


def select_alerts(alerts: Iterable[dict], q: Mapping[str, str], allowed: set[str] = _ALERT_QUERY) -> list[dict]:
    """Filter folded alerts by the query of ``GET /alerts`` (and the stream filters of ``/events``).

    ``since``/``until`` keep alerts active at some time in [since, until): opened before
    ``until`` and not resolved before ``since``.
    """
    unknown = set(q) - allowed
    if unknown:
        raise _Problem(400, f"unknown query parameter(s) {sorted(unknown)}; use {sorted(allowed)}")
    status = q.get("status", "open")
    if status not in ("open", "all"):
        raise _Problem(400, "status must be open or all")
    level = q.get("level")
    if level and level not in LEVELS[1:]:
        raise _Problem(400, f"level must be one of {', '.join(LEVELS[1:])}")
    since, until = _iso_param(q, "since"), _iso_param(q, "until")
    segment = q.get("segment") or q.get("segment_id")
    out = []
    for a in alerts:
        if status == "open" and a.get("resolved_at"):
            continue
        if q.get("border") and a.get("border") != q["border"]:
            continue
        if segment and a.get("segment_id") != segment:
            continue
        if level and level not in (a.get("level"), a.get("peak_level")):
            continue
        if until and parse_time(a["opened_at"]) >= until:
            continue
        if since and a.get("resolved_at") and parse_time(a["resolved_at"]) < since:
            continue
        out.append(a)
    return out


class LiveFeed:
    """Fans the feed's alert events out to the SSE clients, keeping the last ``size`` for resume.

    One queue sits in the feed's ``subscribers``; each event is encoded once, with the alert as
    folded at that moment, and each client gets what its principal may see. Event ids are
    ``<boot>-<n>``: a ``Last-Event-ID`` from this run within the buffer resumes exactly; any
    other gets a ``resync`` event (reload the snapshot).
    """

    def __init__(self, source: set, history: Callable[[], AlertHistory], size: int = 1000) -> None:
        self.source, self.history = source, history
        self.boot = secrets.token_hex(4)
        self.buffer: deque[dict] = deque(maxlen=size)
        self.clients: set[asyncio.Queue] = set()
        self._seq = itertools.count(1)
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None

    async def start(self, app: web.Application | None = None) -> None:
        self._queue = asyncio.Queue()
        self.source.add(self._queue)
        self._task = asyncio.create_task(self._pump())

    async def stop(self, app: web.Application | None = None) -> None:
        if self._queue is not None:
            self.source.discard(self._queue)
        if self._task is not None:
            self._task.cancel()
        for c in list(self.clients):
            c.put_nowait(None)  # ends each open stream, so shutdown does not wait on them

    async def _pump(self) -> None:
        assert self._queue is not None
        while True:
            ev = await self._queue.get()
            try:
                self.publish(ev)
            except Exception:  # noqa: BLE001 -- one odd event must not stop the stream
                log.exception("could not publish an alert event to the live feed")

    def publish(self, ev: Any) -> dict:
        event = ev.to_dict() if hasattr(ev, "to_dict") else dict(ev)
        h = self.history()
        folded = h.alerts.get(event.get("alert_id", ""))
        if folded is not None and hasattr(h, "view"):
            folded = h.view(folded)  # with its ack and silence status
        seq = next(self._seq)
        alert = json.loads(json.dumps(folded)) if folded is not None else None
        entry = {"seq": seq, "id": f"{self.boot}-{seq}", "view": alert or event,
                 "data": json.dumps({"event": event, "alert": alert}, separators=(",", ":"))}
        self.buffer.append(entry)
        for c in list(self.clients):
            if c.qsize() >= 1000:
                # A stalled client is dropped; its browser reconnects and resumes from the buffer.
                self.clients.discard(c)
                c.put_nowait(None)
            else:
                c.put_nowait(entry)
        return entry

    def since(self, last_id: str) -> list[dict] | None:
        """Entries after ``last_id``, or None when it cannot be resumed from here."""
        boot, _, n = last_id.partition("-")
        if boot != self.boot or not n.isdigit():
            return None
        n_ = int(n)
        if self.buffer and n_ < self.buffer[0]["seq"] - 1:
            return None
        return [e for e in self.buffer if e["seq"] > n_]


def build_web_app(history: Callable[[], AlertHistory], metrics_text: Callable[[], bytes], token: str = "",
                  segment_names: Callable[[str], str] = lambda s: s,
                  ready: Callable[[], bool | str] = lambda: True, *,
                  auth: Authenticator | None = None,
                  segments: Any = None,
                  segment_detail: SegmentDetail | None = None,
                  actions: Actions | None = None,
                  notice_actions: NoticeActions | None = None,
                  notice_files: NoticeFiles | None = None,
                  subscribers: set | None = None,
                  heartbeat: float = 15.0,
                  clock: Callable[[], datetime] = utcnow,
                  policy: Policy | None = None) -> web.Application:
    """The web app. ``token`` (the legacy single token) stands for an ``admin``; ``auth`` adds the
    tokens file. ``segments`` is a :class:`streams.segments.SegmentRegistry` (geometry for the map);
    ``subscribers`` is the feed's set of queues (``AlertFeed.subscribers``) for ``/events``;
    ``ready`` tells /health whether the stream processor has its partitions and state, or (a
    string) why it failed: /health then answers 503. ``policy`` (the worker's alerting policy) lets
    the console say who was notified of each alert and by when an acknowledgement is expected.
    """
    if auth is None:
        auth = Authenticator.single(token)
    elif token:
        auth.add_static(token, Principal(LEGACY_NAME, "admin"))
    live = LiveFeed(subscribers if subscribers is not None else set(), history)

    def presented(request: web.Request) -> tuple[str | None, bool]:
        """The token and whether it came from the cookie. A request that sends ``Authorization`` is
        judged by it alone: a malformed header does not fall back to a cookie the browser added."""
        headers = request.headers.getall("Authorization", [])
        if headers:
            return bearer_token(headers), False
        c = request.cookies.get(COOKIE)
        return (c, True) if c else (None, False)

    def principal_of(request: web.Request) -> Principal:
        return request[_PRINCIPAL]

    def is_page(request: web.Request) -> bool:
        return request.method == "GET" and (request.path in _PAGE_PATHS or request.path.startswith("/ui/"))

    def foreign(request: web.Request) -> bool:
        """Sent from a page of another site (browsers send ``Origin`` on every cross-site POST)."""
        origin = request.headers.get("Origin")
        return bool(origin) and origin.split("://", 1)[-1] != request.host

    def wants_html(request: web.Request) -> bool:
        """A browser navigating (it asks for text/html before JSON); fetch() and API clients get JSON."""
        accept = request.headers.get("Accept", "")
        html_at, json_at = accept.find("text/html"), accept.find("application/json")
        return request.method == "GET" and html_at >= 0 and (json_at < 0 or html_at < json_at)

    def problem(request: web.Request, status: int, message: str) -> web.Response:
        if status in (403, 404) and wants_html(request):
            return pages.error_page(status, message, request.get(_PRINCIPAL))
        return _error(status, message)

    @web.middleware
    async def problems(request: web.Request, handler):
        """Errors as ``{"error": ...}``, for the public routes as for the others; a browser asking
        for a page gets a not-found or not-allowed page instead."""
        try:
            return await handler(request)
        except _Problem as exc:
            return problem(request, exc.status, exc.message)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        except web.HTTPNotFound:  # the router's: no route, or a path id that is not an id
            return problem(request, 404, "not found")
        except web.HTTPMethodNotAllowed as exc:
            resp = _error(405, f"{request.method} is not allowed here")
            resp.headers["Allow"] = exc.headers["Allow"]
            return resp

    @web.middleware
    async def authenticate(request: web.Request, handler):
        if request.path in PUBLIC or _NOTICE_CONFIRM.fullmatch(request.path):
            return await handler(request)
        tok, from_cookie = presented(request)
        p = auth.authenticate(tok)
        if p is None:
            if is_page(request):
                return pages.login_page(request.path_qs, error="" if tok is None else "That token is not valid "
                                          "(wrong, revoked or expired).", status=401)
            return web.json_response({"error": "unauthorized", "hint": "send Authorization: Bearer <token>"},
                                     status=401, headers={"WWW-Authenticate": 'Bearer realm="borderwatch"'})
        if request.method not in ("GET", "HEAD", "OPTIONS") and from_cookie:
            if request.headers.get(CSRF_HEADER) != "1" or foreign(request):
                return _error(403, f"a request signed in by cookie must come from this page (send {CSRF_HEADER}: 1)")
        request[_PRINCIPAL] = p
        request[_TOKEN] = tok
        return await handler(request)

    @web.middleware
    async def security_headers(request: web.Request, handler):
        resp = await handler(request)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" on form posts.
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.content_type == "text/html":
            resp.headers.setdefault("Content-Security-Policy", pages.CSP)
            resp.headers.setdefault("X-Frame-Options", "DENY")
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    def shown(h: Any, a: dict) -> dict:
        """With an AlertStore, an alert with its ack and silence status now."""
        return h.view(a) if hasattr(h, "view") else a

    def visible(p: Principal) -> list[dict]:
        h = history()
        return [shown(h, a) for a in h.all() if p.sees(a)]

    def find_alert(p: Principal, alert_id: str) -> dict:
        h = history()
        a = h.alerts.get(alert_id)
        if a is None or not p.sees(a):
            raise _Problem(404, f"no alert {alert_id}")  # the same answer whether hidden or absent
        return shown(h, a)

    def segment_rows(p: Principal) -> list[dict]:
        return segment_table(segments, visible(p), p, segment_names)

    def need(obj: Any, what: str) -> Any:
        if obj is None:
            raise _Problem(501, f"{what} is not wired in this deployment")
        return obj

    async def json_body(request: web.Request) -> dict:
        if not request.body_exists:
            return {}
        if request.content_type != "application/json":
            raise _Problem(415, "send a JSON object with Content-Type: application/json")
        try:
            body = await request.json()
        except ValueError:
            raise _Problem(400, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _Problem(400, "the body must be a JSON object")
        return body

    def text_of(body: dict, name: str, required: bool) -> str:
        c = body.get(name, "")
        if not isinstance(c, str) or len(c) > MAX_COMMENT:
            raise _Problem(400, f"{name} must be a string of at most {MAX_COMMENT} characters")
        if required and not c.strip():
            raise _Problem(400, f"{name} is required: say why, for the audit log")
        return c.strip()

    async def form_of(request: web.Request) -> Mapping[str, Any]:
        try:
            return await request.post()
        except (ValueError, LookupError):  # no multipart boundary, bytes not in the charset, unknown charset
            raise _Problem(400, "the form cannot be read: send it as application/x-www-form-urlencoded") from None

    def comment_of(body: dict, required: bool) -> str:
        return text_of(body, "comment", required)

    def on_behalf_of(body: dict) -> OnBehalf | None:
        desk = body.get("on_behalf_of")
        if desk is None:
            if "reason" in body:
                raise _Problem(400, "reason goes with on_behalf_of (acknowledging a desk's notice for it)")
            return None
        if not isinstance(desk, str) or not desk.strip() or len(desk) > 64:
            raise _Problem(400, "on_behalf_of must name the notice's desk, e.g. secretariat-KGZ")
        return OnBehalf(desk.strip(), text_of(body, "reason", required=True))

    def until_of(body: dict, required: bool) -> datetime | None:
        raw = body.get("until")
        if raw in (None, ""):
            if required:
                raise _Problem(400, "until is required (ISO 8601, e.g. 2026-11-24T06:00:00Z)")
            return None
        if not isinstance(raw, str):
            raise _Problem(400, "until must be an ISO 8601 string")
        t = _iso_param({"until": raw}, "until")
        if t <= clock():
            raise _Problem(400, "until must be in the future")
        return t

    async def act(coro: Awaitable[dict]) -> dict:
        try:
            return await coro
        except LookupError as exc:
            raise _Problem(404, str(exc).strip("'\"") or "not found") from None
        except PermissionError as exc:
            raise _Problem(403, str(exc) or "forbidden") from None
        except ValueError as exc:
            raise _Problem(400, str(exc)) from None

    # ------------------------------------------------------------------ routes
    async def health(request: web.Request) -> web.Response:
        state = ready()
        if isinstance(state, str):  # the stream processor failed: a supervisor should act on it
            return web.json_response({"status": "failing", "ready": False, "reason": state}, status=503)
        return web.json_response({"status": "ok", "ready": bool(state)})

    async def metrics(request: web.Request) -> web.Response:
        may(principal_of(request), READ_METRICS)
        return web.Response(body=metrics_text(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def openapi(request: web.Request) -> web.Response:
        from alerts.web.openapi import openapi_document

        return web.json_response(openapi_document())

    async def whoami(request: web.Request) -> web.Response:
        p = principal_of(request)
        return web.json_response({"name": p.name, "role": p.role_string, "may_act": p.may_act,
                                  "may_ack_notices": p.may_ack_notices})

    async def alerts_list(request: web.Request) -> web.Response:
        items = select_alerts(visible(principal_of(request)), request.query)
        return web.json_response({"count": len(items), "alerts": items})

    async def alert_one(request: web.Request) -> web.Response:
        return web.json_response(find_alert(principal_of(request), request.match_info["alert_id"]))

    async def alert_ack(request: web.Request) -> web.Response:
        p = principal_of(request)
        may(p, ACK_ALERTS)
        alert_id = request.match_info["alert_id"]
        find_alert(p, alert_id)
        body = await json_body(request)
        until, comment = until_of(body, required=False), comment_of(body, required=False)
        result = await act(need(actions, "acknowledging").acknowledge(alert_id, p, until, comment))
        return web.json_response({"accepted": True, "result": result}, status=202)

    async def silence_add(request: web.Request) -> web.Response:
        p = principal_of(request)
        may(p, SILENCE)
        body = await json_body(request)
        unknown = set(body) - {"matchers", "until", "comment"}
        if unknown:
            raise _Problem(400, f"unknown field(s) {sorted(unknown)}; use matchers, until, comment")
        matchers = body.get("matchers")
        if not isinstance(matchers, dict) or not matchers:
            raise _Problem(400, f"matchers must be an object of label: value, labels from {', '.join(SILENCE_LABELS)}")
        bad = [k for k, v in matchers.items() if k not in SILENCE_LABELS or not isinstance(v, str) or not v]
        if bad:
            raise _Problem(400, f"bad matcher(s) {sorted(bad)}: labels are {', '.join(SILENCE_LABELS)}, "
                                f"values non-empty strings")
        until, comment = until_of(body, required=True), comment_of(body, required=True)
        result = await act(need(actions, "silencing").silence(dict(matchers), p, until, comment))
        return web.json_response({"accepted": True, "result": result}, status=202)

    async def silence_list(request: web.Request) -> web.Response:
        p = principal_of(request)
        may(p, READ_SILENCES)
        items = list(await _maybe_await(need(actions, "silences").silences()))
        return web.json_response({"count": len(items), "silences": items})

    async def notice_ack(request: web.Request) -> web.Response:
        body = await json_body(request)
        unknown = set(body) - {"comment", "on_behalf_of", "reason"}
        if unknown:
            raise _Problem(400, f"unknown field(s) {sorted(unknown)}; use comment, on_behalf_of, reason")
        comment, on_behalf = comment_of(body, required=False), on_behalf_of(body)
        result = await act(need(notice_actions, "notice acknowledgement").acknowledge_notice(
            request.match_info["notice_id"], principal_of(request), comment, on_behalf))
        return web.json_response({"accepted": True, "result": result}, status=202)

    async def notice_cap(request: web.Request) -> web.Response:
        """A notice as CAP 1.2 XML, for its own desk and the centre (a file read: off the event loop)."""
        notice_id = request.match_info["notice_id"]
        files = need(notice_files, "notice download")
        try:
            body = await asyncio.to_thread(files.cap, notice_id, principal_of(request))
        except LookupError as exc:
            raise _Problem(404, str(exc).strip("'\"") or "not found") from None
        return web.Response(body=body, content_type=CAP_MEDIA_TYPE, charset="utf-8", headers={
            "Content-Disposition": f'attachment; filename="{notice_id}.cap.xml"'})

    async def notice_confirm(request: web.Request) -> web.Response:
        """The link in a notice (``/n/{id}?t=``, or the older ``/notices/{id}/confirm?token=``): its
        signed token authorises acknowledging that one notice until its last day, no sign-in."""
        notice_id = request.match_info["notice_id"]
        if request.method == "GET":
            token = request.query.get("t") or request.query.get("token", "")
            if not token:
                return pages.notice_confirm_page(notice_id, "", message="this link is incomplete: it has no "
                                                   "token; open the whole link from the notice", status=400)
            check = getattr(notice_actions, "check_link", None)

            async def show():
                if check is not None:
                    check(notice_id, token)
                return pages.notice_confirm_page(notice_id, token)
            return await _link_page(notice_id, show)
        form = await form_of(request)
        handler = getattr(notice_actions, "acknowledge_link", None)
        if handler is None:
            return pages.notice_confirm_page(notice_id, "", message="this server does not take notice "
                                               "acknowledgements", status=501)

        async def record():
            ack = await handler(notice_id, str(form.get("token", "")))
            when = "already acknowledged" if ack.get("repeated") else "acknowledged"
            return pages.notice_confirm_page(notice_id, "", done=True,
                                               message=f"notice {notice_id} {when} at {ack.get('at', '')}")
        return await _link_page(notice_id, record)

    async def segments_list(request: web.Request) -> web.Response:
        rows = segment_rows(principal_of(request))
        return web.json_response({"count": len(rows), "segments": rows})

    async def segment_view(p: Principal, segment_id: str) -> dict:
        row = next((r for r in segment_rows(p) if r["segment_id"] == segment_id), None)
        if row is None and segments is not None:
            try:  # a pair-level segment nobody has alerted on yet
                s = segments.get(segment_id)
            except KeyError:
                s = None
            if s is not None and s.pair_level and p.sees_border(s.countries):
                row = {"segment_id": s.segment_id, "border": s.border, "countries": list(s.countries),
                       "name": s.title, "place": s.place, "place_ru": s.place_ru,
                       "length_km": round(s.length_km, 1), "pair_level": s.pair_level,
                       "coords": [], "level": "none", "open_alerts": 0}
        if row is None:
            raise _Problem(404, f"no segment {segment_id}")
        detail: Mapping[str, Any] = {}
        if segment_detail is not None:
            try:
                detail = await _maybe_await(segment_detail(segment_id)) or {}
            except LookupError:
                detail = {}
        incidents = p.redact(detail.get("incidents") or [])
        daily = list(detail.get("daily") or [])
        if not p.sees_all:
            daily = daily_from(incidents, [d["date"] for d in daily])
        alerts = sorted((a for a in visible(p) if a["segment_id"] == segment_id),
                        key=lambda a: a["opened_at"], reverse=True)
        return dict(row, alerts=alerts, incidents=list(incidents), daily=daily,
                    detail_available=segment_detail is not None)

    async def segment_one(request: web.Request) -> web.Response:
        return web.json_response(await segment_view(principal_of(request), request.match_info["segment_id"]))

    async def events(request: web.Request) -> web.StreamResponse:
        p = principal_of(request)
        q = {k: v for k, v in request.query.items()}
        select_alerts([], q, _EVENT_QUERY)  # validates the filters before the stream opens
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
        client: asyncio.Queue = asyncio.Queue()
        live.clients.add(client)  # before the headers go out: nothing published after "open" is missed
        tok = request[_TOKEN]

        def wanted(entry: dict) -> bool:
            v = entry["view"]
            return p.sees(v) and bool(select_alerts([v], dict(q, status="all"), _EVENT_QUERY | {"status"}))

        async def send(entry: dict) -> None:
            await resp.write(f"id: {entry['id']}\nevent: alert\ndata: {entry['data']}\n\n".encode())

        try:
            await resp.prepare(request)
            await resp.write(b"retry: 3000\n: connected\n\n")
            last = request.headers.get("Last-Event-ID")
            if last:
                backlog = live.since(last)
                if backlog is None:
                    await resp.write(f"id: {live.boot}-{live.buffer[-1]['seq'] if live.buffer else 0}\n"
                                     f"event: resync\ndata: {{}}\n\n".encode())
                else:
                    for entry in backlog:
                        if wanted(entry):
                            await send(entry)
            while True:
                try:
                    entry = await asyncio.wait_for(client.get(), heartbeat)
                except asyncio.TimeoutError:
                    if auth.authenticate(tok) is None:  # revoked or expired while watching
                        break
                    await resp.write(b": heartbeat\n\n")
                    continue
                if entry is None:
                    break
                if wanted(entry):
                    await send(entry)
        except ConnectionResetError:
            pass
        finally:
            live.clients.discard(client)
        return resp

    # ------------------------------------------------------------------ pages
    async def login_form(request: web.Request) -> web.Response:
        return pages.login_page(request.query.get("next", "/"))

    async def login(request: web.Request) -> web.Response:
        if foreign(request):
            return _error(403, "sign in from this site's own form")
        form = await form_of(request)
        tok = str(form.get("token", "")).strip()
        nxt = str(form.get("next", "/"))
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        if auth.authenticate(tok) is None:
            return pages.login_page(nxt, error="That token is not valid (wrong, revoked or expired).", status=401)
        resp = web.HTTPSeeOther(nxt)
        resp.set_cookie(COOKIE, tok, httponly=True, samesite="Strict", path="/", secure=request.secure)
        raise resp

    async def logout(request: web.Request) -> web.Response:
        if foreign(request):  # another site may not sign a desk out either
            return _error(403, "sign out from this site's own page")
        resp = web.HTTPSeeOther("/login")
        resp.del_cookie(COOKIE, path="/")
        raise resp

    def console_input(request: web.Request) -> tuple[Principal, list[dict], dict[str, str], dict[str, dict]]:
        """What the console shows the caller: open alerts and the latest 200, the filters, the plans."""
        p = principal_of(request)
        q = {k: v for k, v in request.query.items() if k in ("level", "border", "since")}
        if q.get("level") not in LEVELS[1:]:
            q.pop("level", None)  # a stale bookmark shows every level rather than an empty feed
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", q.get("since", "")):
            q.pop("since", None)
        items = visible(p)
        open_ = [a for a in items if not a.get("resolved_at")]
        recent = sorted(items, key=lambda a: a["opened_at"], reverse=True)[:200]
        shown = list({a["alert_id"]: a for a in open_ + recent}.values())
        return p, shown, q, {a["alert_id"]: notification_plan(a) for a in open_}

    def notification_plan(a: dict) -> dict | None:
        """Who the policy notified of ``a`` and by when the centre should acknowledge it."""
        if policy is None:
            return None
        labels = a.get("labels") or alert_labels(a)
        within = policy.ack_expected_within(labels)
        rules = policy.acknowledgements
        return {"notified": policy.notified(labels, a), "ack_within": format_duration(within),
                "ack_by": iso(parse_time(a["opened_at"]) + within),
                "ack_default": format_duration(rules.default_expiry), "ack_max": format_duration(rules.max_expiry)}

    async def page(request: web.Request) -> web.Response:
        p, shown, q, plans = console_input(request)
        return pages.main_page(p, shown, segment_rows(p), segment_names, q, plans)

    async def console(request: web.Request) -> web.Response:
        p, shown, q, plans = console_input(request)
        return pages.console_fragment(p, shown, segment_names, q, plans, segment_rows(p))

    async def segment_page(request: web.Request) -> web.Response:
        p = principal_of(request)
        view = await segment_view(p, request.match_info["segment_id"])
        border = [r for r in segment_rows(p) if r["border"] == view["border"]]
        return pages.segment_page(p, view, border)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body, ctype = pages.ASSETS[name]
        return web.Response(text=body, content_type=ctype, headers={"Cache-Control": "no-cache"})

    app = web.Application(middlewares=[security_headers, problems, authenticate], client_max_size=MAX_BODY_BYTES,
                          handler_args={"max_line_size": MAX_LINE_BYTES, "max_field_size": MAX_LINE_BYTES})
    app[LIVE] = live
    app.on_startup.append(live.start)
    app.on_shutdown.append(live.stop)
    r = app.router
    r.add_get("/health", health)
    r.add_get("/metrics", metrics)
    r.add_get("/openapi.json", openapi)
    r.add_get("/whoami", whoami)
    r.add_get("/alerts", alerts_list)
    r.add_get(f"/alerts/{{alert_id:{PATH_ID}}}", alert_one)
    r.add_post(f"/alerts/{{alert_id:{PATH_ID}}}/ack", alert_ack)
    r.add_get("/silences", silence_list)
    r.add_post("/silences", silence_add)
    r.add_post(f"/notices/{{notice_id:{PATH_ID}}}/ack", notice_ack)
    r.add_get(f"/notices/{{notice_id:{PATH_ID}}}/confirm", notice_confirm)
    r.add_get(f"/notices/{{notice_id:{PATH_ID}}}/cap", notice_cap)
    r.add_post(f"/notices/{{notice_id:{PATH_ID}}}/confirm", notice_confirm)
    r.add_get(f"/n/{{notice_id:{PATH_ID}}}", notice_confirm)  # the short link notices carry
    r.add_get("/segments", segments_list)
    r.add_get(f"/segments/{{segment_id:{PATH_ID}}}", segment_one)
    r.add_get("/events", events)
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    r.add_get("/", page)
    r.add_get("/ui/console", console)
    r.add_get(f"/ui/segments/{{segment_id:{PATH_ID}}}", segment_page)
    r.add_get("/assets/{name:(app\\.js|style\\.css)}", asset)
    return app


# ---------------------------------------------------------------------- segments
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


def segment_table(registry: Any, alerts: list[dict], p: Principal,
                  names: Callable[[str], str] = lambda s: s) -> list[dict]:
    """The segments ``p`` may look at, each with its level now from the alerts ``p`` sees.

    A secretariat gets the segments of its own borders. Pair-level segments (no geometry)
    are listed when some alert sits on one.
    """
    level, n_open = _levels(alerts)
    rows: dict[str, dict] = {}

    for s in (registry.segments() if registry is not None else []):
        if p.sees_border(s.countries):
            rows[s.segment_id] = {"segment_id": s.segment_id, "border": s.border, "countries": list(s.countries),
                                  "name": s.title, "place": s.place, "place_ru": s.place_ru,
                                  "length_km": round(s.length_km, 1), "pair_level": False,
                                  "coords": [[round(x, 4), round(y, 4)] for x, y in s.coords]}
    for a in alerts:
        sid = a["segment_id"]
        if sid in rows or not p.sees_border(a.get("countries") or ()):
            continue
        name = names(sid)
        if registry is not None:
            try:
                name = registry.get(sid).name
            except KeyError:
                pass
        rows[sid] = {"segment_id": sid, "border": a["border"], "countries": list(a.get("countries") or ()),
                     "name": name, "length_km": 0.0, "pair_level": sid == a["border"], "coords": []}
    for sid, row in rows.items():
        row["level"] = level.get(sid, "none")
        row["open_alerts"] = n_open.get(sid, 0)
    return sorted(rows.values(), key=lambda r: r["segment_id"])


async def _link_page(notice_id: str, page) -> web.Response:
    """``page()``'s answer, or the page that says why the link was refused."""
    try:
        return await page()
    except ExpiredAckLink as exc:
        return pages.notice_confirm_page(notice_id, "", message=str(exc), status=410)
    except PermissionError:
        return pages.notice_confirm_page(notice_id, "", message="this link is not valid for that notice", status=403)
    except LookupError as exc:
        return pages.notice_confirm_page(notice_id, "", message=str(exc), status=404)


def daily_from(incidents: Iterable[Mapping[str, Any]], dates: list[str]) -> list[dict]:
    """A daily series counted from ``incidents`` alone, over ``dates`` (or the incidents' own days).

    Callers who may not see every incident get this instead of the stored series, so a count
    never reveals an incident withheld from them.
    """
    counts: dict[str, list[int]] = {d: [0, 0] for d in dates}
    for i in incidents:
        day = str(i.get("at", ""))[:10]  # an incident as the segment keeps it (SegmentState.recent)
        if not day or (dates and day not in counts):
            continue
        c = counts.setdefault(day, [0, 0])
        c[0] += 1
        c[1] += int(i.get("fatalities") or 0)
    return [{"date": d, "incidents": c[0], "fatalities": c[1]} for d, c in sorted(counts.items())]
