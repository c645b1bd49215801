"""Score alert openings against labelled escalation episodes, by the field's reference rules.

These are exactly the rules of the field's reference scorer, ``score_alerts.py`` of the shared
reference evaluation (vendored verbatim in ``tests/reference_eval/``; the tests hold this module
to it episode by episode on the 18-border development set). Everything is at day resolution: an
alert's day is the UTC date of its ``opened_at``, and lead = onset - that day.

* Only openings count (alerts.csv has one row per opening), at ``watch`` or above, on a border in
  scope and on a day inside that border's data span; the rest are ignored (and counted).
* An escalation episode is scored when its border is in scope and its onset lies inside the
  border's span; otherwise it is *not scored*. A scored episode is

  - ``early``: the first alert in [onset - 60 d, onset - 1 d] (lead 1..60). The window starts no
    earlier than the day after the previous episode of the border ended, so an alert raised
    during one episode never counts as a warning of the next;
  - ``timely``: an alert in [onset, onset + 3 d] (and not before that window start). A same-day
    alert is timely, not early: event times of day are unknown, so it cannot be told apart from
    a reaction to the onset event;
  - ``late``: the first alert in (onset + 3 d, end]; ``missed`` otherwise.

  recall = (early + timely) / episodes; early rate = early / episodes; the median lead is over
  the early episodes (``median_lead_warned_days``: over early and timely ones).
* Alert groups: per border, in day order, a group starts at an alert and takes in every later
  alert opened within 7 days of the group's first, so a non-stop alerter still makes about 52
  groups a year. A group is *true* if one of its alerts lies in a window [onset - 60 d, end] of
  any escalation label of its border (scored or not); otherwise it is a false alarm, unless it
  hits a negative control.
* Negative controls (``border`` = one state, or a pair): a control is hit by a group that is not
  true, on an in-scope border touching it (containing that state, or equal to that pair), with an
  alert opened inside the control. Each hit control is ONE false alarm, and the groups that hit it
  are not counted again. A control that no touching border's span overlaps is not evaluable.
* false alarms per border-year = all false alarms / border-years, where border-years = the sum
  over in-scope borders of (span days + 1) / 365.25; precision = true groups / (true groups + all
  false alarms). A border's own figures leave the controls out.
* Scope: the borders given, else the borders of the escalation labels and every border with
  incidents. A border's span runs from its first incident to the coverage end (by default the
  last incident of the input): see :func:`data_spans`.

One figure is the project's own, beside the reference's: an early-weighted score in the manner
of the Numenta Anomaly Benchmark (Lavin & Ahmad 2015), in days, on the same windows. Per border
the scored episodes' windows [onset - 60 d, end] are merged where they overlap and scored with
the scaled sigmoid ``s(y) = 2 / (1 + exp(5 y)) - 1`` (-1 for y > 3): the first alert in a window
of W days, k days before its last day, earns ``A_tp * s(-(k + 1) / W) / s(-1)`` (1 on the
window's first day); a window without one costs ``A_fn``; an alert outside every escalation
window costs ``A_fp * s(d / (W_prev - 1))``, d days after the previous window ended (``A_fp``
with no window before it). Normalised as ``100 * (raw - null) / (perfect - null)``: 0 is silence,
100 an alert on every window's first day. Profiles (NAB's cost matrices): standard (A_tp 1, A_fp
0.11, A_fn 1), low_fp (A_fp 0.22), low_fn (A_fn 2).

Pure functions over ``alerts.csv`` rows and labels rows (as ``csv.DictReader`` gives them).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Iterable, Mapping, Sequence

from borderwatch.errors import BorderwatchError
from alerts.borders import normalise_border, states_of
from alerts.escalation import LEVEL_INDEX
from alerts.timefmt import parse_iso
from detectors.nab import MAX_TP, NAB_PROFILES, NabTally, scaled_sigmoid

EARLY_DAYS = 60
TIMELY_DAYS = 3
GROUP_DAYS = 7
#: An episode with at least this many deaths (sum of minimum estimates) is major, unless its label says.
MAJOR_DEATHS = 25
MIN_LEVEL = "watch"
DAYS_PER_YEAR = 365.25
ESCALATION, NEGATIVE_CONTROL = "escalation", "negative_control"
#: Episode statuses, best first: an episode takes the best status any alert gives it.
STATUSES = ("early", "timely", "late", "missed")
_RANK = {status: i for i, status in enumerate(STATUSES)}


class ScoringInputError(BorderwatchError, ValueError):
    """Input the scorer cannot use. ``source`` says where it came from: ``labels`` or ``alerts``
    (``row``: the 1-based position among their data rows), ``scope`` (a border asked for),
    ``coverage`` (the coverage end) or ``input`` (the incidents)."""

    def __init__(self, source: str, row: int | None, field: str | None, reason: str) -> None:
        self.source, self.row, self.field, self.reason = source, row, field, reason
        where = f"{source} row {row}: " if row is not None else ""
        super().__init__(f"{where}{field}: {reason}" if field else f"{where}{reason}")


# --------------------------------------------------------------------------- inputs

@dataclass(frozen=True)
class Label:
    episode_id: str
    border: str
    start: date
    end: date
    kind: str
    major: bool = False
    #: 1-based position among the labels file's data rows (the line is row + 1)
    row: int = 0


@dataclass(frozen=True)
class Opening:
    """One alerts.csv row as the scorer sees it."""

    alert_id: str
    border: str
    level: int
    day: date
    #: 1-based position among the alert rows: breaks ties between openings of one day
    row: int


def labels_from_rows(rows: Sequence[Mapping[str, str]]) -> list[Label]:
    """Labels rows (``episode_id,border,start,end,kind[,major][,fatalities_reported]``) -> labels.

    ``major`` is the ``major`` column (1, true or yes) where the file has it, else
    ``fatalities_reported >= MAJOR_DEATHS``. The rows are expected to have passed the reader's
    checks (``streams.labels.read_labels``); a date that still does not parse raises
    :class:`ScoringInputError` naming the row and column.
    """
    out = []
    for row, r in enumerate(rows, 1):
        days = {}
        for col in ("start", "end"):
            try:
                days[col] = date.fromisoformat(r[col].strip())
            except (ValueError, AttributeError):
                raise ScoringInputError("labels", row, col, f"{r.get(col)!r} is not a date (YYYY-MM-DD)") from None
        flag = (r.get("major") or "").strip().lower()
        if flag:
            major = flag in ("1", "true", "yes")
        else:
            try:
                major = float(r.get("fatalities_reported") or "") >= MAJOR_DEATHS
            except ValueError:
                major = False
        out.append(Label(r["episode_id"], normalise_border(r["border"]), days["start"],
                         max(days["start"], days["end"]), r["kind"].strip().lower(), major, row))
    return out


def opening_day(text: str) -> date:
    """The UTC calendar date of an ``opened_at``: a bare ``YYYY-MM-DD``, or a time with a zone."""
    text = text.strip()
    return date.fromisoformat(text) if len(text) == 10 else parse_iso(text).date()


def openings_from_rows(rows: Sequence[Mapping[str, str]]) -> list[Opening]:
    """alerts.csv rows -> openings; a row that cannot be read raises :class:`ScoringInputError`."""
    out = []
    for row, r in enumerate(rows, 1):
        if not (r.get("border") or "").strip():
            raise ScoringInputError("alerts", row, "border", "missing")
        level = LEVEL_INDEX.get((r.get("level") or "").strip().lower())
        if level is None:
            raise ScoringInputError("alerts", row, "level", f"{r.get('level')!r} is not watch, warning or critical")
        try:
            day = opening_day(r.get("opened_at") or "")
        except ValueError:
            raise ScoringInputError("alerts", row, "opened_at",
                                    f"{r.get('opened_at')!r} is not a date or an ISO 8601 time with a zone") from None
        out.append(Opening(r.get("alert_id") or f"row-{row}", normalise_border(r["border"]), level, day, row))
    return out


def data_spans(incident_days: Iterable[tuple[str, date]], coverage_end: date | None = None
               ) -> dict[str, tuple[date, date]]:
    """Each border's data span: from its first incident to ``coverage_end``, by default the last
    incident of the whole input (a border the data starts speaking about late is not charged for
    the years before)."""
    first: dict[str, date] = {}
    last = None
    for border, day in incident_days:
        first[border] = min(first.get(border, day), day)
        last = day if last is None else max(last, day)
    end = coverage_end or last
    return {b: (d, end) for b, d in first.items()}


# --------------------------------------------------------------------------- outcomes

@dataclass(frozen=True)
class EpisodeOutcome:
    episode_id: str
    border: str
    onset: date
    end: date
    major: bool
    status: str  # early | timely | late | missed
    #: onset - day of the deciding alert (None when late or missed)
    lead_days: int | None
    alert_id: str | None
    #: first day an alert counts as an early warning of this episode
    early_from: date


@dataclass(frozen=True)
class NotScored:
    episode_id: str
    border: str
    onset: date
    reason: str  # onset_out_of_span | out_of_scope


@dataclass
class ControlOutcome:
    episode_id: str
    border: str
    start: date
    end: date
    touching: tuple[str, ...]
    evaluable: bool
    #: the alerts that hit it, one per group
    hit_by: list[str] = field(default_factory=list)

    @property
    def hit(self) -> bool:
        return bool(self.hit_by)


@dataclass
class BorderTally:
    """What one border contributes; tallies of the same border in several runs add up."""

    alerts: int = 0
    true_groups: int = 0
    false_alarms: int = 0
    years: float = 0.0
    nab: NabTally = field(default_factory=NabTally)

    def add(self, other: "BorderTally") -> None:
        self.alerts += other.alerts
        self.true_groups += other.true_groups
        self.false_alarms += other.false_alarms
        self.years += other.years
        self.nab.add(other.nab)


@dataclass(frozen=True)
class Figures:
    """The figures of one border or of everything (``controls_*`` only overall, else None).

    Rates whose denominator is zero are 0.0, as the reference scorer gives them; the tables show
    them as "–" (see :func:`figure_cells`).
    """

    episodes: int
    early: int
    timely: int
    late: int
    missed: int
    recall: float
    early_rate: float
    median_lead_days: float | None
    median_lead_warned_days: float | None
    alerts: int
    groups: int
    true_groups: int
    false_alarms: int
    border_years: float
    false_alarms_per_border_year: float
    precision: float
    major_episodes: int
    major_recall: float | None
    major_early_rate: float | None
    not_scored: int
    controls_hit: int | None
    controls_evaluable: int | None
    nab_standard: float | None
    nab_low_fp: float | None
    nab_low_fn: float | None


@dataclass
class Evaluation:
    episodes: list[EpisodeOutcome] = field(default_factory=list)
    not_scored: list[NotScored] = field(default_factory=list)
    controls: list[ControlOutcome] = field(default_factory=list)
    #: in-scope border -> its tally
    borders: dict[str, BorderTally] = field(default_factory=dict)
    #: in-scope border -> (first day, last day) of its data; empty once runs are pooled
    spans: dict[str, tuple[date, date]] = field(default_factory=dict)
    #: openings left out: below_min_level, out_of_scope, out_of_span
    ignored_alerts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_IGNORED, 0))

    @classmethod
    def merge(cls, parts: Iterable["Evaluation"]) -> "Evaluation":
        """Pool runs (several seeds, several streams): episodes, groups and border-years add up."""
        out = cls()
        for ev in parts:
            out.episodes.extend(ev.episodes)
            out.not_scored.extend(ev.not_scored)
            out.controls.extend(ev.controls)
            for b, tally in ev.borders.items():
                out.borders.setdefault(b, BorderTally()).add(tally)
            for k, n in ev.ignored_alerts.items():
                out.ignored_alerts[k] += n
        return out

    def figures(self, border: str | None = None) -> Figures:
        """The figures overall (controls' false alarms included) or of one border."""
        eps = [e for e in self.episodes if border is None or e.border == border]
        tally = BorderTally()
        for b, t in self.borders.items():
            if border is None or b == border:
                tally.add(t)
        controls_hit = sum(c.hit for c in self.controls) if border is None else None
        false_alarms = tally.false_alarms + (controls_hit or 0)
        n = {s: sum(e.status == s for e in eps) for s in STATUSES}
        early_leads = [e.lead_days for e in eps if e.status == "early"]
        warned_leads = [e.lead_days for e in eps if e.status in ("early", "timely")]
        major = [e for e in eps if e.major]
        groups = tally.true_groups + false_alarms
        nab = {p.name: tally.nab.normalised(p) for p in NAB_PROFILES}
        return Figures(
            episodes=len(eps), **n,
            recall=(n["early"] + n["timely"]) / len(eps) if eps else 0.0,
            early_rate=n["early"] / len(eps) if eps else 0.0,
            median_lead_days=statistics.median(early_leads) if early_leads else None,
            median_lead_warned_days=statistics.median(warned_leads) if warned_leads else None,
            alerts=tally.alerts, groups=groups, true_groups=tally.true_groups, false_alarms=false_alarms,
            border_years=tally.years,
            false_alarms_per_border_year=false_alarms / tally.years if tally.years else 0.0,
            precision=tally.true_groups / groups if groups else 0.0,
            major_episodes=len(major),
            major_recall=sum(e.status in ("early", "timely") for e in major) / len(major) if major else None,
            major_early_rate=sum(e.status == "early" for e in major) / len(major) if major else None,
            not_scored=sum(1 for x in self.not_scored if border is None or x.border == border),
            controls_hit=controls_hit,
            controls_evaluable=sum(c.evaluable for c in self.controls) if border is None else None,
            nab_standard=nab["standard"], nab_low_fp=nab["low_fp"], nab_low_fn=nab["low_fn"],
        )

    def as_json(self) -> dict:
        """Everything, as plain JSON values (dates as ISO text)."""
        def plain(obj):
            return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(obj).items()}

        return {
            "overall": asdict(self.figures()),
            "borders": {b: dict(asdict(self.figures(b)), span=[d.isoformat() for d in self.spans[b]]
                                if b in self.spans else None) for b in sorted(self.borders)},
            "episodes": [plain(e) for e in self.episodes],
            "not_scored": [plain(x) for x in self.not_scored],
            "negative_controls": [dict(plain(c), hit=c.hit) for c in self.controls],
            "ignored_alerts": dict(self.ignored_alerts),
            "rules": {"early_days": EARLY_DAYS, "timely_days": TIMELY_DAYS, "group_days": GROUP_DAYS,
                      "min_level": MIN_LEVEL, "same_day": "timely"},
        }


