"""One exception root for borderwatch, and the typed errors the edges act on.

Edges (the ingest agent, the CLI) catch :class:`InvalidEvent` and turn it into a
dead-letter record or a ``file:line: field: reason`` message; nothing else is
expected to be caught deep inside the pipeline.
"""

from __future__ import annotations


class BorderwatchError(Exception):
    """Root of every error borderwatch raises on purpose."""


class InvalidEvent(BorderwatchError):
    """An input record that cannot become an event. The stream skips it."""

    def __init__(self, reason: str, field: str | None = None, *, code: str = "invalid") -> None:
        self.reason = reason
        self.field = field
        #: short, bounded machine label (used as a metric label and in dead letters)
        self.code = code
        super().__init__(f"{field}: {reason}" if field else reason)


class SourceRowError(BorderwatchError):
    """A bad row in a source file, located by file, line and field."""

    def __init__(self, path: str, line: int, field: str | None, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, reason
        where = f"{path}:{line}"
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


class ConfigError(BorderwatchError):
    """Settings or a configuration file that cannot be used; the message says the fix."""


class BrokerError(BorderwatchError):
    """The embedded broker cannot start or cannot be reached; the message says the fix."""
