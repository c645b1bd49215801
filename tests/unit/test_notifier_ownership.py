"""One notifier among workers, a delivery log on a topic, evidence from a snapshot: the parts without Kafka."""

from __future__ import annotations

import asyncio
from datetime import date
import functools
import json
import threading

import pytest
from prometheus_client import CollectorRegistry

from alerts.notify.acks import NoticeAcks, ack_token
from alerts.notify.delivery import DeliveryLogUnavailable, Notifier, RetryPolicy
from alerts.notify.notices import SegmentContext
from alerts.notify.sinks.base import Sink, SinkError
from streams.evidence import SegmentContexts, context_snapshot
from streams.metrics import Metrics
from streams.notice_log import KafkaDeliveryLog, encode_record
from streams.notify import Baton, NotifierOwnership, NotifyStage
from streams.windows import day_of
from streams.segment_state import SegmentState
from streams.topics import Topics, group_timing
from tests.notice_fixtures import CONTEXT, NOW, SECRET, renderer, request


class Meta:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class FakeProducer:
    """kafka-python's ``send(...).get()`` shape: every record goes to one list, its index the offset."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def send(self, topic, value, partition=None):
        self.sent.append((topic, value))
        offset = len(self.sent) - 1
        return type("F", (), {"get": lambda self, timeout=None: Meta(offset)})()

    def close(self, timeout=None) -> None:
        pass


def kafka_log(producer: FakeProducer | None = None) -> KafkaDeliveryLog:
    return KafkaDeliveryLog("kafka://127.0.0.1:1", "bw.notice-log", producer_factory=lambda: producer or FakeProducer())


class AcceptingSink(Sink):
    type = "accepting"

    def __init__(self, name: str = "accepting:1") -> None:
        self.name, self.accepted = name, []

    def send(self, notice) -> None:
        self.accepted.append(notice.notice_id)


# --- topics ---------------------------------------------------------------------------------

def test_the_notifier_baton_and_the_delivery_log_have_one_partition_the_rest_the_workers_count():
    t = Topics("bw")
    assert {t.notifier, t.notice_log, t.segment_context} <= set(t.all())
    assert t.partitions(t.notifier, 8) == t.partitions(t.notice_log, 8) == 1
    assert t.partitions(t.segment_context, 8) == t.partitions(t.alerts, 8) == 8


# --- the delivery log on a topic --------------------------------------------------------------

def test_a_record_is_indexed_once_whether_its_writer_or_its_reader_sees_it_first():
    producer = FakeProducer()
    log = kafka_log(producer)
    n = Notifier(log, {"secretariat-KGZ": [AcceptingSink()]}, renderer(), clock=lambda: NOW)
    assert [o.status for o in n.notify(request())] == ["delivered"]
    # The reader comes round to the writer's own record: not indexed again.
    [(topic, raw)] = producer.sent
    assert topic == "bw.notice-log"
    log.fold(0, raw)
    assert log.delivered("nt-kgz-1", "accepting:1")["notice_id"] == "nt-kgz-1"
    assert [o.status for o in n.notify(request())] == ["duplicate"]
    # Another worker's failed attempt, read before the writer's ack arrives, counts once.
    failed = {"kind": "failed", "notice_id": "nt-2", "sink": "s", "receiver": "r", "at": "x", "attempt": 1,
              "retryable": True, "error": "down"}
    log.fold(1, encode_record(failed))
    log._index_at(1, failed)
    assert log.failures("nt-2", "s") == 1


def test_a_new_owner_reading_the_log_finds_the_old_owners_deliveries_and_the_desks_acks():
    old_producer = FakeProducer()
    old = kafka_log(old_producer)
    Notifier(old, {"secretariat-KGZ": [AcceptingSink()]}, renderer(), clock=lambda: NOW).notify(request())
    NoticeAcks(SECRET, old).acknowledge("nt-kgz-1", ack_token(SECRET, "nt-kgz-1", date(2026, 12, 31)), at=NOW)

    new = kafka_log()
    for offset, (_, raw) in enumerate(old_producer.sent):
        new.fold(offset, raw)
    new.fold(len(old_producer.sent), b"not json")  # skipped, and the reader goes on past it
    sink = AcceptingSink()
    outcomes = Notifier(new, {"secretariat-KGZ": [sink]}, renderer(), clock=lambda: NOW).notify(request())
    assert [o.status for o in outcomes] == ["duplicate"] and sink.accepted == []
    again = NoticeAcks(SECRET, new).acknowledge("nt-kgz-1", ack_token(SECRET, "nt-kgz-1", date(2026, 12, 31)))
    assert again.repeated and new._position == len(old_producer.sent) + 1


def test_append_refuses_to_block_the_event_loop_it_is_read_on():
    log = kafka_log()

    async def main():
        log._loop = asyncio.get_running_loop()
        with pytest.raises(RuntimeError, match="to_thread"):
            log.append({"kind": "failed"})
        await asyncio.to_thread(log.append, {"kind": "ack", "notice_id": "nt-1"})

    asyncio.run(main())
    assert log.own_ack("nt-1") == {"kind": "ack", "notice_id": "nt-1"}


# --- evidence whichever worker owns the segment ------------------------------------------------

def test_a_context_snapshot_carries_the_segments_evidence_and_reads_back_with_the_registrys_names():
    end = day_of(NOW)
    state = SegmentState("KGZ-TJK-07", days={end: [2, 1, 0, 5], end - 100: [73, 0, 0, 9]}, max_day=end,
                         recent=[{"event_id": "x", "fatalities": 1}], pressure={"KGZ": {2023: 5.0}})
    contexts = SegmentContexts("kafka://127.0.0.1:1", "bw.segment-context",
                               names=lambda s: ("Batken stretch", "near Batken", "около Баткена"))
    assert contexts.get("KGZ-TJK-07") is None
    contexts.fold(b"KGZ-TJK-07", context_snapshot(state))
    got = contexts.get("KGZ-TJK-07")
    assert got == SegmentContext.from_state(state, name="Batken stretch", place="near Batken",
                                            place_ru="около Баткена")
    assert got.pressure == {"KGZ": {2023: 5.0}} and got.incidents == ({"event_id": "x", "fatalities": 1},)
    assert SegmentContext.from_dict(json.loads(json.dumps(CONTEXT.to_dict())), name=CONTEXT.name,
                                    place=CONTEXT.place, place_ru=CONTEXT.place_ru) == CONTEXT


# --- ownership ----------------------------------------------------------------------------------

class FakeStage:
    def __init__(self) -> None:
        self.stopped, self.idled = False, 0

    async def idle(self) -> None:
        self.idled += 1

    async def stop(self) -> None:
        self.stopped = True


def test_the_member_assigned_partition_0_notifies_a_rebalance_pauses_it_and_losing_the_partition_drops_its_stage():
    metrics = Metrics(CollectorRegistry())
    runs: list[FakeStage] = []

    async def own(ownership: NotifierOwnership) -> None:
        ownership.stage = FakeStage()
        runs.append(ownership.stage)
        await asyncio.Event().wait()  # runs until cancelled

    def gauge() -> float:
        return metrics.notifier_owner._value.get()

    async def main():
        o = NotifierOwnership(own, metrics)
        await o.assigned([])  # a member without the partition waits
        assert not o.owner and gauge() == 0
        await o.assigned([0])
        await asyncio.sleep(0)
        assert o.owner and len(runs) == 1 and gauge() == 1
        # A member joins: every member's partitions are revoked before the join, then assigned.
        await o.revoked([0])
        assert not o.owner and not o.baton.open.is_set() and o.baton.interrupt.is_set() and gauge() == 0
        assert runs[0].idled == 1  # the send in hand finished before the rebalance went on
        await o.assigned([0])  # it stayed here: the same stage goes on, sending again
        assert o.owner and len(runs) == 1 and not runs[0].stopped and gauge() == 1
        await o.revoked([0])
        await o.assigned([])  # it went to another member: the stage and its dispatcher go
        assert not o.owner and runs[0].stopped and gauge() == 0
        await o.revoked([0])  # nothing left to stop
        await o.assigned([0])  # gained again: a fresh stage
        await asyncio.sleep(0)
        assert len(runs) == 2 and not runs[1].stopped and o.generation == 2
        await o._drop()
        assert runs[1].stopped

    asyncio.run(main())


class BlockedSink(Sink):
    """Retryable failures until told otherwise; counts its calls."""

    type = "blocked"

    def __init__(self) -> None:
        self.name, self.calls = "blocked:1", 0
        self.called = threading.Event()

    def send(self, notice) -> None:
        self.calls += 1
        self.called.set()
        raise SinkError("down", retryable=True)


def test_a_revocation_ends_the_retry_wait_at_once_and_the_notice_is_held_for_when_the_baton_comes_back():
    from alerts.policy import load_policy

    sink = BlockedSink()
    log = kafka_log()

    async def main():
        baton = Baton()
        stage = NotifyStage(load_policy(), log, {"secretariat-KGZ": [sink]}, renderer(), clock=lambda: NOW,
                            baton=baton)
        stage.notifier.retry = RetryPolicy(attempts=5, initial=3600)  # an hour's wait after the first try
        stage.queue.put_nowait(request())
        run = asyncio.ensure_future(stage.run(tick_seconds=3600))
        await asyncio.to_thread(sink.called.wait, 10)
        baton.open.clear()
        baton.interrupt.set()
        await asyncio.wait_for(stage.idle(), 10)  # not an hour
        assert sink.calls == 1  # and the notice waits for the baton
        sink.called.clear()
        baton.interrupt.clear()
        baton.open.set()  # the partition came back to this worker: the same stage goes on
        await asyncio.to_thread(sink.called.wait, 10)
        assert sink.calls == 2
        baton.open.clear()
        baton.interrupt.set()
        await asyncio.wait_for(stage.stop(), 10)
        run.cancel()

    asyncio.run(main())
    assert log.failures("nt-kgz-1", "blocked:1") == 2


def test_the_holder_of_the_newest_epoch_keeps_the_notifier_and_a_stale_holder_does_not():
    from streams.notify import KeepTheNotifier

    choose = KeepTheNotifier.choose
    assert choose({"m-b": b"0,0", "m-a": b"0,0"}) == ("m-a", 1)  # nobody holds it: the first member, a new epoch
    assert choose({"m-a": b"0,3", "m-z": b"3,3"}) == ("m-z", 3)  # a member joins: the holder keeps it
    assert choose({"m-a": b"0,3"}) == ("m-a", 4)  # the holder died: the survivor, a new epoch
    # The old holder was taken for dead and comes back: the newer holder keeps it.
    assert choose({"m-old": b"3,3", "m-new": b"4,4"}) == ("m-new", 4)
    assert choose({"m-a": b"junk", "m-b": b""}) == ("m-a", 1)


def test_the_assignor_gives_the_chosen_member_every_partition_and_everyone_the_epoch():
    from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

    from streams.notify import KeepTheNotifier

    cluster = type("C", (), {"partitions_for_topic": lambda self, t: {0}})()
    a, b = KeepTheNotifier(), KeepTheNotifier()
    out = a.assign(cluster, {"m-a": a.metadata(["bw.notifier"]), "m-b": b.metadata(["bw.notifier"])})
    a.on_assignment(out["m-a"])
    b.on_assignment(out["m-b"])
    assert a.holding and not b.holding and a.epoch == b.epoch == 1
    c = KeepTheNotifier()  # a third worker joins; b leads the join this time
    members = {"m-0": c.metadata(["bw.notifier"]), "m-a": a.metadata(["bw.notifier"]),
               "m-b": b.metadata(["bw.notifier"])}
    assert isinstance(members["m-a"], ConsumerProtocolMemberMetadata)
    out = b.assign(cluster, members)
    assert out["m-a"].partitions()[0].partition == 0 and not out["m-0"].assignment and not out["m-b"].assignment


def test_a_failed_stage_is_started_again_while_this_worker_holds_the_notifier():
    attempts: list[FakeStage] = []

    async def own(ownership: NotifierOwnership) -> None:
        ownership.stage = FakeStage()
        attempts.append(ownership.stage)
        if len(attempts) == 1:
            raise RuntimeError("the alert-log reader gave up")
        await asyncio.Event().wait()

    async def main():
        o = NotifierOwnership(own)
        o._keep_owning = functools.partial(o._keep_owning, retry_seconds=0)
        await o.assigned([0])
        for _ in range(10):
            await asyncio.sleep(0)
        assert len(attempts) == 2 and attempts[0].stopped and not attempts[1].stopped and o.owner
        await o._drop()
        assert attempts[1].stopped

    asyncio.run(main())


def test_a_record_waits_out_a_broker_that_is_away_instead_of_losing_the_delivery():
    """The broker paused or restarting: making the producer fails, then a send times out; the record
    is written once the broker answers, and the delivery is in the log."""
    sent = FakeProducer()
    attempts = iter([ConnectionError("no broker"), None])
    slept: list[float] = []

    def factory():
        err = next(attempts)
        if err:
            raise err
        return sent

    log = KafkaDeliveryLog("kafka://127.0.0.1:1", "t", producer_factory=factory, sleep=slept.append,
                           clock=lambda: 0.0)
    log.append({"kind": "delivered", "notice_id": "nt-1", "sink": "s", "receiver": "r", "group_key": "g",
                "at": "2026-11-30T00:00:00Z", "attempts": 1, "summary": {}})
    assert slept == [0.2] and len(sent.sent) == 1 and log.delivered("nt-1", "s")


def test_a_broker_away_past_the_patience_fails_the_append():
    now = [0.0]

    def factory():
        raise ConnectionError("no broker")

    log = KafkaDeliveryLog("kafka://127.0.0.1:1", "t", producer_factory=factory, patience=1.0,
                           sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    with pytest.raises(DeliveryLogUnavailable, match="no broker"):
        log.append({"kind": "failed", "notice_id": "nt-1", "sink": "s", "receiver": "r", "at": "x", "attempt": 1})


class UnwritableFirst(FakeProducer):
    """A broker that takes no record for the first ``refusals`` sends (each past the log's patience)."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def send(self, topic, value, partition=None):
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("no broker")
        return super().send(topic, value, partition)


def test_a_notice_the_delivery_log_cannot_record_is_held_and_sent_once_the_log_takes_records():
    """The broker away past the log's patience: the notice is not dropped but held, tried again after
    a doubling wait, and recorded once the log takes records, without being sent to the sink again."""
    from alerts.policy import load_policy

    producer = UnwritableFirst(refusals=3)
    log = KafkaDeliveryLog("kafka://127.0.0.1:1", "bw.notice-log", producer_factory=lambda: producer,
                           patience=0.0, sleep=lambda s: None)
    sink = AcceptingSink()
    waits: list[float] = []

    async def main():
        tried_again = asyncio.Event()

        async def wait(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 3:
                tried_again.set()

        stage = NotifyStage(load_policy(), log, {"secretariat-KGZ": [sink]}, renderer(), clock=lambda: NOW,
                            wait=wait)
        stage.queue.put_nowait(request())
        run = asyncio.ensure_future(stage.run(tick_seconds=3600))
        await asyncio.wait_for(tried_again.wait(), 10)
        for _ in range(200):  # the fourth try runs in the stage's thread
            if log.delivered("nt-kgz-1", "accepting:1"):
                break
            await asyncio.sleep(0.01)
        await asyncio.wait_for(stage.stop(), 10)
        run.cancel()

    asyncio.run(main())
    assert waits == [5.0, 10.0, 20.0]
    assert log.delivered("nt-kgz-1", "accepting:1")
    assert sink.accepted == ["nt-kgz-1"]  # sent once: the later tries only record what the sink took
    assert [json.loads(v)["kind"] for _, v in producer.sent] == ["delivered"]


def test_a_broker_away_past_the_patience_raises_that_the_log_is_unavailable():

    log = KafkaDeliveryLog("kafka://127.0.0.1:1", "t", producer_factory=lambda: UnwritableFirst(1), patience=0.0,
                           sleep=lambda s: None)
    with pytest.raises(DeliveryLogUnavailable, match="topic t took no record"):
        log.append({"kind": "failed", "notice_id": "nt-1", "sink": "s", "receiver": "r", "at": "x", "attempt": 1})



def test_a_delivery_file_that_cannot_be_written_raises_that_the_log_is_unavailable(tmp_path):
    from alerts.notify.delivery import DeliveryLog

    log = DeliveryLog(tmp_path / "delivery.jsonl")
    (tmp_path / "delivery.jsonl").mkdir()  # what a lost mount or a full disk does to open/write/fsync
    with pytest.raises(DeliveryLogUnavailable, match="delivery.jsonl"):
        log.append({"kind": "failed", "notice_id": "nt-1", "sink": "s", "receiver": "r", "at": "x", "attempt": 1})
    assert log.failures("nt-1", "s") == 0  # not indexed: it was never written


def test_an_acknowledgement_waits_for_an_absent_broker_seconds_not_minutes():
    """Someone waits for the answer to an acknowledgement: it gives up after ACK_PATIENCE (then 503,
    try again), where a delivery record waits out the log's own patience (minutes)."""
    from alerts.notify.acks import ACK_PATIENCE

    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    producer = UnwritableFirst(refusals=10 ** 6)
    log = KafkaDeliveryLog("kafka://127.0.0.1:1", "bw.notice-log", producer_factory=lambda: producer,
                           sleep=sleep, clock=lambda: now[0])
    log._index_at(0, {"kind": "delivered", "notice_id": "nt-1", "sink": "s", "receiver": "secretariat-KGZ",
                      "group_key": "g", "at": "2026-11-23T08:00:00Z", "attempts": 1, "summary": {}})
    acks = NoticeAcks(SECRET, log, clock=lambda: NOW)
    with pytest.raises(DeliveryLogUnavailable, match=f"took no record for {ACK_PATIENCE:.0f} s"):
        acks.acknowledge("nt-1", ack_token(SECRET, "nt-1", date(2026, 12, 7)))
    assert ACK_PATIENCE - 5 <= sum(waits) <= ACK_PATIENCE < log.patience
    assert log.own_ack("nt-1") is None


class GroupMember:
    """aiokafka's consumer, as far as the notifier's membership uses it."""

    made: list["GroupMember"] = []

    def __init__(self, **config) -> None:
        self.config, self.started, self.stopped, self.subscribed = config, 0, False, None
        self.listener = None
        GroupMember.made.append(self)

    async def start(self) -> None:
        self.started += 1

    def subscribe(self, topics, listener) -> None:
        self.subscribed, self.listener = list(topics), listener

    async def getmany(self, timeout_ms: int) -> dict:
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.stopped = True


def test_the_notifier_membership_asked_early_is_the_one_that_runs_and_leaves_if_it_never_ran(monkeypatch):
    """The worker asks to join as it starts and runs the membership after Faust's recovery: one
    member, started once; a worker that stops before the run leaves the group all the same."""
    import aiokafka
    from aiokafka.structs import TopicPartition

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", GroupMember)
    group = ("kafka://127.0.0.1:9", "app-notifier", "app.notifier", group_timing(6.0))

    async def never_own(ownership):
        await asyncio.Event().wait()

    async def main():
        GroupMember.made.clear()
        o = NotifierOwnership(never_own)
        await asyncio.gather(o.join(*group), o.join(*group))  # asked twice at once: one member
        member, = GroupMember.made
        assert member.started == 1 and member.subscribed == ["app.notifier"]
        await member.listener.on_partitions_assigned([TopicPartition("app.notifier", 0)])
        assert o.owner  # the partition came while Faust still recovers: owned from then on
        running = asyncio.ensure_future(o.run(*group))
        await asyncio.sleep(0)
        await o.leave_if_not_run()  # it runs: it leaves with the run, not before
        assert not member.stopped and GroupMember.made == [member]
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert member.stopped and not o.owner

        GroupMember.made.clear()
        idle = NotifierOwnership(never_own)
        await idle.join(*group)
        await idle.leave_if_not_run()
        assert GroupMember.made[0].stopped

    asyncio.run(main())
