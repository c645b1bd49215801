"""``make soak``: one worker at a sustained rate for minutes; its RSS, consumer lag and processed counts.

1. The embedded broker and one ``borderwatch worker`` subprocess start on loopback: own app id and
   topics, a temporary data directory, the tests' group and idle settings (session timeout 6 s, a tick
   every 0.5 s, a partition idle after 2 s).
2. A synthetic stream from ``streams.generate`` (every bundled border, escalations, isolated deadly
   incidents, unrest, noise bursts, late and duplicate reports, yearly arms deliveries; half of the
   incidents placed on a cut segment of their border, so spill-over and every segment's state are
   exercised) is produced in report order at ``--rate`` records a second for ``--seconds``. Event time
   runs forward about 17 days a second at the default rate, so alerts open and resolve all along.
3. Every ``--sample`` seconds: the worker's RSS (``VmRSS``) and CPU from /proc; its consumer lag from
   the broker's offsets (end offsets of the input topics and ``segment-events`` minus the committed
   offsets of the worker's consumer groups, the ingest group's for the input and the app's for
   ``segment-events``, read without joining them); its counters from /metrics.
4. After the last record the measuring goes on, every second, until every offset that existed when
   production ended has been committed by the worker (the *backlog* is 0), or ``--drain-deadline``.

The raw lag never stays at 0 on a live worker: it writes a tick into every input partition every
0.5 s and commits every few seconds, so a caught-up worker shows a floor of uncommitted ticks. The
backlog counts only what was there at the end of production (and what the worker forwarded to
``segment-events`` until its input was committed), so it reaches 0 exactly when the worker has caught up.

Prints one JSON object on stdout; exit status 1 when a criterion fails (RSS spread after the warm-up
over ``--rss-limit`` %, backlog not 0 within ``--drain-limit`` seconds of the end), 2 on an error, 130
when interrupted. Progress goes to stderr. The pure analysis is at the top (tests/unit/test_soak.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable, Mapping, Sequence

from bench.harness import parse_cpu_ticks, tail, wait_ready
from borderwatch.errors import BorderwatchError
from streams.ingest import ingest_group_id
from streams.log_end import log_end_offsets

PARTITIONS = 8
#: Records of one generated event-day over every bundled border, about (to size the scenario).
RECORDS_PER_DAY = 10.0


class SoakError(BorderwatchError):
    """A failure of the run itself (not a failed criterion): said as one message, no traceback."""


class Interrupted(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP: stop producing, stop the worker and the broker, report nothing.

    Not an Exception, as KeyboardInterrupt is not: the Kafka client's retry loops catch those."""


# ----------------------------------------------------------------------------- analysis (pure)

def parse_vmrss_mb(status: str) -> float:
    """``VmRSS`` of a /proc/<pid>/status text, in MB (MiB)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SoakError("no VmRSS in /proc/<pid>/status: the process has exited")


def lag(end: Mapping[Hashable, int], committed: Mapping[Hashable, int | None]) -> int:
    """Records between each partition's committed offset (none yet: 0) and its end offset, summed."""
    return sum(max(0, e - (committed.get(tp) or 0)) for tp, e in end.items())


class Backlog:
    """After production ends: the offsets that existed then and are not committed yet.

    ``inputs_end`` is the input topics' end offsets right after the last record was produced. The
    worker's internal topic (``segment-events``) keeps growing while its input is read; its end is
    frozen at the first reading that finds the input all committed (ingest forwards a
    batch before it commits the batch's offsets, so by then everything derived from the input is in
    it). Ticks written later do not count: the backlog reaches 0 exactly when the worker caught up.
    """

    def __init__(self, inputs_end: Mapping[Hashable, int]) -> None:
        self.inputs_end = dict(inputs_end)
        self.internal_end: dict[Hashable, int] | None = None

    def update(self, inputs_committed: Mapping[Hashable, int | None], internal_end: Mapping[Hashable, int],
               internal_committed: Mapping[Hashable, int | None]) -> int:
        """The backlog now; ``internal_end`` must be read after ``inputs_committed``."""
        behind = lag(self.inputs_end, inputs_committed)
        ends = self.internal_end
        if ends is None:
            ends = dict(internal_end)
            if behind == 0:
                self.internal_end = ends
        return behind + lag(ends, internal_committed)


def warmup_end(seconds: float, warmup: float | None = None) -> float:
    """Seconds into production after which RSS is judged: ``warmup``, or the first fifth of the run."""
    return seconds / 5 if warmup is None else min(max(0.0, warmup), seconds)


