"""What the bench's runs share: the synthetic incidents they produce, and a ``borderwatch worker``
subprocess to run them through, with the reading of its /metrics."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alerts.timefmt import iso
from streams.broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parent.parent
#: Incidents the bench's synthetic stream holds (``BENCH_EVENTS``).
N = int(os.environ.get("BENCH_EVENTS", "40000"))
BORDERS = [("KGZ", "TJK"), ("KGZ", "UZB"), ("TJK", "UZB"), ("AFG", "TJK"), ("KAZ", "KGZ"), ("AFG", "TKM"),
           ("KAZ", "UZB"), ("TKM", "UZB")]
CATEGORIES = ["armed_clash", "shelling", "incursion", "detention", "smuggling_interdiction", "fortification"]


def payloads(n: int, seed: int = 11) -> list[tuple[bytes, bytes]]:
    """Incidents over ~3 years on 8 borders, a third geolocated near KGZ-TJK, in event-time order."""
    rng = random.Random(seed)
    t0 = datetime(2019, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        a, b = rng.choice(BORDERS)
        when = t0 + timedelta(seconds=int(i * (3 * 365 * 86400 / n)))
        rec = {"event_id": f"bench-{i}", "occurred_at": iso(when),
               "reported_at": iso(when), "source": "bench",
               "category": rng.choice(CATEGORIES), "severity": rng.randint(1, 5),
               "fatalities": rng.choice([0] * 30 + [1, 2]), "injuries": rng.choice([0] * 10 + [1]),
               "countries": [a, b]}
        if (a, b) == ("KGZ", "TJK") and rng.random() < 0.5:
            rec["latitude"], rec["longitude"] = 39.9 + rng.random() * 0.5, 69.6 + rng.random() * 1.5
        out.append((f"{a}-{b}".encode(), json.dumps(rec, separators=(",", ":")).encode()))
    return out


def feed(pipeline, states: dict, raw: bytes) -> None:
    """Route one raw incident and apply what it routes to ``states`` (key -> state, new keys added):
    the pipeline in-process, as the backtest drives it, one record at a time."""
    from streams.topics import KIND_INCIDENTS

    envs, _ = pipeline.route(KIND_INCIDENTS, raw)
    for env in envs:
        st = states.get(env.key) or states.setdefault(env.key, pipeline.new_state(env.key))
        pipeline.apply(st, env)


def json_loads_rate(items) -> float:
    """A plain ``json.loads`` pass over the values of ``items`` ((key, raw) pairs): the floor of any
    pass over them in Python, and the baseline of every in-process rate (best of three, the machine
    being shared)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _, raw in items:
            json.loads(raw)
        best = min(best, time.perf_counter() - t0)
    return len(items) / best


def parse_cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks) of a /proc/<pid>/stat line; the command name may hold spaces and ``)``."""
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of the line, counted from 1


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out.extend(int(c) for c in (task / "children").read_text().split())
    return out


def cpu_seconds(pid: int, *, tree: bool = False) -> float:
    """CPU seconds (user + system) the process has used so far; with ``tree``, its live descendants'
    too (a worker draws its PDFs in a child process). A process gone meanwhile counts nothing."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += parse_cpu_ticks(Path(f"/proc/{p}/stat").read_text())
            if tree:
                todo.extend(_children(p))
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Cores each named process used between :meth:`start` and :meth:`cores`: what a rate or a
    latency measured on a shared machine cost, and which process held the cores meanwhile.

    Each process counts with its descendants, except those named in ``alone`` (the bench's own
    process, whose children are the broker and the workers measured beside it)."""

    def __init__(self, pids: dict[str, int], *, alone: tuple[str, ...] = (), clock=time.monotonic,
                 read=cpu_seconds) -> None:
        self.pids, self.alone, self.clock, self.read = dict(pids), set(alone), clock, read
        self._start: tuple[float, dict[str, float]] | None = None

    def _read(self) -> dict[str, float]:
        return {name: self.read(pid, tree=name not in self.alone) for name, pid in self.pids.items()}

    def start(self) -> None:
        self._start = (self.clock(), self._read())

    def cores(self) -> dict[str, float | None]:
        """Name -> CPU seconds over wall seconds since :meth:`start` (1.0 is one core held throughout),
        None for a process that ended meanwhile (what it used is gone with it), and ``machine_cores``,
        how many the machine has."""
        if self._start is None:
            raise RuntimeError("CpuMeter.cores before start")
        t0, before = self._start
        wall, now = self.clock() - t0, self._read()
        out: dict[str, float | None] = {}
        for name in self.pids:
            used = now[name] - before[name]
            out[name] = None if used < 0 else round(used / wall, 2) if wall > 0 else 0.0
        out["machine_cores"] = os.cpu_count() or 1
        return out


def metric_sum(text: str, name: str) -> float:
    """The sum of every series of the metric ``name`` in a Prometheus text exposition."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def start_worker(broker: EmbeddedBroker, prefix: str, tmp: Path, port: int, token: str, name: str = "worker",
                 **env: str) -> subprocess.Popen:
    """A ``borderwatch worker`` subprocess on ``broker``: app id ``<prefix>-worker``, topics under ``prefix``,
    its data directory and log (``<name>.log``) under ``tmp``; ``env`` adds ``BORDERWATCH_*`` settings."""
    env = {**os.environ, "BORDERWATCH_API_TOKEN": token, "BORDERWATCH_SESSION_TIMEOUT": "4", **env}
    with open(tmp / f"{name}.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "streams.cli", "worker", "--broker", broker.url, "--web-port",
                                 str(port), "--app-id", f"{prefix}-worker", "--topic-prefix", prefix,
                                 "--data-dir", str(tmp / name)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)


def wait_ready(proc: subprocess.Popen, base_url: str, log_path: Path, timeout: float, *,
               error: type[BaseException] = SystemExit, interval: float = 0.2) -> None:
    """Until the worker's /health says ready (its groups joined, its tables recovered); ``error``
    with the worker's log tail if it exits, fails (503) or is not ready within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise error(f"the worker exited at start with status {proc.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=2) as resp:
                if json.loads(resp.read()).get("ready"):
                    return
        except urllib.error.HTTPError as exc:
            raise error(f"the worker is failing at start: {exc.read().decode(errors='replace')}") from None
        except OSError:
            pass
        time.sleep(interval)
    raise error(f"the worker was not ready within {timeout:.0f} s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no worker log)"
