"""InputReader's delivery rules with a scripted consumer: offsets are committed only for batches
handled to the end, on the commit clock, at a revocation (after the batch in hand) and on the way
out. The live path over a real broker, kill -9 and two workers included, is in tests/integration
and tests/chaos."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka.errors import CommitFailedError
from aiokafka.structs import TopicPartition

from streams.app import FetchPace
from streams.ingest import MAX_IN_FLIGHT, InputReader
from streams.settings import Settings

INCIDENTS, TRANSFERS = "t.incidents", "t.transfers"
KINDS = {INCIDENTS: "incidents", TRANSFERS: "arms_transfers"}


def rec(topic: str, partition: int, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, partition=partition, offset=offset, key=None, value=b"{}")


class ScriptedConsumer:
    """Hands out ``fetches`` in turn, then waits (as a consumer with nothing new does)."""

    def __init__(self, fetches: list[dict], refuse_commits: int = 0) -> None:
        self.fetches = list(fetches)
        self.commits: list[dict] = []
        #: the partitions the group gives this member (all of them unless a test takes some away)
        self.held = {TP0, TP1, TT0}
        #: the next this many commits are refused as by a group that rebalanced without this member
        self.refuse_commits = refuse_commits
        self.listener = None
        self.stopped = False
        self.drained = asyncio.Event()

    async def start(self) -> None:
        pass

    def subscribe(self, topics, listener) -> None:
        assert sorted(topics) == sorted(KINDS)
        self.listener = listener

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        await asyncio.sleep(0)  # a fetch lets the loop turn: the deliveries in flight go on meanwhile
        if self.fetches:
            return self.fetches.pop(0)
        self.drained.set()
        await asyncio.Event().wait()

    def assignment(self) -> set:
        return set(self.held)

    async def commit(self, offsets: dict) -> None:
        if self.refuse_commits:
            self.refuse_commits -= 1
            raise CommitFailedError("the group has already rebalanced")
        assert set(offsets) <= self.held, "aiokafka refuses to commit a partition the member does not hold"
        self.commits.append(dict(offsets))

    async def stop(self) -> None:
        self.stopped = True


async def acknowledged() -> None:
    """A batch's delivery the broker acknowledged at once."""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reader(handle, on_failure=None, clock=None) -> InputReader:
    async def fail(exc):
        raise AssertionError(f"unexpected failure: {exc!r}")

    return InputReader(Settings(commit_seconds=2.0), FetchPace(0.01, 1.0), KINDS, handle,
                       on_failure or fail, monotonic=clock or Clock())


