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
This module lays the page out as plain data (positions, path data, the words); the templates in
``templates/`` (Jinja2, autoescaped) draw it, with the style sheet ``report.css`` inlined.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Sequence

import jinja2

from alerts.escalation import LEVELS
from alerts.evaluation.scoring import (
    EARLY_DAYS,
    ESCALATION,
    FIGURE_COLUMNS,
    NEGATIVE_CONTROL,
    Evaluation,
    Label,
    NotScored,
    figure_cells,
    figure_text,
    opening_day,
    touches,
)
from detectors.calibration import ReliabilityBin

LEVEL_COLOURS = {"none": "#9aa5b1", "watch": "#d4a017", "warning": "#e8710a", "critical": "#c5221f"}
WIDTH, LEFT, RIGHT = 960, 46, 10
SCORE_H, ALERT_H, INCIDENT_H, AXIS_H, TOP = 96, 14, 30, 16, 14
ZOOM_WIDTH = 460
ZOOM_BEFORE, ZOOM_AFTER = 90, 30
#: Tick steps of the reliability diagram's axes, finest first (the top is 10 % or more).
RELIABILITY_STEPS = (0.02, 0.05, 0.1, 0.2)
#: The legend's swatches beside the levels' colours: the label bands and the deadly days' ticks.
WINDOW_FILL, EPISODE_FILL, CONTROL_FILL = "#dbeafe", "#93c5fd", "#bcc3cb"
TICK_COLOURS = {False: "#7b8794", True: "#7f1d1d"}


@dataclass(frozen=True)
class Threshold:
    level: str
    raise_at: float
    clear_below: float


