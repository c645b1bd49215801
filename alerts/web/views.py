"""What the pages say and draw, as plain data: the console's order and words, the map's and the
chart's layout. Pure; the templates (``templates/``) turn it into markup, escaping every value.

Every function that speaks takes the reader's language (``lang``, :data:`alerts.notify.i18n.LANGUAGES`)
and says it through the notices' catalog, with the notices' words for levels, countries, incident
categories and release markings (:mod:`alerts.notify.brief`): a Russian desk reads the same terms
on its console as in its notices.

>>> open_banner([{"level": "critical", "resolved_at": None}])
'1 open: 1 critical'
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from babel.units import format_unit

from alerts import geomap
from alerts.access import Principal
from alerts.borders import states_of
from alerts.escalation import LEVEL_INDEX, LEVELS
from alerts.model import is_arms_race
from alerts.policy import duration_parts
from alerts.notify.arms_words import N_
from alerts.notify.brief import (acquisitions, border_name, capability_name, category_name, classification_name,
                                 country_name, forecast_line, volume_line)
from alerts.notify.i18n import SOURCE_LANGUAGE, level_name, number, translations
from alerts.notify.notices import forecast_band
from alerts.timefmt import human
from detectors import arms_race as AR

COLOURS = geomap.LEVEL_COLOURS
#: Stroke width of a segment by level: an open alert's segment must stand out at a glance.
STROKES = geomap.LEVEL_STROKES
#: The levels the map's legend draws, the highest first ("none": no open alert).
LEGEND_LEVELS = ("critical", "warning", "watch", "none")
#: The rolling views the explanation's ``deviations`` compare (streams.explanation.explain): the
#: days each counts over (the words are :func:`_amount`'s).
FEATURE_DAYS = {"count_7d": 7, "violent_30d": 30, "intrusion_30d": 30, "fatalities_30d": 30,
                "severity_index_7d": 7, "spill_30d": 30}


def level_word(level: str, lang: str = SOURCE_LANGUAGE) -> str:
    """A level's name on a badge or in a sentence: the notices' own terms (``level_name``), "none" as itself."""
    if lang == SOURCE_LANGUAGE:
        return level
    if level == "none":
        return translations(lang).gettext("none")
    return level_name(level, lang) if level in LEVELS else level


def ui_words(lang: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """What the page's script says (``static/app.js``), in ``lang``; ``{id}`` stands for an id."""
    _ = translations(lang).gettext
    return {"live": _("live"), "reconnecting": _("reconnecting…"), "none": _("none"),
            "refresh_failed": _("could not refresh the alerts: {error}"),
            "ack_sent": _("acknowledgement of {id} sent"), "ack_failed": _("acknowledge failed: {error}"),
            "silence_sent": _("silence sent"), "silence_failed": _("silence failed: {error}"),
            "silences_unavailable": _("unavailable (HTTP {status})"),
            "notice_acked": _("notice {id} acknowledged"),
            "notice_failed": _("notice acknowledgement failed: {error}")}


#: CLDR's units for the policy's (alerts.policy.DURATION_UNITS)
_CLDR_UNITS = {"d": "duration-day", "h": "duration-hour", "m": "duration-minute", "s": "duration-second"}


def duration_text(td: timedelta, lang: str = SOURCE_LANGUAGE) -> str:
    """A policy's duration in words of ``lang`` (CLDR units, through babel): ``1 day 12 hours``, ``4 часа``."""
    parts = duration_parts(td) or [("s", 0)]
    return " ".join(format_unit(n, _CLDR_UNITS[unit], length="long", locale=lang) for unit, n in parts)


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


def open_banner(alerts: Iterable[Mapping[str, Any]], lang: str = SOURCE_LANGUAGE) -> str:
    """``2 open: 1 critical, 1 warning``; levels from the highest down."""
    t = translations(lang)
    counts = {lv: 0 for lv in reversed(LEVELS[1:])}
    for a in alerts:
        if is_open(a):
            counts[a["level"]] += 1
    total = sum(counts.values())
    if not total:
        return t.gettext("No open alerts")
    # "%(n)d %(level)s": Russian puts the level first ("критический — 2"), no case to agree with the number
    levels = ", ".join(t.gettext("%(n)d %(level)s") % {"n": n, "level": level_word(lv, lang)}
                       for lv, n in counts.items() if n)
    return t.ngettext("%(n)d open: %(levels)s", "%(n)d open: %(levels)s", total) % {"n": total, "levels": levels}


