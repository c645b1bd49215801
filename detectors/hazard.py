"""The chance of a deadly clash within the next 60 days, from the border's recent history.

A discrete-time hazard model: on a day with incidents, the probability that a new deadly clash
(an onset: deaths after at least 90 days without) breaks out on the border within the next
``horizon_days`` is

    p = sigmoid(intercept + sum_i coef_i * (x_i - mean_i) / scale_i + u_border)

over the inputs :data:`INPUTS`: the log of each decayed count (:mod:`detectors.features`: shows
of force, use of force without deaths and deadly incidents, each with half-lives from a week to
five years), the time since the last death in five bands, and the incursions, detentions and
interdictions of the last week. Precursors -- use of force
without deaths, shows of force, fortification, incursions, seizures in the weeks before -- are
what raises ``p``; deaths a few weeks ago lower it (a clash within 90 days of the last one
continues an episode rather than opening one).

**Learned across borders with partial pooling.** ``u_border`` is a random intercept per
training border, shrunk toward 0 with the between-border spread ``border_sd`` estimated by
empirical Bayes (``streams.training``); a border the model never saw gets the pooled 0. The
coefficients are fitted offline by ``borderwatch train`` and shipped as a
:class:`HazardModel` (a JSON artifact with its version, parameters and a digest of its
training data); this module only evaluates them, it neither learns nor reads files.

**Calibrated, and levels are probabilities.** The model's output is a probability (the
reliability diagram of ``make eval`` and ``backtest --report`` checks it); each alert level
stands for a stated range (``HazardModel.levels``, e.g. watch 9-20 %), mapped onto the common
score scale so that the escalation thresholds (:data:`detectors.calibration.LEVEL_SCORES`) fall
exactly on the level probabilities.

Assumes the source codes incidents and deaths consistently over time and across borders
(severity per docs/FORMATS.md); fails where reporting volume changes (a new source looks like
a build-up), on escalations with no precursor in the stream (no lead time is possible), and on
borders whose dynamics differ from every training border.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from borderwatch.errors import BorderwatchError
from detectors.base import Features
from detectors.calibration import LEVEL_NAMES, LEVEL_SCORES
from detectors.features import CLASSES, HALF_LIVES, NEVER, decayed_name, log_counts
from detectors import features as F

#: Version of the artifact's layout; a model file of another version is refused, not misread.
FORMAT_VERSION = 1
#: Edges (days since the last death) of the quiet bands: <30, 30-89, 90-364, 365-1824, 1825+.
QUIET_EDGES: tuple[int, ...] = (30, 90, 365, 1825)
QUIET_INPUTS: tuple[str, ...] = ("quiet_lt30", "quiet_30_89", "quiet_90_364", "quiet_365_1824", "quiet_1825_plus")
#: Incursions, detentions and interdictions of the last seven days (log1p). The decayed counts fold
#: them into shows of force; on the development borders a week of them says less about a coming
#: clash than as many threats, shows of force or fortifications (the fit weighs it negatively beside
#: the display counts), and telling them apart gave one more early warning and fewer false alarms,
#: cross-validated.
INTRUSION_INPUTS: tuple[str, ...] = (F.INTRUSION_7D,)
#: Half-lives of the decayed counts the model reads, of those the pipeline keeps
#: (detectors.features.HALF_LIVES): the 90-day count is left out, as the fit without it ranks and
#: calibrates better on borders it never saw, held out one at a time or by state (docs/DETECTION.md).
MODEL_HALF_LIVES: tuple[int, ...] = (7, 30, 365, 1825)
DECAYED_INPUTS: tuple[str, ...] = tuple(decayed_name(c, h) for c in CLASSES for h in MODEL_HALF_LIVES)
#: The model's inputs, in order: log1p of each decayed count it reads, the quiet band indicators,
#: then log1p of the recent intrusions.
INPUTS: tuple[str, ...] = DECAYED_INPUTS + QUIET_INPUTS + INTRUSION_INPUTS
#: What the model forecasts: an onset within this many days (the reference scorer's early window).
HORIZON_DAYS = 60
#: Probability at the score scale's ends (below: 0, above: 1); the level anchors sit between.
_P_FLOOR, _P_CEIL = 0.001, 0.99


class ModelError(BorderwatchError, ValueError):
    """A model artifact that cannot be used (wrong version, missing or inconsistent fields)."""


def inputs(features: Features) -> list[float]:
    """The model's input vector from pipeline features (missing decayed counts read as 0)."""
    x = log_counts(features, DECAYED_INPUTS)
    quiet = features.get(F.DAYS_SINCE_FATAL)
    quiet = NEVER if quiet is None else float(quiet)
    band = sum(quiet >= edge for edge in QUIET_EDGES)
    x.extend(1.0 if i == band else 0.0 for i in range(len(QUIET_INPUTS)))
    x.extend(log_counts(features, INTRUSION_INPUTS))
    return x


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class HazardModel:
    """A trained hazard model: what ``borderwatch train`` writes and the worker loads."""

    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    #: watch / warning / critical -> the lowest probability of that level
    levels: Mapping[str, float]
    inputs: tuple[str, ...] = INPUTS
    horizon_days: int = HORIZON_DAYS
    #: training border (sorted ISO3 pair) -> its shrunken random intercept
    border_effects: Mapping[str, float] = field(default_factory=dict)
    border_sd: float = 0.0
    #: how it was made: parameters, training files and labels with their digests, row counts
    training: Mapping[str, Any] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        n = len(self.inputs)
        if tuple(self.inputs) != INPUTS:
            raise ModelError(f"the model's inputs {list(self.inputs)} are not this version's {list(INPUTS)}")
        if not (len(self.coef) == len(self.mean) == len(self.scale) == n):
            raise ModelError(f"coef, mean and scale need {n} values each")
        if any(s <= 0 for s in self.scale):
            raise ModelError("every scale must be positive")
        # JSON's NaN and Infinity parse as floats: a NaN coefficient made every forecast NaN, which
        # read as certain (every incident day critical) instead of as a broken file.
        numbers = {"coef": self.coef, "intercept": (self.intercept,), "mean": self.mean, "scale": self.scale,
                   "border_effects": tuple(self.border_effects.values()), "border_sd": (self.border_sd,)}
        broken = [name for name, values in numbers.items() if not all(math.isfinite(v) for v in values)]
        if broken:
            raise ModelError(f"{', '.join(broken)} must be finite numbers (not NaN or Infinity)")
        if self.horizon_days < 1:
            raise ModelError(f"horizon_days must be a positive number of days, got {self.horizon_days}")
        probs = [self.levels.get(name) for name in LEVEL_NAMES]
        if None in probs or not all(_P_FLOOR < a < b < _P_CEIL for a, b in zip(probs, probs[1:])) \
                or not _P_FLOOR < probs[0]:
            raise ModelError(f"levels need increasing probabilities for {', '.join(LEVEL_NAMES)} "
                             f"between {_P_FLOOR} and {_P_CEIL}, got {dict(self.levels)}")

    # ------------------------------------------------------------------ evaluation
    def log_odds(self, features: Features, border: str | None = None) -> float:
        x = inputs(features)
        z = self.intercept + self.border_effects.get(border or "", 0.0)
        for xi, c, m, s in zip(x, self.coef, self.mean, self.scale):
            z += c * (xi - m) / s
        return z

    def probability(self, features: Features, border: str | None = None) -> float:
        return _sigmoid(self.log_odds(features, border))

    def contributions(self, features: Features) -> list[tuple[str, float]]:
        """Each input's push on the log-odds against the training average, largest first."""
        x = inputs(features)
        parts = [(name, c * (xi - m) / s) for name, xi, c, m, s in zip(self.inputs, x, self.coef, self.mean, self.scale)]
        return sorted(parts, key=lambda t: -abs(t[1]))

    # ------------------------------------------------------------------ the common scale
    def _anchors(self) -> list[tuple[float, float]]:
        """(log-odds, score) knots: the level probabilities land on the escalation thresholds."""
        knots = [(_logit(_P_FLOOR), 0.0)]
        knots += [(_logit(self.levels[name]), s) for name, s in zip(LEVEL_NAMES, LEVEL_SCORES)]
        knots.append((_logit(_P_CEIL), 1.0))
        return knots

    def score(self, p: float) -> float:
        """Probability -> the common [0, 1] scale, piecewise linear in log-odds between the level knots."""
        if p <= _P_FLOOR:
            return 0.0
        if p >= _P_CEIL:
            return 1.0
        z = _logit(p)
        knots = self._anchors()
        for (z0, s0), (z1, s1) in zip(knots, knots[1:]):
            if z <= z1:
                return s0 + (s1 - s0) * (z - z0) / (z1 - z0)
        return 1.0

    def probability_at(self, score: float) -> float:
        """Inverse of :meth:`score`: the probability a point of the common scale stands for."""
        knots = self._anchors()
        if score <= 0.0:
            return _P_FLOOR
        for (z0, s0), (z1, s1) in zip(knots, knots[1:]):
            if score <= s1:
                return _sigmoid(z0 + (z1 - z0) * (score - s0) / (s1 - s0))
        return _P_CEIL

    def level_of(self, p: float) -> str | None:
        """The level whose probability range holds ``p`` (None: below watch)."""
        name = None
        for level in LEVEL_NAMES:
            if p >= self.levels[level]:
                name = level
        return name

    def level_ranges(self) -> dict[str, tuple[float, float | None]]:
        """watch -> (its lowest probability, the next level's), the top level open-ended."""
        probs = [self.levels[name] for name in LEVEL_NAMES]
        return {name: (lo, hi) for name, lo, hi in zip(LEVEL_NAMES, probs, [*probs[1:], None])}

    # ------------------------------------------------------------------ the artifact
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("coef", "mean", "scale", "inputs"):
            d[k] = list(d[k])
        d["levels"] = dict(self.levels)
        d["border_effects"] = dict(sorted(self.border_effects.items()))
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HazardModel":
        if not isinstance(d, Mapping):
            raise ModelError("a model is a JSON object")
        if d.get("version") != FORMAT_VERSION:
            raise ModelError(f"model format version {d.get('version')!r}; this borderwatch reads version {FORMAT_VERSION}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelError(f"unknown field(s) {', '.join(unknown)}")
        missing = sorted(k for k in ("coef", "intercept", "mean", "scale", "levels") if k not in d)
        if missing:
            raise ModelError(f"missing field(s) {', '.join(missing)}")
        try:
            return cls(coef=tuple(map(float, d["coef"])), intercept=float(d["intercept"]),
                       mean=tuple(map(float, d["mean"])), scale=tuple(map(float, d["scale"])),
                       levels={str(k): float(v) for k, v in d["levels"].items()},
                       inputs=tuple(d.get("inputs", INPUTS)), horizon_days=int(d.get("horizon_days", HORIZON_DAYS)),
                       border_effects={str(k): float(v) for k, v in (d.get("border_effects") or {}).items()},
                       border_sd=float(d.get("border_sd", 0.0)), training=dict(d.get("training") or {}),
                       version=int(d["version"]))
        except (TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"a field has the wrong type: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> "HazardModel":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ModelError(f"not JSON: line {exc.lineno}: {exc.msg}") from None

    @functools.cached_property
    def digest(self) -> str:
        """Identity of the model: sha256 of its canonical JSON (what segment state records).

        Computed once: the model is frozen, and every forecast names it."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def percent_digits(p: float) -> int:
    """Decimals a probability is written with, in percent: one below 9.5 % (0.6 %, 9.0 %), none from there (14 %)."""
    return 1 if p < 0.095 else 0


def percent(p: float) -> str:
    """A probability as people read it: 14 %, 0.6 %, 35 % (the engineering text, in English)."""
    return f"{p * 100:.{percent_digits(p)}f} %"


@dataclass
class HazardDetector:
    """The hazard model behind the streaming contract; learns nothing online.

    ``for_border`` gives the copy a segment uses, with its border's random intercept (0 for a
    border the model never saw).
    """

    model: HazardModel
    border: str | None = None
    name: str = "clash_hazard"

    @property
    def identity(self) -> str:
        """What segment state records about who scored it: another model's state is rebuilt."""
        return f"{self.name}:{self.model.digest[:16]}"

    def for_border(self, border: str) -> "HazardDetector":
        bound = copy.copy(self)
        bound.border = border
        return bound

    def probability(self, features: Features) -> float:
        return self.model.probability(features, self.border)

    def learn_one(self, features: Features) -> None:
        return None

    def score_one(self, features: Features) -> float:
        return self.model.score(self.probability(features)) if grounded(features) else 0.0

    def deviations(self, features: Features) -> list[dict]:
        """The inputs that pushed the probability most, as the model's own view (engineering detail)."""
        x = dict(zip(self.model.inputs, inputs(features)))
        mean = dict(zip(self.model.inputs, self.model.mean))
        return [{"feature": name, "baseline": round(mean[name], 3), "now": round(x[name], 3),
                 "log_odds": round(push, 3)}
                for name, push in self.model.contributions(features)[:4] if abs(push) >= 0.05]

    def forecast(self, features: Features) -> dict[str, Any]:
        """What the alert explanation carries: the probability, its horizon and what each level means."""
        p = self.probability(features)
        level = self.model.level_of(p) if grounded(features) else None
        return {"probability": round(p, 4), "horizon_days": self.model.horizon_days, "level": level,
                "levels": {name: {"from": lo, "to": hi} for name, (lo, hi) in self.model.level_ranges().items()},
                "text": self.explain(features), "model": self.model.digest[:16]}

    def explain(self, features: Features) -> str:
        """Plain words: the probability, what its level means, and the precursors behind it."""
        p = self.probability(features)
        level = self.model.level_of(p)
        lo_hi = self.model.level_ranges().get(level) if level else None
        if not grounded(features):
            meaning = f"no level: {UNGROUNDED}"
        elif lo_hi is None:
            meaning = f"below the watch line of {percent(self.model.levels[LEVEL_NAMES[0]])}"
        elif lo_hi[1] is None:
            meaning = f"{level}: {percent(lo_hi[0])} or more"
        else:
            meaning = f"{level}: {percent(lo_hi[0])} to {percent(lo_hi[1])}"
        return (f"a {percent(p)} chance of a deadly clash on this border within {self.model.horizon_days} days "
                f"({meaning}); {precursors(features)}")


#: The five-year record a segment with no deaths on record needs before a forecast speaks there:
#: the incidents of the last five years, each decayed at the five-year half-life (about 2.5
#: incidents, so a segment's first two or three never raise a forecast).
RECORD_MIN = 2.5
#: The half-life (days) of the record :data:`RECORD_MIN` reads: the longest the pipeline keeps.
RECORD_HALF_LIFE = HALF_LIVES[-1]
#: Why a forecast raises no level where :func:`grounded` is false, in the explanation's words.
UNGROUNDED = "no deaths on record, and no use of force in the last 30 days or too few incidents in five years"


def record(features: Features) -> float:
    """The segment's five-year record: its incidents, each decayed at :data:`RECORD_HALF_LIFE`."""
    return sum(float(features.get(decayed_name(c, RECORD_HALF_LIFE)) or 0.0) for c in CLASSES)


def grounded(features: Features) -> bool:
    """Whether the forecast may raise a level: deaths are on record on the segment, or force was
    used there in the last 30 days (hostility 4 or more, or a clash, shelling or drone strike) on
    a segment with a record (:data:`RECORD_MIN`).

    Where neither holds, the forecast stays below watch whatever its probability. The alerts it
    opened on segments with no deaths on record were nearly all false alarms on every input they
    were counted on (docs/DETECTION.md): none of 27 alert groups on Central Asia led to an episode,
    none of 47 over the synthetic scenarios, about one of 24 on the development borders. A border
    that has never seen deaths has to see force used before a forecast of deaths warns on it, and
    more than its first encounters: the model is calibrated on borders with a history, and on
    Central Asia's borders a first use of force on record (Kyrgyzstan-Uzbekistan 1999,
    Afghanistan-Turkmenistan 2014) led to nothing. A wave of shows of force on such a border is
    left to the surge view and the operators.
    """
    if deaths_on_record(features):
        return True
    return bool(features.get(F.FORCE_30D) or features.get(F.VIOLENT_30D)) and record(features) >= RECORD_MIN


def deaths_on_record(features: Features) -> bool:
    quiet = features.get(F.DAYS_SINCE_FATAL)
    return quiet is not None and quiet < NEVER


def model_of(detector: Any) -> HazardModel | None:
    """The hazard model inside a detector stack, if there is one."""
    if isinstance(detector, HazardDetector):
        return detector.model
    for member in getattr(detector, "members", ()):
        found = model_of(member)
        if found is not None:
            return found
    return None


def precursors(features: Features) -> str:
    """What happened in the last 30 days, and when deaths last came, in words."""
    parts = []
    for key, one, many in ((F.FORCE_30D, "use of force without deaths", "uses of force without deaths"),
                           (F.DISPLAY_30D, "show of force or border violation", "shows of force or border violations"),
                           (F.DEADLY_30D, "deadly incident", "deadly incidents")):
        n = int(features.get(key) or 0)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    recent = "in the last 30 days: " + ", ".join(parts) if parts else "no incident in the last 30 days"
    if not deaths_on_record(features):
        return f"{recent}; no deaths on record"
    quiet = int(features[F.DAYS_SINCE_FATAL])
    return f"{recent}; last deaths {'today' if quiet == 0 else f'{quiet} days ago'}"


def level_table(model: HazardModel) -> list[tuple[str, str]]:
    """(level, what it means) for docs, notices and the console."""
    out = []
    for name, (lo, hi) in model.level_ranges().items():
        span = f"{percent(lo)} or more" if hi is None else f"{percent(lo)} to {percent(hi)}"
        out.append((name, f"a {span} chance of a deadly clash within {model.horizon_days} days"))
    return out


__all__ = ["CLASSES", "HORIZON_DAYS", "INPUTS", "HazardDetector", "HazardModel", "ModelError", "grounded", "inputs",
           "level_table", "model_of", "percent", "precursors"]
