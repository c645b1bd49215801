"""The worker's notify stage: alert log -> dispatcher -> notifier -> sinks, on one worker at a time.

One worker notifies, whichever of several on one app id: the member of the consumer group
``<app id>-notifier`` that holds the one partition of ``<prefix>.notifier``
(:class:`NotifierOwnership`). Its stage is wiring only; the logic lives in ``alerts/``:

* every record of the alert log (alert transitions and people's actions) goes to the
  :class:`~alerts.notify.dispatch.Dispatcher` (routing, grouping, silences, inhibition,
  releasability; clock injected);
* each :class:`~alerts.notify.dispatch.Dispatch` it emits is delivered by the
  :class:`~alerts.notify.delivery.Notifier` (mute -> dedup against the delivery log ->
  render -> send with retries -> record) in a worker thread, one at a time, so a
  slow SMTP server never stalls the event loop;
* a timer flushes groups whose group_wait / group_interval / repeat_interval is due.

A restart, or another worker taking the notifier over, re-reads the alert log from the
start, re-derives the same dispatches with the same notice ids, and the delivery log
(``<prefix>.notice-log``, read to its end first: streams/notice_log.py) drops what was
delivered: no notice twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence

from borderwatch.errors import BorderwatchError
from alerts.model import AlertAction, AlertEvent
from alerts.notify.archive import NoticeArchive
from alerts.notify.delivery import DeliveryIndex, DeliveryLogUnavailable, Notifier, Renderer
from alerts.notify.dispatch import Dispatch, Dispatcher
from alerts.notify.notices import NoticeRenderer, NoticeRequest, SegmentContext
from alerts.notify.sinks import build_sink
from alerts.notify.sinks.base import SinkConfigError
from alerts.policy import Policy, PolicyError, load_policy
from alerts.state import AlertStore
from alerts.timefmt import utcnow
from streams.errors import ConfigError
from streams.settings import Settings, read_secret_file
from streams.topics import GroupMember, bootstrap, broker_unreachable

log = logging.getLogger("borderwatch.notify")
#: The first wait before a notice held for the delivery log is tried again, and the longest: each
#: try takes up to the log's own patience (``streams.notice_log.APPEND_PATIENCE``) before it fails.
LOG_RETRY_FIRST_SECONDS, LOG_RETRY_MAX_SECONDS = 5.0, 60.0


def load_worker_policy(settings: Settings) -> Policy:
    try:
        return load_policy(settings.policy_file or None)
    except PolicyError as exc:
        raise ConfigError("; ".join(exc.problems) or str(exc)) from None


def notice_secret(settings: Settings) -> bytes:
    """The configured secret, else one kept in the data directory (made once, mode 0600)."""
    if settings.notice_secret_file:
        return read_secret_file(settings.notice_secret_file, "notice secret", "notice_secret_file", 16)
    path = Path(settings.data_dir) / "notice-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_bytes().strip()


def build_sinks(policy: Policy, data_dir: str) -> dict[str, list]:
    """Sinks per receiver; a file or cap sink's relative ``dir`` is under the data directory."""
    out: dict[str, list] = {}
    for name, receiver in policy.receivers.items():
        sinks = []
        for sc in receiver.sinks:
            config = {"type": sc.type, **dict(sc.options)}
            if sc.name and "name" not in config:
                config["name"] = sc.name
            if sc.type in ("file", "cap") and not os.path.isabs(config.get("dir", "")):
                config["dir"] = str(Path(data_dir) / config.get("dir", "notices"))
            try:
                sinks.append(build_sink(config))
            except SinkConfigError as exc:
                raise ConfigError(f"{policy.source}: receiver {name}: {exc}") from None
        out[name] = sinks
    return out


class NotifierRevoked(BorderwatchError):
    """The notifier was revoked from this worker during a notify call's retry wait."""


class Baton:
    """Whether the stage may send now: closed while the notifier group rebalances (the partition
    may go elsewhere), open while this worker holds it. ``interrupt`` ends a retry wait at once."""

    def __init__(self, open_: bool = True) -> None:
        self.open = asyncio.Event()
        if open_:
            self.open.set()
        self.interrupt = threading.Event()


