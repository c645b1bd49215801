from streams.watermarks import PartitionIdleness

SOURCES = {"in/0", "in/1"}


def test_no_advance_until_every_input_partition_has_ticked():
    w = PartitionIdleness(SOURCES, idle_seconds=10)
    assert w.on_tick(0, "in/0", 100.0) is None
    assert w.on_tick(0, "in/0", 200.0) is None  # in/1 never ticked: its input may still be coming
    assert w.on_tick(0, "in/1", 100.0) is None  # busy bound = 200, watermark = 100
    assert w.on_tick(0, "in/1", 205.0) is None
    assert w.on_tick(0, "in/0", 211.0) is None  # watermark 205
    assert w.on_tick(0, "in/1", 212.0) == 211.0


def test_input_restarts_the_quiet_period():
    w = PartitionIdleness(SOURCES, idle_seconds=10)
    for s in SOURCES:
        w.on_tick(3, s, 0.0)
    w.on_input(3)  # produced at some time before the next tick of its input partition
    assert w.on_tick(3, "in/0", 20.0) is None
    assert w.on_tick(3, "in/1", 21.0) is None  # busy bound = 21: it may have been produced at 20.9
    assert w.on_tick(3, "in/0", 30.0) is None  # watermark 21
    assert w.on_tick(3, "in/1", 31.0) is None  # watermark 30: 9 s of quiet
    assert w.on_tick(3, "in/0", 32.0) == 31.0  # watermark 31: 10 s
    w.on_input(3)
    assert w.on_tick(3, "in/1", 50.0) is None  # quiet period starts again


def test_partitions_are_independent_and_old_ticks_do_not_move_marks_back():
    w = PartitionIdleness(SOURCES, idle_seconds=5)
    for s in SOURCES:
        w.on_tick(1, s, 50.0)
        w.on_tick(2, s, 50.0)
    w.on_input(2)
    assert w.on_tick(1, "in/0", 40.0) is None  # an older tick from another worker's clock
    assert w.watermark(1) == 50.0
    for s in sorted(SOURCES):
        w.on_tick(1, s, 56.0)
        w.on_tick(2, s, 56.0)
    assert w.on_tick(1, "in/0", 56.0) == 56.0
    assert w.on_tick(2, "in/0", 56.0) is None  # its input was at most at 56


def test_a_partition_that_comes_back_after_a_rebalance_starts_over():
    """Marks from before a partition went away must not advance its backlog when it comes back."""
    sources = {"in/0", "in/1"}
    idle = PartitionIdleness(sources, idle_seconds=10)
    for t in (0.0, 20.0, 40.0):
        for s in sorted(sources):
            idle.on_tick(4, s, t)
    assert idle.on_tick(4, "in/0", 41.0) is not None  # idle long enough: may advance
    idle.forget()  # the partition went to another worker and came back with a backlog
    assert idle.on_tick(4, "in/0", 42.0) is None  # nothing is known any more: no advance
    assert idle.on_tick(4, "in/1", 42.0) is None


def test_a_snapshot_taken_up_elsewhere_gives_the_same_decisions():
    """A restarted worker, or the partition's next owner, takes up the idle clock where the last
    batch left it: the same ticks give the same advance as if nothing had happened."""
    def drive(w, ticks):
        return [w.on_tick(5, s, t) for s, t in ticks]

    before = [(s, t) for t in (0.0, 5.0) for s in sorted(SOURCES)]
    after = [(s, t) for t in (11.0, 12.0) for s in sorted(SOURCES)]
    first = PartitionIdleness(SOURCES, idle_seconds=10)
    drive(first, before)
    first.on_input(5)
    drive(first, [("in/0", 6.0), ("in/1", 6.0)])  # busy bound: 6
    snap = first.snapshot(5)
    import json
    taken_up = PartitionIdleness(SOURCES, idle_seconds=10)
    taken_up.restore(5, json.loads(json.dumps(snap)))  # as stored in the table
    assert drive(taken_up, after) == drive(first, after) == [None, None, None, None]
    more = [("in/0", 16.0), ("in/1", 16.5)]
    assert drive(taken_up, more) == drive(first, more) == [None, 16.0]
    # without it, a restarted worker starts over: the same ticks advance nothing yet
    fresh = PartitionIdleness(SOURCES, idle_seconds=10)
    assert drive(fresh, after + more) == [None] * 6


def test_input_read_again_after_a_restored_snapshot_makes_the_partition_busy_again():
    w = PartitionIdleness(SOURCES, idle_seconds=10)
    w.restore(2, {"marks": {"in/0": 100.0, "in/1": 100.0}, "busy": 50.0, "since_input": None})
    w.on_input(2)  # the backlog read again from the last commit
    assert w.on_tick(2, "in/0", 101.0) is None and w.on_tick(2, "in/1", 101.0) is None
    assert w.on_tick(2, "in/0", 111.0) is None  # busy bound 101: only 10 s past at 111 on both
    assert w.on_tick(2, "in/1", 111.0) == 111.0
