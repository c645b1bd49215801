"""Leave-borders-out cross-validation: every border scored once, by a model that never saw it."""

from __future__ import annotations

from dataclasses import replace

from streams.crossval import border_folds, cross_validate, state_folds
from tests.unit.test_hazard import LEVELS, synthetic_rows


def test_folds_hold_every_border_out_exactly_once():
    borders = [f"B{i}" for i in range(7)]
    for k in (None, 3, 7, 20):
        folds = border_folds(borders + borders[:2], k)
        held = [b for fold in folds for b in fold]
        assert sorted(held) == sorted(borders) and len(held) == len(set(held))
    assert len(border_folds(borders)) == 7


class Incident:
    def __init__(self, border):
        self.border = border


def test_each_fold_trains_without_its_borders_and_runs_only_them(monkeypatch):
    import streams.crossval as cv

    monkeypatch.setattr(cv, "IncidentEvent", Incident)
    rows = synthetic_rows(borders=5, n=120)
    records = [Incident(r.border) for r in rows[::10]]
    seen = []

    def run_fold(model, held):
        seen.append((set(model.training["borders"]), set(model.training["held_out"]), {r.border for r in held}))
        return [{"border": r.border} for r in held]

    out = cross_validate(records, rows, run_fold, levels=LEVELS, k=5)
    assert len(out.folds) == 5 and len(out.predictions) == len(rows)
    for trained, held_out, ran in seen:
        assert not trained & held_out and ran == held_out
    assert len(out.alert_rows) == len(records)


def test_borders_that_share_a_state_are_held_out_together_even_through_a_chain():
    folds = state_folds(["ISR-SYR", "EGY-ISR", "SYR-TUR", "KOR-PRK", "IRN-IRQ", "IRQ-KWT", "ECU-PER"])
    assert folds == [("ECU-PER",), ("EGY-ISR", "ISR-SYR", "SYR-TUR"), ("IRN-IRQ", "IRQ-KWT"), ("KOR-PRK",)]


def test_state_folds_hold_no_state_on_both_sides_of_any_fold(monkeypatch):
    import streams.crossval as cv

    monkeypatch.setattr(cv, "IncidentEvent", Incident)
    borders = ["A-B", "B-C", "D-E", "E-F", "G-H"]
    rows = [replace(row, key=b, border=b) for i, b in enumerate(borders)
            for row in synthetic_rows(borders=1, n=80, seed=i)]
    seen = []

    def run_fold(model, held):
        seen.append((set(model.training["borders"]), set(model.training["held_out"])))
        return []

    out = cross_validate([], rows, run_fold, levels=LEVELS, folds=state_folds)
    assert out.folds == [("A-B", "B-C"), ("D-E", "E-F"), ("G-H",)]
    for trained, held_out in seen:
        states = lambda bs: {s for b in bs for s in b.split("-")}  # noqa: E731
        assert not states(trained) & states(held_out)


def test_forecast_skill_is_worse_held_out_and_says_when_it_cannot_hold_out():
    from streams.crossval import forecast_skill
    from streams.training import fit

    rows = synthetic_rows(borders=6, n=150)  # every border shares the state AAA
    skills = forecast_skill(rows, fit(rows, levels=LEVELS))
    inside, by_border, by_state = skills
    assert (inside.held_out, inside.folds, inside.days) == ("none", 0, len(rows))
    assert by_border.folds == 6 and by_border.days == len(rows) and by_border.log_loss > inside.log_loss
    assert by_state.unavailable is not None and "all linked" in by_state.unavailable and by_state.log_loss is None
    one = [r for r in rows if r.border == rows[0].border]
    assert all(k.unavailable == "one labelled border only" for k in forecast_skill(one, fit(one, levels=LEVELS))[1:])
