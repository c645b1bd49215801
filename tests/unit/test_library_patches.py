"""The worker's patches of Faust and aiokafka wrap the library's own method however often installed."""

import functools

import pytest

from streams.library_patches import unpatched


def _targets():
    from aiokafka.consumer.group_coordinator import GroupCoordinator
    from faust.transport.consumer import ThreadDelegateConsumer
    from faust.transport.drivers import aiokafka as driver

    from streams import consumer_seek, group_leave, log_end

    return [(GroupCoordinator, "_maybe_leave_group", group_leave.install),
            (ThreadDelegateConsumer, "_seek", consumer_seek.install),
            (driver.AIOKafkaConsumerThread, "_highwaters", lambda: log_end.install("127.0.0.1:9"))]


def test_unpatched_is_the_function_a_wrapper_wraps_or_the_attribute_itself():
    class Library:
        def method(self):
            return "library"

    own = Library.method
    assert unpatched(Library, "method") is own

    @functools.wraps(own)
    def wrapper(self):
        return "patched " + own(self)

    Library.method = wrapper
    assert unpatched(Library, "method") is own
    assert Library().method() == "patched library"


@pytest.mark.parametrize("index", range(3), ids=["group_leave", "consumer_seek", "log_end"])
def test_a_patch_installed_twice_wraps_the_library_method_once(monkeypatch, index):
    owner, name, install = _targets()[index]
    library_own = unpatched(owner, name)
    monkeypatch.setattr(owner, name, library_own)  # restored after the test, whatever installed it before
    install()
    first = getattr(owner, name)
    install()  # a second worker in the same process
    second = getattr(owner, name)
    assert first is not library_own and second is not first
    assert second.__wrapped__ is library_own
