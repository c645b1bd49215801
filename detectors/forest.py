"""scikit-learn's IsolationForest behind the streaming contract, with rolling refits.

Each segment gets its own forest over its own closed days: ``learn_one`` appends the day's
feature vector to a pending list; every ``refit_every`` learned days the training window
becomes the last ``window`` days and the forest is refitted (seeded, so the same window
always gives the same forest). ``score_one`` uses the forest of the last refit only, so a
score depends on earlier days alone. The forest itself is not state: it is rebuilt on demand
from the training window (a small in-memory cache keeps the fitted ones), so the segment
state stays plain JSON.

Calibration: the training days' own scores give the empirical tail, with an exponential
tail above their 90 % quantile (:func:`~detectors.calibration.pot_tail`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field

from detectors.base import Features, feature
from detectors.calibration import pot_tail, surprise
from detectors import features as F

#: The multivariate view: log1p of counts and sums, and how fresh the last death is.
COLUMNS = (F.COUNT_7D, F.COUNT_30D, F.VIOLENT_7D, F.VIOLENT_30D, F.FATALITIES_30D, F.SEVERITY_7D,
           F.SPILL_30D, F.COUNT_365D)

_FITTED: "OrderedDict[str, tuple]" = OrderedDict()
_FITTED_MAX = 256


def vector(f: Features) -> list[float]:
    row = [round(math.log1p(max(feature(f, c), 0.0)), 3) for c in COLUMNS]
    d = f.get(F.DAYS_SINCE_FATAL)
    row.append(round(math.exp(-float(d) / 30.0), 3) if d is not None else 0.0)
    return row


def _average_path_length(n: int) -> float:
    """c(n): the mean path length of an unsuccessful search in a binary search tree of n points."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (math.log(n - 1.0) + 0.5772156649015329) - 2.0 * (n - 1.0) / n


class _Forest:
    """A fitted IsolationForest's trees as plain lists, scored row by row in Python.

    sklearn's ``score_samples`` costs milliseconds per call (joblib, validation), far too much
    to score one incident; walking 50 shallow trees is a few hundred steps. The score is
    sklearn's own definition, ``-score_samples`` (checked against it in the tests).
    """

    def __init__(self, model, train_rows) -> None:
        self.trees = []
        for est, feats in zip(model.estimators_, model.estimators_features_):
            t = est.tree_
            # c(n) of each node, for when a row ends there: fixed once the tree is fitted
            leaf_c = [_average_path_length(n) for n in t.n_node_samples.tolist()]
            self.trees.append((t.children_left.tolist(), t.children_right.tolist(), t.feature.tolist(),
                               t.threshold.tolist(), leaf_c, [int(i) for i in feats]))
        self.norm = len(self.trees) * _average_path_length(model.max_samples_)
        self.train_raw = sorted(self.raw(r) for r in train_rows)

    def raw(self, row: list[float]) -> float:
        total = 0.0
        for left, right, feat, thr, leaf_c, cols in self.trees:
            node, depth = 0, 0
            while left[node] != -1:
                node = left[node] if row[cols[feat[node]]] <= thr[node] else right[node]
                depth += 1
            total += depth + leaf_c[node]
        return 2.0 ** (-total / self.norm)


def _fit(train: list, n_estimators: int, seed: int) -> _Forest:
    import numpy as np
    from sklearn.ensemble import IsolationForest

    X = np.asarray(train, dtype=float)
    model = IsolationForest(n_estimators=n_estimators, max_samples=min(256, len(X)), random_state=seed).fit(X)
    return _Forest(model, train)


@dataclass
class IsolationForestDetector:
    """Isolation Forest on the segment's multivariate daily features, refitted on a rolling window.

    Assumes that what is rare in the segment's recent past is what matters. Fails on sparse
    segments: when nearly every day is empty, any incident is isolated at once (the forest
    sees no difference between a single detention and a clash), and before ``min_rows``
    learned days it scores 0 (cold start). Days scoring at warning or above are learned
    clipped to the training window's 90 % quantile row, so an escalation does not become
    the forest's normal.
    """

    seed: int = 0
    n_estimators: int = 50
    window: int = 365
    refit_every: int = 30
    min_rows: int = 60
    name: str = "iforest"
    state_fields = ("train", "pending")
    train: list = field(default_factory=list)
    pending: list = field(default_factory=list)
    #: (the train list a forest was fitted on, that forest): ``train`` is only ever replaced, never
    #: changed in place, so identity says when to look the forest up again (hashing the window
    #: cost ~30x the tree walk on every score).
    _fit_cache: tuple = field(default=(None, None), init=False, repr=False, compare=False)

    def _model(self):
        if len(self.train) < self.min_rows:
            return None
        train, fitted = self._fit_cache
        if train is self.train:
            return fitted
        key = hashlib.sha1(json.dumps([self.seed, self.n_estimators, self.train]).encode()).hexdigest()
        hit = _FITTED.get(key)
        if hit is None:
            hit = _FITTED[key] = _fit(self.train, self.n_estimators, self.seed)
            if len(_FITTED) > _FITTED_MAX:
                _FITTED.popitem(last=False)
        else:
            _FITTED.move_to_end(key)
        self._fit_cache = (self.train, hit)
        return hit

    def score_one(self, features: Features) -> float:
        fitted = self._model()
        if fitted is None:
            return 0.0
        return surprise(pot_tail(fitted.train_raw, fitted.raw(vector(features))))

    def learn_one(self, features: Features, escalating: bool = False) -> None:
        """Learn a closed day; one ``escalating`` (detectors.base.Guarded) is learned clipped to the
        training window's 90 % quantile row, so an escalation does not become the forest's normal."""
        row = vector(features)
        if escalating and self.train:
            cap = sorted(self.train, key=sum)[int(0.9 * (len(self.train) - 1))]
            row = [min(a, b) for a, b in zip(row, cap)]
        self.pending.append(row)
        if len(self.pending) >= self.refit_every or (len(self.train) < self.min_rows
                                                      and len(self.train) + len(self.pending) >= self.min_rows):
            self.train = (self.train + self.pending)[-self.window:]
            self.pending = []

    def deviations(self, f: Features) -> list[dict]:
        if not self.train:
            return []
        now = vector(f)
        names = COLUMNS + ("fatal_freshness",)
        out = []
        for i, name in enumerate(names):
            col = sorted(r[i] for r in self.train)
            median = col[len(col) // 2]
            if now[i] > median:
                out.append({"feature": name, "baseline": round(math.expm1(median), 3) if i < len(COLUMNS) else median,
                            "now": round(math.expm1(now[i]), 3) if i < len(COLUMNS) else now[i],
                            "_gap": now[i] - median})
        out.sort(key=lambda d: -d.pop("_gap"))
        return out[:4]

    def explain(self, features: Features) -> str:
        if len(self.train) < self.min_rows:
            return f"isolation forest warming up ({len(self.train) + len(self.pending)} of {self.min_rows} days)"
        devs = self.deviations(features)
        what = ", ".join(f"{d['feature']} {d['now']:g} (usually {d['baseline']:g})" for d in devs[:2])
        return f"unusual mix of features: {what or 'no single feature stands out'}"