def history_filter(alerts: Iterable[Mapping[str, Any]], since: str = "", level: str = "") -> list:
    """Resolved alerts, those resolved on or after ``since`` (a date) that reached ``level``."""
    return [a for a in alerts if not is_open(a) and a["resolved_at"][:10] >= since[:10]
            and (not level or LEVEL_INDEX[a["peak_level"]] >= LEVEL_INDEX[level])]


def filtered(alerts: Iterable[Mapping[str, Any]], filters: Mapping[str, str]) -> list:
    level, border = filters.get("level", ""), filters.get("border", "")
    return [a for a in alerts
            if (not level or level in (a["level"], a["peak_level"])) and (not border or a["border"] == border)]


def headline(a: Mapping[str, Any], names: Callable[[str], str], lang: str = SOURCE_LANGUAGE) -> str:
    """``Critical — Kyrgyzstan–Tajikistan km 0–60, near Isfara``: the level shown, then the place;
    ``Warning — arms race on Kyrgyzstan–Tajikistan`` for an arms race (a whole border's)."""
    values = {"level": level_word(shown_level(a), lang).capitalize(), "place": names(a["segment_id"])}
    if is_arms_race(a):
        return translations(lang).gettext("%(level)s — arms race on %(place)s") % values
    return "%(level)s — %(place)s" % values


