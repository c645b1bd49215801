"""``borderwatch train``: fit the deadly-clash hazard model across labelled borders.

The training rows are made by the pipeline itself -- the records go through the same
``route``/``apply`` as in a backtest, and each day with incidents on a key contributes the
features that key's last scoring of the day saw -- so the model learns from exactly what it
will be shown live. A row's target is 1 when an escalation of its border has its onset 1 to
60 days later and the row falls in that episode's early window (the reference scorer's rule:
never before the previous episode of the border ended). Days with deaths are left out: the
fatality rule, not the forecast, speaks on them.

The fit (:func:`fit`) is a logistic regression on standardised inputs with a random intercept
per border, partially pooled: the between-border spread is estimated by empirical Bayes
(method of moments on each border's observed against expected onsets under the pooled fit)
and enters as the prior of the border intercepts, so a border with few rows keeps close to the
pooled model and one with many may move away from it. A border the model never saw is scored
with the pooled intercept.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from detectors.hazard import INPUTS, HazardModel, inputs
from detectors.rules import FatalityHighRule
from detectors import features as F
from streams.pipeline import Pipeline, PipelineSettings
from streams.labels import read_labels
from streams.topics import Envelope
from streams.records import IncidentEvent
from streams.routing import route_records
from streams.windows import EPOCH, day_start

#: The level probabilities a trained model states unless told otherwise: watch from a 9 % chance
#: of a deadly clash within 60 days (on the development borders about the rate on an ordinary day
#: with incidents, and the lowest line in half-point steps where alerts stay within half a false
#: alarm per border-year in-sample and cross-validated), warning from 20 %, critical from 40 %.
#: Desk policy, chosen with the penalty below; not fitted by train.
DEFAULT_LEVELS = {"watch": 0.09, "warning": 0.20, "critical": 0.40}
#: Inverse L2 strength of the logistic fit on standardised inputs (sklearn's C). Against 0.3, the
#: fit's log-loss is better on borders it never saw both held out one at a time and held out with
#: every border that shares a state; stronger penalties do better by state and worse one border at
#: a time (docs/DETECTION.md, "How the penalty and the watch line were chosen").
DEFAULT_C = 0.1


@dataclass(frozen=True)
class Row:
    key: str
    border: str
    day: int
    features: Mapping[str, float]
    target: int = 0


def collect(records: Sequence, registry, settings: PipelineSettings | None = None) -> list[Row]:
    """Per key and day with counted incidents and no deaths: the features of the day's last scoring."""
    pipeline = Pipeline(registry, FatalityHighRule(), settings=settings)
    states: dict = {}
    last: dict[tuple[str, int], dict] = {}
    for raw in route_records(pipeline, records).envelopes:
        env = Envelope.decode(raw)
        state = states.get(env.key) or states.setdefault(env.key, pipeline.new_state(env.key))
        if pipeline.apply(state, env).incidents:
            last[(env.key, state.max_day)] = pipeline.features(state, state.max_day)
    rows = []
    for (key, day), feats in sorted(last.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if feats.get(F.DAYS_SINCE_FATAL) == 0:
            continue
        rows.append(Row(key, pipeline.border_of(key), day, feats))
    return rows


def target_windows(label_rows: Iterable[Mapping[str, str]]) -> dict[str, list[tuple[int, int]]]:
    """border -> (first, last) day numbers in which an alert warns of each escalation early (the scorer's rule)."""
    from alerts.evaluation.scoring import early_windows, labels_from_rows

    out: dict[str, list[tuple[int, int]]] = {}
    for border, episodes in early_windows(labels_from_rows(list(label_rows))).items():
        out[border] = [(_day(first), _day(lab.start) - 1) for lab, first in episodes]
    return out


def _day(d) -> int:
    return (d - EPOCH.date()).days


def with_targets(rows: Iterable[Row], labels: Iterable[Mapping[str, str]]) -> list[Row]:
    windows = target_windows(labels)
    return [Row(r.key, r.border, r.day, r.features,
                int(any(lo <= r.day <= hi for lo, hi in windows.get(r.border, ())))) for r in rows]


def labelled_rows(records: Sequence, label_rows: Sequence[Mapping[str, str]], registry,
                  settings: PipelineSettings | None = None) -> list[Row]:
    """The training rows of the borders the labels speak about, with their targets."""
    labelled = {lab["border"] for lab in label_rows if lab["kind"] == "escalation"}
    return [r for r in with_targets(collect(records, registry, settings), label_rows) if r.border in labelled]


#: Fewer onset-preceding rows than this per model input, and a logistic regression's coefficients
#: are unstable and its probabilities overconfident away from its data (the rule of ten events per
#: variable: Peduzzi et al., J. Clin. Epidemiol. 49 (1996) 1373-9): ``train`` says so.
POSITIVE_ROWS_PER_INPUT = 10


def thin_data_warning(model: HazardModel) -> str | None:
    """What to tell the engineer when ``model`` learned from too few days before an onset; None if enough."""
    positive, needed = model.training["positive_rows"], POSITIVE_ROWS_PER_INPUT * len(model.inputs)
    if positive >= needed:
        return None
    return (f"only {positive} incident {'day precedes' if positive == 1 else 'days precede'} an onset, fewer than "
            f"{POSITIVE_ROWS_PER_INPUT} for each of the model's {len(model.inputs)} inputs ({needed}): its "
            f"probabilities will not hold on other borders: label more episodes, or train across more borders "
            f"as the packaged model is (make model)")


def forecasts(rows: Sequence[Row], model: HazardModel) -> list[tuple[float, int]]:
    """(forecast chance, what followed) on every row: the reliability diagram's input."""
    return [(model.probability(r.features, r.border), r.target) for r in rows]


def fit(rows: Sequence[Row], *, levels: Mapping[str, float] | None = None, C: float = DEFAULT_C,
        pool: bool = True, training: Mapping | None = None) -> HazardModel:
    """The hazard model for ``rows`` (with targets); see the module docstring."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from alerts.evaluation.scoring import EARLY_DAYS

    if not rows:
        raise ValueError("no training rows: the input has no days with incidents on labelled borders")
    y = np.array([r.target for r in rows])
    if y.min() == y.max():
        raise ValueError("the labels give every training row the same target: no escalation onset follows "
                         "an incident day within 60 days, or every one does")
    X = np.array([inputs(r.features) for r in rows])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    Z = (X - mean) / scale
    borders = sorted({r.border for r in rows})
    pooled = LogisticRegression(C=C, max_iter=10000).fit(Z, y)
    sd = _border_sd(rows, pooled.predict_proba(Z)[:, 1]) if pool and len(borders) > 1 else 0.0
    effects: dict[str, float] = {}
    model = pooled
    if sd > 0:
        s = sd / math.sqrt(C)  # column scale s gives the border intercepts a N(0, sd^2) prior
        index = {b: i for i, b in enumerate(borders)}
        onehot = np.zeros((len(rows), len(borders)))
        for i, r in enumerate(rows):
            onehot[i, index[r.border]] = s
        model = LogisticRegression(C=C, max_iter=10000).fit(np.hstack([Z, onehot]), y)
        effects = {b: round(float(model.coef_[0][Z.shape[1] + i] * s), 6) for b, i in index.items()}
    return HazardModel(
        coef=tuple(round(float(c), 6) for c in model.coef_[0][:Z.shape[1]]),
        intercept=round(float(model.intercept_[0]), 6),
        mean=tuple(round(float(m), 6) for m in mean), scale=tuple(round(float(s), 6) for s in scale),
        levels=dict(levels or DEFAULT_LEVELS), inputs=INPUTS, horizon_days=EARLY_DAYS,
        border_effects=effects, border_sd=round(sd, 6),
        training=dict(training or {}, rows=len(rows), positive_rows=int(y.sum()), borders=borders, C=C,
                      partial_pooling=pool))


def _border_sd(rows: Sequence[Row], p) -> float:
    """Between-border spread of the log rate ratio, observed over expected, less its noise (>= 0)."""
    obs: dict[str, float] = {}
    exp: dict[str, float] = {}
    for r, pi in zip(rows, p):
        obs[r.border] = obs.get(r.border, 0.0) + r.target
        exp[r.border] = exp.get(r.border, 0.0) + float(pi)
    ratios = [math.log((obs[b] + 0.5) / (exp[b] + 0.5)) for b in obs]
    noise = [1.0 / (exp[b] + 0.5) for b in obs]
    var = sum(x * x for x in ratios) / len(ratios) - sum(noise) / len(noise)
    return math.sqrt(var) if var > 0 else 0.0


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def train(paths: Sequence[str], fmt: str, labels_path: str, *, registry, grace_days: int,
          levels: Mapping[str, float] | None = None, C: float = DEFAULT_C, pool: bool = True) -> HazardModel:
    """Load, collect, label and fit; the artifact records what it was trained on."""
    rows, meta = training_rows(paths, fmt, labels_path, registry=registry, grace_days=grace_days)
    return fit(rows, levels=levels, C=C, pool=pool, training=meta)


def training_rows(paths: Sequence[str], fmt: str, labels_path: str, *, registry,
                  grace_days: int, loaded=None) -> tuple[list[Row], dict]:
    """The labelled rows ``train`` fits, and what the artifact records of the data they came from;
    ``loaded``: ``paths`` as ``streams.adapters.load`` already read them (the CLI reports their
    rejected rows first)."""
    from streams.adapters import load

    labels = read_labels(labels_path)
    if not any(lab["kind"] == "escalation" for lab in labels):
        # said before the run: without escalations every border is unlabelled, and the error after
        # it blamed the input ("no days with incidents on labelled borders")
        raise ValueError(f"{Path(labels_path).name} has no escalation episodes: the model learns what "
                         "precedes their onsets")
    if loaded is None:
        loaded = load(paths, fmt)
    incidents = [r for r in loaded.records if isinstance(r, IncidentEvent)]
    if not incidents:
        raise ValueError("no incidents were loaded")
    rows = labelled_rows(loaded.records, labels, registry, PipelineSettings(grace_days=grace_days))
    span = [day_start(min(r.day for r in rows)).date().isoformat(), day_start(max(r.day for r in rows)).date().isoformat()] \
        if rows else []
    meta = {"format": fmt or "+".join(sorted(set(loaded.formats.values()))), "grace_days": grace_days,
            "inputs": [{"file": Path(p).name, "sha256": file_digest(p)} for p in paths],
            "labels": {"file": Path(labels_path).name, "sha256": file_digest(labels_path),
                       "escalations": sum(lab["kind"] == "escalation" for lab in labels)},
            "rows_span": span, "rejected_rows": len(loaded.errors)}
    meta["data_sha256"] = hashlib.sha256("".join(i["sha256"] for i in meta["inputs"]).encode()
                                         + meta["labels"]["sha256"].encode()).hexdigest()
    return rows, meta


__all__ = ["DEFAULT_C", "DEFAULT_LEVELS", "Row", "collect", "fit", "forecasts", "labelled_rows", "target_windows", "train",
           "training_rows", "with_targets"]
