"""take_batches on a real Faust stream (an agent's test context, no broker): a batch is handed over
at most ``within`` after its first event or as soon as it is full, never larger than ``max_``, every
event in order, each acknowledged only once the agent has handled its batch; and an agent with
nothing to take is not woken."""

import asyncio

import faust

from streams.batches import Turns, take_batches

#: A bound on waiting for what must happen at once: the test fails past it, it never waits it out.
PATIENCE = 10.0


def agent_app(name: str) -> faust.App:
    """An app for an agent's test context: no broker is reached."""
    return faust.App(name, broker="kafka://127.0.0.1:9", store="memory://", web_enabled=False)


def taker(max_: int, within: float):
    app = agent_app("test-batches")
    seen: list[list[int]] = []
    acked_when_handed: list[list[bool]] = []
    handed = asyncio.Event()

    @app.agent()
    async def agent(stream):
        async for events in take_batches(stream, max_, within):
            acked_when_handed.append([e.message.acked for e in events])
            seen.append([e.value for e in events])
            handed.set()

    return agent, seen, acked_when_handed, handed


async def until(cond) -> None:
    async def poll():
        while not cond():
            await asyncio.sleep(0.001)
    await asyncio.wait_for(poll(), PATIENCE)


def test_a_full_batch_goes_at_once_and_no_batch_is_larger_than_max():
    async def run():
        # a window far longer than the test: only "full" can hand these batches over
        agent, seen, acked, _ = taker(max_=3, within=3600)
        async with agent.test_context() as ctx:
            for i in range(6):
                await ctx.put(i)
            await until(lambda: sum(map(len, seen)) == 6)
        assert seen == [[0, 1, 2], [3, 4, 5]]
        assert not any(a for batch in acked for a in batch)  # none acknowledged before it was handled

    asyncio.run(run())


def test_a_lone_event_waits_at_most_the_window_from_its_arrival():
    async def run():
        agent, seen, _, handed = taker(max_=1000, within=0.05)
        async with agent.test_context() as ctx:
            loop = asyncio.get_running_loop()
            # idle first, for many windows: a window counted from the last wake-up would be under way
            await asyncio.sleep(0.23)
            t0 = loop.time()
            await ctx.put("one")
            await asyncio.wait_for(handed.wait(), PATIENCE)
            waited = loop.time() - t0
        assert seen == [["one"]]
        # a window that started at the event: about 0.05 s, never less
        assert 0.045 <= waited < 0.5

    asyncio.run(run())


def test_events_of_a_handled_batch_are_acknowledged_before_the_next_is_handed_over():
    async def run():
        agent, seen, _, _ = taker(max_=2, within=3600)
        events = []
        async with agent.test_context() as ctx:
            for i in range(4):
                events.append(await ctx.put(i))
            await until(lambda: sum(map(len, seen)) == 4)
            await until(lambda: events[0].message.acked and events[1].message.acked)
            assert events[0].message.acked and events[1].message.acked

    asyncio.run(run())


def batch_agent(name: str, max_: int, handle):
    """An agent that takes batches of ``max_`` (no window) and awaits ``handle(batch)`` on each; the
    event is set as each batch is handed over."""
    app = agent_app(name)
    handed = asyncio.Event()

    @app.agent()
    async def agent(stream):
        async for batch in take_batches(stream, max_, 3600):
            handed.set()
            await handle(batch)

    return agent, handed


def test_a_batch_cut_short_by_a_stop_is_not_acknowledged():
    """A stop (or a crash's stop) while a batch is in hand closes the generator: the consumer then
    commits what was acknowledged, so acknowledging the unfinished batch would skip it for good."""
    async def never_done(batch):
        await asyncio.Event().wait()  # handling never ends: the stop cuts it short

    async def run():
        agent, in_hand = batch_agent("test-batches-stop", 2, never_done)
        async with agent.test_context() as ctx:
            events = [await ctx.put(i) for i in range(2)]
            await asyncio.wait_for(in_hand.wait(), PATIENCE)
        assert not any(e.message.acked for e in events)

    asyncio.run(run())


def test_events_the_agent_leaves_unhandled_are_not_acknowledged():
    async def leave_third(batch):
        batch.leave(batch[2])

    async def run():
        agent, handed = batch_agent("test-batches-leave", 3, leave_third)
        async with agent.test_context() as ctx:
            events = [await ctx.put(i) for i in range(6)]  # two full batches, each leaving its third
            await asyncio.wait_for(handed.wait(), PATIENCE)
            await until(lambda: all(events[i].message.acked for i in (0, 1, 3, 4)))
            assert not events[2].message.acked and not events[5].message.acked

    asyncio.run(run())


def test_turns_give_the_loop_one_turn_per_every_units_of_work_wherever_they_fall():
    """The aggregate's long batches: another task runs once per ``every`` records handled, whether
    the records come one envelope at a time or a hundred in one."""
    async def run(spent: list[int]) -> tuple[list[int], int]:
        turns, ran, other_ran = Turns(100), [], 0

        async def other():
            nonlocal other_ran
            while True:
                other_ran += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(other())
        await asyncio.sleep(0)
        for units in spent:
            before = other_ran
            await turns.spend(units)
            ran.append(other_ran - before)
        task.cancel()
        return ran, turns.given

    ran, given = asyncio.run(run([1] * 250))
    assert given == 2 and [i for i, r in enumerate(ran) if r] == [99, 199]
    ran, given = asyncio.run(run([150, 30, 70, 1]))
    assert given == 2 and ran == [1, 0, 1, 0]
