"""A Kafka client's repeated complaint shows once a window, with how many were held back
(streams/log_repeats.py)."""

from __future__ import annotations

import logging

from streams.log_repeats import RepeatFilter, quiet_repeats


def record(name: str, msg: str, *args, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_the_first_of_a_kind_shows_the_rest_of_its_window_are_counted_and_told_with_the_next():
    now = [0.0]
    repeat = RepeatFilter(window=60.0, clock=lambda: now[0])
    first = record("aiokafka", "Unable connect to node with id %s: %s", 111, "refused")
    assert repeat.filter(first) and first.getMessage() == "Unable connect to node with id 111: refused"
    for t in (0.1, 10.0, 59.9):
        now[0] = t
        assert not repeat.filter(record("aiokafka", "Unable connect to node with id %s: %s", 112, "timeout"))
    now[0] = 60.0
    later = record("aiokafka", "Unable connect to node with id %s: %s", 111, "refused")
    assert repeat.filter(later)
    assert later.getMessage() == ("Unable connect to node with id 111: refused "
                                  "[3 more like it in the last 60 s, not shown]")
    now[0] = 200.0
    quiet = record("aiokafka", "Unable connect to node with id %s: %s", 111, "refused")
    assert repeat.filter(quiet) and "more like it" not in quiet.getMessage()  # nothing was held back


def test_kinds_are_told_apart_by_logger_and_message_not_by_their_arguments():
    repeat = RepeatFilter(window=60.0, clock=lambda: 0.0)
    assert repeat.filter(record("aiokafka", "Unable to update metadata from %s", [111]))
    assert repeat.filter(record("aiokafka.consumer.fetcher", "Unable to update metadata from %s", [111]))
    assert repeat.filter(record("aiokafka", "Failed fetch messages from %s: %s", 111, "x"))
    assert not repeat.filter(record("aiokafka", "Unable to update metadata from %s", [222]))


def test_info_lines_all_show_only_warnings_and_errors_are_held_back():
    # Info lines show only when asked for, and then a group's every rejoin is what is being followed.
    repeat = RepeatFilter(window=60.0, clock=lambda: 0.0)
    for _ in range(3):
        assert repeat.filter(record("aiokafka.consumer.group_coordinator", "(Re-)joining group %s", "g",
                                    level=logging.INFO))
    assert repeat.filter(record("aiokafka", "Heartbeat failed for group %s", "g", level=logging.WARNING))
    assert not repeat.filter(record("aiokafka", "Heartbeat failed for group %s", "h", level=logging.WARNING))


def test_every_client_logger_gets_the_filter_and_other_loggers_do_not():
    logging.getLogger("aiokafka.consumer.fetcher")
    logging.getLogger("kafka.conn")
    logging.getLogger("aiokafkaesque")  # a name that merely starts alike
    repeat = quiet_repeats()
    try:
        for name in ("aiokafka", "aiokafka.consumer.fetcher", "kafka", "kafka.conn"):
            assert repeat in logging.getLogger(name).filters, name
        assert repeat not in logging.getLogger("aiokafkaesque").filters
        assert repeat not in logging.getLogger("borderwatch.follow").filters
    finally:
        for logger in [logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict)] + [logging.root]:
            if isinstance(logger, logging.Logger) and repeat in logger.filters:
                logger.removeFilter(repeat)
