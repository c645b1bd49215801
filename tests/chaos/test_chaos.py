"""Faults on the live path, each against the backtest of the same input (docs/RELIABILITY.md).

One input for all: a generated five-year `mixed` scenario and the bundled MIE rows of Central
Asia, as one JSONL stream replayed into the real broker. Each test runs the live path under one
fault -- repeated clean runs, kill -9 and clean stops of the worker at several points of the
stream, a second worker on the same app id killed mid-stream, the broker paused under load -- and
asserts that the alert log holds exactly the backtest's transitions (each ``(alert_id, seq)`` once
in content; a crash may leave a byte-identical re-send, which readers drop), that every alert
resolves where the backtest's does, that nothing is dead-lettered (the input is clean: input read again
after a restart is recognised as already applied, never ``late``), and that the notices are
exactly those the backtest's alert log gives under the same policy, each delivered once
(``POLICY``: a notice per change of an alert, so which notices there are is not a matter of timing).

Each test produces its whole input before a worker starts, so the workers' ticks queue behind all
of it. Produced while a worker runs, a replay slowed past ``idle_seconds`` by a loaded machine
interleaves ticks with its input, and a partition whose input pauses that long is idle by rule and
advances (docs/ARCHITECTURE.md, "the one divergence left"): a property of a paced input, not a
fault, and not what these tests are about.

Kills happen at fixed fractions of the expected transitions, so they fall mid-stream whatever
the machine's speed; waits poll with deadlines and never decide anything by sleeping.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from alerts.model import AlertEvent
from alerts.notify.dispatch import Dispatcher
from alerts.policy import parse_policy
from streams.adapters import load
from streams.backtest import run_backtest
from streams.generate import generate
from streams.records import encode
from streams.replay import replay
from streams.settings import load_settings
from streams.worker import build_pipeline
from tests.conftest import DATA, wait_for

#: A test's own budget: four restarts on a loaded two-core machine can take minutes, and the
#: run's wait must end (with its diagnosis) before pytest-timeout would (with none).
pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.timeout(900)]

#: Idle partitions advance by wall clock after this long (docs/ARCHITECTURE.md, Time). Ticks go
#: into the input partitions, and every test produces its whole input before a worker starts, so
#: each tick of a partition -- before a kill, during a pause, after a restart -- lies behind all of
#: its input: a partition can only be idle once everything in it has been read, whatever this is.
#: Short, then: it is only how long each run waits at the end to resolve its last alerts.
IDLE = {"BORDERWATCH_IDLE_SECONDS": "2"}
#: Offsets committed this seldom: each kill falls before the next commit, so every restart reads
#: again input its state has applied (the case the reliability guarantees are about), whatever the
#: machine's speed. Rebalances and clean stops commit as usual.
SELDOM_COMMITS = {"BORDERWATCH_COMMIT_SECONDS": "120"}
#: A run must finish within this (the stream takes 15-30 s to process on two cores).
RUN_TIMEOUT = 240
#: Notices as a function of the alert log (docs/ALERTING.md): a notice per change of an alert,
#: grouped per segment, with no waiting, to the operators and to the Kyrgyz secretariat; JSON files
#: only (a PDF per notice would take the run's time). What grouping by wall clock would make of
#: them depends on timing, by design; this is what can be compared notice for notice.
POLICY = """
receivers:
  - {name: operators, role: operator, sinks: [{type: file, dir: notices/operators, formats: [json]}]}
  - {name: secretariat-KGZ, country: KGZ, sinks: [{type: file, dir: notices/secretariat-KGZ, formats: [json]}]}
route:
  receiver: operators
  group_by: [segment_id]
  group_wait: 0s
  group_interval: 0s
  repeat_interval: 1000h
  routes:
    - {receiver: operators, continue: true}
    - {receiver: secretariat-KGZ, matchers: ['countries=~".*KGZ.*"']}
