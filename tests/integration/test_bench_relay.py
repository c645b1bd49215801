"""The bench's latency floor (``bench.relay``) on the real embedded broker: its relay forwards every
record through both hops unchanged, so the floor it reports is the time of records that arrived,
not of the few that got through."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from bench.harness import payloads
from bench.latency import produce_paced, topic_records
from bench.relay import start_relay
from streams.broker import EmbeddedBroker, free_port
from streams.topics import Topics, ensure_topics

pytestmark = pytest.mark.integration


def test_the_relay_forwards_every_record_through_both_hops_unchanged_and_stops_on_sigterm(tmp_path):
    items = payloads(300, seed=5)
    topics = Topics("relaytest")
    with EmbeddedBroker(port=free_port(), log_path=str(tmp_path / "broker.log")) as broker:
        ensure_topics(broker.url, 4, topics)
        proc = start_relay(broker, topics)
        try:
            stamps = asyncio.run(produce_paced(broker.bootstrap, topics.incidents, items, rate=300))
            relayed = asyncio.run(topic_records(broker.bootstrap, topics.alerts, decode=bytes, idle_s=3.0))
            middle = asyncio.run(topic_records(broker.bootstrap, topics.segment_events, decode=bytes, idle_s=1.0))
        finally:
            proc.terminate()
            status = proc.wait(30)
    sent = Counter(value for _, value in items)
    assert Counter(value for _, value in relayed) == sent
    assert Counter(value for _, value in middle) == sent
    # each copy leaves the relay after its original was sent
    assert all(at >= stamps[json.loads(value)["occurred_at"]] - 0.001 for at, value in relayed)
    assert status == 0
