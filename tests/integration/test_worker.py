"""The live driver on the real broker: dead letters, API and auth, restart, crash, live == backtest."""

from __future__ import annotations

import http.client
import json
import signal
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from alerts.history import AlertHistory
from alerts.model import AlertEvent
from streams.backtest import run_backtest
from streams.replay import replay
from streams.worker import build_pipeline
from streams.settings import load_settings
from tests.conftest import DATA, wait_for

pytestmark = pytest.mark.integration

T0 = datetime(2013, 6, 20, tzinfo=timezone.utc)


def incident(n, when=T0, countries=("KGZ", "UZB"), fatalities=0, **kw) -> bytes:
    return json.dumps({
        "event_id": f"it-{n}", "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reported_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "source": "test", "category": "armed_clash",
        "severity": 4, "fatalities": fatalities, "injuries": 0, "countries": list(countries), **kw}).encode()


def alert_events(topic_reader, topics) -> list[AlertEvent]:
    return [AlertEvent.decode(m.value) for m in topic_reader(topics.alerts)]


def metric(worker, series: str) -> float:
    for line in worker.get("/metrics").read().decode().splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def all_resolved(topic_reader, topics, n):
    """alerts.csv rows from the live log once it holds ``n`` alerts, all resolved; else None."""
    rows = AlertHistory().extend(alert_events(topic_reader, topics)).rows()
    return rows if len(rows) == n and all(r["resolved_at"] for r in rows) else None


def opened(events):
    """The openings in the log as readers fold it: a transition sent again after a restart (same
    alert id and seq, from the outbox: docs/RELIABILITY.md) is the same opening."""
    seen, out = set(), []
    for e in events:
        if e.transition == "opened" and (e.alert_id, e.seq) not in seen:
            seen.add((e.alert_id, e.seq))
            out.append(e)
    return out


def test_bad_input_is_dead_lettered_and_the_stream_goes_on(worker_factory, producer, topic_reader):
    w = worker_factory().start()
    producer.send(w.topics.incidents, b"{not json", key=b"x")
    producer.send(w.topics.incidents, incident(1, severity=11), key=b"x")
    producer.send(w.topics.incidents, incident(2, fatalities=3), key=b"KGZ-UZB")
    producer.flush()
    dead = wait_for(lambda: [json.loads(m.value) for m in topic_reader(w.topics.dead_letter)] if len(
        topic_reader(w.topics.dead_letter)) >= 2 else None, message="two dead letters")
    assert {d["code"] for d in dead} == {"not_json", "bad_value"}
    assert {d["original"] for d in dead} >= {"{not json"}
    assert any(d["field"] == "severity" and "above" in d["reason"] for d in dead)
    events = wait_for(lambda: opened(alert_events(topic_reader, w.topics)), message="alert after bad input")
    assert events[0].segment_id == "KGZ-UZB" and events[0].level == "warning"
    # Counts are at least once: a batch redelivered after a rebalance is counted again.
    wait_for(lambda: metric(w, 'borderwatch_dead_letters_total{reason="not_json"}') >= 1, message="metrics")
    assert metric(w, 'borderwatch_dead_letters_total{reason="bad_value"}') >= 1
    assert metric(w, 'borderwatch_events_total{topic="incidents"}') >= 3
    assert metric(w, 'borderwatch_alerts_opened_total{level="warning"}') >= 1
    assert metric(w, "borderwatch_event_to_alert_latency_seconds_count") >= 1


def test_api_needs_the_token_except_health(worker_factory, producer):
    w = worker_factory().start()
    assert w.get("/health", token=None).status == 200
    for path in ("/alerts", "/metrics", "/"):
        with pytest.raises(urllib.error.HTTPError) as info:
            w.get(path, token=None)
        assert info.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as info:
            w.get(path, token="wrong")
        assert info.value.code == 401
    producer.send(w.topics.incidents, incident(1, fatalities=1), key=b"KGZ-UZB")
    producer.flush()
    body = wait_for(lambda: (lambda d: d if d["count"] else None)(w.get_json("/alerts")), message="open alert in /alerts")
    assert body["alerts"][0]["segment_id"] == "KGZ-UZB"
    page = w.get("/").read().decode()
    assert "KGZ-UZB" in page and "warning" in page
    assert w.get_json("/alerts?border=KAZ-TKM")["count"] == 0


