"""Replay writes each event with its own time as the record timestamp, in event-time order, paced by --speed."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from streams.replay import replay
from streams.topics import Topics
from tests.integration.test_worker import incident

pytestmark = pytest.mark.integration


def write_jsonl(path, when_list):
    path.write_bytes(b"\n".join(incident(f"rp-{i}", w) for i, w in enumerate(when_list)) + b"\n")


def test_record_timestamps_are_event_times_in_order(broker, topic_reader, tmp_path):
    t0 = datetime(2021, 4, 28, 6, tzinfo=timezone.utc)
    whens = [t0 + timedelta(days=3), t0, t0 + timedelta(hours=5), datetime(1965, 1, 1, tzinfo=timezone.utc)]
    f = tmp_path / "in.jsonl"
    write_jsonl(f, whens)
    topics = Topics("replay-ts")
    err = io.StringIO()
    res = replay([str(f)], "jsonl", broker.url, topics=topics, err=err)
    assert (res.sent, res.rejected) == (4, 0)
    msgs = topic_reader(topics.incidents)
    got = sorted(((m.timestamp, json.loads(m.value)["occurred_at"]) for m in msgs))
    expected = sorted((max(0, int(w.timestamp() * 1000)), w.strftime("%Y-%m-%dT%H:%M:%SZ")) for w in whens)
    assert got == expected  # before 1970 the record timestamp is 0; occurred_at keeps the truth
    # one border -> one partition, in event-time order
    assert [json.loads(m.value)["occurred_at"] for m in msgs] == sorted(json.loads(m.value)["occurred_at"] for m in msgs)


def test_speed_paces_by_event_time(broker, tmp_path):
    t0 = datetime(2022, 9, 14, tzinfo=timezone.utc)
    f = tmp_path / "in.jsonl"
    write_jsonl(f, [t0, t0 + timedelta(days=1), t0 + timedelta(days=3)])
    now = [0.0]
    waits = []

    def sleep(s):
        waits.append(round(s, 6))
        now[0] += s

    replay([str(f)], "jsonl", broker.url, speed=86400, topics=Topics("replay-speed"), err=io.StringIO(),
           sleep=sleep, clock=lambda: now[0])
    assert waits == [1.0, 2.0]  # a day of event time per second


def test_bad_rows_are_reported_and_the_rest_is_sent(broker, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_bytes(incident("ok-1") + b"\n{bad\n" + incident("ok-2") + b"\n")
    err = io.StringIO()
    res = replay([str(f)], "jsonl", broker.url, topics=Topics("replay-bad"), err=err)
    assert (res.sent, res.rejected) == (2, 1)
    assert f"rejected: {f}:2:" in err.getvalue()
