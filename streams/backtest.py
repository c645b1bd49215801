"""The backtest driver: the live pipeline object, in-process, over files; no Kafka.

It routes and applies exactly the bytes the live agents would see (records are
encoded as they would be produced, envelopes as they would be forwarded), then
advances every open alert past its end, as the live worker's idle ticks do.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Sequence

from alerts.escalation import LEVELS
from alerts.evaluation import Evaluation, evaluate
from alerts.history import AlertHistory
from alerts.model import AlertEvent
from alerts.report import Threshold, render_report

from streams.errors import SourceRowError
from streams.pipeline import Envelope, Pipeline, SegmentState, day_start
from streams.records import IncidentEvent, encode
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS

#: Far enough past any data for every alert to resolve (advance() stops at retention anyway).
_END_OF_TIME = 10**7


@dataclass
class BacktestResult:
    history: AlertHistory
    events: list[AlertEvent]
    states: dict[str, SegmentState]
    records: int = 0
    rejected: list[SourceRowError] = field(default_factory=list)
    #: the records the run read, in order (for the evaluation period)
    records_seen: list = field(default_factory=list, repr=False)
    dead_letters: int = 0
    duplicates: int = 0
    #: with ``trace=True``: (segment key, day number, score, level index) at every scoring
    trace: list[tuple[str, int, float, int]] = field(default_factory=list, repr=False)

    def coverage(self) -> tuple[date, date, dict[str, date]] | None:
        """First and last incident day, and each border's first incident day (None: no incidents).

        Arms transfers are yearly context, not observation: they do not extend the period.
        """
        first: dict[str, date] = {}
        lo = hi = None
        for r in self.records_seen:
            if isinstance(r, IncidentEvent):
                d = r.occurred_at.date()
                lo, hi = min(lo or d, d), max(hi or d, d)
                first[r.border] = min(first.get(r.border, d), d)
        return None if lo is None else (lo, hi, first)


@dataclass
class Routed:
    """Stage 1 over a whole input: the envelopes, as bytes, that the ingest agents would forward.

    Routing is stateless and depends on the segment registry only, not on the detector, so one
    routing serves every detector run over the same input (``make eval``).
    """

    envelopes: list[bytes]
    dead_letters: int = 0


def route_records(pipeline: Pipeline, records) -> Routed:
    out = Routed([])
    for rec in records:
        kind = KIND_INCIDENTS if isinstance(rec, IncidentEvent) else KIND_TRANSFERS
        envs, dead = pipeline.route(kind, encode(rec))
        out.dead_letters += dead is not None
        out.envelopes.extend(env.encode() for env in envs)
    return out


def run_records(pipeline: Pipeline, records, rejected=(), *, trace: bool = False,
                routed: Routed | None = None) -> BacktestResult:
    """Route (unless ``routed`` is given, from a pipeline with the same segments) and apply."""
    res = BacktestResult(AlertHistory(), [], {}, records=len(records), rejected=list(rejected),
                         records_seen=list(records))
    routed = routed if routed is not None else route_records(pipeline, records)
    res.dead_letters += routed.dead_letters
    prior = pipeline.observer
    if trace:
        pipeline.observer = lambda key, day, score, level: res.trace.append((key, day, score, level))
    try:
        _apply(pipeline, routed.envelopes, res)
    finally:
        pipeline.observer = prior
    res.history.extend(res.events)
    return res


def _apply(pipeline: Pipeline, envelopes: list[bytes], res: BacktestResult) -> None:
    states, events = res.states, res.events
    for raw in envelopes:
        env = Envelope.decode(raw)
        state = states.get(env.key) or states.setdefault(env.key, pipeline.new_state(env.key))
        applied = pipeline.apply(state, env)
        res.dead_letters += len(applied.late)
        res.duplicates += applied.duplicates
        events.extend(applied.alerts)
    for state in states.values():
        events.extend(pipeline.advance(state, _END_OF_TIME))


def run_backtest(paths: Sequence[str], fmt: str, pipeline: Pipeline, *, trace: bool = False) -> BacktestResult:
    from streams.adapters import load

    loaded = load(paths, fmt)
    return run_records(pipeline, loaded.records, loaded.errors, trace=trace)


LABEL_COLUMNS = ("episode_id", "border", "start", "end", "kind")
LABEL_KINDS = ("escalation", "negative_control")
_PAIR = re.compile(r"^([A-Z]{3})-([A-Z]{3})$")


def read_labels(path: str) -> list[dict]:
    """Labelled episodes (``episode_id,border,start,end,kind``; more columns are kept).

    An escalation's border is a sorted ISO3 pair (``KGZ-TJK``), a negative control's one ISO3
    state. A bad row raises SourceRowError naming the file, line and column.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise SourceRowError(path, 1, missing[0], f"missing column (need {','.join(LABEL_COLUMNS)})")
            rows = list(reader)
    except OSError as exc:
        raise SourceRowError(path, 0, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SourceRowError(path, 0, None, f"not UTF-8: {exc.reason}") from None
    ids: set[str] = set()
    for line, row in enumerate(rows, 2):
        for col in LABEL_COLUMNS:
            if not (row.get(col) or "").strip():
                raise SourceRowError(path, line, col, "missing")
        days = {}
        for col in ("start", "end"):
            try:
                days[col] = date.fromisoformat(row[col])
            except ValueError:
                raise SourceRowError(path, line, col, f"{row[col]!r} is not a date (YYYY-MM-DD)") from None
        if days["end"] < days["start"]:
            raise SourceRowError(path, line, "end", f"{row['end']} is before start {row['start']}")
        if row["kind"] not in LABEL_KINDS:
            raise SourceRowError(path, line, "kind", f"{row['kind']!r} is not one of {', '.join(LABEL_KINDS)}")
        m = _PAIR.match(row["border"])
        if row["kind"] == "escalation" and not (m and m.group(1) < m.group(2)):
            raise SourceRowError(path, line, "border", f"{row['border']!r} is not a sorted ISO3 pair like KGZ-TJK")
        if row["kind"] == "negative_control" and not re.fullmatch(r"[A-Z]{3}", row["border"]):
            raise SourceRowError(path, line, "border", f"{row['border']!r}: a negative control names one ISO3 state")
        if row["episode_id"] in ids:
            raise SourceRowError(path, line, "episode_id", f"{row['episode_id']!r} appears twice")
        ids.add(row["episode_id"])
    return rows


def evaluate_result(res: BacktestResult, labels: list[dict], rows: list[dict] | None = None,
                    borders: Sequence[str] | None = None) -> Evaluation:
    """Evaluate a run's alerts over the period its incidents cover.

    ``borders``: the borders to score (default: every border the input has incidents on); each
    is exposed from its first incident. A scored border with no incidents is exposed from the
    first incident of the data.
    """
    cov = res.coverage()
    if cov is None:
        raise ValueError("no incidents were loaded, so there is no period to evaluate")
    start, end, first = cov
    scored = {b: first.get(b, start) for b in (borders if borders is not None else first)}
    return evaluate(res.history.rows() if rows is None else rows, labels, start, end, scored)


def border_of_key(pipeline: Pipeline, key: str) -> str:
    """The border pair a state key (cut segment or pair-level segment) belongs to."""
    try:
        return pipeline.registry.get(key).border
    except KeyError:
        return key


def report_html(res: BacktestResult, pipeline: Pipeline, *, title: str, labels: Sequence[dict] = (),
                evaluation: Evaluation | None = None, borders: Sequence[str] | None = None,
                notes: Sequence[str] = ()) -> str:
    """The HTML report of a run made with ``trace=True``."""
    cov = res.coverage()
    if cov is None:
        raise ValueError("no incidents were loaded, so there is nothing to draw")
    incidents = [(r.border, r.occurred_at.date(), r.fatalities) for r in res.records_seen
                 if isinstance(r, IncidentEvent)]
    borders_of = {key: border_of_key(pipeline, key) for key in {t[0] for t in res.trace}}
    trace = [(borders_of[key], day_start(day).date(), score, level) for key, day, score, level in res.trace]
    policy = pipeline.policy
    thresholds = [Threshold(LEVELS[i], policy.raise_at[i], policy.clear_below[i]) for i in (1, 2, 3)]
    return render_report(title=title, period=cov[:2], incidents=incidents, trace=trace, alert_rows=res.history.rows(),
                         labels=labels, evaluation=evaluation, thresholds=thresholds, borders=borders,
                         notes=[f"Detector {pipeline.detector.name}; {res.records} records, "
                                f"{len(res.rejected)} rejected, {res.duplicates} duplicates dropped, "
                                f"{res.dead_letters} dead letters.", *notes])
