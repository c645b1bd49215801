"""Score alert rows against labelled escalation episodes: early warning, not just detection.

For each escalation episode (border pair, onset, end) the first alert on that border opened
in [onset - 60 days, end] decides its class:

* ``early``   -- opened in [onset - 60 d, onset]: the warning came before the violence;
* ``timely``  -- within 3 days after onset;
* ``late``    -- later, but before the episode ended;
* ``missed``  -- none.

An alert that opens outside every episode's window ``[onset - 60 d, end + 3 d]`` of its border
is a false alarm; false alarms are counted per border-year of data (a border is exposed from
its first incident in the data to the end of the data). ``chance_recall`` is the recall a
detector alerting at random at the same false-alarm rate would get: with many false alarms, a
60-day early window catches one by luck. A negative control (an internal crisis
of one state, ``border`` = that ISO3) is *violated* by any alert on a border of that state opened
during the crisis, scored border or not. Episodes outside the period the data covers are
reported as ``not_covered`` and left out of every rate.

The early-detection-weighted score follows the Numenta Anomaly Benchmark (Lavin & Ahmad 2015),
in days. Per border, the episode windows ``[onset - 60 d, end + 3 d]`` (overlapping ones merged,
as NAB's labeller merges them) are scored with the scaled sigmoid
``s(y) = 2 / (1 + exp(5 y)) - 1`` (and ``-1`` for ``y > 3``):

* the first alert inside a window of width ``W`` days, ``k`` days before the window's last day,
  is at ``y = -(k + 1) / W`` and earns ``A_tp * s(y) / s(-1)`` (1 at the window's first day,
  about 0 at its last); later alerts in the same window count for nothing;
* a window without an alert costs ``A_fn``;
* an alert outside every window costs ``A_fp * s(y)`` with ``y = (days since the previous
  window's last day) / (W_prev - 1)`` (cheap just after a window, 1 later), or ``A_fp`` when no
  window came before on that border.

Raw scores are summed over borders and normalised: ``100 * (raw - null) / (perfect - null)``,
where the null detector never alerts (``-A_fn`` per window) and the perfect one alerts on every
window's first day (``A_tp`` per window): 0 is no better than silence, 100 is perfect, false
alarms can drive it below 0. Profiles (NAB's cost matrices): ``standard`` (A_tp 1, A_fp 0.11,
A_fn 1), ``low_fp`` (A_fp 0.22), ``low_fn`` (A_fn 2).

Pure functions over ``alerts.csv`` rows and labels rows (as ``csv.DictReader`` gives them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import Iterable, Mapping

EARLY_DAYS = 60
TIMELY_DAYS = 3
ESCALATION_OUTCOMES = ("early", "timely", "late", "missed")


@dataclass(frozen=True)
class NabProfile:
    name: str
    tp: float
    fp: float
    fn: float


NAB_PROFILES = (NabProfile("standard", 1.0, 0.11, 1.0), NabProfile("low_fp", 1.0, 0.22, 1.0),
                NabProfile("low_fn", 1.0, 0.11, 2.0))


def scaled_sigmoid(y: float) -> float:
    """NAB's ``2 / (1 + e^(5y)) - 1``: near 1 at the start of a window (y = -1), 0 at its end."""
    return -1.0 if y > 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


_MAX_TP = scaled_sigmoid(-1.0)