"""


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("chaos-policy") / "policy.yml"
    path.write_text(POLICY)
    return str(path)


@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> tuple[str, dict[tuple[str, int], dict]]:
    """The input file and the backtest's transitions by (alert_id, seq)."""
    path = tmp_path_factory.mktemp("chaos") / "input.jsonl"
    raw, _ = generate("mixed", 0)
    lines = [r.decode().strip() for r in raw]
    lines += [encode(r).decode() for r in load([DATA / "mie-1.0-central-asia.csv"], "mie").records]
    path.write_text("\n".join(lines) + "\n")
    res = run_backtest([str(path)], "jsonl", build_pipeline(load_settings({}, environ={})))
    expected = {(e.alert_id, e.seq): e.to_dict() for e in res.events}
    assert len(expected) > 500 and len(res.history.rows()) > 100
    return str(path), expected


@pytest.fixture(scope="module")
def notices(stream) -> dict[str, set[str]]:
    """Receiver -> the ids of the notices the backtest's alert log gives under POLICY (the
    dispatcher is pure; with no waiting its clock decides nothing)."""
    _, expected = stream
    dispatcher = Dispatcher(parse_policy(yaml.safe_load(POLICY)), clock=lambda: datetime(2026, 1, 5, tzinfo=timezone.utc))
    out: dict[str, set[str]] = {}
    for _, d in sorted(expected.items(), key=lambda kv: (kv[1]["segment_id"], kv[1]["seq"])):
        for x in dispatcher.apply(AlertEvent.from_dict(d)):
            out.setdefault(x.receiver, set()).add(x.notice_id)
    assert len(out["operators"]) > 500 and out["secretariat-KGZ"]
    return out


def delivered(topic_reader, topics) -> list[tuple[str, str, str]]:
    """(receiver, notice id, sink) of every delivery the log records, once per delivery: a record
    the producer wrote twice (byte for byte, a retry while the broker was away) is one delivery; a
    second delivery of a notice is another record (its own time)."""
    records = {m.value: json.loads(m.value) for m in topic_reader(topics.notice_log)}
    return [(r["receiver"], r["notice_id"], r["sink"]) for r in records.values() if r["kind"] == "delivered"]


def assert_same_notices(topic_reader, topics, notices: dict[str, set[str]]) -> None:
    """Every notice the backtest's log gives, delivered once to its receiver; no other."""
    def complete():
        got = delivered(topic_reader, topics)
        return got if {n for _, n, _ in got} >= set().union(*notices.values()) else None

    try:
        got = wait_for(complete, timeout=RUN_TIMEOUT, interval=1.0, message="every notice delivered")
    except AssertionError:
        got = delivered(topic_reader, topics)
    twice = sorted({k for k in got if got.count(k) > 1})
    assert not twice, f"{len(twice)} notices delivered twice, e.g. {twice[:3]}"
    by_receiver: dict[str, set[str]] = {}
    for receiver, notice_id, _ in got:
        by_receiver.setdefault(receiver, set()).add(notice_id)
    for receiver in sorted(set(notices) | set(by_receiver)):
        missing = notices.get(receiver, set()) - by_receiver.get(receiver, set())
        extra = by_receiver.get(receiver, set()) - notices.get(receiver, set())
        assert not missing and not extra, (f"{receiver}: {len(missing)} notices missing, {len(extra)} not in the "
                                           f"backtest's (of {len(notices.get(receiver, ()))})")


def live_log(topic_reader, topics) -> list[AlertEvent]:
    return [AlertEvent.decode(m.value) for m in topic_reader(topics.alerts)]


def by_id(events: list[AlertEvent]) -> dict[tuple[str, int], dict]:
    """(alert_id, seq) -> transition; a second copy must be the same transition, byte for byte."""
    out: dict[tuple[str, int], dict] = {}
    for e in events:
        d = e.to_dict()
        assert out.setdefault((e.alert_id, e.seq), d) == d, f"two different transitions share {(e.alert_id, e.seq)}"
    return out


def finished(topic_reader, topics, expected) -> dict | None:
    """The live transitions once the log holds as many as the backtest and no alert is open."""
    got = by_id(live_log(topic_reader, topics))
    if len(got) < len(expected):
        return None
    open_alerts = {aid for (aid, _), d in got.items() if d["transition"] == "opened"} - \
                  {aid for (aid, _), d in got.items() if d["transition"] == "resolved"}
    return got if not open_alerts else None


def progress(topic_reader, topics, expected, share: float) -> bool:
    return len(by_id(live_log(topic_reader, topics))) >= share * len(expected)