def _sides(a: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((a.get("explanation") or {}).get("sides") or ())


def _side_name(s: Mapping[str, Any], lang: str) -> str:
    return (s.get("name") or s["state"]) if lang == SOURCE_LANGUAGE else country_name(s["state"], lang)


def arms_acquired(a: Mapping[str, Any], lang: str = SOURCE_LANGUAGE) -> list[str]:
    """An arms race's "what happened": what each side ordered or received in the window, as the
    notices say it (``brief.acquisitions``: SIPRI's own words in English)."""
    nothing = translations(lang).gettext("nothing recorded")
    return [f"{_side_name(s, lang)}: {'; '.join(acquisitions(s, lang)) or nothing}" for s in _sides(a)]


def arms_against_past(a: Mapping[str, Any], lang: str = SOURCE_LANGUAGE) -> list[str]:
    """An arms race's "against what normal": each side's volume against its own past, in the
    detector's words (``detectors.arms_race.volume_words``) or the reader's, and its new kinds of weapon."""
    _ = translations(lang).gettext
    out = []
    for s in _sides(a):
        if lang == SOURCE_LANGUAGE:
            volume = s.get("volume") or "TIV %g" % float(s["window_tiv"])
        else:
            volume = volume_line(s, lang)
        line = f"{_side_name(s, lang)}: {volume}"
        if s.get("new_capabilities"):
            line += "; " + _("new kind of weapon: %(kinds)s") % {"kinds": ", ".join(
                capability_name(c, lang) for c in s["new_capabilities"])}
        out.append(line)
    return out


def _amount(feature: str, n: float, lang: str) -> str | None:
    """``3 incidents``: a count of what ``feature`` counts, as ``lang`` says it; None for another feature."""
    t, k, values = translations(lang), int(n), {"n": number(n, lang)}
    said = {"count_7d": lambda: t.ngettext("%(n)s incident", "%(n)s incidents", k),
            "violent_30d": lambda: t.ngettext("%(n)s violent incident", "%(n)s violent incidents", k),
            "intrusion_30d": lambda: t.ngettext("%(n)s border intrusion", "%(n)s border intrusions", k),
            "fatalities_30d": lambda: t.ngettext("%(n)s death", "%(n)s deaths", k),
            "severity_index_7d": lambda: t.ngettext("%(n)s severity point", "%(n)s severity points", k),
            "spill_30d": lambda: t.ngettext("%(n)s spill-over incident", "%(n)s spill-over incidents", k)
            }.get(feature)
    return None if said is None else said() % values


def deviation_text(d: Mapping[str, Any], lang: str = SOURCE_LANGUAGE) -> str:
    _ = translations(lang).gettext
    now, base = float(d["now"]), float(d["baseline"])
    amount, days = _amount(d["feature"], now, lang), FEATURE_DAYS.get(d["feature"], 0)
    if amount is None or not days:
        return _("%(what)s: %(now)s, usually %(usual)s") % {
            "what": d["feature"].replace("_", " "), "now": number(now, lang), "usual": number(base, lang, 1)}
    if base < 0.05:
        return _("%(amount)s in the last %(days)d days; usually none in %(days)d days over the past year") % {
            "amount": amount, "days": days}
    return _("%(amount)s in the last %(days)d days; usually %(usual)s in %(days)d days over the past year") % {
        "amount": amount, "days": days, "usual": number(base, lang, 1)}


def _rule_of(text: str) -> tuple[str, str]:
    """``fatality_high: 12 deaths …`` -> (``fatality_high``, ``12 deaths …``)."""
    name, sep, rest = text.partition(": ")
    return (name, rest) if sep and name.isidentifier() else ("", text)


def _rule_words(rule: str, lang: str) -> str | None:
    """What a rule of the detector stack means when it, not the forecast, set the level."""
    _ = translations(lang).gettext
    return {"fatality_high": _("the rule is deaths in 30 days above the past year's highest 30-day count"),
            "surge": _("the rule is incidents in the last days far above the past year's rate"),
            "violence": _("the rule is armed clashes, shelling or drone strikes in the last 7 days far above "
                          "the past year's rate")}.get(rule)


def level_meaning(a: Mapping[str, Any], lang: str = SOURCE_LANGUAGE) -> str:
    """What the level means: the forecast's probability when the forecast is what set it, else the rule."""
    _ = translations(lang).gettext
    level = a["peak_level"]
    values = {"level": level_word(level, lang).capitalize(), "line": level_word(level, lang)}
    if is_arms_race(a):
        return _("%(level)s because %(why)s.") % {**values, "why": arms_meaning(LEVEL_INDEX[level], lang)}
    ex = a.get("explanation") or {}
    fc = ex.get("forecast") or {}
    if fc.get("text") and fc.get("level") == level:
        if lang == SOURCE_LANGUAGE:
            text = fc["text"]
            return text[:1].upper() + text[1:] + "."
        if fc.get("probability") is not None:  # the model's text is English: the notices' sentence for it
            return forecast_line(forecast_band(ex), lang)
    rule, detail = _rule_of(str(ex.get("text", "")))
    plain = _rule_words(rule, lang)
    if plain is not None:
        # the rule's own figures are the detector's English: said in English only
        said = f": {detail}" if rule == "fatality_high" and lang == SOURCE_LANGUAGE else ""
        return _("%(level)s because %(why)s.") % {**values, "why": plain + said}
    return _("%(level)s because the segment's unusualness score reached the %(line)s line.") % values


def arms_meaning(level_index: int, lang: str) -> str:
    """:data:`detectors.arms_race.MEANING` in ``lang`` (the rule owns the English)."""
    return translations(lang).gettext(AR.MEANING[level_index])


#: The arms-race rule's meanings (detectors.arms_race.MEANING), marked here for the catalog: a test
#: holds them to the rule's own words.
ARMS_MEANINGS_MARKED = (N_("not both sides are arming above their own past"),
                        N_("both sides are arming above their own past"),
                        N_("both sides are arming and each with a new kind of weapon, or both far above their own past"))


def incident_text(i: Mapping[str, Any], place: str, lang: str = SOURCE_LANGUAGE) -> str:
    t = translations(lang)
    deaths = int(i.get("fatalities") or 0)
    died = (t.ngettext("%(n)d killed", "%(n)d killed", deaths) % {"n": deaths}) if deaths else t.gettext("no deaths")
    return f"{human(i.get('at'))}: {category_name(str(i.get('category', 'incident')), lang)}, {died}, {place}"


# ---------------------------------------------------------------------- segment view
def incident_columns(lang: str = SOURCE_LANGUAGE) -> tuple[str, ...]:
    """The segment page's incident table's headings: what the segment keeps of each incident
    (SegmentState.recent), in the order of :func:`incident_cells`."""
    _ = translations(lang).gettext
    return (_("date (UTC)"), _("category"), _("deaths"), _("severity (1-5)"), _("source"), _("released as"),
            _("description"))


#: The headings in English (the tests and the API's readers compare with them).
INCIDENT_COLUMNS = incident_columns()


def incident_cells(i: Mapping[str, Any], lang: str = SOURCE_LANGUAGE) -> tuple[str, ...]:
    """One incident's row, in the order of :func:`incident_columns`."""
    _ = translations(lang).gettext
    return (human(i.get("at")).removesuffix(" UTC"), category_name(str(i.get("category") or ""), lang),
            str(int(i.get("fatalities") or 0)), str(i.get("severity") if i.get("severity") is not None else ""),
            str(i.get("source") or _("not recorded")), classification_name(str(i.get("classification") or "public"), lang),
            str(i.get("description") or _("no description")))


def chart_totals(daily: list[Mapping[str, Any]], lang: str = SOURCE_LANGUAGE) -> dict | None:
    """What the chart's legend says, counted from the same series as its bars (None without one)."""
    if not daily:
        return None
    base = next((d["baseline"] for d in daily if d.get("baseline") is not None), None)
    return {"days": len(daily), "last": str(daily[-1]["date"]),
            "incidents": sum(int(d.get("incidents") or 0) for d in daily),
            "deaths": sum(int(d.get("fatalities") or 0) for d in daily),
            "baseline": None if base is None else number(float(base), lang, 2)}


def chart_layout(daily: list[Mapping[str, Any]], width: float = 720.0, height: float = 200.0,
                 lang: str = SOURCE_LANGUAGE) -> dict | None:
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
                     "tip": translations(lang).gettext("%(date)s: %(n)d incidents, %(deaths)d deaths") % {
                         "date": d["date"], "n": int(n), "deaths": int(d.get("fatalities") or 0)}})
        if d.get("baseline") is not None:
            base.append(f"{x + bw / 2:.1f},{pad + plot_h - float(d['baseline']) / top * plot_h:.1f}")
    return {"width": f"{width:.0f}", "height": f"{height:.0f}", "left": f"{left}", "pad": f"{pad}",
            "right": f"{width - pad}", "axis_y": f"{pad + plot_h}", "label_y": f"{pad + 10}",
            "bottom_y": f"{height - 4}", "left_label": f"{left - 4}", "left_text": f"{left + 4}",
            "top": f"{top:g}", "first": str(daily[0]["date"]), "last": str(daily[-1]["date"]),
            "bars": bars, "baseline": " ".join(base)}