def test_a_stopping_worker_ends_an_open_live_stream_cleanly_and_exits_0(worker_factory):
    # The web server closes as the worker stops: an operator's open /events stream gets its end
    # (the last chunk), not a connection cut mid-stream, and the stop waits on nothing it left open.
    w = worker_factory().start()
    conn = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
    conn.request("GET", "/events", headers={"Authorization": f"Bearer {w.token}"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert b": connected" in resp.read1()
    assert w.stop() == 0
    resp.read()  # the rest, to the stream's end; a cut stream raises IncompleteRead here
    assert resp.isclosed()
    conn.close()


def test_state_survives_a_worker_restart(worker_factory, producer, topic_reader):
    # No idle advance here: it would (rightly) resolve the 2013 alert by wall clock.
    quiet = {"BORDERWATCH_IDLE_SECONDS": "100000"}
    w = worker_factory(**quiet).start()
    producer.send(w.topics.incidents, incident(1, fatalities=2), key=b"KGZ-UZB")
    producer.flush()
    wait_for(lambda: opened(alert_events(topic_reader, w.topics)), message="first alert")
    assert w.stop() == 0
    again = worker_factory(app_id=w.app_id, **quiet).start()  # same group, changelog and topics
    # The same event again (a duplicate) and a new one on the same day: with state restored,
    # neither opens a second alert; with state lost, both would.
    producer.send(w.topics.incidents, incident(1, fatalities=2), key=b"KGZ-UZB")
    producer.send(w.topics.incidents, incident(2, T0 + timedelta(hours=2), fatalities=2), key=b"KGZ-UZB")
    producer.send(w.topics.incidents, incident(3, countries=("KGZ", "TJK"), fatalities=1), key=b"KGZ-TJK")
    producer.flush()
    wait_for(lambda: any(e.segment_id == "KGZ-TJK" for e in opened(alert_events(topic_reader, w.topics))),
             message="marker alert after restart")
    # KGZ-UZB and KGZ-TJK are on different partitions: wait for the duplicate to be counted too.
    # (At least once: batches redelivered around the restart are dropped as duplicates as well.)
    wait_for(lambda: metric(again, 'borderwatch_duplicates_dropped_total{topic="incidents"}') >= 1,
             message="the duplicate to be dropped")
    events = alert_events(topic_reader, w.topics)
    assert [e.segment_id for e in opened(events)] == ["KGZ-UZB", "KGZ-TJK"]


def test_a_named_worker_killed_and_restarted_does_not_wait_out_its_old_session(worker_factory, producer, topic_reader):
    """Static membership (``instance_id``): the broker keeps a killed member's place in each group
    until its session expires, and a new anonymous member joins only after that (the session, then
    the join: about a minute with this 30 s session); the same worker under its name takes the
    place at once (the join alone, half the session, plus the process's start: about 20 s)."""
    session = 30
    named = {"BORDERWATCH_INSTANCE_ID": "kgz-desk-worker-1", "BORDERWATCH_SESSION_TIMEOUT": str(session),
             "BORDERWATCH_IDLE_SECONDS": "100000"}
    w = worker_factory(**named).start(ready_timeout=90)
    producer.send(w.topics.incidents, incident(1, fatalities=2), key=b"KGZ-UZB")
    producer.flush()
    wait_for(lambda: opened(alert_events(topic_reader, w.topics)), message="first alert")
    w.stop(sig=signal.SIGKILL)
    again = worker_factory(app_id=w.app_id, **named)
    started = time.monotonic()
    again.launch()
    assert again._wait_ready(session), f"not ready within the old session's {session} s:\n{again.log()}"
    assert time.monotonic() - started < session
    # and it works on from where the killed one stopped: a new incident opens a second alert
    producer.send(w.topics.incidents, incident(2, countries=("KGZ", "TJK"), fatalities=1), key=b"KGZ-TJK")
    producer.flush()
    wait_for(lambda: [e.segment_id for e in opened(alert_events(topic_reader, w.topics))] == ["KGZ-UZB", "KGZ-TJK"],
             message="the second alert after the restart")


def test_a_second_worker_under_a_name_in_use_is_refused_and_the_first_goes_on_alone(worker_factory, producer,
                                                                                      topic_reader):
    """The embedded broker fences no static member: two processes under one name both got every
    partition, and every alert transition went out twice (tried 2026-12-03). The second is refused
    before it joins a group, naming the holder; the first's alerts go out once."""
    import subprocess

    named = {"BORDERWATCH_INSTANCE_ID": "kgz-desk-worker-1"}
    first = worker_factory(**named).start(ready_timeout=90)
    second = worker_factory(app_id=first.app_id, **named)
    refused = subprocess.run(second.command(), env=second.env(), capture_output=True, text=True, timeout=90)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "'kgz-desk-worker-1' is in use" in refused.stderr
    assert f"pid {first.proc.pid} " in refused.stderr and first.base in refused.stderr
    assert "Traceback" not in refused.stderr
    assert first.proc.poll() is None
    producer.send(first.topics.incidents, incident(1, fatalities=2), key=b"KGZ-UZB")
    producer.flush()
    wait_for(lambda: opened(alert_events(topic_reader, first.topics)), message="the alert")
    transitions = [(e.alert_id, e.seq) for e in alert_events(topic_reader, first.topics)]
    assert len(transitions) == len(set(transitions)), transitions


@pytest.mark.slow
def test_a_holder_that_answers_too_late_still_keeps_its_name(worker_factory, producer, topic_reader):
    """A holder stalled past a newcomer's window (SIGSTOP) answers once it resumes; the newcomer,
    started meanwhile, stops then with status 2 as a fenced member would, and the holder goes on."""
    import subprocess

    named = {"BORDERWATCH_INSTANCE_ID": "kgz-desk-worker-1", "BORDERWATCH_SESSION_TIMEOUT": "30"}
    first = worker_factory(**named).start(ready_timeout=90)
    second = worker_factory(app_id=first.app_id, **named)

    def serves(base: str) -> bool:
        try:
            with urllib.request.urlopen(base + "/health", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # 503: serving, not ready yet
        except OSError:
            return False

    first.proc.send_signal(signal.SIGSTOP)
    try:
        late = subprocess.Popen(second.command(), env=second.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        wait_for(lambda: serves(second.base) or late.poll() is not None, timeout=60,
                 message="the newcomer past its window")
        assert late.poll() is None, late.communicate()[0]
    finally:
        first.proc.send_signal(signal.SIGCONT)
    output, _ = late.communicate(timeout=60)
    assert late.returncode == 2, output
    assert "'kgz-desk-worker-1' is in use" in output and f"pid {first.proc.pid} " in output
    assert first.proc.poll() is None
    producer.send(first.topics.incidents, incident(1, fatalities=2), key=b"KGZ-UZB")
    producer.flush()
    wait_for(lambda: opened(alert_events(topic_reader, first.topics)), timeout=90, message="the holder's alert")


def test_a_killed_worker_loses_no_event_and_readers_see_no_duplicate(worker_factory, producer, topic_reader):
    slow_idle = {"BORDERWATCH_IDLE_SECONDS": "10"}  # the restart must not look like a quiet border
    w = worker_factory(**slow_idle).start()
    for i in range(40):
        producer.send(w.topics.incidents, incident(i, T0 + timedelta(days=i * 9), fatalities=i % 3),
                      key=b"KGZ-UZB")
    producer.flush()
    wait_for(lambda: len(alert_events(topic_reader, w.topics)) >= 1, message="some alerts")
    w.stop(sig=signal.SIGKILL)
    again = worker_factory(app_id=w.app_id, **slow_idle).start()
    for i in range(40, 60):
        producer.send(w.topics.incidents, incident(i, T0 + timedelta(days=i * 9), fatalities=i % 3),
                      key=b"KGZ-UZB")
    producer.flush()
    pipeline = build_pipeline(load_settings({}, environ={}))
    from streams.backtest import run_records
    from streams.records import decode_incident

    expected = run_records(pipeline, [decode_incident(incident(i, T0 + timedelta(days=i * 9), fatalities=i % 3))
                                      for i in range(60)]).history.rows()
    got = wait_for(lambda: all_resolved(topic_reader, w.topics, len(expected)), timeout=90,
                   message="all alerts resolved after the crash")
    assert got == expected
    assert again.proc.poll() is None


def test_live_path_and_backtest_give_the_same_alerts_for_the_mie_file(worker_factory, topic_reader, tmp_path):
    # Idle partitions advance by wall clock; a replay that stalls longer than idle_seconds on a
    # loaded machine is, to the worker, a live stream that paused (docs/ARCHITECTURE.md, Time).
    # Both key the alert ids with one file, as a deployment with desks does: the same ids live.
    key = tmp_path / "alert-id-key"
    key.write_text("this deployment's alert id key\n")
    w = worker_factory(BORDERWATCH_IDLE_SECONDS="10", BORDERWATCH_ALERT_ID_KEY_FILE=str(key)).start()
    mie = str(DATA / "mie-1.0-central-asia.csv")
    res = replay([mie], "mie", w.broker.url, topics=w.topics)
    assert res.sent > 400
    keyed = build_pipeline(load_settings({"alert_id_key_file": str(key)}, environ={}))
    expected = run_backtest([mie], "mie", keyed).history.rows()
    assert len(expected) > 10
    unkeyed = run_backtest([mie], "mie", build_pipeline(load_settings({}, environ={}))).history.rows()
    assert {r["alert_id"] for r in expected}.isdisjoint(r["alert_id"] for r in unkeyed)
    try:
        wait_for(lambda: all_resolved(topic_reader, w.topics, len(expected)), timeout=120,
                 message="live alerts to match the backtest's count, all resolved")
    finally:
        got = AlertHistory().extend(alert_events(topic_reader, w.topics)).rows()
        missing = [r for r in expected if r not in got]
        extra = [r for r in got if r not in expected]
        assert not missing and not extra, (missing[:5], extra[:5], w.log())
