"""The operator page: server-rendered HTML, inline SVG (map, chart), one small script, no outside assets.

Everything shown here went through :mod:`alerts.access` in :mod:`alerts.web` first; this
module only renders what it is given, escaping every value.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, Callable, Iterable, Mapping

from aiohttp import web

from alerts.access import Principal
from alerts.escalation import LEVEL_INDEX, LEVELS

COLOURS = {"none": "#9e9e9e", "watch": "#d4a800", "warning": "#f08000", "critical": "#d32f2f"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

e = html.escape


def _doc(title: str, body: str, status: int = 200, script: bool = False) -> web.Response:
    js = '<script src="/assets/app.js" defer></script>' if script else ""
    text = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{e(title)}</title><link rel="icon" href="data:,">'
            f'<link rel="stylesheet" href="/assets/style.css">{js}</head>'
            f'<body>{body}</body></html>')
    return web.Response(text=text, content_type="text/html", status=status)


def badge(level: str) -> str:
    return f'<span class="lvl lvl-{e(level)}">{e(level)}</span>'


def _when(t: str | None) -> str:
    return e((t or "").replace("T", " ")[:16])


# ---------------------------------------------------------------------- sign-in
def login_page(next_path: str = "/", error: str = "", status: int = 200) -> web.Response:
    if not next_path.startswith("/") or next_path.startswith("//") or next_path.startswith("/login"):
        next_path = "/"
    err = f'<p class="bad" role="alert">{e(error)}</p>' if error else ""
    body = f"""<main class="narrow"><h1>borderwatch</h1><h2>Sign in</h2>{err}
<form method="post" action="/login" id="login">
<label for="token">API token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{e(next_path)}">
<button type="submit">Sign in</button></form>
<p class="hint">Ask an admin for a token (<code>borderwatch token add --name NAME --role ROLE</code>).
It is kept in an HttpOnly cookie for this browser session; sign out to drop it.</p></main>"""
    return _doc("borderwatch — sign in", body, status)


def notice_confirm_page(notice_id: str, token: str, *, message: str = "", done: bool = False,
                        status: int = 200) -> web.Response:
    """The page a notice's acknowledgement link opens: one button, no sign-in (the link is signed)."""
    msg = f'<p class="{"ok" if done else "bad"}" role="status" id="confirm-result">{e(message)}</p>' if message else ""
    form = "" if done or status >= 400 else (
        f'<form method="post" action="/notices/{e(notice_id)}/confirm" id="confirm">'
        f'<input type="hidden" name="token" value="{e(token)}">'
        f'<button type="submit">Acknowledge notice {e(notice_id)}</button></form>')
    body = (f'<main class="narrow"><h1>borderwatch</h1><h2>Escalation notice</h2>{msg}{form}'
            f'<p class="hint">Acknowledging tells the monitoring centre your desk has read this notice.</p></main>')
    return _doc("borderwatch — acknowledge notice", body, status)


def _header(p: Principal) -> str:
    return (f'<header><a class="home" href="/">borderwatch</a>'
            f'<span class="who">signed in as <b id="who">{e(p.name)}</b> (<span id="role">{e(p.role_string)}</span>)</span>'
            f'<form method="post" action="/logout" class="inline"><button type="submit">Sign out</button></form></header>')


# ---------------------------------------------------------------------- map
def project(rows: list[dict], width: float = 960.0, pad: float = 12.0,
            max_height: float | None = None) -> tuple[dict[str, str], float, float]:
    """SVG ``points`` per segment id from (lon, lat) coords, and the width and height they fill.

    Equirectangular, longitudes scaled by the cosine of the mid latitude so shapes keep their
    proportions, north up; as large as fits ``width`` (and ``max_height``).
    """
    pts = [(x, y) for r in rows for x, y in r.get("coords") or ()]
    if not pts:
        return {}, 0.0, 0.0
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    k = math.cos(math.radians((y0 + y1) / 2))
    span_x, span_y = max((x1 - x0) * k, 1e-6), max(y1 - y0, 1e-6)
    scale = (width - 2 * pad) / span_x
    if max_height is not None:
        scale = min(scale, (max_height - 2 * pad) / span_y)
    out = {}
    for r in rows:
        if r.get("coords"):
            out[r["segment_id"]] = " ".join(f"{pad + (x - x0) * k * scale:.1f},{pad + (y1 - y) * scale:.1f}"
                                            for x, y in r["coords"])
    return out, span_x * scale + 2 * pad, span_y * scale + 2 * pad


