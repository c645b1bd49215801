"""``make eval``: every registered detector against the reference rules, as one markdown table.

Each detector in ``detectors.registry.DETECTORS`` runs through the backtest driver (the
worker's pipeline, built from default settings, in-process) over

* the labelled Central Asia history: MIE 1.0 incidents with the SIPRI deliveries, scored on the
  borders between the six Central Asian states against ``escalations-central-asia.csv``
  (episodes after the incidents end are ``not covered``; MIE rows on other dyads are run but
  not scored, since nothing labels them);
* every synthetic scenario of ``streams.generate``, several seeds pooled.

The tables go into ``docs/DETECTION.md`` between ``<!-- eval:begin -->`` and
``<!-- eval:end -->``, so the doc shows exactly what the command made::

    python -m streams.eval_table                  # rewrite the block in docs/DETECTION.md
    python -m streams.eval_table --check          # exit 1 if the doc is not what a run makes
    python -m streams.eval_table --reports DIR    # also an HTML report per input and detector

Each input is routed once and applied per detector. Each detector runs in a child process with
a time budget (``--budget``, 20 s over all inputs by default); one that runs out is stopped and
its rows say so, so one slow detector cannot stall the table.
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
from pathlib import Path
from typing import Callable, Iterable, Sequence

from alerts.evaluation import SUMMARY_COLUMNS, Evaluation, summary_cells

from streams import series_suite
from streams.backtest import evaluate_result, read_labels, report_html, route_records, run_records

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
REFERENCE = "reference"


@dataclass
class EvalInput:
    """One row group of the table: runs (records, labels) pooled into one evaluation."""

    name: str
    runs: list[tuple[list, list[dict]]]
    #: borders to score, None = every border with incidents
    borders: Sequence[str] | None = None
    note: str = ""


@dataclass
class Result:
    input: str
    detector: str
    evaluation: Evaluation | None
    #: seconds of budget the detector ran out of (then there is no evaluation)
    over_budget: float | None = None
    summary: dict | None = field(init=False)

    def __post_init__(self) -> None:
        self.summary = self.evaluation.summary() if self.evaluation is not None else None


def central_asia(data: Path = DATA) -> EvalInput:
    from streams.adapters import load, sort_key

    mie = load([data / "mie-1.0-central-asia.csv"], "mie")
    sipri = load([data / "sipri-trade-register-central-asia.csv"], "sipri")
    records = sorted(mie.records + sipri.records, key=sort_key)
    labels = read_labels(str(data / "escalations-central-asia.csv"))
    borders = sorted({r.border for r in mie.records if set(r.countries) <= set(CENTRAL_ASIA)}
                     | {lab["border"] for lab in labels if lab["kind"] == "escalation"})
    first, last = mie.records[0].occurred_at.date(), mie.records[-1].occurred_at.date()
    return EvalInput("Central Asia: MIE 1.0 incidents + SIPRI deliveries", [(records, labels)], borders,
                     f"incidents {first} to {last}; scored borders {', '.join(borders)}")


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
        out.append(EvalInput(f"synthetic `{name}`", runs, note=f"seeds {', '.join(map(str, seeds))} pooled"))
    return out


def run(inputs: Sequence[EvalInput], detectors: Iterable[str], *,
        pipeline_for: Callable[[str], object] | None = None, reports: Path | None = None,
        budget: float | None = None, jobs: int = 1, log=None) -> list[Result]:
    """Every detector over every input.

    ``pipeline_for(name)`` builds the pipeline (default: the worker's, from default settings with
    that detector). Each input is routed once and applied per detector. With ``budget``, each
    detector runs in a child process (``jobs`` at a time) and one that has not finished all
    inputs within ``budget`` seconds is stopped and reported as over budget.
    """
    pipeline_for = pipeline_for or _worker_pipeline
    names = list(detectors)
    if not names:
        return []
    router = pipeline_for(names[0])
    routed = [[route_records(router, records) for records, _ in inp.runs] for inp in inputs]

    def one(name: str) -> list[Result]:
        return _run_detector(name, inputs, routed, pipeline_for, reports)

    if budget is None:
        return [r for name in names for r in one(name)]
    return _run_budgeted(names, inputs, one, budget, jobs, log or (lambda msg: None))


def _run_detector(name: str, inputs: Sequence[EvalInput], routed, pipeline_for, reports: Path | None) -> list[Result]:
    results = []
    pipeline = pipeline_for(name)  # holds no run's state: states live in each run's result
    for inp, inp_routed in zip(inputs, routed):
        parts = []
        for i, ((records, labels), rt) in enumerate(zip(inp.runs, inp_routed)):
            draw = reports is not None and i == 0
            res = run_records(pipeline, records, trace=draw, routed=rt)
            ev = evaluate_result(res, labels, borders=inp.borders)
            parts.append(ev)
            if draw:
                reports.mkdir(parents=True, exist_ok=True)
                page = report_html(res, pipeline, title=f"{inp.name}, detector {name}", labels=labels,
                                   evaluation=ev, borders=inp.borders)
                (reports / f"{_slug(inp.name)}--{name}.html").write_text(page, encoding="utf-8")
        results.append(Result(inp.name, name, Evaluation.merge(parts)))
    return results


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


def _worker_pipeline(name: str):
    from streams.settings import load_settings
    from streams.worker import build_pipeline

    return build_pipeline(load_settings({"detector": name}, environ={}))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    return str(v)


def render(results: Sequence[Result], inputs: Sequence[EvalInput], default: str, reference: str = REFERENCE) -> str:
    """Markdown: per input, a row per detector (reference rules first), then the verdict."""
    lines = []
    for inp in inputs:
        rows = [r for r in results if r.input == inp.name]
        rows.sort(key=lambda r: (r.detector != reference, r.detector))
        lines += [f"**{inp.name}** ({inp.note})" if inp.note else f"**{inp.name}**", "",
                  "| detector | " + " | ".join(label for _, label in SUMMARY_COLUMNS) + " |",
                  "|---|" + "---:|" * len(SUMMARY_COLUMNS)]
        for r in rows:
            tags = [t for t, on in (("reference rules", r.detector == reference), ("default", r.detector == default))
                    if on]
            if r.summary is None:
                tags.append(f"stopped: over the {r.over_budget:g} s budget")
            label = f"`{r.detector}`" + (f" ({', '.join(tags)})" if tags else "")
            cells = summary_cells(r.summary) if r.summary is not None else [None] * len(SUMMARY_COLUMNS)
            lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in cells) + " |")
        lines += ["", _verdict([r for r in rows if r.summary is not None], default, reference), ""]
    return "\n".join(lines).rstrip() + "\n"


def _verdict(rows: Sequence[Result], default: str, reference: str) -> str:
    by = {r.detector: r.summary for r in rows}
    bits: list[str] = []
    if not rows:
        return "No detector finished within the budget."
    ranked = [r for r in rows if r.summary["nab_standard"] is not None]
    if ranked:
        best = max(ranked, key=lambda r: r.summary["nab_standard"])
        bits.append(f"Highest NAB standard score: `{best.detector}` ({_fmt(best.summary['nab_standard'])}).")
    else:
        fewest = min(rows, key=lambda r: r.summary["false_alarms"])
        bits.append(f"No labelled escalations: fewest false alarms `{fewest.detector}` "
                    f"({fewest.summary['false_alarms']}).")
    d, ref = by.get(default), by.get(reference)
    if d is None or ref is None:
        missing = default if d is None else reference
        return " ".join(bits + [f"`{missing}` has no result here, so there is no verdict."])
    if default == reference:
        bits.append(f"The worker's default is `{reference}` itself.")
    else:
        better_recall = (d["recall"] or 0) > (ref["recall"] or 0)
        same_recall = (d["recall"] or 0) == (ref["recall"] or 0)
        no_more_fa = d["false_alarms"] <= ref["false_alarms"]
        fewer_fa = d["false_alarms"] < ref["false_alarms"]
        # Where both already warn of every episode (recall 1), recall cannot be beaten: matching it
        # with fewer false alarms is the win there, and the line says which of the two it is.
        word = ("beats" if better_recall and no_more_fa else
                "matches the recall of, with fewer false alarms than," if same_recall and fewer_fa else
                "does not beat")
        bits.append(f"Default `{default}` {word} the reference rules (recall {_fmt(d['recall'])} against "
                    f"{_fmt(ref['recall'])}, {d['false_alarms']} false alarms against {ref['false_alarms']}).")
    if d["negative_controls"]:
        bits.append(f"The default raised a border alert during {d['negative_controls_violated']} of "
                    f"{d['negative_controls']} negative controls.")
    return " ".join(bits)


def replace_block(text: str, block: str, where: str = "docs/DETECTION.md") -> str:
    """``text`` with everything between the eval markers replaced by ``block``."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{where}: needs the markers {BEGIN} and {END} (in that order) around the results table")
    return text[:start + len(BEGIN)] + "\n" + block + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    from detectors.registry import DETECTORS
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
    inputs = [central_asia(), *synthetic(range(args.seeds))]
    results = run(inputs, DETECTORS, reports=args.reports, budget=args.budget or None, jobs=args.jobs,
                  log=lambda msg: print(msg, file=sys.stderr, flush=True))
    default = Settings().detector
    limit = f" within a budget of {args.budget:g} s each" if args.budget else ""
    block = (f"Made by `make eval` over {len(DETECTORS)} registered detectors{limit}; the worker's default is "
             f"`{default}`. Recall counts early and timely warnings; false alarms per border-year of exposure; NAB "
             "scores are 0 for a silent detector and 100 for a perfect one.\n\n" + render(results, inputs, default))
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
