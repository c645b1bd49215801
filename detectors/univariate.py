"""Streaming detectors for one numeric series (``borderwatch score``).

Scores live on the project's common scale through :func:`detectors.calibration.surprise`: the
tail probability ``p`` of the new value under the detector's model of the past becomes
``log10(1/p) / 4``, clamped to [0, 1]. So p = 1 % scores 0.5 (watch), 0.1 % scores 0.75
(warning) and 0.025 % scores 0.9 (critical), whichever detector produced p.

The contract: ``score_one(x, t=None)`` and ``learn_one(x, t=None)``, where ``x`` is the value
and ``t`` its time in seconds since 1970-01-01 UTC (``None`` when unknown; only the default
uses it). Causal by construction: ``score_one`` sees the model built from earlier values only,
and ``learn_one`` folds the value in afterwards. A value that is not a finite number scores 0
and teaches nothing. What a detector learns lives in the dataclass fields named by
``state_fields`` (plain JSON values), as for the segment detectors (``detectors/base.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from detectors.calibration import LOG10_SCALE, nb_upper_tail, surprise  # noqa: F401 -- surprise re-exported for callers


@dataclass
class EwmaZ:
    """Exponentially weighted mean and variance; the score is the normal upper tail of the new value.

    Assumes the recent past (about ``1/alpha`` points) is a fair baseline and deviations are
    roughly normal; fails on heavy-tailed counts (use a count model) and on slow drifts, which
    it absorbs. A value scoring at warning or above is learned clipped to mean + 3 sigma, so an
    unfolding escalation does not become the new normal at once.
    """

    alpha: float = 0.05
    warmup: int = 10
    min_std: float = 1e-6
    name: str = "ewma"
    state_fields = ("n", "mean", "var")
    n: int = 0
    mean: float = 0.0
    var: float = 0.0

    def score_one(self, x: float, t: float | None = None) -> float:
        if self.n < self.warmup or not math.isfinite(x):
            return 0.0
        std = max(math.sqrt(self.var), self.min_std)
        z = (x - self.mean) / std
        return surprise(0.5 * math.erfc(z / math.sqrt(2.0)))

    def learn_one(self, x: float, t: float | None = None) -> None:
        if not math.isfinite(x):
            return
        if self.n >= self.warmup:
            cap = self.mean + 3.0 * max(math.sqrt(self.var), self.min_std)
            if x > cap:
                x = cap
        self.n += 1
        if self.n == 1:
            self.mean, self.var = x, 0.0
            return
        a = self.alpha if self.n > self.warmup else 1.0 / self.n
        d = x - self.mean
        self.mean += a * d
        self.var = (1.0 - a) * (self.var + a * d * d)


@dataclass
class GammaPoisson:
    """Counts per step: a Gamma-Poisson (negative-binomial) predictive tail with forgetting.

    The rate has a Gamma(shape, rate) posterior, discounted by ``discount`` each step so the
    baseline follows slow change; the new count's score is the negative-binomial upper tail
    P(X >= x). Made for sparse incident counts, where a normal model calls every first event a
    disaster. Assumes non-negative integer values (others are rounded, negatives treated as 0);
    fails when counts are overdispersed beyond what the Gamma prior allows.
    """

    shape0: float = 0.5
    rate0: float = 1.0
    discount: float = 0.98
    name: str = "gamma-poisson"
    state_fields = ("shape", "rate")
    shape: float = 0.5
    rate: float = 1.0

    def __post_init__(self) -> None:
        self.shape, self.rate = self.shape0, self.rate0

    def score_one(self, x: float, t: float | None = None) -> float:
        if not math.isfinite(x):
            return 0.0
        k = max(0, int(round(x)))
        if k == 0:
            return 0.0
        # Predictive NB(r = shape, q = rate / (rate + 1)).
        return surprise(nb_upper_tail(k, self.shape, self.rate / (self.rate + 1.0)))

    def learn_one(self, x: float, t: float | None = None) -> None:
        if not math.isfinite(x):
            return
        k = max(0, int(round(x)))
        self.shape = self.discount * self.shape + (1 - self.discount) * self.shape0 + k
        self.rate = self.discount * self.rate + (1 - self.discount) * self.rate0 + 1.0


@dataclass
class WindowedGaussian:
    """NAB's ``windowedGaussian`` baseline: mean and spread of a trailing window, two-sided normal tail.

    The score is the probability, under a normal fitted to the last ``window`` values, of a
    value at least this far from their mean on either side. Every value enters the window, so a
    new level or spread becomes normal once it fills enough of it, and a spike widens the
    spread until it leaves. Fails on seasonal series (the cycle is noise to it), heavy tails and
    autocorrelated noise. The window of 200 rows was the best of 50 to 6400 on the labelled
    suite (``streams/series_suite.py``), so the default is compared with it at its best.
    """

    window: int = 200
    warmup: int = 10
    name: str = "windowed-gaussian"
    state_fields = ("values", "origin", "total", "total_sq", "since_exact")
    values: list = field(default_factory=list)
    #: the sums are of value - origin (the window's first value at the last exact pass), so a
    #: large level does not swallow a small spread in rounding
    origin: float = 0.0
    total: float = 0.0
    total_sq: float = 0.0
    since_exact: int = 0

    def score_one(self, x: float, t: float | None = None) -> float:
        n = len(self.values)
        if n < self.warmup or not math.isfinite(x):
            return 0.0
        if not (math.isfinite(self.total) and math.isfinite(self.total_sq)):
            return self._score_scaled(x)
        mean = self.total / n
        std = math.sqrt(max((self.total_sq - n * mean * mean) / (n - 1), 0.0))
        dev = abs(x - self.origin - mean)
        tiny = _tiny(self.origin + mean)
        if std <= tiny:  # a constant window: any change is as unusual as it gets
            return 0.0 if dev <= tiny else 1.0
        return surprise(math.erfc(dev / std * _SQRT_HALF))

    def _score_scaled(self, x: float) -> float:
        """The same score from the window itself in units of its largest value: finite values whose
        squares (or differences) overflow a float, such as 1e300, still have a finite z."""
        scale = max(abs(x), *(abs(v) for v in self.values)) or 1.0
        u = [v / scale for v in self.values]
        mean = math.fsum(u) / len(u)
        std = math.sqrt(math.fsum((v - mean) * (v - mean) for v in u) / (len(u) - 1))
        dev = abs(x / scale - mean)
        tiny = _tiny(mean)
        if std <= tiny:
            return 0.0 if dev <= tiny else 1.0
        return surprise(math.erfc(dev / std * _SQRT_HALF))

    def learn_one(self, x: float, t: float | None = None) -> None:
        if not math.isfinite(x):
            return
        self.values.append(x)
        d = x - self.origin
        self.total += d
        self.total_sq += d * d
        if len(self.values) > self.window:
            old = self.values.pop(0) - self.origin
            self.total -= old
            self.total_sq -= old * old
        self.since_exact += 1
        if self.since_exact >= self.window or len(self.values) == 1:
            # running sums drift by rounding: start them again from the window itself now and then
            self.origin = self.values[0]
            try:
                self.total = math.fsum(v - self.origin for v in self.values)
                self.total_sq = math.fsum((v - self.origin) ** 2 for v in self.values)
            except (OverflowError, ValueError):  # values near the float range: score_one rescales
                self.total = self.total_sq = math.inf
            self.since_exact = 0


_SQRT_HALF = math.sqrt(0.5)
_LN2 = math.log(2.0)
#: Mean absolute deviation of a normal variable, in standard deviations: sqrt(2 / pi).
_MEAN_ABS_NORMAL = math.sqrt(2.0 / math.pi)
#: Evidence in nats (ln 1/p) at score 1 on the common scale (p = 10^-LOG10_SCALE) and at its
#: watch line, 0.5 (p = 1 %).
_NATS_AT_ONE = LOG10_SCALE * math.log(10.0)
_WATCH_NATS = 0.5 * _NATS_AT_ONE
HOUR_SECONDS, DAY_SECONDS = 3600.0, 86400.0


def _tiny(level: float) -> float:
    """The smallest spread worth dividing by at this level (below it, differences are rounding)."""
    return 1e-12 * max(1.0, abs(level))


def _normal_mean_excess(u: float) -> float:
    """E[|z| - u | |z| > u] for a standard normal z."""
    return math.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi) / (0.5 * math.erfc(u * _SQRT_HALF)) - u


#: What the default watches, in the order of its per-statistic state (``cusum``, ``tails``).
STATISTICS = ("point", "mean_up", "mean_down", "spread_up", "spread_down")
#: Weighted Bonferroni shares of the combined score: the point test gets half, each CUSUM an
#: eighth, so under the model P(score >= surprise(p)) <= p and the score stays on the common scale.
_SHARES = (0.5, 0.125, 0.125, 0.125, 0.125)
_SHARE_NATS = tuple(-math.log(w) for w in _SHARES)
#: Per statistic, the theory each tail starts from: (threshold u, P(stat > u), mean excess over u).
#: Point: |z| of a normal. CUSUMs of log-likelihood ratios: P(S > s) <= exp(-s) (Wald), an
#: exponential tail of mean excess 1.
_TAIL_THEORY = ((2.0, math.erfc(2.0 * _SQRT_HALF), _normal_mean_excess(2.0)),) + ((2.0, math.exp(-2.0), 1.0),) * 4


@dataclass
class RobustSeasonal:
    """Robust seasonal baseline; two-sided point tail, level and spread CUSUMs; one calibrated score.

    The model: ``value = level + season[phase] + noise``.

    * **Season**, from the timestamps: rows 1 min to 3 h apart get a time-of-day profile (24
      hourly bins, or as many as fit rows up to 3 h apart), rows 12 to 36 h apart a day-of-week
      profile (7 bins), decided from the median
      spacing of the first ``cadence_samples`` rows (UTC). Each bin learns ``season_alpha`` of its
      residual per cycle, and the profile is used only once every bin has been seen for two
      cycles and it makes the residual spread at least ``1 - season_gain`` smaller than a flat
      baseline would.
    * **Level** and **spread**: a Huber-clipped EWMA of the residual (``level_alpha``, clipped at
      ``huber`` spreads) and EWMAs of the absolute residual and of the absolute difference of
      successive residuals (``scale_alpha``, clipped at ``scale_clip`` spreads), read as normal
      standard deviations, never below ``grain_share`` of the data's grain (the typical nonzero
      step between rows: else counts that are nearly always 0 have no spread, and every other
      value would be infinitely unusual). Only rows scoring below ``guard`` are learned, so an
      incident does not become the baseline.
    * **Five statistics** of the standardised residual ``z``: ``|z|`` (two-sided), CUSUMs of the
      log-likelihood ratio for a shift of one spread up and down (each step clipped at
      ``step_clip``, so one outlier is the point test's business), and CUSUMs for the spread
      doubling or halving, on successive differences of the residual (a level shift moves one
      difference, a change of spread all of them).
    * **Calibration**: each statistic's ``p`` is the larger of its theory and the series' own
      tail (peaks over a threshold with an exponential tail, a memory of ``tail_memory`` rows,
      ``tail_prior_rows`` rows of theory as prior), so a heavy-tailed or autocorrelated series
      calms down. The point tail learns every row (else a heavy tail, never quiet, would never
      be learned); the CUSUM tails learn quiet rows only, so a change that scores high stays
      out of them. The score is ``surprise(min p_i / share_i)`` (weighted Bonferroni).
    * **A new normal**: a CUSUM whose calibrated evidence reaches ``adopt_nats`` (p about 6e-6),
      or whose run has lasted ``patience`` rows while it could still alarm on its own, has found
      a change, and the change is adopted: the level moves by the mean residual since the
      shift's most likely start among the last ``recent_rows`` rows (or the spreads scale by the
      root mean square of the standardised differences, at most halving at once), and the
      CUSUMs restart. So no CUSUM alarms for more than ``patience`` (48) rows of one run, and a
      sustained level shift of ``d`` spreads (``d`` >= 1) is adopted on average after
      ``adopt_nats / (min(d, step_clip) - 1/2)`` rows where the series' CUSUM tail is the
      theory's (24 rows for one spread, 5 from three): its alarms end there.

    Fails on: cycles other than daily or weekly (and a weekly cycle in hourly data: one profile
    only), a seasonal amplitude that grows with the level, slow drifts (absorbed over about
    ``1/level_alpha`` rows), sparse counts (use ``gamma-poisson``), and long gaps (learning is
    per row, not per hour). The first ``warmup`` rows score 0.
    """

    warmup: int = 10
    level_alpha: float = 0.02
    scale_alpha: float = 0.02
    season_alpha: float = 0.15
    season_gain: float = 0.85
    huber: float = 2.0
    scale_clip: float = 4.0
    step_clip: float = 3.0
    adopt_nats: float = 12.0
    patience: int = 48
    recent_rows: int = 32
    grain_share: float = 0.1
    tail_memory: float = 1000.0
    tail_prior_rows: float = 200.0
    cadence_samples: int = 12
    guard: float = 0.65
    name: str = "robust-seasonal"
    state_fields = ("n", "level", "m2", "flat_scale", "season_scale", "diff_scale", "grain", "last_resid", "last_t",
                    "spacings", "period", "bin_width", "rows_per_bin", "season", "seen", "bins_seen", "season_rows", "cusum",
                    "run_n", "spread_run", "recent", "tails", "tail_weight")
    n: int = 0
    level: float = 0.0
    #: sum of squared deviations during the warm-up (Welford)
    m2: float = 0.0
    #: residual spreads (normal standard deviations) without and with the seasonal profile
    flat_scale: float = 0.0
    season_scale: float = 0.0
    #: spread of the difference of successive residuals
    diff_scale: float = 0.0
    #: typical size of a nonzero difference between successive residuals
    grain: float = 0.0
    last_resid: float | None = None
    last_t: float | None = None
    #: spacings of the first rows, until the period is decided
    spacings: list = field(default_factory=list)
    #: "" undecided, "day" (hour-of-day bins), "week" (day-of-week bins) or "none"
    period: str = ""
    bin_width: float = HOUR_SECONDS
    rows_per_bin: float = 1.0
    season: list = field(default_factory=list)
    seen: list = field(default_factory=list)
    bins_seen: int = 0
    season_rows: int = 0
    #: per CUSUM (mean up, mean down, spread up, spread down): the statistic, and the rows since
    #: it last stood at zero (its run)
    cusum: list = field(default_factory=lambda: [0.0] * 4)
    run_n: list = field(default_factory=lambda: [0] * 4)
    #: per spread CUSUM, the sum of squared standardised differences over its run
    spread_run: list = field(default_factory=lambda: [0.0] * 2)
    #: the last ``recent_rows`` residuals, to place a confirmed level shift (oldest first)
    recent: list = field(default_factory=list)
    #: per statistic: weight of rows, of rows over the tail threshold, of their excess over it;
    #: weights grow by 1/decay a row instead of every sum decaying (only ratios are read)
    tails: list = field(default_factory=lambda: [0.0] * 15)
    tail_weight: float = 1.0

    def __post_init__(self) -> None:
        self._memo = None

    def after_load(self) -> None:
        self._memo = None

    def score_one(self, x: float, t: float | None = None) -> float:
        if not math.isfinite(x):
            return 0.0
        return self._read(x, t)[0]

    def learn_one(self, x: float, t: float | None = None) -> None:
        if not math.isfinite(x):
            return
        score, reading = self._read(x, t)
        self._memo = None
        self._learn_cadence(t)
        if reading is None:
            self._learn_warmup(x)
            return
        self.n += 1
        phase, r, r_flat, r_season, scale, d, floor, stats = reading
        quiet = score < self.guard
        S, run_n, spread_run = self.cusum, self.run_n, self.spread_run
        zd2 = min((d / max(self.diff_scale, floor)) ** 2, 100.0)  # one wild row cannot set the spread
        if abs(d) > floor:  # every row: the grain is what the data can resolve, outliers included
            self.grain += self.scale_alpha * (abs(d) - self.grain) if self.grain else abs(d)
        for k in range(4):
            s = stats[k + 1]
            S[k] = s
            if s == 0.0:
                run_n[k] = 0
                if k >= 2:
                    spread_run[k - 2] = 0.0
            else:
                run_n[k] += 1
                if k >= 2:
                    spread_run[k - 2] += zd2
        self._learn_tails(stats, quiet)
        if quiet:
            self._learn_baseline(x, phase, r, r_flat, r_season, scale, d, floor)
        self.last_resid = r
        recent = self.recent
        recent.append(r)
        if len(recent) > self.recent_rows:
            del recent[0]
        self._adopt()

    # ------------------------------------------------------------------ reading a value
    def _read(self, x: float, t: float | None):
        """(score, reading) of ``x`` at ``t``; the reading is what learning needs (None in the warm-up).

        Kept for the next call, since the driver scores a value and then learns the same value.
        """
        memo = self._memo
        if memo is not None and memo[0] == x and memo[1] == t and memo[2] == self.n:
            return memo[3]
        out = (0.0, None) if self.n < self.warmup else self._evaluate(x, t)
        self._memo = (x, t, self.n, out)
        return out

    def _evaluate(self, x: float, t: float | None):
        phase = self._phase(t)
        level = self.level
        season = self.season
        if season:
            mean_s = sum(season) / len(season)
            s_phase = season[phase] if phase is not None and self.seen[phase] else mean_s
        else:
            mean_s = s_phase = 0.0
        r_flat = x - level - mean_s
        r_season = x - level - s_phase
        tiny = self._floor()
        if phase is not None and self.season_scale < self.season_gain * self.flat_scale and self._season_ready():
            r, scale = r_season, max(self.season_scale, tiny)
        else:
            r, scale = r_flat, max(self.flat_scale, tiny)
        z = r / scale
        d = 0.0 if self.last_resid is None else r - self.last_resid
        zd = d / max(self.diff_scale, tiny)
        c = self.step_clip
        zc = c if z > c else -c if z < -c else z
        zd = c if zd > c else -c if zd < -c else zd
        S = self.cusum
        # CUSUMs of log-likelihood ratios: mean shifted by +-1 spread; spread x2 and x1/2
        up = S[0] + zc - 0.5
        down = S[1] - zc - 0.5
        wider = S[2] - _LN2 + 0.375 * zd * zd
        # a spread already at its floor cannot narrow further: equal values are no evidence
        narrower = S[3] + _LN2 - 1.5 * zd * zd if self.diff_scale > tiny else 0.0
        stats = (abs(z), up if up > 0.0 else 0.0, down if down > 0.0 else 0.0, wider if wider > 0.0 else 0.0,
                 narrower if narrower > 0.0 else 0.0)
        p_point = math.erfc(stats[0] * _SQRT_HALF)
        best = 0.0
        for k in range(5):
            # theory first: the calibrated evidence never exceeds it, so most statistics stop here
            theory = stats[k] if k else (-math.log(p_point) if p_point > 0.0 else math.inf)
            if theory - _SHARE_NATS[k] > best:
                evidence = self._tail_nats(k, stats[k], theory) - _SHARE_NATS[k]
                if evidence > best:
                    best = evidence
        score = best / _NATS_AT_ONE
        return (1.0 if score > 1.0 else score), (phase, r, r_flat, r_season, scale, d, tiny, stats)

    def _floor(self) -> float:
        """The smallest spread the detector believes in: rounding, or a share of the data's grain.

        Without it a series of mostly equal values (counts that are nearly always 0) has a
        spread of zero, and every other value would be infinitely surprising.
        """
        return max(_tiny(self.level), self.grain_share * self.grain)

    def _tail_nats(self, k: int, v: float, theory: float) -> float:
        """ln(1/p) of statistic ``k`` at ``v``: p = max(theory, the series' own tail)."""
        u, q_theory, excess_theory = _TAIL_THEORY[k]
        total, over, excess = self.tails[3 * k:3 * k + 3]
        prior = self.tail_weight * self.tail_prior_rows
        own = -math.log((over + prior * q_theory) / (total + prior))
        if v > u:
            own += (v - u) * (over + prior * q_theory) / (excess + prior * q_theory * excess_theory)
        return theory if theory < own else own

    # ------------------------------------------------------------------ the season
    def _phase(self, t: float | None) -> int | None:
        if t is None or not self.season:
            return None
        if self.period == "day":
            return min(int(t % DAY_SECONDS // self.bin_width), len(self.season) - 1)
        return int((t // DAY_SECONDS + 3) % 7)  # 1970-01-01 was a Thursday; Monday is 0

    def _season_ready(self) -> bool:
        bins = len(self.season)
        return self.bins_seen == bins and self.season_rows >= 2 * bins * self.rows_per_bin

    def _learn_cadence(self, t: float | None) -> None:
        """Decide the season from the median spacing of the first rows (robust to a gap or two)."""
        if t is None:
            return
        if not self.period and self.last_t is not None and t > self.last_t:
            self.spacings.append(t - self.last_t)
            if len(self.spacings) >= self.cadence_samples:
                step = sorted(self.spacings)[len(self.spacings) // 2]
                if 60.0 <= step <= 3 * HOUR_SECONDS:
                    # an hour a bin, or a row's spacing where rows are further apart (every bin is visited)
                    width = max(HOUR_SECONDS, step)
                    self.period, bins = "day", int(DAY_SECONDS // width)
                elif 12 * HOUR_SECONDS <= step <= 36 * HOUR_SECONDS:
                    self.period, bins, width = "week", 7, DAY_SECONDS
                else:
                    self.period, bins, width = "none", 0, step
                self.bin_width, self.rows_per_bin = width, max(1.0, width / step)
                self.season, self.seen, self.spacings = [0.0] * bins, [0] * bins, []
        self.last_t = t

    # ------------------------------------------------------------------ learning
    def _learn_warmup(self, x: float) -> None:
        self.n += 1
        delta = x - self.level
        self.level += delta / self.n
        self.m2 += delta * (x - self.level)
        if self.n == self.warmup:
            sd = math.sqrt(self.m2 / max(self.n - 1, 1))
            self.flat_scale = self.season_scale = sd
            self.diff_scale = sd * math.sqrt(2.0)

    def _learn_baseline(self, x, phase, r, r_flat, r_season, scale, d, floor) -> None:
        level = self.level
        h = self.huber * scale
        self.level = level + self.level_alpha * (h if r > h else -h if r < -h else r)
        a, clip = self.scale_alpha, self.scale_clip
        self.flat_scale += a * (min(abs(r_flat), clip * self.flat_scale) / _MEAN_ABS_NORMAL - self.flat_scale)
        if self.last_resid is not None:
            self.diff_scale += a * (min(abs(d), clip * self.diff_scale) / _MEAN_ABS_NORMAL - self.diff_scale)
        if not self.season:
            self.season_scale = self.flat_scale
            return
        self.season_scale += a * (min(abs(r_season), clip * self.season_scale) / _MEAN_ABS_NORMAL
                                  - self.season_scale)
        if phase is None:
            return
        if not self.seen[phase]:
            self.season[phase] = x - level
            self.seen[phase] = 1
            self.bins_seen += 1
        else:
            e = x - level - self.season[phase]
            hs = self.huber * max(self.season_scale, floor)
            self.season[phase] += self.season_alpha / self.rows_per_bin * (hs if e > hs else -hs if e < -hs else e)
        self.season_rows += 1

    def _learn_tails(self, stats, quiet: bool) -> None:
        w, tails = self.tail_weight, self.tails
        for k in range(5 if quiet else 1):  # the point tail learns every row, the CUSUM tails quiet ones
            u, v = _TAIL_THEORY[k][0], stats[k]
            tails[3 * k] += w
            if v > u:
                tails[3 * k + 1] += w
                tails[3 * k + 2] += w * (v - u)
        w /= 1.0 - 1.0 / self.tail_memory
        if w > 1e100:  # only ratios of the sums are read: bring them back to a safe range
            self.tails = [v / w for v in tails]
            w = 1.0
        self.tail_weight = w

    def _new_level(self, sign: float, rows: int) -> float:
        """The shift of a confirmed level change: the mean residual since its most likely start.

        Among the last ``rows`` residuals (the CUSUM's run), the start maximising the evidence
        for a shift in this direction, ``sign * sum / sqrt(count)`` of the residuals from it on;
        the run's own start comes too early when noise had already lifted the CUSUM.
        """
        tail = self.recent[len(self.recent) - rows:]
        best, shift, total = -math.inf, 0.0, 0.0
        for count, v in enumerate(reversed(tail), 1):
            total += v
            if count >= min(3, rows) and sign * total / math.sqrt(count) > best:
                best, shift = sign * total / math.sqrt(count), total / count
        return shift

    def _adopt(self) -> None:
        """A change the CUSUMs are sure of becomes the new normal: re-centre or re-scale, restart.

        Sure: its calibrated evidence reaches ``adopt_nats``; or its run has lasted ``patience``
        rows and the statistic could still alarm on its own (a series whose calibration has
        learned the start of a change would otherwise keep alarming; re-centring on what was
        noise after all costs nothing).
        """
        S, run_n = self.cusum, self.run_n
        if max(S) < _WATCH_NATS + _SHARE_NATS[1]:
            return  # the usual row: no CUSUM could alarm
        for k in sorted(range(4), key=S.__getitem__, reverse=True):
            could_alarm = S[k] >= _WATCH_NATS + _SHARE_NATS[k + 1]  # the calibrated evidence is never higher
            if not could_alarm:
                return
            if run_n[k] >= self.patience or self._tail_nats(k + 1, S[k], S[k]) >= self.adopt_nats:
                break
        else:
            return
        if k < 2:
            shift = self._new_level(1.0 if k == 0 else -1.0, min(run_n[k], len(self.recent)))
            self.level += shift
            self.last_resid -= shift
            self.recent = [v - shift for v in self.recent]
        else:
            # at most halve per adoption (the narrower CUSUM's design ratio): a stretch of equal
            # values must not collapse the spread at once
            factor = max(math.sqrt(self.spread_run[k - 2] / run_n[k]), 0.5)
            self.flat_scale *= factor
            self.season_scale *= factor
            self.diff_scale *= factor
        self.cusum, self.run_n, self.spread_run = [0.0] * 4, [0] * 4, [0.0] * 2


UNIVARIATE = {"ewma": EwmaZ, "gamma-poisson": GammaPoisson, "windowed-gaussian": WindowedGaussian,
              "robust-seasonal": RobustSeasonal}
#: What ``--detector default`` means for a univariate series.
DEFAULT_UNIVARIATE = "robust-seasonal"


def make_univariate(name: str):
    key = DEFAULT_UNIVARIATE if name == "default" else name
    try:
        return UNIVARIATE[key]()
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: default, {', '.join(sorted(UNIVARIATE))}") from None
