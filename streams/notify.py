"""The worker's notify stage: alert log -> dispatcher -> notifier -> sinks.

Wiring only; the logic lives in ``alerts/``:

* every record the feed folds (alert transitions and people's actions) goes to the
  :class:`~alerts.dispatch.Dispatcher` (routing, grouping, silences, inhibition,
  releasability; clock injected);
* each :class:`~alerts.dispatch.Dispatch` it emits is delivered by the
  :class:`~alerts.delivery.Notifier` (mute -> dedup against the delivery log ->
  render -> send with retries -> record) in a worker thread, one at a time, so a
  slow SMTP server never stalls the event loop;
* a timer flushes groups whose group_wait / group_interval / repeat_interval is due.

A restart re-reads the alert log from the start, re-derives the same dispatches with
the same notice ids, and the delivery log drops what was delivered: no notice twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from alerts.delivery import DeliveryLog, Notifier, utcnow
from alerts.dispatch import Dispatch, Dispatcher
from alerts.model import AlertAction, AlertEvent
from alerts.notice_acks import NoticeAcks
from alerts.notices import NoticeRenderer, NoticeRequest, SegmentContext
from alerts.policy import Policy, PolicyError, load_policy
from alerts.sinks import SinkConfigError, build_sink
from alerts.state import AlertStore
from streams.errors import ConfigError
from streams.settings import Settings, read_secret_file

log = logging.getLogger("borderwatch.notify")


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
    """Sinks per receiver; a file sink's relative ``dir`` is under the data directory."""
    out: dict[str, list] = {}
    for name, receiver in policy.receivers.items():
        sinks = []
        for sc in receiver.sinks:
            config = {"type": sc.type, **dict(sc.options)}
            if sc.name and "name" not in config:
                config["name"] = sc.name
            if sc.type == "file" and not os.path.isabs(config.get("dir", "")):
                config["dir"] = str(Path(data_dir) / config.get("dir", "notices"))
            try:
                sinks.append(build_sink(config))
            except SinkConfigError as exc:
                raise ConfigError(f"{policy.source}: receiver {name}: {exc}") from None
        out[name] = sinks
    return out


class NotifyStage:
    """Owns the dispatcher, the notifier and the acknowledgement handler of one worker."""

    def __init__(self, settings: Settings, policy: Policy, store: AlertStore,
                 context_for: Callable[[str], SegmentContext | None], metrics: Any = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.dispatcher = Dispatcher(policy, clock=clock, store=store)
        delivery_log = DeliveryLog.in_data_dir(settings.data_dir)
        secret = notice_secret(settings)
        base_url = settings.public_url or f"http://{settings.web_host}:{settings.web_port}"
        roles = {name: r.principal.role_string for name, r in policy.receivers.items()}
        languages = {name: r.lang for name, r in policy.receivers.items()}
        renderer = NoticeRenderer(context_for, secret, base_url, roles=roles, languages=languages, clock=clock)
        self.notifier = Notifier(delivery_log, build_sinks(policy, settings.data_dir), renderer,
                                 clock=clock, metrics=metrics)
        self.acks = NoticeAcks(secret, delivery_log, metrics, clock=clock)
        self.queue: asyncio.Queue[Dispatch] = asyncio.Queue()

    def on_record(self, record: AlertEvent | AlertAction) -> None:
        """Called by the feed for every new record, in log order."""
        for d in self.dispatcher.apply(record):
            self.queue.put_nowait(d)

    def flush_due(self) -> None:
        due = self.dispatcher.next_due()
        if due is not None and due <= self.clock():
            for d in self.dispatcher.flush():
                self.queue.put_nowait(d)

    async def run(self, tick_seconds: float = 1.0) -> None:
        """Deliver queued dispatches one at a time; flush due groups every ``tick_seconds``."""
        async def ticker() -> None:
            while True:
                self.flush_due()
                await asyncio.sleep(tick_seconds)

        tick = asyncio.ensure_future(ticker())
        try:
            while True:
                d = await self.queue.get()
                try:
                    outcomes = await asyncio.to_thread(self.notifier.notify, NoticeRequest.from_dispatch(d))
                    for o in outcomes:
                        if o.status == "failed":
                            log.warning("notice %s to %s via %s failed after %d attempts: %s",
                                        o.notice_id, o.receiver, o.sink, o.attempts, o.error)
                except Exception:  # noqa: BLE001 -- one bad notice must not stop the others
                    log.exception("notice %s to %s could not be delivered", d.notice_id, d.receiver)
        finally:
            tick.cancel()
