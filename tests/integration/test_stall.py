"""A worker that gets nowhere fails: the stall watch on a real worker and the embedded broker.

The worker's ingest group is made never to report its join (``stalling_worker``): the worker
never settles and nothing it shows moves, as when a rebalance or a recovery truly hangs. Allowed a
second of such standstill (``stall_seconds``), it must say so on /health and exit for its
supervisor, as a truly hung worker would after the default five minutes (docs/RELIABILITY.md).
"""

from __future__ import annotations

import pytest

from streams.app import EXIT_AGENT_FAILED

pytestmark = pytest.mark.integration


def test_a_worker_whose_rebalance_stands_still_past_stall_seconds_says_why_and_exits_70(worker_factory):
    w = worker_factory(module="tests.integration.stalling_worker", BORDERWATCH_STALL_SECONDS="1")
    w.launch()
    body = w.failing()
    assert body["status"] == "failing" and body["ready"] is False
    assert body["reason"].startswith("the worker has processed nothing for ")
    assert "its rebalance and table recovery made no progress (stall_seconds 1)" in body["reason"]
    assert w.proc.wait(timeout=30) == EXIT_AGENT_FAILED