def assert_same_as_backtest(got: dict, expected: dict, topic_reader, topics) -> None:
    lost = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    changed = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
    assert not lost and not extra and not changed, mismatch(got, expected, lost, extra, changed)
    dead = [json.loads(m.value) for m in topic_reader(topics.dead_letter)]
    assert dead == [], [(d["code"], d["reason"]) for d in dead[:5]]


def mismatch(got: dict, expected: dict, lost: list, extra: list, changed: list) -> str:
    """The differing segments' transitions (seq numbers a segment's), the backtest's beside the
    live log's, from a little before the first difference: what a diagnosis needs."""
    def line(d: dict) -> str:
        return f"  {d['seq']:>4} {d['alert_id']} {d['transition']:<12} {d['level']:<8} {d['at']} {d['score']}"

    first: dict[str, int] = {}
    for k in lost + extra + changed:
        d = expected.get(k) or got[k]
        first[d["segment_id"]] = min(first.get(d["segment_id"], d["seq"]), d["seq"])
    out = [f"{len(lost)} lost, {len(extra)} extra, {len(changed)} changed"]
    for segment, seq in sorted(first.items())[:4]:
        for name, log in (("backtest", expected), ("live", got)):
            out.append(f"{segment}, {name}:")
            out += [line(d) for d in sorted(log.values(), key=lambda d: d["seq"])
                    if d["segment_id"] == segment and seq - 3 <= d["seq"] <= seq + 4]
    return "\n".join(out)


def metric(worker, series: str) -> float:
    for line in worker.get("/metrics").read().decode().splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def run_to_end(topic_reader, topics, expected, worker) -> dict:
    try:
        return wait_for(lambda: finished(topic_reader, topics, expected), timeout=RUN_TIMEOUT, interval=1.0,
                        message="every backtest transition in the live log and every alert resolved")
    except AssertionError:
        raise AssertionError(diagnosis(topic_reader, topics, expected, worker)) from None


def diagnosis(topic_reader, topics, expected, worker) -> str:
    """What a run that did not finish has and lacks, and the worker's own account."""
    got = by_id(live_log(topic_reader, topics))
    lost = sorted(set(expected) - set(got))
    still_open = sorted({aid for (aid, _), d in got.items() if d["transition"] == "opened"}
                        - {aid for (aid, _), d in got.items() if d["transition"] == "resolved"})
    try:
        counters = [line for line in worker.get("/metrics").read().decode().splitlines()
                    if line.startswith(("borderwatch_events_total", "borderwatch_input_reread_total",
                                        "borderwatch_dead_letters_total", "borderwatch_duplicates_dropped_total",
                                        "borderwatch_incidents_total"))]
    except OSError as exc:  # the worker is gone: its log says why
        counters = [f"no metrics: {exc!r}; the worker's exit status: {worker.proc.poll()}"]
    return (f"the live log did not reach the backtest's end in {RUN_TIMEOUT}s: {len(got)} of {len(expected)} "
            f"transitions, {len(lost)} lost (first: {[expected[k] for k in lost[:3]]}), still open: "
            f"{still_open[:10]}\n{chr(10).join(counters)}\nworker log:\n{worker.log()}")


def test_repeated_clean_runs_give_the_backtests_transitions_every_time(stream, notices, policy_file, worker_factory,
                                                                       topic_reader):
    path, expected = stream
    for _ in range(3):
        w = worker_factory(**IDLE, BORDERWATCH_POLICY_FILE=policy_file)
        replay([path], "jsonl", w.broker.url, topics=w.topics)  # all the input first (module docstring)
        w.start()
        got = run_to_end(topic_reader, w.topics, expected, w)
        assert_same_as_backtest(got, expected, topic_reader, w.topics)
        assert_same_notices(topic_reader, w.topics, notices)
        w.stop()


