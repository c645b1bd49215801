"""The one streaming contract every detector follows.

A detector answers "how unusual is this?" on a calibrated scale in [0, 1]
(0.5 = worth watching, 0.75 = warning territory, 0.9 = critical territory), so
one set of escalation thresholds in ``alerts.escalation`` serves every detector.
It never decides whether something *is* an alert: that is the policy's job.

* ``score_one(features)`` never learns; ``learn_one(features)`` folds one *closed*
  day into the baseline (the pipeline calls it once per segment and day, after the
  late-event grace period, so nothing learned can change afterwards).
* ``fit(rows)`` / ``score(rows)`` are the batch forms: learn each row, or score each
  row causally (score, then learn).
* ``deviations(features)`` names what deviated, baseline against now, for alert
  explanations; ``explain(features)`` is the one-line form.
* A detector that learns keeps all it learns in the dataclass fields listed in
  ``state_fields`` (plain JSON values), so the pipeline can store it per segment in the
  segment's own state: that is what keeps live, replay and backtest identical under
  Kafka partitioning. Randomness only from a ``seed`` field. A detector may keep a field's
  value in a working form and write it there in ``before_save`` (called before the fields are
  read), and read it back in ``after_load`` (called after they are set).

Detectors import nothing of borderwatch's and do no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Iterable, Mapping, Protocol, runtime_checkable

from detectors.calibration import CLEAR_SCORES, LEVEL_NAMES
from detectors.features import MONTH, YEAR

Features = Mapping[str, float]


@runtime_checkable
class Detector(Protocol):
    """``learn_one`` folds a closed window into the baseline; ``score_one`` never learns."""

    name: str

    def learn_one(self, features: Features) -> None: ...

    def score_one(self, features: Features) -> float: ...

    def explain(self, features: Features) -> str:
        """One line on what drove the score, for alert summaries."""
        ...


def clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def feature(f: Features, name: str) -> float:
    """A feature as a float; missing or None is 0."""
    v = f.get(name)
    return float(v) if v else 0.0


def fit(detector: Detector, rows: Iterable[Features]) -> Detector:
    for row in rows:
        detector.learn_one(row)
    return detector


def score(detector: Detector, rows: Iterable[Features]) -> list[float]:
    """Causal batch scoring: each row is scored by the model of the rows before it, then learned."""
    out = []
    for row in rows:
        out.append(detector.score_one(row))
        detector.learn_one(row)
    return out


def is_stateful(detector: Any) -> bool:
    return bool(getattr(detector, "state_fields", ())) or any(
        is_stateful(m) for m in getattr(detector, "members", ()))


def get_state(detector: Any) -> dict[str, Any]:
    """What the detector has learned, as plain JSON values (members by position)."""
    hook = getattr(detector, "before_save", None)
    if hook is not None:
        hook()
    d = {k: getattr(detector, k) for k in getattr(detector, "state_fields", ())}
    members = getattr(detector, "members", ())
    if members:
        d["members"] = [get_state(m) for m in members]
    return d


def set_state(detector: Any, state: Mapping[str, Any]) -> None:
    """Load what :func:`get_state` produced (JSON round-tripped: lists, not tuples)."""
    for k in getattr(detector, "state_fields", ()):
        if k in state:
            setattr(detector, k, state[k])
    for m, s in zip(getattr(detector, "members", ()), state.get("members", ())):
        set_state(m, s)
    hook = getattr(detector, "after_load", None)
    if hook is not None:
        hook()


#: The level whose clear line marks an escalation under way for a learning detector: warning.
GUARD_LEVEL = "warning"
#: Closed days in a row a learning detector is kept from learning as escalating before what it
#: sees becomes its normal: a year, the span of every normal the stack reads (the past year's rate,
#: the yearly high of deaths). A border that has stayed at a new level that long (a war's daily
#: shelling, a new source's volume) is no longer an escalation of itself; every escalation of the
#: labelled sets ends well within it. A season (90 days) was tried: the CUSUM then learned a
#: four-month build-up of a synthetic `mixed` border and missed the next episode's warning.
ADAPT_AFTER_DAYS = YEAR
#: A learning detector's first closed days, learned as its normal whatever they score: before them
#: there is no normal to keep an escalation out of. A month: the span of the monthly views; from 7
#: to 45 days no evaluation lost an early warning, from 60 the synthetic `dormant` lost one (a
#: build-up in a border's first months learned as its normal; docs/DETECTION.md, "How the pipeline
#: runs a detector").
WARM_UP_DAYS = MONTH


@dataclasses.dataclass
class Guarded:
    """A learning detector, kept from learning an unfolding escalation as its normal.

    The one rule for every learning detector: a day ``inner`` scores at or above ``line`` (the
    escalation policy's clear line of a warning; the pipeline sets it from its policy) is learned
    as *escalating*. What that means is the detector's own: the CUSUM carries its statistic on
    but keeps the day out of its baseline and calibration; the forest learns the day clipped to
    its usual range. ``inner.learn_one(features, escalating=...)`` takes the flag.

    Past ``adapt_after_days`` escalating days in a row the guard lets go: the days are learned as
    normal until ``inner`` scores under the line again. Without that a segment busy from its first
    day (or one that stays at a new level) never taught the detector its normal: the CUSUM of a
    border with two incidents a day kept the baseline of its prior, two in 100 days, and scored
    1.0 for years, so every ordinary week's count went from watch to critical and back.

    The first ``warm_up_days`` closed days are learned as normal whatever they score: a segment
    has no normal to guard before them. Without that a segment busy from its first day kept its
    prior's baseline until the guard let go a year later, and its alert went up and down a level
    all that year.
    """

    inner: Any
    line: float = CLEAR_SCORES[LEVEL_NAMES.index(GUARD_LEVEL)]
    #: None: the guard never lets go (the former default's stack, as it ran: streams.eval_table)
    adapt_after_days: int | None = ADAPT_AFTER_DAYS
    #: the first closed days, learned as normal whatever they score (0: none; the former default's)
    warm_up_days: int = WARM_UP_DAYS
    #: closed days in a row learned at or above the line
    run: int = 0
    #: closed days learned so far, counted up to ``warm_up_days``
    learned: int = 0
    state_fields = ("run", "learned")

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def members(self) -> tuple:
        return (self.inner,)

    @property
    def identity(self) -> str:
        return f"{identity(self.inner)}~{self.line:g}/{self.adapt_after_days}/{self.warm_up_days}"

    def for_border(self, border: str) -> "Guarded":
        inner = bind(self.inner, border)
        return self if inner is self.inner else dataclasses.replace(self, inner=inner)

    def score_one(self, features: Features) -> float:
        return self.inner.score_one(features)

    def _held(self, escalating: bool) -> bool:
        """Count a closed day; whether it is still kept out of the normal."""
        if self.learned < self.warm_up_days:
            self.learned += 1
            self.run = 0
            return False
        self.run = self.run + 1 if escalating else 0
        return escalating and (self.adapt_after_days is None or self.run <= self.adapt_after_days)

    def learn_one(self, features: Features) -> None:
        self.inner.learn_one(features, escalating=self._held(self.inner.score_one(features) >= self.line))

    def learn_quiet(self, days: int) -> None:
        """``learn_one`` of ``days`` days without an incident: while a run goes on, day by day (the
        inner learner's ``quiet_score`` says whether the next such day is escalating); once a quiet
        day is under the line the rest are too (a quiet day only lowers a statistic), in one call."""
        warm = min(days, max(self.warm_up_days - self.learned, 0))
        if warm:
            self.learned += warm
            self.run = 0
            self.inner.learn_quiet(warm, None)
            days -= warm
        while days > 0 and self.run > 0:
            escalating = self.inner.quiet_score() >= self.line
            if not escalating:
                break
            self.inner.learn_quiet(1, self.line if self._held(True) else None)
            days -= 1
        if days > 0:
            self.run = 0
            self.inner.learn_quiet(days, self.line)

    def deviations(self, features: Features) -> list[dict[str, Any]]:
        return deviations(self.inner, features)

    def explain(self, features: Features) -> str:
        return self.inner.explain(features)


def learns_quiet(detector: Any) -> bool:
    """Whether every learner in ``detector``'s stack learns a run of closed days without an
    incident in one call (its own ``learn_quiet(days, guard_line)``), so :func:`learn_quiet` may
    stand for ``learn_one`` of each of those days. A container's learning is its members'."""
    if isinstance(detector, Guarded):
        # the guard counts a run of escalating quiet days by asking what the next one scores
        return learns_quiet(detector.inner) and hasattr(detector.inner, "quiet_score")
    if hasattr(detector, "learn_quiet"):
        return True
    members = getattr(detector, "members", ())
    if members:
        return all(learns_quiet(m) for m in members)
    return not getattr(detector, "state_fields", ())  # learns nothing


def learn_quiet(detector: Any, days: int, guard_line: float | None = None) -> None:
    """Learn ``days`` closed days without an incident into a stack that :func:`learns_quiet`, as
    ``learn_one`` of each day's input would: each learner's own ``learn_quiet``, a :class:`Guarded`
    one told its line."""
    if isinstance(detector, Guarded):
        detector.learn_quiet(days)
        return
    own = getattr(detector, "learn_quiet", None)
    if own is not None:
        own(days, guard_line)
        return
    for m in getattr(detector, "members", ()):
        learn_quiet(m, days, guard_line)


def guards(detector: Any) -> list[Guarded]:
    """Every :class:`Guarded` in a detector stack."""
    found = [detector] if isinstance(detector, Guarded) else []
    for m in getattr(detector, "members", ()):
        found.extend(guards(m))
    return found


def bind(detector: Any, border: str) -> Any:
    """The detector as it scores one border pair: a detector with border-specific parts (a trained
    model's border intercept) has ``for_border`` and returns a bound copy; any other is itself."""
    fn = getattr(detector, "for_border", None)
    return fn(border) if fn is not None else detector


#: Dataclass fields that are not a detector's parameters: what it learns is in ``state_fields``.
_NOT_PARAMETERS = frozenset({"name", "border"})


def _is_detector(value: Any) -> bool:
    return hasattr(value, "score_one")


def parameters(detector: Any) -> dict[str, Any]:
    """What configures a detector: its dataclass fields but its name, border, learned state and
    member detectors (``identity`` names those by their own identities)."""
    if not dataclasses.is_dataclass(detector):
        return {}
    skip = _NOT_PARAMETERS | set(getattr(detector, "state_fields", ()))
    out = {}
    for f in dataclasses.fields(detector):
        value = getattr(detector, f.name)
        if f.name in skip or f.name.startswith("_") or _is_detector(value) \
                or (isinstance(value, tuple) and value and all(map(_is_detector, value))):
            continue
        out[f.name] = value
    return out


def identity(detector: Any) -> str:
    """Who scores: the name, a digest of the parameters, the members' identities and any trained
    model's digest. Segment state records it, and state learned by a detector of another name,
    configuration or model is rebuilt rather than read into this one."""
    own = getattr(detector, "identity", None)
    if isinstance(own, str):
        return own
    params = parameters(detector)
    tag = detector.name
    if params:
        canonical = json.dumps(params, sort_keys=True, default=repr, separators=(",", ":"))
        tag += f"[{hashlib.sha256(canonical.encode()).hexdigest()[:12]}]"
    members = getattr(detector, "members", ())
    return tag + (f"({','.join(identity(m) for m in members)})" if members else "")


def is_surge(detector: Any) -> bool:
    """Whether the detector is a surge view (``surge`` true): its alarm, once resolved, is the
    same surge if it comes back within the policy's surge quiet period (alerts.escalation)."""
    return bool(getattr(detector, "surge", False))


def has_surge(detector: Any) -> bool:
    return is_surge(detector) or any(has_surge(m) for m in getattr(detector, "members", ()))


def score_beside_surges(detector: Any, features: Features) -> float:
    """What the stack scores without its surge views: deaths and forecasts alone. A stack that
    holds surge views combines its members by ``score_beside_surges`` of its own (detectors.rules.MaxOf);
    one that cannot say is taken at its whole score."""
    if is_surge(detector):
        return 0.0
    fn = getattr(detector, "score_beside_surges", None)
    if fn is not None and has_surge(detector):
        return fn(features)
    return detector.score_one(features)


def forecast(detector: Any, features: Features) -> dict[str, Any] | None:
    """The stack's forecast, if a member makes one (``forecast(features)``): probability, horizon, level meaning."""
    fn = getattr(detector, "forecast", None)
    if fn is not None:
        return fn(features)
    for m in getattr(detector, "members", ()):
        found = forecast(m, features)
        if found is not None:
            return found
    return None


def deviations(detector: Any, features: Features) -> list[dict[str, Any]]:
    """What deviated from baseline: ``[{"feature", "baseline", "now"}]``; empty if the detector can't say."""
    fn = getattr(detector, "deviations", None)
    return list(fn(features)) if fn is not None else []
