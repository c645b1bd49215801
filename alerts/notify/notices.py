"""Escalation notices built: what one receiver is told about one alert group (the
:class:`~alerts.notify.model.Notice`, rendered as HTML, text and JSON by :mod:`alerts.notify.brief`
and as a PDF by :mod:`alerts.notify.pdf`).

A notice is built for a receiver's :class:`~alerts.access.Principal`: alerts the
principal may not see are dropped, each alert is read as ``Principal.shown`` gives it
(its figures withheld where they count incidents not released to the receiver), and
each alert's evidence incidents are passed through ``Principal.redact`` before anything
is rendered, so no output format can carry a non-releasable incident or a figure made from one. Building is pure (the clock, the
ack link and the segment data come in); rendering is pure too.

>>> req = NoticeRequest("secretariat-KGZ", "{}:{border=KGZ-TJK}", (alert,), "new", "nt-1")   # doctest: +SKIP
>>> notice = build_notice(req, principal_for("secretariat-KGZ"), contexts.get, previous=None,
...                       ack_url="https://bw.example/notices/nt-1/confirm?token=...", created_at=now)  # doctest: +SKIP
>>> notice_html(notice), notice_pdf(notice)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping

from borderwatch.errors import BorderwatchError
from alerts.access import Principal, daily_from
from alerts.escalation import LEVEL_INDEX
from alerts.model import INCIDENT
from alerts.notify.acks import ack_link, link_expiry
from alerts.notify.brief import own_state, stretch_name
from alerts.notify.i18n import SOURCE_LANGUAGE, level_name, translations
from alerts.notify.model import Notice, Section
from alerts.policy import AckRules
from alerts.timefmt import iso, parse_iso, utcnow

#: What the last transition of an alert says about where it is going.
TRENDS = {"opened": "new", "escalated": "rising", "de-escalated": "easing", "resolved": "resolved"}
CHART_DAYS = 30
BASELINE_DAYS = 365
PRESSURE_YEARS = 5
_EPOCH = date(1970, 1, 1)
#: The source streams/demo.py gives its live incident: a notice with it as evidence says DEMO.
DEMO_SOURCE = "borderwatch-demo"


class NoticeError(BorderwatchError, ValueError):
    """A request that cannot become a notice for its receiver (e.g. no alert the receiver may see)."""


@dataclass(frozen=True)
class NoticeRequest:
    """One (receiver, alert group) to notify: the fields of ``alerts.notify.dispatch.Dispatch``."""

    receiver: str
    group_key: str
    alerts: tuple[dict, ...]
    reason: str
    notice_id: str

    @classmethod
    def from_dispatch(cls, dispatch: Any) -> "NoticeRequest":
        return cls(**{f.name: getattr(dispatch, f.name) for f in fields(cls)})


def principal_for(receiver: str, role: str | None = None) -> Principal:
    """The principal a receiver's notices are redacted for.

    ``secretariat-KGZ`` -> secretariat:KGZ, ``regional-desk``, ``operator(s)``; a
    receiver with another name must say its role (``role="secretariat:KGZ"``).
    """
    if role:
        return Principal.parse(receiver, role)
    if receiver.startswith("secretariat-"):
        return Principal.parse(receiver, "secretariat:" + receiver.removeprefix("secretariat-"))
    if receiver in ("regional-desk", "operator", "operators"):
        return Principal.parse(receiver, "operator" if receiver.startswith("operator") else receiver)
    raise NoticeError(f"receiver {receiver!r}: cannot tell whose releasability applies; "
                      f"name it secretariat-<ISO3>, regional-desk or operators, or give its role")


@dataclass(frozen=True)
class SegmentContext:
    """What a notice shows about a segment beyond the alert: incidents, recent activity, arms transfers.

    ``incidents`` are incident dicts as in ``SegmentState.recent`` (event_id, at,
    category, fatalities, severity, classification, releasable_to, description);
    ``activity`` is (ISO date, incidents) per day, oldest first; ``baseline`` the
    mean incidents per day before that window; ``pressure`` ISO3 -> {year: TIV}.
    """

    segment_id: str
    incidents: tuple[Mapping[str, Any], ...] = ()
    activity: tuple[tuple[str, int], ...] = ()
    baseline: float = 0.0
    pressure: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    #: the segment's name as people read it, with its towns (``Segment.title``)
    name: str = ""
    #: the towns alone, in English and Russian ("near Isfara and Batken"; ``Segment.place``, ``place_ru``)
    place: str = ""
    place_ru: str = ""
    #: deaths per day, beside ``activity`` (the segment page's chart and table count the same)
    deaths: tuple[int, ...] = ()
    #: the segment's border line, (lon, lat) pairs from the registry (``Segment.coords``); empty for a
    #: whole-border segment. The CAP export draws its area from it (alerts/notify/cap.py).
    line: tuple[tuple[float, float], ...] = ()

    @classmethod
    def from_state(cls, state: Any, pair_state: Any = None, *, days: int = CHART_DAYS,
                   baseline_days: int = BASELINE_DAYS, name: str = "", place: str = "",
                   place_ru: str = "", line: Any = ()) -> "SegmentContext":
        """From a ``streams.segment_state.SegmentState`` and, for arms transfers, its border pair's state.

        The chart covers the ``days`` up to the segment's newest incident; the
        baseline is the mean daily count over the ``baseline_days`` before them.
        """
        end = state.max_day
        activity: tuple[tuple[str, int], ...] = ()
        deaths: tuple[int, ...] = ()
        baseline = 0.0
        if end is not None:
            window = range(end - days + 1, end + 1)
            activity = tuple(((_EPOCH + timedelta(days=d)).isoformat(), int(state.days.get(d, (0,))[0]))
                             for d in window)
            deaths = tuple(int(state.days.get(d, (0, 0))[1]) for d in window)
            before = range(end - days - baseline_days + 1, end - days + 1)
            baseline = sum(state.days.get(d, (0,))[0] for d in before) / baseline_days
        pressure = (pair_state.pressure if pair_state is not None else None) or state.pressure or {}
        return cls(state.key, tuple(state.recent), activity, baseline,
                   {c: dict(ys) for c, ys in pressure.items()}, name, place, place_ru, deaths,
                   tuple((float(lon), float(lat)) for lon, lat in line))

    def to_dict(self) -> dict[str, Any]:
        """The segment's evidence as plain JSON (names and places are the registry's, not carried)."""
        return {"segment_id": self.segment_id, "incidents": [dict(i) for i in self.incidents],
                "activity": [list(a) for a in self.activity], "deaths": list(self.deaths), "baseline": self.baseline,
                "pressure": {c: {str(y): t for y, t in ys.items()} for c, ys in self.pressure.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, name: str = "", place: str = "",
                  place_ru: str = "", line: Any = ()) -> "SegmentContext":
        """Back from :meth:`to_dict` (JSON object keys are strings: the years become numbers again);
        the names, places and line are the registry's."""
        return cls(d["segment_id"], tuple(d.get("incidents", ())),
                   tuple((str(day), int(n)) for day, n in d.get("activity", ())), float(d.get("baseline", 0.0)),
                   {c: {int(y): float(t) for y, t in ys.items()} for c, ys in d.get("pressure", {}).items()},
                   name, place, place_ru, tuple(int(n) for n in d.get("deaths", ())),
                   tuple((float(lon), float(lat)) for lon, lat in line))