# ---------------------------------------------------------------------- map
@lru_cache(maxsize=64)
def _country_layer(view: geomap.View, lang: str = SOURCE_LANGUAGE) -> tuple[tuple[dict, ...], tuple[geomap.Spot, ...]]:
    """The countries drawn in ``view``, named in ``lang``, and what their labels are placed in
    (cached per view: the same border gives the same view)."""
    shown = geomap.countries_in(view)
    if lang != SOURCE_LANGUAGE:
        shown = [(replace(c, name=country_name(c.iso3, lang, default=c.name)), parts) for c, parts in shown]
    paths = tuple({"fill": c.fill, "colour": geomap.COUNTRY_FILLS[c.fill % len(geomap.COUNTRY_FILLS)],
                   "key": c.iso3 or c.name, "name": c.name, "d": d}
                  for c, d in geomap.country_paths(view, shown))
    return paths, tuple(geomap.label_spots(view, shown))


def _label(lb: geomap.Label) -> dict:
    return {"x": f"{lb.x:.1f}", "y": f"{lb.y:.1f}", "anchor": lb.anchor, "text": lb.text}


def map_view(rows: list[dict], width: float, height: float, border: str = "",
             lang: str = SOURCE_LANGUAGE) -> tuple[geomap.View | None, str]:
    """The view of the map (``border``: that border's extent) and what it shows, in words."""
    shown, scope = geomap.view_rows(rows, border)
    what = view_words(scope, lang)
    box = geomap.bounds_of(p for r in shown for p in r["coords"])
    if box is None:
        return None, what
    return geomap.fit(box, width, height, margin=0.12, min_span=1.5), what