def rss_after_warmup(samples: Sequence[Mapping[str, Any]], start: float) -> dict[str, Any] | None:
    """Min, max and spread ((max - min) / min, in %) of the RSS samples from ``start`` on; None without any."""
    rss = [s["rss_mb"] for s in samples if s["t"] >= start and s.get("rss_mb") is not None]
    if not rss:
        return None
    lo, hi = min(rss), max(rss)
    return {"samples": len(rss), "min": round(lo, 1), "max": round(hi, 1),
            "spread_pct": round((hi - lo) / lo * 100, 1)}


def growth_per_alerts(samples: Sequence[Mapping[str, Any]], start: float, per: int = 1000) -> float | None:
    """RSS growth (MB) per ``per`` alerts opened, from the first sample at or after ``start`` to the last
    sample; None when no alert opened in between. The worker keeps every alert in memory (the feed's
    history), so this is what a run with many alerts grows by on top of a steady state."""
    after = [s for s in samples if s["t"] >= start]
    if len(after) < 2 or after[-1]["alerts"] <= after[0]["alerts"]:
        return None
    return round((after[-1]["rss_mb"] - after[0]["rss_mb"]) / (after[-1]["alerts"] - after[0]["alerts"]) * per, 2)


def drain_seconds(samples: Sequence[Mapping[str, Any]], end: float) -> float | None:
    """Seconds from ``end`` to the first sample at or after it whose backlog is 0; None if there is none."""
    for s in samples:
        if s["t"] >= end and s.get("backlog") == 0:
            return round(s["t"] - end, 1)
    return None


def verdict(rss: Mapping[str, Any] | None, drained_in: float | None, *, rss_limit_pct: float = 10.0,
            drain_limit: float = 60.0) -> dict[str, bool]:
    """The two criteria: RSS spread after the warm-up within the limit, backlog 0 within the drain limit."""
    return {"rss_within_limit_after_warmup": rss is not None and rss["spread_pct"] <= rss_limit_pct,
            "lag_zero_within_limit_after_end": drained_in is not None and drained_in <= drain_limit}


def to_json(report: Mapping[str, Any]) -> str:
    """``report`` indented, with its ``samples`` one per line."""
    body = dict(report)
    samples = body.pop("samples", [])
    head = json.dumps(body, indent=2)
    rows = ",\n".join("    " + json.dumps(s) for s in samples)
    return head[:-2] + ',\n  "samples": [\n' + rows + "\n  ]\n}"


# ----------------------------------------------------------------------------- the stream