class NotifyStage:
    """The dispatcher and notifier of the worker that holds the notifier (see :class:`NotifierOwnership`).

    Made fresh each time the worker gains the notifier, with an alert store of its own that a
    reader of the alert log fills from its start (:meth:`on_record`), as after a restart. It sends
    only while its ``baton`` is open; a dispatch cut short by a revocation is held and sent first
    if the baton opens again. A dispatch the delivery log could not record is held too and tried
    again after ``LOG_RETRY_FIRST_SECONDS``, doubling to ``LOG_RETRY_MAX_SECONDS`` (``wait``), until
    the log takes records: nothing is dropped while the broker or the disk is away.
    """

    def __init__(self, policy: Policy, delivery_log: DeliveryIndex, sinks: Mapping[str, Sequence[Any]],
                 renderer: Renderer, metrics: Any = None, clock: Callable[[], datetime] = utcnow,
                 keep_resolved: int = 1000, baton: Baton | None = None,
                 wait: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.clock, self.metrics, self._wait = clock, metrics, wait
        self.baton = baton or Baton()
        self.store = AlertStore(keep_resolved=keep_resolved, clock=clock)
        self.dispatcher = Dispatcher(policy, clock=clock, store=self.store)
        self.notifier = Notifier(delivery_log, sinks, renderer, clock=clock, metrics=metrics, sleep=self._sleep)
        self.queue: asyncio.Queue[Dispatch] = asyncio.Queue()
        self._held: deque[Dispatch] = deque()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="notifier")
        self._inflight: Future | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def _sleep(self, seconds: float) -> None:
        """A retry's wait, cut short when the notifier is revoked."""
        if self.baton.interrupt.wait(seconds):
            raise NotifierRevoked()

    def on_record(self, record: AlertEvent | AlertAction) -> None:
        """Called for every new record of the alert log, in log order."""
        for d in self.dispatcher.apply(record):
            self.queue.put_nowait(d)

    def flush_due(self) -> None:
        due = self.dispatcher.next_due()
        if due is not None and due <= self.clock():
            for d in self.dispatcher.flush():
                self.queue.put_nowait(d)
        if self.metrics is not None and self.baton.open.is_set():
            busy = self._inflight is not None and not self._inflight.done()
            self.metrics.notices_pending.set(len(self.dispatcher.groups) + self.queue.qsize() + len(self._held)
                                             + busy)

    async def run(self, tick_seconds: float = 1.0) -> None:
        """Deliver queued dispatches one at a time while the baton is open; flush due groups every
        ``tick_seconds``."""
        async def ticker() -> None:
            while True:
                self.flush_due()
                await asyncio.sleep(tick_seconds)

        tick = asyncio.ensure_future(ticker())
        log_wait = 0.0  # the wait before a notice held for the delivery log is tried again
        try:
            while True:
                d = self._held.popleft() if self._held else await self.queue.get()
                await self.baton.open.wait()
                self._idle.clear()
                try:
                    self._inflight = self._executor.submit(self.notifier.notify, NoticeRequest.from_dispatch(d))
                    outcomes = await asyncio.shield(asyncio.wrap_future(self._inflight))
                    log_wait = 0.0
                    for o in outcomes:
                        if o.status == "failed":
                            log.warning("notice %s to %s via %s failed after %d attempts: %s",
                                        o.notice_id, o.receiver, o.sink, o.attempts, o.error)
                except NotifierRevoked:
                    self._held.appendleft(d)  # its next attempt, if the baton comes back here
                except DeliveryLogUnavailable as exc:
                    # Nothing is wrong with the notice: hold it (and, behind it, the queue) until the
                    # log takes records again; a sink that already took it dedups by the notice id.
                    self._held.appendleft(d)
                    log_wait = min(max(2 * log_wait, LOG_RETRY_FIRST_SECONDS), LOG_RETRY_MAX_SECONDS)
                    log.error("the delivery log takes no record (%s): notice %s to %s is held and tried "
                              "again in %.0f s", exc, d.notice_id, d.receiver, log_wait)
                except Exception:  # noqa: BLE001 -- one bad notice must not stop the others
                    log.exception("notice %s to %s could not be delivered", d.notice_id, d.receiver)
                finally:
                    self._idle.set()
                if self._held and log_wait:
                    await self._wait(log_wait)
        finally:
            tick.cancel()

    async def idle(self) -> None:
        """Wait until no notify call is in hand (a send finishes and is recorded, a cut one is held)."""
        await self._idle.wait()
        inflight = self._inflight
        if inflight is not None and not inflight.done():  # its handler was cancelled: wait for the thread
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(inflight)

    async def stop(self) -> None:
        """After the notify call in hand (close the baton first for a retry wait to end at once)."""
        await self.idle()
        self._executor.shutdown(wait=False)


