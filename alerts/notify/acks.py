"""Secretariats acknowledge notices through a link that carries its own proof.

The link is short, ``{base_url}/n/{notice_id}?t={token}``, and expires: the token
(16 characters) is the last day it is good for and an HMAC of the notice id and that
day under a server secret, so the server checks it without storing anything per
notice, a token for one notice acknowledges no other, and no one can move its day.
Notice ids are derived per receiver (by the policy's dispatch), so the token binds
the receiver too. The policy's ``acknowledgements.link_expiry`` (14 days by
default) sets the day from the notice's making.

A signed-in caller acknowledges through :meth:`NoticeAcks.acknowledge_as`; who may
is :meth:`alerts.access.Principal.notice_right`'s to say: the notice's own desk, or an
operator or admin *on behalf of* that desk, naming it and saying why. Both are
recorded in the delivery log (the notices' audit log) with who, their role, and
for an on-behalf acknowledgement the desk and the reason.

Time to acknowledge is measured from the notice's **first delivery** to any of
its receiver's sinks (from the delivery log), not from the alert's opening: the
gap this metric watches is the receiver's response once it had the notice;
alert-to-notice time is the policy's grouping and the sinks' retries. Only the
desk's own acknowledgements (its link, its signed-in staff) are observed in
``borderwatch_notice_ack_seconds``; an on-behalf one is counted in
``borderwatch_notice_acks_on_behalf_total`` instead, and the desk's own
acknowledgement after it is still recorded and observed.

>>> from datetime import date
>>> secret = b"server-secret"
>>> link = ack_link("https://bw.example", secret, "nt-1", date(2026, 12, 14))
>>> token = link.rsplit("t=", 1)[1]
>>> len(token), read_ack_token(secret, "nt-1", token), read_ack_token(secret, "nt-2", token)
(16, datetime.date(2026, 12, 14), None)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import quote

from borderwatch.errors import BorderwatchError
from alerts.access import NOTICE_HIDDEN, NOTICE_ON_BEHALF, NOTICE_OWN, NOTICE_READ, Principal
from alerts.notify.i18n import SOURCE_LANGUAGE
from alerts.timefmt import iso, parse_iso, utcnow

_CONTEXT = b"borderwatch notice ack v2\x00"
#: How long recording an acknowledgement waits for a delivery log that is away: someone is waiting
#: for the answer (a 503 asks them to try again), unlike a delivery, which can wait for minutes.
ACK_PATIENCE = 20.0
#: The link's query parameter (and its page's form field) naming the page's language: unsigned, as
#: it only decides how the page reads.
LINK_LANG_FIELD = "l"
#: The token: the last good day (days since 1970-01-01, 3 bytes) and that many bytes of the HMAC.
_DAY_BYTES, _MAC_BYTES = 3, 9
_EPOCH = date(1970, 1, 1)


class AckError(BorderwatchError):
    """An acknowledgement that cannot be recorded."""


class InvalidAckToken(AckError, PermissionError):
    """The token is not this notice's (HTTP 403)."""


class ExpiredAckLink(AckError, PermissionError):
    """The token is this notice's, but its last day has passed (HTTP 410)."""

    def __init__(self, notice_id: str, expired: date) -> None:
        super().__init__(f"the link of notice {notice_id} was good to the end of {expired.isoformat()} (UTC); acknowledge "
                         f"from the console, or ask the regional desk to record it")
        self.expired = expired


class UnknownNotice(AckError, LookupError):
    """No delivery of this notice is in the log, or none the caller may know of (HTTP 404)."""


class NotYourNotice(AckError, PermissionError):
    """The caller knows of the notice but may not acknowledge it, or not without saying for whom (403)."""


class BadAckRequest(AckError, ValueError):
    """An on-behalf acknowledgement that names the wrong desk or gives no reason (400)."""


@dataclass(frozen=True)
class OnBehalf:
    """An operator or admin acknowledging a desk's notice for it: the desk (the receiver's name in the
    policy, e.g. ``secretariat-KGZ``) and why, for the audit log."""

    desk: str
    reason: str