def soak_scenario(borders: Sequence[tuple[str, str]], days: int):
    """The generator's scenario for a soak of ``days`` event-days: busier borders than ``mixed``, and
    escalations, bursts, quiet spells and unrest in proportion to the span."""
    from streams.generate import Scenario

    years = days / 365.25
    return Scenario(tuple(borders), days, escalations=max(1, round(years / 2)),
                    escalating_borders=max(1, len(borders) // 3), base_rate=0.15,
                    noise_bursts=max(1, round(years)), quiet_spells=round(years / 4), unrest=max(1, round(years)),
                    arms=True, doc="soak: every bundled border, an escalation every two years on a third of them")


def soak_records(n: int, seed: int = 0, geolocated: float = 0.5) -> list[tuple[str, bytes, bytes]]:
    """The first ``n`` records, in report order, of a generated stream over every bundled border:
    ``(kind, key, value)`` with kind ``incidents`` or ``arms-transfers`` and the replay's keys (border
    pair, recipient). A share ``geolocated`` of the incidents gets the coordinates of a point on a cut
    segment of its border (the same point for every report of one event)."""
    from streams.generate import START, generate
    from streams.limits import YEAR_MAX
    from alerts.borders import border_id, states_of
    from streams.records import encode, incident_from_dict
    from streams.segments import SegmentRegistry
    from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS

    registry = SegmentRegistry.default()
    borders = [states_of(b) for b in registry.borders()]
    days = math.ceil(n / RECORDS_PER_DAY) + 60
    while True:
        if START.year + days / 365.25 >= YEAR_MAX:
            raise SoakError(f"{n} records would run event time past {YEAR_MAX}, the records' limit: "
                            f"lower --rate or --seconds")
        records, _ = generate(soak_scenario(borders, days), seed, name="soak")
        if len(records) >= n:
            break
        days = math.ceil(days * n / max(len(records), 1) * 1.1) + 30
    lines: dict[str, list] = {}
    for seg in registry.segments():
        lines.setdefault(seg.border, []).append(seg)
    out = []
    for raw in records[:n]:
        rec = json.loads(raw)
        if "transfer_id" in rec:
            out.append((KIND_TRANSFERS, rec["recipient"].encode(), raw))
            continue
        border = border_id(*rec["countries"])
        place = random.Random(f"{seed}:{rec['event_id']}")
        if border in lines and place.random() < geolocated:
            lon, lat = place.choice(place.choice(lines[border]).coords)
            rec["latitude"], rec["longitude"] = round(lat, 5), round(lon, 5)
            raw = encode(incident_from_dict(rec))
        out.append((KIND_INCIDENTS, border.encode(), raw))
    return out


# ----------------------------------------------------------------------------- measuring

@dataclass
class Offsets:
    inputs_end: dict
    inputs_committed: dict
    internal_end: dict
    internal_committed: dict

    @property
    def input_lag(self) -> int:
        return lag(self.inputs_end, self.inputs_committed)

    @property
    def lag(self) -> int:
        return self.input_lag + lag(self.internal_end, self.internal_committed)


class Probe:
    """Reads one worker from outside: /proc, the broker's offsets for its group, its /metrics."""

    def __init__(self, pid: int, bootstrap: str, app_id: str, inputs: Sequence[str], internal: str,
                 base_url: str, token: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.pid = pid
        self.bootstrap = bootstrap
        self.base_url, self.token = base_url, token
        # Group ids for committed(), but no subscribe() and no poll(): they never join the groups.
        # The input is read by the worker's ingest group, segment-events by the app's own group.
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=app_id, enable_auto_commit=False,
                                      client_id="borderwatch-soak-probe")
        self.input_consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=ingest_group_id(app_id),
                                            enable_auto_commit=False, client_id="borderwatch-soak-probe")
        self.inputs = [TopicPartition(t, p) for t in inputs for p in self._partitions(t)]
        self.internal = [TopicPartition(internal, p) for p in self._partitions(internal)]
        self.clock_ticks = os.sysconf("SC_CLK_TCK")
        self._cpu_last: tuple[float, int] | None = None

    def _partitions(self, topic: str) -> list[int]:
        return sorted(self.consumer.partitions_for_topic(topic) or range(PARTITIONS))

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.input_consumer.close(autocommit=False)

    def rss_mb(self) -> float:
        try:
            return parse_vmrss_mb(Path(f"/proc/{self.pid}/status").read_text())
        except OSError:
            raise SoakError("the worker process is gone") from None

    def cpu_pct(self) -> float | None:
        """CPU use since the last call, in % of one core; None on the first call."""
        try:
            ticks = parse_cpu_ticks(Path(f"/proc/{self.pid}/stat").read_text())
        except OSError:
            raise SoakError("the worker process is gone") from None
        now, last = time.monotonic(), self._cpu_last
        self._cpu_last = (now, ticks)
        if last is None or now <= last[0]:
            return None
        return round((ticks - last[1]) / self.clock_ticks / (now - last[0]) * 100, 1)

    @staticmethod
    def _committed(consumer, tps) -> dict:
        return {tp: consumer.committed(tp) for tp in tps}

    def offsets(self) -> Offsets:
        """In the order :class:`Backlog` needs: the input's, then the internal topic's."""
        # Not the consumer's end_offsets(): the embedded broker's ListOffsets can fall short of a
        # partition's last records (streams/log_end.py), which would understate the lag. One probe
        # for both topics.
        ends = asyncio.run(log_end_offsets(self.bootstrap, [*self.inputs, *self.internal]))
        return Offsets({tp: ends[tp] for tp in self.inputs}, self._committed(self.input_consumer, self.inputs),
                       {tp: ends[tp] for tp in self.internal}, self._committed(self.consumer, self.internal))

    def get(self, path: str, timeout: float = 10) -> bytes:
        req = urllib.request.Request(self.base_url + path, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.read()
        except OSError as exc:
            raise SoakError(f"the worker's {path.split('?')[0]} did not answer in {timeout:.0f} s: {exc}") from None

    def counters(self) -> dict[str, int]:
        from bench.harness import metric_sum

        text = self.get("/metrics").decode()
        names = {"events": "borderwatch_events_total", "incidents_counted": "borderwatch_incidents_total",
                 "duplicates": "borderwatch_duplicates_dropped_total",
                 "dead_letters": "borderwatch_dead_letters_total", "reread": "borderwatch_input_reread_total",
                 "alerts_opened": "borderwatch_alerts_opened_total"}
        return {k: int(metric_sum(text, name)) for k, name in names.items()}


def say(text: str) -> None:
    print(f"soak: {text}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- the run

def run(args: argparse.Namespace) -> dict[str, Any]:
    from kafka import KafkaProducer

    from bench.harness import start_worker
    from streams.broker import EmbeddedBroker, free_port
    from streams.topics import Topics, ensure_topics

    n = max(1, round(args.rate * args.seconds))
    t_build = time.monotonic()
    items = soak_records(n, seed=args.seed)
    say(f"{n} records generated in {time.monotonic() - t_build:.1f} s "
        f"({sum(k == 'arms-transfers' for k, _, _ in items)} arms transfers)")
    topics = Topics("soak")
    app_id = f"{topics.prefix}-worker"  # bench.harness.start_worker's app id
    with tempfile.TemporaryDirectory(prefix="borderwatch-soak-") as tmp_name:
        tmp = Path(tmp_name)
        broker = EmbeddedBroker(port=free_port(), log_path=str(tmp / "broker.log"))
        port, token = free_port(), f"soak-{os.getpid()}-{random.getrandbits(64):x}"
        base_url = f"http://127.0.0.1:{port}"
        worker = probe = producer = None
        try:
            broker.start()
            ensure_topics(broker.url, PARTITIONS, topics)
            t_start = time.monotonic()
            worker = start_worker(broker, topics.prefix, tmp, port, token, BORDERWATCH_SESSION_TIMEOUT="6",
                                  BORDERWATCH_TICK_SECONDS="0.5", BORDERWATCH_IDLE_SECONDS="2")
            wait_ready(worker, base_url, tmp / "worker.log", args.ready_timeout, error=SoakError)
            say(f"worker pid {worker.pid} ready in {time.monotonic() - t_start:.1f} s; producing {n} records "
                f"at {args.rate:g}/s for {args.seconds:g} s")
            probe = Probe(worker.pid, broker.bootstrap, app_id, [topics.incidents, topics.transfers],
                          topics.segment_events, base_url, token)
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5,
                                     client_id="borderwatch-soak")
            report = measure(args, items, topics, worker, probe, producer, tmp / "worker.log")
        finally:
            ignore_interrupts()  # a second Ctrl-C must not leave the worker or the broker behind
            if producer is not None:
                producer.close(timeout=5)
            if probe is not None:
                probe.close()
            if worker is not None:
                stop(worker)
            broker.stop()
    return report


def measure(args, items, topics, worker, probe: Probe, producer, log_path: Path) -> dict[str, Any]:
    """Produce at the rate with samples every ``args.sample`` s, then sample every second until drained."""
    n = len(items)
    names = {"incidents": topics.incidents, "arms-transfers": topics.transfers}
    samples: list[dict[str, Any]] = []
    produced = 0

    def sample(t: float, phase: str, backlog: Backlog | None = None) -> dict[str, Any]:
        if worker.poll() is not None:
            raise SoakError(f"the worker exited with status {worker.returncode} at {t:.0f} s:\n{tail(log_path)}")
        off = probe.offsets()
        counters = probe.counters()
        s = {"t": round(t, 1), "phase": phase, "rss_mb": round(probe.rss_mb(), 1), "cpu_pct": probe.cpu_pct(),
             "produced": produced, "processed": counters["events"], "alerts": counters["alerts_opened"],
             "lag": off.lag, "lag_input": off.input_lag}
        if backlog is not None:
            s["backlog"] = backlog.update(off.inputs_committed, off.internal_end, off.internal_committed)
        samples.append(s)
        return s

    t0 = time.monotonic()
    sample(0.0, "produce")
    next_sample, next_say = args.sample, 30.0
    while produced < n:
        t = time.monotonic() - t0
        due = min(n, int(t * args.rate) + 1)
        while produced < due:
            kind, key, value = items[produced]
            producer.send(names[kind], value, key=key)
            produced += 1
        if t >= next_sample:
            s = sample(t, "produce")
            next_sample += args.sample
            if t >= next_say:
                next_say += 30.0
                say(f"{t:4.0f} s  produced {s['produced']}  processed {s['processed']}  lag {s['lag']}  "
                    f"rss {s['rss_mb']} MB  cpu {s['cpu_pct']} %")
        time.sleep(0.01)  # pacing of the producer, not a wait for a condition
    producer.flush(timeout=60)
    end = time.monotonic() - t0
    backlog = Backlog(probe.offsets().inputs_end)
    say(f"{n} records produced in {end:.1f} s; waiting for the worker to catch up")
    deadline = end + args.drain_deadline
    while True:
        t = time.monotonic() - t0
        s = sample(t, "drain", backlog)
        if s["backlog"] == 0 or t >= deadline:
            break
        time.sleep(1.0)  # one sample a second while draining
    counters = probe.counters()
    alerts = json.loads(probe.get("/alerts?status=all", timeout=30))["alerts"]
    warm = warmup_end(args.seconds, args.warmup)
    rss = rss_after_warmup(samples, warm)
    drained_in = drain_seconds(samples, end)
    checks = verdict(rss, drained_in, rss_limit_pct=args.rss_limit, drain_limit=args.drain_limit)
    spread = "no sample" if rss is None else f"{rss['min']}-{rss['max']} MB, spread {rss['spread_pct']} %"
    drained = "not within the deadline" if drained_in is None else f"{drained_in} s after the end"
    say(f"RSS after the warm-up: {spread}; backlog 0: {drained}; " + ", ".join(
        f"{k}: {'pass' if v else 'FAIL'}" for k, v in checks.items()))
    kinds = {k: sum(1 for kind, _, _ in items if kind == k) for k in names}
    return {
        "rate_asked_per_s": args.rate,
        "rate_achieved_per_s": round(n / end, 1),
        "seconds_asked": args.seconds,
        "production_seconds": round(end, 1),
        "produced": {"total": n, "incidents": kinds["incidents"], "arms_transfers": kinds["arms-transfers"],
                     "event_time_first": json.loads(items[0][2])["occurred_at"],
                     "event_time_last": json.loads(items[-1][2])["occurred_at"]},
        "processed": counters,
        "processed_all": counters["events"] >= n,
        "alerts": {"total": len(alerts), "resolved": sum(1 for a in alerts if a.get("resolved_at")),
                   "open_at_end": sum(1 for a in alerts if not a.get("resolved_at"))},
        "sample_seconds": args.sample,
        "warmup_end_s": warm,
        "rss_mb": {"at_start": samples[0]["rss_mb"], "at_warmup_end": _at(samples, warm, "rss_mb"),
                   "at_end_of_production": _at(samples, end, "rss_mb"), "last": samples[-1]["rss_mb"],
                   "after_warmup": rss, "limit_pct": args.rss_limit,
                   "growth_per_1000_alerts_after_warmup": growth_per_alerts(samples, warm)},
        "lag": {"max_during_production": max(s["lag"] for s in samples if s["phase"] == "produce"),
                "max_input_during_production": max(s["lag_input"] for s in samples if s["phase"] == "produce"),
                "at_end_of_production": _at(samples, end, "lag"),
                "seconds_to_zero_after_end": drained_in, "limit_s": args.drain_limit},
        "criteria": checks,
        "pass": all(checks.values()),
        "samples": samples,
    }


def _at(samples: Sequence[Mapping[str, Any]], t: float, key: str) -> Any:
    """``key`` of the first sample at or after ``t`` (else the last)."""
    return next((s[key] for s in samples if s["t"] >= t), samples[-1][key])


def stop(proc, timeout: float = 30) -> None:
    """SIGTERM and wait (Faust stops cleanly), else SIGKILL."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except Exception:  # noqa: BLE001 -- TimeoutExpired, or interrupted: it must not outlive us
        proc.kill()
        proc.wait()


def ignore_interrupts() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def _interrupt(signum, frame) -> None:
    raise Interrupted(signal.Signals(signum).name)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=200.0, help="records produced a second (default 200)")
    p.add_argument("--seconds", type=float, default=600.0, help="how long to produce (default 600)")
    p.add_argument("--sample", type=float, default=5.0, help="seconds between samples while producing (default 5)")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds of production before RSS is judged (default: the first fifth)")
    p.add_argument("--rss-limit", type=float, default=10.0, help="largest RSS spread after the warm-up, %% (default 10)")
    p.add_argument("--drain-limit", type=float, default=60.0,
                   help="seconds after the end within which the backlog must be 0 (default 60)")
    p.add_argument("--drain-deadline", type=float, default=None,
                   help="how long to keep measuring after the end (default: the drain limit)")
    p.add_argument("--ready-timeout", type=float, default=90.0, help="seconds the worker may take to start (default 90)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated stream (default 0)")
    args = p.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0 or args.sample <= 0:
        p.error("--rate, --seconds and --sample must be positive")
    if args.drain_deadline is None:
        args.drain_deadline = args.drain_limit
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from kafka.errors import KafkaError


    args = parse_args(argv)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        report = run(args)
    except Interrupted as exc:
        say(f"interrupted ({exc}); the worker and the broker are stopped")
        return 130
    except (SoakError, BorderwatchError) as exc:
        say(str(exc))
        return 2
    except KafkaError as exc:
        say(f"the broker did not answer as expected: {exc!r}")
        return 2
    print(to_json(report), flush=True)
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
