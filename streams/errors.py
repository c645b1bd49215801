"""The typed errors the edges act on, under the one root (borderwatch.errors.BorderwatchError).

Edges (ingest, the CLI) catch :class:`InvalidEvent` and turn it into a
dead-letter record or a ``file:line: field: reason`` message; nothing else is
expected to be caught deep inside the pipeline.
"""

from __future__ import annotations

from borderwatch.errors import BorderwatchError
from streams.limits import MAX_REASON_CHARS


def bounded(text: str | None, limit: int = MAX_REASON_CHARS) -> str | None:
    """``text`` cut to ``limit`` characters: a reason or a field name can quote hostile input."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit - 25]}... ({len(text)} characters)"


class InvalidEvent(BorderwatchError):
    """An input record that cannot become an event. The stream skips it."""

    def __init__(self, reason: str, field: str | None = None, *, code: str = "invalid") -> None:
        # Bounded here, once: reasons quote values, and field names can be the input's own keys.
        self.reason = bounded(reason)
        self.field = bounded(field)
        #: short, bounded machine label (used as a metric label and in dead letters)
        self.code = code
        super().__init__(f"{self.field}: {self.reason}" if field else self.reason)


class SourceRowError(BorderwatchError):
    """A bad row in a source file, located by file, line and field: ``FILE:LINE: FIELD: reason``.
    Line 0 is the file as a whole (empty, UTF-16, unreadable), said as ``FILE: reason``."""

    def __init__(self, path: str, line: int, field: str | None, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, bounded(field), bounded(reason)
        field, reason = self.field, self.reason
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


class NothingUsable(BorderwatchError):
    """Input files that gave no usable record; the row errors reported before say why."""


class ConfigError(BorderwatchError):
    """Settings or a configuration file that cannot be used; the message says the fix."""


class BrokerError(BorderwatchError):
    """The embedded broker cannot start or cannot be reached; the message says the fix."""


class WorkerStalled(BorderwatchError):
    """The worker processed nothing while its rebalance and table recovery made no progress
    (streams.app.StallWatch): it exits for its supervisor to restart it."""
