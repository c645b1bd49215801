"""Webhook: the notice as a JSON POST, signed, with the notice id as idempotency key.

Headers:

* ``X-Borderwatch-Signature: sha256=<hex HMAC-SHA256 of the raw body under the secret>``
* ``Idempotency-Key: <notice_id>``: the same on every retry and after a restart,
  so a receiver that saw a notice already can drop it.

5xx, 408, 429 and connection errors are retried by the notify chain; other 4xx
are not (the receiver has said the request itself is wrong).

Config: ``{type: webhook, url: https://..., secret_file: /run/secrets/hook, timeout?: 10}``.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any, Mapping

from alerts.notify.brief import notice_json
from alerts.notify.model import Notice
from alerts.notify.sinks.base import Sink, SinkConfigError, check_keys, check_positive, check_url
from alerts.notify.sinks.http import post

SIGNATURE_HEADER = "X-Borderwatch-Signature"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str) -> bool:
    """What a receiver runs on the raw body it got (see docs/SINKS.md)."""
    return hmac.compare_digest(sign(secret, body), header or "")


def read_secret(path: str) -> bytes:
    try:
        secret = Path(path).read_bytes().strip()
    except OSError as exc:
        raise SinkConfigError(f"webhook sink: cannot read secret_file {path}: {exc.strerror}") from None
    if not secret:
        raise SinkConfigError(f"webhook sink: secret_file {path} is empty")
    return secret


class WebhookSink(Sink):
    type = "webhook"
    REQUIRED = {"url": str, "secret_file": str}
    OPTIONAL = {"timeout": (int, float)}

    def __init__(self, url: str, secret: bytes, *, timeout: float = 10.0, name: str | None = None) -> None:
        self.url, self._secret, self.timeout = url, secret, timeout
        self.name = name or f"webhook:{url}"

    @classmethod
    def check_values(cls, config: Mapping[str, Any]) -> None:
        check_url(config)
        check_positive(config, "timeout")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "WebhookSink":
        check_keys(config, cls)
        return cls(config["url"], read_secret(config["secret_file"]), timeout=float(config.get("timeout", 10)),
                   name=config.get("name"))

    def send(self, notice: Notice) -> None:
        body = notice_json(notice)
        post(self.url, body, {SIGNATURE_HEADER: sign(self._secret, body), "Idempotency-Key": notice.notice_id},
             self.timeout, "webhook")
