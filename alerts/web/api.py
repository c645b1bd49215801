"""The JSON API: alerts, segments, silences, acknowledgements, notices, the operational routes
(``/health``, ``/metrics``, ``/openapi.json``, ``/whoami``), and the live feed's stream of alert
events (``/events``, server-sent events, filtered by the same query as ``/alerts``). Each handler is
``handler(ctx, request)`` over the app's :class:`~alerts.web.context.WebContext`; what a caller
sees is decided by its :class:`~alerts.access.Principal` alone: alerts through ``sees``, evidence
through ``redact``, actions through ``refusal``.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any, Awaitable, Iterable, Mapping

from aiohttp import web

from alerts.access import ACK_ALERTS, READ_METRICS, READ_SILENCES, SILENCE, Principal
from alerts.escalation import LEVELS
from alerts.notify.acks import OnBehalf
from alerts.notify.cap import MEDIA_TYPE as CAP_MEDIA_TYPE
from alerts.notify.delivery import DeliveryLogUnavailable
from alerts.timefmt import ISO_TIME, parse_time
from alerts.web.context import TOKEN, Problem, Waiting, WebContext, maybe_await, principal_of

#: Labels a silence may match on (exact values).
SILENCE_LABELS = ("segment_id", "border", "level", "detector", "classification")
MAX_COMMENT = 2000
ALERT_QUERY = frozenset({"status", "level", "border", "segment", "segment_id", "since", "until"})
EVENT_QUERY = frozenset({"level", "border", "segment", "segment_id"})


def may(p: Principal, action: str) -> None:
    """403 with ``alerts.access``'s words unless ``p`` may do ``action``."""
    refused = p.refusal(action)
    if refused:
        raise Problem(403, refused)


def need(obj: Any, what: str) -> Any:
    if obj is None:
        raise Problem(501, f"{what} is not wired in this deployment")
    return obj


# ---------------------------------------------------------------------- reading requests
def _iso_param(q: Mapping[str, str], name: str) -> datetime | None:
    raw = q.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(ISO_TIME, raw):
            raise ValueError(raw)
        return parse_time(raw)
    except ValueError:  # the form, or a day the month does not have
        raise Problem(400, f"{name} must be an ISO 8601 time such as 2012-07-01T00:00:00Z") from None


def select_alerts(alerts: Iterable[dict], q: Mapping[str, str], allowed: frozenset[str] = ALERT_QUERY) -> list[dict]:
    """Filter folded alerts by the query of ``GET /alerts`` (and the stream filters of ``/events``).

    ``since``/``until`` keep alerts active at some time in [since, until): opened before
    ``until`` and not resolved before ``since``.
    """
    unknown = set(q) - allowed
    if unknown:
        raise Problem(400, f"unknown query parameter(s) {sorted(unknown)}; use {sorted(allowed)}")
    status = q.get("status", "open")
    if status not in ("open", "all"):
        raise Problem(400, "status must be open or all")
    level = q.get("level")
    if level and level not in LEVELS[1:]:
        raise Problem(400, f"level must be one of {', '.join(LEVELS[1:])}")
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


async def json_body(request: web.Request) -> dict:
    if not request.body_exists:
        return {}
    if request.content_type != "application/json":
        raise Problem(415, "send a JSON object with Content-Type: application/json")
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise Problem(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "the body must be a JSON object")
    return body


def text_of(body: dict, name: str, required: bool) -> str:
    c = body.get(name, "")
    if not isinstance(c, str) or len(c) > MAX_COMMENT:
        raise Problem(400, f"{name} must be a string of at most {MAX_COMMENT} characters")
    if required and not c.strip():
        raise Problem(400, f"{name} is required: say why, for the audit log")
    return c.strip()


def on_behalf_of(body: dict) -> OnBehalf | None:
    desk = body.get("on_behalf_of")
    if desk is None:
        if "reason" in body:
            raise Problem(400, "reason goes with on_behalf_of (acknowledging a desk's notice for it)")
        return None
    if not isinstance(desk, str) or not desk.strip() or len(desk) > 64:
        raise Problem(400, "on_behalf_of must name the notice's desk, e.g. secretariat-KGZ")
    return OnBehalf(desk.strip(), text_of(body, "reason", required=True))