async def run_until_drained(r: InputReader, consumer: ScriptedConsumer) -> None:
    task = asyncio.ensure_future(r.run(consumer))
    await asyncio.wait([task, asyncio.ensure_future(consumer.drained.wait())], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


TP0, TP1, TT0 = TopicPartition(INCIDENTS, 0), TopicPartition(INCIDENTS, 1), TopicPartition(TRANSFERS, 0)


def test_each_fetch_goes_to_its_kind_in_order_and_is_committed_on_the_clock_and_on_the_way_out():
    handled = []
    clock = Clock()

    async def handle(records, kind):
        handled.append((kind, [(r.partition, r.offset) for r in records]))
        clock.now += 0.75  # each kind's batch takes time: the second fetch crosses commit_seconds
        return acknowledged()

    consumer = ScriptedConsumer([{TP0: [rec(INCIDENTS, 0, 5), rec(INCIDENTS, 0, 6)], TT0: [rec(TRANSFERS, 0, 0)]},
                                 {TP1: [rec(INCIDENTS, 1, 9)]},
                                 {TP0: [rec(INCIDENTS, 0, 7)]}])
    asyncio.run(run_until_drained(reader(handle, clock=clock), consumer))
    assert handled == [("incidents", [(0, 5), (0, 6)]), ("arms_transfers", [(0, 0)]),
                       ("incidents", [(1, 9)]), ("incidents", [(0, 7)])]
    # at 2.25 s the first fetch, delivered by then (the second's delivery still in flight); the
    # second and third on the way out; each the next offset to read
    assert consumer.commits == [{TP0: 7, TT0: 1}, {TP1: 10, TP0: 8}]
    assert consumer.stopped


def test_a_batch_that_fails_is_never_committed_and_the_failure_is_reported():
    failures = []

    async def handle(records, kind):
        if records[0].offset == 3:
            raise ValueError("bad batch")
        return acknowledged()

    async def on_failure(exc):
        failures.append(exc)

    consumer = ScriptedConsumer([{TP0: [rec(INCIDENTS, 0, 2)]}, {TP0: [rec(INCIDENTS, 0, 3)]}])
    with pytest.raises(ValueError):
        asyncio.run(reader(handle, on_failure).run(consumer))
    assert [str(e) for e in failures] == ["bad batch"]
    assert consumer.commits == [{TP0: 3}]  # the first batch only: the failed one is read again
    assert consumer.stopped


def test_a_fetch_whose_second_kind_fails_drops_the_first_kinds_delivery_unawaited_without_a_warning():
    """The arms transfers of a fetch fail after its incidents were handed on: the whole fetch is
    read again, and the incidents' delivery, never awaited, is closed rather than left to the
    garbage collector's "never awaited" warning."""
    import gc
    import warnings

    closed = []

    async def delivery():
        closed.append("awaited")  # never runs: the delivery is closed unawaited

    async def handle(records, kind):
        if kind == "arms_transfers":
            raise ValueError("bad transfers")
        d = delivery()
        closed.append(d)
        return d

    async def on_failure(exc):
        pass

    consumer = ScriptedConsumer([{TP0: [rec(INCIDENTS, 0, 2)], TT0: [rec(TRANSFERS, 0, 0)]}])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError):
            asyncio.run(reader(handle, on_failure).run(consumer))
        gc.collect()
    assert len(closed) == 1 and closed[0].cr_frame is None  # closed, never started
    assert not [w for w in caught if "never awaited" in str(w.message)]
    assert consumer.commits == []


def test_a_revocation_waits_for_the_batch_in_hand_then_commits_it():
    order = []

    async def main():
        release = asyncio.Event()

        async def handle(records, kind):
            order.append("batch starts")
            await release.wait()
            order.append("batch ends")
            return acknowledged()

        consumer = ScriptedConsumer([{TP1: [rec(INCIDENTS, 1, 0), rec(INCIDENTS, 1, 1)]}])
        r = reader(handle)
        task = asyncio.ensure_future(r.run(consumer))
        while not order:
            await asyncio.sleep(0)
        revoking = asyncio.ensure_future(consumer.listener.on_partitions_revoked({TP1}))
        await asyncio.sleep(0)
        assert not revoking.done() and consumer.commits == []  # held by the batch in hand
        release.set()
        await revoking
        order.append("revoked")
        assert consumer.commits == [{TP1: 2}]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert consumer.commits == [{TP1: 2}]  # nothing handled since: nothing more to commit

    asyncio.run(main())
    assert order == ["batch starts", "batch ends", "revoked"]


def test_a_stop_waits_for_the_batch_in_hand_commits_it_and_handles_nothing_fetched_after():
    """The worker stops its producer after this: a fetch handled then would fail and be committed."""
    handled = []

    async def main():
        release = asyncio.Event()

        async def handle(records, kind):
            handled.append([r.offset for r in records])
            await release.wait()
            return acknowledged()

        consumer = ScriptedConsumer([{TP0: [rec(INCIDENTS, 0, 0), rec(INCIDENTS, 0, 1)]},
                                     {TP0: [rec(INCIDENTS, 0, 2)]}])
        r = reader(handle)
        task = asyncio.ensure_future(r.run(consumer))
        while not handled:
            await asyncio.sleep(0)
        stopping = asyncio.ensure_future(r.stop())
        await asyncio.sleep(0)
        assert not stopping.done() and consumer.commits == []  # held by the batch in hand
        release.set()
        await stopping
        assert consumer.commits == [{TP0: 2}]
        await asyncio.wait_for(task, 5)  # the reader ends on its own at its next fetch, and leaves
        assert handled == [[0, 1]] and consumer.commits == [{TP0: 2}] and consumer.stopped

    asyncio.run(main())


