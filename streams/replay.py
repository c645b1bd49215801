"""Replay a historical file into Kafka, in event-time order, with each event's own time as
the record timestamp -- the live path then processes it exactly as it would live input.

Records before 1970 get timestamp 0 (Kafka cannot carry negative times); event time
always comes from the record's ``occurred_at``, never from the Kafka timestamp.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from streams.adapters import load, rejection_lines, require_records
from streams.records import IncidentEvent, encode
from streams.topics import BROKER_WAIT_SECONDS, Topics, bootstrap, ensure_topics


@dataclass
class ReplayResult:
    sent: int
    rejected: int
    seconds: float
    #: rows of single-country sources on no land border (``Loaded.out_of_scope_text``)
    out_of_scope: str = ""
    #: file -> the format it was read in (``Loaded.formats``)
    formats: dict[str, str] = field(default_factory=dict)


class Progress:
    """A one-line progress bar on a terminal; a few plain lines otherwise."""

    def __init__(self, total: int, out=sys.stderr, width: int = 30) -> None:
        self.total, self.out, self.width = max(total, 1), out, width
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.last_pct = -1

    def update(self, done: int) -> None:
        pct = done * 100 // self.total
        if pct == self.last_pct:
            return
        self.last_pct = pct
        if self.tty:
            filled = self.width * done // self.total
            self.out.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} ({pct}%)")
            self.out.flush()
        elif pct % 25 == 0:
            self.out.write(f"replay: {done}/{self.total} ({pct}%)\n")

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")


def parse_speed(text: str) -> float | None:
    """``max`` -> None (as fast as the broker takes it); N -> N event-time seconds per wall second."""
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not 0 < speed < math.inf:  # NaN too: it passes no comparison, so it would pace nothing
        raise ValueError(f"--speed must be 'max' or a positive number of event-seconds per second, not {text!r}")
    return speed


def replay(paths: Sequence[str], fmt: str | None, broker_url: str, *, speed: float | None = None, partitions: int = 8,
           topics: Topics = Topics(), broker_wait: float = BROKER_WAIT_SECONDS,
           err=sys.stderr, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
           ) -> ReplayResult:
    from kafka import KafkaProducer

    loaded = load(paths, fmt)
    for line in rejection_lines(loaded.records, loaded.errors):
        err.write(line + "\n")
    require_records(loaded.records, loaded.errors, paths, fmt)  # before any broker is asked
    ensure_topics(broker_url, partitions, topics, timeout=broker_wait)
    producer = KafkaProducer(bootstrap_servers=bootstrap(broker_url), acks="all", linger_ms=5,
                             batch_size=256 * 1024, client_id="borderwatch-replay")
    progress = Progress(len(loaded.records), err)
    start = clock()
    first_ts = None
    try:
        for i, rec in enumerate(loaded.records, 1):
            ts = rec.occurred_at.timestamp()
            if speed is not None:
                first_ts = ts if first_ts is None else first_ts
                wait = (ts - first_ts) / speed - (clock() - start)
                if wait > 0:
                    sleep(wait)
            if isinstance(rec, IncidentEvent):
                # Keyed by border pair so one border's incidents stay in order through ingest.
                topic, key = topics.incidents, rec.border
            else:
                topic, key = topics.transfers, rec.recipient
            producer.send(topic, encode(rec), key=key.encode(), timestamp_ms=max(0, int(ts * 1000)))
            progress.update(i)
        producer.flush()
    finally:
        progress.close()
        producer.close()
    return ReplayResult(len(loaded.records), len(loaded.errors), clock() - start, loaded.out_of_scope_text(),
                        loaded.formats)
