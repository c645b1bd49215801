"""Segment state and per-event cost as history grows (part of ``make bench``).

One busy border (the bench's density: about 4.5 incidents a day, a death every few days) over
ten years, through the pipeline in-process. Reported:

* ``rate_by_year``: events per second of CPU time in each year of the stream, in one pass;
  ``year4_over_year1`` is the per-event cost's flatness over the first four years (1 = flat: the
  fourth year's events cost what the first's did), from alternating replays of the two years
  (:func:`paired_flatness`), so that the machine's drift between them does not count;
* ``state_bytes_1y`` / ``state_bytes_10y``: the segment's encoded state (what the table and its
  changelog hold) after one and after ten years;
* ``table_mb_10k_segments_1y`` / ``_10y``: the memory 10,000 segments' encoded states take in a
  table (each segment's state is this one's under its own key), measured with tracemalloc;
* ``decoded_state_kb_10y``: the same state decoded and scored once (its rolling sums and detector
  built), as the aggregate keeps the states it last wrote (``streams.app.DecodedStates``);
  ``decoded_cache_mb``: the most those take, ``DECODED_KEEP`` of them whatever the number of
  segments. A worker's state memory is the table's plus this bound.

``python -m bench.state`` prints the JSON object alone.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

from bench.harness import feed

YEARS = 10
PER_DAY = 4.5
SEGMENTS = 10_000
#: The years whose per-event costs ``year4_over_year1`` compares (0 = the first), and how many
#: alternating replays of each it takes the median of.
FLAT_YEARS = (0, 3)
PAIRS = 11
CATEGORIES = ["armed_clash", "shelling", "incursion", "detention", "smuggling_interdiction", "fortification"]


def stream(years: int = YEARS, seed: int = 5) -> list[tuple[int, bytes]]:
    """(year index, raw record) in event-time order, on the Kazakhstan-Uzbekistan border."""
    rng = random.Random(seed)
    t0 = datetime(2010, 1, 1, tzinfo=timezone.utc)
    n = int(years * 365 * PER_DAY)
    out = []
    for i in range(n):
        when = t0 + timedelta(seconds=int(i * (years * 365 * 86400 / n)))
        at = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        rec = {"event_id": f"state-{i}", "occurred_at": at, "reported_at": at, "source": "bench",
               "category": rng.choice(CATEGORIES), "severity": rng.randint(1, 5),
               "fatalities": rng.choice([0] * 30 + [1, 2]), "injuries": rng.choice([0] * 10 + [1]),
               "countries": ["KAZ", "UZB"]}
        out.append((i * years // n, json.dumps(rec, separators=(",", ":")).encode()))
    return out


def table_mb(encoded: bytes) -> float:
    """Memory of SEGMENTS keys each holding a state of this size, as a table's dict holds them."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = {f"SEG-{i:05d}": bytes(bytearray(encoded)) for i in range(SEGMENTS)}
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del table
    return used / 1e6


def decoded_kb_of(pipeline, encoded: bytes, key: str, raw: bytes) -> float:
    """Memory of ``encoded`` decoded and then scoring ``raw`` (which builds its sums and detector)."""
    from streams.segment_state import SegmentState
    from streams.topics import KIND_INCIDENTS

    envs, _ = pipeline.route(KIND_INCIDENTS, raw)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    state = SegmentState.decode(encoded, key)
    for env in envs:
        if env.key == key:
            pipeline.apply(state, env)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / 1e3


def replay_seconds(pipeline, raws: list[bytes], encoded: dict[str, bytes]) -> float:
    """CPU seconds to apply ``raws`` to the states ``encoded`` (key -> state; none: empty states)."""
    from streams.segment_state import SegmentState

    states = {key: SegmentState.decode(raw, key) for key, raw in encoded.items()}
    t0 = time.process_time()
    for raw in raws:
        feed(pipeline, states, raw)
    return time.process_time() - t0


def paired_flatness(pipeline, items: list[tuple[int, bytes]], at_year4: dict[str, bytes], *,
                    replay=replay_seconds) -> float:
    """The first year's per-event cost over the fourth's, from PAIRS alternating replays of each year
    (the first on empty states, the fourth on the states as the fourth began): the median of the
    pairs' ratios. The machine's speed drifts within a run, and the years of the one pass above
    are measured seconds apart; a pair is measured within a second."""
    first, fourth = ([raw for year, raw in items if year == y] for y in FLAT_YEARS)
    ratios = []
    for _ in range(PAIRS):
        one = replay(pipeline, first, {}) / len(first)
        four = replay(pipeline, fourth, at_year4) / len(fourth)
        ratios.append(one / four)
    return statistics.median(ratios)


def measure() -> dict:
    from streams.app import DECODED_KEEP
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry

    pipeline = Pipeline(SegmentRegistry.default())
    states: dict = {}
    spent = [0.0] * YEARS
    counts = [0] * YEARS
    sizes = {}
    items = stream()
    *items, (_, last) = items  # the last record is scored on a state decoded afresh (decoded_kb_of)
    at_year4: dict[str, bytes] = {}
    for year, raw in items:
        if year not in sizes and year > 0:  # the first event of a year: the state at the end of the last
            sizes[year] = max(len(st.encode()) for st in states.values())
            if year == FLAT_YEARS[1]:
                at_year4 = {key: st.encode() for key, st in states.items()}
        t0 = time.process_time()  # CPU time: other work on the machine moves it less than the wall clock
        feed(pipeline, states, raw)
        spent[year] += time.process_time() - t0
        counts[year] += 1
    largest = max(states.values(), key=lambda st: len(st.encode()))
    one_year_state = sizes[1]
    rates = [round(c / s) for c, s in zip(counts, spent)]
    ten = largest.encode()
    decoded_kb = decoded_kb_of(pipeline, ten, largest.key, last)
    return {
        "rate_by_year": rates,
        "year4_over_year1": round(paired_flatness(pipeline, items, at_year4), 3),
        "state_bytes_1y": one_year_state,
        "state_bytes_10y": len(ten),
        "table_mb_10k_segments_1y": round(table_mb(b"x" * one_year_state), 1),
        "table_mb_10k_segments_10y": round(table_mb(ten), 1),
        "decoded_state_kb_10y": round(decoded_kb, 1),
        "decoded_cache_mb": round(decoded_kb * DECODED_KEEP / 1e3, 1),
    }


def main() -> int:
    print(json.dumps(measure(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
