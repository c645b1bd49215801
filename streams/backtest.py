"""The backtest driver: the live pipeline object, in-process, over files; no Kafka.

It routes and applies exactly the bytes the live agents would see (records are
encoded as they would be produced, envelopes as they would be forwarded), then
advances every open alert past its end, as the live worker's idle ticks do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from alerts.history import AlertHistory
from alerts.model import AlertEvent

from streams.errors import SourceRowError
from streams.pipeline import Envelope, Pipeline, SegmentState
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


def run_records(pipeline: Pipeline, records, rejected=()) -> BacktestResult:
    states: dict[str, SegmentState] = {}
    events: list[AlertEvent] = []
    res = BacktestResult(AlertHistory(), events, states, records=len(records), rejected=list(rejected),
                         records_seen=list(records))
    for rec in records:
        kind = KIND_INCIDENTS if isinstance(rec, IncidentEvent) else KIND_TRANSFERS
        envs, dead = pipeline.route(kind, encode(rec))
        res.dead_letters += dead is not None
        for env in envs:
            env = Envelope.decode(env.encode())
            state = states.get(env.key) or states.setdefault(env.key, pipeline.new_state(env.key))
            applied = pipeline.apply(state, env)
            res.dead_letters += len(applied.late)
            res.duplicates += applied.duplicates
            events.extend(applied.alerts)
    for state in states.values():
        events.extend(pipeline.advance(state, _END_OF_TIME))
    res.history.extend(events)
    return res


def run_backtest(paths: Sequence[str], fmt: str, pipeline: Pipeline) -> BacktestResult:
    from streams.adapters import load

    loaded = load(paths, fmt)
    return run_records(pipeline, loaded.records, loaded.errors)