def test_joined_once_the_group_assigns():
    async def main():
        consumer = ScriptedConsumer([])
        r = reader(lambda records, kind: None)
        task = asyncio.ensure_future(r.run(consumer))
        await consumer.drained.wait()
        assert not r.joined
        await consumer.listener.on_partitions_assigned(set())  # more workers than partitions: none
        assert r.joined
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_reader_asked_to_join_early_reads_nothing_until_it_runs_then_runs_on_the_same_member():
    """The worker asks the group to join as it starts and runs the reader after Faust's recovery:
    one member, started and subscribed once, nothing fetched or handled in between."""
    handled = []

    async def handle(records, kind):
        handled.append([r.offset for r in records])
        return acknowledged()

    class Counting(ScriptedConsumer):
        starts = subscribes = polls = 0

        async def start(self):
            self.starts += 1

        def subscribe(self, topics, listener):
            self.subscribes += 1
            super().subscribe(topics, listener)

        async def getmany(self, timeout_ms, max_records):
            self.polls += 1
            return await super().getmany(timeout_ms, max_records)

    async def main():
        consumer = Counting([{TP0: [rec(INCIDENTS, 0, 4)]}])
        r = reader(handle)
        await r.join(consumer)
        await consumer.listener.on_partitions_assigned({TP0})
        assert r.joined and consumer.polls == 0 and handled == []
        task = asyncio.ensure_future(r.run(Counting([])))  # the member already joined is the one that reads
        await consumer.drained.wait()
        await r.leave_if_not_run()  # a running reader leaves on its own way out
        assert not consumer.stopped
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (consumer.starts, consumer.subscribes) == (1, 1) and handled == [[4]]
        assert consumer.stopped and consumer.commits == [{TP0: 5}]

    asyncio.run(main())


def test_a_reader_that_joined_and_never_ran_leaves_the_group_when_the_worker_stops():
    async def main():
        consumer = ScriptedConsumer([])
        r = reader(lambda records, kind: None)
        await r.join(consumer)
        assert r.pace.consumers == [consumer] and consumer._fetch_max_wait_ms == 10  # the pace sets its wait
        r.pace.on_tick(100.0, idle_after=10.0)
        assert consumer._fetch_max_wait_ms == 1000
        await r.leave_if_not_run()
        assert consumer.stopped and r.pace.consumers == []

    asyncio.run(main())


def test_a_commit_the_group_refuses_is_a_warning_and_reading_goes_on(caplog):
    """A member the group took for dead (a pause past the session timeout) cannot commit: what it
    handled is read again by the partitions' next owner. The worker must not stop over it."""
    clock = Clock()

    async def handle(records, kind):
        clock.now += 2.0  # every batch reaches the commit clock
        return acknowledged()

    consumer = ScriptedConsumer([{TP0: [rec(INCIDENTS, 0, 0)]}, {TP0: [rec(INCIDENTS, 0, 1)]}], refuse_commits=1)
    with caplog.at_level("WARNING", logger="borderwatch.ingest"):
        asyncio.run(run_until_drained(reader(handle, clock=clock), consumer))
    assert consumer.commits == [{TP0: 2}]  # the refused one is gone; the next batch commits as usual
    assert "moved on before this member committed" in caplog.text
    assert consumer.stopped


def test_offsets_of_partitions_gone_to_another_member_are_left_out_of_the_commit(caplog):
    clock = Clock()
    consumer = ScriptedConsumer([{TP0: [rec(INCIDENTS, 0, 4)], TP1: [rec(INCIDENTS, 1, 8)]}])

    async def handle(records, kind):
        consumer.held.discard(TP1)  # the group gave TP1 away while the batch was in hand
        clock.now += 2.0
        return acknowledged()

    with caplog.at_level("WARNING", logger="borderwatch.ingest"):
        asyncio.run(run_until_drained(reader(handle, clock=clock), consumer))
    assert consumer.commits == [{TP0: 5}]
    assert "1 input partitions went to another member" in caplog.text



class Polling(ScriptedConsumer):
    """Hands out ``fetches`` in turn, and an empty fetch whenever it has none (a fetch wait that
    ran out): the reader looks at its deliveries and its commit clock again."""

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        await asyncio.sleep(0)
        return self.fetches.pop(0) if self.fetches else {}


