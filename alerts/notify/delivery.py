"""Deliver notices once: a persisted delivery log and the notify chain.

The chain follows Alertmanager's notify pipeline, one small stage each::

    mute?  ->  already in the log for (notice_id, sink)?  ->  send, retrying with backoff  ->  record

The log is append-only: a JSON-lines file (:class:`DeliveryLog`, fsync'd) or, in a
worker, a Kafka topic every worker reads (``streams/notice_log.py``). Every record is
durable before the chain moves on, so a restart, a retry, a second dispatch of the
same notice or another worker taking the notifier over finds the delivery and does
not send again. The one window
no log can close is a crash after a sink accepted a notice and before its
record reached the disk; there every sink carries the notice id as its own
idempotency key (webhook ``Idempotency-Key``, SMTP ``Message-ID``, the file
name, Alertmanager's label set), see docs/SINKS.md.

>>> log = DeliveryLog(tmp_path / "delivery.jsonl")                    # doctest: +SKIP
>>> Notifier(log, {"secretariat-KGZ": [FileSink(...)]}, renderer).notify(request)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from borderwatch.errors import BorderwatchError
from alerts.fsio import fsync_dir
from alerts.notify.model import Notice
from alerts.notify.notices import NoticeError, NoticeRequest
from alerts.notify.sinks.base import Sink, SinkError
from alerts.timefmt import iso, utcnow

log = logging.getLogger(__name__)
LOG_NAME = "notices/delivery-log.jsonl"


#: The field of a notice's first ``delivered`` record that holds the notice as rendered, so every
#: worker reading the log can serve it again (``alerts.notify.archive.NoticeDownloads``).
NOTICE_FIELD = "notice"
#: A notice larger than this as JSON is not put in the record (a notice is a few kilobytes; the
#: log's records must stay well under the broker's 1 MB message limit, and every worker keeps the
#: log's index in memory): only the worker that rendered it can serve it again.
LOGGED_NOTICE_MAX_BYTES = 128 * 1024


def logged_notice(notice: Notice) -> dict[str, Any] | None:
    """The notice as its first delivery record keeps it: without its acknowledgement link, which is
    the desk's authority and has no place in an audit log (the link is made again for the desk);
    None for one over :data:`LOGGED_NOTICE_MAX_BYTES`."""
    kept = replace(notice, ack_url="").to_dict()
    size = len(json.dumps(kept, separators=(",", ":")).encode())
    if size > LOGGED_NOTICE_MAX_BYTES:
        log.warning("notice %s is %d bytes: kept in this worker's archive only, not in the delivery log",
                    notice.notice_id, size)
        return None
    return kept


class DeliveryLogUnavailable(BorderwatchError):
    """The delivery log took no record: the broker stayed away longer than the log's patience, or
    the disk refused the write. Nothing about the notice is wrong: the notify stage holds it and
    tries it again (``streams.notify.NotifyStage``), where a bad notice is logged and passed over."""


class DeliveryIndex:
    """What the notify chain and the acknowledgements ask of a delivery log, over its records.

    Record kinds: ``delivered`` (with the receiver, group key and the notice's
    summary, from which the next notice to that receiver says what changed; a
    notice's first one also the notice itself, :data:`NOTICE_FIELD`),
    ``failed`` (one per failed attempt, for the audit) and ``ack``. Storage is the
    subclass's: :class:`DeliveryLog` (a file) or ``streams.notice_log.KafkaDeliveryLog``
    (a topic every worker reads). ``append`` returns once the record is durable, or raises
    :class:`DeliveryLogUnavailable`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._delivered: dict[tuple[str, str], dict[str, Any]] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._last_by_group: dict[tuple[str, str], dict[str, Any]] = {}
        self._first_delivery: dict[str, dict[str, Any]] = {}
        self._own_acks: dict[str, dict[str, Any]] = {}  # the desk's own (link or signed in)
        self._acks_on_behalf: dict[str, dict[str, Any]] = {}  # by the centre, for the desk

    def append(self, rec: dict[str, Any], *, patience: float | None = None) -> None:
        """Make ``rec`` durable; ``patience``: at most so many seconds of waiting for storage that is
        away (None: the log's own), then :class:`DeliveryLogUnavailable`."""
        raise NotImplementedError

    def _index(self, rec: dict[str, Any]) -> None:
        kind = rec["kind"]
        if kind == "delivered":
            key = (rec["notice_id"], rec["sink"])
            self._delivered.setdefault(key, rec)
            self._first_delivery.setdefault(rec["notice_id"], rec)
            self._last_by_group[(rec["receiver"], rec["group_key"])] = rec
        elif kind == "failed":
            key = (rec["notice_id"], rec["sink"])
            self._failures[key] = self._failures.get(key, 0) + 1
        elif kind == "ack":
            acks = self._acks_on_behalf if rec.get("on_behalf_of") else self._own_acks
            acks.setdefault(rec["notice_id"], rec)

    def delivered(self, notice_id: str, sink: str) -> dict[str, Any] | None:
        return self._delivered.get((notice_id, sink))

    def failures(self, notice_id: str, sink: str) -> int:
        return self._failures.get((notice_id, sink), 0)

    def first_delivery(self, notice_id: str) -> dict[str, Any] | None:
        """The earliest delivery of a notice to any sink: acknowledgement times count from it."""
        return self._first_delivery.get(notice_id)

    def previous_summary(self, receiver: str, group_key: str, notice_id: str) -> dict[str, Any] | None:
        """The summary of the last *other* notice delivered to this receiver for this group."""
        rec = self._last_by_group.get((receiver, group_key))
        if rec is None:
            return None
        if rec["notice_id"] != notice_id:
            return rec.get("summary")
        # This notice already went to one sink of the receiver: compare with what came before it.
        return rec.get("previous_summary")

    def ack(self, notice_id: str) -> dict[str, Any] | None:
        """The acknowledgement that stands: the desk's own if there is one, else one made on its behalf."""
        return self._own_acks.get(notice_id) or self._acks_on_behalf.get(notice_id)

    def own_ack(self, notice_id: str) -> dict[str, Any] | None:
        """The first acknowledgement by the notice's own desk."""
        return self._own_acks.get(notice_id)


class DeliveryLog(DeliveryIndex):
    """The delivery log as an append-only JSON-lines file. One process writes a log; it
    indexes the file once, at start. Every record is fsync'd before ``append`` returns."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._load()

    @classmethod
    def in_data_dir(cls, data_dir: str | os.PathLike[str]) -> "DeliveryLog":
        return cls(Path(data_dir) / LOG_NAME)

    def _load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        end = raw.rfind(b"\n") + 1
        if end < len(raw):
            # A crash mid-append left a torn last line: that record never committed. Cut it,
            # or the next append would glue onto it.
            with open(self.path, "r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
        for line in raw[:end].splitlines():
            if line.strip():
                self._index(json.loads(line))

    def append(self, rec: dict[str, Any], *, patience: float | None = None) -> None:
        line = json.dumps(rec, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        with self._lock:
            new = not self.path.exists()
            try:
                with open(self.path, "ab") as f:
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
                if new:  # the file's directory entry must survive a crash too
                    fsync_dir(self.path.parent)
            except OSError as exc:  # a full disk, a lost mount: a torn line is cut at the next start
                raise DeliveryLogUnavailable(f"{self.path}: {exc.strerror or exc}") from exc
            self._index(rec)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_bytes().splitlines() if line.strip()]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``initial * factor**n`` seconds, capped, at most ``attempts`` tries per notify."""

    attempts: int = 5
    initial: float = 1.0
    factor: float = 2.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError(f"retry policy {self}: need attempts >= 1, initial >= 0, factor >= 1, max_delay >= 0")

    def delays(self) -> Iterable[float]:
        """The waits between attempts (one fewer than attempts)."""
        for n in range(self.attempts - 1):
            yield min(self.initial * self.factor ** n, self.max_delay)


@dataclass(frozen=True)
class DeliveryOutcome:
    notice_id: str
    receiver: str
    sink: str
    status: str  # delivered | duplicate | muted | withheld | failed
    attempts: int = 0
    error: str = ""


#: Renders a request into a notice, given the summary of the previous notice to that receiver for that group.
Renderer = Callable[[NoticeRequest, "dict[str, Any] | None"], Notice]
#: Says why a request must not go out now (silenced, inhibited, outside desk hours), or None.
Muter = Callable[[NoticeRequest], "str | None"]


@dataclass
class Notifier:
    """The notify chain for every receiver's sinks. Time is injected: ``sleep`` and ``clock``."""

    log: DeliveryIndex
    sinks: Mapping[str, Sequence[Sink]]
    render: Renderer
    mute: Muter | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = utcnow
    metrics: Any = None  # streams.metrics.Metrics, or None
    #: (notice_id, sink) -> the ``delivered`` record of a send the log refused to record (``_record``)
    _unrecorded: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def notify(self, request: NoticeRequest) -> list[DeliveryOutcome]:
        sinks = list(self.sinks.get(request.receiver, ()))
        reason = self.mute(request) if self.mute else None
        if reason:
            return [self._count(s, DeliveryOutcome(request.notice_id, request.receiver, s.name, "muted",
                                                   error=reason)) for s in sinks]
        pending = [s for s in sinks if not self.log.delivered(request.notice_id, s.name)]
        out = [self._count(s, DeliveryOutcome(request.notice_id, request.receiver, s.name, "duplicate"))
               for s in sinks if s not in pending]
        for sink in [s for s in pending if (request.notice_id, s.name) in self._unrecorded]:
            # the sink took it on a try whose record the log refused: record it, do not send it again
            rec = self._unrecorded[(request.notice_id, sink.name)]
            self._record(rec)
            pending.remove(sink)
            out.append(self._count(sink, DeliveryOutcome(request.notice_id, request.receiver, sink.name,
                                                         "delivered", rec["attempts"])))
        if not pending:
            return out
        previous = self.log.previous_summary(request.receiver, request.group_key, request.notice_id)
        try:
            notice = self.render(request, previous)
        except NoticeError as exc:  # nothing in the group this receiver may see: there is nothing to send
            return out + [self._count(s, DeliveryOutcome(request.notice_id, request.receiver, s.name, "withheld",
                                                         error=str(exc))) for s in pending]
        for sink in pending:
            out.append(self._count(sink, self._deliver(request, notice, sink, previous)))
        return out

    def _deliver(self, request: NoticeRequest, notice: Notice, sink: Sink,
                 previous: dict[str, Any] | None) -> DeliveryOutcome:
        delays = iter(self.retry.delays())
        attempt = 0
        while True:
            attempt += 1
            try:
                try:
                    sink.send(notice)
                except SinkError:
                    raise
                except Exception as exc:  # a bug in one sink must not stop the others; not worth retrying
                    log.exception("sink %s failed on notice %s", sink.name, request.notice_id)
                    raise SinkError(f"{sink.name}: {exc!r}", retryable=False) from exc
            except SinkError as exc:
                self.log.append({"kind": "failed", "notice_id": request.notice_id, "sink": sink.name,
                                 "receiver": request.receiver, "at": iso(self.clock()), "attempt": attempt,
                                 "retryable": exc.retryable, "error": str(exc)})
                delay = next(delays, None) if exc.retryable else None
                if delay is None:
                    return DeliveryOutcome(request.notice_id, request.receiver, sink.name, "failed", attempt, str(exc))
                self.sleep(delay)
                continue
            rec = {"kind": "delivered", "notice_id": request.notice_id, "sink": sink.name,
                   "receiver": request.receiver, "group_key": request.group_key,
                   "at": iso(self.clock()), "attempts": attempt, "summary": notice.summary,
                   "previous_summary": previous}
            if self.log.first_delivery(request.notice_id) is None:
                kept = logged_notice(notice)
                if kept is not None:
                    rec[NOTICE_FIELD] = kept
            self._record(rec)
            return DeliveryOutcome(request.notice_id, request.receiver, sink.name, "delivered", attempt)

    def _record(self, rec: dict[str, Any]) -> None:
        """Append a ``delivered`` record; one the log refuses is kept, so the next try of the notice
        records it without sending the notice to that sink again (in memory: after a restart the
        sink gets it again, and dedups it by the notice id)."""
        key = (rec["notice_id"], rec["sink"])
        try:
            self.log.append(rec)
        except DeliveryLogUnavailable:
            self._unrecorded[key] = rec
            raise
        self._unrecorded.pop(key, None)

    def _count(self, sink: Sink, outcome: DeliveryOutcome) -> DeliveryOutcome:
        if self.metrics is not None:
            self.metrics.notice_deliveries.labels(sink.type, outcome.status).inc()
        return outcome