@functools.cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("alerts.evaluation", "templates"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


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
    page = report_layout(title=title, period=period, incidents=incidents, trace=trace, alert_rows=alert_rows,
                         labels=labels, evaluation=evaluation, thresholds=thresholds, borders=borders, notes=notes,
                         reliability=reliability)
    return templates().get_template("report.html.j2").render(r=page)


def report_layout(*, title: str, period: tuple[date, date], incidents: Iterable[tuple[str, date, int]],
                  trace: Iterable[tuple[str, date, float, int]], alert_rows: Sequence[dict],
                  labels: Sequence[Label] = (), evaluation: Evaluation | None = None,
                  thresholds: Sequence[Threshold] = (), borders: Sequence[str] | None = None,
                  notes: Sequence[str] = (), reliability: Sequence[ReliabilityBin] = ()) -> dict:
    """What :func:`render_report` draws, as plain data."""
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
    sections = []
    for border in borders:
        esc = [lab for lab in labels if lab.border == border and lab.kind == ESCALATION]
        controls = [lab for lab in labels if lab.kind == NEGATIVE_CONTROL and touches(lab.border, border)]
        covered = [lab for lab in esc if period[0] <= lab.start <= period[1]]
        starts = [min(days[border], default=period[0])]
        starts += [lab.start - timedelta(days=EARLY_DAYS) for lab in covered]
        # the view runs on past the data while the border's last alert winds down
        ends = [period[1]] + [opening_day(a["resolved_at"]) for a in alerts_by[border] if a.get("resolved_at")]
        lo, hi = max(min(starts), period[0] - timedelta(days=EARLY_DAYS)), max(ends)
        view = _View(days[border], scores[border], alerts_by[border], esc + controls, outcome, thresholds)
        zooms = []
        for lab in esc + controls:
            if period[0] <= lab.start <= period[1]:
                before = ZOOM_BEFORE if lab.kind == ESCALATION else ZOOM_AFTER
                zooms.append(view.layout(lab.start - timedelta(days=before), lab.end + timedelta(days=ZOOM_AFTER),
                                         ZOOM_WIDTH, _episode_caption(lab, outcome.get(lab.episode_id))))
        sections.append({"border": border,
                         "stats": _stats_line(evaluation, border)
                         if evaluation is not None and border in evaluation.borders else None,
                         "timeline": view.layout(lo, hi, WIDTH, f"{border}, {lo} to {hi}"), "zooms": zooms})
    return {"title": title, "period": [str(d) for d in period], "notes": list(notes), "legend": _legend(thresholds),
            "results": _results(evaluation, borders) if evaluation is not None else None,
            "reliability": reliability_layout(reliability) if reliability else None, "borders": sections}


def reliability_layout(bins: Sequence[ReliabilityBin], size: int = 320) -> dict:
    """The reliability diagram and its table: predicted against observed frequency, both axes 0 to
    the largest value seen, rounded up to a tick."""
    seen = max([0.1] + [b.observed_hi for b in bins] + [b.predicted for b in bins])
    # round steps, at most five of them: a fifth of the top (16 %, 32 %, 48 % for 80 %) matched
    # neither the bands' edges nor anything a reader counts in
    step = next(s for s in RELIABILITY_STEPS if math.ceil(seen / s - 1e-9) <= 5)
    top = min(1.0, step * math.ceil(seen / step - 1e-9))
    pad, inner = 40, size - 50

    def x(p: float) -> float:
        return pad + inner * p / top

    def y(p: float) -> float:
        return 10 + inner - inner * p / top

    most = max(b.n for b in bins)
    axis_ticks = [{"text": f"{v:.0%}", "x": f"{x(v):.1f}", "y": f"{y(v) + 3:.1f}", "anchor": _anchor(x(v), f"{v:.0%}", size)}
                  for v in (step * k for k in range(round(top / step) + 1))]
    dots = []
    for b in bins:
        dots.append({"x": f"{x(b.predicted):.1f}", "y": f"{y(b.observed):.1f}", "lo": f"{y(b.observed_lo):.1f}",
                     "hi": f"{y(b.observed_hi):.1f}", "r": f"{2.5 + 6.0 * (b.n / most) ** 0.5:.1f}",
                     "tip": f"{b.lo:.1%} to {b.hi:.1%}: {b.n} days, forecast {b.predicted:.1%}, observed "
                            f"{b.observed:.1%} (90 % interval {b.observed_lo:.1%} to {b.observed_hi:.1%})"})
    rows = [[f"{b.lo:.1%} to {b.hi:.1%}", b.n, f"{b.predicted:.1%}", f"{b.observed:.1%}",
             f"{b.observed_lo:.1%} to {b.observed_hi:.1%}"] for b in bins]
    return {"size": size, "pad": pad, "inner": inner, "diagonal": [x(0), y(0), x(top), y(top)],
            "x_ticks_y": size - 22, "y_ticks_x": pad - 4, "axis_ticks": axis_ticks,
            "x_label": {"x": pad + inner / 2, "y": size - 6}, "y_label": {"x": 12, "y": 10 + inner / 2},
            "dots": dots, "rows": rows}


def _legend(thresholds: Sequence[Threshold]) -> list[dict]:
    return ([{"colour": LEVEL_COLOURS[t.level],
              "text": f"{t.level}: raise at {t.raise_at:g}, clear below {t.clear_below:g}"} for t in thresholds]
            + [{"colour": WINDOW_FILL, "text": f"early-warning window ({EARLY_DAYS} days)"},
               {"colour": EPISODE_FILL, "text": "labelled escalation"},
               {"colour": CONTROL_FILL, "text": "negative control"},
               {"colour": TICK_COLOURS[True], "text": "deadly incident day"}])


def _cell(v) -> str:
    return "–" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def _marks(ev: Evaluation) -> dict[str, str]:
    """Episode or control id -> how the reference rules count it, e.g. ``early, lead 12 d``."""
    marks = {e.episode_id: e.status + (f", lead {e.lead_days} d" if e.lead_days is not None else "")
             for e in ev.episodes}
    marks.update((x.episode_id, _not_scored(x)) for x in ev.not_scored)
    marks.update((c.episode_id, f"hit by {', '.join(c.hit_by)}" if c.hit else "clean" if c.evaluable
                  else "not evaluable (outside the data)") for c in ev.controls)
    return marks


def _not_scored(x: NotScored) -> str:
    return ("not scored (onset outside the data span)" if x.reason == "onset_out_of_span"
            else "not scored (border out of scope)")


def _results(ev: Evaluation, borders: Sequence[str]) -> dict:
    """The tables of the reference figures: per border and overall, per episode, per control."""
    keys = ["overall"] + [b for b in sorted(ev.borders) if b in borders]
    figures = [[key] + [figure_text(column, v) for (column, _), v
                        in zip(FIGURE_COLUMNS, figure_cells(ev.figures(None if key == "overall" else key)))]
               for key in keys]
    episodes = [[e.episode_id, e.border, str(e.onset), e.status, _cell(e.lead_days), _cell(e.alert_id)]
                for e in ev.episodes]
    # the table says why, as the CLI's summary counts it: an onset after the data ends reads otherwise
    # like a scorer's omission
    episodes += [[x.episode_id, x.border, str(x.onset), _not_scored(x), "–", "–"] for x in ev.not_scored]
    controls = [[c.episode_id, c.border, str(c.start), str(c.end),
                 "hit" if c.hit else "clean" if c.evaluable else "not evaluable", ", ".join(c.hit_by) or "–"]
                for c in ev.controls]
    return {"columns": [label for _, label in FIGURE_COLUMNS], "figures": figures, "episodes": episodes,
            "controls": controls}


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

    def layout(self, lo: date, hi: date, width: int, caption: str) -> dict:
        """One timeline from ``lo`` to ``hi`` (days), ``width`` pixels wide, as plain data."""
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

        def band(start: date, end: date, fill: str, tip: str, min_width: float = 1.5) -> dict:
            a, b = x(max(start, lo)), x(min(end, hi + timedelta(days=1)))
            return {"x": f"{a:.1f}", "width": f"{max(b - a, min_width):.1f}", "fill": fill, "tip": tip}

        bands = []
        for lab in self.episodes:  # bands behind everything
            start, end = lab.start, lab.end
            if end < lo or start - timedelta(days=EARLY_DAYS) > hi:
                continue
            tip = f"{lab.episode_id} {lab.kind} {start} to {end}"
            if lab.episode_id in self.outcome:
                tip += f": {self.outcome[lab.episode_id]}"
            if lab.kind == ESCALATION:
                bands.append(band(start - timedelta(days=EARLY_DAYS), start, WINDOW_FILL, tip))
                bands.append(band(start, end + timedelta(days=1), EPISODE_FILL, tip))
            else:
                bands.append(band(start, end + timedelta(days=1), CONTROL_FILL, tip, min_width=3))
        thresholds = [{"colour": LEVEL_COLOURS[t.level], "raise_y": f"{sy(t.raise_at):.1f}",
                       "clear_y": f"{sy(t.clear_below):.1f}"} for t in self.thresholds]
        by_level: dict[int, list[str]] = defaultdict(list)
        for d, (score, level) in sorted(self.scores.items()):
            if lo <= d <= hi:
                by_level[level].append(f"M{x(d):.1f} {sy(score):.1f}h0")
        dots = [{"d": "".join(pts), "colour": LEVEL_COLOURS[LEVELS[level]]} for level, pts in sorted(by_level.items())]
        alerts = []
        for a in self.alerts:
            opened = opening_day(a["opened_at"])
            closed = opening_day(a["resolved_at"]) if a.get("resolved_at") else hi
            if closed < lo or opened > hi:
                continue
            x0, x1 = x(max(opened, lo)), x(min(closed, hi) + timedelta(days=1))
            alerts.append({"x": f"{x0:.1f}", "width": f"{max(x1 - x0, 2):.1f}",
                           "fill": LEVEL_COLOURS.get(a["level"], LEVEL_COLOURS["none"]),
                           "tip": f"{a['alert_id']} {a['level']} {a['opened_at']} to "
                                  f"{a.get('resolved_at') or 'open'}: {a.get('summary', '')}"})
        ticks: dict[bool, list[str]] = {False: [], True: []}
        for d, (count, deaths) in sorted(self.days.items()):
            if lo <= d <= hi:
                h = min(INCIDENT_H, 6 + 6 * count.bit_length())
                ticks[deaths > 0].append(f"M{x(d):.1f} {inc_y0 + INCIDENT_H}v-{h}")
        return {"width": width, "height": height, "caption": caption, "left": LEFT, "right": LEFT + plot_w,
                "label_x": LEFT - 4, "bands": bands, "band_y": TOP, "band_h": height - TOP - AXIS_H,
                "score": {"y": score_y0, "w": plot_w, "h": SCORE_H},
                "score_labels": [{"y": f"{sy(v) + 3:.1f}", "text": f"{v:g}"} for v in (0.0, 0.5, 1.0)],
                "thresholds": thresholds, "dots": dots,
                "alert_y": alert_y0, "alert_h": ALERT_H, "alert_label_y": alert_y0 + ALERT_H - 3, "alerts": alerts,
                "event_label_y": inc_y0 + INCIDENT_H - 3,
                "ticks": [{"d": "".join(ticks[deadly]), "colour": TICK_COLOURS[deadly]}
                          for deadly in (False, True) if ticks[deadly]],
                "axis_y": axis_y0, "axis_tick_y": axis_y0 + 3, "axis_text_y": axis_y0 + 13,
                "axis_colour": TICK_COLOURS[False],
                "axis_ticks": [{"x": f"{x(d):.1f}", "text": label, "anchor": _anchor(x(d), label, width)}
                               for d, label in _ticks(lo, hi, max(2, plot_w // 70))]}


#: Width of a character of the axis labels (10 px type, report.css), a little generous.
AXIS_CHAR_W = 6.0


def _anchor(x: float, text: str, width: float) -> str:
    """A tick's label is centred on it unless that would run off the drawing (a month tick on the
    last day of a short span read 'Jul 196', the reliability diagram's 100 % read '100')."""
    half = AXIS_CHAR_W * len(text) / 2
    return "start" if x - half < 0 else "end" if x + half > width else "middle"


def _ticks(lo: date, hi: date, most: int) -> list[tuple[date, str]]:
    """Axis ticks on year (or month) boundaries, at most ``most`` of them."""
    years = hi.year - lo.year
    if years >= 2:
        step = next(s for s in (1, 2, 5, 10, 20, 50) if years / s <= most)
        return [(date(y, 1, 1), str(y)) for y in range(lo.year + 1, hi.year + 1) if y % step == 0]
    months = [date(y, m, 1) for y in range(lo.year, hi.year + 1) for m in range(1, 13) if lo < date(y, m, 1) <= hi]
    step = max(1, -(-len(months) // most))
    return [(d, d.strftime("%b %Y" if d.month == 1 or i == 0 else "%b")) for i, d in enumerate(months[::step])]
