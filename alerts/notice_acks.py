"""Secretariats acknowledge notices through a link that carries its own proof.

The token in ``{base_url}/notices/{notice_id}/confirm?token=...`` is an HMAC of the
notice id under a server secret, so the server checks it without storing
anything per notice, and a token for one notice acknowledges no other. Notice
ids are derived per receiver (by the policy's dispatch), so the token binds the
receiver too.

Time to acknowledge is measured from the notice's **first delivery** to any of
its receiver's sinks (from the delivery log), not from the alert's opening: the
gap this metric watches is the receiver's response once it had the notice;
alert-to-notice time is the policy's grouping and the sinks' retries.

>>> secret = b"server-secret"
>>> link = ack_link("https://bw.example", secret, "nt-1")
>>> token = link.rsplit("token=", 1)[1]
>>> verify_ack_token(secret, "nt-1", token), verify_ack_token(secret, "nt-2", token)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote
from alerts.model import iso, parse_iso, utcnow

_CONTEXT = b"borderwatch notice ack v1\x00"


class AckError(Exception):
    """An acknowledgement that cannot be recorded."""


class InvalidAckToken(AckError, PermissionError):
    """The token is not this notice's (HTTP 403)."""


class UnknownNotice(AckError, LookupError):
    """No delivery of this notice is in the log (HTTP 404)."""


def _key(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def ack_token(secret: bytes | str, notice_id: str) -> str:
    mac = hmac.new(_key(secret), _CONTEXT + notice_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def verify_ack_token(secret: bytes | str, notice_id: str, token: str) -> bool:
    """Constant-time check of a notice's ack token."""
    if not token or not notice_id:
        return False
    return hmac.compare_digest(ack_token(secret, notice_id).encode(), token.encode())


def ack_link(base_url: str, secret: bytes | str, notice_id: str) -> str:
    return f"{base_url.rstrip('/')}/notices/{quote(notice_id, safe='')}/confirm?token={ack_token(secret, notice_id)}"


def _parse(ts: str | datetime) -> datetime:
    return ts.astimezone(timezone.utc) if isinstance(ts, datetime) else parse_iso(ts)


@dataclass(frozen=True)
class Acknowledgement:
    notice_id: str
    receiver: str
    by: str  # who acknowledged: the signed-in principal's name, or "link" for a bare token
    at: str  # ISO 8601 UTC
    delivered_at: str  # first delivery of the notice, ISO 8601 UTC
    seconds: float  # at - delivered_at, never negative
    repeated: bool = False  # an earlier acknowledgement of this notice stands; nothing new was recorded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def acknowledgement(secret: bytes | str, notice_id: str, token: str, *, receiver: str, by: str,
                    at: str | datetime, delivered_at: str | datetime) -> Acknowledgement:
    """Verify the token and build the record: pure, no storage, no clock."""
    if not verify_ack_token(secret, notice_id, token):
        raise InvalidAckToken(f"the token is not valid for notice {notice_id}")
    return _build(notice_id, receiver, by, at, delivered_at)


def _build(notice_id: str, receiver: str, by: str, at: str | datetime,
           delivered_at: str | datetime) -> Acknowledgement:
    at_dt, delivered_dt = _parse(at), _parse(delivered_at)
    seconds = max(0.0, (at_dt - delivered_dt).total_seconds())  # clocks of two hosts may disagree a little
    return Acknowledgement(notice_id, receiver, by, iso(at_dt), iso(delivered_dt), seconds)


class NoticeAcks:
    """What the web endpoint calls: verify, record once in the delivery log, observe the histogram.

    ``log`` is an :class:`alerts.delivery.DeliveryLog`; ``metrics`` a
    ``streams.metrics.Metrics`` (or None); ``clock`` returns an aware UTC datetime.
    """

    def __init__(self, secret: bytes | str, log: Any, metrics: Any = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._secret = _key(secret)
        self.log, self.metrics, self.clock = log, metrics, clock

    def link(self, base_url: str, notice_id: str) -> str:
        return ack_link(base_url, self._secret, notice_id)

    def verify(self, notice_id: str, token: str) -> bool:
        return verify_ack_token(self._secret, notice_id, token)

    def acknowledge(self, notice_id: str, token: str, by: str = "link",
                    at: datetime | None = None) -> Acknowledgement:
        """Record the first acknowledgement of a delivered notice; later ones return it with ``repeated``."""
        if not self.verify(notice_id, token):  # before any lookup: an outsider learns nothing about ids
            raise InvalidAckToken(f"the token is not valid for notice {notice_id}")
        return self.record(notice_id, by, at)

    def record(self, notice_id: str, by: str, at: datetime | None = None) -> Acknowledgement:
        """Record the first acknowledgement, for a caller already known to be its receiver (the
        link's token, or a signed-in desk the notice went to)."""
        existing = self.log.ack(notice_id)
        if existing is not None:
            fields = {k: existing[k] for k in ("notice_id", "receiver", "by", "at", "delivered_at", "seconds")}
            return Acknowledgement(**fields, repeated=True)
        delivery = self.log.first_delivery(notice_id)
        if delivery is None:
            raise UnknownNotice(f"notice {notice_id} was never delivered")
        ack = _build(notice_id, delivery["receiver"], by, at or self.clock(), delivery["at"])
        self.log.append({"kind": "ack", **{k: v for k, v in ack.to_dict().items() if k != "repeated"}})
        if self.metrics is not None:
            self.metrics.notice_ack.labels(ack.receiver).observe(ack.seconds)
        return ack
