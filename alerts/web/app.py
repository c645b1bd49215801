"""The operator's HTTP surface as one aiohttp app: the routes table, the middlewares, the limits.

Handlers are module functions ``handler(ctx, request)`` over one
:class:`~alerts.web.context.WebContext` (the app's collaborators): the JSON API and the live feed's
stream in :mod:`alerts.web.api`, the pages in :mod:`alerts.web.pages`,
signing in in :mod:`alerts.web.auth`, which also says what needs a token (everything but /health,
sign-in and the page's static assets). :data:`ROUTES` lists them all.

Limits, set in :mod:`alerts.web.context` beside ``PATH_ID`` and applied here: a body over
``MAX_BODY_BYTES`` answers 413, a request line or header over ``MAX_LINE_BYTES`` 400 (from
aiohttp's parser, before any route), a path id that is not an id
(``PATH_ID``: no ``/``, no leading dot, so no ``..``) 404 from the router; no route reads a file
named by the request (the static assets are a fixed list).

A request aiohttp's parser refuses (a malformed request line, a character a URL may not hold) is
answered 400 by aiohttp before any of this runs; it is logged as one warning line on
``borderwatch.web.http`` (:data:`SERVER_OPTIONS`; the worker shows at most one a minute), not an
ERROR with a traceback for every such request anyone cares to send.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any, Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from alerts.access import Principal
from alerts.history import AlertHistory
from alerts.policy import Policy
from alerts.timefmt import utcnow
from alerts.web import api, live, pages
from alerts.web.auth import authenticate, login, login_form, logout
from alerts.web.context import (MAX_BODY_BYTES, MAX_LINE_BYTES, PATH_ID, PRINCIPAL, Actions, NoticeActions, NoticeFiles,
                                Problem, SegmentDetail, Waiting, WebContext, error)
from alerts.web.tokens import LEGACY_NAME, Authenticator

class RefusedRequests(logging.Filter):
    """A request the HTTP parser refused is the client's error, not the server's: aiohttp logs it as
    an exception ("Error handling request") with its traceback; this makes it a warning that names
    the client and the parser's reason, without the traceback or the request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            reason = (exc.message or "").strip().splitlines()[0].rstrip(":") if exc.message else "malformed"
            client = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.msg, record.args = "refused a malformed HTTP request from %s (%s): answered 400", (client, reason)
            record.exc_info = record.exc_text = None
        return True


#: The HTTP server's own log (aiohttp's ``logger``): a refused request is a warning (the worker holds
#: back its repeats, streams.log_repeats).
HTTP_LOG = logging.getLogger("borderwatch.web.http")
HTTP_LOG.addFilter(RefusedRequests())
#: How the web app is served (``web.AppRunner``'s options), by the worker and by the tests alike.
SERVER_OPTIONS: dict[str, Any] = {"access_log": None, "logger": HTTP_LOG}

LIVE = web.AppKey("live", live.LiveFeed)
CONTEXT = web.AppKey("context", WebContext)

Handler = Callable[[WebContext, web.Request], Awaitable[web.StreamResponse]]
#: Every route: method, path, handler.
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/health", api.health),
    ("GET", "/metrics", api.metrics),
    ("GET", "/openapi.json", api.openapi),
    ("GET", "/whoami", api.whoami),
    ("GET", "/alerts", api.alerts_list),
    ("GET", f"/alerts/{{alert_id:{PATH_ID}}}", api.alert_one),
    ("POST", f"/alerts/{{alert_id:{PATH_ID}}}/ack", api.alert_ack),
    ("GET", "/silences", api.silence_list),
    ("POST", "/silences", api.silence_add),
    ("POST", f"/notices/{{notice_id:{PATH_ID}}}/ack", api.notice_ack),
    ("GET", f"/notices/{{notice_id:{PATH_ID}}}/confirm", pages.notice_confirm),
    ("GET", f"/notices/{{notice_id:{PATH_ID}}}/cap", api.notice_cap),
    ("POST", f"/notices/{{notice_id:{PATH_ID}}}/confirm", pages.notice_confirm),
    ("GET", f"/n/{{notice_id:{PATH_ID}}}", pages.notice_confirm),  # the short link notices carry
    ("GET", "/segments", api.segments_list),
    ("GET", f"/segments/{{segment_id:{PATH_ID}}}", api.segment_one),
    ("GET", "/events", api.events),
    ("GET", "/login", login_form),
    ("POST", "/login", login),
    ("POST", "/logout", logout),
    ("GET", "/", pages.page),
    ("GET", "/ui/console", pages.console),
    ("GET", f"/ui/segments/{{segment_id:{PATH_ID}}}", pages.segment_page),
    ("GET", "/assets/{name:(app\\.js|style\\.css)}", pages.static),
)


