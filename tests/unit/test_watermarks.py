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