def border_words(border: str, lang: str = SOURCE_LANGUAGE) -> str:
    """A border as the page names it: its id in English (``KGZ-TJK``, what the API, the policy and
    the filters' links use), its states' names in another language (``Кыргызстан–Таджикистан``),
    in the id's order, as the page's cards name its stretches (:func:`alerts.web.context.local_segment_name`)."""
    if lang == SOURCE_LANGUAGE:
        return border
    return border_name(states_of(border), None, lang)


def _role_words(role: str, lang: str, *, people: bool) -> str:
    """A role in words of ``lang``: the desk (``operator``) or, for ``people``, who staffs it (``operators``)."""
    _ = translations(lang).gettext
    if people:
        words = {"operator": _("operators"), "engineer": _("engineers"), "admin": _("administrators")}
    else:
        words = {"operator": _("operator"), "engineer": _("engineer"), "admin": _("administrator")}
    return words.get(role) or {"regional-desk": _("regional desk"), "secretariat": _("secretariat")}[role]


def desk_words(p: Principal, lang: str = SOURCE_LANGUAGE) -> str:
    """The caller's desk in the header: its role string in English (``secretariat:KGZ``, as tokens
    and the policy write it); in another language the role in words, with its state the same way
    (``секретариат: Кыргызстан``)."""
    if lang == SOURCE_LANGUAGE:
        return p.role_string
    role = _role_words(p.role, lang, people=False)
    return f"{role}: {country_name(p.country, lang)}" if p.country else role


def receiver_words(name: str, p: Principal, lang: str = SOURCE_LANGUAGE) -> str:
    """A receiver the policy notified, on the console: its name in the policy in English
    (``secretariat-KGZ``); in another language the desk it is, in words (``секретариат
    (Кыргызстан)``, ``операторы``): the policy's names are the operators' ids, not the reader's words."""
    if lang == SOURCE_LANGUAGE:
        return name
    role = _role_words(p.role, lang, people=True)
    return f"{role} ({country_name(p.country, lang)})" if p.country else role


def view_words(scope: geomap.ViewScope, lang: str = SOURCE_LANGUAGE) -> str:
    """What a view shows (:func:`alerts.geomap.view_rows`), in words of ``lang``: ``border KGZ-TJK``,
    ``borders with open alerts: KGZ-TJK``, ``all segments``."""
    _ = translations(lang).gettext
    borders = ", ".join(border_words(b, lang) for b in scope.borders)
    if scope.kind == "border":
        return _("border %(border)s") % {"border": borders}
    if scope.kind == "open":
        return _("borders with open alerts: %(borders)s") % {"borders": borders}
    return _("all segments")


def map_layout(rows: list[dict], width: float = 560.0, height: float = 450.0, highlight: str | None = None,
               border: str = "", border_towns: bool = True, lang: str = SOURCE_LANGUAGE) -> dict | None:
    """Countries with their names, segments coloured by level on top, the towns of open alerts'
    segments, a scale bar; ``border`` zooms to that border (and, with ``border_towns``, names a few
    of its towns), ``highlight`` draws one segment bolder and names its towns. None without geometry."""
    view, what = map_view(rows, width, height, border, lang)
    if view is None:
        return None
    countries, spots = _country_layer(view, lang)
    if lang != SOURCE_LANGUAGE:  # the towns in the reader's language (the rows' names are already)
        rows = [{**r, "place": r.get("place_ru") or r.get("place")} for r in rows]
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
                      "title": f'{r["name"]} ({level_word(r["level"], lang)})'})
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
            "latitude": (translations(lang).gettext("%(degrees)s°N") if mid >= 0 else translations(lang).gettext("%(degrees)s°S"))
            % {"degrees": number(abs(mid), lang, 1)}, "km": translations(lang).gettext("km")}


def legend_keys(lang: str = SOURCE_LANGUAGE) -> list[dict]:
    """The legend's line samples, drawn as the map draws each level."""
    words = {"none": translations(lang).gettext("no open alert")}
    return [{"colour": COLOURS[lv], "width": f"{STROKES[lv]:g}", "text": words.get(lv) or level_word(lv, lang)}
            for lv in LEGEND_LEVELS]