def build_notice(request: NoticeRequest, principal: Principal,
                 context_for: Callable[[str], SegmentContext | None], *, previous: Mapping[str, Any] | None,
                 ack_url: str, created_at: datetime, lang: str = SOURCE_LANGUAGE) -> Notice:
    """The notice ``request.receiver`` gets, in ``lang``: only alerts and evidence released to ``principal``."""
    sections = []
    demo = False
    for alert in request.alerts:
        if not principal.sees(alert):
            continue  # routing should not have sent it; never render it anyway
        alert = principal.shown(alert)  # its figures too may be withheld from this receiver
        ctx = context_for(alert["segment_id"]) or SegmentContext(alert["segment_id"])
        by_id = {i["event_id"]: i for i in ctx.incidents}
        # Before redaction: a receiver the demo incident is not released to still must not take it for real.
        demo = demo or any(by_id[e].get("source") == DEMO_SOURCE for e in alert.get("evidence") or () if e in by_id)
        # Evidence no longer in the segment's recent incidents cannot be checked for release: left out.
        evidence = principal.redact([by_id[e] for e in alert.get("evidence") or () if e in by_id])
        activity, baseline = _activity_for(principal, ctx)
        sections.append(Section(
            alert_id=alert["alert_id"], segment_id=alert["segment_id"], border=alert["border"],
            level=alert["level"], peak_level=alert.get("peak_level") or alert["level"], trend=_trend(alert),
            summary=alert.get("summary") or "", opened_at=alert["opened_at"], resolved_at=alert.get("resolved_at"),
            evidence=tuple(dict(i) for i in evidence), activity=activity, baseline=baseline,
            pressure=pressure_rows(ctx.pressure), why=why_lines(alert.get("explanation")), name=ctx.name,
            place=ctx.place, place_ru=ctx.place_ru, countries=tuple(alert.get("countries") or ()),
            kind=alert.get("kind") or INCIDENT,
            sides=tuple(dict(x) for x in (alert.get("explanation") or {}).get("sides") or ()),
            line=tuple(ctx.line), forecast=forecast_band(alert.get("explanation")),
            figures_withheld=bool(alert.get("figures_withheld"))))
    if not sections:
        raise NoticeError(f"notice {request.notice_id}: {request.receiver} may see none of its alerts")
    # The id and time go in the summary too: the next notice of the group refers back to this one (CAP <references>).
    summary = {"notice_id": request.notice_id, "created_at": iso(created_at),
               "alerts": {s.alert_id: {"segment_id": s.segment_id, "level": s.level, "resolved": bool(s.resolved_at),
                                       "evidence": [i["event_id"] for i in s.evidence]} for s in sections}}
    # each alert named in what changed as its section names it
    names = {s.alert_id: stretch_name(s, own_state(principal.role_string), lang) for s in sections}
    earlier = (str(previous["notice_id"]), str(previous["created_at"])) \
        if previous and previous.get("notice_id") and previous.get("created_at") else None
    return Notice(request.notice_id, request.receiver, request.group_key, request.reason, principal.role_string,
                  iso(created_at), ack_url, tuple(sections),
                  tuple(changes_since(previous, summary, lang, names)), summary, lang, demo, earlier)


