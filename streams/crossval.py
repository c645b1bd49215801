"""Leave-borders-out cross-validation of a detector built on a trained model.

Each fold trains the hazard model on every labelled border but the held-out ones, then runs the
whole detector stack (the pipeline, as the worker would) over the held-out borders' records
with that fold's model. Every border is held out exactly once, so the alerts of all folds
together cover the data once and can be scored like one run: figures a model earns on borders
it never saw, to read against its in-sample figures (``make eval`` shows both).

The probabilities the fold models give on their held-out incident days, with the outcome that
followed, make the out-of-sample reliability diagram.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from alerts.borders import states_of
from detectors.hazard import HazardModel
from streams.records import IncidentEvent
from streams.training import DEFAULT_C, Row, fit, forecasts


@dataclass
class CrossValidation:
    #: the alert rows of every fold, each border's from the fold that held it out
    alert_rows: list[dict] = field(default_factory=list)
    #: (probability, outcome) of each held-out incident day, for the reliability diagram
    predictions: list[tuple[float, int]] = field(default_factory=list)
    folds: list[tuple[str, ...]] = field(default_factory=list)


def border_folds(borders: Sequence[str], k: int | None = None) -> list[tuple[str, ...]]:
    """``k`` folds of borders (default: one per border), each border in exactly one, deterministic."""
    ordered = sorted(set(borders))
    k = len(ordered) if k is None else max(1, min(k, len(ordered)))
    return [tuple(ordered[i::k]) for i in range(k)]


def state_folds(borders: Sequence[str]) -> list[tuple[str, ...]]:
    """One fold per group of borders linked by a state they share (``EGY-ISR`` and ``ISR-SYR`` go
    together, and so does ``SYR-TUR`` through Syria), deterministic. Holding a border out alone
    still lets the model learn its states from their other borders; a held-out border shares no
    state with the training set only when its whole group is held out with it."""
    ordered = sorted(set(borders))
    parent = {b: b for b in ordered}

    def root(b: str) -> str:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    first_with: dict[str, str] = {}
    for b in ordered:
        for state in states_of(b):
            other = first_with.setdefault(state, b)
            parent[root(b)] = root(other)
    groups: dict[str, list[str]] = {}
    for b in ordered:
        groups.setdefault(root(b), []).append(b)
    return sorted(tuple(g) for g in groups.values())


def cross_validate(records: Sequence, rows: Sequence[Row], run_fold: Callable[[HazardModel, list], list[dict]], *,
                   levels: Mapping[str, float] | None = None, C: float = DEFAULT_C, k: int | None = None,
                   folds: Callable[[Sequence[str]], list[tuple[str, ...]]] | None = None, pool: bool = True,
                   border_of: Callable[[object], str] = lambda r: r.border) -> CrossValidation:
    """Train without each fold's borders, run the stack over them with ``run_fold(model, records)``.

    ``rows`` are the training rows of all borders (``streams.training.collect`` + ``with_targets``);
    ``records`` are the input records in stream order. Records of borders without training rows
    (nothing labelled there) are left out: no fold can hold them out. ``folds`` splits the labelled
    borders (default: ``border_folds`` into ``k``; :func:`state_folds` holds out borders that
    share a state together).
    """
    out = CrossValidation()
    labelled = sorted({r.border for r in rows})
    for held_out in (folds(labelled) if folds is not None else border_folds(labelled, k)):
        model = fit([r for r in rows if r.border not in held_out], levels=levels, C=C, pool=pool)
        model = replace(model, training=dict(model.training, held_out=list(held_out)))
        held = [r for r in records if not isinstance(r, IncidentEvent) or border_of(r) in held_out]
        out.alert_rows.extend(run_fold(model, held))
        out.predictions.extend((model.probability(r.features, r.border), r.target)
                               for r in rows if r.border in held_out)
        out.folds.append(held_out)
    return out


@dataclass(frozen=True)
class ForecastSkill:
    """How well the forecast chance told the training days that an onset followed from those it did not."""

    held_out: str  # "none" (in-sample), "border" (one at a time) or "state" (borders sharing a state together)
    folds: int
    days: int
    log_loss: float | None
    auc: float | None  # None when every day had the same outcome
    brier: float | None
    #: why this way of holding out could not be scored (a fold left nothing to train on), else None
    unavailable: str | None = None


def forecast_skill(rows: Sequence[Row], model: HazardModel, *, C: float = DEFAULT_C,
                   pool: bool = True) -> list[ForecastSkill]:
    """``model``'s skill on its own training ``rows``, then that of models fitted without each border, and
    without each group of borders that share a state, on the days they never saw (``borderwatch train
    --cross-validate``): forecasts only, fast enough to read at every training."""
    from sklearn.metrics import log_loss, roc_auc_score

    from detectors.calibration import brier

    def skill(held_out: str, folds: int, pairs: list[tuple[float, int]]) -> ForecastSkill:
        p, y = [q for q, _ in pairs], [o for _, o in pairs]
        auc = roc_auc_score(y, p) if 0 < sum(y) < len(y) else None
        return ForecastSkill(held_out, folds, len(pairs), float(log_loss(y, p, labels=[0, 1])), auc, brier(pairs))

    out = [skill("none", 0, forecasts(rows, model))]
    borders = sorted({r.border for r in rows})
    for held_out, folds in (("border", border_folds), ("state", state_folds)):
        split = folds(borders)
        if len(split) < 2:
            out.append(ForecastSkill(held_out, len(split), 0, None, None, None, unavailable=(
                "one fold would hold out every border: they are all linked by states they share"
                if len(borders) > 1 else "one labelled border only")))
            continue
        try:
            cv = cross_validate([], rows, lambda fold_model, held: [], levels=model.levels, C=C,
                                folds=lambda _: split, pool=pool)
        except ValueError as exc:  # a fold whose training days all had one outcome
            out.append(ForecastSkill(held_out, len(split), 0, None, None, None, unavailable=str(exc)))
            continue
        out.append(skill(held_out, len(cv.folds), cv.predictions))
    return out
