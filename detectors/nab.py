"""NAB scoring (Lavin & Ahmad 2015) of a detector's scores against labelled anomaly windows.

Pure and axis-free: rows are positions ``0..n-1`` of one series, whatever their timestamps.
The rules are the Numenta Anomaly Benchmark's:

* a **detection** is a row whose score is at or above the threshold (NAB's sweeper counts
  every such row, not only upward crossings);
* **windows** (:func:`nab_windows`) are centred on each labelled anomaly, ``share`` (10 %) of
  the series length divided by the number of anomalies wide, merged where they overlap;
* the first ``probation`` rows (NAB: 15 % of the series, at most 750) are a warm-up and score
  nothing;
* with the scaled sigmoid ``s(y) = 2 / (1 + e^(5y)) - 1`` (and ``-1`` for ``y > 3``), the
  first detection in a window ``[lo, hi]`` of width ``W``, at row ``i``, sits at
  ``y = -(hi - i + 1) / W`` and earns ``A_tp * s(y) / s(-1)`` (1 on the window's first row);
  later detections in the same window count for nothing; a window without one costs ``A_fn``;
* a detection outside every window costs ``A_fp * s(y)`` with ``y = (i - hi_prev) / (W_prev - 1)``
  (cheap just after a window, nearly the full ``A_fp`` a window's width later), or ``A_fp``
  when no window came before it.

Raw scores add up over series; the normalised score is ``100 * (raw - null) / (perfect - null)``
with the null detector silent (``-A_fn`` per window) and the perfect one detecting every
window on its first row (``A_tp`` per window). As NAB does, :func:`best_thresholds` also sweeps
the threshold per profile, so a detector whose scores sit on another scale is judged at its
best.

This module is the one owner of NAB's constants (profiles, sigmoid);
``alerts/evaluation/scoring.py`` scores alert episodes by the same rules and should import them from here.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class NabProfile:
    name: str
    tp: float
    fp: float
    fn: float


#: NAB's cost matrices: standard, reward low false positives, reward low false negatives.
NAB_PROFILES = (NabProfile("standard", 1.0, 0.11, 1.0), NabProfile("low_fp", 1.0, 0.22, 1.0),
                NabProfile("low_fn", 1.0, 0.11, 2.0))
#: NAB's window: this share of the series length, split evenly over its anomalies.
WINDOW_SHARE = 0.1
#: NAB's probationary period: this share of the series, at most PROBATION_MAX rows.
PROBATION_SHARE = 0.15
PROBATION_MAX = 750
#: Thresholds :func:`best_thresholds` tries: 0.01 to 1.00 in steps of 0.01.
THRESHOLDS = tuple(round(0.01 * k, 2) for k in range(1, 101))


def scaled_sigmoid(y: float) -> float:
    """NAB's ``2 / (1 + e^(5y)) - 1``: near 1 at the start of a window (y = -1), 0 at its end."""
    return -1.0 if y > 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_rows(n: int) -> int:
    return min(int(PROBATION_SHARE * n), PROBATION_MAX)