_IGNORED = ("below_min_level", "out_of_scope", "out_of_span")


# --------------------------------------------------------------------------- scoring

def evaluate(alert_rows: Sequence[Mapping[str, str]], labels: Sequence[Label],
             spans: Mapping[str, tuple[date, date]], scope: Iterable[str] | None = None) -> Evaluation:
    """Score one run's alerts.csv rows against the labels.

    ``spans``: each border's data span (:func:`data_spans`). ``scope``: the borders scored
    (default: the borders of the escalation labels and every border with a span). A border in
    scope without a span, or whose span ends before it starts, raises :class:`ScoringInputError`.
    """
    escalations = [lab for lab in labels if lab.kind == ESCALATION]
    scope = set(scope) if scope is not None else {lab.border for lab in escalations} | set(spans)
    for b in sorted(scope):
        if b not in spans:
            lab = next((lab for lab in escalations if lab.border == b), None)
            raise ScoringInputError("labels" if lab else "scope", lab.row if lab else None,
                                    "border" if lab else None,
                                    f"{b} has no incident in the input, so no data span to score it over")
        if spans[b][1] < spans[b][0]:
            raise ScoringInputError("coverage", None, None, f"the data span of {b} would end on {spans[b][1]}, "
                                                            f"before its first incident on {spans[b][0]}")
    ev = Evaluation(spans={b: spans[b] for b in scope})
    used: dict[str, list[Opening]] = {b: [] for b in scope}
    lowest = LEVEL_INDEX[MIN_LEVEL]
    for a in openings_from_rows(alert_rows):
        if a.level < lowest:
            ev.ignored_alerts["below_min_level"] += 1
        elif a.border not in scope:
            ev.ignored_alerts["out_of_scope"] += 1
        elif not spans[a.border][0] <= a.day <= spans[a.border][1]:
            ev.ignored_alerts["out_of_span"] += 1
        else:
            used[a.border].append(a)
    for openings in used.values():
        openings.sort(key=lambda a: (a.day, a.row))

    windows: dict[str, list[tuple[date, date]]] = {}
    scored_windows: dict[str, list[tuple[date, date]]] = {}
    warnings = early_windows(escalations)
    for b in sorted(scope):
        windows[b] = [(lab.start - timedelta(days=EARLY_DAYS), lab.end) for lab, _ in warnings.get(b, ())]
        scored_windows[b] = []
        for (lab, early_from), window in zip(warnings.get(b, ()), windows[b]):
            if not spans[b][0] <= lab.start <= spans[b][1]:
                ev.not_scored.append(NotScored(lab.episode_id, b, lab.start, "onset_out_of_span"))
                continue
            scored_windows[b].append(window)
            ev.episodes.append(_outcome(lab, early_from, used[b]))
    ev.not_scored += [NotScored(lab.episode_id, lab.border, lab.start, "out_of_scope")
                      for lab in escalations if lab.border not in scope]

    for lab in labels:
        if lab.kind == NEGATIVE_CONTROL:
            touching = tuple(b for b in sorted(scope) if touches(lab.border, b))
            evaluable = any(spans[b][0] <= lab.end and lab.start <= spans[b][1] for b in touching)
            ev.controls.append(ControlOutcome(lab.episode_id, lab.border, lab.start, lab.end, touching, evaluable))

    for b in sorted(scope):
        s0, s1 = spans[b]
        tally = ev.borders[b] = BorderTally(alerts=len(used[b]), years=((s1 - s0).days + 1) / DAYS_PER_YEAR)
        for group in _groups(used[b]):
            if any(w0 <= a.day <= w1 for a in group for w0, w1 in windows[b]):
                tally.true_groups += 1
            elif not _hit_control(group, b, ev.controls):
                tally.false_alarms += 1
        tally.nab = _nab_tally(_merge_windows(scored_windows[b]), windows[b], [a.day for a in used[b]])
    return ev