class Deliveries:
    """Batch deliveries the test acknowledges (or fails) by hand, by the order they were handled."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future] = []
        #: each batch handled: its (partition, first offset)
        self.handled: list[tuple[int, int]] = []

    async def handle(self, records, kind):
        self.handled.append((records[0].partition, records[0].offset))
        self.pending.append(asyncio.get_running_loop().create_future())
        return self.pending[-1]

    def ack(self, *batches: int) -> None:
        for n in batches:
            self.pending[n].set_result(None)


async def turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def fetches(*offsets: tuple[TopicPartition, int]) -> list[dict]:
    return [{tp: [rec(tp.topic, tp.partition, offset)]} for tp, offset in offsets]


async def cancelled(task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_reader_reads_on_while_batches_await_delivery_and_commits_only_delivered_ones_in_order():
    """The next fetch is handled while the broker has not acknowledged the last one; a batch is
    committed only once it and every batch read before it are delivered."""

    async def main():
        d, clock = Deliveries(), Clock()
        consumer = Polling(fetches((TP0, 0), (TP0, 1), (TP0, 2)))
        task = asyncio.ensure_future(reader(d.handle, clock=clock).run(consumer))
        await turns()
        assert d.handled == [(0, 0), (0, 1), (0, 2)]  # all read, none delivered yet
        clock.now = 5.0  # past the commit clock
        d.ack(1)  # delivered out of order: the first is still awaited
        await turns()
        assert consumer.commits == []  # the clock came round, with nothing delivered to commit
        d.ack(0)
        await turns()
        clock.now = 10.0
        await turns()
        assert consumer.commits == [{TP0: 2}]  # the first two, in order; the third still in flight
        await cancelled(task)

    asyncio.run(main())


def test_with_more_batches_in_flight_than_allowed_the_reader_waits_for_the_oldest():
    async def main():
        d = Deliveries()
        consumer = Polling(fetches(*((TP0, i) for i in range(MAX_IN_FLIGHT + 3))))
        task = asyncio.ensure_future(reader(d.handle).run(consumer))
        await turns(4 * MAX_IN_FLIGHT)
        assert len(d.handled) == MAX_IN_FLIGHT + 1  # the last one handled waits for the oldest's delivery
        d.ack(0)
        await turns(4 * MAX_IN_FLIGHT)
        assert len(d.handled) == MAX_IN_FLIGHT + 2
        await cancelled(task)

    asyncio.run(main())


def test_a_delivery_that_fails_is_reported_and_neither_it_nor_a_later_batch_is_committed():
    failures = []

    async def on_failure(exc):
        failures.append(exc)

    async def main():
        d = Deliveries()
        consumer = Polling(fetches((TP0, 0), (TP0, 1), (TP0, 2)))
        task = asyncio.ensure_future(reader(d.handle, on_failure).run(consumer))
        await turns()
        d.ack(0)
        d.pending[1].set_exception(RuntimeError("the broker refused the batch"))
        d.ack(2)
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(task, 5)
        assert [str(e) for e in failures] == ["the broker refused the batch"]
        # the first only, on the way out: the failed one and the one after it are read again
        assert consumer.commits == [{TP0: 1}] and consumer.stopped

    asyncio.run(main())


def test_a_revocation_and_a_stop_wait_for_the_batches_in_flight_then_commit_them():
    async def main():
        d = Deliveries()
        consumer = Polling(fetches((TP0, 0), (TP1, 0)))
        r = reader(d.handle)
        task = asyncio.ensure_future(r.run(consumer))
        await turns()
        revoking = asyncio.ensure_future(consumer.listener.on_partitions_revoked({TP0}))
        await turns()
        assert not revoking.done() and consumer.commits == []  # the deliveries are awaited first
        d.ack(0, 1)
        await revoking
        assert consumer.commits == [{TP0: 1, TP1: 1}]
        consumer.fetches.extend(fetches((TP1, 1)))
        await turns()
        stopping = asyncio.ensure_future(r.stop())
        await turns()
        assert not stopping.done() and len(d.handled) == 3
        d.ack(2)
        await stopping
        assert consumer.commits == [{TP0: 1, TP1: 1}, {TP1: 2}]
        await asyncio.wait_for(task, 5)  # the reader ends on its own at its next fetch, and leaves
        assert consumer.stopped

    asyncio.run(main())
