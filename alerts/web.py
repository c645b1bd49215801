"""The operator's HTTP surface: /health, /metrics, /alerts (JSON) and a plain HTML page.

Every route but /health needs the bearer token: ``Authorization: Bearer <t>``,
or for the page a one-time ``?token=<t>`` that is swapped for an HttpOnly,
SameSite=Strict cookie and dropped from the address. Only a hash of the token
is kept in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import html
from typing import Callable

from aiohttp import web

from alerts.escalation import LEVEL_INDEX, LEVELS
from alerts.history import AlertHistory

COOKIE = "borderwatch_token"
PUBLIC = {"/health"}


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def build_web_app(history: Callable[[], AlertHistory], metrics_text: Callable[[], bytes], token: str,
                  segment_names: Callable[[str], str] = lambda s: s,
                  ready: Callable[[], bool] = lambda: True) -> web.Application:
    """``ready`` tells /health whether the stream processor has its partitions and state."""
    if not token:
        raise ValueError("the web API needs a token")
    want = _digest(token)

    def presented(request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:].strip()
        return request.cookies.get(COOKIE) or request.query.get("token")

    @web.middleware
    async def require_token(request: web.Request, handler):
        if request.path in PUBLIC:
            return await handler(request)
        tok = presented(request)
        if tok is None or not hmac.compare_digest(_digest(tok), want):
            return web.json_response({"error": "unauthorized", "hint": "send Authorization: Bearer <token>"},
                                     status=401, headers={"WWW-Authenticate": 'Bearer realm="borderwatch"'})
        if request.path == "/" and "token" in request.query:
            # Swap the one-time query token for a cookie so it leaves the address bar and history.
            resp = web.HTTPFound("/")
            resp.set_cookie(COOKIE, tok, httponly=True, samesite="Strict", path="/")
            raise resp
        return await handler(request)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "ready": bool(ready())})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=metrics_text(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    def selected(request: web.Request) -> list[dict]:
        h = history()
        q = request.query
        items = h.open_alerts() if q.get("status", "open") == "open" else h.all()
        for name in ("border", "segment_id"):
            if q.get(name):
                items = [a for a in items if a[name] == q[name]]
        if q.get("level"):
            if q["level"] not in LEVEL_INDEX:
                raise web.HTTPBadRequest(text=f"level must be one of {', '.join(LEVELS)}")
            items = [a for a in items if a["peak_level"] == q["level"] or a["level"] == q["level"]]
        return items

    async def alerts_json(request: web.Request) -> web.Response:
        items = selected(request)
        return web.json_response({"count": len(items), "alerts": items})

    async def page(request: web.Request) -> web.Response:
        h = history()
        open_alerts = sorted(h.open_alerts(), key=lambda a: (-LEVEL_INDEX[a["level"]], a["segment_id"]))
        recent = sorted(h.all(), key=lambda a: a["opened_at"], reverse=True)[:200]
        return web.Response(text=render_page(open_alerts, recent, segment_summary(h), segment_names),
                            content_type="text/html")

    app = web.Application(middlewares=[require_token])
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/alerts", alerts_json)
    app.router.add_get("/", page)
    return app


_COLOURS = {"none": "#9e9e9e", "watch": "#f2c200", "warning": "#f08000", "critical": "#d32f2f"}


def _rows(alerts: list[dict], names: Callable[[str], str], level_key: str) -> str:
    out = []
    for a in alerts:
        lvl = a[level_key]
        out.append(
            "<tr>"
            f"<td>{_badge(lvl)}</td>"
            f"<td>{html.escape(a['border'])}</td>"
            f"<td title='{html.escape(a['segment_id'])}'>{html.escape(names(a['segment_id']))}</td>"
            f"<td>{html.escape(a['opened_at'].replace('T', ' ')[:16])}</td>"
            f"<td>{html.escape((a['resolved_at'] or '').replace('T', ' ')[:16])}</td>"
            f"<td>{a['peak_score']:.2f}</td><td>{html.escape(a['summary'])}</td></tr>")
    return "\n".join(out) or "<tr><td colspan='7'>none</td></tr>"


def segment_summary(h: AlertHistory) -> list[dict]:
    """Per segment that ever alerted: its level now, how many alerts, the worst and the latest."""
    out: dict[str, dict] = {}
    for a in h.all():
        row = out.setdefault(a["segment_id"], {"segment_id": a["segment_id"], "border": a["border"], "level": "none",
                                               "alerts": 0, "worst": "none", "last_opened": ""})
        row["alerts"] += 1
        if a["resolved_at"] is None and LEVEL_INDEX[a["level"]] > LEVEL_INDEX[row["level"]]:
            row["level"] = a["level"]
        if LEVEL_INDEX[a["peak_level"]] > LEVEL_INDEX[row["worst"]]:
            row["worst"] = a["peak_level"]
        row["last_opened"] = max(row["last_opened"], a["opened_at"])
    return sorted(out.values(), key=lambda r: (-LEVEL_INDEX[r["level"]], -LEVEL_INDEX[r["worst"]], r["segment_id"]))


def _badge(level: str) -> str:
    return f"<span class='lvl' style='background:{_COLOURS[level]}'>{html.escape(level)}</span>"


def render_page(open_alerts: list[dict], recent: list[dict], segments: list[dict],
                names: Callable[[str], str]) -> str:
    seg_rows = "\n".join(
        f"<tr><td>{_badge(r['level'])}</td><td>{html.escape(r['border'])}</td>"
        f"<td title='{html.escape(r['segment_id'])}'>{html.escape(names(r['segment_id']))}</td>"
        f"<td>{r['alerts']}</td><td>{_badge(r['worst'])}</td><td>{html.escape(r['last_opened'][:10])}</td></tr>"
        for r in segments) or "<tr><td colspan='6'>no alerts yet</td></tr>"
    seg_head = "<tr><th>level now</th><th>border</th><th>segment</th><th>alerts</th><th>worst</th><th>last opened</th></tr>"
    head = ("<tr><th>level</th><th>border</th><th>segment</th><th>opened</th><th>resolved</th>"
            "<th>peak score</th><th>summary</th></tr>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>borderwatch — alerts</title>
<meta http-equiv="refresh" content="10">
<style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}} table{{border-collapse:collapse;width:100%;margin-bottom:2rem}}
th,td{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}}
.lvl{{color:#fff;border-radius:3px;padding:0 .4rem;font-weight:600}} h1{{font-size:1.4rem}}
</style></head><body>
<h1>borderwatch — escalation alerts</h1>
<h2 id="open">Open alerts ({len(open_alerts)})</h2>
<table id="open-alerts">{head}{_rows(open_alerts, names, "level")}</table>
<h2 id="segments">Segments with alerts ({len(segments)})</h2>
<table id="segment-summary">{seg_head}{seg_rows}</table>
<h2 id="history">Recent alerts ({len(recent)})</h2>
<table id="recent-alerts">{head}{_rows(recent, names, "peak_level")}</table>
<p>JSON: <code>GET /alerts?status=all</code> with <code>Authorization: Bearer &lt;token&gt;</code>.</p>
</body></html>"""
