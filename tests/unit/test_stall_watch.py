"""The stall watch: a worker that processes nothing while its rebalance and recovery stand still fails."""

from types import SimpleNamespace

from streams.app import StallWatch, processing, progress, settled


def test_fires_once_nothing_moved_for_the_limit():
    watch = StallWatch(60)
    stuck = ("rebalancing", 3)
    assert watch.observe(0, False, stuck) is None
    assert watch.observe(59.9, False, stuck) is None
    assert watch.observe(60, False, stuck) == 60
    assert watch.observe(75, False, stuck) == 75


def test_progress_starts_the_clock_again():
    watch = StallWatch(60)
    assert watch.observe(0, False, ("recovering", 10)) is None
    assert watch.observe(50, False, ("recovering", 900)) is None  # offsets recovered: a slow recovery, not a stall
    assert watch.observe(100, False, ("recovering", 900)) is None
    assert watch.observe(110, False, ("recovering", 900)) == 60


def test_settling_clears_what_it_saw():
    watch = StallWatch(60)
    assert watch.observe(0, False, ("rebalancing", 1)) is None
    assert watch.observe(30, True, ("settled",)) is None
    assert watch.observe(40, False, ("rebalancing", 1)) is None  # the same standstill as before, but newly begun
    assert watch.observe(99, False, ("rebalancing", 1)) is None
    assert watch.observe(100, False, ("rebalancing", 1)) == 60


def test_a_settled_worker_never_stalls():
    watch = StallWatch(1)
    assert all(watch.observe(t, True, ("same",)) is None for t in range(0, 1000, 5))


def _app(*, rebalancing=False, completed=True, assignment=("tp",), joined=True, offsets=None, count=1):
    completed_event = SimpleNamespace(is_set=lambda: completed)
    recovery = SimpleNamespace(completed=completed_event, in_recovery=not completed,
                               active_offsets=dict(offsets or {}))
    return SimpleNamespace(rebalancing=rebalancing, rebalancing_count=count,
                           tables=SimpleNamespace(recovery=recovery),
                           consumer=SimpleNamespace(assignment=lambda: set(assignment)),
                           ingest=SimpleNamespace(joined=joined))


def test_processing_needs_partitions_state_and_both_groups():
    assert processing(_app())
    assert not processing(_app(rebalancing=True))
    assert not processing(_app(completed=False))
    assert not processing(_app(assignment=()))
    assert not processing(_app(joined=False))
    assert not processing(SimpleNamespace())  # before start-up: no consumer yet


def test_a_worker_without_partitions_is_settled_not_stalled():
    idle = _app(assignment=())  # more workers than partitions: nothing of its own to process
    assert settled(idle) and not processing(idle)
    assert not settled(_app(rebalancing=True)) and not settled(_app(completed=False))
    assert not settled(_app(joined=False)) and not settled(SimpleNamespace())


def test_progress_tells_recovered_offsets_and_rebalances_apart():
    base = progress(_app(completed=False, offsets={("changelog", 4): 10}))
    assert progress(_app(completed=False, offsets={("changelog", 4): 10})) == base
    assert progress(_app(completed=False, offsets={("changelog", 4): 11})) != base
    assert progress(_app(completed=False, offsets={("changelog", 4): 10}, count=2)) != base
    assert progress(_app(completed=False, offsets={("changelog", 4): 10}, joined=False)) != base
    assert progress(SimpleNamespace()) == progress(SimpleNamespace())
