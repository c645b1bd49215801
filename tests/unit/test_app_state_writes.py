"""TouchedStates: one table write per touched key, each under that key's last event."""

from types import SimpleNamespace

from faust.streams import current_event

from streams.app import TouchedStates, as_current_event
from streams.pipeline import SegmentState


class FakeEvent:
    """Just what a table write reads of a Faust event (Faust holds events by weak reference)."""

    def __init__(self, partition: int, offset: int) -> None:
        self.message = SimpleNamespace(partition=partition, offset=offset)


event = FakeEvent


class RecordingTable(dict):
    """Records which event Faust's table would take the changelog partition from."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, object]] = []

    def __setitem__(self, key, value) -> None:
        self.writes.append((key, current_event()))
        super().__setitem__(key, value)


def test_each_key_is_written_once_under_its_own_last_event():
    table = RecordingTable()
    batch = TouchedStates(table)
    e1, e2, e3 = event(3, 10), event(5, 11), event(3, 12)
    batch.touch("KGZ-TJK-01", e1).level = 1
    batch.touch("KGZ-UZB-02", e2)
    batch.touch("KGZ-TJK-01", e3)
    batch.write_back()
    assert table.writes == [("KGZ-TJK-01", e3), ("KGZ-UZB-02", e2)]
    assert SegmentState.from_json(table["KGZ-TJK-01"], "KGZ-TJK-01").level == 1


def test_the_current_event_is_restored_after_a_write():
    outer = event(1, 1)
    with as_current_event(outer):
        with as_current_event(event(2, 2)):
            assert current_event().message.partition == 2
        assert current_event() is outer
    assert current_event() is None


def test_write_back_leaves_the_stream_alone():
    # take_events' buffer-filler reads stream.current_event after waiting for our batch;
    # write_back must not take the stream at all, let alone change that attribute.
    import inspect

    assert list(inspect.signature(TouchedStates.write_back).parameters) == ["self"]
