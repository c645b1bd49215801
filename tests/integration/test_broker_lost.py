"""A worker whose broker goes away says so and still stops when told to: a real worker on an
embedded broker of its own, which the test stops.

Before, such a worker kept its partitions (no coordinator was left to take them), so /health
said ready while nothing was read or sent, and SIGTERM never ended it: its clean stop waited on the
broker for ever (docs/RELIABILITY.md, "A broker that does not answer").
"""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from bench.harness import metric_sum
from streams.app import EXIT_STOP_TIMEOUT
from streams.broker import EmbeddedBroker, free_port
from tests.conftest import WorkerProcess, wait_for

pytestmark = pytest.mark.integration

STOP_SECONDS = 3.0


def test_a_worker_cut_off_from_its_broker_says_why_and_a_stop_still_ends_within_stop_seconds(tmp_path):
    broker = EmbeddedBroker(port=free_port(), log_path=str(tmp_path / "broker.log")).start()
    w = WorkerProcess(broker, tmp_path, f"bw-lost-{uuid.uuid4().hex[:8]}", token=f"t-{uuid.uuid4().hex}",
                      BORDERWATCH_STOP_SECONDS=f"{STOP_SECONDS:g}")
    try:
        w.start()
        with w.get("/metrics") as resp:
            assert metric_sum(resp.read().decode(), "borderwatch_broker_reachable") == 1
        broker.stop()

        def waiting():
            status, body = w.health()
            return body if status == 200 and body.get("status") == "waiting" else None

        body = wait_for(waiting, timeout=30, interval=0.2, message="/health to say the broker is gone")
        assert body["ready"] is False
        assert body["reason"].startswith("the broker has not answered for ")
        assert body["reason"].endswith("no input is read and no alert is sent until it does")
        with w.get("/metrics") as resp:
            assert metric_sum(resp.read().decode(), "borderwatch_broker_reachable") == 0

        t0 = time.monotonic()
        w.proc.send_signal(signal.SIGTERM)
        status = w.proc.wait(timeout=STOP_SECONDS + 30)
        took = time.monotonic() - t0
        # its clean stop waits on the broker; the deadline ends it as kill -9 would
        assert status == EXIT_STOP_TIMEOUT, w.log()
        assert STOP_SECONDS <= took < STOP_SECONDS + 10, took
        log = w.log_path.read_text(errors="replace")
        assert f"the worker did not stop within {STOP_SECONDS:g} s of SIGTERM" in log
        # the Kafka clients' retries: one line of a kind a minute, not one per attempt
        assert log.count("Unable connect to node with id") == 1, log[-3000:]
    finally:
        w.stop(signal.SIGKILL)
        broker.stop()
