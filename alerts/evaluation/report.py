"""The backtest report: one self-contained HTML page, inline SVG, no scripts, no external assets.

Per border, a timeline of the whole period and a close-up of every labelled escalation on it
and every negative control of either of its states:
the detector's score (dots, coloured by the level the policy decided) against the raise
(solid) and clear (dotted) lines of each level, the alerts (bars from opening to resolution,
coloured by peak level), the incidents (ticks, dark red when deadly) and the labelled episodes
(the 60-day early-warning window shaded light, the episode itself darker; negative controls of
either state grey). Hovering a bar or band shows its details (SVG ``<title>``, no JavaScript).
With an evaluation, the tables of the reference figures come first, and every episode is marked
as the reference rules count it (early, timely, late, missed, or not scored) and every negative
control as hit, clean or not evaluable.

Inputs are plain values (dates, tuples, ``alerts.csv`` rows, labels), so the page can be drawn
from any run, a detector's or a field rule's (no scores then); ``streams.backtest`` builds them.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Sequence

from alerts.escalation import LEVELS
from alerts.evaluation.scoring import (
    EARLY_DAYS,
    ESCALATION,
    FIGURE_COLUMNS,
    NEGATIVE_CONTROL,
    Evaluation,
    Label,
    figure_cells,
    opening_day,
)
from detectors.calibration import ReliabilityBin

LEVEL_COLOURS = {"none": "#9aa5b1", "watch": "#d4a017", "warning": "#e8710a", "critical": "#c5221f"}
WIDTH, LEFT, RIGHT = 960, 46, 10
SCORE_H, ALERT_H, INCIDENT_H, AXIS_H, TOP = 96, 14, 30, 16, 14
ZOOM_WIDTH = 460
ZOOM_BEFORE, ZOOM_AFTER = 90, 30

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1000px;color:#1f2933;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #cbd2d9}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #cbd2d9;padding:2px 6px;text-align:right}th{background:#f5f7fa}
td:first-child,th:first-child{text-align:left;white-space:nowrap}
.stats{color:#52606d}.zooms{display:flex;flex-wrap:wrap;gap:8px}.wide{overflow-x:auto}
.legend span{display:inline-block;margin-right:1em}.sw{display:inline-block;width:12px;height:12px;
vertical-align:middle;margin-right:4px;border:1px solid #7b8794}
svg{display:block;margin:4px 0}svg text{font:10px system-ui,sans-serif;fill:#52606d}
"""


@dataclass(frozen=True)
class Threshold:
    level: str
    raise_at: float
    clear_below: float