def _activity_for(principal: Principal, ctx: SegmentContext) -> tuple[tuple[tuple[str, int], ...], float | None]:
    """The chart's days and baseline as ``principal`` may see them. The stored series and baseline count
    every incident, withheld ones too: a receiver who may not see them all gets the days counted from
    the segment's recent incidents released to it, and no baseline (nothing released to it counts a year)."""
    if principal.sees_all:
        return tuple(ctx.activity), ctx.baseline
    released = daily_from(principal.redact(ctx.incidents), CHART_DAYS)
    return tuple((d["date"], d["incidents"]) for d in released), None


class NoticeRenderer:
    """The ``render`` stage of the notify chain: request + previous summary -> notice.

    ``context_for(segment_id)`` gives a :class:`SegmentContext`; ``roles`` maps
    receivers whose names do not say their role (see :func:`principal_for`); ``languages``
    receiver -> its policy ``lang`` (English for a receiver not in it).
    """

    def __init__(self, context_for: Callable[[str], SegmentContext | None], ack_secret: bytes | str,
                 base_url: str, *, roles: Mapping[str, str] | None = None,
                 languages: Mapping[str, str] | None = None, clock: Callable[[], datetime] = utcnow,
                 link_good_for: timedelta = AckRules.link_expiry) -> None:
        self.context_for, self.ack_secret, self.base_url = context_for, ack_secret, base_url
        self.roles, self.languages, self.clock = dict(roles or {}), dict(languages or {}), clock
        self.link_good_for = link_good_for

    def __call__(self, request: NoticeRequest, previous: Mapping[str, Any] | None) -> Notice:
        made = self.clock()
        lang = self.languages.get(request.receiver, SOURCE_LANGUAGE)
        return build_notice(request, principal_for(request.receiver, self.roles.get(request.receiver)),
                            self.context_for, previous=previous,
                            ack_url=self._link(request.notice_id, made, lang), created_at=made, lang=lang)

    def link_for(self, notice: Notice) -> str:
        """The acknowledgement link ``notice`` was made with (the same token: its day comes from the
        notice's making), for a notice kept without it."""
        return self._link(notice.notice_id, parse_iso(notice.created_at), notice.lang)

    def _link(self, notice_id: str, made: datetime, lang: str) -> str:
        return ack_link(self.base_url, self.ack_secret, notice_id, link_expiry(made, self.link_good_for), lang)