def svg_map(rows: list[dict], width: float = 960.0, max_height: float = 560.0, svg_id: str = "map",
            highlight: str | None = None) -> str:
    """Segments as lines coloured by level, each a link to its page; ``highlight`` draws one bolder."""
    points, w, h = project(rows, width, max_height=max_height)
    if not points:
        return '<p class="hint">No segment geometry loaded.</p>'
    lines = []
    for r in rows:
        if r["segment_id"] not in points:
            continue
        cls = "seg here" if r["segment_id"] == highlight else "seg"
        lines.append(f'<a href="/ui/segments/{e(r["segment_id"])}"><polyline class="{cls}" '
                     f'data-segment="{e(r["segment_id"])}" data-level="{e(r["level"])}" '
                     f'stroke="{COLOURS[r["level"]]}" points="{points[r["segment_id"]]}">'
                     f'<title>{e(r["segment_id"])}: {e(r["name"])} ({e(r["level"])})</title></polyline></a>')
    legend = " ".join(badge(lv) for lv in LEVELS)
    return (f'<svg id="{svg_id}" class="map" role="img" aria-label="border segments coloured by level" '
            f'viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}">{"".join(lines)}</svg>'
            f'<p class="legend">{legend}</p>')


# ---------------------------------------------------------------------- chart
def svg_chart(daily: list[Mapping[str, Any]], width: float = 720.0, height: float = 200.0) -> str:
    """Bars of incidents per day, with the baseline as a line where the series carries one."""
    if not daily:
        return '<p class="hint" id="no-chart">No daily activity available for this segment.</p>'
    top = max(max(float(d.get("incidents") or 0), float(d.get("baseline") or 0)) for d in daily) or 1.0
    left, bottom, pad = 36.0, 22.0, 6.0
    plot_w, plot_h = width - left - pad, height - bottom - pad
    bw = plot_w / len(daily)
    bars, base = [], []
    for i, d in enumerate(daily):
        n = float(d.get("incidents") or 0)
        h = n / top * plot_h
        x = left + i * bw
        tip = f'{d["date"]}: {int(n)} incidents, {int(d.get("fatalities") or 0)} deaths'
        bars.append(f'<rect class="bar" x="{x:.1f}" y="{pad + plot_h - h:.1f}" width="{max(bw - 1, 0.5):.1f}" '
                    f'height="{h:.1f}" data-date="{e(str(d["date"]))}" data-incidents="{int(n)}"><title>{e(tip)}</title></rect>')
        if d.get("baseline") is not None:
            base.append(f"{x + bw / 2:.1f},{pad + plot_h - float(d['baseline']) / top * plot_h:.1f}")
    line = f'<polyline class="baseline" points="{" ".join(base)}"><title>baseline</title></polyline>' if base else ""
    axis = (f'<line class="axis" x1="{left}" y1="{pad + plot_h}" x2="{width - pad}" y2="{pad + plot_h}"/>'
            f'<text x="{left - 4}" y="{pad + 10}" text-anchor="end">{top:g}</text>'
            f'<text x="{left - 4}" y="{pad + plot_h}" text-anchor="end">0</text>'
            f'<text x="{left}" y="{height - 4}">{e(str(daily[0]["date"]))}</text>'
            f'<text x="{width - pad}" y="{height - 4}" text-anchor="end">{e(str(daily[-1]["date"]))}</text>')
    return (f'<svg id="chart" role="img" aria-label="incidents per day" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'xmlns="http://www.w3.org/2000/svg">{axis}{"".join(bars)}{line}</svg>')


# ---------------------------------------------------------------------- feed
FEED_HEAD = ("<tr><th>level</th><th>border</th><th>segment</th><th>opened</th><th>state</th>"
             "<th>peak score</th><th>summary</th><th></th></tr>")


def _state(a: Mapping[str, Any]) -> str:
    if a.get("resolved_at"):
        return f"resolved {_when(a['resolved_at'])}"
    ack = a.get("acknowledged")
    if ack:
        until = f" until {_when(ack.get('until'))}" if ack.get("until") else ""
        return f"open, acked by {e(str(ack.get('by', '')))}{until}"
    return "open"


def feed_row(a: Mapping[str, Any], names: Callable[[str], str], may_act: bool) -> str:
    is_open = not a.get("resolved_at")
    lvl = a["level"] if is_open else a["peak_level"]
    action = ""
    if may_act and is_open and not a.get("acknowledged"):
        action = (f'<form class="ack inline" data-alert-id="{e(a["alert_id"])}">'
                  f'<input name="comment" placeholder="comment" aria-label="comment">'
                  f'<button type="submit">Acknowledge</button></form>')
    return (f'<tr data-alert-id="{e(a["alert_id"])}" data-level="{e(lvl)}" data-border="{e(a["border"])}" '
            f'class="{"open" if is_open else "resolved"}">'
            f"<td>{badge(lvl)}</td><td>{e(a['border'])}</td>"
            f'<td><a href="/ui/segments/{e(a["segment_id"])}" title="{e(a["segment_id"])}">{e(names(a["segment_id"]))}</a></td>'
            f"<td>{_when(a['opened_at'])}</td><td class=\"state\">{_state(a)}</td>"
            f"<td>{float(a.get('peak_score') or 0):.2f}</td><td>{e(str(a.get('summary', '')))}</td><td>{action}</td></tr>")


def feed_order(alerts: Iterable[Mapping[str, Any]]) -> list:
    """Open before resolved, higher level first, then the latest change first (as app.js orders)."""
    newest = sorted(alerts, key=lambda a: a.get("updated_at") or a["opened_at"], reverse=True)
    return sorted(newest, key=lambda a: (bool(a.get("resolved_at")),
                                         -LEVEL_INDEX[a["peak_level"] if a.get("resolved_at") else a["level"]]))


def _options(values: Iterable[str], chosen: str, blank: str) -> str:
    opts = [f'<option value="">{e(blank)}</option>']
    opts += [f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(v)}</option>' for v in values]
    return "".join(opts)


def _json_script(element_id: str, data: Any) -> str:
    text = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def main_page(p: Principal, alerts: list[dict], segments: list[dict], names: Callable[[str], str],
              filters: Mapping[str, str]) -> web.Response:
    level, border = filters.get("level", ""), filters.get("border", "")
    borders = sorted({r["border"] for r in segments} | {a["border"] for a in alerts})
    shown = feed_order(a for a in alerts
                       if (not level or level in (a["level"], a["peak_level"])) and (not border or a["border"] == border))
    rows = "\n".join(feed_row(a, names, p.may_act) for a in shown) or ""
    no_geometry = [r for r in segments if not r.get("coords") and r["open_alerts"]]
    whole = "".join(f'<li>{badge(r["level"])} <a href="/ui/segments/{e(r["segment_id"])}">{e(r["name"])}</a></li>'
                    for r in no_geometry)
    actions = ""
    if p.may_act:
        actions = f"""<section id="silences"><h2>Silences</h2>
<form id="silence-form">
<label>border <select name="border" id="silence-border">{_options(borders, "", "any")}</select></label>
<label>segment <input name="segment_id" id="silence-segment" placeholder="e.g. KGZ-TJK-07" size="12"></label>
<label>hours <input name="hours" id="silence-hours" type="number" min="1" max="720" value="4" size="4"></label>
<label>comment <input name="comment" id="silence-comment" required size="30"></label>
<button type="submit">Silence</button></form>
<table id="silence-list"><thead><tr><th>matchers</th><th>until</th><th>by</th><th>comment</th></tr></thead>
<tbody><tr><td colspan="4">loading…</td></tr></tbody></table></section>"""
    notices = ""
    if p.may_ack_notices and not p.may_act:
        notices = """<section id="notices"><h2>Acknowledge a notice</h2>
<form id="notice-form"><label>notice id <input name="notice_id" id="notice-id" required size="24"></label>
<label>comment <input name="comment" id="notice-comment" size="30"></label>
<button type="submit">Acknowledge notice</button></form></section>"""
    data = {"alerts": alerts, "may_act": p.may_act, "names": {**{r["segment_id"]: r["name"] for r in segments},
                                                   **{s: names(s) for s in {a["segment_id"] for a in alerts}}}}
    body = f"""{_header(p)}<main>
<h1>Escalation alerts <span id="live" class="live" aria-live="polite">connecting…</span></h1>
<p id="status" role="status" aria-live="polite"></p>
<form id="filters" method="get" action="/">
<label>level <select name="level" id="filter-level">{_options(LEVELS[1:], level, "all")}</select></label>
<label>border <select name="border" id="filter-border">{_options(borders, border, "all")}</select></label>
<noscript><button type="submit">Filter</button></noscript></form>
<section id="map-section"><h2>Segments</h2>{svg_map(segments)}
{f'<p>Alerts on whole borders (no coordinates):</p><ul id="whole-borders">{whole}</ul>' if whole else ''}</section>
<section id="feed-section"><h2>Feed (<span id="feed-count">{len(shown)}</span>)</h2>
<table id="feed"><thead>{FEED_HEAD}</thead><tbody>{rows}</tbody></table></section>
{actions}{notices}
<p class="hint">JSON API: <a href="/openapi.json">/openapi.json</a>, live feed <code>/events</code> (server-sent events).</p>
</main>{_json_script("bw-data", data)}"""
    return _doc("borderwatch — alerts", body, script=True)


# ---------------------------------------------------------------------- segment view
def segment_page(p: Principal, view: Mapping[str, Any], border_rows: list[dict]) -> web.Response:
    """``border_rows``: the segments of the same border, drawn around this one for context."""
    minimap = svg_map(border_rows, width=640, max_height=320, svg_id="minimap",
                      highlight=view["segment_id"]) if view.get("coords") else ""
    alerts = "\n".join(
        f'<tr><td>{badge(a["peak_level"])}</td><td>{_when(a["opened_at"])}</td><td>{_state(a)}</td>'
        f'<td>{e(str(a.get("summary", "")))}</td></tr>' for a in view["alerts"]) or '<tr><td colspan="4">none</td></tr>'
    cols = ("occurred_at", "category", "fatalities", "injuries", "location_name", "source", "description")
    incidents = "\n".join(
        "<tr>" + "".join(f"<td>{e(str(i.get(c) if i.get(c) is not None else ''))}</td>" for c in cols) + "</tr>"
        for i in view["incidents"]) or (f'<tr><td colspan="{len(cols)}">'
                                        f'{"none released to you" if view.get("detail_available") else "no detail"}</td></tr>')
    note = "" if view.get("detail_available") else '<p class="hint">Incident detail is not wired in this deployment.</p>'
    body = f"""{_header(p)}<main>
<p><a href="/">← all alerts</a></p>
<h1 id="segment-title">{e(view["name"])} {badge(view["level"])}</h1>
<p>segment <code>{e(view["segment_id"])}</code>, border {e(view["border"])}, {view["length_km"]} km,
{view["open_alerts"]} open alert(s)</p>{minimap}{note}
<h2>Recent activity</h2>{svg_chart(view["daily"])}
<h2>Alerts on this segment</h2>
<table id="segment-alerts"><thead><tr><th>peak</th><th>opened</th><th>state</th><th>summary</th></tr></thead>
<tbody>{alerts}</tbody></table>
<h2>Recent incidents</h2>
<table id="segment-incidents"><thead><tr>{"".join(f"<th>{c.replace('_', ' ')}</th>" for c in cols)}</tr></thead>
<tbody>{incidents}</tbody></table></main>"""
    return _doc(f"borderwatch — {view['name']}", body)


# ---------------------------------------------------------------------- assets
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;gap:1rem;align-items:center;padding:.5rem 1.5rem;background:#263238;color:#eee}
header a.home{color:#fff;font-weight:700;text-decoration:none} header .who{margin-left:auto}
main{padding:1rem 1.5rem} main.narrow{max-width:28rem;margin:3rem auto}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin-bottom:1rem;background:#fff}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}
.lvl{color:#fff;border-radius:3px;padding:0 .4rem;font-weight:600;font-size:.85rem}
.lvl-none{background:#9e9e9e}.lvl-watch{background:#b08c00}.lvl-warning{background:#e07000}.lvl-critical{background:#c62828}
tr.resolved{color:#777} tr.flash{background:#fff8d0}
form.inline{display:inline} label{margin-right:.8rem} .hint{color:#666;font-size:.85rem}
.bad{color:#b00020} .ok{color:#1b5e20} .live{font-size:.8rem;font-weight:400;color:#666}
.live.on{color:#1b5e20}
svg.map{max-width:100%;height:auto;background:#eef3f6;border:1px solid #cfd8dc}
svg.map .seg{fill:none;stroke-width:4;stroke-linecap:round} svg.map a:hover .seg{stroke-width:7}
#minimap .seg{stroke-width:2;opacity:.6} #minimap .seg.here{stroke-width:6;opacity:1}
#chart{width:100%;max-width:720px;height:auto;background:#fff;border:1px solid #ddd}
#chart .bar{fill:#546e7a} #chart .baseline{fill:none;stroke:#d32f2f;stroke-width:1.5;stroke-dasharray:4 3}
#chart .axis{stroke:#999} #chart text{font-size:10px;fill:#555}
"""

APP_JS = r"""'use strict';
(function () {
  var dataEl = document.getElementById('bw-data');
  if (!dataEl) return;
  var D = JSON.parse(dataEl.textContent);
  var LEVELS = {none: 0, watch: 1, warning: 2, critical: 3};
  var COLOURS = %COLOURS%;
  var HEADERS = {'Content-Type': 'application/json', 'X-Borderwatch-Request': '1'};
  var alerts = new Map();
  D.alerts.forEach(function (a) { alerts.set(a.alert_id, a); });
  var names = D.names || {};
  var tbody = document.querySelector('#feed tbody');
  var statusEl = document.getElementById('status');
  var live = document.getElementById('live');
  var levelSel = document.getElementById('filter-level');
  var borderSel = document.getElementById('filter-border');

  function say(msg, bad) { statusEl.textContent = msg; statusEl.className = bad ? 'bad' : 'ok'; }
  function when(t) { return (t || '').replace('T', ' ').slice(0, 16); }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = String(text);
    return n;
  }
  function badge(level) { return el('span', {'class': 'lvl lvl-' + level}, level); }
  function isOpen(a) { return !a.resolved_at; }
  function shownLevel(a) { return isOpen(a) ? a.level : a.peak_level; }
  function stateText(a) {
    if (!isOpen(a)) return 'resolved ' + when(a.resolved_at);
    var k = a.acknowledged;
    if (k) return 'open, acked by ' + k.by + (k.until ? ' until ' + when(k.until) : '');
    return 'open';
  }
  function row(a) {
    var tr = el('tr', {'data-alert-id': a.alert_id, 'data-level': shownLevel(a), 'data-border': a.border,
                       'class': isOpen(a) ? 'open' : 'resolved'});
    function td(child) { var c = el('td'); if (child instanceof Node) c.appendChild(child); else c.textContent = child; tr.appendChild(c); return c; }
    td(badge(shownLevel(a)));
    td(a.border);
    var link = el('a', {href: '/ui/segments/' + encodeURIComponent(a.segment_id), title: a.segment_id},
                  names[a.segment_id] || a.segment_id);
    td(link);
    td(when(a.opened_at));
    td(stateText(a)).className = 'state';
    td(Number(a.peak_score || 0).toFixed(2));
    td(a.summary || '');
    var act = td('');
    if (D.may_act && isOpen(a) && !a.acknowledged) {
      var f = el('form', {'class': 'ack inline', 'data-alert-id': a.alert_id});
      f.appendChild(el('input', {name: 'comment', placeholder: 'comment', 'aria-label': 'comment'}));
      f.appendChild(el('button', {type: 'submit'}, 'Acknowledge'));
      act.appendChild(f);
    }
    return tr;
  }
  function shown(a) {
    var lv = levelSel.value, b = borderSel.value;
    if (lv && a.level !== lv && a.peak_level !== lv) return false;
    return !(b && a.border !== b);
  }
  function order(a, b) {
    if (isOpen(a) !== isOpen(b)) return isOpen(a) ? -1 : 1;
    var d = LEVELS[shownLevel(b)] - LEVELS[shownLevel(a)];
    if (d) return d;
    var ta = a.updated_at || a.opened_at, tb = b.updated_at || b.opened_at;
    return ta < tb ? 1 : ta > tb ? -1 : 0;
  }
  function colourMap() {
    var lv = {};
    alerts.forEach(function (a) {
      if (isOpen(a) && LEVELS[a.level] > (LEVELS[lv[a.segment_id]] || 0)) lv[a.segment_id] = a.level;
    });
    document.querySelectorAll('#map [data-segment]').forEach(function (p) {
      var l = lv[p.getAttribute('data-segment')] || 'none';
      p.setAttribute('data-level', l);
      p.setAttribute('stroke', COLOURS[l]);
    });
  }
  function render(flashId) {
    // Keep what the operator is typing in an ack comment across live updates.
    var drafts = {}, active = document.activeElement, focusId = null;
    tbody.querySelectorAll('form.ack').forEach(function (f) {
      var id = f.getAttribute('data-alert-id');
      if (f.comment.value) drafts[id] = f.comment.value;
      if (active === f.comment) focusId = id;
    });
    var list = Array.from(alerts.values()).filter(shown).sort(order);
    tbody.replaceChildren.apply(tbody, list.map(row));
    tbody.querySelectorAll('form.ack').forEach(function (f) {
      var id = f.getAttribute('data-alert-id');
      if (drafts[id]) f.comment.value = drafts[id];
      if (id === focusId) f.comment.focus();
    });
    document.getElementById('feed-count').textContent = list.length;
    colourMap();
    if (flashId) {
      var tr = tbody.querySelector('tr[data-alert-id="' + CSS.escape(flashId) + '"]');
      if (tr) { tr.classList.add('flash'); setTimeout(function () { tr.classList.remove('flash'); }, 3000); }
    }
  }
  function syncUrl() {
    var q = new URLSearchParams();
    if (levelSel.value) q.set('level', levelSel.value);
    if (borderSel.value) q.set('border', borderSel.value);
    history.replaceState(null, '', '/' + (q.toString() ? '?' + q : ''));
  }
  [levelSel, borderSel].forEach(function (s) { s.addEventListener('change', function () { syncUrl(); render(); }); });

  function post(path, body) {
    return fetch(path, {method: 'POST', headers: HEADERS, body: JSON.stringify(body), credentials: 'same-origin'})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
          return j;
        });
      });
  }
  function refresh(id) {
    return fetch('/alerts/' + encodeURIComponent(id), {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) { if (a) { alerts.set(a.alert_id, a); render(); } });
  }
  function reloadAll() {
    return fetch('/alerts?status=all', {credentials: 'same-origin'}).then(function (r) { return r.json(); })
      .then(function (j) { alerts.clear(); j.alerts.forEach(function (a) { alerts.set(a.alert_id, a); }); render(); });
  }

  tbody.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!f.classList.contains('ack')) return;
    ev.preventDefault();
    var id = f.getAttribute('data-alert-id');
    f.querySelector('button').disabled = true;
    post('/alerts/' + encodeURIComponent(id) + '/ack', {comment: f.comment.value})
      .then(function () { say('acknowledgement of ' + id + ' sent'); return refresh(id); })
      .catch(function (err) { say('acknowledge failed: ' + err.message, true); f.querySelector('button').disabled = false; });
  });

  var silenceForm = document.getElementById('silence-form');
  function loadSilences() {
    var body = document.querySelector('#silence-list tbody');
    return fetch('/silences', {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : {silences: [], error: 'unavailable (HTTP ' + r.status + ')'}; })
      .then(function (j) {
        var rows = (j.silences || []).map(function (s) {
          var tr = el('tr', {'data-silence-id': s.silence_id || ''});
          var m = Object.keys(s.matchers || {}).map(function (k) { return k + '=' + s.matchers[k]; }).join(', ');
          [m, when(s.until), s.by || '', s.comment || ''].forEach(function (t) { tr.appendChild(el('td', {}, t)); });
          return tr;
        });
        if (!rows.length) {
          var tr = el('tr');
          tr.appendChild(el('td', {colspan: '4'}, j.error || 'none'));
          rows = [tr];
        }
        body.replaceChildren.apply(body, rows);
      });
  }
  if (silenceForm) {
    loadSilences();
    silenceForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var matchers = {};
      var b = silenceForm.border.value, s = silenceForm.segment_id.value.trim();
      if (b) matchers.border = b;
      if (s) matchers.segment_id = s;
      var hours = Number(silenceForm.hours.value || 4);
      var until = new Date(Date.now() + hours * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
      post('/silences', {matchers: matchers, until: until, comment: silenceForm.comment.value})
        .then(function () { say('silence sent'); silenceForm.reset(); return loadSilences(); })
        .catch(function (err) { say('silence failed: ' + err.message, true); });
    });
  }
  var noticeForm = document.getElementById('notice-form');
  if (noticeForm) {
    noticeForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var id = noticeForm.notice_id.value.trim();
      post('/notices/' + encodeURIComponent(id) + '/ack', {comment: noticeForm.comment.value})
        .then(function () { say('notice ' + id + ' acknowledged'); noticeForm.reset(); })
        .catch(function (err) { say('notice acknowledgement failed: ' + err.message, true); });
    });
  }

  var es = new EventSource('/events');
  es.addEventListener('open', function () { live.textContent = 'live'; live.classList.add('on'); });
  es.addEventListener('error', function () { live.textContent = 'reconnecting…'; live.classList.remove('on'); });
  es.addEventListener('alert', function (m) {
    var msg = JSON.parse(m.data);
    var a = msg.alert;
    if (!a) return;
    alerts.set(a.alert_id, a);
    render(a.alert_id);
  });
  es.addEventListener('resync', function () { reloadAll(); });
})();
""".replace("%COLOURS%", json.dumps(COLOURS))

ASSETS = {"app.js": (APP_JS, "application/javascript"), "style.css": (STYLE, "text/css")}
