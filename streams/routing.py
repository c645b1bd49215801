"""Stage 1 of the pipeline over a whole input, in process and without Kafka: what the backtest,
training and ``make eval`` each route once and then apply in their own way."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from streams.pipeline import Pipeline
from streams.records import IncidentEvent, encode
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS


@dataclass
class Routed:
    """Stage 1 over a whole input: the envelopes, as bytes, that ingest would forward.

    Routing is stateless and depends on the segment registry only, not on the detector, so one
    routing serves every detector run over the same input (``make eval``).
    """

    envelopes: list[bytes]
    dead_letters: int = 0
    #: pair -> incidents between states that share no land border (routed nowhere)
    non_border: Counter = field(default_factory=Counter)


def route_records(pipeline: Pipeline, records) -> Routed:
    out = Routed([])
    prior = pipeline.on_non_border
    pipeline.on_non_border = lambda pair: out.non_border.update((pair,))
    try:
        for rec in records:
            kind = KIND_INCIDENTS if isinstance(rec, IncidentEvent) else KIND_TRANSFERS
            envs, dead = pipeline.route(kind, encode(rec))
            out.dead_letters += dead is not None
            out.envelopes.extend(env.encode() for env in envs)
    finally:
        pipeline.on_non_border = prior
    return out
