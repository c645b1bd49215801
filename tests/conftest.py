"""Shared fixtures: one embedded broker per session, factories for workers and Kafka clients.

Kafka is never mocked: integration and e2e tests talk to the real tansu broker
on loopback. Each test gets its own Faust app id (consumer group and changelog
topics) so tests sharing the broker do not see each other's state; topics that
carry input are shared, so tests use distinct event ids and border pairs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.topics import Topics

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "streams" / "data"


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    b = EmbeddedBroker(port=free_port(), log_path=str(log)).start()
    yield b
    b.stop()


class WorkerProcess:
    """A real ``borderwatch worker`` subprocess on the session broker."""

    def __init__(self, broker: EmbeddedBroker, tmp: Path, app_id: str, token: str, module: str = "streams.cli",
                 **extra: str) -> None:
        self.broker, self.tmp, self.app_id, self.token = broker, tmp, app_id, token
        #: what ``python -m`` runs with ``worker ARGS``: the CLI, or a test's fault-injecting wrapper of it
        self.module = module
        #: each test has its own topics on the shared broker
        self.topics = Topics(app_id)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"worker-{app_id}.log"
        self.extra = extra
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60, ready_timeout: float = 45) -> "WorkerProcess":
        """Start and wait until /health says ready (partitions assigned, state recovered).

        A worker that does not get ready in ``ready_timeout`` is restarted once, as a supervisor
        would: consumer-group rejoins after a restart occasionally stall against the embedded
        broker (see the session notes); a second stall fails the test.
        """
        self.launch(timeout)
        if not self._wait_ready(ready_timeout):
            print(f"worker {self.app_id} not ready after {ready_timeout}s; restarting it once")
            self.stop()
            self.launch(timeout)
            assert self._wait_ready(ready_timeout), f"worker not ready twice:\n{self.log()}"
        return self

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.health()
            assert status == 200, f"worker failing: {body}\n{self.log()}"
            if body.get("ready"):
                return True
            time.sleep(0.2)
        return False

    def health(self) -> tuple[int, dict]:
        """/health's status and body (no token): 200 while the stream runs, 503 with the reason if not."""
        try:
            with urllib.request.urlopen(self.base + "/health", timeout=2) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def failing(self, timeout: float = 60) -> dict:
        """Wait until /health answers 503 (a failure the worker reports before it exits); its body."""
        def answer():
            try:
                status, body = self.health()
            except urllib.error.URLError:
                raise AssertionError(f"the worker exited before /health said why:\n{self.log()}") from None
            return body if status == 503 else None

        return wait_for(answer, timeout=timeout, interval=0.1, message="/health to answer 503")

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, "worker", "--broker", self.broker.url, "--web-port", str(self.port),
                "--app-id", self.app_id, "--topic-prefix", self.topics.prefix,
                "--data-dir", str(self.tmp / f"data-{self.app_id}")]

    def env(self) -> dict[str, str]:
        env = dict(os.environ, BORDERWATCH_API_TOKEN=self.token, BORDERWATCH_SESSION_TIMEOUT="6",
                   BORDERWATCH_TICK_SECONDS="0.5", BORDERWATCH_IDLE_SECONDS="2")
        env.update(self.extra)
        return env

    def launch(self, timeout: float = 60) -> None:
        """Start the process and wait until it serves /health (ready or not)."""
        self.proc = subprocess.Popen(self.command(), env=self.env(), stdout=open(self.log_path, "ab"),
                                     stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker exited early:\n{self.log()}"
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"worker did not serve /health in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def get(self, path: str, token: str | None = "default"):
        tok = self.token if token == "default" else token
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {tok}"} if tok else {})
        return urllib.request.urlopen(req, timeout=5)

    def get_json(self, path: str) -> dict:
        with self.get(path) as resp:
            return json.loads(resp.read())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def worker_factory(broker, tmp_path):
    started: list[WorkerProcess] = []

    def make(app_id: str | None = None, module: str = "streams.cli", **extra: str) -> WorkerProcess:
        """A worker; pass the same app_id again to restart "the same" worker (same group, state, topics)."""
        w = WorkerProcess(broker, tmp_path, app_id or f"bw-test-{uuid.uuid4().hex[:8]}",
                          token=f"test-token-{uuid.uuid4().hex}", module=module, **extra)
        started.append(w)
        return w

    yield make
    for w in started:
        w.stop()


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll until ``predicate()`` returns a truthy value; the polling interval is not a correctness sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def topic_reader(broker):
    """Read a whole topic from the beginning (no consumer group), up to its end offsets now.

    Reading "until nothing came for a while" missed whole partitions when a fetch round was
    slow; reading to the end offsets taken first cannot.
    """
    from kafka import KafkaConsumer, TopicPartition

    def read(topic: str, timeout: float = 30) -> list:
        # kafka-python fetches up to 50 MB but refuses network frames over 1 MB by default: a topic of
        # dead letters (each up to 512 KiB) easily answers a fetch with more.
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                          auto_offset_reset="earliest", receive_message_max_bytes=64 * 1024 * 1024)
        try:
            parts = c.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            if not tps:
                return []
            c.assign(tps)
            c.seek_to_beginning(*tps)
            # ListOffsets of the embedded broker can fall short of a partition's last records
            # (streams/log_end.py): read on until every fetch's high watermark is reached too.
            listed = c.end_offsets(tps)
            out: list = []
            deadline = time.monotonic() + timeout

            def short() -> bool:
                return any(c.highwater(tp) is None or c.position(tp) < max(listed[tp], c.highwater(tp))
                           for tp in tps)

            while short():
                assert time.monotonic() < deadline, f"could not read {topic} to its end in {timeout}s"
                for records in c.poll(timeout_ms=500).values():
                    out.extend(records)
            return out
        finally:
            c.close()

    return read


@pytest.fixture
def producer(broker):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=2)
    yield p
    p.close()


DEV_MIE = DATA / "mie-1.0-dev-borders.csv"
DEV_LABELS = DATA / "escalations-mie-dev-borders.csv"


@pytest.fixture(scope="session")
def dev_set_backtest():
    """The worker's default detector over the 18-border development set, in-process (once a session:
    it takes seconds)."""
    from streams.backtest import run_backtest
    from streams.settings import load_settings
    from streams.worker import build_pipeline

    return run_backtest([str(DEV_MIE)], "mie", build_pipeline(load_settings({}, environ={})))
