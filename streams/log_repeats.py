"""One line a minute for a Kafka client's repeated complaint, not one per attempt.

While the broker does not answer, aiokafka logs every failed connection attempt and every failed
fetch of every client at ERROR, several a second from each of a worker's clients (its consumers,
its producer, the followers of its topics), which fills a disk and buries the one line that says
what is wrong ("the broker has not answered for ..."; docs/RELIABILITY.md). The first of each
kind still shows at once; the next one a window later carries how many were left out.

Only warnings and errors are held back. Info and debug lines show only when an engineer asked for
them (``--log-level info``), and then every one counts: a group's second "(Re-)joining group" of
the minute is how a rebalance is followed, and holding it back hid exactly that.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

#: The Kafka clients' loggers (aiokafka, and kafka-python for the notice log's producer).
CLIENT_LOGGERS = ("aiokafka", "kafka")
WINDOW_SECONDS = 60.0


class RepeatFilter(logging.Filter):
    """Lets a warning or an error through if no record of the same logger and message template
    (its text before the arguments are put in: a node id or an error differs from one attempt to
    the next) went through within ``window`` seconds; the one that goes through next says how many
    were held back. Info and debug records always go through."""

    def __init__(self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window, self.clock = window, clock
        self._shown: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        shown = self._shown.get(key)
        if shown is not None and now - shown < self.window:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._shown[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like it in the last {self.window:.0f} s, not shown]"
        return True


def quiet_repeats(prefixes: tuple[str, ...] = CLIENT_LOGGERS, window: float = WINDOW_SECONDS) -> RepeatFilter:
    """Put one :class:`RepeatFilter` on every logger under ``prefixes`` that exists now (a logger's
    filter sees only its own records, not its children's, so each gets it). Call after the clients'
    modules are imported."""
    repeat = RepeatFilter(window)
    names = [name for name in list(logging.Logger.manager.loggerDict)
             if any(name == p or name.startswith(p + ".") for p in prefixes)]
    for name in {*prefixes, *names}:
        logging.getLogger(name).addFilter(repeat)
    return repeat
