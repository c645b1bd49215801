"""Escalation notices: what one receiver is told about one alert group, as HTML, PDF, text and JSON.

A notice is built for a receiver's :class:`~alerts.access.Principal`: alerts the
principal may not see are dropped, and each alert's evidence incidents are
passed through ``Principal.redact`` before anything is rendered, so no output
format can carry a non-releasable incident. Building is pure (the clock, the
ack link and the segment data come in); rendering is pure too.

>>> req = NoticeRequest("secretariat-KGZ", "{}:{border=KGZ-TJK}", (alert,), "new", "nt-1")   # doctest: +SKIP
>>> notice = build_notice(req, principal_for("secretariat-KGZ"), contexts.get, previous=None,
...                       ack_url="https://bw.example/notices/nt-1/confirm?token=...", created_at=now)  # doctest: +SKIP
>>> notice.to_html(), notice.to_pdf()                                                            # doctest: +SKIP
"""

from __future__ import annotations

import functools
import html
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

from alerts.model import iso, utcnow
from alerts.access import Principal
from alerts.escalation import LEVEL_INDEX
from alerts.notice_acks import ack_link

#: What the last transition of an alert says about where it is going.
TRENDS = {"opened": "new", "escalated": "rising", "de-escalated": "easing", "resolved": "resolved"}
CHART_DAYS = 30
BASELINE_DAYS = 365
PRESSURE_YEARS = 5
_EPOCH = date(1970, 1, 1)


class NoticeError(ValueError):
    """A request that cannot become a notice for its receiver (e.g. no alert the receiver may see)."""


@dataclass(frozen=True)
class NoticeRequest:
    """One (receiver, alert group) to notify: the fields of ``alerts.dispatch.Dispatch``."""

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

    @classmethod
    def from_state(cls, state: Any, pair_state: Any = None, *, days: int = CHART_DAYS,
                   baseline_days: int = BASELINE_DAYS, name: str = "") -> "SegmentContext":
        """From a ``streams.pipeline.SegmentState`` and, for arms transfers, its border pair's state.

        The chart covers the ``days`` up to the segment's newest incident; the
        baseline is the mean daily count over the ``baseline_days`` before them.
        """
        end = state.max_day
        activity: tuple[tuple[str, int], ...] = ()
        baseline = 0.0
        if end is not None:
            activity = tuple(((_EPOCH + timedelta(days=d)).isoformat(), int(state.days.get(d, (0,))[0]))
                             for d in range(end - days + 1, end + 1))
            before = range(end - days - baseline_days + 1, end - days + 1)
            baseline = sum(state.days.get(d, (0,))[0] for d in before) / baseline_days
        pressure = (pair_state.pressure if pair_state is not None else None) or state.pressure or {}
        return cls(state.key, tuple(state.recent), activity, baseline,
                   {c: dict(ys) for c, ys in pressure.items()}, name)


@dataclass(frozen=True)
class Section:
    """One alert of the group as this receiver may see it."""

    alert_id: str
    segment_id: str
    border: str
    level: str
    peak_level: str
    trend: str
    summary: str
    opened_at: str
    resolved_at: str | None
    evidence: tuple[Mapping[str, Any], ...]
    activity: tuple[tuple[str, int], ...]
    baseline: float
    pressure: tuple[tuple[str, tuple[tuple[int, float], ...], float], ...]  # (ISO3, ((year, tiv), ...), total)
    #: What deviated from baseline, from the alert's explanation: "feature: baseline -> now" lines.
    why: tuple[str, ...] = ()
    #: the segment's name with its towns, when the notifier knows it
    name: str = ""