def wants_html(request: web.Request) -> bool:
    """A browser navigating (it asks for text/html before JSON); fetch() and API clients get JSON."""
    accept = request.headers.get("Accept", "")
    html_at, json_at = accept.find("text/html"), accept.find("application/json")
    return request.method == "GET" and html_at >= 0 and (json_at < 0 or html_at < json_at)


def problem(request: web.Request, status: int, message: str, ctx: WebContext | None = None) -> web.Response:
    if status in (403, 404) and wants_html(request):
        p = request.get(PRINCIPAL)
        lang = pages.page_language(ctx, request, p)
        return pages.error_page(status, message, p, lang, pages.language_links(request, lang))
    return error(status, message)


async def problems(ctx: WebContext, request: web.Request, handler) -> web.StreamResponse:
    """Middleware: errors as ``{"error": ...}``, for the public routes as for the others; a browser
    asking for a page gets a not-found or not-allowed page instead."""
    try:
        return await handler(request)
    except Problem as exc:
        return problem(request, exc.status, exc.message, ctx)
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    except web.HTTPNotFound:  # the router's: no route, or a path id that is not an id
        return problem(request, 404, "not found", ctx)
    except web.HTTPMethodNotAllowed as exc:
        resp = error(405, f"{request.method} is not allowed here")
        resp.headers["Allow"] = exc.headers["Allow"]
        return resp


async def security_headers(ctx: WebContext, request: web.Request, handler) -> web.StreamResponse:
    resp = await handler(request)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" on form posts.
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.content_type == "text/html":
        resp.headers.setdefault("Content-Security-Policy", pages.CSP)
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def build_web_app(history: Callable[[], AlertHistory], metrics_text: Callable[[], bytes], token: str = "",
                  segment_names: Callable[[str], str] = lambda s: s,
                  ready: Callable[[], bool | str | Waiting] = lambda: True, *,
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
    string) why it failed: /health then answers 503; a :class:`Waiting` says why it cannot go on for
    now (not ready, 200). ``policy`` (the worker's alerting policy) lets
    the console say who was notified of each alert and by when an acknowledgement is expected.
    """
    if auth is None:
        auth = Authenticator.single(token)
    elif token:
        auth.add_static(token, Principal(LEGACY_NAME, "admin"))
    feed = live.LiveFeed(subscribers if subscribers is not None else set(), history)
    ctx = WebContext(history=history, metrics_text=metrics_text, auth=auth, live=feed, clock=clock,
                     segment_names=segment_names, ready=ready, segments=segments, segment_detail=segment_detail,
                     actions=actions, notice_actions=notice_actions, notice_files=notice_files,
                     heartbeat=heartbeat, policy=policy)
    app = web.Application(middlewares=[web.middleware(functools.partial(m, ctx))
                                       for m in (security_headers, problems, authenticate)],
                          client_max_size=MAX_BODY_BYTES,
                          handler_args={"max_line_size": MAX_LINE_BYTES, "max_field_size": MAX_LINE_BYTES})
    app[LIVE] = feed
    app[CONTEXT] = ctx
    app.on_startup.append(feed.start)
    app.on_shutdown.append(feed.stop)
    add = {"GET": app.router.add_get, "POST": app.router.add_post}
    for method, path, handler in ROUTES:
        add[method](path, functools.partial(handler, ctx))
    return app