def until_of(ctx: WebContext, body: dict, required: bool) -> datetime | None:
    raw = body.get("until")
    if raw in (None, ""):
        if required:
            raise Problem(400, "until is required (ISO 8601, e.g. 2026-11-24T06:00:00Z)")
        return None
    if not isinstance(raw, str):
        raise Problem(400, "until must be an ISO 8601 string")
    t = _iso_param({"until": raw}, "until")
    if t <= ctx.clock():
        raise Problem(400, "until must be in the future")
    return t


async def act(coro: Awaitable[dict]) -> dict:
    """An injected action's result; its LookupError, PermissionError and ValueError as 404, 403, 400,
    a delivery log that took no record as 503 (nothing was recorded: the same request again later)."""
    try:
        return await coro
    except DeliveryLogUnavailable:
        raise Problem(503, "the acknowledgement could not be recorded now (the delivery log is unavailable): "
                           "nothing was recorded; try again in a few minutes") from None
    except LookupError as exc:
        raise Problem(404, str(exc).strip("'\"") or "not found") from None
    except PermissionError as exc:
        raise Problem(403, str(exc) or "forbidden") from None
    except ValueError as exc:
        raise Problem(400, str(exc)) from None


# ---------------------------------------------------------------------- operational
async def health(ctx: WebContext, request: web.Request) -> web.Response:
    state = ctx.ready()
    if isinstance(state, str):  # the stream processor failed: a supervisor should act on it
        return web.json_response({"status": "failing", "ready": False, "reason": state}, status=503)
    if isinstance(state, Waiting):  # it cannot go on for now; a restart would not help
        return web.json_response({"status": "waiting", "ready": False, "reason": state.reason})
    return web.json_response({"status": "ok", "ready": bool(state)})


