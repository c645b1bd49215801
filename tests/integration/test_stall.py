"""A worker that gets nowhere fails: the stall watch on a real worker and the embedded broker.

The embedded broker completes a consumer group's join only after about half the rebalance
timeout (the session timeout, 6 s in these tests), and nothing a worker shows moves meanwhile.
A worker allowed a second of such standstill (``stall_seconds``) is therefore stalled in its first
rebalance: it must say so on /health and exit for its supervisor, as a worker whose rebalance or
recovery truly hangs would after the default five minutes (docs/RELIABILITY.md).
"""

from __future__ import annotations

import pytest

from streams.app import EXIT_AGENT_FAILED

pytestmark = pytest.mark.integration


def test_a_worker_whose_rebalance_stands_still_past_stall_seconds_says_why_and_exits_70(worker_factory):
    w = worker_factory(BORDERWATCH_STALL_SECONDS="1")
    w.launch()
    body = w.failing()
    assert body["status"] == "failing" and body["ready"] is False
    assert body["reason"].startswith("the worker has processed nothing for ")
    assert "its rebalance and table recovery made no progress (stall_seconds 1)" in body["reason"]
    assert w.proc.wait(timeout=30) == EXIT_AGENT_FAILED