def early_windows(labels: Iterable[Label]) -> dict[str, list[tuple[Label, date]]]:
    """Per border, its escalations in onset order, each with the first day an alert warns of it early.

    That day is EARLY_DAYS before the onset, but never before the day after the previous episode of
    the border ended: an alert raised during one episode is no warning of the next. An alert warns
    early from that day to the day before the onset.
    """
    by_border: dict[str, list[Label]] = {}
    for lab in labels:
        if lab.kind == ESCALATION:
            by_border.setdefault(lab.border, []).append(lab)
    out: dict[str, list[tuple[Label, date]]] = {}
    for border, episodes in by_border.items():
        previous_end = None
        for lab in sorted(episodes, key=lambda lab: (lab.start, lab.end)):
            early_from = lab.start - timedelta(days=EARLY_DAYS)
            if previous_end is not None:
                early_from = max(early_from, previous_end + timedelta(days=1))
            previous_end = lab.end if previous_end is None else max(previous_end, lab.end)
            out.setdefault(border, []).append((lab, early_from))
    return out


def _outcome(lab: Label, early_from: date, openings: list[Opening]) -> EpisodeOutcome:
    """The best status any of the border's openings (in day order) gives the episode; within a
    status, the first opening decides."""
    best: tuple[str, int, Opening] | None = None
    last_useful = max(lab.end, lab.start + timedelta(days=TIMELY_DAYS))
    for a in openings:
        if a.day > last_useful:  # in day order: nothing later is early, timely or late
            break
        lead = (lab.start - a.day).days
        if a.day >= early_from and 1 <= lead <= EARLY_DAYS:
            status = "early"
        elif a.day >= early_from and -TIMELY_DAYS <= lead <= 0:
            status = "timely"
        elif lead < -TIMELY_DAYS and a.day <= lab.end:
            status = "late"
        else:
            continue
        if best is None or _RANK[status] < _RANK[best[0]]:
            best = (status, lead, a)
    if best is None:
        return EpisodeOutcome(lab.episode_id, lab.border, lab.start, lab.end, lab.major, "missed", None, None,
                              early_from)
    status, lead, a = best
    return EpisodeOutcome(lab.episode_id, lab.border, lab.start, lab.end, lab.major, status,
                          None if status == "late" else lead, a.alert_id, early_from)