def test_kill_9_and_clean_stops_at_four_points_of_the_stream_lose_and_change_nothing(stream, notices, policy_file,
                                                                                    worker_factory, topic_reader):
    """A kill -9 and a clean stop (SIGTERM: a deploy's restart) twice each, mid-stream."""
    path, expected = stream
    w = worker_factory(**IDLE, **SELDOM_COMMITS, BORDERWATCH_POLICY_FILE=policy_file)
    replay([path], "jsonl", w.broker.url, topics=w.topics)
    w.start()
    reread = 0.0
    for share, sig in ((0.1, signal.SIGKILL), (0.35, signal.SIGTERM), (0.6, signal.SIGKILL), (0.85, signal.SIGTERM)):
        wait_for(lambda: progress(topic_reader, w.topics, expected, share), timeout=RUN_TIMEOUT, interval=0.5,
                 message=f"{share:.0%} of the transitions before the stop")
        reread += metric(w, 'borderwatch_input_reread_total{topic="incidents"}')
        status = w.stop(sig=sig)
        assert sig == signal.SIGKILL or status == 0, f"a clean stop exited {status}:\n{w.log()}"
        w = worker_factory(app_id=w.app_id, **IDLE, **SELDOM_COMMITS,  # same group
                           BORDERWATCH_POLICY_FILE=policy_file).start()  # same group, changelog, topics and data directory
    got = run_to_end(topic_reader, w.topics, expected, w)
    assert_same_as_backtest(got, expected, topic_reader, w.topics)
    assert_same_notices(topic_reader, w.topics, notices)
    # the restarted workers did read input again, and knew it for what it was (none of it went `late`)
    assert reread + metric(w, 'borderwatch_input_reread_total{topic="incidents"}') > 0


def test_two_workers_on_one_app_id_one_killed_mid_stream(stream, notices, policy_file, worker_factory, topic_reader):
    path, expected = stream
    first = worker_factory(**IDLE, BORDERWATCH_POLICY_FILE=policy_file)
    replay([path], "jsonl", first.broker.url, topics=first.topics)
    first.start()
    # both may notify: one of them holds the notifier (docs/RELIABILITY.md), whichever is killed
    second = worker_factory(app_id=first.app_id, BORDERWATCH_POLICY_FILE=policy_file, **IDLE)
    second.tmp = Path(second.tmp) / "second"  # its own data directory
    os.makedirs(second.tmp, exist_ok=True)
    second.start()
    wait_for(lambda: progress(topic_reader, first.topics, expected, 0.3), timeout=RUN_TIMEOUT, interval=0.5,
             message="a third of the transitions before the kill")
    second.stop(sig=signal.SIGKILL)
    got = run_to_end(topic_reader, first.topics, expected, first)
    assert_same_as_backtest(got, expected, topic_reader, first.topics)
    assert_same_notices(topic_reader, first.topics, notices)
    assert first.proc.poll() is None
    # the partitions the first kept through both rebalances were restored to exactly what it wrote
    assert metric(first, "borderwatch_restored_states_checked_total") > 0
    assert metric(first, "borderwatch_restored_states_lost_total") == 0


def test_a_paused_broker_under_load_delays_but_changes_nothing(stream, notices, policy_file, worker_factory,
                                                              topic_reader, broker):
    path, expected = stream
    w = worker_factory(**IDLE, BORDERWATCH_POLICY_FILE=policy_file)
    replay([path], "jsonl", w.broker.url, topics=w.topics)
    w.start()
    try:
        for share in (0.2, 0.6):
            wait_for(lambda: progress(topic_reader, w.topics, expected, share), timeout=RUN_TIMEOUT, interval=0.5,
                     message=f"{share:.0%} of the transitions before the pause")
            os.kill(broker.proc.pid, signal.SIGSTOP)
            try:
                with pytest.raises(AssertionError):  # nothing moves while the broker is stopped ...
                    wait_for(lambda: w.proc.poll() is not None, timeout=6, interval=0.5, message="the worker to die")
            finally:
                os.kill(broker.proc.pid, signal.SIGCONT)
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
    # /health may have said the broker was not answering; it answers again, and so does /health
    wait_for(lambda: w.health()[1].get("ready"), timeout=RUN_TIMEOUT, interval=0.2, message="/health ready again")
    got = run_to_end(topic_reader, w.topics, expected, w)  # ... and afterwards it all comes through
    assert_same_as_backtest(got, expected, topic_reader, w.topics)
    assert_same_notices(topic_reader, w.topics, notices)
    assert w.proc.poll() is None
