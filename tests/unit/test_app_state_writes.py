"""How the aggregate agent writes state: once per touched key per batch, to the key's own changelog
partition, acknowledged before the batch ends, with the batch's alert transitions in an outbox that
the next owner sends again; and never while a rebalance restores the table."""

import asyncio
from types import SimpleNamespace

import pytest

from streams.app import DecodedStates, RebalanceGate, TouchedStates, WrittenStates, DeliveryOrder, start_positions, unsent
from streams.segment_state import SegmentState
from tests.webfakes import alert_event


def event(partition: int, offset: int):
    return SimpleNamespace(message=SimpleNamespace(partition=partition, offset=offset))


class BrokerTable:
    """What TouchedStates uses of a Faust table: its store, and changelog sends the test acknowledges."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.sends: list[tuple[int, str, asyncio.Future]] = []

    def get(self, key):
        return self.data.get(key)

    def send_changelog(self, partition, key, value):
        fut = asyncio.get_running_loop().create_future()
        self.sends.append((partition, key, fut))
        return fut


async def written_back(batch, table) -> None:
    """``batch.write_back()`` with every changelog record acknowledged by the broker."""
    writing = asyncio.ensure_future(batch.write_back())
    await asyncio.sleep(0)
    for _, _, fut in table.sends:
        if not fut.done():
            fut.set_result("ok")
    await writing


def test_each_touched_key_is_written_once_to_its_own_partition():
    async def scenario():
        table = BrokerTable()
        batch = TouchedStates(table)
        batch.touch("KGZ-TJK-01", event(3, 10)).level = 1
        batch.touch("KGZ-UZB-02", event(5, 11))
        batch.touch("KGZ-TJK-01", event(3, 12))
        writing = asyncio.ensure_future(batch.write_back())
        await asyncio.sleep(0)
        assert [(p, k) for p, k, _ in table.sends] == [(3, "KGZ-TJK-01"), (5, "KGZ-UZB-02")]
        assert SegmentState.decode(table.data["KGZ-TJK-01"], "KGZ-TJK-01").level == 1
        return table, writing

    async def run():
        table, writing = await scenario()
        # the batch is not over (its events not acknowledged) until the broker took every record
        assert not writing.done()
        table.sends[0][2].set_result("ok")
        await asyncio.sleep(0)
        assert not writing.done()
        table.sends[1][2].set_result("ok")
        await writing

    asyncio.run(run())


def test_the_next_batch_takes_the_state_as_written_until_the_table_holds_other_bytes():
    async def run():
        table, decoded = BrokerTable(), DecodedStates()
        first = TouchedStates(table, decoded)
        st = first.touch("KGZ-TJK-01", event(3, 10))
        st.level = 1
        await written_back(first, table)
        # the same object, its rolling sums and detector built: not decoded again
        assert TouchedStates(table, decoded).touch("KGZ-TJK-01", event(3, 11)) is st
        assert TouchedStates(table, decoded).peek("KGZ-TJK-01") is st
        # a restore (or another worker) left other bytes: read from the table
        other = SegmentState("KGZ-TJK-01", level=2)
        table.data["KGZ-TJK-01"] = other.encode()
        again = TouchedStates(table, decoded).touch("KGZ-TJK-01", event(3, 12))
        assert again is not st and again.level == 2
        decoded.put("KGZ-TJK-01", table.data["KGZ-TJK-01"], again)
        decoded.clear()  # a rebalance forgets them all
        assert TouchedStates(table, decoded).touch("KGZ-TJK-01", event(3, 13)) is not again

    asyncio.run(run())


def test_decoded_states_keep_the_most_recently_written():
    decoded = DecodedStates(keep=2)
    states = {k: SegmentState(k) for k in ("a", "b", "c")}
    for k in ("a", "b", "a", "c"):
        decoded.put(k, k.encode(), states[k])
    assert decoded.get("b", b"b") is None  # written least recently: dropped
    assert decoded.get("a", b"a") is states["a"] and decoded.get("c", b"c") is states["c"]
    assert decoded.get("a", None) is None and decoded.get("a", b"other") is None


def test_a_changelog_record_the_broker_refuses_fails_the_batch():
    async def run():
        table = BrokerTable()
        batch = TouchedStates(table)
        batch.touch("KGZ-TJK-01", event(3, 10))
        writing = asyncio.ensure_future(batch.write_back())
        await asyncio.sleep(0)
        table.sends[0][2].set_exception(RuntimeError("broker down"))
        with pytest.raises(RuntimeError):
            await writing  # run_batches turns this into a failing worker, nothing acknowledged

    asyncio.run(run())


def test_a_rebalance_waits_for_the_batch_in_hand_and_no_batch_runs_until_it_is_complete():
    async def run():
        gate = RebalanceGate()
        log: list[str] = []
        release = asyncio.Event()

        async def batch(name: str, hold: asyncio.Event | None = None):
            async with gate.batch():
                log.append(f"{name} starts")
                if hold is not None:
                    await hold.wait()
                log.append(f"{name} ends")

        first = asyncio.ensure_future(batch("first", release))
        await asyncio.sleep(0)
        revoking = asyncio.ensure_future(gate.close())
        await asyncio.sleep(0)
        assert not revoking.done()  # the revocation waits for the batch in hand
        second = asyncio.ensure_future(batch("second"))
        release.set()
        await revoking
        await asyncio.sleep(0)
        assert log == ["first starts", "first ends"]  # the second waits while state is restored
        gate.open()  # rebalance complete
        await asyncio.gather(first, second)
        assert log == ["first starts", "first ends", "second starts", "second ends"]

    asyncio.run(run())


def test_partitions_that_went_elsewhere_are_known_after_the_rebalance_and_no_others():
    async def run():
        gate = RebalanceGate()
        await gate.close({"p0", "p1", "p2"})
        gate.open({"p1", "p2", "p3"})
        assert gate.moved == {"p0"}
        await gate.close({"p1", "p2", "p3"})
        gate.open({"p0", "p1", "p2", "p3"})  # p0 came back: its events are ours again
        assert gate.moved == frozenset()

    asyncio.run(run())


def test_a_batchs_transitions_are_written_with_the_states_that_record_them_and_only_those():
    async def run():
        table = BrokerTable()
        earlier = SegmentState("KGZ-TJK-02", partition=5, outbox=["an earlier batch's transition"])
        table.data["KGZ-TJK-02"] = earlier.encode()
        batch = TouchedStates(table)
        batch.touch("KGZ-TJK-01", event(3, 10))
        batch.touch("KGZ-TJK-02", event(5, 11))  # touched, no transition this time
        opened = alert_event("KGZ-TJK-01", seq=1)
        escalated = alert_event("KGZ-TJK-01", seq=2, transition="escalated", level="critical")
        batch.fill_outboxes([opened, escalated])
        writing = asyncio.ensure_future(batch.write_back())
        await asyncio.sleep(0)
        for _, _, fut in table.sends:
            fut.set_result("ok")
        await writing
        first = SegmentState.decode(table.data["KGZ-TJK-01"], "KGZ-TJK-01")
        assert [o.encode() for o in first.outbox] == [opened.encode(), escalated.encode()]
        assert SegmentState.decode(table.data["KGZ-TJK-02"], "KGZ-TJK-02").outbox == []

    asyncio.run(run())


def test_the_next_owner_sends_the_outboxes_of_its_own_partitions_in_key_order():
    table = BrokerTable()
    for key, partition, outbox in (("B", 1, ["b1", "b2"]), ("A", 1, ["a1"]), ("C", 2, ["c1"]), ("D", 1, [])):
        table.data[key] = SegmentState(key, partition=partition, outbox=outbox).encode()
    table.keys = lambda: list(table.data)
    assert unsent(table, {1}) == [("A", b"a1"), ("B", b"b1"), ("B", b"b2")]
    assert unsent(table, {3}) == []


def test_the_gate_says_when_a_batch_is_the_first_since_start_up_or_a_rebalance():
    async def run():
        gate = RebalanceGate()
        assert gate.fresh
        gate.fresh = False  # the first batch sent the outboxes
        await gate.close({"p0"})
        gate.open({"p0"})
        assert gate.fresh

    asyncio.run(run())


def test_the_fetch_wait_follows_the_input(monkeypatch):
    """Faust hard-codes a 1.5 s fetch wait; the pace sets its own on the consumer Faust builds (once
    wrapped), short at start and from each input on, long once the input has been idle."""
    from types import SimpleNamespace

    from faust.transport.drivers import aiokafka as driver

    from streams.app import FetchPace

    def built_by_faust(self, transport):
        return SimpleNamespace(_fetch_max_wait_ms=1500)

    monkeypatch.setattr(driver.AIOKafkaConsumerThread, "_create_worker_consumer", built_by_faust)
    FetchPace(0.05, 1.0).install()
    pace = FetchPace(0.01, 2.0)
    pace.install()  # a second app in the process: its own pace, not a wrapper of the first
    consumer = driver.AIOKafkaConsumerThread._create_worker_consumer(None, None)
    assert driver.AIOKafkaConsumerThread._create_worker_consumer.__wrapped__ is built_by_faust
    assert consumer._fetch_max_wait_ms == 10  # busy at start: a worker starting or restarting has input waiting
    consumer._fetcher = SimpleNamespace(_fetch_max_wait_ms=10)  # as after the consumer started
    pace.on_tick(100.0, idle_after=10.0)
    assert consumer._fetch_max_wait_ms == consumer._fetcher._fetch_max_wait_ms == 2000  # no input yet: idle
    pace.on_input(100.0)
    assert consumer._fetch_max_wait_ms == consumer._fetcher._fetch_max_wait_ms == 10
    pace.on_tick(104.0, idle_after=10.0)
    assert consumer._fetcher._fetch_max_wait_ms == 10  # input 4 s ago: still busy
    pace.on_tick(110.0, idle_after=10.0)
    assert consumer._fetch_max_wait_ms == consumer._fetcher._fetch_max_wait_ms == 2000


def test_the_evidence_snapshot_sent_again_with_an_outbox_is_the_one_its_batch_would_have_sent():
    """After a crash between the state write and the sends, the next owner sends the outboxes again
    and, from the states that recorded them, the segments' evidence snapshots: the same bytes the
    batch would have sent, so a notice rendered on another worker shows the evidence of the
    transitions it tells."""
    from bench.harness import payloads
    from streams.app import segment_contexts
    from streams.evidence import context_snapshot
    from streams.pipeline import Pipeline
    from streams.segments import SegmentRegistry
    from streams.topics import KIND_INCIDENTS

    pipeline = Pipeline(SegmentRegistry.default())
    table = BrokerTable()
    batch = TouchedStates(table)
    for _, raw in payloads(300, seed=3):
        envs, _ = pipeline.route(KIND_INCIDENTS, raw)
        for env in envs:
            pipeline.apply(batch.touch(env.key, event(0, 0)), env)
    keys = set(batch.states)
    sent_by_the_batch = [(k, context_snapshot(batch.peek(k), batch.peek(pipeline.border_of(k)))) for k in sorted(keys)]
    assert segment_contexts(batch.peek, keys, pipeline.border_of) == sent_by_the_batch
    for key, st in batch.states.items():
        table.data[key] = st.encode()
    assert any(b'"incidents":[{' in snapshot for _, snapshot in sent_by_the_batch)  # evidence to compare
    from_the_table = segment_contexts(lambda key: SegmentState.decode(table.get(key), key), keys, pipeline.border_of)
    assert from_the_table == sent_by_the_batch


def test_a_restore_that_gives_back_older_states_is_told_apart_from_one_that_does_not():
    async def write(table, written, touches):
        batch = TouchedStates(table, written=written)
        for key, partition, level in touches:
            batch.touch(key, event(partition, 0)).level = level
        await written_back(batch, table)

    async def run():
        table, written = BrokerTable(), WrittenStates()
        await write(table, written, [("KGZ-TJK-01", 3, 1), ("KGZ-UZB-02", 5, 1)])
        before = dict(table.data)
        await write(table, written, [("KGZ-TJK-01", 3, 2), ("KGZ-UZB-02", 5, 2)])
        # the rebalance left partition 5 with another worker, kept 3, and restored 3 to the end
        written.keep_only([3])
        assert written.lost(table.get) == (1, {})
        # the next rebalance restores partition 3 one batch short (the bug streams.log_end fixes)
        await write(table, written, [("KGZ-TJK-01", 3, 3)])
        table.data["KGZ-TJK-01"] = before["KGZ-TJK-01"]
        written.keep_only([3, 5])
        assert written.lost(table.get) == (1, {3: ["KGZ-TJK-01"]})
        # each write is checked once: after a check the table's bytes are the worker's own
        assert written.lost(table.get) == (0, {})

    asyncio.run(run())


def test_a_write_the_broker_did_not_acknowledge_is_not_what_a_restore_owes():
    async def run():
        table, written = BrokerTable(), WrittenStates()
        batch = TouchedStates(table, written=written)
        batch.touch("KGZ-TJK-01", event(3, 10))
        writing = asyncio.ensure_future(batch.write_back())
        await asyncio.sleep(0)
        table.sends[0][2].set_exception(RuntimeError("broker down"))
        with pytest.raises(RuntimeError):
            await writing
        table.data.clear()  # the restore has nothing of it: nothing was lost
        assert written.lost(table.get) == (0, {})

    asyncio.run(run())


def test_partitions_with_no_committed_offset_are_read_from_their_first_record_after_a_rebalance():
    """aiokafka's seek to committed offsets leaves a partition with none where its fetcher had got
    to; records fetched before the rebalance and never handled would be skipped for good."""
    from aiokafka.structs import TopicPartition
    from faust.types import TP

    kept, none, zero, other = TP("se", 0), TP("se", 1), TP("se", 2), TP("se", 3)

    class Consumer:
        def __init__(self):
            self.seeks = []

        async def seek_to_committed(self):
            return {TopicPartition("se", 0): 57, TopicPartition("se", 1): None, TopicPartition("se", 2): 0}

        async def seek(self, tp, offset):
            self.seeks.append((tp, offset))

    consumer = Consumer()
    starts = asyncio.run(start_positions(consumer, {kept, none, zero, other}))
    assert starts == {kept: 57, none: 0, zero: 0, other: 0}  # "other": the group has nothing for it at all
    assert consumer.seeks == [(none, 0), (zero, 0), (other, 0)]  # the committed one is Faust's to seek


def test_a_partition_s_records_are_handled_in_offset_order_from_where_it_starts():
    clock = [0.0]
    order = DeliveryOrder(monotonic=lambda: clock[0])
    order.start({5: 13})
    verdicts = [order.admit(5, offset) for offset in (12, 13, 22, 23)]
    # 12 was committed; 22 and 23 came before 14 (records fetched before a rebalance): read again from 14
    assert verdicts == ["again", "handle", "ahead", "ahead"] and order.next_offset(5) == 14
    assert [order.admit(5, offset) for offset in (14, 15, 14)] == ["handle", "handle", "again"]
    assert order.admit(7, 40) == "handle" and order.next_offset(7) == 41  # not started: from the first seen


def test_a_partition_ahead_past_the_hole_wait_goes_on_from_where_it_is(caplog):
    from streams.app import HOLE_WAIT_SECONDS

    clock = [0.0]
    order = DeliveryOrder(monotonic=lambda: clock[0])
    order.start({2: 10})
    assert order.admit(2, 12) == "ahead"
    clock[0] = HOLE_WAIT_SECONDS - 1
    assert order.admit(2, 12) == "ahead"
    clock[0] = HOLE_WAIT_SECONDS
    with caplog.at_level("ERROR"):
        assert order.admit(2, 12) == "handle"
    assert order.next_offset(2) == 13 and "taken as a hole" in caplog.text
