"""The backtest over real, sparse borders (part of ``make bench``).

The bench's stream (``bench.harness.payloads``) is dense: a few incidents on every border every
day. Real borders are not: the development set bundled with the package (MIE 1.0, 18 land
borders, 1946-2014) holds 4,428 incidents over decades, so most of a segment's days pass without
one. There the cost is in the days between incidents: each closed day is learned, and each day
of an open alert is scored until it falls. This runs those records through the pipeline in-process
as ``borderwatch backtest`` does (route, apply, advance every open alert to its end) and reports,
beside a ``json.loads`` pass over the same records (as ``make bench``'s backtest figure):

* ``per_s``: records a second; ``over_json_loads``: its ratio to the ``json.loads`` pass;
* ``transitions``: the alert transitions the run made (raised, escalated, fallen, resolved);
* ``days_per_record``: segment-days between a segment's first and last incident, per record:
  how much of the stream is days without an incident.

``python -m bench.sparse`` prints the JSON object alone.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "streams" / "data" / "mie-1.0-dev-borders.csv"


def measure(path: Path = DATA) -> dict:
    from bench.harness import json_loads_rate
    from streams.adapters import load
    from streams.backtest import run_records
    from streams.pipeline import Pipeline
    from streams.records import encode
    from streams.segments import SegmentRegistry

    records = load([path], "mie").records
    pipeline = Pipeline(SegmentRegistry.default())
    t0 = time.perf_counter()
    res = run_records(pipeline, records)
    elapsed = time.perf_counter() - t0
    loads = json_loads_rate([(None, encode(r)) for r in records])
    spanned = sum(st.max_day - st.first_day + 1 for st in res.states.values()
                  if st.max_day is not None and st.first_day is not None)
    per_s = len(records) / elapsed
    return {"records": len(records), "transitions": len(res.events), "per_s": round(per_s),
            "json_loads_per_s": round(loads), "over_json_loads": round(per_s / loads, 5),
            "days_per_record": round(spanned / len(records), 1)}


if __name__ == "__main__":
    print(json.dumps(measure()))
    sys.exit(0)
