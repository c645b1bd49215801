"""What the web API's actions do in a worker: people's actions become records on the alerts topic.

The alerts topic is the audit log, so an acknowledgement or a silence is produced there
(keyed by alert or silence id) and takes effect when the feed folds it back -- in every
worker alike, and again after a restart. The rules (who may, guardrails, expiry) are the
pure functions of :mod:`alerts.state`, whose errors already are the web's (``LookupError`` 404,
``PermissionError`` 403, ``ValueError`` 400); this module only sends.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Awaitable, Callable

from alerts.access import Principal
from alerts.model import AlertAction
from alerts.notify.acks import NoticeAcks, OnBehalf
from alerts.policy import Policy
from alerts.state import AlertStore, acknowledge, silence

Send = Callable[[bytes, bytes], Awaitable[Any]]


class WorkerActions:
    """``alerts.web.context.Actions`` and ``NoticeActions`` for a live worker."""

    def __init__(self, policy: Policy, store: AlertStore, send: Send, clock: Callable[[], datetime],
                 acks: NoticeAcks | None = None) -> None:
        self.policy, self.store, self.send, self.clock, self.acks = policy, store, send, clock, acks

    async def _produce(self, action: AlertAction) -> dict:
        await self.send(action.key(), action.encode())
        return action.to_dict()

    async def acknowledge(self, alert_id: str, principal: Principal, until: datetime | None,
                          comment: str | None) -> dict:
        return await self._produce(acknowledge(alert_id, principal, until, comment, now=self.clock(),
                                               policy=self.policy, store=self.store))

    async def silence(self, matchers: dict[str, str], principal: Principal, until: datetime,
                      comment: str) -> dict:
        texts = [f'{name}="{value}"' for name, value in sorted(matchers.items())]
        return await self._produce(silence(texts, principal, until, comment, now=self.clock(), policy=self.policy))

    def silences(self) -> list[dict]:
        return self.store.silence_list(self.clock())

    def check_link(self, notice_id: str, token: str) -> None:
        """Raise as acknowledging by the link would (invalid: PermissionError; expired: ExpiredAckLink)."""
        if self.acks is None:
            raise LookupError("this worker does not dispatch notices")
        self.acks.verify(notice_id, token)

    async def acknowledge_link(self, notice_id: str, token: str) -> dict:
        """The link in a notice: its token is the authority (PermissionError when it is not valid)."""
        if self.acks is None:
            raise LookupError("this worker does not dispatch notices")
        # Recording waits for the broker (the delivery log is a topic): off the event loop.
        ack = await asyncio.to_thread(self.acks.acknowledge, notice_id, token, by="link")  # errors: 403 / 404
        return ack.to_dict()

    async def acknowledge_notice(self, notice_id: str, principal: Principal, comment: str = "",
                                 on_behalf: OnBehalf | None = None) -> dict:
        """A signed-in caller acknowledges a notice: its own desk's, or a desk's on its behalf."""
        if self.acks is None:
            raise LookupError(f"no notice {notice_id}: this worker does not dispatch notices")
        ack = await asyncio.to_thread(self.acks.acknowledge_as, notice_id, principal, self.policy.receiver_principal,
                                      comment=comment, on_behalf=on_behalf)
        return ack.to_dict()
