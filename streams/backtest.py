"""The backtest driver: the live pipeline object, in-process, over files; no Kafka.

It routes and applies exactly the bytes the live agents would see (records are
encoded as they would be produced, envelopes as they would be forwarded), then
advances every open alert past its end, as the live worker's idle ticks do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Iterable, Sequence

from alerts.escalation import LEVELS
from alerts.evaluation.scoring import Evaluation, ScoringInputError, data_spans, evaluate, labels_from_rows
from alerts.history import AlertHistory
from alerts.model import INCIDENT, AlertEvent
from alerts.evaluation.report import Threshold, render_report
from alerts.timefmt import iso
from detectors.field_rules import FIELD_RULES, RuleIncident, run_rule

from streams.errors import SourceRowError
from streams.segments import is_land_border
from streams.pipeline import Pipeline
from streams.records import IncidentEvent
from streams.routing import Routed, route_records
from streams.segment_state import SegmentState
from streams.training import forecasts, labelled_rows
from streams.topics import Envelope
from streams.windows import day_start
from streams.wording import counted

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
    #: rows of single-country sources on no land border (``Loaded.out_of_scope_text``)
    out_of_scope: str = ""
    #: pair -> incidents between states that share no land border: no border, so no alert
    non_border: Counter = field(default_factory=Counter)
    #: with ``trace=True``: (segment key, day number, score, level index) at every scoring
    trace: list[tuple[str, int, float, int]] = field(default_factory=list, repr=False)
    #: file -> the format it was read in (``Loaded.formats``)
    formats: dict[str, str] = field(default_factory=dict)


def run_records(pipeline: Pipeline, records, rejected=(), *, trace: bool = False,
                routed: Routed | None = None) -> BacktestResult:
    """Route (unless ``routed`` is given, from a pipeline with the same segments) and apply."""
    res = BacktestResult(AlertHistory(), [], {}, records=len(records), rejected=list(rejected),
                         records_seen=list(records))
    routed = routed if routed is not None else route_records(pipeline, records)
    res.dead_letters += routed.dead_letters
    res.non_border = routed.non_border
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


def run_backtest(paths: Sequence[str], fmt: str | None, pipeline: Pipeline, *, trace: bool = False) -> BacktestResult:
    """``fmt`` None: each file in the format its first lines show (``streams.adapters.load``)."""
    from streams.adapters import load

    loaded = load(paths, fmt)
    res = run_records(pipeline, loaded.records, loaded.errors, trace=trace)
    res.out_of_scope = loaded.out_of_scope_text()
    res.formats = loaded.formats
    return res


def incident_days(records: Iterable) -> Iterable[tuple[str, date]]:
    """(border, UTC day) of every incident: what the data spans of the evaluation are made of.

    Arms transfers are yearly context, not observation: they do not extend a span. Pairs that
    share no land border that day are no border (the pipeline routes none of their incidents), so
    they have no span and are never scored.
    """
    return ((r.border, r.occurred_at.date()) for r in records
            if isinstance(r, IncidentEvent) and is_land_border(*r.countries, on=r.occurred_at.date()))


def evaluate_records(records: Sequence, alert_rows: list[dict], labels: list[dict], *,
                     coverage_end: date | None = None, scope: Sequence[str] | None = None) -> Evaluation:
    """Score alerts.csv rows of a run over ``records`` against labels rows, by the reference rules.

    Each border's span runs from its first incident in ``records`` to ``coverage_end`` (default:
    the last incident); ``scope``: the borders scored (default: those of the escalation labels and
    every border with incidents). Raises ScoringInputError when there is nothing to score over.
    """
    spans = data_spans(incident_days(records), coverage_end)
    if not spans:
        raise ScoringInputError("input", None, None, "no incidents were loaded, so there is no period to evaluate")
    # Labels are escalations of incidents: an arms-race alert (transfers alone) is not a forecast of one.
    incident_rows = [r for r in alert_rows if (r.get("kind") or INCIDENT) == INCIDENT]
    return evaluate(incident_rows, labels_from_rows(labels), spans, scope)


def evaluate_result(res: BacktestResult, labels: list[dict], *, rows: list[dict] | None = None,
                    coverage_end: date | None = None, scope: Sequence[str] | None = None) -> Evaluation:
    """Evaluate a run's alerts (``rows``, default: its own) over the incidents it read."""
    return evaluate_records(res.records_seen, res.history.rows() if rows is None else rows, labels,
                            coverage_end=coverage_end, scope=scope)


