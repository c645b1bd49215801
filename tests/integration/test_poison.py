"""Poison input and agent failure on the live path: the real worker on the embedded broker.

* Over a thousand hostile records, interleaved with valid incidents, are each dead-lettered
  exactly once with the code, field and reason the pure decoder gives; the valid incidents give
  exactly the backtest's alerts; /health stays ready throughout.
* An agent that fails (a bug, injected: no input can do it) turns /health to 503 with the
  reason, the process exits 70, and the batch it held is processed after the restart.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter

import pytest
from kafka import KafkaProducer

from alerts.history import AlertHistory
from streams.app import EXIT_AGENT_FAILED, TICK_KEY_BYTES, tick_time
from streams.backtest import run_records
from streams.errors import InvalidEvent
from streams.limits import DEAD_LETTER_PREFIX_BYTES
from streams.records import DeadLetter, decode_incident
from streams.settings import load_settings
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS
from streams.worker import build_pipeline
from tests.conftest import wait_for
from tests.hostile import dumps, hostile_records, incident, valid_incidents
from tests.integration.failing_worker import MARK
from tests.integration.test_worker import alert_events, metric, opened

pytestmark = pytest.mark.integration

SEED = 20240611
#: Codes decided before a record's fields are read: the same on either input topic.
ANY_KIND = {"too_large", "not_utf8", "too_deep", "not_json", "not_object", "duplicate_key"}


def expected_dead_letter(pipeline, kind: str, key: bytes | None, raw: bytes) -> dict:
    """The dead letter the pure code makes of one message (all but its position in the topic):
    the live worker must produce exactly this."""
    if key == TICK_KEY_BYTES:
        with pytest.raises(InvalidEvent) as info:
            tick_time(raw)
        dl = DeadLetter(kind, str(info.value), info.value.code, info.value.field, raw)
    else:
        envs, dl = pipeline.route(kind, raw)
        assert envs == [] and dl is not None, raw[:200]
    return json.loads(dl.to_json())


@pytest.mark.chaos
def test_hostile_records_are_dead_lettered_once_each_and_valid_ones_give_the_backtests_alerts(
        worker_factory, broker, topic_reader):
    # idle 10 s: a replay stalled on a loaded machine must not look like a quiet border (ARCHITECTURE.md, Time)
    w = worker_factory(BORDERWATCH_IDLE_SECONDS="10").start()
    rng = random.Random(SEED)
    pipeline = build_pipeline(load_settings({}, environ={}))
    valid = valid_incidents(300, seed=SEED)
    hostile = hostile_records(1000, seed=SEED)
    borders = [b"KGZ-UZB", b"KGZ-TJK", b"TJK-UZB", None]
    # (topic kind, key, value, expected code and field or None), in the order they are produced
    hostile_msgs = [(KIND_TRANSFERS if h.code in ANY_KIND and rng.random() < 0.2 else KIND_INCIDENTS,
                     rng.choice(borders), h.raw, (h.code, h.field)) for h in hostile]
    hostile_msgs += [
        (KIND_INCIDENTS, b"KGZ-UZB", dumps(incident("million", description="x" * 1_000_000)), ("too_large", None)),
        (KIND_INCIDENTS, b"KGZ-UZB", None, ("not_json", None)),  # a null value (tombstone)
        (KIND_INCIDENTS, TICK_KEY_BYTES, b"garbage", ("bad_tick", None)),
        (KIND_TRANSFERS, TICK_KEY_BYTES, dumps({"kind": "tick", "at": "soon"}), ("bad_tick", "at")),
    ]
    valid_msgs = [(KIND_INCIDENTS, "-".join(sorted(r["countries"])).encode(), dumps(r), None) for r in valid]
    # Interleaved at random; the valid incidents keep their order (one border, one partition, in order).
    total = len(hostile_msgs) + len(valid_msgs)
    valid_at, hostile_it, valid_it = set(rng.sample(range(total), len(valid_msgs))), iter(hostile_msgs), iter(valid_msgs)
    messages = [next(valid_it) if i in valid_at else next(hostile_it) for i in range(total)]

    topic_of = {KIND_INCIDENTS: w.topics.incidents, KIND_TRANSFERS: w.topics.transfers}
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5,
                             max_request_size=4 * 1024 * 1024)  # the million-character record, as a user sent it
    try:
        for kind, key, value, _ in messages:
            producer.send(topic_of[kind], value, key=key)
        producer.flush()
    finally:
        producer.close()

    expected = {}
    for kind, key, value, code_field in hostile_msgs:
        raw = value if value is not None else b""
        want = expected_dead_letter(pipeline, kind, key, raw)
        assert (want["code"], want["field"]) == code_field, (code_field, want)
        expected[hashlib.sha256(raw).hexdigest()] = want
    assert len(expected) == len(hostile_msgs) >= 1000
    alerts_expected = run_records(pipeline, [decode_incident(dumps(r)) for r in valid]).history.rows()
    assert len(alerts_expected) >= 5

    def settled():
        status, body = w.health()
        assert (status, body.get("ready")) == (200, True), body  # ready all along, never failing
        dead = [json.loads(m.value) for m in topic_reader(w.topics.dead_letter)]
        rows = AlertHistory().extend(alert_events(topic_reader, w.topics)).rows()
        done = len(dead) >= len(expected) and len(rows) == len(alerts_expected) and all(r["resolved_at"] for r in rows)
        return (dead, rows) if done else None

    dead, rows = wait_for(settled, timeout=120, interval=1.0, message="every dead letter and every alert")
    by_digest = Counter(d["original_sha256"] for d in dead)
    assert [h for h, n in by_digest.items() if n > 1] == [], "dead-lettered twice"
    assert set(by_digest) == set(expected), "dead letters that are not the hostile records, or missing ones"
    for d in dead:
        want = expected[d["original_sha256"]]
        assert {k: d[k] for k in want} == want
        if d["code"] == "too_large":
            assert d["original_truncated"] and len(d["original"].encode()) <= DEAD_LETTER_PREFIX_BYTES
        assert isinstance(d["partition"], int) and isinstance(d["offset"], int)
    assert rows == alerts_expected
    assert metric(w, 'borderwatch_produce_failures_total{topic="segment-events"}') == 0
    assert metric(w, 'borderwatch_produce_failures_total{topic="dead-letter"}') == 0
    assert w.proc.poll() is None


def test_a_failed_agent_answers_503_with_the_reason_exits_70_and_its_batch_is_not_lost(
        worker_factory, producer, topic_reader):
    quiet = {"BORDERWATCH_IDLE_SECONDS": "100000"}  # no idle advance: the alert must come from the incident
    w = worker_factory(module="tests.integration.failing_worker", **quiet).start()
    started = metric(w, "borderwatch_worker_start_time_seconds")
    producer.send(w.topics.incidents, dumps(incident(MARK, fatalities=2)), key=b"KGZ-UZB")
    producer.flush()

    body = w.failing()
    assert body == {"status": "failing", "ready": False,
                    "reason": "agent aggregate crashed: RuntimeError('injected failure')"}
    assert w.proc.wait(timeout=30) == EXIT_AGENT_FAILED
    assert opened(alert_events(topic_reader, w.topics)) == []
    # The failed batch was never acknowledged: the restarted worker (without the bug) reads it again.
    again = worker_factory(app_id=w.app_id, **quiet).start()
    events = wait_for(lambda: opened(alert_events(topic_reader, w.topics)), timeout=60,
                      message="the held incident's alert after the restart")
    assert [(e.segment_id, e.level) for e in events] == [("KGZ-UZB", "warning")]
    assert again.health() == (200, {"status": "ok", "ready": True})
    # what BorderwatchWorkerRestarting counts: each start sets the start time anew
    assert metric(again, "borderwatch_worker_start_time_seconds") > started > 0
