"""A notice as a brief a secretariat reads in 30 seconds, in the receiver's language.

:func:`brief` turns a :class:`~alerts.notify.model.Notice` into every string a reader sees,
translated through the gettext catalog of ``notice.lang`` (alerts/notify/i18n.py), in the
order the reader needs them: the headline (level, what, where), what happened, the trend
against normal, the context (arms deliveries explained), what is asked, the evidence
released to this receiver, and last the engineering detail. The HTML and text templates
(``alerts/notify/templates``) and the PDF (alerts/notify/pdf.py) only lay these strings out, so
the three formats cannot say different things.

Numbers are written as the receiver's language writes them (``i18n.number``: 0,25 in Russian,
0.25 in English); dates stay ISO in every language, the one form no desk misreads. What sources and
detectors wrote (incident descriptions, the detector's summary and reading) stays in its
own language, and the notice says so.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import jinja2
from babel import Locale
from babel.core import get_global

from alerts.borders import states_of
from alerts.escalation import LEVEL_INDEX
from alerts.model import ARMS_RACE
from alerts.notify.arms_words import acquisition_words
from alerts.notify.i18n import SOURCE_LANGUAGE, level_name, number, percent, translations
from alerts.notify.map_excerpt import excerpt_layout
from alerts.notify.model import Notice, Section
from alerts.timefmt import human

#: How far the last days' rate may stray from the baseline and still be "about normal".
NORMAL_BAND = (0.67, 1.5)
#: From this many times the baseline on, "well above normal".
FAR_ABOVE = 3.0
#: Decimals of an incident rate per day (0.03/day): a quiet border's rate is a few hundredths.
RATE_DIGITS = 2


@dataclass(frozen=True)
class EvidenceRow:
    date: str
    category: str
    fatalities: str
    severity: str
    classification: str
    event_id: str
    description: str
    #: the row as one line, for the text and the PDF
    line: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str
    incidents: int


@dataclass(frozen=True)
class Chart:
    """Daily incidents as bars and the baseline as a dashed line, in SVG user units."""

    width: int
    height: int
    left: int
    top: int
    plot_width: float
    axis_y: float
    y_max: float
    bars: tuple[Bar, ...]
    #: what the chart shows, for readers who cannot see it (the SVG's aria-label)
    title: str
    #: None (and no dashed line) where the receiver may not see every incident (Section.baseline)
    baseline: float | None
    baseline_y: float | None
    #: the baseline line's caption and the y axis' top, written in the receiver's language
    label: str
    top_label: str


@dataclass(frozen=True)
class BriefSection:
    level: str  # the level's key, for colour
    heading: str
    segment: str
    #: where it is: a map excerpt as SVG markup (alerts/notify/map_excerpt.py; empty without the segment's line)
    map_svg: str
    happened: tuple[str, ...]
    #: incidents against the baseline; none for an arms race, which no incident is behind
    trend: str
    #: the trend's heading: against normal, or (a receiver who may not see every incident) what is released to it
    trend_heading: str
    chart: Chart | None
    context: tuple[str, ...]
    evidence_heading: str
    evidence: tuple[EvidenceRow, ...]
    no_evidence: str
    engineering: tuple[str, ...]


@dataclass(frozen=True)
class Brief:
    lang: str
    level: str
    title: str
    demo_line: str
    meta: str
    labels: Mapping[str, Any]
    changes: tuple[str, ...]
    asked: tuple[str, ...]
    ack_url: str
    sections: tuple[BriefSection, ...]


def brief(n: Notice) -> Brief:
    t = translations(n.lang)
    _ = t.gettext
    own = own_state(n.audience)
    top = max(n.sections, key=lambda s: (not s.resolved_at, LEVEL_INDEX.get(s.level, 0)))
    headline = _headline(top, n.level, own, n.lang)
    labels = {
        "changes": _("What changed since the last notice"),
        "happened": _("What happened"),
        "context": _("Context: arms deliveries to each side"),
        "asked": _("What is asked of you"),
        "ack": _("Acknowledge this notice"),
        "engineering": _("Engineering detail (detector output, in English)"),
        "columns": (_("date"), _("category"), _("deaths"), _("severity"), _("classification"), _("incident"),
                    _("description (as the source reported it)")),
    }
    return Brief(
        lang=n.lang, level=n.level,
        title=(_("DEMO") + " — " if n.demo else "") + headline,
        demo_line=_("This is a demonstration notice: not a real event.") if n.demo else "",
        meta=_("Notice %(id)s %(for_whom)s, %(at)s.") % {"id": n.notice_id, "for_whom": addressee(n),
                                                        "at": human(n.created_at)},
        labels=labels, changes=n.changes, asked=_asked(n, own), ack_url=n.ack_url,
        sections=tuple(_section(s, own, n.lang, len(n.sections) > 1) for s in n.sections))


def _headline(s: Section, notice_level: str, own: str | None, lang: str) -> str:
    t = translations(lang)
    _ = t.gettext
    deaths = sum(int(i.get("fatalities") or 0) for i in s.evidence)
    if s.kind == ARMS_RACE:
        what = _("arms race eased") if s.resolved_at else _("arms race, both sides arming")
    elif s.resolved_at:
        what = _("border situation eased")
    elif deaths:
        what = _("deadly clash")
    elif s.evidence:
        what = _("border incidents")
    else:
        what = _("unusual incident activity")
    place = (s.place_ru if lang == "ru" else "") or s.place
    values = {"level": level_name(notice_level, lang).capitalize(), "what": what, "place": place,
              "border": border_name(s.countries or states_of(s.border), own, lang)}
    if place:
        return _("%(level)s: %(what)s %(place)s, %(border)s border") % values
    return _("%(level)s: %(what)s on the %(border)s border") % values


def own_state(audience: str) -> str | None:
    """The receiver's own state (``secretariat:KGZ`` -> ``KGZ``): its name comes first in a border's."""
    return audience.removeprefix("secretariat:") if audience.startswith("secretariat:") else None


def stretch_name(s: Section, own: str | None, lang: str) -> str:
    """What a notice in ``lang`` calls the alert's stretch. The registry's segment names are
    English; in another language the stretch is named by its border, id and towns in that language
    (an arms race is the whole border's: its name alone)."""
    if lang == SOURCE_LANGUAGE:
        return s.name or s.segment_id
    return stretch_title(s.segment_id, s.countries or states_of(s.border), s.place_ru, lang, own,
                         whole_border=s.kind == ARMS_RACE)


def stretch_title(segment_id: str, countries: Sequence[str], place_ru: str | None, lang: str,
                  own: str | None = None, *, whole_border: bool = False) -> str:
    """A stretch's name in a language other than the registry's English, as notices and the
    console's pages write it: ``Кыргызстан–Таджикистан (KGZ-TJK-07), в районе н. п. Исфара``."""
    if whole_border:
        return border_name(countries, own, lang)
    return f"{border_name(countries, own, lang)} ({segment_id})" + (f", {place_ru}" if place_ru else "")


def _section(s: Section, own: str | None, lang: str, several: bool) -> BriefSection:
    t = translations(lang)
    _, level = t.gettext, functools.partial(level_name, lang=lang)
    countries = _own_first(s.countries or states_of(s.border), own)
    segment = stretch_name(s, own, lang)
    arms = s.kind == ARMS_RACE  # no incident is behind it: no incident chart, its evidence is SIPRI's record
    words = {"border": border_name(countries, own, lang), "level": level(s.level), "trend": trend_word(s.trend, lang)}
    # a resolved alert's level and trend are both "resolved": said once
    heading = (_("%(border)s border: %(level)s") if s.resolved_at
               else _("%(border)s border: %(level)s, %(trend)s")) % words
    return BriefSection(
        level=s.level if not s.resolved_at else "resolved",
        heading=heading if not several else f"{heading} ({s.segment_id})",
        segment=segment,
        map_svg=excerpt_svg(s.line, "none" if s.resolved_at else s.level,
                            lambda iso3, name: country_name(iso3, lang, default=name),
                            place=(s.place_ru if lang == "ru" else "") or s.place, km=_("km")),
        happened=_happened(s, lang),
        trend="" if arms else _trend_line(s, lang),
        trend_heading=_("Recent incidents released to you") if s.baseline is None else _("Trend against normal"),
        chart=None if arms else chart(s.activity, s.baseline, lang),
        context=_context(s, countries, lang),
        evidence_heading=_("Evidence released to you: %(segment)s") % {"segment": segment},
        evidence=tuple(_evidence_row(i, lang) for i in s.evidence),
        no_evidence="" if s.evidence else (
            _("No incident is behind an arms race: its evidence is the public SIPRI Arms Transfers Database's "
              "record of the deliveries and orders above.") if arms
            else _("No evidence incident is released to you.")),
        engineering=(*([s.summary] if s.summary else []), *s.why,
                     f"alert {s.alert_id}, segment {s.segment_id} ({s.border}), peak {s.peak_level}"))


def _happened(s: Section, lang: str) -> tuple[str, ...]:
    t = translations(lang)
    _ = t.gettext
    if s.resolved_at:  # its level now is "resolved": the level it reached is what the reader needs
        out = [_("Alert opened %(at)s; its highest level was %(peak)s.")
               % {"at": human(s.opened_at), "peak": level_name(s.peak_level, lang)},
               _("Resolved %(at)s.") % {"at": human(s.resolved_at)}]
    else:
        out = [_("Alert opened %(at)s at level %(level)s (peak %(peak)s).")
               % {"at": human(s.opened_at), "level": level_name(s.level, lang), "peak": level_name(s.peak_level, lang)}]
        if s.kind != ARMS_RACE and s.forecast.get("level") == s.level:  # the forecast is what set this level
            out.append(forecast_line(s.forecast, lang))
    if s.figures_withheld:
        out.append(figures_withheld_line(lang))
    if s.kind == ARMS_RACE:
        return tuple(out + [_arming(side, lang) for side in s.sides])
    if s.evidence:
        dates = sorted(str(i.get("at", ""))[:10] for i in s.evidence)
        deaths = sum(int(i.get("fatalities") or 0) for i in s.evidence)
        kinds = ", ".join(dict.fromkeys(category_name(str(i.get("category", "")), lang) for i in s.evidence))
        out.append(t.ngettext("%(n)d incident released to you, %(first)s to %(last)s: %(kinds)s.",
                              "%(n)d incidents released to you, %(first)s to %(last)s: %(kinds)s.",
                              len(s.evidence)) % {"n": len(s.evidence), "first": dates[0], "last": dates[-1],
                                                  "kinds": kinds})
        out.append(t.ngettext("%(n)d death reported.", "%(n)d deaths reported.", deaths) % {"n": deaths}
                   if deaths else _("No deaths reported."))
    else:
        out.append(_("No incident behind this alert is released to you; the level is the detector's reading."))
    return tuple(out)


def figures_withheld_line(lang: str) -> str:
    """What a notice and the console say in place of an alert's figures withheld from the reader
    (``alerts.access.Principal.shown``), and why."""
    return translations(lang).gettext(
        "Figures withheld: the segment's past year includes incidents not released to you, so the counts and "
        "baselines behind this alert are not shown. Its level stands.")


def forecast_line(forecast: Mapping[str, Any], lang: str) -> str:
    """What a level set by the hazard forecast stands for, in the reader's words: the probability of a
    deadly clash within the horizon and the range its level covers (``notices.forecast_band``)."""
    t = translations(lang)
    days = int(forecast.get("horizon_days") or 0)
    values = {"p": percent(forecast["probability"], lang), "days": days, "level": level_name(forecast["level"], lang),
              "low": percent(forecast["band_from"], lang) if forecast.get("band_from") is not None else "",
              "high": percent(forecast["band_to"], lang) if forecast.get("band_to") is not None else ""}
    chance = t.ngettext("The model gives a %(p)s chance of a deadly clash on this border within %(days)d day.",
                        "The model gives a %(p)s chance of a deadly clash on this border within %(days)d days.",
                        days) % values
    if not values["low"]:
        return chance
    if not values["high"]:
        return chance + " " + t.gettext("Level %(level)s stands for %(low)s or more.") % values
    return chance + " " + t.gettext("Level %(level)s stands for %(low)s to %(high)s.") % values


def _arming(side: Mapping[str, Any], lang: str) -> str:
    """One side of an arms race in plain words: what it took (SIPRI's own designations, the
    descriptions and suppliers in ``lang``), its volume against its own past, and the new kinds of weapon."""
    _ = translations(lang).gettext
    line = _("%(country)s took %(items)s: %(volume)s.") % {
        "country": country_name(side["state"], lang), "volume": volume_line(side, lang),
        "items": "; ".join(acquisitions(side, lang)) or _("nothing recorded")}
    if side.get("new_capabilities"):
        line += " " + _("New kind of weapon: %(kinds)s.") % {
            "kinds": ", ".join(capability_name(c, lang) for c in side["new_capabilities"])}
    return line


def volume_line(side: Mapping[str, Any], lang: str) -> str:
    """A side's arms volume against its own past: ``18,8 TIV за три года при 7,6 в среднем …``."""
    return translations(lang).gettext(
        "%(tiv)s TIV in three years against %(baseline)s in an average three years before") % {
        "tiv": number(side["window_tiv"], lang),
        # an average over years: a tenth is as fine as it means anything (SIPRI's own figures as they are)
        "baseline": number(side.get("baseline_tiv") or 0, lang, 1)}


def capability_name(capability: str, lang: str) -> str:
    """A kind of weapon the arms-race rule tells apart (``detectors.arms_race.CAPABILITIES``) in ``lang``."""
    _ = translations(lang).gettext
    return {"armed drones": _("armed drones"), "rocket artillery": _("rocket artillery"),
            "air defence": _("air defence")}.get(capability, capability)


def acquisitions(side: Mapping[str, Any], lang: str) -> list[str]:
    """What a side acquired, in ``lang``: from the data where the alert carries it (alerts written
    before it did carry SIPRI's English words only)."""
    if "acquired" in side:
        return [acquisition_words(a, lang) for a in side["acquired"]]
    return list(side.get("acquisitions") or ())


def _trend_line(s: Section, lang: str) -> str:
    t = translations(lang)
    _ = t.gettext
    if not s.activity:
        return _("No recent activity recorded.")
    total, days = sum(n for _day, n in s.activity), len(s.activity)
    if s.baseline is None:  # counted from what is released to the receiver: no normal to hold it against
        return (t.ngettext("%(n)d of the segment's latest incidents released to you falls in the %(days)d days "
                           "to %(date)s (bars: incidents per day).",
                           "%(n)d of the segment's latest incidents released to you fall in the %(days)d days "
                           "to %(date)s (bars: incidents per day).", total)
                % {"n": total, "days": days, "date": s.activity[-1][0]})
    rate = total / days
    ratio = rate / s.baseline if s.baseline else (float("inf") if total else 1.0)
    if ratio >= FAR_ABOVE:
        word = _("well above normal")
    elif ratio > NORMAL_BAND[1]:
        word = _("above normal")
    elif ratio < NORMAL_BAND[0]:
        word = _("below normal")
    else:
        word = _("about normal")
    return (t.ngettext("%(n)d incident in the %(days)d days to %(date)s (%(rate)s/day) against a baseline "
                       "of %(baseline)s/day: %(word)s (bars: incidents per day; dashed line: baseline).",
                       "%(n)d incidents in the %(days)d days to %(date)s (%(rate)s/day) against a baseline "
                       "of %(baseline)s/day: %(word)s (bars: incidents per day; dashed line: baseline).", total)
            % {"n": total, "days": days, "date": s.activity[-1][0], "rate": number(rate, lang, RATE_DIGITS),
               "baseline": number(s.baseline, lang, RATE_DIGITS), "word": word})


def _context(s: Section, countries: Sequence[str], lang: str) -> tuple[str, ...]:
    _ = translations(lang).gettext
    if not s.pressure:
        return (_("SIPRI records no deliveries of major arms to either side in the last five years."),)
    rows = sorted(s.pressure, key=lambda row: (row[0] not in countries, list(countries).index(row[0])
                                               if row[0] in countries else 0, row[0]))
    out = [_("SIPRI trend-indicator values (TIV) measure the military capability transferred, not its price: "
             "a comparable volume of major arms (aircraft, armoured vehicles, artillery, air defence), in millions "
             "of TIV. Deliveries in the last five years:")]
    for country, per_year, total in rows:
        # "; " between the years: in a language with a decimal comma ", " would run into the figures
        years = "; ".join(f"{y}: {number(tiv, lang)}" for y, tiv in per_year)
        out.append(_("%(country)s: %(total)s TIV over %(first)d-%(last)d (%(years)s)")
                   % {"country": country_name(country, lang), "total": number(total, lang), "first": per_year[0][0],
                      "last": per_year[-1][0], "years": years})
    totals = {c: tot for c, _ys, tot in rows}
    if len(totals) == 2 and min(totals.values()) > 0:
        (more, hi), (less, lo) = sorted(totals.items(), key=lambda kv: -kv[1])
        out.append(_("%(more)s received %(ratio)s times the volume %(less)s did.")
                   % {"more": country_name(more, lang), "ratio": number(hi / lo, lang, 1), "less": country_name(less, lang)})
    return tuple(out)


def _asked(n: Notice, own: str | None) -> tuple[str, ...]:
    _ = translations(n.lang).gettext
    ack = _("Acknowledge this notice by the link below, so the other desks see it has been read.")
    if all(s.resolved_at for s in n.sections):  # nothing to check on the ground, nobody to call
        return (ack, _("Every alert in this notice is resolved: nothing more is asked of you, unless what you know "
                       "on the ground says otherwise."))
    pairs = dict.fromkeys(c for s in n.sections for c in (s.countries or states_of(s.border)))
    if own is not None:
        others = [c for c in pairs if c != own]
        return (ack, *[_("Please contact %(other)s and the regional desk: agree what each side checks on the "
                         "ground and who speaks to whom.") % {"other": secretariat_of(c, n.lang)} for c in others])
    if n.audience == "regional-desk":
        names = [secretariat_of(c, n.lang) for c in pairs]
        sides = (_("%(some)s and %(last)s") % {"some": ", ".join(names[:-1]), "last": names[-1]}
                 if len(names) > 1 else "".join(names))
        return (ack, _("Please contact %(sides)s: ask each what it has confirmed and offer the channel between them.")
                % {"sides": sides})
    return (ack, _("Check the evidence and the detector detail below; the secretariats and the regional desk "
                   "are told by their own routes."))


def _evidence_row(i: Mapping[str, Any], lang: str) -> EvidenceRow:
    _ = translations(lang).gettext
    cells = (str(i.get("at", ""))[:10], category_name(str(i.get("category", "")), lang), str(i.get("fatalities", 0)),
             str(i.get("severity", 0)), classification_name(str(i.get("classification") or "public"), lang),
             str(i["event_id"]),
             str(i.get("description") or ""))
    # The row is one line of the text notice and the CAP description: a source's description may hold
    # line breaks (streams/records.py allows them), and one would start a line the notice did not
    # write (a made-up "Acknowledge: https://..." under the evidence). Its words stay, on the row's line.
    said = " ".join(cells[6].split())
    line = "  ".join(x for x in (cells[0], cells[1], _("deaths %(n)s, severity %(severity)s")
                                 % {"n": cells[2], "severity": cells[3]}, f"[{cells[4]}]", cells[5], said) if x)
    return EvidenceRow(*cells, line)


def chart(activity: Sequence[tuple[str, int]], baseline: float | None, lang: str,
          width: int = 600, height: int = 160) -> Chart:
    left, bottom, top_pad = 30, 20, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    y_max = max([n for _day, n in activity] + [baseline or 0.0, 1.0])
    y_of = lambda v: round(top_pad + plot_h - plot_h * v / y_max, 1)  # noqa: E731
    bw = plot_w / len(activity) if activity else 0
    bars = tuple(Bar(round(left + k * bw + 1, 1), y_of(n), round(max(bw - 2, 1), 1),
                     round(top_pad + plot_h - y_of(n), 1), day, n) for k, (day, n) in enumerate(activity))
    _ = translations(lang).gettext
    if baseline is None:
        return Chart(width, height, left, top_pad, plot_w, top_pad + plot_h, y_max, bars,
                     _("incidents released to you per day"), None, None, "", number(y_max, lang))
    caption = _("baseline %(rate)s/day") % {"rate": number(baseline, lang, RATE_DIGITS)}
    return Chart(width, height, left, top_pad, plot_w, top_pad + plot_h, y_max, bars,
                 _("incidents per day against baseline"), baseline, y_of(baseline), caption, number(y_max, lang))


def trend_word(trend: str, lang: str) -> str:
    _ = translations(lang).gettext
    return {"new": _("new"), "rising": _("rising"), "easing": _("easing"), "resolved": _("resolved"),
            "steady": _("steady")}.get(trend, trend)


def country_name(iso3: str | None, lang: str, default: str | None = None) -> str:
    """The state's name in ``lang``: the catalog's for the states a desk writes to (their secretariats
    are named with them), else CLDR's (through babel) outside English, else ``default`` (its code if none)."""
    _ = translations(lang).gettext
    named = {"KAZ": _("Kazakhstan"), "KGZ": _("Kyrgyzstan"), "TJK": _("Tajikistan"), "TKM": _("Turkmenistan"),
             "UZB": _("Uzbekistan"), "AFG": _("Afghanistan")}.get(iso3)
    if named is None and iso3 and lang != SOURCE_LANGUAGE:
        named = cldr_country_name(iso3, lang)
    return named or (iso3 if default is None else default)


@functools.lru_cache(maxsize=4096)
def cldr_country_name(iso3: str, lang: str) -> str | None:
    """CLDR's name of the state ``iso3`` in ``lang`` (``CHN`` -> ``Китай``), None for a code it has not."""
    alpha2 = (get_global("territory_aliases").get(iso3) or [None])[0]
    return Locale(lang).territories.get(alpha2) if alpha2 else None


def addressee(n: Notice) -> str:
    """Whom a notice is for, with the preposition, in its reader's words: a secretariat by its
    state's name ("для секретариата Кыргызстана"), with the policy's receiver name after it, as the
    delivery log and the centre know the desk; any other receiver by that name alone."""
    own = own_state(n.audience)
    _ = translations(n.lang).gettext
    if own is None:
        return _("for %(receiver)s") % {"receiver": n.receiver}
    # after "for": Russian needs the genitive, so each state is its own msgid (as secretariat_of)
    named = {"KAZ": _("for the secretariat of Kazakhstan"), "KGZ": _("for the secretariat of Kyrgyzstan"),
             "TJK": _("for the secretariat of Tajikistan"), "TKM": _("for the secretariat of Turkmenistan"),
             "UZB": _("for the secretariat of Uzbekistan"), "AFG": _("for the secretariat of Afghanistan")
             }.get(own) or _("for the secretariat (%(country)s)") % {"country": country_name(own, n.lang)}
    return f"{named} ({n.receiver})"


def secretariat_of(iso3: str, lang: str) -> str:
    """As the object of "contact": Russian needs the instrumental ("связаться с секретариатом Таджикистана"),
    so each state is its own msgid rather than a name put into one pattern."""
    _ = translations(lang).gettext
    return {"KAZ": _("the secretariat of Kazakhstan"), "KGZ": _("the secretariat of Kyrgyzstan"),
            "TJK": _("the secretariat of Tajikistan"), "TKM": _("the secretariat of Turkmenistan"),
            "UZB": _("the secretariat of Uzbekistan"), "AFG": _("the secretariat of Afghanistan")
            }.get(iso3, _("the secretariat of %(country)s") % {"country": iso3})


def category_name(category: str, lang: str) -> str:
    _ = translations(lang).gettext
    return {"armed_clash": _("armed clash"), "shelling": _("shelling"), "drone_strike": _("drone strike"),
            "incursion": _("incursion"), "detention": _("detention"),
            "smuggling_interdiction": _("smuggling interdiction"), "fortification": _("fortification"),
            "threat": _("threat"), "protest": _("protest"), "internal_conflict": _("internal conflict"),
            "other": _("other")
            }.get(category.replace(" ", "_"), category.replace("_", " "))


def classification_name(classification: str, lang: str) -> str:
    """A release marking (streams.records.CLASSIFICATIONS) as the receiver's desk writes it; "restricted"
    is the Russian-speaking states' ДСП (for official use)."""
    _ = translations(lang).gettext
    return {"public": _("public"), "restricted": _("restricted"), "confidential": _("confidential")
            }.get(classification, classification)


def border_name(countries: Sequence[str], own: str | None, lang: str) -> str:
    """Kyrgyzstan–Tajikistan; the receiver's own state first."""
    return "–".join(country_name(c, lang) for c in _own_first(countries, own))


def _own_first(countries: Sequence[str], own: str | None) -> tuple[str, ...]:
    return tuple(sorted(countries, key=lambda c: c != own))


@functools.lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    # Escaped in the HTML and SVG templates whatever their strings say (incident text comes from
    # sources); the text template is plain text and must not turn "<" into "&lt;".
    return jinja2.Environment(loader=jinja2.PackageLoader("alerts.notify", "templates"),
                              autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "svg.j2"),
                                                                  default=False),
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def render_html(b: Brief) -> str:
    return templates().get_template("notice.html.j2").render(b=b)


