"""A labelled synthetic suite for ``borderwatch score``'s univariate detectors, scored as NAB scores.

Every pattern family has several seeded series (``SEEDS``), each ``LENGTH`` rows long, with its
anomalies labelled at their onset row. The noise cycles over the seeds: independent normal,
AR(1) with phi 0.5 (the same marginal spread), and Student-t with 4 degrees of freedom
(heavy tails), so a detector that assumes clean normal noise pays for it. Odd seeds drop 2 % of
the rows at random and lose one stretch of 40 rows (irregular timestamps and a gap).

===================  =================================================================  =======
family               what is injected (sigma = the noise's standard deviation)           anomalies
===================  =================================================================  =======
``spike_up``         one row ``+5..9 sigma``                                             2
``spike_down``       one row ``5..9 sigma`` below                                        2
``shift_up``         the level steps up ``3..6 sigma`` for good (the second on top of    2
                     the first, so the first must have become normal)
``shift_down``       the same, downwards                                                  2
``variance_up``      the noise grows ``2.5..4x`` for good                                 1
``variance_down``    the noise shrinks to ``0.15..0.3x`` for good                         1
``daily_rhythm``     hourly data with a daily cycle: one day misses its afternoon peak,   2
                     another has the peak at night
``weekly_rhythm``    daily data, busy weekdays and quiet weekends: a weekday as quiet as  2
                     a Sunday, and a weekend day as busy as a weekday
``calm``             nothing: flat, daily and weekly series (false detections only)      0
===================  =================================================================  =======

Hourly rows unless the family says otherwise; timestamps start on 2024-01-01 UTC. Windows
are NAB's (``detectors.nab.nab_windows``): centred on each onset, 10 % of the length divided by
the number of anomalies wide; the first 15 % of rows are NAB's probationary period, and every
onset lies after it and half a window clear of the series' ends.

:func:`evaluate` runs detectors over the suite and :func:`markdown` renders the tables that
``make eval`` writes into docs/DETECTION.md.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

from alerts.escalation import LEVELS, EscalationPolicy
from detectors.nab import NAB_PROFILES, NabTally, ThresholdCurve, best_thresholds, nab_windows, probation_rows
from detectors.univariate import DEFAULT_UNIVARIATE, make_univariate

LENGTH = 1500
SEEDS = tuple(range(6))
T0 = 1704067200.0  # 2024-01-01T00:00:00Z, a Monday
HOUR, DAY = 3600.0, 86400.0
NOISE_KINDS = ("normal", "ar1", "student_t")
AR_PHI = 0.5
T_DOF = 4
DROP_SHARE = 0.02
GAP_ROWS = 40


@dataclass(frozen=True)
class Series:
    family: str
    seed: int
    noise: str
    timestamps: list[float]
    values: list[float]
    #: onset rows of the labelled anomalies
    anomalies: list[int]
    windows: list[tuple[int, int]] = field(default_factory=list)
    probation: int = 0


def _noise(rng: random.Random, kind: str, n: int) -> list[float]:
    """``n`` draws with standard deviation 1."""
    if kind == "normal":
        return [rng.gauss(0.0, 1.0) for _ in range(n)]
    if kind == "ar1":
        innovation = math.sqrt(1.0 - AR_PHI ** 2)
        out, e = [], rng.gauss(0.0, 1.0)
        for _ in range(n):
            e = AR_PHI * e + innovation * rng.gauss(0.0, 1.0)
            out.append(e)
        return out
    # Student-t as normal / sqrt(chi2 / dof), rescaled to unit variance (dof / (dof - 2))
    unit = math.sqrt((T_DOF - 2) / T_DOF)
    return [unit * rng.gauss(0.0, 1.0) / math.sqrt(rng.gammavariate(T_DOF / 2, 2.0) / T_DOF) for _ in range(n)]


def _timestamps(rng: random.Random, n: int, step: float, irregular: bool) -> list[float]:
    """``n`` increasing times ``step`` apart; irregular: rows dropped at random and one gap."""
    if not irregular:
        return [T0 + i * step for i in range(n)]
    out, k = [], 0
    gap_at = rng.randrange(n // 4, n // 2)
    while len(out) < n:
        if len(out) == gap_at:
            k += GAP_ROWS
        if rng.random() >= DROP_SHARE:
            out.append(T0 + k * step)
        k += 1
    return out


def _onsets(rng: random.Random, n: int, count: int) -> list[int]:
    """``count`` onset rows after the probation and half a window clear of the ends, a window apart."""
    if count == 0:
        return []
    half = int(0.1 * n / count) // 2
    lo, hi = probation_rows(n) + half + 1, n - half - 2
    span = (hi - lo) // count
    return [lo + k * span + rng.randrange(span // 4, span - half) for k in range(count)]


def _daily_profile(hour: float) -> float:
    """A busy afternoon: 1 at 14:00, about 0 at night."""
    return math.exp(-((hour - 14.0) / 3.0) ** 2)


def _weekly_profile(weekday: int) -> float:
    """Busy Monday to Friday, quiet weekends (Saturday, Sunday)."""
    return (0.95, 1.0, 1.0, 0.98, 0.9, 0.1, 0.0)[weekday]


def _hour(t: float) -> float:
    return (t % DAY) / HOUR


def _weekday(t: float) -> int:
    return int((t - T0) // DAY) % 7  # T0 is a Monday


def _base(rng: random.Random, kind: str, n: int, irregular: bool, step: float = HOUR):
    level = rng.uniform(10.0, 1000.0)
    sigma = level * rng.uniform(0.02, 0.1)
    ts = _timestamps(rng, n, step, irregular)
    noise = _noise(rng, kind, n)
    return ts, level, sigma, noise


def _spikes(sign: float):
    def make(rng, kind, n, irregular):
        ts, level, sigma, noise = _base(rng, kind, n, irregular)
        values = [level + sigma * e for e in noise]
        onsets = _onsets(rng, n, 2)
        for i in onsets:
            values[i] += sign * rng.uniform(5.0, 9.0) * sigma
        return ts, values, onsets
    return make


def _shifts(sign: float):
    def make(rng, kind, n, irregular):
        ts, level, sigma, noise = _base(rng, kind, n, irregular)
        onsets = _onsets(rng, n, 2)
        steps = [rng.uniform(3.0, 6.0) * sigma for _ in onsets]
        values = [level + sigma * e + sign * sum(s for i, s in zip(onsets, steps) if j >= i)
                  for j, e in enumerate(noise)]
        return ts, values, onsets
    return make


def _variance(low: float, high: float):
    def make(rng, kind, n, irregular):
        ts, level, sigma, noise = _base(rng, kind, n, irregular)
        (onset,) = _onsets(rng, n, 1)
        factor = rng.uniform(low, high)
        values = [level + sigma * e * (factor if j >= onset else 1.0) for j, e in enumerate(noise)]
        return ts, values, [onset]
    return make


def _first_material(values: list[float], normal: list[float], rows: range, sigma: float) -> int:
    """The first row in ``rows`` where the injected pattern differs from normal by a sigma or more."""
    return next(j for j in rows if abs(values[j] - normal[j]) >= sigma)


def _daily_rhythm(rng, kind, n, irregular):
    ts, level, sigma, noise = _base(rng, kind, n, irregular)
    amplitude = rng.uniform(5.0, 10.0) * sigma
    plain = [level + amplitude * _daily_profile(_hour(t)) + sigma * e for t, e in zip(ts, noise)]
    values = list(plain)
    onsets = []
    for k, anchor in enumerate(_onsets(rng, n, 2)):
        day = int((ts[anchor] - T0) // DAY)
        rows = range(anchor - 30, min(n, anchor + 30))
        for j in rows:
            if int((ts[j] - T0) // DAY) != day:
                continue
            hour = _hour(ts[j])
            # first: the afternoon peak is missing; second: the peak comes at 02:00 instead
            shape = 0.0 if k == 0 else math.exp(-((hour - 2.0) / 3.0) ** 2)
            values[j] = level + amplitude * shape + sigma * noise[j]
        onsets.append(_first_material(values, plain, rows, sigma))
    return ts, values, onsets


def _weekly_rhythm(rng, kind, n, irregular):
    ts, level, sigma, noise = _base(rng, kind, n, irregular, step=DAY)
    amplitude = rng.uniform(5.0, 10.0) * sigma
    values = [level + amplitude * _weekly_profile(_weekday(t)) + sigma * e for t, e in zip(ts, noise)]
    onsets = []
    for k, anchor in enumerate(_onsets(rng, n, 2)):
        # first: a quiet weekday (Tuesday to Thursday); second: a busy weekend day
        want = (1, 2, 3) if k == 0 else (5, 6)
        j = next(j for j in range(anchor, n) if _weekday(ts[j]) in want)
        values[j] = level + amplitude * (0.0 if k == 0 else 1.0) + sigma * noise[j]
        onsets.append(j)
    return ts, values, onsets


def _calm(rng, kind, n, irregular):
    shape = rng.choice(("flat", "daily", "weekly"))
    ts, level, sigma, noise = _base(rng, kind, n, irregular, step=DAY if shape == "weekly" else HOUR)
    amplitude = rng.uniform(5.0, 10.0) * sigma
    if shape == "flat":
        values = [level + sigma * e for e in noise]
    elif shape == "daily":
        values = [level + amplitude * _daily_profile(_hour(t)) + sigma * e for t, e in zip(ts, noise)]
    else:
        values = [level + amplitude * _weekly_profile(_weekday(t)) + sigma * e for t, e in zip(ts, noise)]
    return ts, values, []


#: family -> (rng, noise kind, rows, irregular) -> (timestamps, values, onset rows)
FAMILIES: dict[str, Callable[[random.Random, str, int, bool], tuple[list[float], list[float], list[int]]]] = {
    "spike_up": _spikes(1.0), "spike_down": _spikes(-1.0),
    "shift_up": _shifts(1.0), "shift_down": _shifts(-1.0),
    "variance_up": _variance(2.5, 4.0), "variance_down": _variance(0.15, 0.3),
    "daily_rhythm": _daily_rhythm, "weekly_rhythm": _weekly_rhythm, "calm": _calm,
}


def make_series(family: str, seed: int, n: int = LENGTH) -> Series:
    """One labelled series; same family, seed and length, same series."""
    rng = random.Random(f"{family}:{seed}")
    kind = NOISE_KINDS[seed % len(NOISE_KINDS)]
    ts, values, onsets = FAMILIES[family](rng, kind, n, seed % 2 == 1)
    return Series(family, seed, kind, ts, values, onsets, nab_windows(n, onsets), probation_rows(n))


def suite(seeds: Sequence[int] = SEEDS, n: int = LENGTH, families: Sequence[str] | None = None) -> list[Series]:
    return [make_series(f, s, n) for f in (families or FAMILIES) for s in seeds]


# --------------------------------------------------------------------------- evaluation
#: The comparison the suite makes: the default against NAB's windowed Gaussian and the former
#: default (gamma-poisson is a count model; these series are not counts).
BASELINES = ("windowed-gaussian", "ewma")
#: Where a detection is counted unless a threshold is swept: the escalation policy's watch line.
WATCH = EscalationPolicy().raise_at[LEVELS.index("watch")]


def score_series(detector, series: Series) -> list[float]:
    """Causal scores of one series: each row scored by the model of the rows before it, then learned."""
    out = []
    score, learn = detector.score_one, detector.learn_one
    for t, x in zip(series.timestamps, series.values):
        out.append(score(x, t))
        learn(x, t)
    return out


@dataclass
class DetectorResult:
    """One detector over the suite: each series' scores and NAB threshold curve."""

    name: str
    series: list[Series]
    scores: list[list[float]]
    curves: list[ThresholdCurve] = field(init=False)

    def __post_init__(self) -> None:
        self.curves = [ThresholdCurve(sc, s.windows, s.probation) for sc, s in zip(self.scores, self.series)]

    def tally(self, threshold: float = WATCH, family: str | None = None) -> NabTally:
        return NabTally.pooled(c.at(threshold) for c, s in zip(self.curves, self.series)
                               if family is None or s.family == family)

    def best(self) -> dict[str, tuple[float, NabTally]]:
        return best_thresholds(self.curves)

    def delays(self, threshold: float = WATCH, family: str | None = None) -> list[int]:
        """Rows from each anomaly's onset to the first detection in its window (caught windows only)."""
        out = []
        for sc, s in zip(self.scores, self.series):
            if family is not None and s.family != family:
                continue
            for onset, (lo, hi) in zip(s.anomalies, s.windows):
                first = next((i for i in range(max(lo, s.probation), hi + 1) if sc[i] >= threshold), None)
                if first is not None:
                    out.append(first - onset)
        return out