def render_report(*, title: str, period: tuple[date, date], incidents: Iterable[tuple[str, date, int]],
                  trace: Iterable[tuple[str, date, float, int]], alert_rows: Sequence[dict],
                  labels: Sequence[Label] = (), evaluation: Evaluation | None = None,
                  thresholds: Sequence[Threshold] = (), borders: Sequence[str] | None = None,
                  notes: Sequence[str] = (), reliability: Sequence[ReliabilityBin] = ()) -> str:
    """The page as a string.

    ``incidents``: (border, day, fatalities) per incident; ``trace``: (border, day, score, level
    index) per scoring (none for a field rule); ``borders``: which to draw (default: every border
    with data or an escalation label), in that order.
    """
    days: dict[str, dict[date, list[int]]] = defaultdict(dict)  # border -> day -> [count, deaths]
    for border, d, deaths in incidents:
        cell = days[border].setdefault(d, [0, 0])
        cell[0] += 1
        cell[1] += deaths
    scores: dict[str, dict[date, tuple[float, int]]] = defaultdict(dict)  # border -> day -> (max score, level)
    for border, d, score, level in trace:
        cur = scores[border].get(d, (0.0, 0))
        scores[border][d] = (max(score, cur[0]), max(level, cur[1]))
    alerts_by: dict[str, list[dict]] = defaultdict(list)
    for a in alert_rows:
        alerts_by[a["border"]].append(a)
    outcome = _marks(evaluation) if evaluation else {}
    if borders is None:
        borders = sorted(set(days) | {lab.border for lab in labels if lab.kind == ESCALATION})
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
             f"<p class=stats>Data {period[0]} to {period[1]}.</p>"]
    parts.extend(f"<p>{_e(n)}</p>" for n in notes)
    parts.append(_legend(thresholds))
    if evaluation is not None:
        parts.append(_summary_tables(evaluation, borders))
    if reliability:
        parts.append("<h2>Reliability of the forecast</h2><p class=stats>Each dot: the incident days whose forecast "
                     "chance of a deadly clash within 60 days fell in one band, at the band's mean forecast (x) "
                     "against the share of them an onset really followed (y), with its 90 % interval; on the "
                     "diagonal the forecast means what it says. Dot area grows with the number of days.</p>"
                     + reliability_svg(reliability) + reliability_table(reliability))
    for border in borders:
        esc = [lab for lab in labels if lab.border == border and lab.kind == ESCALATION]
        controls = [lab for lab in labels if lab.kind == NEGATIVE_CONTROL and _touches(lab.border, border)]
        covered = [lab for lab in esc if period[0] <= lab.start <= period[1]]
        starts = [min(days[border], default=period[0])]
        starts += [lab.start - timedelta(days=EARLY_DAYS) for lab in covered]
        # the view runs on past the data while the border's last alert winds down
        ends = [period[1]] + [opening_day(a["resolved_at"]) for a in alerts_by[border] if a.get("resolved_at")]
        lo, hi = max(min(starts), period[0] - timedelta(days=EARLY_DAYS)), max(ends)
        view = _View(days[border], scores[border], alerts_by[border], esc + controls, outcome, thresholds)
        parts.append(f"<section><h2>{_e(border)}</h2>")
        if evaluation is not None and border in evaluation.borders:
            parts.append(f"<p class=stats>{_e(_stats_line(evaluation, border))}</p>")
        parts.append(view.svg(lo, hi, WIDTH, f"{border}, {lo} to {hi}"))
        zooms = [lab for lab in esc + controls if period[0] <= lab.start <= period[1]]
        if zooms:
            parts.append("<div class=zooms>")
            for lab in zooms:
                before = ZOOM_BEFORE if lab.kind == ESCALATION else ZOOM_AFTER
                z_lo = lab.start - timedelta(days=before)
                z_hi = lab.end + timedelta(days=ZOOM_AFTER)
                parts.append(view.svg(z_lo, z_hi, ZOOM_WIDTH, _episode_caption(lab, outcome.get(lab.episode_id))))
            parts.append("</div>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def reliability_svg(bins: Sequence[ReliabilityBin], size: int = 320) -> str:
    """Predicted against observed frequency, both axes 0 to the largest value seen (rounded up)."""
    top = max([0.1] + [b.observed_hi for b in bins] + [b.predicted for b in bins])
    top = min(1.0, -(-top * 10 // 1) / 10)
    pad, inner = 40, size - 50

    def x(p: float) -> float:
        return pad + inner * p / top

    def y(p: float) -> float:
        return 10 + inner - inner * p / top

    most = max(b.n for b in bins)
    out = [f'<svg width="{size}" height="{size}" role="img" aria-label="reliability diagram">',
           f'<rect x="{pad}" y="10" width="{inner}" height="{inner}" fill="#f5f7fa" stroke="#cbd2d9"/>',
           f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(top)}" y2="{y(top)}" stroke="#9aa5b1" stroke-dasharray="4 3"/>']
    for k in range(0, 6):
        v = top * k / 5
        out.append(f'<text x="{x(v):.1f}" y="{size - 22}" text-anchor="middle">{v:.0%}</text>')
        out.append(f'<text x="{pad - 4}" y="{y(v) + 3:.1f}" text-anchor="end">{v:.0%}</text>')
    out.append(f'<text x="{pad + inner / 2}" y="{size - 6}" text-anchor="middle">forecast chance</text>')
    out.append(f'<text x="12" y="{10 + inner / 2}" text-anchor="middle" transform="rotate(-90 12 {10 + inner / 2})">'
               f'observed frequency</text>')
    for b in bins:
        r = 2.5 + 6.0 * (b.n / most) ** 0.5
        tip = (f"{b.lo:.1%} to {b.hi:.1%}: {b.n} days, forecast {b.predicted:.1%}, observed {b.observed:.1%} "
               f"(90 % interval {b.observed_lo:.1%} to {b.observed_hi:.1%})")
        out.append(f'<line x1="{x(b.predicted):.1f}" y1="{y(b.observed_lo):.1f}" x2="{x(b.predicted):.1f}" '
                   f'y2="{y(b.observed_hi):.1f}" stroke="#52606d"/>')
        out.append(f'<circle cx="{x(b.predicted):.1f}" cy="{y(b.observed):.1f}" r="{r:.1f}" fill="#1f6feb" '
                   f'fill-opacity=".7"><title>{_e(tip)}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def reliability_table(bins: Sequence[ReliabilityBin]) -> str:
    rows = "".join(f"<tr><td>{b.lo:.1%} to {b.hi:.1%}</td><td>{b.n}</td><td>{b.predicted:.1%}</td>"
                   f"<td>{b.observed:.1%}</td><td>{b.observed_lo:.1%} to {b.observed_hi:.1%}</td></tr>" for b in bins)
    return ("<table><tr><th>forecast band</th><th>incident days</th><th>mean forecast</th><th>observed</th>"
            f"<th>90 % interval</th></tr>{rows}</table>")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _legend(thresholds: Sequence[Threshold]) -> str:
    items = [f"<span><i class=sw style='background:{LEVEL_COLOURS[t.level]}'></i>{t.level}: raise at {t.raise_at:g}, "
             f"clear below {t.clear_below:g}</span>" for t in thresholds]
    items += ["<span><i class=sw style='background:#dbeafe'></i>early-warning window (60 days)</span>",
              "<span><i class=sw style='background:#93c5fd'></i>labelled escalation</span>",
              "<span><i class=sw style='background:#bcc3cb'></i>negative control</span>",
              "<span><i class=sw style='background:#7f1d1d'></i>deadly incident day</span>"]
    return "<p class=legend>" + "".join(items) + "</p>"


def _cell(v) -> str:
    return "–" if v is None else f"{v:g}" if isinstance(v, float) else _e(v)


def _touches(state_or_pair: str, border: str) -> bool:
    return set(state_or_pair.split("-")) <= set(border.split("-"))


def _marks(ev: Evaluation) -> dict[str, str]:
    """Episode or control id -> how the reference rules count it, e.g. ``early, lead 12 d``."""
    marks = {e.episode_id: e.status + (f", lead {e.lead_days} d" if e.lead_days is not None else "")
             for e in ev.episodes}
    marks.update((x.episode_id, "not scored (onset outside the data span)" if x.reason == "onset_out_of_span"
                  else "not scored (border out of scope)") for x in ev.not_scored)
    marks.update((c.episode_id, f"hit by {', '.join(c.hit_by)}" if c.hit else "clean" if c.evaluable
                  else "not evaluable (outside the data)") for c in ev.controls)
    return marks


def _summary_tables(ev: Evaluation, borders: Sequence[str]) -> str:
    head = "<tr><th></th>" + "".join(f"<th>{_e(label)}</th>" for _, label in FIGURE_COLUMNS) + "</tr>"
    keys = ["overall"] + [b for b in sorted(ev.borders) if b in borders]
    rows = []
    for key in keys:
        cells = figure_cells(ev.figures(None if key == "overall" else key))
        rows.append(f"<tr><td>{_e(key)}</td>" + "".join(f"<td>{_cell(v)}</td>" for v in cells) + "</tr>")
    eps = "".join(f"<tr><td>{_e(e.episode_id)}</td><td>{_e(e.border)}</td><td>{e.onset}</td><td>{_e(e.status)}</td>"
                  f"<td>{_cell(e.lead_days)}</td><td>{_cell(e.alert_id)}</td></tr>" for e in ev.episodes)
    eps += "".join(f"<tr><td>{_e(x.episode_id)}</td><td>{_e(x.border)}</td><td>{x.onset}</td>"
                   f"<td>not scored</td><td>–</td><td>–</td></tr>" for x in ev.not_scored)
    controls = "".join(f"<tr><td>{_e(c.episode_id)}</td><td>{_e(c.border)}</td><td>{c.start}</td><td>{c.end}</td>"
                       f"<td>{'hit' if c.hit else 'clean' if c.evaluable else 'not evaluable'}</td>"
                       f"<td>{_e(', '.join(c.hit_by)) or '–'}</td></tr>" for c in ev.controls)
    out = (f"<h2>Results</h2><div class=wide><table>{head}{''.join(rows)}</table></div>"
           "<table><tr><th>episode</th><th>border</th><th>onset</th><th>status</th><th>lead (d)</th>"
           f"<th>deciding alert</th></tr>{eps}</table>")
    if controls:
        out += ("<table><tr><th>negative control</th><th>state</th><th>start</th><th>end</th><th>status</th>"
                f"<th>hit by</th></tr>{controls}</table>")
    return out


def _stats_line(ev: Evaluation, border: str) -> str:
    f = ev.figures(border)
    bits = [f"{f.episodes} episodes: {f.early} early, {f.timely} timely, {f.late} late, {f.missed} missed"]
    if f.median_lead_days is not None:
        bits.append(f"median lead {f.median_lead_days:g} d")
    bits.append(f"{f.alerts} alerts in {f.groups} groups, {f.false_alarms} false alarms "
                f"({f.false_alarms_per_border_year:.2f} per border-year)")
    if f.nab_standard is not None:
        bits.append(f"NAB standard {f.nab_standard:.1f}")
    return "; ".join(bits)


def _episode_caption(lab: Label, mark: str | None) -> str:
    text = f"{lab.episode_id} ({lab.start} to {lab.end})"
    return f"{text}: {mark}" if mark else text


@dataclass
class _View:
    days: dict[date, list[int]]
    scores: dict[date, tuple[float, int]]
    alerts: list[dict]
    episodes: list[Label]
    #: episode or control id -> its mark
    outcome: dict[str, str]
    thresholds: Sequence[Threshold]

    def svg(self, lo: date, hi: date, width: int, caption: str) -> str:
        span = max((hi - lo).days, 1)
        plot_w = width - LEFT - RIGHT
        score_y0 = TOP
        alert_y0 = score_y0 + SCORE_H + 4
        inc_y0 = alert_y0 + ALERT_H + 4
        axis_y0 = inc_y0 + INCIDENT_H
        height = axis_y0 + AXIS_H

        def x(d: date) -> float:
            return LEFT + (d - lo).days / span * plot_w

        def sy(score: float) -> float:
            return score_y0 + (1.0 - min(max(score, 0.0), 1.0)) * SCORE_H

        out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
               f"viewBox='0 0 {width} {height}' role='img'><title>{_e(caption)}</title>",
               f"<text x='{LEFT}' y='10'>{_e(caption)}</text>"]
        for lab in self.episodes:  # bands behind everything
            start, end = lab.start, lab.end
            if end < lo or start - timedelta(days=EARLY_DAYS) > hi:
                continue
            tip = f"{lab.episode_id} {lab.kind} {start} to {end}"
            if lab.episode_id in self.outcome:
                tip += f": {self.outcome[lab.episode_id]}"
            if lab.kind == ESCALATION:
                out.append(self._band(x, lo, hi, start - timedelta(days=EARLY_DAYS), start, "#dbeafe", height, tip))
                out.append(self._band(x, lo, hi, start, end + timedelta(days=1), "#93c5fd", height, tip))
            else:
                out.append(self._band(x, lo, hi, start, end + timedelta(days=1), "#bcc3cb", height, tip, min_width=3))
        out.append(f"<rect x='{LEFT}' y='{score_y0}' width='{plot_w}' height='{SCORE_H}' fill='none' "
                   "stroke='#cbd2d9'/>")
        for v in (0.0, 0.5, 1.0):
            out.append(f"<text x='{LEFT - 4}' y='{sy(v) + 3:.1f}' text-anchor='end'>{v:g}</text>")
        for t in self.thresholds:
            c = LEVEL_COLOURS[t.level]
            out.append(f"<line x1='{LEFT}' x2='{LEFT + plot_w}' y1='{sy(t.raise_at):.1f}' y2='{sy(t.raise_at):.1f}' "
                       f"stroke='{c}' stroke-width='.8'/>")
            out.append(f"<line x1='{LEFT}' x2='{LEFT + plot_w}' y1='{sy(t.clear_below):.1f}' y2='{sy(t.clear_below):.1f}' "
                       f"stroke='{c}' stroke-width='.6' stroke-dasharray='2 3'/>")
        by_level: dict[int, list[str]] = defaultdict(list)
        for d, (score, level) in sorted(self.scores.items()):
            if lo <= d <= hi:
                by_level[level].append(f"M{x(d):.1f} {sy(score):.1f}h0")
        for level, pts in sorted(by_level.items()):
            out.append(f"<path d='{''.join(pts)}' stroke='{LEVEL_COLOURS[LEVELS[level]]}' stroke-width='4' "
                       f"stroke-linecap='round' fill='none'/>")
        out.append(f"<text x='{LEFT - 4}' y='{alert_y0 + ALERT_H - 3}' text-anchor='end'>alerts</text>")
        for a in self.alerts:
            opened = opening_day(a["opened_at"])
            closed = opening_day(a["resolved_at"]) if a.get("resolved_at") else hi
            if closed < lo or opened > hi:
                continue
            x0, x1 = x(max(opened, lo)), x(min(closed, hi) + timedelta(days=1))
            out.append(f"<rect x='{x0:.1f}' y='{alert_y0}' width='{max(x1 - x0, 2):.1f}' height='{ALERT_H}' "
                       f"fill='{LEVEL_COLOURS.get(a['level'], '#9aa5b1')}'><title>{_e(a['alert_id'])} {_e(a['level'])} "
                       f"{_e(a['opened_at'])} to {_e(a.get('resolved_at') or 'open')}: {_e(a.get('summary', ''))}"
                       f"</title></rect>")
        out.append(f"<text x='{LEFT - 4}' y='{inc_y0 + INCIDENT_H - 3}' text-anchor='end'>events</text>")
        ticks = {False: [], True: []}
        for d, (count, deaths) in sorted(self.days.items()):
            if lo <= d <= hi:
                h = min(INCIDENT_H, 6 + 6 * count.bit_length())
                ticks[deaths > 0].append(f"M{x(d):.1f} {inc_y0 + INCIDENT_H}v-{h}")
        for deadly, colour in ((False, "#7b8794"), (True, "#7f1d1d")):
            if ticks[deadly]:
                out.append(f"<path d='{''.join(ticks[deadly])}' stroke='{colour}' stroke-width='1.5' fill='none'/>")
        out.append(f"<line x1='{LEFT}' x2='{LEFT + plot_w}' y1='{axis_y0}' y2='{axis_y0}' stroke='#7b8794'/>")
        for d, label in _ticks(lo, hi, max(2, plot_w // 70)):
            out.append(f"<line x1='{x(d):.1f}' x2='{x(d):.1f}' y1='{axis_y0}' y2='{axis_y0 + 3}' stroke='#7b8794'/>"
                       f"<text x='{x(d):.1f}' y='{axis_y0 + 13}' text-anchor='middle'>{label}</text>")
        out.append("</svg>")
        return "".join(out)

    @staticmethod
    def _band(x, lo: date, hi: date, start: date, end: date, fill: str, height: int, tip: str,
              min_width: float = 1.5) -> str:
        a, b = x(max(start, lo)), x(min(end, hi + timedelta(days=1)))
        return (f"<rect x='{a:.1f}' y='{TOP}' width='{max(b - a, min_width):.1f}' height='{height - TOP - AXIS_H}' "
                f"fill='{fill}'><title>{_e(tip)}</title></rect>")


def _ticks(lo: date, hi: date, most: int) -> list[tuple[date, str]]:
    """Axis ticks on year (or month) boundaries, at most ``most`` of them."""
    years = hi.year - lo.year
    if years >= 2:
        step = next(s for s in (1, 2, 5, 10, 20, 50) if years / s <= most)
        return [(date(y, 1, 1), str(y)) for y in range(lo.year + 1, hi.year + 1) if y % step == 0]
    months = [date(y, m, 1) for y in range(lo.year, hi.year + 1) for m in range(1, 13) if lo < date(y, m, 1) <= hi]
    step = max(1, -(-len(months) // most))
    return [(d, d.strftime("%b %Y" if d.month == 1 or i == 0 else "%b")) for i, d in enumerate(months[::step])]
