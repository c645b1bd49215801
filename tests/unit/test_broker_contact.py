"""A worker cut off from its broker says so, and a stop that waits on the broker still ends
(streams/app.py: BrokerContact, StopDeadline; streams/ingest.py: InputReader.broker_answers;
streams/topics.py: start_or_close, GroupMember). The same on a real worker and broker:
tests/integration/test_broker_lost.py."""

from __future__ import annotations

import asyncio
import signal

import pytest

from streams.app import EXIT_STOP_TIMEOUT, BrokerContact, StopDeadline, bounded_stop_worker
from streams.ingest import InputReader
from streams.settings import Settings
from streams.topics import start_or_close

UTC_AT_FIRST_SILENCE = 1_764_600_000.0  # 2025-12-01T14:40:00Z


def test_the_broker_is_lost_only_after_a_whole_session_without_an_answer():
    contact = BrokerContact(lost_after=10.0, utc=lambda: UTC_AT_FIRST_SILENCE)
    assert contact.observe(0.0, True) is None
    assert contact.observe(5.0, False) is None  # the first silence starts the clock
    assert contact.observe(14.0, False) is None  # 9 s
    reason = contact.observe(15.0, False)
    assert reason == ("the broker has not answered for 10 s (since 2025-12-01T14:40:00Z): no input is read "
                      "and no alert is sent until it does")
    assert contact.reason == reason


def test_one_answer_ends_the_loss_and_the_next_silence_counts_from_its_own_start():
    contact = BrokerContact(lost_after=10.0)
    contact.observe(0.0, False)
    assert contact.observe(20.0, False) is not None
    assert contact.observe(21.0, True) is None and contact.reason is None
    assert contact.observe(22.0, False) is None
    assert contact.observe(31.0, False) is None  # 9 s of this silence, not 31
    assert "for 10 s" in contact.observe(32.0, False)


def test_no_probe_made_yet_changes_nothing():
    contact = BrokerContact(lost_after=10.0)
    assert contact.observe(0.0, None) is None
    assert contact.observe(100.0, None) is None  # before the ingest group exists there is nothing to ask with
    contact.observe(200.0, False)
    lost = contact.observe(215.0, False)
    assert lost is not None
    assert contact.observe(300.0, None) == lost  # ... and no probe is not an answer


class FakeConsumer:
    def __init__(self, topics):
        self._topics = topics
        self.started = self.stopped = False

    async def topics(self):
        return await self._topics()

    async def start(self):
        self.started = True
        from aiokafka.errors import KafkaConnectionError
        raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9, 2)]")

    async def stop(self):
        self.stopped = True


def reader_with(consumer) -> InputReader:
    reader = InputReader(Settings(), pace=None, kinds={}, handle=None, on_failure=None)
    reader.member.consumer = consumer
    return reader


def test_the_probe_asks_for_metadata_and_tells_refused_hung_and_answered_apart():
    from aiokafka.errors import KafkaConnectionError

    async def answered():
        return {"topic"}

    async def refused():
        raise KafkaConnectionError("Unable to bootstrap")

    async def hung():
        await asyncio.Event().wait()

    async def probe(topics):
        return await reader_with(FakeConsumer(topics) if topics else None).broker_answers(timeout=0.01)

    assert asyncio.run(probe(answered)) is True
    assert asyncio.run(probe(refused)) is False
    assert asyncio.run(probe(hung)) is False  # a paused broker holds the request: the timeout answers
    assert asyncio.run(probe(None)) is None  # not joined yet


def test_a_client_that_cannot_start_is_closed_before_the_error_goes_on():
    consumer = FakeConsumer(None)
    with pytest.raises(Exception, match="Unable to bootstrap"):
        asyncio.run(start_or_close(consumer))
    assert consumer.started and consumer.stopped


def test_a_stop_past_its_deadline_exits_as_kill_9_would_and_says_why(caplog):
    exits = []
    deadline = StopDeadline(20.0, exit=exits.append)
    with caplog.at_level("CRITICAL"):
        deadline._give_up("SIGTERM")
    assert exits == [EXIT_STOP_TIMEOUT] == [75]
    assert "did not stop within 20 s of SIGTERM" in caplog.text
    assert "read again at its next start" in caplog.text


def test_the_countdown_starts_once_whatever_the_signals_and_never_keeps_the_process_alive():
    deadline = StopDeadline(3600.0, exit=lambda code: None)
    deadline.start("SIGTERM")
    timer = deadline._timer
    try:
        deadline.start("SIGINT")  # a second signal does not reset it
        assert deadline._timer is timer and timer.daemon and timer.is_alive()
    finally:
        timer.cancel()


def test_the_workers_signal_path_starts_the_countdown_before_the_stop():
    calls = []

    class FakeWorker:
        def _schedule_shutdown(self, sig):
            calls.append(("stop", sig))

    worker_class = bounded_stop_worker(FakeWorker, 3600.0)
    started = []
    worker_class.deadline.start = lambda why: started.append(why) or calls.append(("countdown", why))
    worker_class()._schedule_shutdown(signal.SIGTERM)
    assert calls == [("countdown", "SIGTERM"), ("stop", signal.SIGTERM)]


def test_only_connection_errors_count_as_an_unreachable_broker_groups_included():
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

    from streams.topics import broker_unreachable

    refused = KafkaConnectionError("Unable to bootstrap")
    assert broker_unreachable(refused)
    assert broker_unreachable(ExceptionGroup("task group", [refused, KafkaConnectionError("closed")]))
    assert not broker_unreachable(ExceptionGroup("task group", [refused, ValueError("a bug")]))
    assert not broker_unreachable(KafkaTimeoutError())
    assert not broker_unreachable(RuntimeError("a bug"))


class Member:
    """A consumer as GroupMember uses it: start, subscribe, stop."""

    def __init__(self, log):
        self.log = log

    async def start(self):
        self.log.append("start")
        await asyncio.sleep(0)  # another join may ask meanwhile

    def subscribe(self, topics, listener):
        self.log.append(("subscribe", tuple(topics)))
        self.listener = listener

    async def stop(self):
        self.log.append("stop")


def test_a_group_member_joins_once_whoever_asks_and_leaves_through_its_hooks():
    from streams.topics import GroupMember

    log = []
    made = []

    async def hook(what, value):
        log.append((what, value))

    member = GroupMember(lambda p: hook("revoked", p), lambda p: hook("assigned", p),
                         on_joined=lambda c: log.append("joined"), on_leaving=lambda c: hook("leaving", c is made[0]))

    def make():
        made.append(Member(log))
        return made[-1]

    async def main():
        await asyncio.gather(member.join(make, ["a", "b"]), member.join(make, ["a", "b"]))
        assert len(made) == 1 and member.consumer is made[0]
        await made[0].listener.on_partitions_assigned(["a/0"])  # the group's callbacks reach the owner
        await made[0].listener.on_partitions_revoked(["a/0"])
        member.running = True
        await member.leave_if_not_run()  # a running owner leaves on its own way out
        assert member.consumer is made[0]
        member.running = False
        await member.leave_if_not_run()
        assert member.consumer is None
        await member.leave()  # nothing left to leave

    asyncio.run(main())
    assert log == ["start", ("subscribe", ("a", "b")), "joined", ("assigned", ["a/0"]), ("revoked", ["a/0"]),
                   ("leaving", True), "stop"]