def evaluate(detectors: Sequence[str] | None = None, seeds: Sequence[int] = SEEDS, n: int = LENGTH) -> list[DetectorResult]:
    """Every named detector (default: the default and the baselines) over the whole suite."""
    series = suite(seeds, n)
    names = list(detectors or (DEFAULT_UNIVARIATE, *BASELINES))
    return [DetectorResult(name, series, [score_series(make_univariate(name), s) for s in series]) for name in names]


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def markdown(results: Sequence[DetectorResult]) -> str:
    """The tables ``make eval`` writes: detector x NAB profile, then per pattern, then the verdict."""
    if not results:
        return ""
    series = results[0].series
    families = list(dict.fromkeys(s.family for s in series))
    seeds = sorted({s.seed for s in series})
    label = {r.name: f"`{r.name}`" + (" (default)" if r.name == DEFAULT_UNIVARIATE else "") for r in results}
    profiles = [(p, {"standard": "std", "low_fp": "low FP", "low_fn": "low FN"}[p.name]) for p in NAB_PROFILES]
    lines = [
        f"**Univariate detectors (`borderwatch score`) on the labelled synthetic suite** "
        f"({len(families)} pattern families x {len(seeds)} seeds, {len(series[0].values)} rows each; "
        f"`streams/series_suite.py`). A detection is a row scoring at or above the threshold; NAB windows, "
        f"probation and profiles (`detectors/nab.py`); 0 is a silent detector, 100 a perfect one. "
        f"\"best\" is each detector's best threshold per profile, as NAB reports it.",
        "",
        "| detector | " + " | ".join(f"NAB {short} at {WATCH}" for _, short in profiles)
        + f" | windows caught at {WATCH} | false detections at {WATCH} | "
        + " | ".join(f"NAB {short} best (threshold)" for _, short in profiles)
        + " |",
        "|---|" + "---:|" * (2 * len(profiles) + 2),
    ]
    for r in results:
        t, best = r.tally(), r.best()
        cells = [_num(t.normalised(p)) for p, _ in profiles]
        cells += [f"{t.windows - t.missed} of {t.windows}", str(t.false_detections)]
        cells += [f"{_num(best[p.name][1].normalised(p))} ({best[p.name][0]:g})" for p, _ in profiles]
        lines.append(f"| {label[r.name]} | " + " | ".join(cells) + " |")
    lines += ["", f"Per pattern, at the watch line ({WATCH}) and at each detector's best threshold above:", "",
              "| pattern | detector | " + " | ".join(f"NAB {short} at {WATCH}" for _, short in profiles)
              + " | " + " | ".join(f"NAB {short} best" for _, short in profiles)
              + f" | windows caught at {WATCH} | false detections at {WATCH} | median delay (rows) |",
              "|---|---|" + "---:|" * (2 * len(profiles) + 3)]
    for fam in families:
        for r in results:
            t, best = r.tally(family=fam), r.best()
            delays = sorted(r.delays(family=fam))
            median = "–" if not delays else f"{(delays[(len(delays) - 1) // 2] + delays[len(delays) // 2]) / 2:g}"
            caught = f"{t.windows - t.missed} of {t.windows}" if t.windows else "–"
            cells = [_num(t.normalised(p)) for p, _ in profiles]
            cells += [_num(r.tally(best[p.name][0], fam).normalised(p)) for p, _ in profiles]
            lines.append(f"| {fam} | {label[r.name]} | " + " | ".join(cells)
                         + f" | {caught} | {t.false_detections} | {median} |")
    lines += ["", verdict(results)]
    return "\n".join(lines) + "\n"