def _groups(openings: list[Opening]) -> list[list[Opening]]:
    groups: list[list[Opening]] = []
    for a in openings:
        if groups and (a.day - groups[-1][0].day).days <= GROUP_DAYS:
            groups[-1].append(a)
        else:
            groups.append([a])
    return groups


def touches(control_border: str, border: str) -> bool:
    """A control on one state touches every border of that state; one on a pair, that border only."""
    states = set(states_of(control_border))
    return states <= set(states_of(border)) if len(states) == 1 else control_border == border


def _hit_control(group: list[Opening], border: str, controls: list[ControlOutcome]) -> bool:
    """Mark the first evaluable control touching ``border`` that one of the group's alerts falls in."""
    for a in group:
        for c in controls:
            if c.evaluable and border in c.touching and c.start <= a.day <= c.end:
                c.hit_by.append(a.alert_id)
                return True
    return False


def _merge_windows(windows: list[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _nab_tally(scored: list[tuple[date, date]], every: list[tuple[date, date]], alert_days: list[date]) -> NabTally:
    """One border's NAB parts: ``scored`` the merged windows of its scored episodes, ``every`` the
    windows of all its escalation labels (an alert in one of those is no false alarm), the
    alerts' days in order."""
    t = NabTally(windows=len(scored))
    detected: set[int] = set()
    for d in alert_days:
        i = next((i for i, (lo, hi) in enumerate(scored) if lo <= d <= hi), None)
        if i is not None:
            if i not in detected:
                detected.add(i)
                lo, hi = scored[i]
                t.tp += scaled_sigmoid(-((hi - d).days + 1) / ((hi - lo).days + 1)) / MAX_TP
            continue
        if any(lo <= d <= hi for lo, hi in every):
            continue
        before = [w for w in scored if w[1] < d]
        if not before:
            t.fp -= 1.0
        else:
            lo, hi = before[-1]
            t.fp += scaled_sigmoid((d - hi).days / max((hi - lo).days, 1))
    t.missed = t.windows - len(detected)
    return t


# --------------------------------------------------------------------------- presenting

#: The figures in reading order: (Figures field, heading). The CLI, the HTML report and make eval
#: show these columns; ``controls`` (hit of evaluable) has a meaning overall only.
FIGURE_COLUMNS = (
    ("episodes", "episodes"), ("early", "early"), ("timely", "timely"), ("late", "late"), ("missed", "missed"),
    ("recall", "recall"), ("early_rate", "early rate"), ("median_lead_days", "median lead (d)"),
    ("alerts", "alerts"), ("groups", "alert groups"), ("true_groups", "true groups"),
    ("false_alarms", "false alarms"), ("border_years", "border-years"),
    ("false_alarms_per_border_year", "false alarms / border-year"), ("precision", "precision"),
    ("controls", "controls hit"), ("not_scored", "not scored"), ("nab_standard", "NAB std"),
)
#: decimals a float column of :data:`FIGURE_COLUMNS` is read to (2 unless named; a median lead is a
#: whole day or a half)
FIGURE_DIGITS = {"border_years": 1, "nab_standard": 1, "median_lead_days": 1}


def figure_text(key: str, v) -> str:
    """One cell of :func:`figure_cells` as a table shows it: a rate always with its decimals, so a
    column of them lines up (``1.00`` beside ``0.42``, not ``1``); a median lead as a day count."""
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:g}" if key == "median_lead_days" else f"{v:.{FIGURE_DIGITS.get(key, 2)}f}"
    return str(v)


def figure_cells(f: Figures) -> list:
    """The values of :data:`FIGURE_COLUMNS` for one row: a rate without a denominator is None,
    controls are "hit of evaluable" (None for one border and where there are none), floats rounded for reading."""
    cells = asdict(f)
    if not f.episodes:
        cells.update(recall=None, early_rate=None)
    if not f.groups:
        cells["precision"] = None
    if not f.border_years:
        cells["false_alarms_per_border_year"] = None
    cells["controls"] = None if not f.controls_evaluable else f"{f.controls_hit} of {f.controls_evaluable}"
    out = []
    for key, _ in FIGURE_COLUMNS:
        v = cells[key]
        out.append(round(v, FIGURE_DIGITS.get(key, 2)) if isinstance(v, float) else v)
    return out


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def real_line(f: Figures) -> str:
    """The one-line summary in the reference scorer's exact format, for comparing with it."""
    lead = 0 if f.median_lead_days is None else round_half_up(f.median_lead_days)
    return (f"REAL recall={f.recall:.2f} early={f.early_rate:.2f} median_lead_days={lead} "
            f"false_alarms_per_year={f.false_alarms_per_border_year:.2f} precision={f.precision:.2f}")


def report_lines(ev: Evaluation) -> list[str]:
    """The evaluation as text: a row per border, the overall row, controls and what was left out."""
    head = ["border", "episodes", "early", "timely", "late", "missed", "recall", "early", "lead", "alerts",
            "groups", "true", "FA", "years", "FA/year", "precision"]

    def row(name: str, f: Figures) -> list[str]:
        lead = "-" if f.median_lead_days is None else f"{f.median_lead_days:g}"
        return [name, str(f.episodes), str(f.early), str(f.timely), str(f.late), str(f.missed), f"{f.recall:.2f}",
                f"{f.early_rate:.2f}", lead, str(f.alerts), str(f.groups), str(f.true_groups), str(f.false_alarms),
                f"{f.border_years:.1f}", f"{f.false_alarms_per_border_year:.2f}", f"{f.precision:.2f}"]

    body = [row(b, ev.figures(b)) for b in sorted(ev.borders)]
    overall = ev.figures()
    table = [head, *body, row("OVERALL", overall)]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    rule = "-" * len(fmt(head))
    lines = [fmt(head), rule, *map(fmt, body), rule, fmt(table[-1])]
    if overall.major_episodes:
        lines.append(f"major episodes (>= {MAJOR_DEATHS} deaths): {overall.major_episodes}, recall "
                     f"{overall.major_recall:.2f}, early {overall.major_early_rate:.2f}")
    if ev.controls:
        lines.append(f"negative controls: {overall.controls_evaluable} evaluable, {overall.controls_hit} hit "
                     "(each hit is one false alarm, counted in OVERALL)")
        for c in ev.controls:
            state = ("hit by " + ", ".join(c.hit_by[:5])) if c.hit else "clean" if c.evaluable else \
                "not evaluable (outside every touching border's data span)"
            lines.append(f"  {c.episode_id} {c.border} {c.start}..{c.end}: {state}")
    ignored = ev.ignored_alerts
    if any(ignored.values()):
        lines.append(f"alerts ignored: below {MIN_LEVEL} {ignored['below_min_level']}, on borders out of scope "
                     f"{ignored['out_of_scope']}, outside the data span {ignored['out_of_span']}")
    if ev.not_scored:
        outside = sum(x.reason == "onset_out_of_span" for x in ev.not_scored)
        lines.append(f"episodes not scored: onset outside the data span {outside}, "
                     f"border out of scope {len(ev.not_scored) - outside}")
    return lines