def render_text(b: Brief) -> str:
    return templates().get_template("notice.txt.j2").render(b=b)


def excerpt_svg(line: Sequence[Sequence[float]], level: str, name_of: Callable[[str | None, str], str],
                place: str = "", km: str = "km") -> str:
    """The map excerpt around ``line`` ((lon, lat) pairs) as SVG, laid out by
    :func:`alerts.notify.map_excerpt.excerpt_layout` (which says what the arguments mean); empty
    without a line.

        >>> svg = excerpt_svg(((70.5, 40.0), (70.7, 40.1)), "critical", lambda iso3, name: name)
        >>> svg.startswith("<svg") and 'stroke="#d32f2f"' in svg and " km</text>" in svg
        True
    """
    layout = excerpt_layout(line, level, name_of, place, km)
    return "" if layout is None else templates().get_template("map_excerpt.svg.j2").render(m=layout)


def brief_of(n: Notice) -> Brief:
    """The notice's words (:func:`brief`), made once per notice."""
    return n.once("brief", lambda: brief(n))


def notice_title(n: Notice) -> str:
    """The headline in the receiver's language: level, what, where."""
    return brief_of(n).title


def notice_text(n: Notice) -> str:
    return n.once("text", lambda: render_text(brief_of(n)))


def notice_html(n: Notice) -> str:
    return n.once("html", lambda: render_html(brief_of(n)))


def notice_dict(n: Notice) -> dict[str, Any]:
    """The notice as plain data with its headline (the JSON the webhook, the file sink and the archive carry)."""
    return dict(n.to_dict(), title=notice_title(n))


def notice_json(n: Notice) -> bytes:
    return json.dumps(notice_dict(n), separators=(",", ":"), sort_keys=True).encode()
