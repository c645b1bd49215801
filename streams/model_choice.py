"""Choosing the hazard model's penalty and watch line: ``python -m streams.model_choice C:WATCH ...``.

Each candidate is a penalty (scikit-learn's C) and a watch line (the lowest chance of a deadly
clash within 60 days that raises a watch; warning and critical stay as shipped). For each, the
model is trained on the bundled development borders and the worker's default stack runs with it
over the development set in-sample, held out one border at a time, held out with every border
that shares a state (``streams.crossval``), and over Central Asia, which no candidate trains on.
It prints one Markdown row per candidate: early warnings of the labelled episodes and false alarms
(per border-year) in each run.

What the numbers are for: a penalty and a line are desk choices made on the development set, so
they are read on borders the model never saw, not only in-sample (docs/DETECTION.md, "How the
penalty and the watch line were chosen", quotes a run). A candidate takes a few minutes.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from alerts.evaluation.scoring import Evaluation, Figures
from streams.errors import ConfigError


@dataclass(frozen=True)
class Candidate:
    C: float
    watch: float

    @classmethod
    def parse(cls, text: str) -> "Candidate":
        """``0.1:0.09`` -> C 0.1, watch line 9 %; a clear error otherwise."""
        try:
            c, watch = (float(part) for part in text.split(":"))
        except ValueError:
            raise ConfigError(f"{text!r}: a candidate is C:WATCH, e.g. 0.1:0.09") from None
        if c <= 0:
            raise ConfigError(f"{text!r}: C must be above 0")
        if not 0 < watch < 1:
            raise ConfigError(f"{text!r}: the watch line is a probability between 0 and 1")
        return cls(c, watch)

    def __str__(self) -> str:
        return f"{self.C:g}, {self.watch:.4g}"


@dataclass(frozen=True)
class Outcome:
    candidate: Candidate
    in_sample: Figures
    border_held_out: Figures
    state_held_out: Figures
    central_asia: Figures


COLUMNS = ("C, watch line", "in-sample", "one border held out", "borders sharing a state held out",
           "Central Asia")


def _cell(f: Figures) -> str:
    return f"{f.early} early, {f.false_alarms} false alarms ({f.false_alarms_per_border_year:.3f})"


def render(outcomes: Sequence[Outcome], episodes: int) -> str:
    lines = [f"Early warnings of the {episodes} labelled episodes of the development set, and false alarms "
             "(per border-year), under the worker's default stack:", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for o in outcomes:
        lines.append(f"| {o.candidate} | {_cell(o.in_sample)} | {_cell(o.border_held_out)} | "
                     f"{_cell(o.state_held_out)} | {_cell(o.central_asia)} |")
    return "\n".join(lines)


def evaluate(candidates: Sequence[Candidate], *,
             log: Callable[[str], None] = lambda msg: None) -> tuple[list[Outcome], int]:
    """Every candidate's :class:`Outcome`, and the number of labelled episodes on the development set."""
    from detectors.registry import DEFAULT_DETECTOR
    from streams.backtest import evaluate_result, run_records
    from streams.crossval import state_folds
    from streams.eval_table import central_asia, dev_set, held_out, with_model, worker_pipeline
    from streams.training import DEFAULT_LEVELS, fit, labelled_rows

    base = worker_pipeline(DEFAULT_DETECTOR)
    dev, asia = dev_set(), central_asia()
    (records, labels), = dev.runs
    rows = labelled_rows(records, labels, base.registry, base.settings)

    def figures(inp, model) -> Figures:
        p = with_model(base, DEFAULT_DETECTOR, model)
        return Evaluation.merge([evaluate_result(run_records(p, recs), labs, coverage_end=inp.coverage_end,
                                                 scope=inp.scope) for recs, labs in inp.runs]).figures()

    outcomes = []
    for cand in candidates:
        log(f"model_choice: {cand}")
        fit_with = {"levels": {**DEFAULT_LEVELS, "watch": cand.watch}, "C": cand.C}
        model = fit(rows, **fit_with)
        _, by_border = held_out(dev, rows, base, DEFAULT_DETECTOR, **fit_with)
        _, by_state = held_out(dev, rows, base, DEFAULT_DETECTOR, folds=state_folds, **fit_with)
        outcomes.append(Outcome(cand, figures(dev, model), by_border, by_state, figures(asia, model)))
    episodes = sum(1 for lab in labels if lab["kind"] == "escalation")
    return outcomes, episodes


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m streams.model_choice", description=__doc__.split("\n")[0])
    ap.add_argument("candidates", nargs="+", metavar="C:WATCH",
                    help="a penalty and a watch line, e.g. 0.1:0.09 (the model as shipped: its C and watch line)")
    args = ap.parse_args(argv)
    try:
        candidates = [Candidate.parse(text) for text in args.candidates]
    except ConfigError as exc:
        ap.error(str(exc))
    outcomes, episodes = evaluate(candidates, log=lambda msg: print(msg, file=sys.stderr))
    print(render(outcomes, episodes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
