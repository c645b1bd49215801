"""`borderwatch broker`: starts on loopback, answers Kafka, stops cleanly; errors name the fix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from streams.broker import broker_answers, free_port

pytestmark = pytest.mark.integration


def run_cli(*args, env=None, timeout=30):
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


def test_broker_serves_kafka_and_stops_on_sigterm():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "broker", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once the broker answers
        assert f"kafka://127.0.0.1:{port}" in line
        assert broker_answers("127.0.0.1", port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not broker_answers("127.0.0.1", port)
    finally:
        proc.kill()


def test_taken_port_gives_one_line_error_naming_the_fix(broker):
    res = run_cli("broker", "--port", str(broker.port))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {broker.port}" in lines[0] and "--port" in lines[0]


def test_missing_binary_gives_one_line_error_naming_the_fix(tmp_path):
    res = run_cli("broker", "--port", str(free_port()), env={"BORDERWATCH_TANSU_BIN": str(tmp_path / "nope")})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "BORDERWATCH_TANSU_BIN" in lines[0]


def test_a_member_stopping_in_the_groups_first_generation_leaves_and_the_next_one_joins_at_once(broker):
    """The embedded broker numbers a group's first generation 0, in which aiokafka alone does not
    leave as it stops (streams.group_leave): the next member then waits out the stopped one's
    session (20 s here) and its own join (half a session) before it is assigned, about 30 s; with
    the leave it is assigned after its own join alone, within the session."""
    import asyncio
    import time
    import uuid

    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from streams import group_leave

    session_ms = 20_000
    group_leave.install()
    topic, group = f"leave-{uuid.uuid4().hex[:8]}", f"leave-{uuid.uuid4().hex[:8]}"

    async def assigned_member() -> tuple[AIOKafkaConsumer, float]:
        member = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                                  session_timeout_ms=session_ms, heartbeat_interval_ms=1_000)
        started = time.monotonic()
        await member.start()
        while not member.assignment() and time.monotonic() - started < 60:
            await asyncio.sleep(0.05)
        return member, time.monotonic() - started

    async def main() -> tuple[int, float]:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 2, 1)])
        finally:
            await admin.close()
        first, joined = await assigned_member()
        print(f"first member assigned after {joined:.1f} s")
        generation = first._coordinator.generation
        await first.stop()
        second, waited = await assigned_member()
        print(f"second member assigned after {waited:.1f} s")
        await second.stop()
        return generation, waited

    generation, waited = asyncio.run(main())
    assert generation == 0, "the case streams.group_leave is for: the group's first generation numbered 0"
    assert waited < session_ms / 1000, f"the second member waited {waited:.1f} s: the first did not leave"