def _trend(alert: Mapping[str, Any]) -> str:
    """From a folded alert's last transition, or an alert event's own ``transition``."""
    if alert.get("resolved_at"):
        return "resolved"
    transitions = alert.get("transitions") or ()
    last = transitions[-1]["transition"] if transitions else alert.get("transition", "opened")
    return TRENDS.get(last, "steady")


def pressure_rows(pressure: Mapping[str, Mapping[int, float]], years: int = PRESSURE_YEARS
                  ) -> tuple[tuple[str, tuple[tuple[int, float], ...], float], ...]:
    """Per side: TIV per year over the trailing ``years`` up to the latest delivery year of either side."""
    latest = max((int(y) for ys in pressure.values() for y in ys), default=None)
    if latest is None:
        return ()
    span = range(latest - years + 1, latest + 1)
    rows = []
    for country in sorted(pressure):
        ys = {int(y): float(t) for y, t in pressure[country].items()}
        per_year = tuple((y, round(ys.get(y, 0.0), 3)) for y in span)
        rows.append((country, per_year, round(sum(t for _, t in per_year), 3)))
    return tuple(rows)


def changes_since(previous: Mapping[str, Any] | None, current: Mapping[str, Any],
                  lang: str = SOURCE_LANGUAGE, names: Mapping[str, str] | None = None) -> list[str]:
    """What changed for this receiver since its last notice for the group, in plain sentences in
    ``lang``; each alert named by ``names`` (alert id -> its stretch's name), else by its segment id."""
    names = names or {}
    t = translations(lang)
    _, level = t.gettext, functools.partial(level_name, lang=lang)
    if previous is None:
        return [_("First notice to you for this alert.")]
    prev, cur = previous.get("alerts", {}), current.get("alerts", {})
    out = []
    for aid, a in cur.items():
        seg = names.get(aid) or a["segment_id"]
        p = prev.get(aid)
        if p is None:
            out.append(_("%(segment)s: new alert at level %(level)s.") % {"segment": seg, "level": level(a["level"])})
            continue
        if a["resolved"] and not p["resolved"]:
            out.append(_("%(segment)s: resolved (was %(level)s).") % {"segment": seg, "level": level(p["level"])})
        elif a["level"] != p["level"]:
            rising = LEVEL_INDEX.get(a["level"], 0) > LEVEL_INDEX.get(p["level"], 0)
            out.append((_("%(segment)s: escalated from %(was)s to %(now)s.") if rising else
                        _("%(segment)s: de-escalated from %(was)s to %(now)s."))
                       % {"segment": seg, "was": level(p["level"]), "now": level(a["level"])})
        new_ev = [e for e in a["evidence"] if e not in set(p.get("evidence", ()))]
        if new_ev:
            out.append(t.ngettext("%(segment)s: %(n)d new evidence incident.",
                                  "%(segment)s: %(n)d new evidence incidents.", len(new_ev))
                       % {"segment": seg, "n": len(new_ev)})
    for aid, p in prev.items():
        if aid not in cur:
            out.append(_("%(segment)s: alert no longer in this group.") % {"segment": p["segment_id"]})
    return out or [_("No change in level or evidence since the last notice.")]


def forecast_band(explanation: Mapping[str, Any] | None) -> dict[str, Any]:
    """From an alert's explanation: the hazard forecast's probability, horizon and the band of its level."""
    forecast = (explanation or {}).get("forecast") or {}
    if "probability" not in forecast:
        return {}
    band = (forecast.get("levels") or {}).get(forecast.get("level") or "", {})
    return {"probability": forecast["probability"], "horizon_days": forecast.get("horizon_days"),
            "level": forecast.get("level"), "band_from": band.get("from"), "band_to": band.get("to")}


def why_lines(explanation: Mapping[str, Any] | None, most: int = 5) -> tuple[str, ...]:
    """The detector's reading and the features that deviated, as plain lines (aggregates only:
    the incidents behind them are shown as evidence, redacted per receiver)."""
    if not explanation:
        return ()
    out = [str(explanation["text"])] if explanation.get("text") else []
    forecast = explanation.get("forecast") or {}
    if forecast.get("text") and not any(forecast["text"] in line for line in out):
        out.append(f"Forecast: {forecast['text']}")  # a deadly clash's alert still says what may follow
    for d in list(explanation.get("deviations") or ())[:most]:
        out.append(f"{d['feature'].replace('_', ' ')}: baseline {d['baseline']:g}, now {d['now']:g}")
    return tuple(out)
