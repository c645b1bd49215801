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