def as_date(text: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if "T" in text else date.fromisoformat(text)


@dataclass
class EpisodeResult:
    episode_id: str
    border: str
    onset: date
    outcome: str  # early | timely | late | missed | not_covered | control_ok | control_violated
    lead_days: int | None = None
    alert_id: str | None = None


@dataclass
class ScoredAlert:
    alert_id: str
    border: str
    opened: date
    false_alarm: bool


@dataclass
class NabTally:
    """One border's NAB parts, unweighted, so profiles and borders add up."""

    windows: int = 0
    missed: int = 0
    tp: float = 0.0  # sum of s(y) / s(-1) over detected windows
    fp: float = 0.0  # sum of the (negative) unweighted false-alarm scores

    def add(self, other: "NabTally") -> None:
        self.windows += other.windows
        self.missed += other.missed
        self.tp += other.tp
        self.fp += other.fp

    def normalised(self, p: NabProfile) -> float | None:
        if not self.windows:
            return None
        raw = p.tp * self.tp + p.fp * self.fp - p.fn * self.missed
        null, perfect = -p.fn * self.windows, p.tp * self.windows
        return 100.0 * (raw - null) / (perfect - null)


@dataclass
class Evaluation:
    episodes: list[EpisodeResult] = field(default_factory=list)
    alerts: list[ScoredAlert] = field(default_factory=list)
    #: scored border -> years of exposure
    border_years: dict[str, float] = field(default_factory=dict)
    nab: dict[str, NabTally] = field(default_factory=dict)

    @classmethod
    def merge(cls, parts: Iterable["Evaluation"]) -> "Evaluation":
        """Pool runs (several streams, several seeds): counts, exposure and NAB parts add up."""
        out = cls()
        for ev in parts:
            out.episodes.extend(ev.episodes)
            out.alerts.extend(ev.alerts)
            for b, y in ev.border_years.items():
                out.border_years[b] = out.border_years.get(b, 0.0) + y
            for b, t in ev.nab.items():
                out.nab.setdefault(b, NabTally()).add(t)
        return out

    def borders(self) -> list[str]:
        """Every border (or state, for negative controls) the evaluation speaks about."""
        return sorted(set(self.border_years) | {e.border for e in self.episodes} | {a.border for a in self.alerts})

    def summary(self, border: str | None = None) -> dict:
        """The figures overall, or for one border (a state: its negative controls)."""
        eps = [e for e in self.episodes if border is None or e.border == border]
        alerts = [a for a in self.alerts if border is None or a.border == border]
        years = sum(y for b, y in self.border_years.items() if border is None or b == border)
        esc = [e for e in eps if e.outcome in ESCALATION_OUTCOMES]
        counts = {k: sum(e.outcome == k for e in esc) for k in ESCALATION_OUTCOMES}
        leads = [e.lead_days for e in esc if e.outcome in ("early", "timely") and e.lead_days is not None]
        controls = [e for e in eps if e.outcome.startswith("control_")]
        false_alarms = sum(a.false_alarm for a in alerts)
        tally = NabTally()
        for b, t in self.nab.items():
            if border is None or b == border:
                tally.add(t)
        nab = {f"nab_{p.name}": _round(tally.normalised(p), 1) for p in NAB_PROFILES}
        rate = false_alarms / years if years else None
        return {
            "episodes": len(esc), **counts,
            "recall": _round((counts["early"] + counts["timely"]) / len(esc), 4) if esc else None,
            # what alerting at random at this false-alarm rate would score: P(an alert in a window
            # of 60 + 1 + 3 days). A recall near it is luck, not warning.
            "chance_recall": round(1 - math.exp(-rate * (EARLY_DAYS + 1 + TIMELY_DAYS) / 365.25), 4)
            if esc and rate is not None else None,
            "median_lead_days": median(leads) if leads else None,
            "alerts": len(alerts), "false_alarms": false_alarms,
            "border_years": round(years, 2),
            "false_alarms_per_border_year": round(rate, 4) if rate is not None else None,
            "precision": round(1 - false_alarms / len(alerts), 4) if alerts else None,
            **nab,
            "negative_controls": len(controls),
            "negative_controls_violated": sum(e.outcome == "control_violated" for e in controls),
            "not_covered": sum(e.outcome == "not_covered" for e in eps),
        }

    @property
    def by_border(self) -> dict[str, dict]:
        return {b: self.summary(b) for b in self.borders()}


#: The summary's figures in reading order with short labels, for the report and the results table.
SUMMARY_COLUMNS = (
    ("episodes", "episodes"), ("early", "early"), ("timely", "timely"), ("late", "late"), ("missed", "missed"),
    ("recall", "recall"), ("chance_recall", "by chance"), ("median_lead_days", "median lead (d)"),
    ("alerts", "alerts"), ("false_alarms", "false alarms"), ("false_alarms_per_border_year", "per border-year"),
    ("precision", "precision"), ("nab_standard", "NAB std"), ("nab_low_fp", "NAB low FP"),
    ("nab_low_fn", "NAB low FN"), ("controls", "controls violated"), ("not_covered", "not covered"),
)


def summary_cells(summary: dict) -> list:
    """The values of ``SUMMARY_COLUMNS`` for one summary (controls as "violated of covered")."""
    s = dict(summary, controls=f"{summary['negative_controls_violated']} of {summary['negative_controls']}")
    return [s[key] for key, _ in SUMMARY_COLUMNS]


def _round(x: float | None, ndigits: int) -> float | None:
    return None if x is None else round(x, ndigits)


def evaluate(alert_rows: list[dict], label_rows: list[dict], data_start: date, data_end: date,
             borders: Iterable[str] | Mapping[str, date]) -> Evaluation:
    """Evaluate the alerts of one run against the labels.

    ``data_*``: the period the input covers (episodes outside it are ``not_covered``).
    ``borders``: the border pairs scored; a mapping gives each one's first day with data (its
    exposure starts there), a plain list exposes each from ``data_start``. Alerts on other
    borders are not scored, but still violate negative controls.
    """
    first = dict(borders) if isinstance(borders, Mapping) else {b: data_start for b in borders}
    ev = Evaluation()
    for b, since in first.items():
        ev.border_years[b] = max((data_end - max(since, data_start)).days + 1, 1) / 365.25
    alerts = sorted(((as_date(a["opened_at"]), a) for a in alert_rows), key=lambda t: t[0])
    windows: dict[str, list[tuple[date, date]]] = {}
    for lab in label_rows:
        onset, end = as_date(lab["start"]), as_date(lab["end"])
        border = lab["border"]
        if not (data_start <= onset <= data_end):
            ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset, "not_covered"))
            continue
        if lab["kind"] == "negative_control":
            hit = next((a for d, a in alerts if onset <= d <= end and border in a["border"].split("-")), None)
            ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset,
                                             "control_violated" if hit else "control_ok",
                                             alert_id=hit["alert_id"] if hit else None))
            continue
        lo = onset - timedelta(days=EARLY_DAYS)
        windows.setdefault(border, []).append((lo, end + timedelta(days=TIMELY_DAYS)))
        hit = next(((d, a) for d, a in alerts if a["border"] == border and lo <= d <= end), None)
        if hit is None:
            ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset, "missed"))
            continue
        d, a = hit
        outcome = "early" if d <= onset else "timely" if d <= onset + timedelta(days=TIMELY_DAYS) else "late"
        ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset, outcome, (onset - d).days, a["alert_id"]))
    for d, a in alerts:
        if a["border"] in first:
            inside = any(lo <= d <= hi for lo, hi in windows.get(a["border"], []))
            ev.alerts.append(ScoredAlert(a["alert_id"], a["border"], d, not inside))
    for border in set(first) | set(windows):
        ev.nab[border] = _nab_tally(_merge_windows(windows.get(border, [])),
                                    [d for d, a in alerts if a["border"] == border])
    return ev


def _merge_windows(windows: list[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _nab_tally(windows: list[tuple[date, date]], alert_days: list[date]) -> NabTally:
    """One border's NAB parts from its merged windows and its alert opening days (sorted)."""
    t = NabTally(windows=len(windows))
    detected: set[int] = set()
    for d in alert_days:
        i = next((i for i, (lo, hi) in enumerate(windows) if lo <= d <= hi), None)
        if i is not None:
            if i not in detected:
                detected.add(i)
                lo, hi = windows[i]
                width = (hi - lo).days + 1
                t.tp += scaled_sigmoid(-((hi - d).days + 1) / width) / _MAX_TP
            continue
        before = [w for w in windows if w[1] < d]
        if not before:
            t.fp -= 1.0
        else:
            lo, hi = before[-1]
            t.fp += scaled_sigmoid((d - hi).days / max((hi - lo).days, 1))
    t.missed = t.windows - len(detected)
    return t