def nab_windows(n: int, anomalies: Sequence[int], share: float = WINDOW_SHARE) -> list[tuple[int, int]]:
    """Windows ``(lo, hi)`` (inclusive rows) centred on each anomaly row, merged where they overlap."""
    if not anomalies:
        return []
    width = max(1, int(share * n / len(anomalies)))
    out: list[tuple[int, int]] = []
    for a in sorted(anomalies):
        lo = max(0, a - width // 2)
        hi = min(n - 1, a - width // 2 + width - 1)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


@dataclass
class NabTally:
    """One series' NAB parts, unweighted, so profiles and series add up."""

    windows: int = 0
    missed: int = 0
    tp: float = 0.0  # sum of s(y) / s(-1) over detected windows
    fp: float = 0.0  # sum of the (negative) unweighted false-detection scores
    false_detections: int = 0

    def add(self, other: "NabTally") -> None:
        self.windows += other.windows
        self.missed += other.missed
        self.tp += other.tp
        self.fp += other.fp
        self.false_detections += other.false_detections

    def raw(self, p: NabProfile) -> float:
        return p.tp * self.tp + p.fp * self.fp - p.fn * self.missed

    def normalised(self, p: NabProfile) -> float | None:
        """0 = silent, 100 = perfect; None when there is no window to score against."""
        if not self.windows:
            return None
        null, perfect = -p.fn * self.windows, p.tp * self.windows
        return 100.0 * (self.raw(p) - null) / (perfect - null)

    @classmethod
    def pooled(cls, parts: Iterable["NabTally"]) -> "NabTally":
        out = cls()
        for t in parts:
            out.add(t)
        return out


def tally(scores: Sequence[float], windows: Sequence[tuple[int, int]], threshold: float,
          probation: int = 0) -> NabTally:
    """One series' NAB parts at one threshold."""
    return ThresholdCurve(scores, windows, probation).at(threshold)


class ThresholdCurve:
    """A series' NAB parts at every threshold of :data:`THRESHOLDS`, from one pass over its scores.

    A window's credit at threshold ``t`` is the weight of its first row scoring ``>= t``: walking
    the window once, each new running maximum is that first row for every threshold it newly
    reaches. Outside the windows each row's cost is filed under the highest threshold it reaches,
    so the cost at ``t`` is a sum over the thresholds from ``t`` up.
    """

    def __init__(self, scores: Sequence[float], windows: Sequence[tuple[int, int]], probation: int = 0,
                 thresholds: Sequence[float] = THRESHOLDS) -> None:
        self.thresholds = tuple(thresholds)
        self.windows = len(windows)
        k = len(self.thresholds)
        tp_from = [0.0] * (k + 1)  # credit gained when the threshold falls to index j (difference array)
        detected_from = [0] * (k + 1)
        fp_at = [0.0] * (k + 1)
        fd_at = [0] * (k + 1)
        n = len(scores)
        inside = [False] * n
        for lo, hi in windows:
            width = hi - lo + 1
            reached = 0  # thresholds 0..reached-1 already have their first detection in this window
            for i in range(max(lo, probation), hi + 1):
                top = bisect.bisect_right(self.thresholds, scores[i])  # thresholds 0..top-1 detect row i
                if top > reached:
                    w = scaled_sigmoid(-(hi - i + 1) / width) / MAX_TP
                    # thresholds reached..top-1 first detect here; mark [reached, top) with w
                    tp_from[reached] += w
                    tp_from[top] -= w
                    detected_from[reached] += 1
                    detected_from[top] -= 1
                    reached = top
            for i in range(lo, hi + 1):
                inside[i] = True
        prev: tuple[int, int] | None = None
        wi = 0
        for i in range(probation, n):
            while wi < len(windows) and windows[wi][1] < i:
                prev = windows[wi]
                wi += 1
            if inside[i]:
                continue
            top = bisect.bisect_right(self.thresholds, scores[i])
            if top == 0:
                continue
            cost = -1.0 if prev is None else scaled_sigmoid((i - prev[1]) / max(prev[1] - prev[0], 1))
            fp_at[top - 1] += cost
            fd_at[top - 1] += 1
        # thresholds index j: tp is the running sum of the difference array; fp sums from j upward
        self._tp, self._detected, self._fp, self._fd = [], [], [0.0] * k, [0] * k
        run_tp, run_det = 0.0, 0
        for j in range(k):
            run_tp += tp_from[j]
            run_det += detected_from[j]
            self._tp.append(run_tp)
            self._detected.append(run_det)
        run_fp, run_fd = 0.0, 0
        for j in range(k - 1, -1, -1):
            run_fp += fp_at[j]
            run_fd += fd_at[j]
            self._fp[j], self._fd[j] = run_fp, run_fd

    def at(self, threshold: float) -> NabTally:
        j = bisect.bisect_left(self.thresholds, threshold)
        if j == len(self.thresholds) or not math.isclose(self.thresholds[j], threshold):
            raise ValueError(f"threshold {threshold} is not one of the swept thresholds")
        return NabTally(self.windows, self.windows - self._detected[j], self._tp[j], self._fp[j], self._fd[j])

    def all(self) -> list[NabTally]:
        return [self.at(t) for t in self.thresholds]


def best_thresholds(curves: Sequence[ThresholdCurve]) -> dict[str, tuple[float, NabTally]]:
    """Per profile, the threshold with the highest pooled raw score (NAB's per-detector optimisation)."""
    if not curves:
        return {}
    thresholds = curves[0].thresholds
    pooled = [NabTally.pooled(c.at(t) for c in curves) for t in thresholds]
    out = {}
    for p in NAB_PROFILES:
        # ties go to the higher threshold: fewer detections for the same score
        j = max(range(len(thresholds)), key=lambda j: (round(pooled[j].raw(p), 9), j))
        out[p.name] = (thresholds[j], pooled[j])
    return out