@dataclass(frozen=True)
class Notice:
    notice_id: str
    receiver: str
    group_key: str
    reason: str
    audience: str  # the principal's role string, e.g. secretariat:KGZ
    created_at: str
    ack_url: str
    sections: tuple[Section, ...]
    changes: tuple[str, ...]
    #: kept in the delivery log; the next notice to this receiver for this group compares with it
    summary: dict[str, Any]

    @property
    def level(self) -> str:
        open_levels = [s.level for s in self.sections if not s.resolved_at]
        return max(open_levels, key=LEVEL_INDEX.__getitem__) if open_levels else "resolved"

    @property
    def title(self) -> str:
        segs = ", ".join(dict.fromkeys(s.segment_id for s in self.sections))
        borders = ", ".join(dict.fromkeys(s.border for s in self.sections))
        return f"[{self.level.upper()}] Border escalation notice: {segs} ({borders})"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["level"], d["title"] = self.level, self.title
        for s in d["sections"]:
            s["evidence"] = [dict(i) for i in s["evidence"]]
            s["pressure"] = [{"country": c, "years": {str(y): t for y, t in ys}, "total_tiv": tot}
                             for c, ys, tot in s["pressure"]]
            s["activity"] = [{"date": day, "incidents": n} for day, n in s["activity"]]
        return d

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    def to_text(self) -> str:
        return render_text(self)

    # A notice is frozen: each rendering is made once, however many sinks and retries send it.
    @functools.cached_property
    def _html(self) -> str:
        return render_html(self)

    @functools.cached_property
    def _pdf(self) -> bytes:
        from alerts.notice_pdf import render_pdf  # fpdf2 loads only where PDFs are made

        return render_pdf(self)

    def to_html(self) -> str:
        return self._html

    def to_pdf(self) -> bytes:
        return self._pdf


def build_notice(request: NoticeRequest, principal: Principal,
                 context_for: Callable[[str], SegmentContext | None], *, previous: Mapping[str, Any] | None,
                 ack_url: str, created_at: datetime) -> Notice:
    """The notice ``request.receiver`` gets: only alerts and evidence released to ``principal``."""
    sections = []
    for alert in request.alerts:
        if not principal.sees(alert):
            continue  # routing should not have sent it; never render it anyway
        ctx = context_for(alert["segment_id"]) or SegmentContext(alert["segment_id"])
        by_id = {i["event_id"]: i for i in ctx.incidents}
        # Evidence no longer in the segment's recent incidents cannot be checked for release: left out.
        evidence = principal.redact([by_id[e] for e in alert.get("evidence") or () if e in by_id])
        sections.append(Section(
            alert_id=alert["alert_id"], segment_id=alert["segment_id"], border=alert["border"],
            level=alert["level"], peak_level=alert.get("peak_level") or alert["level"], trend=_trend(alert),
            summary=alert.get("summary") or "", opened_at=alert["opened_at"], resolved_at=alert.get("resolved_at"),
            evidence=tuple(dict(i) for i in evidence), activity=tuple(ctx.activity), baseline=ctx.baseline,
            pressure=pressure_rows(ctx.pressure), why=why_lines(alert.get("explanation")), name=ctx.name))
    if not sections:
        raise NoticeError(f"notice {request.notice_id}: {request.receiver} may see none of its alerts")
    summary = {"alerts": {s.alert_id: {"segment_id": s.segment_id, "level": s.level, "resolved": bool(s.resolved_at),
                                       "evidence": [i["event_id"] for i in s.evidence]} for s in sections}}
    return Notice(request.notice_id, request.receiver, request.group_key, request.reason, principal.role_string,
                  iso(created_at), ack_url, tuple(sections),
                  tuple(changes_since(previous, summary)), summary)