def verdict(results: Sequence[DetectorResult]) -> str:
    """Does the default beat every other detector on every profile, overall and per pattern?"""
    by = {r.name: r for r in results}
    if DEFAULT_UNIVARIATE not in by or len(by) < 2:
        return "No comparison: the default or its baselines did not run."
    d, others = by[DEFAULT_UNIVARIATE], [r for r in results if r.name != DEFAULT_UNIVARIATE]
    names = " and ".join(f"`{o.name}`" for o in others)
    shortfalls = []
    for p in NAB_PROFILES:
        for o in others:
            if not d.tally().normalised(p) > o.tally().normalised(p):
                shortfalls.append(f"{p.name} at {WATCH} against `{o.name}`")
            if not d.best()[p.name][1].normalised(p) > o.best()[p.name][1].normalised(p):
                shortfalls.append(f"{p.name} at its best threshold against `{o.name}`")
    families = list(dict.fromkeys(s.family for s in d.series))
    pattern_gaps, calm_more = [], []
    for fam in families:
        for o in others:
            if not d.tally(family=fam).windows:
                if d.tally(family=fam).false_detections > o.tally(family=fam).false_detections:
                    calm_more.append(f"`{o.name}`")
                continue
            lost = [f"{p.name} at {WATCH}" for p in NAB_PROFILES
                    if not d.tally(family=fam).normalised(p) > o.tally(family=fam).normalised(p)]
            lost += [f"{p.name} at the best thresholds" for p in NAB_PROFILES
                     if not d.tally(d.best()[p.name][0], fam).normalised(p) > o.tally(o.best()[p.name][0], fam).normalised(p)]
            if lost:
                pattern_gaps.append(f"{fam} against `{o.name}` ({', '.join(lost)})")
    overall = (f"The default `{DEFAULT_UNIVARIATE}` beats {names} on every NAB profile, at the watch line and at "
               "each detector's best threshold." if not shortfalls else
               f"The default `{DEFAULT_UNIVARIATE}` does not beat them on: {'; '.join(shortfalls)}.")
    per = (" It also scores higher on every pattern, profile and threshold." if not pattern_gaps else
           f" Per pattern it does not score higher on: {'; '.join(pattern_gaps)}.")
    calm = (f" On the anomaly-free series it makes more false detections than {', '.join(calm_more)}."
            if calm_more else "")
    return overall + per + calm
