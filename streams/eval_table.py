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
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from alerts.evaluation import SUMMARY_COLUMNS, Evaluation, summary_cells

from streams.backtest import evaluate_result, read_labels, report_html, run_records

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "streams" / "data"
DOC = ROOT / "docs" / "DETECTION.md"
BEGIN, END = "<!-- eval:begin -->", "<!-- eval:end -->"
CENTRAL_ASIA = ("AFG", "KAZ", "KGZ", "TJK", "TKM", "UZB")
SEEDS = (0, 1, 2)
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
    evaluation: Evaluation
    summary: dict = field(init=False)

    def __post_init__(self) -> None:
        self.summary = self.evaluation.summary()


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


def run(inputs: Sequence[EvalInput], detectors: Mapping[str, Callable], *,
        pipeline_for: Callable[[str], object] | None = None,
        reports: Path | None = None) -> list[Result]:
    """Every detector over every input; ``pipeline_for(name)`` builds the pipeline (default:
    the worker's, from default settings with that detector)."""
    pipeline_for = pipeline_for or _worker_pipeline
    results = []
    for inp in inputs:
        for name in detectors:
            parts = []
            for i, (records, labels) in enumerate(inp.runs):
                pipeline = pipeline_for(name)
                res = run_records(pipeline, records, trace=reports is not None and i == 0)
                ev = evaluate_result(res, labels, borders=inp.borders)
                parts.append(ev)
                if reports is not None and i == 0:
                    reports.mkdir(parents=True, exist_ok=True)
                    page = report_html(res, pipeline, title=f"{inp.name}, detector {name}", labels=labels,
                                       evaluation=ev, borders=inp.borders)
                    (reports / f"{_slug(inp.name)}--{name}.html").write_text(page, encoding="utf-8")
            results.append(Result(inp.name, name, Evaluation.merge(parts)))
    return results


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
            label = f"`{r.detector}`" + (f" ({', '.join(tags)})" if tags else "")
            lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in summary_cells(r.summary)) + " |")
        lines += ["", _verdict(rows, default, reference), ""]
    return "\n".join(lines).rstrip() + "\n"


def _verdict(rows: Sequence[Result], default: str, reference: str) -> str:
    by = {r.detector: r.summary for r in rows}
    bits = []
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
        return " ".join(bits)
    if default == reference:
        bits.append(f"The worker's default is `{reference}` itself.")
    else:
        better_recall = (d["recall"] or 0) > (ref["recall"] or 0)
        no_more_fa = d["false_alarms"] <= ref["false_alarms"]
        word = "beats" if better_recall and no_more_fa else "does not beat"
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
    args = ap.parse_args(argv)
    inputs = [central_asia(), *synthetic(range(args.seeds))]
    results = run(inputs, DETECTORS, reports=args.reports)
    default = Settings().detector
    block = (f"Made by `make eval` over {len(DETECTORS)} registered detectors; the worker's default is `{default}`. "
             "Recall counts early and timely warnings; false alarms per border-year of exposure; NAB scores are "
             "0 for a silent detector and 100 for a perfect one.\n\n" + render(results, inputs, default))
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