def _key(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def _mac(secret: bytes | str, notice_id: str, day: bytes) -> bytes:
    return hmac.new(_key(secret), _CONTEXT + day + notice_id.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def ack_token(secret: bytes | str, notice_id: str, expires: date) -> str:
    """The token of a notice's link, good to the end of ``expires`` (UTC)."""
    day = (expires - _EPOCH).days.to_bytes(_DAY_BYTES, "big")
    return base64.urlsafe_b64encode(day + _mac(secret, notice_id, day)).decode()


def read_ack_token(secret: bytes | str, notice_id: str, token: str) -> date | None:
    """The last day the token is good for, if it is this notice's (constant-time check); else None."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    if not notice_id or len(raw) != _DAY_BYTES + _MAC_BYTES:
        return None
    day, mac = raw[:_DAY_BYTES], raw[_DAY_BYTES:]
    if not hmac.compare_digest(_mac(secret, notice_id, day), mac):
        return None
    return _EPOCH + timedelta(days=int.from_bytes(day, "big"))


def link_expiry(made: datetime, good_for: timedelta) -> date:
    """The last day a link made at ``made`` is good for."""
    return (made.astimezone(timezone.utc) + good_for).date()


def ack_link(base_url: str, secret: bytes | str, notice_id: str, expires: date, lang: str = SOURCE_LANGUAGE) -> str:
    """The notice's link; one in another language than English names it (``&l=ru``), so its page
    reads like the notice (``alerts.notify.link_page``)."""
    link = f"{base_url.rstrip('/')}/n/{quote(notice_id, safe='')}?t={ack_token(secret, notice_id, expires)}"
    return link if lang == SOURCE_LANGUAGE else f"{link}&{LINK_LANG_FIELD}={quote(lang, safe='')}"


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
    role: str = ""  # the signed-in principal's role; empty for the link, whose token went to the desk
    on_behalf_of: str | None = None  # the desk a centre role acknowledged for; None: the desk's own
    reason: str = ""  # why the centre acknowledged for the desk (on behalf only)
    comment: str = ""
    repeated: bool = False  # an earlier acknowledgement of this notice stands; nothing new was recorded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, rec: dict[str, Any], repeated: bool) -> "Acknowledgement":
        """From a delivery-log ``ack`` record (older records lack the fields after ``seconds``)."""
        return cls(**{k: rec[k] for k in ("notice_id", "receiver", "by", "at", "delivered_at", "seconds")},
                   role=rec.get("role", ""), on_behalf_of=rec.get("on_behalf_of"), reason=rec.get("reason", ""),
                   comment=rec.get("comment", ""), repeated=repeated)


def acknowledgement(secret: bytes | str, notice_id: str, token: str, *, receiver: str, by: str,
                    at: str | datetime, delivered_at: str | datetime) -> Acknowledgement:
    """Verify the token (good on the day of ``at``) and build the record: pure, no storage, no clock."""
    expires = read_ack_token(secret, notice_id, token)
    if expires is None:
        raise InvalidAckToken(f"the token is not valid for notice {notice_id}")
    if expires < _parse(at).date():
        raise ExpiredAckLink(notice_id, expires)
    return _build(notice_id, receiver, by, at, delivered_at)


def _build(notice_id: str, receiver: str, by: str, at: str | datetime,
           delivered_at: str | datetime, **who: Any) -> Acknowledgement:
    at_dt, delivered_dt = _parse(at), _parse(delivered_at)
    seconds = max(0.0, (at_dt - delivered_dt).total_seconds())  # clocks of two hosts may disagree a little
    return Acknowledgement(notice_id, receiver, by, iso(at_dt), iso(delivered_dt), seconds, **who)


class NoticeAcks:
    """What the web endpoint calls: verify, record once in the delivery log, observe the histogram.

    ``log`` is an :class:`alerts.notify.delivery.DeliveryLog`; ``metrics`` a
    ``streams.metrics.Metrics`` (or None); ``clock`` returns an aware UTC datetime.
    """

    def __init__(self, secret: bytes | str, log: Any, metrics: Any = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._secret = _key(secret)
        self.log, self.metrics, self.clock = log, metrics, clock

    def verify(self, notice_id: str, token: str) -> None:
        """Raise unless the token is this notice's and still good today."""
        expires = read_ack_token(self._secret, notice_id, token)
        if expires is None:
            raise InvalidAckToken(f"the token is not valid for notice {notice_id}")
        if expires < self.clock().astimezone(timezone.utc).date():
            raise ExpiredAckLink(notice_id, expires)

    def acknowledge(self, notice_id: str, token: str, by: str = "link",
                    at: datetime | None = None) -> Acknowledgement:
        """The link's acknowledgement: its token went to the desk, so it is the desk's own. Records the
        first; later ones return it with ``repeated``."""
        self.verify(notice_id, token)  # before any lookup: an outsider learns nothing about ids
        delivery = self.log.first_delivery(notice_id)
        if delivery is None:
            raise UnknownNotice(f"notice {notice_id} was never delivered")
        return self._record(delivery, by=by, at=at)

    def acknowledge_as(self, notice_id: str, principal: Principal,
                       desk_of: Callable[[str], Principal | None], *, comment: str = "",
                       on_behalf: OnBehalf | None = None, at: datetime | None = None) -> Acknowledgement:
        """A signed-in caller's acknowledgement. ``desk_of(receiver)`` is the policy receiver's principal
        (``Policy.receiver_principal``); ``Principal.notice_right`` decides, this enforces and records."""
        delivery = self.log.first_delivery(notice_id)
        receiver = delivery["receiver"] if delivery else ""
        right = principal.notice_right(desk_of(receiver)) if delivery else NOTICE_HIDDEN
        if right == NOTICE_HIDDEN:
            raise UnknownNotice(f"no notice {notice_id}")  # missing and another desk's alike
        if right == NOTICE_READ:
            raise NotYourNotice(f"{principal.role_string} may not acknowledge notice {notice_id}")
        if on_behalf is None and right == NOTICE_ON_BEHALF:
            raise NotYourNotice(f"notice {notice_id} went to {receiver}: that desk acknowledges it; to acknowledge "
                                f"it for the desk, send on_behalf_of: {receiver!r} and a reason (both are recorded)")
        if on_behalf is not None:
            if right == NOTICE_OWN:
                raise BadAckRequest(f"notice {notice_id} went to your own desk: acknowledge it without on_behalf_of")
            if on_behalf.desk != receiver:
                raise BadAckRequest(f"notice {notice_id} went to {receiver}, not to {on_behalf.desk}")
            if not on_behalf.reason.strip():
                raise BadAckRequest("an acknowledgement on behalf of a desk needs a reason")
        return self._record(delivery, by=principal.name, role=principal.role_string, on_behalf=on_behalf,
                            comment=comment, at=at)

    def _record(self, delivery: dict[str, Any], *, by: str, role: str = "", on_behalf: OnBehalf | None = None,
                comment: str = "", at: datetime | None = None) -> Acknowledgement:
        """Record an acknowledgement unless one stands: the desk's own stands against everything; an
        on-behalf one only against other on-behalf ones, so the desk's own still gets measured."""
        notice_id = delivery["notice_id"]
        standing = self.log.ack(notice_id) if on_behalf is not None else self.log.own_ack(notice_id)
        if standing is not None:
            return Acknowledgement.from_record(standing, repeated=True)
        ack = _build(notice_id, delivery["receiver"], by, at or self.clock(), delivery["at"], role=role,
                     on_behalf_of=on_behalf.desk if on_behalf else None,
                     reason=on_behalf.reason.strip() if on_behalf else "", comment=comment)
        self.log.append({"kind": "ack", **{k: v for k, v in ack.to_dict().items() if k != "repeated"}},
                        patience=ACK_PATIENCE)
        if self.metrics is not None:
            if on_behalf is None:
                self.metrics.notice_ack.labels(ack.receiver).observe(ack.seconds)
            else:
                self.metrics.notice_acks_on_behalf.labels(ack.receiver).inc()
        return ack