class NoticeRenderer:
    """The ``render`` stage of the notify chain: request + previous summary -> notice.

    ``context_for(segment_id)`` gives a :class:`SegmentContext`; ``roles`` maps
    receivers whose names do not say their role (see :func:`principal_for`).
    """

    def __init__(self, context_for: Callable[[str], SegmentContext | None], ack_secret: bytes | str,
                 base_url: str, *, roles: Mapping[str, str] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.context_for, self.ack_secret, self.base_url = context_for, ack_secret, base_url
        self.roles, self.clock = dict(roles or {}), clock

    def __call__(self, request: NoticeRequest, previous: Mapping[str, Any] | None) -> Notice:
        return build_notice(request, principal_for(request.receiver, self.roles.get(request.receiver)),
                            self.context_for, previous=previous,
                            ack_url=ack_link(self.base_url, self.ack_secret, request.notice_id),
                            created_at=self.clock())


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


def changes_since(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """What changed for this receiver since its last notice for the group, in plain sentences."""
    if previous is None:
        return ["First notice to this receiver for this alert group."]
    prev, cur = previous.get("alerts", {}), current.get("alerts", {})
    out = []
    for aid, a in cur.items():
        seg = a["segment_id"]
        p = prev.get(aid)
        if p is None:
            out.append(f"{seg}: new alert at level {a['level']}.")
            continue
        if a["resolved"] and not p["resolved"]:
            out.append(f"{seg}: resolved (was {p['level']}).")
        elif a["level"] != p["level"]:
            word = "escalated" if LEVEL_INDEX.get(a["level"], 0) > LEVEL_INDEX.get(p["level"], 0) else "de-escalated"
            out.append(f"{seg}: {word} from {p['level']} to {a['level']}.")
        new_ev = [e for e in a["evidence"] if e not in set(p.get("evidence", ()))]
        if new_ev:
            out.append(f"{seg}: {len(new_ev)} new evidence incident{'s' if len(new_ev) > 1 else ''}.")
    for aid, p in prev.items():
        if aid not in cur:
            out.append(f"{p['segment_id']}: alert no longer in this group.")
    return out or ["No change in level or evidence since the last notice."]


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


def incident_line(i: Mapping[str, Any]) -> str:
    desc = i.get("description") or ""
    return (f"{str(i.get('at', ''))[:10]}  {i.get('category', '')}  fatalities {i.get('fatalities', 0)}  "
            f"severity {i.get('severity', 0)}  [{i.get('classification', 'public')}]  {i['event_id']}"
            + (f"  {desc}" if desc else ""))


def pressure_line(country: str, per_year: Sequence[tuple[int, float]], total: float) -> str:
    years = ", ".join(f"{y}: {t:g}" for y, t in per_year)
    return f"{country}: {total:g} TIV over {per_year[0][0]}-{per_year[-1][0]} ({years})"


def activity_line(s: Section) -> str:
    if not s.activity:
        return "No recent activity recorded."
    total = sum(n for _, n in s.activity)
    days = len(s.activity)
    return (f"{total} incidents in the {days} days to {s.activity[-1][0]} "
            f"({total / days:.2f}/day) against a baseline of {s.baseline:.2f}/day "
            f"(bars: incidents per day; dashed line: baseline)")


def render_text(n: Notice) -> str:
    lines = [n.title, "", f"Notice {n.notice_id} for {n.receiver}, {n.created_at}.", "",
             "What changed since the last notice:", *[f"  - {c}" for c in n.changes], ""]
    for s in n.sections:
        lines += [f"== {s.segment_id} ({s.border}): {s.level}, {s.trend} (peak {s.peak_level})",
                  *([f"   {s.name}"] if s.name else []),
                  f"   opened {s.opened_at}" + (f", resolved {s.resolved_at}" if s.resolved_at else ""),
                  f"   {s.summary}", *[f"   why: {w}" for w in s.why], f"   Activity: {activity_line(s)}",
                  "   Evidence:"]
        lines += [f"     - {incident_line(i)}" for i in s.evidence] or ["     (none released to this receiver)"]
        lines.append("   Arms transfers to the border pair (SIPRI TIV, millions):")
        lines += [f"     - {pressure_line(*row)}" for row in s.pressure] or ["     (no deliveries recorded)"]
        lines.append("")
    lines += [f"Acknowledge: {n.ack_url}", ""]
    return "\n".join(lines)


def chart_svg(activity: Sequence[tuple[str, int]], baseline: float, width: int = 600, height: int = 160) -> str:
    """Daily incidents as bars, the baseline as a dashed line."""
    pad_l, pad_b, pad_t = 30, 20, 10
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    top = max([n for _, n in activity] + [baseline, 1.0])
    y = lambda v: pad_t + plot_h - plot_h * v / top  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="incidents per day against baseline">',
             f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" stroke="#888"/>',
             f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="10" text-anchor="end">{top:g}</text>',
             f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" font-size="10" text-anchor="end">0</text>']
    if activity:
        bw = plot_w / len(activity)
        for k, (day, n) in enumerate(activity):
            parts.append(f'<rect x="{pad_l + k * bw + 1:.1f}" y="{y(n):.1f}" width="{max(bw - 2, 1):.1f}" '
                         f'height="{pad_t + plot_h - y(n):.1f}" fill="#c0392b"><title>{html.escape(day)}: {n}'
                         f'</title></rect>')
        parts += [f'<text x="{pad_l}" y="{height - 4}" font-size="10">{html.escape(activity[0][0])}</text>',
                  f'<text x="{pad_l + plot_w}" y="{height - 4}" font-size="10" text-anchor="end">'
                  f'{html.escape(activity[-1][0])}</text>']
    parts.append(f'<line x1="{pad_l}" y1="{y(baseline):.1f}" x2="{pad_l + plot_w}" y2="{y(baseline):.1f}" '
                 f'stroke="#2c3e50" stroke-dasharray="5,3"><title>baseline {baseline:.2f}/day</title></line>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = ("body{font-family:sans-serif;max-width:760px;margin:auto;color:#222}"
        ".critical{color:#a00}.warning{color:#c60}.watch{color:#996}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:3px 6px;font-size:90%}"
        "a.ack{display:inline-block;padding:8px 14px;background:#2c3e50;color:#fff;text-decoration:none}")


def render_html(n: Notice) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(n.title)}</title>",
           f"<style>{_CSS}</style></head><body>", f'<h1 class="{e(n.level)}">{e(n.title)}</h1>',
           f"<p>Notice <code>{e(n.notice_id)}</code> for <b>{e(n.receiver)}</b>, {e(n.created_at)}.</p>",
           "<h2>What changed since the last notice</h2><ul>", *[f"<li>{e(c)}</li>" for c in n.changes], "</ul>"]
    for s in n.sections:
        out += [f'<section><h2 class="{e(s.level)}">{e(s.segment_id)} ({e(s.border)}): {e(s.level)}, {e(s.trend)}</h2>',
                *([f"<p class=\"place\">{e(s.name)}</p>"] if s.name else []),
                f"<p>Peak {e(s.peak_level)}; opened {e(s.opened_at)}"
                + (f"; resolved {e(s.resolved_at)}" if s.resolved_at else "") + f".<br>{e(s.summary)}</p>",
                *(["<h3>What deviated from baseline</h3><ul>", *[f"<li>{e(w)}</li>" for w in s.why], "</ul>"]
                  if s.why else []),
                "<h3>Recent activity against baseline</h3>", chart_svg(s.activity, s.baseline),
                f"<p>{e(activity_line(s))}</p>", "<h3>Evidence</h3>"]
        if s.evidence:
            out.append("<table><tr><th>date</th><th>category</th><th>fatalities</th><th>severity</th>"
                       "<th>classification</th><th>incident</th><th>description</th></tr>")
            out += [f"<tr><td>{e(str(i.get('at', ''))[:10])}</td><td>{e(str(i.get('category', '')))}</td>"
                    f"<td>{e(str(i.get('fatalities', 0)))}</td><td>{e(str(i.get('severity', 0)))}</td>"
                    f"<td>{e(str(i.get('classification', 'public')))}</td><td>{e(i['event_id'])}</td>"
                    f"<td>{e(str(i.get('description') or ''))}</td></tr>" for i in s.evidence]
            out.append("</table>")
        else:
            out.append("<p>No evidence incident is released to this receiver.</p>")
        out.append("<h3>Arms transfers to the border pair (SIPRI TIV, millions)</h3><ul>")
        out += [f"<li>{e(pressure_line(*row))}</li>" for row in s.pressure] or ["<li>No deliveries recorded.</li>"]
        out.append("</ul></section>")
    out += [f'<p><a class="ack" href="{e(n.ack_url, quote=True)}">Acknowledge this notice</a></p>',
            f"<p><small>{e(n.ack_url)}</small></p></body></html>"]
    return "\n".join(out)