class NotifierOwnership:
    """Exactly one worker notifies: the member of consumer group ``<app id>-notifier`` that is
    assigned the notifier topic's one partition.

    ``own(ownership)`` runs one ownership until cancelled (read the delivery log to its end, make a
    :class:`NotifyStage` with ``ownership.baton`` and set ``ownership.stage``, read the alert log
    into it); it comes from the worker, so this class runs with fakes in unit tests.
    :meth:`revoked` and :meth:`assigned` are the group's rebalance callbacks: a rebalance closes
    the baton (a retry wait ends, a send in hand finishes before the rebalance goes on); if the
    partition comes back the same stage goes on, if it goes elsewhere the stage and its in-memory
    dispatcher are dropped, and the next holder starts its own from the logs.
    """

    def __init__(self, own: Callable[["NotifierOwnership"], Awaitable[None]], metrics: Any = None) -> None:
        self._own = own
        self.metrics = metrics
        self.stage: NotifyStage | None = None
        self.baton = Baton(open_=False)
        self._task: asyncio.Task | None = None
        self.generation = 0  # ownerships begun by this worker
        self.member = GroupMember(self.revoked, self.assigned, on_leaving=self._leaving)

    @property
    def owner(self) -> bool:
        """Holding the notifier, not in a rebalance."""
        return self._task is not None and self.baton.open.is_set()

    async def assigned(self, partitions: Iterable[Any]) -> None:
        if not any(_partition(p) == 0 for p in partitions):
            await self._drop()  # it went to another member, if it was ours
            return
        if self._task is None:
            self.generation += 1
            self.baton = Baton(open_=False)
            self._task = asyncio.ensure_future(self._keep_owning())
            log.warning("this worker is now the notifier (ownership %d)", self.generation)
        self.baton.interrupt.clear()
        self.baton.open.set()
        self._set_gauge(1)

    async def revoked(self, partitions: Iterable[Any]) -> None:
        if self._task is None or not any(_partition(p) == 0 for p in partitions):
            return
        self.baton.open.clear()
        self.baton.interrupt.set()
        self._set_gauge(0)
        if self.stage is not None:
            await self.stage.idle()  # before the group can give the partition to another member

    async def _drop(self) -> None:
        if self._task is None:
            return
        task, self._task = self._task, None
        stage, self.stage = self.stage, None
        self.baton.open.clear()
        self.baton.interrupt.set()
        if stage is not None:
            await stage.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        self._set_gauge(0)
        log.warning("this worker is no longer the notifier")

    async def _keep_owning(self, retry_seconds: float = 5.0) -> None:
        """Run the ownership; if it fails (a bug, a reader that gave up), start it over rather than hold
        the notifier and send nothing."""
        while True:
            try:
                await self._own(self)
                return
            except Exception as exc:  # noqa: BLE001 -- logged; the next attempt starts from the logs again
                if broker_unreachable(exc):  # /health and the broker watch say the rest
                    log.warning("the notify stage cannot reach the broker; starting it again in %.0f s", retry_seconds)
                else:
                    log.exception("the notify stage failed; starting it again in %.0f s", retry_seconds)
            stage, self.stage = self.stage, None
            if stage is not None:
                await stage.stop()
            await asyncio.sleep(retry_seconds)

    def _set_gauge(self, value: int) -> None:
        if self.metrics is not None:
            self.metrics.notifier_owner.set(value)
            if not value:
                self.metrics.notices_pending.set(0)  # what is pending is the next owner's (or ours, later)

    async def join(self, broker_url: str, group_id: str, topic: str, timing: Mapping[str, Any]) -> None:
        """Become a member of the notifier group: the join goes on in the background (the broker holds
        a first join for about half a session), so the worker asks as it starts, beside Faust's own
        join, and :meth:`run` keeps the membership alive. ``timing``: the member's session and name
        (``streams.topics.group_timing``), as the worker's other groups have them."""
        from aiokafka import AIOKafkaConsumer

        def consumer():
            return AIOKafkaConsumer(bootstrap_servers=bootstrap(broker_url), group_id=group_id,
                                    client_id=f"{group_id}-member", enable_auto_commit=False,
                                    partition_assignment_strategy=(KeepTheNotifier(),),
                                    auto_offset_reset="latest", **timing)

        await self.member.join(consumer, [topic])

    async def leave_if_not_run(self) -> None:
        """Leave the group if :meth:`join` ran and :meth:`run` never did (the worker stopped first);
        a membership that runs ends with it."""
        await self.member.leave_if_not_run()

    async def _leaving(self, consumer: Any) -> None:
        await self._drop()  # the notifier is the next holder's from here

    async def run(self, broker_url: str, group_id: str, topic: str, timing: Mapping[str, Any]) -> None:
        """Be a member of the notifier group for as long as the worker runs (joining first, unless
        :meth:`join` has)."""
        self.member.running = True
        await self.join(broker_url, group_id, topic, timing)
        try:
            while True:  # nothing is ever written there; polling keeps us a live member
                await self.member.consumer.getmany(timeout_ms=1000)
        finally:
            await self.member.leave()