async def metrics(ctx: WebContext, request: web.Request) -> web.Response:
    may(principal_of(request), READ_METRICS)
    return web.Response(body=ctx.metrics_text(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def openapi(ctx: WebContext, request: web.Request) -> web.Response:
    from alerts.web.openapi import openapi_document

    return web.json_response(openapi_document())


async def whoami(ctx: WebContext, request: web.Request) -> web.Response:
    p = principal_of(request)
    return web.json_response({"name": p.name, "role": p.role_string, "may_act": p.may_act,
                              "may_ack_notices": p.may_ack_notices})


# ---------------------------------------------------------------------- alerts and silences
async def alerts_list(ctx: WebContext, request: web.Request) -> web.Response:
    items = select_alerts(ctx.visible(principal_of(request)), request.query)
    return web.json_response({"count": len(items), "alerts": items})


async def alert_one(ctx: WebContext, request: web.Request) -> web.Response:
    return web.json_response(ctx.find_alert(principal_of(request), request.match_info["alert_id"]))


async def alert_ack(ctx: WebContext, request: web.Request) -> web.Response:
    p = principal_of(request)
    may(p, ACK_ALERTS)
    alert_id = request.match_info["alert_id"]
    ctx.find_alert(p, alert_id)
    body = await json_body(request)
    until, comment = until_of(ctx, body, required=False), text_of(body, "comment", required=False)
    result = await act(need(ctx.actions, "acknowledging").acknowledge(alert_id, p, until, comment))
    return web.json_response({"accepted": True, "result": result}, status=202)


async def silence_add(ctx: WebContext, request: web.Request) -> web.Response:
    p = principal_of(request)
    may(p, SILENCE)
    body = await json_body(request)
    unknown = set(body) - {"matchers", "until", "comment"}
    if unknown:
        raise Problem(400, f"unknown field(s) {sorted(unknown)}; use matchers, until, comment")
    matchers = body.get("matchers")
    if not isinstance(matchers, dict) or not matchers:
        raise Problem(400, f"matchers must be an object of label: value, labels from {', '.join(SILENCE_LABELS)}")
    bad = [k for k, v in matchers.items() if k not in SILENCE_LABELS or not isinstance(v, str) or not v]
    if bad:
        raise Problem(400, f"bad matcher(s) {sorted(bad)}: labels are {', '.join(SILENCE_LABELS)}, "
                           f"values non-empty strings")
    until, comment = until_of(ctx, body, required=True), text_of(body, "comment", required=True)
    result = await act(need(ctx.actions, "silencing").silence(dict(matchers), p, until, comment))
    return web.json_response({"accepted": True, "result": result}, status=202)


async def silence_list(ctx: WebContext, request: web.Request) -> web.Response:
    may(principal_of(request), READ_SILENCES)
    items = list(await maybe_await(need(ctx.actions, "silences").silences()))
    return web.json_response({"count": len(items), "silences": items})


# ---------------------------------------------------------------------- notices
async def notice_ack(ctx: WebContext, request: web.Request) -> web.Response:
    body = await json_body(request)
    unknown = set(body) - {"comment", "on_behalf_of", "reason"}
    if unknown:
        raise Problem(400, f"unknown field(s) {sorted(unknown)}; use comment, on_behalf_of, reason")
    comment, on_behalf = text_of(body, "comment", required=False), on_behalf_of(body)
    result = await act(need(ctx.notice_actions, "notice acknowledgement").acknowledge_notice(
        request.match_info["notice_id"], principal_of(request), comment, on_behalf))
    return web.json_response({"accepted": True, "result": result}, status=202)


async def notice_cap(ctx: WebContext, request: web.Request) -> web.Response:
    """A notice as CAP 1.2 XML, for its own desk and the centre (a file read: off the event loop)."""
    notice_id = request.match_info["notice_id"]
    files = need(ctx.notice_files, "notice download")
    try:
        body = await asyncio.to_thread(files.cap, notice_id, principal_of(request))
    except LookupError as exc:
        raise Problem(404, str(exc).strip("'\"") or "not found") from None
    return web.Response(body=body, content_type=CAP_MEDIA_TYPE, charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{notice_id}.cap.xml"'})


# ---------------------------------------------------------------------- segments
async def segments_list(ctx: WebContext, request: web.Request) -> web.Response:
    rows = ctx.segment_rows(principal_of(request))
    return web.json_response({"count": len(rows), "segments": rows})


async def segment_one(ctx: WebContext, request: web.Request) -> web.Response:
    return web.json_response(await ctx.segment_view(principal_of(request), request.match_info["segment_id"]))


# ---------------------------------------------------------------------- the live feed
async def events(ctx: WebContext, request: web.Request) -> web.StreamResponse:
    q = {k: v for k, v in request.query.items()}
    select_alerts([], q, EVENT_QUERY)  # validates the filters before the stream opens
    live = ctx.live
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"})
    client: asyncio.Queue = asyncio.Queue()
    live.clients.add(client)  # before the headers go out: nothing published after "open" is missed
    tok = request[TOKEN]

    def wanted(entry: dict, p: Principal) -> bool:
        v = entry["view"]
        return p.sees(v) and bool(select_alerts([v], dict(q, status="all"), EVENT_QUERY | {"status"}))

    async def send(entry: dict) -> bool:
        """Send the entry if the caller may still see it; False once the token is revoked or expired
        (checked at every event, not only when the feed is quiet: a busy feed is never quiet)."""
        now = ctx.auth.authenticate(tok)
        if now is None:
            return False
        if wanted(entry, now):
            await resp.write(f"id: {entry['id']}\nevent: alert\ndata: {live.data_for(entry, now)}\n\n".encode())
        return True

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
                    if not await send(entry):
                        return resp
        while True:
            try:
                entry = await asyncio.wait_for(client.get(), ctx.heartbeat)
            except asyncio.TimeoutError:
                if ctx.auth.authenticate(tok) is None:  # revoked or expired while watching
                    break
                await resp.write(b": heartbeat\n\n")
                continue
            if entry is None or not await send(entry):
                break
    except ConnectionResetError:
        pass
    finally:
        live.clients.discard(client)
    return resp
