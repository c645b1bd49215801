"""Who is calling: the token a request presents, signing in and out, and the CSRF rule.

Every route but /health, the sign-in form and the page's static assets needs a token:
``Authorization: Bearer <t>``, or the HttpOnly, SameSite=Strict cookie that ``POST /login``
sets (no token ever travels in a URL). Tokens carry a role (:mod:`alerts.web.tokens`). A notice's
acknowledgement link carries its own signed token (alerts/notify/acks.py): no sign-in.

CSRF: the page signs in with a cookie, so a cross-site page could make a browser send it. A
request authenticated by the cookie may change something only with the ``X-Borderwatch-Request``
header (a cross-site page cannot send a custom header without a CORS preflight, which this app
never grants), a JSON body, and an ``Origin`` (when sent) of this host; sign-in and sign-out take
no cookie but check the ``Origin`` too. The notice link's confirm form needs no cookie: its token is
the authority, and a page that has the token could post it itself.
"""

from __future__ import annotations

import re

from aiohttp import web

from alerts.web import pages
from alerts.web.context import PATH_ID, PRINCIPAL, TOKEN, WebContext, error, form_of
from alerts.web.tokens import bearer_token

COOKIE = "borderwatch_token"
CSRF_HEADER = "X-Borderwatch-Request"
#: Reachable without a token: the probe, the sign-in form and the page's static script and style.
PUBLIC = frozenset({"/health", "/login", "/logout", "/assets/app.js", "/assets/style.css"})
#: A notice's acknowledgement link carries its own HMAC token (alerts/notify/acks.py): no sign-in.
_NOTICE_CONFIRM = re.compile(rf"/notices/{PATH_ID}/confirm|/n/{PATH_ID}")
_PAGE_PATHS = ("/", "/ui/")


def presented(request: web.Request) -> tuple[str | None, bool]:
    """The token and whether it came from the cookie. A request that sends ``Authorization`` is
    judged by it alone: a malformed header does not fall back to a cookie the browser added."""
    headers = request.headers.getall("Authorization", [])
    if headers:
        return bearer_token(headers), False
    c = request.cookies.get(COOKIE)
    return (c, True) if c else (None, False)


def is_page(request: web.Request) -> bool:
    return request.method == "GET" and (request.path in _PAGE_PATHS or request.path.startswith("/ui/"))


def foreign(request: web.Request) -> bool:
    """Sent from a page of another site (browsers send ``Origin`` on every cross-site POST)."""
    origin = request.headers.get("Origin")
    return bool(origin) and origin.split("://", 1)[-1] != request.host


async def authenticate(ctx: WebContext, request: web.Request, handler) -> web.StreamResponse:
    """Middleware: the caller's principal on the request, or 401 (a sign-in page for a browser)."""
    if request.path in PUBLIC or _NOTICE_CONFIRM.fullmatch(request.path):
        return await handler(request)
    tok, from_cookie = presented(request)
    p = ctx.auth.authenticate(tok)
    if p is None:
        if is_page(request):
            return pages.sign_in_page(ctx, request, request.path_qs, invalid=tok is not None, status=401)
        return web.json_response({"error": "unauthorized", "hint": "send Authorization: Bearer <token>"},
                                 status=401, headers={"WWW-Authenticate": 'Bearer realm="borderwatch"'})
    if request.method not in ("GET", "HEAD", "OPTIONS") and from_cookie:
        if request.headers.get(CSRF_HEADER) != "1" or foreign(request):
            return error(403, f"a request signed in by cookie must come from this page (send {CSRF_HEADER}: 1)")
    request[PRINCIPAL] = p
    request[TOKEN] = tok
    return await handler(request)


async def login_form(ctx: WebContext, request: web.Request) -> web.Response:
    return pages.sign_in_page(ctx, request, request.query.get("next", "/"))


async def login(ctx: WebContext, request: web.Request) -> web.Response:
    if foreign(request):
        return error(403, "sign in from this site's own form")
    form = await form_of(request)
    tok = str(form.get("token", "")).strip()
    nxt = str(form.get("next", "/"))
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    if ctx.auth.authenticate(tok) is None:
        return pages.sign_in_page(ctx, request, nxt, invalid=True, status=401)
    resp = web.HTTPSeeOther(nxt)
    resp.set_cookie(COOKIE, tok, httponly=True, samesite="Strict", path="/", secure=request.secure)
    raise resp


async def logout(ctx: WebContext, request: web.Request) -> web.Response:
    if foreign(request):  # another site may not sign a desk out either
        return error(403, "sign out from this site's own page")
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp
