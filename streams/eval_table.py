"""``make eval``: every registered detector and the field's rules, scored by the reference rules.

Each detector in ``detectors.registry.DETECTORS`` runs through the backtest driver (the
worker's pipeline, built from default settings, in-process), and each of the field's rules
(``detectors.field_rules``: a, a2, a2z, b, b2, c, d) is computed over the same records, on

* the 18-border development set: MIE 1.0 incidents against ``escalations-mie-dev-borders.csv``
  (243 episodes), coverage to 2014-12-31, with a row per border for the default detector;
* the labelled Central Asia history: MIE 1.0 incidents with the SIPRI deliveries, scored on the
  dyads between the six Central Asian states against ``escalations-central-asia.csv``, coverage
  to 2014-12-31 (later episodes are *not scored*, as the reference scorer leaves an onset
  outside the data; MIE rows on other dyads are run but not scored, since nothing labels them);
* every synthetic scenario of ``streams.generate``, several seeds pooled (the field rules read
  the generator's ``severity`` as MIE hostility).

Every row is scored by ``alerts.evaluation.scoring``, the reference scorer's rules. The tables go
into ``docs/DETECTION.md`` between ``<!-- eval:begin -->`` and ``<!-- eval:end -->``, so the doc shows
exactly what the command made::

    python -m streams.eval_table                  # rewrite the block in docs/DETECTION.md
    python -m streams.eval_table --check          # exit 1 if the doc is not what a run makes
    python -m streams.eval_table --reports DIR    # also an HTML report per input and detector or rule

Each input is routed once and applied per detector. Each detector runs in a child process with
a time budget (``--budget``, 1200 s over all inputs by default); one that runs out is stopped and
its rows say so, so one slow detector cannot stall the table. The field rules take well under a
second and run in the parent.
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.connection as mp_connection
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from alerts.evaluation.scoring import FIGURE_COLUMNS, Evaluation, Figures, figure_cells, figure_text
from detectors.field_rules import FIELD_RULES

from streams import series_suite
from streams.backtest import (
    evaluate_records,
    evaluate_result,
    field_rule_report_html,
    field_rule_rows,
    report_html,
    run_records,
)
from streams.labels import read_labels
from streams.routing import route_records

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "streams" / "data"
DOC = ROOT / "docs" / "DETECTION.md"
BEGIN, END = "<!-- eval:begin -->", "<!-- eval:end -->"
CENTRAL_ASIA = ("AFG", "KAZ", "KGZ", "TJK", "TKM", "UZB")
SEEDS = (0, 1, 2)
#: Seconds a detector may take over all inputs before make eval stops it and says so: a guard
#: against a detector that hangs, not a cut -- every registered detector finishes well within it
#: (the IsolationForest stacks take minutes; the rest seconds).
BUDGET = 1200.0
DETECTOR, FIELD_RULE = "detector", "field rule"


@dataclass
class EvalInput:
    """One row group of the table: runs (records, labels) pooled into one evaluation."""

    name: str
    runs: list[tuple[list, list[dict]]]
    #: borders to score, None = those of the escalation labels and every border with incidents
    scope: Sequence[str] | None = None
    #: last day the data covers, None = each run's last incident
    coverage_end: date | None = None
    note: str = ""
    #: also a row per border for the default detector
    per_border: bool = False


@dataclass
class Result:
    input: str
    name: str
    evaluation: Evaluation | None
    kind: str = DETECTOR
    #: seconds of budget the detector ran out of (then there is no evaluation)
    over_budget: float | None = None

    @property
    def figures(self) -> Figures | None:
        return self.evaluation.figures() if self.evaluation is not None else None


def dev_set(data: Path = DATA) -> EvalInput:
    from streams.adapters import load
    from streams.adapters.mie import COVERAGE_END

    mie = load([data / "mie-1.0-dev-borders.csv"], "mie")
    labels = read_labels(str(data / "escalations-mie-dev-borders.csv"))
    borders = sorted({lab["border"] for lab in labels if lab["kind"] == "escalation"})
    return EvalInput("18-border development set: MIE 1.0 incidents", [(mie.records, labels)],
                     coverage_end=COVERAGE_END, per_border=True,
                     note=f"{len(mie.records)} incidents from {mie.records[0].occurred_at.year}, covered to "
                          f"{COVERAGE_END}; {len(labels)} labelled episodes on {len(borders)} borders")


def central_asia(data: Path = DATA) -> EvalInput:
    from streams.adapters import load, sort_key
    from streams.segments import is_land_border
    from streams.adapters.mie import COVERAGE_END

    mie = load([data / "mie-1.0-central-asia.csv"], "mie")
    sipri = load([data / "sipri-trade-register-central-asia.csv"], "sipri")
    records = sorted(mie.records + sipri.records, key=sort_key)
    labels = read_labels(str(data / "escalations-central-asia.csv"))
    borders = sorted({r.border for r in mie.records if set(r.countries) <= set(CENTRAL_ASIA) and is_land_border(*r.countries)}
                     | {lab["border"] for lab in labels if lab["kind"] == "escalation"})
    first = mie.records[0].occurred_at.date()
    return EvalInput("Central Asia: MIE 1.0 incidents + SIPRI deliveries", [(records, labels)], borders,
                     COVERAGE_END, f"incidents from {first}, covered to {COVERAGE_END}; scored borders "
                                   f"{', '.join(borders)}")


def synthetic(seeds: Sequence[int] = SEEDS) -> list[EvalInput]:
    from streams.adapters import sort_key
    from streams.adapters.jsonl import decode_line
    from streams.generate import SCENARIOS, generate

    out = []
    for name in SCENARIOS:
        runs = []
        for seed in seeds:
            raw, labels = generate(name, seed)
            # what `backtest FILE --format jsonl` reads: every line decoded, re-sorted by event time
            runs.append((sorted(map(decode_line, raw), key=sort_key), labels))
        out.append(EvalInput(f"synthetic `{name}`", runs,
                             note=f"seeds {', '.join(map(str, seeds))} pooled; the field rules read the generator's "
                                  "severity as hostility: violence 3-5, calm incidents 1-3, protests 1-2"))
    return out


def run(inputs: Sequence[EvalInput], detectors: Iterable[str], *,
        pipeline_for: Callable[[str], object] | None = None, reports: Path | None = None,
        budget: float | None = None, jobs: int = 1, log=None, rules: Iterable[str] = FIELD_RULES) -> list[Result]:
    """Every detector and every field rule over every input.

    ``pipeline_for(name)`` builds the pipeline (default: the worker's, from default settings with
    that detector). Each input is routed once and applied per detector. With ``budget``, each
    detector runs in a child process (``jobs`` at a time) and one that has not finished all
    inputs within ``budget`` seconds is stopped and reported as over budget.
    """
    pipeline_for = pipeline_for or worker_pipeline
    names = list(detectors)
    results = [r for rule in rules for r in _run_rule(rule, inputs, reports)]
    if not names:
        return results
    router = pipeline_for(names[0])
    routed = [[route_records(router, records) for records, _ in inp.runs] for inp in inputs]

    def one(name: str) -> list[Result]:
        return _run_detector(name, inputs, routed, pipeline_for, reports)

    if budget is None:
        return [r for name in names for r in one(name)] + results
    return _run_budgeted(names, inputs, one, budget, jobs, log or (lambda msg: None)) + results


def _run_detector(name: str, inputs: Sequence[EvalInput], routed, pipeline_for, reports: Path | None) -> list[Result]:
    results = []
    pipeline = pipeline_for(name)  # holds no run's state: states live in each run's result
    for inp, inp_routed in zip(inputs, routed):
        parts = []
        for i, ((records, labels), rt) in enumerate(zip(inp.runs, inp_routed)):
            draw = reports is not None and i == 0
            res = run_records(pipeline, records, trace=draw, routed=rt)
            ev = evaluate_result(res, labels, coverage_end=inp.coverage_end, scope=inp.scope)
            parts.append(ev)
            if draw:
                page = report_html(res, pipeline, title=f"{inp.name}, detector {name}", labels=labels,
                                   evaluation=ev, borders=inp.scope)
                _write_report(reports, inp, name, page)
        results.append(Result(inp.name, name, Evaluation.merge(parts)))
    return results


def _run_rule(rule: str, inputs: Sequence[EvalInput], reports: Path | None) -> list[Result]:
    results = []
    for inp in inputs:
        parts = []
        for i, (records, labels) in enumerate(inp.runs):
            rows = field_rule_rows(records, rule, inp.coverage_end)
            ev = evaluate_records(records, rows, labels, coverage_end=inp.coverage_end, scope=inp.scope)
            parts.append(ev)
            if reports is not None and i == 0:
                page = field_rule_report_html(records, rows, rule, title=f"{inp.name}, field rule {rule}",
                                              labels=labels, evaluation=ev, borders=inp.scope)
                _write_report(reports, inp, f"field-rule-{rule}", page)
        results.append(Result(inp.name, rule, Evaluation.merge(parts), kind=FIELD_RULE))
    return results


@dataclass
class Generalisation:
    """The default on the development set in-sample, and with every border held out of its training once."""

    input: str
    default: str
    in_sample: Figures
    cross_validated: Figures
    folds: int
    #: field rule -> its figures on the same input (d is the ceiling of the early rate)
    rules: dict[str, Figures]
    reliability_in_sample: list
    reliability_cross_validated: list
    brier_in_sample: float
    brier_cross_validated: float
    #: the same with the borders that share a state held out together (streams.crossval.state_folds)
    state_grouped: Figures | None = None
    state_groups: list[tuple[str, ...]] = field(default_factory=list)


def with_model(pipeline, name: str, model):
    """``pipeline`` (the worker's) with the detector ``name`` built on ``model`` instead of its own."""
    from detectors.registry import make_detector
    from streams.pipeline import Pipeline

    return Pipeline(pipeline.registry, make_detector(name, model), policy=pipeline.policy, settings=pipeline.settings)


def held_out(inp: EvalInput, rows, pipeline, name: str, *, levels, C: float, folds=None):
    """Leave-borders-out cross-validation of the stack ``name`` on ``inp`` (one run), each fold's model
    fitted on ``rows`` without its borders (streams.crossval; ``folds`` as there): the run and its
    figures by the reference rules."""
    from streams.crossval import cross_validate

    (records, labels), = inp.runs

    def run_fold(fold_model, held):
        return run_records(with_model(pipeline, name, fold_model), held).history.rows()

    cv = cross_validate(records, rows, run_fold, levels=levels, C=C, folds=folds)
    return cv, evaluate_records(records, cv.alert_rows, labels, coverage_end=inp.coverage_end,
                                scope=inp.scope).figures()


def cross_validated(inp: EvalInput, default: str, results: Sequence[Result]) -> Generalisation | None:
    """Leave-borders-out cross-validation of the default stack's trained model (streams.crossval)."""
    from detectors.calibration import brier, reliability
    from detectors.hazard import model_of
    from detectors.registry import MODEL_DETECTORS
    from streams.crossval import state_folds
    from streams.training import DEFAULT_C, forecasts, labelled_rows

    mine = next((r for r in results if r.input == inp.name and r.kind == DETECTOR and r.name == default), None)
    if default not in MODEL_DETECTORS or mine is None or mine.evaluation is None or len(inp.runs) != 1:
        return None
    pipeline = worker_pipeline(default)
    model = model_of(pipeline.detector)
    (records, labels), = inp.runs
    rows = labelled_rows(records, labels, pipeline.registry, pipeline.settings)
    fit_as_shipped = {"levels": model.levels, "C": model.training.get("C", DEFAULT_C)}
    (cv, figures), (grouped, grouped_figures) = (held_out(inp, rows, pipeline, default, **fit_as_shipped),
                                                 held_out(inp, rows, pipeline, default, folds=state_folds,
                                                          **fit_as_shipped))
    in_sample = forecasts(rows, model)
    return Generalisation(inp.name, default, mine.figures, figures, len(cv.folds),
                          {r.name: r.figures for r in results if r.input == inp.name and r.kind == FIELD_RULE},
                          reliability(in_sample), reliability(cv.predictions), brier(in_sample), brier(cv.predictions),
                          grouped_figures, list(grouped.folds))


def render_generalisation(g: Generalisation | None) -> str:
    if g is None:
        return ""
    ceiling = g.rules.get("d")
    lines = [f"**Does it generalise? {g.input}, in-sample against leave-borders-out cross-validation**", "",
             f"In-sample: the packaged model, trained on all of these borders. Cross-validated: {g.folds} folds, each "
             "training the model without one border and running the whole default stack over that border with it, "
             "so every border is scored once by a model that never saw it."
             + (f" Cross-validated by state: {len(g.state_groups)} folds, each holding out together the borders "
                f"linked by a state they share (the largest: {', '.join(max(g.state_groups, key=len))}), so no "
                "state of a held-out border is in its model's training: the harder test, of a border in a region "
                "the model never saw." if g.state_grouped is not None and g.state_groups else "")
             + " Field rule `d` (an alert on every day "
             "with a display of force or more) marks the ceiling of the early rate for a detector that reacts to "
             "incidents; `c` (every deadly incident) the recall any detector can have with no false alarm.", ""]
    rows = [(f"`{g.default}` in-sample", g.in_sample), (f"`{g.default}` cross-validated", g.cross_validated)]
    if g.state_grouped is not None:
        rows.append((f"`{g.default}` cross-validated by state", g.state_grouped))
    rows += [(f"field rule `{name}` ({FIELD_RULES[name].title})", g.rules[name]) for name in ("d", "c", "a2z")
             if name in g.rules]
    lines += _table("run", rows)
    if ceiling is not None and ceiling.early_rate:
        lines += ["", f"Share of the ceiling: in-sample {g.in_sample.early_rate / ceiling.early_rate:.0%}, "
                      f"cross-validated {g.cross_validated.early_rate / ceiling.early_rate:.0%} of rule d's early "
                      f"rate, at {_per_year(g.in_sample.false_alarms_per_border_year)} and "
                      f"{_per_year(g.cross_validated.false_alarms_per_border_year)} false alarms per border-year "
                      "against "
                      f"its {_per_year(ceiling.false_alarms_per_border_year)}"
                      + (f"; cross-validated by state {g.state_grouped.early_rate / ceiling.early_rate:.0%} at "
                         f"{_per_year(g.state_grouped.false_alarms_per_border_year)}"
                         if g.state_grouped is not None else "")
                      + "."]
    lines += ["", "*Reliability of the forecast chance of a deadly clash within 60 days, on every incident day of "
                  "the labelled borders (days with deaths left out): forecast against observed frequency*", "",
              "| forecast band | days (in-sample) | forecast | observed | days (cross-validated) | forecast | observed |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    cross = {(b.lo, b.hi): b for b in g.reliability_cross_validated}
    bands = sorted({(b.lo, b.hi) for b in g.reliability_in_sample} | set(cross))
    inside = {(b.lo, b.hi): b for b in g.reliability_in_sample}
    for band in bands:
        cells = []
        for b in (inside.get(band), cross.get(band)):
            cells += [str(b.n), f"{b.predicted:.1%}", f"{b.observed:.1%}"] if b else ["0", "–", "–"]
        lines.append(f"| {band[0]:.1%} to {band[1]:.1%} | " + " | ".join(cells) + " |")
    lines += ["", f"Brier score: in-sample {g.brier_in_sample:.4f}, cross-validated {g.brier_cross_validated:.4f}.", ""]
    return "\n".join(lines)


def _write_report(reports: Path, inp: EvalInput, name: str, page: str) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{_slug(inp.name)}--{name}.html").write_text(page, encoding="utf-8")


def _run_budgeted(names: list[str], inputs: Sequence[EvalInput], one, budget: float, jobs: int, log) -> list[Result]:
    """Each detector in a forked child with a deadline; at most ``jobs`` children at a time."""
    ctx = multiprocessing.get_context("fork")
    pending, active, done = list(names), {}, {}
    while pending or active:
        while pending and len(active) < max(jobs, 1):
            name = pending.pop(0)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(one, name, send), daemon=True)
            proc.start()
            send.close()
            active[recv] = (name, proc, time.monotonic())
        now = time.monotonic()
        wait_for = max(0.0, min(started + budget for _, _, started in active.values()) - now)
        for conn in mp_connection.wait(list(active), timeout=wait_for):
            name, proc, started = active.pop(conn)
            try:
                status, payload = conn.recv()
            except EOFError:
                status, payload = "error", "the child process died"
            proc.join()
            conn.close()
            if status == "error":
                raise RuntimeError(f"detector {name}: {payload}")
            done[name] = payload
            log(f"eval: {name} took {time.monotonic() - started:.1f}s")
        now = time.monotonic()
        for conn, (name, proc, started) in list(active.items()):
            if now - started >= budget:
                proc.terminate()
                proc.join()
                conn.close()
                del active[conn]
                done[name] = [Result(inp.name, name, None, over_budget=budget) for inp in inputs]
                log(f"eval: {name} stopped after {budget:g}s")
    return [r for name in names for r in done[name]]


def _child(one, name: str, send) -> None:
    try:
        send.send(("ok", one(name)))
    except BaseException:  # report, never hang the parent
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()


#: The default before the hazard model, as it ran then: the ``ensemble`` stack under the policy of
#: that time (no expiry of warnings, a 30-day quiet period after an alarm), so the tables show what
#: the change of default did.
FORMER_DEFAULT = "ensemble, former policy"


def worker_pipeline(name: str):
    from alerts.escalation import EscalationPolicy
    from detectors.base import guards
    from streams.pipeline import Pipeline
    from streams.settings import load_settings
    from streams.worker import build_pipeline

    if name == FORMER_DEFAULT:
        p = build_pipeline(load_settings({"detector": "ensemble"}, environ={}))
        for guard in guards(p.detector):
            # as it ran: its CUSUM never took a long escalation for normal, nor its first days
            guard.adapt_after_days, guard.warm_up_days = None, 0
        return Pipeline(p.registry, p.detector, policy=EscalationPolicy(suppress_days=30, expire_after_days=None),
                        settings=p.settings)
    return build_pipeline(load_settings({"detector": name}, environ={}))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _per_year(v: float | None) -> str:
    """False alarms per border-year as the tables show them."""
    return figure_text("false_alarms_per_border_year", v)


def _label(r: Result, default: str) -> str:
    if r.kind == FIELD_RULE:
        return f"field rule `{r.name}` ({FIELD_RULES[r.name].title})"
    tags = ["default"] if r.name == default else ["the default before the hazard model"] if r.name == FORMER_DEFAULT else []
    if r.evaluation is None:
        tags.append(f"stopped: over the {r.over_budget:g} s budget")
    return f"`{r.name}`" + (f" ({', '.join(tags)})" if tags else "")


def _table(first: str, rows: Sequence[tuple[str, Figures | None]]) -> list[str]:
    lines = [f"| {first} | " + " | ".join(label for _, label in FIGURE_COLUMNS) + " |",
             "|---|" + "---:|" * len(FIGURE_COLUMNS)]
    for label, figures in rows:
        cells = figure_cells(figures) if figures is not None else [None] * len(FIGURE_COLUMNS)
        texts = (figure_text(key, v) for (key, _), v in zip(FIGURE_COLUMNS, cells))
        lines.append(f"| {label} | " + " | ".join(texts) + " |")
    return lines


def render(results: Sequence[Result], inputs: Sequence[EvalInput], default: str,
           after: Mapping[str, str] | None = None) -> str:
    """Markdown: per input, a row per detector and per field rule, the verdict, (where the input
    asks) the default detector's figures per border, and ``after[input name]`` if given."""
    lines = []
    for inp in inputs:
        mine = [r for r in results if r.input == inp.name]
        # the detectors by name, then the field rules in their own order
        rows = (sorted((r for r in mine if r.kind == DETECTOR), key=lambda r: r.name)
                + [r for name in FIELD_RULES for r in mine if r.kind == FIELD_RULE and r.name == name])
        lines += [f"**{inp.name}** ({inp.note})" if inp.note else f"**{inp.name}**", ""]
        lines += _table("detector", [(_label(r, default), r.figures) for r in rows])
        lines += ["", _verdict(rows, default), ""]
        default_row = next((r for r in rows if r.kind == DETECTOR and r.name == default), None)
        if inp.per_border and default_row is not None and default_row.evaluation is not None:
            ev = default_row.evaluation
            lines += [f"*{inp.name}, default `{default}` per border*", ""]
            lines += _table("border", [*((b, ev.figures(b)) for b in sorted(ev.borders)), ("overall", ev.figures())])
            lines.append("")
        if after and after.get(inp.name):
            lines += [after[inp.name], ""]
    return "\n".join(lines).rstrip() + "\n"


def _beats(a: Figures, b: Figures) -> bool:
    """At least b's early rate at no more false alarms per border-year, and better in one of the two."""
    return (a.early_rate >= b.early_rate and a.false_alarms_per_border_year <= b.false_alarms_per_border_year
            and (a.early_rate, -a.false_alarms_per_border_year) != (b.early_rate, -b.false_alarms_per_border_year))


def _verdict(rows: Sequence[Result], default: str) -> str:
    mine = next((r.figures for r in rows if r.kind == DETECTOR and r.name == default), None)
    if mine is None:
        finished = any(r.figures is not None for r in rows if r.kind == DETECTOR)
        return (f"The default `{default}` has no result here, so there is no verdict." if finished else
                "No detector finished within the budget.")
    rules = [(r.name, r.figures) for r in rows if r.kind == FIELD_RULE]
    fa = _per_year(mine.false_alarms_per_border_year)
    if mine.episodes:
        recall, early = figure_text("recall", mine.recall), figure_text("early_rate", mine.early_rate)
        bits = [f"Default `{default}`: recall {recall}, early {early}, {fa} false alarms "
                "per border-year."]
        why = "as many early warnings or more at no more false alarms per border-year"

        def seen(f: Figures) -> str:
            return f"early {figure_text('early_rate', f.early_rate)} at {_per_year(f.false_alarms_per_border_year)}"
    else:  # nothing to warn of: only the false alarms tell detectors apart
        bits = [f"Default `{default}`: no labelled escalation; {fa} false alarms per border-year."]
        why = "fewer false alarms per border-year"

        def seen(f: Figures) -> str:
            return _per_year(f.false_alarms_per_border_year)
    beaten = [f"`{name}`" for name, f in rules if _beats(mine, f)]
    better = [f"`{name}` ({seen(f)})" for name, f in rules if _beats(f, mine)]
    bits.append(f"It beats the field rules {', '.join(beaten)} ({why})." if beaten else
                "It beats none of the field rules.")
    if better:
        bits.append(f"Field rules that beat it: {', '.join(better)}.")
    if mine.controls_evaluable:
        bits.append(f"It hit {mine.controls_hit} of {mine.controls_evaluable} negative controls.")
    return " ".join(bits)


def replace_block(text: str, block: str, where: str = "docs/DETECTION.md") -> str:
    """``text`` with everything between the eval markers replaced by ``block``."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{where}: needs the markers {BEGIN} and {END} (in that order) around the results table")
    return text[:start + len(BEGIN)] + "\n" + block + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    from detectors.registry import detector_names
    from streams.settings import Settings

    ap = argparse.ArgumentParser(prog="python -m streams.eval_table", description=__doc__.split("\n")[0])
    ap.add_argument("--doc", type=Path, default=DOC,
                    help="markdown file with the eval markers (default docs/DETECTION.md)")
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the doc differs from this run")
    ap.add_argument("--reports", type=Path, help="also write an HTML report per input and detector here")
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help=f"synthetic seeds 0..N-1 (default {len(SEEDS)})")
    ap.add_argument("--budget", type=float, default=BUDGET,
                    help=f"seconds each detector may take over all inputs, 0 = no limit (default {BUDGET:g})")
    ap.add_argument("--jobs", type=int, default=2, help="detectors evaluated at once, one process each (default 2)")
    args = ap.parse_args(argv)
    inputs = [dev_set(), central_asia(), *synthetic(range(args.seeds))]
    names = detector_names()
    results = run(inputs, [*names, FORMER_DEFAULT], reports=args.reports, budget=args.budget or None, jobs=args.jobs,
                  log=lambda msg: print(msg, file=sys.stderr, flush=True))
    default = Settings().detector
    generalisation = cross_validated(inputs[0], default, results)
    limit = f" within a budget of {args.budget:g} s each" if args.budget else ""
    block = (f"Made by `make eval` over {len(names)} registered detectors{limit} and the field's rules "
             f"{', '.join(FIELD_RULES)} (`detectors/field_rules.py`); the worker's default is `{default}`. "
             "Scored by the field's reference rules (`alerts/evaluation/scoring.py`): **early** = an alert 1-60 days before "
             "onset, **timely** = on the onset day or up to 3 days after (a same-day alert is timely), late = "
             "later within the episode; recall = early + timely; alerts of a border within 7 days of a group's "
             "first form one group, and a group outside every [onset - 60 d, end] window of its border is a "
             "false alarm (a hit negative control counts as one); false alarms per border-year of data; "
             "precision = true groups / (true groups + false alarms); controls hit: negative controls hit of "
             "those the data covers; not scored: episodes whose onset the data does not cover. NAB std is the "
             "early-weighted score (0 for silence, 100 for an alert on every window's first day).\n\n"
             + render(results, inputs, default,
                      after={generalisation.input: render_generalisation(generalisation)} if generalisation else None))
    block += "\n" + series_suite.markdown(series_suite.evaluate())  # borderwatch score's detectors
    try:
        text = args.doc.read_text(encoding="utf-8")
        new = replace_block(text, block, str(args.doc))
    except (OSError, ValueError) as exc:
        print(f"eval: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"eval: {args.doc} is out of date: run make eval", file=sys.stderr)
            return 1
        return 0
    args.doc.write_text(new, encoding="utf-8")
    print(block)
    print(f"eval: wrote the table into {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
