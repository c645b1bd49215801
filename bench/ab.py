"""Is it the code or the machine? ``python -m bench.ab COMMIT [--runs 2] [--events 20000]``.

A ``make bench`` figure below an earlier run's can come from the code or from this shared
machine's speed that hour (docs/BENCHMARKS.md: the raw baseline itself moves by half). This runs
the worker's whole live path and the in-process backtest of ``make bench`` (``bench.run``'s
``worker_rate`` and ``backtest_rate``, on ``payloads``) for COMMIT and for the working tree, in
turn -- COMMIT, here, COMMIT, here -- so both see the machine as it is, and prints one JSON object:
each run's events a second, and here over COMMIT pair by pair.

COMMIT is checked out in a temporary git worktree (removed afterwards); its own ``bench.run``
measures it, so COMMIT must have those functions (any commit since 2026-11-30).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Run in a fresh interpreter with the tree to measure first on the path, so that tree's code --
#: pipeline, worker (started from that tree) and bench alike -- is what is timed.
MEASURE = """
import asyncio, json, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench import run as R
from bench.harness import payloads
from streams.broker import EmbeddedBroker, free_port
from streams.topics import Topics, ensure_topics
n = int(sys.argv[2])
items = payloads(n)
topics = Topics("bench")
with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(port=free_port()) as broker:
    ensure_topics(broker.url, R.PARTITIONS, topics)
    asyncio.run(R.produce(broker.bootstrap, topics.incidents, items))
    worker, _cores = R.worker_rate(broker, topics.prefix, n, Path(tmp))
print(json.dumps({"worker_per_s": round(worker), "backtest_per_s": round(R.backtest_rate(items))}))
"""


def measure(tree: Path, events: int) -> dict:
    res = subprocess.run([sys.executable, "-c", MEASURE, str(tree), str(events)], cwd=tree, capture_output=True,
                         text=True, timeout=900)
    if res.returncode != 0:
        raise SystemExit(f"bench.ab: measuring {tree} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0])
    ap.add_argument("commit", help="the commit to compare the working tree with")
    ap.add_argument("--runs", type=int, default=2, help="pairs of runs (default 2)")
    ap.add_argument("--events", type=int, default=20000, help="events per run (default 20000)")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.events < 1000:
        raise SystemExit("bench.ab: --runs must be 1 or more and --events 1000 or more")
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        added = subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), args.commit], cwd=ROOT,
                               capture_output=True, text=True)
        if added.returncode != 0:
            raise SystemExit(f"bench.ab: cannot check out {args.commit!r}: {added.stderr.strip()}")
        try:
            pairs = [(measure(other, args.events), measure(ROOT, args.events)) for _ in range(args.runs)]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)
    out: dict = {"commit": args.commit, "events": args.events}
    for what in ("worker_per_s", "backtest_per_s"):
        out[what] = {"commit": [a[what] for a, _ in pairs], "here": [b[what] for _, b in pairs],
                     "here_over_commit": round(statistics.median(b[what] / a[what] for a, b in pairs), 3)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
