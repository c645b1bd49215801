"""What the pages say and draw, as plain data: the console's order and words, the map's and the
chart's layout. Pure; the templates (``templates/``) turn it into markup, escaping every value.

>>> open_banner([{"level": "critical", "resolved_at": None}])
'1 open: 1 critical'
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from alerts import geomap
from alerts.escalation import LEVEL_INDEX, LEVELS
from alerts.model import is_arms_race
from alerts.timefmt import human
from detectors import arms_race as AR

COLOURS = geomap.LEVEL_COLOURS
#: Stroke width of a segment by level: an open alert's segment must stand out at a glance.
STROKES = geomap.LEVEL_STROKES
#: What a segment's colour and width mean, for the map's legend.
LEGEND = (("critical", "critical"), ("warning", "warning"), ("watch", "watch"), ("none", "no open alert"))
#: The rolling views the explanation's ``deviations`` compare (streams.explanation.explain), in words.
FEATURE_WORDS = {"count_7d": ("incidents", 7), "violent_30d": ("violent incidents", 30),
                 "intrusion_30d": ("border intrusions", 30), "fatalities_30d": ("deaths", 30),
                 "severity_index_7d": ("severity points", 7), "spill_30d": ("spill-over incidents", 30)}
#: What each rule of the detector stack means when it, not the forecast, set the level.
RULE_WORDS = {"fatality_high": "the rule is deaths in 30 days above the past year's highest 30-day count",
              "surge": "the rule is incidents in the last days far above the past year's rate",
              "clash_hazard": "the hazard model's forecast reached this level"}
#: The segment page's incident table: what the segment keeps of each incident (SegmentState.recent).
INCIDENT_COLUMNS = ("date (UTC)", "category", "deaths", "severity (1-5)", "source", "released as", "description")


# ---------------------------------------------------------------------- console
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


def filtered(alerts: Iterable[Mapping[str, Any]], filters: Mapping[str, str]) -> list:
    level, border = filters.get("level", ""), filters.get("border", "")
    return [a for a in alerts
            if (not level or level in (a["level"], a["peak_level"])) and (not border or a["border"] == border)]


def headline(a: Mapping[str, Any], names: Callable[[str], str]) -> str:
    """``Critical — Kyrgyzstan–Tajikistan km 0–60, near Isfara``: the level shown, then the place;
    ``Warning — arms race on Kyrgyzstan–Tajikistan`` for an arms race (a whole border's)."""
    if is_arms_race(a):
        return f"{shown_level(a).capitalize()} — arms race on {names(a['segment_id'])}"
    return f"{shown_level(a).capitalize()} — {names(a['segment_id'])}"


def _sides(a: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((a.get("explanation") or {}).get("sides") or ())


def arms_acquired(a: Mapping[str, Any]) -> list[str]:
    """An arms race's "what happened": what each side ordered or received in the window, in SIPRI's words."""
    return [f"{s.get('name') or s['state']}: {'; '.join(s.get('acquisitions') or ()) or 'nothing recorded'}"
            for s in _sides(a)]


def arms_against_past(a: Mapping[str, Any]) -> list[str]:
    """An arms race's "against what normal": each side's volume against its own past, in the
    detector's words (``detectors.arms_race.volume_words``), and its new kinds of weapon."""
    out = []
    for s in _sides(a):
        line = f"{s.get('name') or s['state']}: {s.get('volume') or 'TIV %g' % float(s['window_tiv'])}"
        if s.get("new_capabilities"):
            line += f"; new kind of weapon: {', '.join(s['new_capabilities'])}"
        out.append(line)
    return out


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
    if is_arms_race(a):
        return f"{a['peak_level'].capitalize()} because {AR.MEANING[LEVEL_INDEX[a['peak_level']]]}."
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


def incident_text(i: Mapping[str, Any], place: str) -> str:
    deaths = int(i.get("fatalities") or 0)
    died = f", {deaths} killed" if deaths else ", no deaths"
    return f"{human(i.get('at'))}: {str(i.get('category', 'incident')).replace('_', ' ')}{died}, {place}"


# ---------------------------------------------------------------------- segment view
def incident_cells(i: Mapping[str, Any]) -> tuple[str, ...]:
    """One incident's row, in the order of :data:`INCIDENT_COLUMNS`."""
    return (human(i.get("at")).removesuffix(" UTC"), str(i.get("category") or "").replace("_", " "),
            str(int(i.get("fatalities") or 0)), str(i.get("severity") if i.get("severity") is not None else ""),
            str(i.get("source") or "not recorded"), str(i.get("classification") or "public"),
            str(i.get("description") or "no description"))


def chart_totals(daily: list[Mapping[str, Any]]) -> dict | None:
    """What the chart's legend says, counted from the same series as its bars (None without one)."""
    if not daily:
        return None
    base = next((d["baseline"] for d in daily if d.get("baseline") is not None), None)
    return {"days": len(daily), "last": str(daily[-1]["date"]),
            "incidents": sum(int(d.get("incidents") or 0) for d in daily),
            "deaths": sum(int(d.get("fatalities") or 0) for d in daily),
            "baseline": None if base is None else f"{float(base):.2f}"}


def chart_layout(daily: list[Mapping[str, Any]], width: float = 720.0, height: float = 200.0) -> dict | None:
    """Bars of incidents per day, with the baseline as a line where the series carries one."""
    if not daily:
        return None
    top = max(max(float(d.get("incidents") or 0), float(d.get("baseline") or 0)) for d in daily) or 1.0
    left, bottom, pad = 36.0, 22.0, 6.0
    plot_w, plot_h = width - left - pad, height - bottom - pad
    bw = plot_w / len(daily)
    bars, base = [], []
    for i, d in enumerate(daily):
        n = float(d.get("incidents") or 0)
        h = n / top * plot_h
        x = left + i * bw
        bars.append({"x": f"{x:.1f}", "y": f"{pad + plot_h - h:.1f}", "width": f"{max(bw - 1, 0.5):.1f}",
                     "height": f"{h:.1f}", "date": str(d["date"]), "incidents": int(n),
                     "tip": f'{d["date"]}: {int(n)} incidents, {int(d.get("fatalities") or 0)} deaths'})
        if d.get("baseline") is not None:
            base.append(f"{x + bw / 2:.1f},{pad + plot_h - float(d['baseline']) / top * plot_h:.1f}")
    return {"width": f"{width:.0f}", "height": f"{height:.0f}", "left": f"{left}", "pad": f"{pad}",
            "right": f"{width - pad}", "axis_y": f"{pad + plot_h}", "label_y": f"{pad + 10}",
            "bottom_y": f"{height - 4}", "left_label": f"{left - 4}", "left_text": f"{left + 4}",
            "top": f"{top:g}", "first": str(daily[0]["date"]), "last": str(daily[-1]["date"]),
            "bars": bars, "baseline": " ".join(base)}


# ---------------------------------------------------------------------- map
@lru_cache(maxsize=64)
def _country_layer(view: geomap.View) -> tuple[tuple[dict, ...], tuple[geomap.Spot, ...]]:
    """The countries drawn in ``view``, and what their labels are placed in (cached per view: the
    same border gives the same view)."""
    shown = geomap.countries_in(view)
    paths = tuple({"fill": c.fill, "colour": geomap.COUNTRY_FILLS[c.fill % len(geomap.COUNTRY_FILLS)],
                   "key": c.iso3 or c.name, "name": c.name, "d": d}
                  for c, d in geomap.country_paths(view, shown))
    return paths, tuple(geomap.label_spots(view, shown))


def _label(lb: geomap.Label) -> dict:
    return {"x": f"{lb.x:.1f}", "y": f"{lb.y:.1f}", "anchor": lb.anchor, "text": lb.text}


def map_view(rows: list[dict], width: float, height: float, border: str = "") -> tuple[geomap.View | None, str]:
    """The view of the map (``border``: that border's extent) and what it shows, in words."""
    shown, what = geomap.view_rows(rows, border)
    box = geomap.bounds_of(p for r in shown for p in r["coords"])
    if box is None:
        return None, what
    return geomap.fit(box, width, height, margin=0.12, min_span=1.5), what


def map_layout(rows: list[dict], width: float = 560.0, height: float = 450.0, highlight: str | None = None,
               border: str = "", border_towns: bool = True) -> dict | None:
    """Countries with their names, segments coloured by level on top, the towns of open alerts'
    segments, a scale bar; ``border`` zooms to that border (and, with ``border_towns``, names a few
    of its towns), ``highlight`` draws one segment bolder and names its towns. None without geometry."""
    view, what = map_view(rows, width, height, border)
    if view is None:
        return None
    countries, spots = _country_layer(view)
    lon0, lat0, lon1, lat1 = view.bounds
    drawn = [r for r in rows if r.get("coords") and any(lon0 <= x <= lon1 and lat0 <= y <= lat1 for x, y in r["coords"])]
    drawn.sort(key=lambda r: (r["segment_id"] == highlight, LEVEL_INDEX[r["level"]]))
    lines, pix = [], {}
    for r in drawn:
        sid = r["segment_id"]
        pts = geomap.pixel_ring(view, r["coords"], 1.0)
        pix[sid] = pts
        width_ = STROKES[r["level"]] + (2.5 if sid == highlight else 1.0 if r["border"] == border else 0)
        lines.append({"segment_id": sid, "here": sid == highlight, "level": r["level"], "colour": COLOURS[r["level"]],
                      "width": f"{width_:g}", "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in pts),
                      "title": f'{r["name"]}{", " + r["place"] if r.get("place") else ""} ({r["level"]})'})
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
    mid = (lat0 + lat1) / 2
    return {"width": f"{width:.0f}", "height": f"{height:.0f}", "what": what, "sea": geomap.SEA,
            "bounds": f"{lon0:.2f},{lat0:.2f},{lon1:.2f},{lat1:.2f}", "countries": countries, "segments": lines,
            "names": [_label(lb) for lb in names], "places": [_label(lb) for lb in places],
            "towns": [_label(lb) for lb in towns],
            "scale": {"bg_x": f"{x0 - 6:.0f}", "bg_y": f"{y0 - 17:.0f}", "bg_width": f"{px + 12:.1f}",
                      "points": f"{x0},{y0 - 5} {x0},{y0} {x0 + px:.1f},{y0} {x0 + px:.1f},{y0 - 5}",
                      "text_x": f"{x0 + px / 2:.1f}", "text_y": f"{y0 - 5}", "km": f"{km:g}"},
            "latitude": f'{abs(mid):.1f}°{"N" if mid >= 0 else "S"}'}


def legend_keys() -> list[dict]:
    """The legend's line samples, drawn as the map draws each level."""
    return [{"colour": COLOURS[lv], "width": f"{STROKES[lv]:g}", "text": text} for lv, text in LEGEND]
