"""The operator page: server-rendered HTML, inline SVG (map, chart), one small script, no outside assets.

Everything shown here went through :mod:`alerts.access` in :mod:`alerts.web.app` first; this
module only renders what it is given, escaping every value.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from aiohttp import web

from alerts import geomap
from alerts.access import Principal
from alerts.escalation import LEVEL_INDEX, LEVELS
from alerts.timefmt import human

COLOURS = geomap.LEVEL_COLOURS
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
#: Stroke width of a segment by level: an open alert's segment must stand out at a glance.
STROKES = geomap.LEVEL_STROKES
#: What a segment's colour and width mean, for the map's legend.
LEGEND = (("critical", "critical"), ("warning", "warning"), ("watch", "watch"), ("none", "no open alert"))


@lru_cache(maxsize=64)
def _country_layer(view: geomap.View) -> tuple[str, tuple[geomap.Spot, ...]]:
    """The countries' paths for ``view``, and what their labels are placed in (cached per view:
    the same border gives the same view)."""
    shown = geomap.countries_in(view)
    paths = [f'<path class="country f{c.fill}" data-country="{e(c.iso3 or c.name)}" d="{d}"><title>{e(c.name)}</title></path>'
             for c, d in geomap.country_paths(view, shown)]
    return "".join(paths), tuple(geomap.label_spots(view, shown))


def _label(lb: geomap.Label, cls: str) -> str:
    return f'<text class="{cls}" x="{lb.x:.1f}" y="{lb.y:.1f}" text-anchor="{lb.anchor}">{e(lb.text)}</text>'


def map_view(rows: list[dict], width: float, height: float, border: str = "") -> tuple[geomap.View | None, str]:
    """The view of the map (``border``: that border's extent) and what it shows, in words."""
    shown, what = geomap.view_rows(rows, border)
    box = geomap.bounds_of(p for r in shown for p in r["coords"])
    if box is None:
        return None, what
    return geomap.fit(box, width, height, margin=0.12, min_span=1.5), what


def svg_map(rows: list[dict], width: float = 560.0, height: float = 450.0, svg_id: str = "map",
            highlight: str | None = None, border: str = "", border_towns: bool = True) -> str:
    """Countries with their names, segments coloured by level on top (each a link to its page),
    the towns of open alerts' segments, a scale bar; ``border`` zooms to that border (and, with
    ``border_towns``, names a few of its towns), ``highlight`` draws one segment bolder and names
    its towns."""
    view, what = map_view(rows, width, height, border)
    if view is None:
        return '<p class="hint">No segment geometry loaded.</p>'
    countries, spots = _country_layer(view)
    lon0, lat0, lon1, lat1 = view.bounds
    drawn = [r for r in rows if r.get("coords") and any(lon0 <= x <= lon1 and lat0 <= y <= lat1 for x, y in r["coords"])]
    drawn.sort(key=lambda r: (r["segment_id"] == highlight, LEVEL_INDEX[r["level"]]))
    lines, pix = [], {}
    for r in drawn:
        sid = r["segment_id"]
        pts = geomap.pixel_ring(view, r["coords"], 1.0)
        pix[sid] = pts
        cls = "seg here" if sid == highlight else "seg"
        width_ = STROKES[r["level"]] + (2.5 if sid == highlight else 1.0 if r["border"] == border else 0)
        place = f', {r["place"]}' if r.get("place") else ""
        lines.append(f'<a href="/ui/segments/{e(sid)}"><polyline class="{cls}" data-segment="{e(sid)}" '
                     f'data-level="{e(r["level"])}" stroke="{COLOURS[r["level"]]}" stroke-width="{width_:g}" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}">'
                     f'<title>{e(r["name"])}{e(place)} ({e(r["level"])})</title></polyline></a>')
    # Towns first (they say where the alert is), then those of the chosen border, then the
    # countries' names, each clear of the labels before it and of the alerts' lines.
    wanted = sorted((r for r in drawn if r.get("place") and (r["level"] != "none" or r["segment_id"] == highlight)),
                    key=lambda r: (r["segment_id"] != highlight, -LEVEL_INDEX[r["level"]], r["segment_id"]))
    hot = [pix[r["segment_id"]] for r in wanted]
    km, px = geomap.scale_bar(view)
    x0, y0 = 14.0, height - 16.0
    taken: list = [(x0 - 6, y0 - 17, x0 + px + 6, y0 + 10)]  # the scale bar's corner
    places = geomap.place_labels(view, [(r["place"], pix[r["segment_id"]]) for r in wanted], taken, hot)
    towns = []
    if border and border_towns:  # only towns on the line ("near ..."), spaced out, a few
        towns = geomap.place_labels(view, [(r["place"], pix[r["segment_id"]]) for r in drawn
                                           if r["border"] == border and r not in wanted
                                           and str(r.get("place")).startswith("near ")],
                                    taken, hot, size=11.0, spacing=14.0, most=8)
    names = geomap.country_labels(spots, taken, hot)
    scale = (f'<g id="{svg_id}-scale" class="scale"><rect class="scale-bg" x="{x0 - 6:.0f}" y="{y0 - 17:.0f}" '
             f'width="{px + 12:.1f}" height="27"/>'
             f'<polyline points="{x0},{y0 - 5} {x0},{y0} {x0 + px:.1f},{y0} {x0 + px:.1f},{y0 - 5}"/>'
             f'<text x="{x0 + px / 2:.1f}" y="{y0 - 5}" text-anchor="middle">{km:g} km</text></g>')
    mid = (lat0 + lat1) / 2
    return (f'<svg id="{svg_id}" class="map" role="img" aria-label="map of {e(what)}, segments coloured by level" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" data-bounds="{lon0:.2f},{lat0:.2f},{lon1:.2f},{lat1:.2f}" '
            f'data-view="{e(what)}"><rect class="sea" width="{width:.0f}" height="{height:.0f}"/>'
            f'<g class="countries">{countries}</g><g class="segments">{"".join(lines)}</g>'
            f'<g class="names">{"".join(_label(lb, "country-name") for lb in names)}</g>'
            f'<g class="places">{"".join(_label(lb, "place") for lb in places)}'
            f'{"".join(_label(lb, "place town") for lb in towns)}</g>{scale}</svg>'
            f'<p class="legend" id="{svg_id}-legend">{_map_key()}<span class="view">Showing {e(what)}; the scale '
            f'holds at {abs(mid):.1f}°{"N" if mid >= 0 else "S"}. Countries: Natural Earth.</span></p>')


def _map_key() -> str:
    """The legend's line samples, drawn as the map draws each level."""
    return "".join(f'<span class="key"><svg width="26" height="10" aria-hidden="true"><line x1="2" y1="5" x2="24" '
                   f'y2="5" stroke="{COLOURS[lv]}" stroke-width="{STROKES[lv]:g}" stroke-linecap="round"/></svg>'
                   f'{e(text)}</span>' for lv, text in LEGEND)


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
            f'<text x="{left + 4}" y="{pad + 10}">incidents per day</text>'
            f'<text x="{left - 4}" y="{pad + plot_h}" text-anchor="end">0</text>'
            f'<text x="{left}" y="{height - 4}">{e(str(daily[0]["date"]))}</text>'
            f'<text x="{width - pad}" y="{height - 4}" text-anchor="end">{e(str(daily[-1]["date"]))}</text>')
    return (f'<svg id="chart" role="img" aria-label="incidents per day" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'xmlns="http://www.w3.org/2000/svg">{axis}{"".join(bars)}{line}</svg>')


# ---------------------------------------------------------------------- console
#: The rolling views the explanation's ``deviations`` compare (streams.pipeline.explain), in words.
FEATURE_WORDS = {"count_7d": ("incidents", 7), "violent_30d": ("violent incidents", 30),
                 "intrusion_30d": ("border intrusions", 30), "fatalities_30d": ("deaths", 30),
                 "severity_index_7d": ("severity points", 7), "spill_30d": ("spill-over incidents", 30)}
#: What each rule of the detector stack means when it, not the forecast, set the level.
RULE_WORDS = {"fatality_high": "the rule is deaths in 30 days above the past year's highest 30-day count",
              "surge": "the rule is incidents in the last days far above the past year's rate",
              "clash_hazard": "the hazard model's forecast reached this level"}


def is_open(a: Mapping[str, Any]) -> bool:
    return not a.get("resolved_at")


def shown_level(a: Mapping[str, Any]) -> str:
    """The level now for an open alert, its peak for a resolved one (now it is none)."""
    return a["level"] if is_open(a) else a["peak_level"]


def console_order(alerts: Iterable[Mapping[str, Any]]) -> list:
    """Open alerts first, the highest level first, then the oldest open first (the one waiting
    longest for someone); resolved ones after, the latest resolved first."""
    alerts = list(alerts)
    open_ = sorted((a for a in alerts if is_open(a)), key=lambda a: (-LEVEL_INDEX[a["level"]], a["opened_at"]))
    done = sorted((a for a in alerts if not is_open(a)), key=lambda a: a["resolved_at"], reverse=True)
    return open_ + done


def open_banner(alerts: Iterable[Mapping[str, Any]]) -> str:
    """``2 open: 1 critical, 1 warning``; levels from the highest down."""
    counts = {lv: 0 for lv in reversed(LEVELS[1:])}
    for a in alerts:
        if is_open(a):
            counts[a["level"]] += 1
    total = sum(counts.values())
    if not total:
        return "No open alerts"
    return f"{total} open: " + ", ".join(f"{n} {lv}" for lv, n in counts.items() if n)


def history_filter(alerts: Iterable[Mapping[str, Any]], since: str = "", level: str = "") -> list:
    """Resolved alerts, those resolved on or after ``since`` (a date) that reached ``level``."""
    return [a for a in alerts if not is_open(a) and a["resolved_at"][:10] >= since[:10]
            and (not level or LEVEL_INDEX[a["peak_level"]] >= LEVEL_INDEX[level])]


def headline(a: Mapping[str, Any], names: Callable[[str], str]) -> str:
    """``Critical — Kyrgyzstan–Tajikistan km 0–60, near Isfara``: the level shown, then the place."""
    return f"{shown_level(a).capitalize()} — {names(a['segment_id'])}"


def deviation_text(d: Mapping[str, Any]) -> str:
    what, days = FEATURE_WORDS.get(d["feature"], (d["feature"].replace("_", " "), 0))
    now, base = float(d["now"]), float(d["baseline"])
    if not days:
        return f"{what}: {now:g}, usually {base:.1f}"
    if now == 1:
        what = what.replace("incidents", "incident").replace("deaths", "death").replace("points", "point")
    usual = "none" if base < 0.05 else f"{base:.1f}"
    return f"{now:g} {what} in the last {days} days; usually {usual} in {days} days over the past year"


def _rule_of(text: str) -> tuple[str, str]:
    """``fatality_high: 12 deaths …`` -> (``fatality_high``, ``12 deaths …``)."""
    name, sep, rest = text.partition(": ")
    return (name, rest) if sep and name.isidentifier() else ("", text)


def level_meaning(a: Mapping[str, Any]) -> str:
    """What the level means: the forecast's probability when the forecast is what set it, else the rule."""
    ex = a.get("explanation") or {}
    fc = ex.get("forecast") or {}
    if fc.get("text") and fc.get("level") == a["peak_level"]:
        text = fc["text"]
        return text[:1].upper() + text[1:] + "."
    rule, detail = _rule_of(str(ex.get("text", "")))
    if rule in RULE_WORDS and rule != "clash_hazard":
        plain = RULE_WORDS[rule]
        said = f": {detail}" if rule == "fatality_high" else ""
        return f"{a['peak_level'].capitalize()} because {plain}{said}."
    return f"{a['peak_level'].capitalize()} because the segment's unusualness score reached the {a['peak_level']} line."


def _incident_text(i: Mapping[str, Any], place: str) -> str:
    deaths = int(i.get("fatalities") or 0)
    died = f", {deaths} killed" if deaths else ", no deaths"
    return f"{human(i.get('at'))}: {str(i.get('category', 'incident')).replace('_', ' ')}{died}, {place}"


def _ack_text(ack: Mapping[str, Any]) -> str:
    comment = f" — “{e(str(ack['comment']))}”" if ack.get("comment") else ""
    until = f", holds until {e(human(ack.get('until')))}" if ack.get("until") else ""
    return f"Acknowledged by <b>{e(str(ack.get('by', '')))}</b> at {e(human(ack.get('at')))}{comment}{until}."


def _plan_text(plan: Mapping[str, Any] | None, a: Mapping[str, Any]) -> str:
    if not plan:
        return "No alerting policy is loaded in this deployment: nobody is notified automatically."
    who = ", ".join(plan["notified"]) or "nobody (no route reaches a receiver that may see it)"
    return (f"Notified: {e(who)}. Acknowledgement expected within {e(plan['ack_within'])} of opening "
            f"(by {e(human(plan['ack_by']))}); until then the notices repeat every {e(plan['ack_within'])}. "
            f"An acknowledgement holds {e(plan['ack_default'])} unless given another expiry "
            f"(at most {e(plan['ack_max'])}).")


def alert_card(a: Mapping[str, Any], names: Callable[[str], str], may_act: bool,
               plan: Mapping[str, Any] | None = None) -> str:
    """One open alert: what happened where, against what normal, what its level means, what happens next."""
    lvl = shown_level(a)
    ex = a.get("explanation") or {}
    place = names(a["segment_id"])
    peak = (f' (peak {badge(a["peak_level"])} {e(human(a.get("updated_at")))})'
            if a["peak_level"] != lvl else "")
    events = "".join(f"<li>{e(_incident_text(i, place))}</li>" for i in ex.get("top_incidents") or [])
    normal = "".join(f"<li>{e(deviation_text(d))}</li>" for d in ex.get("deviations") or [])
    ack = a.get("acknowledged")
    if ack:
        ack_html = f'<p class="ack-state">{_ack_text(ack)}</p>'
    elif may_act:
        ack_html = (f'<p class="ack-state">Not acknowledged.</p>'
                    f'<form class="ack inline" data-alert-id="{e(a["alert_id"])}">'
                    f'<input name="comment" placeholder="comment (what was done)" aria-label="comment" size="30">'
                    f'<label>holds <input name="hours" type="number" min="1" max="168" size="3" '
                    f'aria-label="hours the acknowledgement holds"> hours '
                    f'(empty: {e((plan or {}).get("ack_default", "the default"))})</label>'
                    f'<button type="submit">Acknowledge</button></form>')
    else:
        ack_html = '<p class="ack-state">Not acknowledged yet.</p>'
    silenced = '<p class="hint">Silenced: notices are held back.</p>' if a.get("silenced") else ""
    fc = ex.get("forecast") or {}
    forecast = (f"<li>forecast ({e(str(fc.get('model', '')))}): p={fc.get('probability')}, "
                f"level {e(str(fc.get('level')))}, {e(str(fc.get('text', '')))}</li>" if fc else "")
    engineering = (f'<details class="engineering"><summary>Engineering detail</summary><ul>'
                   f'<li>detector {e(str(a.get("detector", "")))}, score {float(a.get("score") or 0):.2f}, '
                   f'peak score {float(a.get("peak_score") or 0):.2f}</li>'
                   f'<li>why: {e(str(ex.get("text", "")))}</li>'
                   + "".join(f"<li>{e(d['feature'])}: {d['now']:g} against {d['baseline']:g}</li>"
                             for d in ex.get("detector_view") or [])
                   + forecast
                   + f'<li>summary: {e(str(a.get("summary", "")))}</li>'
                   f'<li>alert <code>{e(a["alert_id"])}</code>, segment <code>{e(a["segment_id"])}</code></li>'
                   f'</ul></details>')
    return (f'<article class="alert-card lvl-edge-{e(lvl)}" data-alert-id="{e(a["alert_id"])}" data-level="{e(lvl)}" '
            f'data-border="{e(a["border"])}">'
            f'<h3>{badge(lvl)} <a href="/ui/segments/{e(a["segment_id"])}">{e(headline(a, names))}</a>{peak}</h3>'
            f'<p class="since">Open since {e(human(a["opened_at"]))}.</p>'
            f'<h4>What happened</h4><ul class="events">{events or "<li>no incidents listed</li>"}</ul>'
            f'<h4>Against what normal</h4><ul class="normal">{normal or "<li>no baseline to compare</li>"}</ul>'
            f'<h4>What the level means</h4><p class="meaning">{e(level_meaning(a))}</p>'
            f'<h4>What happens next</h4><p class="next">{_plan_text(plan, a)}</p>'
            f'{silenced}{ack_html}{engineering}</article>')


def _state(a: Mapping[str, Any]) -> str:
    if a.get("resolved_at"):
        return f"resolved {e(human(a['resolved_at']))}"
    ack = a.get("acknowledged")
    if ack:
        until = f" until {e(human(ack.get('until')))}" if ack.get("until") else ""
        return f"open, acked by {e(str(ack.get('by', '')))}{until}"
    return "open"


def history_row(a: Mapping[str, Any], names: Callable[[str], str]) -> str:
    return (f'<tr data-alert-id="{e(a["alert_id"])}" data-level="{e(a["peak_level"])}" class="resolved">'
            f'<td>{badge(a["peak_level"])}</td>'
            f'<td><a href="/ui/segments/{e(a["segment_id"])}">{e(names(a["segment_id"]))}</a></td>'
            f'<td>{e(human(a["opened_at"]))}</td><td class="state">{_state(a)}</td>'
            f'<td>{e(level_meaning(a))}</td></tr>')


def _options(values: Iterable[str], chosen: str, blank: str) -> str:
    opts = [f'<option value="">{e(blank)}</option>']
    opts += [f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(v)}</option>' for v in values]
    return "".join(opts)


def _json_script(element_id: str, data: Any) -> str:
    text = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def filtered(alerts: Iterable[Mapping[str, Any]], filters: Mapping[str, str]) -> list:
    level, border = filters.get("level", ""), filters.get("border", "")
    return [a for a in alerts
            if (not level or level in (a["level"], a["peak_level"])) and (not border or a["border"] == border)]


def map_section(segments: list[dict], border: str = "") -> str:
    """The map beside the alerts, and the alerts on whole borders that it cannot draw."""
    whole = "".join(f'<li>{badge(r["level"])} <a href="/ui/segments/{e(r["segment_id"])}">{e(r["name"])}</a></li>'
                    for r in segments if not r.get("coords") and r["open_alerts"])
    if whole:
        whole = f'<p>Alerts on whole borders (no coordinates):</p><ul id="whole-borders">{whole}</ul>'
    return f'<section id="map-section" aria-label="map">{svg_map(segments, border=border)}{whole}</section>'


def console_section(p: Principal, alerts: list[dict], names: Callable[[str], str], filters: Mapping[str, str],
                    plans: Mapping[str, Mapping[str, Any]] | None = None, segments: list[dict] | None = None) -> str:
    """The part of the page a live event or a filter re-renders: banner, open alerts, history
    (collapsed), and the map beside them (zoomed to the border the filter chose)."""
    plans = plans or {}
    shown = console_order(filtered(alerts, filters))
    open_ = [a for a in shown if is_open(a)]
    since = filters.get("since", "")
    past = history_filter(shown, since)
    cards = "\n".join(alert_card(a, names, p.may_act, plans.get(a["alert_id"])) for a in open_)
    rows = "\n".join(history_row(a, names) for a in past) or '<tr><td colspan="5">none</td></tr>'
    top = open_[0]["level"] if open_ else "none"
    return (f'<div class="feed"><p id="open-banner" class="banner lvl-edge-{e(top)}" role="status">{e(open_banner(open_))}</p>'
            f'<section id="open-alerts" aria-label="open alerts">{cards}</section>'
            f'<details id="history"><summary>Show history ({len(past)} resolved'
            f'{", since " + e(since) if since else ""})</summary>'
            f'<label>resolved since <input type="date" name="since" id="history-since" form="filters" value="{e(since)}"></label>'
            f'<table id="history-table"><thead><tr><th>peak</th><th>segment</th><th>opened</th><th>state</th>'
            f'<th>why</th></tr></thead><tbody>{rows}</tbody></table></details></div>'
            f'{map_section(segments or [], filters.get("border", ""))}')


def main_page(p: Principal, alerts: list[dict], segments: list[dict], names: Callable[[str], str],
              filters: Mapping[str, str], plans: Mapping[str, Mapping[str, Any]] | None = None) -> web.Response:
    level, border = filters.get("level", ""), filters.get("border", "")
    borders = sorted({r["border"] for r in segments} | {a["border"] for a in alerts})
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
    # Every alert the caller sees, for the live feed to know what it already has.
    data = {"alert_ids": [a["alert_id"] for a in alerts], "may_act": p.may_act}
    body = f"""{_header(p)}<main>
<h1>Escalation alerts <span id="live" class="live" aria-live="polite">connecting…</span></h1>
<p id="status" role="status" aria-live="polite"></p>
<form id="filters" method="get" action="/">
<label>level <select name="level" id="filter-level">{_options(LEVELS[1:], level, "all")}</select></label>
<label>border <select name="border" id="filter-border">{_options(borders, border, "all")}</select></label>
<noscript><button type="submit">Filter</button></noscript></form>
<div id="console">{console_section(p, alerts, names, filters, plans, segments)}</div>
{actions}{notices}
<p class="hint">All times UTC. JSON API: <a href="/openapi.json">/openapi.json</a>, live feed <code>/events</code> (server-sent events).</p>
</main>{_json_script("bw-data", data)}"""
    return _doc("borderwatch — alerts", body, script=True)


def console_fragment(p: Principal, alerts: list[dict], names: Callable[[str], str], filters: Mapping[str, str],
                     plans: Mapping[str, Mapping[str, Any]] | None = None,
                     segments: list[dict] | None = None) -> web.Response:
    """The console section alone, for the page's script to swap in on a live event or a filter."""
    return web.Response(text=console_section(p, alerts, names, filters, plans, segments), content_type="text/html")


def error_page(status: int, message: str, p: Principal | None = None) -> web.Response:
    """A browser's answer to a missing or forbidden page: what happened and the way back."""
    title = {403: "Not allowed", 404: "Not found"}.get(status, "Error")
    body = (f'{_header(p) if p is not None else ""}<main class="narrow"><h1 id="error-title">{e(title)}</h1>'
            f'<p id="error-message">{e(message)}</p><p><a href="/">← back to the alerts</a></p>'
            f'<p class="hint">HTTP {status}</p></main>')
    return _doc(f"borderwatch — {title.lower()}", body, status)


# ---------------------------------------------------------------------- segment view
#: The segment page's incident table: what the segment keeps of each incident (SegmentState.recent).
INCIDENT_COLUMNS = ("date (UTC)", "category", "deaths", "severity (1-5)", "source", "released as", "description")


def incident_cells(i: Mapping[str, Any]) -> tuple[str, ...]:
    """One incident's row, in the order of :data:`INCIDENT_COLUMNS`."""
    return (human(i.get("at")).removesuffix(" UTC"), str(i.get("category") or "").replace("_", " "),
            str(int(i.get("fatalities") or 0)), str(i.get("severity") if i.get("severity") is not None else ""),
            str(i.get("source") or "not recorded"), str(i.get("classification") or "public"),
            str(i.get("description") or "no description"))


def chart_legend(daily: list[Mapping[str, Any]]) -> str:
    """What the chart's marks mean, and its totals, counted from the same series as its bars."""
    if not daily:
        return ""
    n = sum(int(d.get("incidents") or 0) for d in daily)
    dead = sum(int(d.get("fatalities") or 0) for d in daily)
    base = next((d["baseline"] for d in daily if d.get("baseline") is not None), None)
    line = ("; dashed red line: the baseline, the segment's mean incidents per day over the year before "
            f"the window ({float(base):.2f} per day)") if base is not None else ""
    return (f'<p class="legend" id="chart-legend">Bars: incidents per day (UTC days), {len(daily)} days to '
            f'{e(str(daily[-1]["date"]))}: {n} incident(s), {dead} death(s){line}.</p>')


def segment_page(p: Principal, view: Mapping[str, Any], border_rows: list[dict]) -> web.Response:
    """``border_rows``: the segments of the same border, drawn around this one for context."""
    minimap = svg_map(border_rows, width=640, height=340, svg_id="minimap", highlight=view["segment_id"],
                      border=view["border"], border_towns=False) if view.get("coords") else ""
    alerts = "\n".join(
        f'<tr><td>{badge(a["peak_level"])}</td><td>{e(human(a["opened_at"]))}</td><td>{_state(a)}</td>'
        f'<td>{e(level_meaning(a))}</td></tr>' for a in view["alerts"]) or '<tr><td colspan="4">none</td></tr>'
    incidents = "\n".join(
        "<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in incident_cells(i)) + "</tr>"
        for i in view["incidents"]) or (f'<tr><td colspan="{len(INCIDENT_COLUMNS)}">'
                                        f'{"none released to you" if view.get("detail_available") else "no detail"}</td></tr>')
    extent = "the whole border" if view.get("pair_level") or not view["length_km"] else f'{view["length_km"]} km'
    note = "" if view.get("detail_available") else '<p class="hint">Incident detail is not wired in this deployment.</p>'
    body = f"""{_header(p)}<main>
<p><a href="/">← all alerts</a></p>
<h1 id="segment-title">{e(view["name"])} {badge(view["level"])}</h1>
<p>segment <code>{e(view["segment_id"])}</code>, border {e(view["border"])}, {extent},
{view["open_alerts"]} open alert(s)</p>{minimap}{note}
<h2>Recent activity</h2>{svg_chart(view["daily"])}{chart_legend(view["daily"])}
<h2>Alerts on this segment</h2>
<table id="segment-alerts"><thead><tr><th>peak</th><th>opened</th><th>state</th><th>why</th></tr></thead>
<tbody>{alerts}</tbody></table>
<h2>Recent incidents</h2>
<table id="segment-incidents"><thead><tr>{"".join(f"<th>{e(c)}</th>" for c in INCIDENT_COLUMNS)}</tr></thead>
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
#console{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,560px);gap:1.2rem;align-items:start}
#console .feed{min-width:0} #map-section{position:sticky;top:.5rem}
@media (max-width:1000px){#console{grid-template-columns:minmax(0,1fr)} #map-section{position:static}}
svg.map{display:block;width:100%;height:auto;border:1px solid #b0bec5;background:""" + geomap.SEA + """}
#minimap{max-width:640px}
svg.map .sea{fill:""" + geomap.SEA + """} svg.map .country{stroke:#fff;stroke-width:.9;fill-rule:evenodd}
 """ + " ".join(f"svg.map .f{i}{{fill:{c}}}" for i, c in enumerate(geomap.COUNTRY_FILLS)) + """
svg.map .seg{fill:none;stroke-linecap:round;stroke-linejoin:round} svg.map a:hover .seg{stroke-width:9}
svg.map .seg[data-level=none]{opacity:.75}
svg.map text{font-family:system-ui,sans-serif;paint-order:stroke;stroke:#fff;stroke-linejoin:round}
svg.map .country-name{font-size:13px;fill:#5d5d5d;stroke-width:2.5px;letter-spacing:.04em}
svg.map .place{font-size:12px;font-weight:700;fill:#1a1a1a;stroke-width:3px}
svg.map .place.town{font-size:11px;font-weight:600;fill:#37474f}
svg.map .scale polyline{fill:none;stroke:#222;stroke-width:1.5} svg.map .scale text{font-size:11px;fill:#222;stroke-width:2.5px}
svg.map .scale-bg{fill:#fff;opacity:.7}
.legend .key{display:inline-flex;align-items:center;gap:.25rem;margin-right:.8rem;font-size:.85rem}
.legend .view{display:block;color:#666;font-size:.8rem;margin-top:.2rem}
#chart{width:100%;max-width:720px;height:auto;background:#fff;border:1px solid #ddd}
#chart .bar{fill:#546e7a} #chart .baseline{fill:none;stroke:#d32f2f;stroke-width:1.5;stroke-dasharray:4 3}
#chart .axis{stroke:#999} #chart text{font-size:10px;fill:#555}
.banner{font-size:1.15rem;font-weight:600;padding:.5rem .8rem;background:#fff;border-left:6px solid #9e9e9e}
.alert-card{background:#fff;border:1px solid #ddd;border-left:6px solid #9e9e9e;padding:.4rem 1rem .6rem;margin:.6rem 0}
.lvl-edge-watch{border-left-color:#b08c00}.lvl-edge-warning{border-left-color:#e07000}.lvl-edge-critical{border-left-color:#c62828}
.alert-card h3{font-size:1.1rem;margin:.3rem 0} .alert-card h3 a{color:inherit}
.alert-card h4{font-size:.8rem;text-transform:uppercase;color:#555;margin:.6rem 0 .1rem}
.alert-card ul{margin:.1rem 0;padding-left:1.2rem} .alert-card p{margin:.2rem 0}
.alert-card.flash{background:#fff8d0} details.engineering{margin-top:.5rem;color:#555;font-size:.85rem}
details#history{margin:1rem 0} details#history>summary{cursor:pointer;font-weight:600}
"""

APP_JS = r"""'use strict';
(function () {
  // The server renders the console and its map (alerts.web.pages.console_section); this script only
  // fetches it again when the live feed says something changed or a filter changed (the map then
  // shows the chosen border), and posts the operator's actions.
  var dataEl = document.getElementById('bw-data');
  if (!dataEl) return;
  var D = JSON.parse(dataEl.textContent);
  var HEADERS = {'Content-Type': 'application/json', 'X-Borderwatch-Request': '1'};
  var consoleEl = document.getElementById('console');
  var statusEl = document.getElementById('status');
  var live = document.getElementById('live');
  var filters = document.getElementById('filters');
  var levelSel = document.getElementById('filter-level');
  var borderSel = document.getElementById('filter-border');

  function say(msg, bad) { statusEl.textContent = msg; statusEl.className = bad ? 'bad' : 'ok'; }
  function when(t) { return t ? t.replace('T', ' ').slice(0, 16) + ' UTC' : ''; }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = String(text);
    return n;
  }
  function query() {
    var q = new URLSearchParams();
    if (levelSel.value) q.set('level', levelSel.value);
    if (borderSel.value) q.set('border', borderSel.value);
    var since = document.getElementById('history-since');
    if (since && since.value) q.set('since', since.value);
    return q.toString();
  }
  var pending = null;
  function render(flashId) {
    // One fetch at a time; an event during it asks for one more.
    if (pending) { pending.again = true; return pending.p; }
    var state = {again: false};
    state.p = fetch('/ui/console' + (query() ? '?' + query() : ''), {credentials: 'same-origin'})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (html) {
        // Keep what the operator is typing in an ack form, and the history fold as it was.
        var drafts = {}, active = document.activeElement, focus = null;
        consoleEl.querySelectorAll('form.ack').forEach(function (f) {
          var id = f.getAttribute('data-alert-id');
          drafts[id] = {comment: f.comment.value, hours: f.hours.value};
          if (f.contains(active)) focus = [id, active.name];
        });
        var hist = document.getElementById('history');
        var histOpen = hist && hist.open;
        consoleEl.innerHTML = html;
        consoleEl.querySelectorAll('form.ack').forEach(function (f) {
          var d = drafts[f.getAttribute('data-alert-id')];
          if (d) { f.comment.value = d.comment; f.hours.value = d.hours; }
          if (focus && focus[0] === f.getAttribute('data-alert-id')) f[focus[1]].focus();
        });
        if (histOpen) document.getElementById('history').open = true;
        if (flashId) {
          var card = consoleEl.querySelector('[data-alert-id="' + CSS.escape(flashId) + '"]');
          if (card) { card.classList.add('flash'); setTimeout(function () { card.classList.remove('flash'); }, 3000); }
        }
      })
      .catch(function (err) { say('could not refresh the alerts: ' + err.message, true); })
      .then(function () { pending = null; if (state.again) render(); });
    pending = state;
    return state.p;
  }
  function syncUrl() { history.replaceState(null, '', '/' + (query() ? '?' + query() : '')); }
  filters.addEventListener('change', function () { syncUrl(); render(); });
  consoleEl.addEventListener('change', function (ev) {
    if (ev.target.id === 'history-since') { syncUrl(); render(); }
  });
  filters.addEventListener('submit', function (ev) { ev.preventDefault(); syncUrl(); render(); });

  function post(path, body) {
    return fetch(path, {method: 'POST', headers: HEADERS, body: JSON.stringify(body), credentials: 'same-origin'})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
          return j;
        });
      });
  }

  consoleEl.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!f.classList.contains('ack')) return;
    ev.preventDefault();
    var id = f.getAttribute('data-alert-id');
    var body = {comment: f.comment.value};
    var hours = Number(f.hours.value || 0);
    if (hours > 0) body.until = new Date(Date.now() + hours * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
    f.querySelector('button').disabled = true;
    post('/alerts/' + encodeURIComponent(id) + '/ack', body)
      .then(function () { say('acknowledgement of ' + id + ' sent'); return render(id); })
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
    if (msg.alert) render(msg.alert.alert_id);
  });
  es.addEventListener('resync', function () { render(); });
})();
"""

ASSETS = {"app.js": (APP_JS, "application/javascript"), "style.css": (STYLE, "text/css")}