def rule_incidents(records: Iterable) -> list[RuleIncident]:
    """The incidents of a loaded input as the field rules read them.

    ``severity`` is read as the hostility level: for MIE input it is MIE's ``hostlev``, except
    where MIE gives none (-9: the adapter takes the action's codebook level, the reference reader
    keeps -9; no bundled row has one). A repeated ``event_id`` is a second report, dropped as
    the pipeline drops it.
    """
    seen: set[str] = set()
    out = []
    for r in records:
        if isinstance(r, IncidentEvent) and r.event_id not in seen:
            seen.add(r.event_id)
            day = r.occurred_at.date()
            out.append(RuleIncident(r.border, day, r.ended_at.date() if r.ended_at else day, r.severity,
                                    r.fatalities, r.event_id))
    return out


def field_rule_rows(records: Iterable, rule: str, coverage_end: date | None = None) -> list[dict]:
    """alerts.csv rows of field rule ``rule`` (``detectors.field_rules.FIELD_RULES``) over loaded records.

    The rules do not score, they fire: ``score`` is empty and ``summary`` says what fired.
    An alert still open at the coverage end has no ``resolved_at``.
    """
    def at(day: date) -> str:
        return iso(datetime(day.year, day.month, day.day, tzinfo=UTC))

    return [{"alert_id": f"{a.rule}-{a.border}-{a.opened}", "border": a.border, "segment_id": a.border,
             "level": a.level, "opened_at": at(a.opened), "resolved_at": at(a.resolved) if a.resolved else "",
             "score": "", "summary": f"field rule {a.rule}: {a.trigger}"}
            for a in run_rule(rule, rule_incidents(records), coverage_end)]


def report_html(res: BacktestResult, pipeline: Pipeline, *, title: str, labels: Sequence[dict] = (),
                evaluation: Evaluation | None = None, borders: Sequence[str] | None = None,
                notes: Sequence[str] = ()) -> str:
    """The HTML report of a detector's run made with ``trace=True``: its scores against the
    policy's lines, its alerts, the incidents and the labelled episodes."""
    borders_of = {key: pipeline.border_of(key) for key in {t[0] for t in res.trace}}
    trace = [(borders_of[key], day_start(day).date(), score, level) for key, day, score, level in res.trace]
    policy = pipeline.policy
    thresholds = [Threshold(LEVELS[i], policy.raise_at[i], policy.clear_below[i]) for i in (1, 2, 3)]
    return _page(res.records_seen, res.history.rows(), title=title, labels=labels, evaluation=evaluation,
                 borders=borders, trace=trace, thresholds=thresholds,
                 reliability=forecast_reliability(res.records_seen, labels, pipeline, borders),
                 notes=[f"Detector {pipeline.detector.name}; {counted(res.records, 'record')}, "
                        f"{len(res.rejected)} rejected, {counted(res.duplicates, 'duplicate')} dropped, "
                        f"{counted(res.dead_letters, 'dead letter')}.", *notes])


def field_rule_report_html(records: Sequence, rows: list[dict], rule: str, *, title: str,
                           labels: Sequence[dict] = (), evaluation: Evaluation | None = None,
                           borders: Sequence[str] | None = None) -> str:
    """The HTML report of a field rule's alerts (a rule fires, it does not score: no score dots)."""
    return _page(records, rows, title=title, labels=labels, evaluation=evaluation, borders=borders,
                 notes=[f"Field rule {rule}: {FIELD_RULES[rule].description}; {counted(len(records), 'record')}."])


def forecast_reliability(records: Sequence, labels: Sequence[dict], pipeline: Pipeline,
                         borders: Sequence[str] | None = None) -> list:
    """The reliability bins of the stack's hazard forecasts on the labelled borders (none without a
    model); ``borders``: only those, as the rest of the page (``--borders``)."""
    from detectors.calibration import reliability
    from detectors.hazard import model_of

    model = model_of(pipeline.detector)
    if model is None or not any(lab["kind"] == "escalation" for lab in labels):
        return []
    rows = labelled_rows(records, labels, pipeline.registry, pipeline.settings)
    if borders is not None:
        rows = [r for r in rows if r.border in borders]
    return reliability(forecasts(rows, model))


def _page(records: Sequence, rows: list[dict], *, title: str, labels: Sequence[dict], evaluation: Evaluation | None,
          borders: Sequence[str] | None, notes: Sequence[str], trace=(), thresholds=(), reliability=()) -> str:
    days = [d for _, d in incident_days(records)]
    if not days:
        raise ValueError("no incidents were loaded, so there is nothing to draw")
    # A pair that shares no land border is no border (issue 9): its incidents are routed nowhere, so
    # the page draws no section for it either.
    incidents = [(r.border, r.occurred_at.date(), r.fatalities) for r in records
                 if isinstance(r, IncidentEvent) and is_land_border(*r.countries, on=r.occurred_at.date())]
    return render_report(title=title, period=(min(days), max(days)), incidents=incidents, trace=trace,
                         alert_rows=rows, labels=labels_from_rows(labels), evaluation=evaluation,
                         thresholds=thresholds, borders=borders, notes=notes, reliability=reliability)