class KeepTheNotifier:
    """The notifier group's assignor: the member that holds the notifier keeps it when others join.

    Every assignment carries an epoch; a member says in its join which epoch it holds the notifier
    in (0: none) and the newest it has seen. The holder of the newest epoch keeps the partition; a
    member that held an older one (it was taken for dead and came back) does not. With no holder,
    the first member by id gets the partition and the epoch moves on. Without this, Kafka's
    assignors would hand the notifier over at every join (a fresh dispatcher each time).
    """

    name = "borderwatch-notifier"
    version = 0

    def __init__(self) -> None:
        self.epoch = 0  # the newest seen
        self.holding = False  # this member was assigned the partition in the last assignment

    def metadata(self, topics: Iterable[str]) -> Any:
        from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

        held = self.epoch if self.holding else 0
        return ConsumerProtocolMemberMetadata(self.version, sorted(topics), f"{held},{self.epoch}".encode())

    @classmethod
    def choose(cls, members: Mapping[str, bytes]) -> tuple[str, int]:
        """member id -> its join's user data => (the member that gets the notifier, its epoch)."""
        held, seen = {}, 0
        for member, data in members.items():
            try:
                h, e = (int(x) for x in data.decode().split(","))
            except ValueError:
                h, e = 0, 0
            held[member], seen = h, max(seen, e, h)
        keepers = sorted(m for m, h in held.items() if h and h == seen)
        return (keepers[0], seen) if keepers else (min(members), seen + 1)

    def assign(self, cluster: Any, members: Mapping[str, Any]) -> dict[str, Any]:
        from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

        chosen, epoch = self.choose({m: md.user_data or b"" for m, md in members.items()})
        out = {}
        for member, md in members.items():
            parts = ([(t, sorted(cluster.partitions_for_topic(t) or ())) for t in sorted(md.subscription)]
                     if member == chosen else [])
            out[member] = ConsumerProtocolMemberAssignment(self.version, parts, str(epoch).encode())
        return out

    def on_assignment(self, assignment: Any) -> None:
        try:
            self.epoch = max(self.epoch, int((assignment.user_data or b"0").decode()))
        except ValueError:
            pass
        self.holding = any(0 in parts for _, parts in assignment.assignment)


def _partition(tp: Any) -> int:
    return tp if isinstance(tp, int) else tp.partition


def notice_maker(settings: Settings, policy: Policy, secret: bytes,
                 context_for: Callable[[str], SegmentContext | None]) -> NoticeRenderer:
    """What renders the worker's notices and makes their acknowledgement links."""
    base_url = settings.public_url or f"http://{settings.web_host}:{settings.web_port}"
    roles = {name: r.principal.role_string for name, r in policy.receivers.items()}
    languages = {name: r.lang for name, r in policy.receivers.items()}
    return NoticeRenderer(context_for, secret, base_url, roles=roles, languages=languages,
                          link_good_for=policy.acknowledgements.link_expiry)


def notice_renderer(settings: Settings, maker: NoticeRenderer) -> Renderer:
    """The notices, each kept as rendered for its CAP download (alerts/notify/archive.py)."""
    return NoticeArchive.in_data_dir(settings.data_dir).keeping(maker)


def notifier_ownership(settings: Settings, policy: Policy, delivery_log: Any, renderer: Renderer,
                       metrics: Any = None) -> NotifierOwnership:
    """The worker's bid for the notifier: what one ownership runs, in order.

    ``delivery_log`` is a :class:`streams.notice_log.KafkaDeliveryLog` whose reader runs."""
    from streams.feed import AlertFeed
    from streams.topics import Topics

    sinks = build_sinks(policy, settings.data_dir)
    if any(sink.makes_pdf for receiver in sinks.values() for sink in receiver):
        from alerts.notify.pdf import draw_elsewhere

        draw_elsewhere()
    alerts_topic = Topics(settings.topic_prefix).alerts

    async def own(ownership: NotifierOwnership) -> None:
        # What the last owner delivered is in the log before this one dispatches anything.
        await delivery_log.caught_up()
        stage = NotifyStage(policy, delivery_log, sinks, renderer, metrics,
                            keep_resolved=settings.history_keep_resolved, baton=ownership.baton)
        ownership.stage = stage
        reader = AlertFeed(settings.broker, alerts_topic, store=stage.store)
        reader.listeners.append(stage.on_record)
        async with asyncio.TaskGroup() as both:  # one failing cancels the other
            both.create_task(reader.run())
            both.create_task(stage.run())

    return NotifierOwnership(own, metrics)
