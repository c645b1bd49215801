"""One POST for the HTTP sinks, with the retry classification they share."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from typing import Mapping

from alerts.notify.sinks.base import SinkError

#: 4xx that mean "try later" rather than "this request is wrong".
RETRYABLE_4XX = frozenset({408, 429})


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float, what: str) -> None:
    """POST ``body``; a 2xx returns, anything else raises :class:`SinkError` (5xx, 408, 429, network: retryable)."""
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "borderwatch-notifier",
                                          **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode(errors="replace").strip()
        raise SinkError(f"{what} {url}: HTTP {exc.code}" + (f": {detail}" if detail else ""),
                        retryable=exc.code >= 500 or exc.code in RETRYABLE_4XX) from None
    except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
        raise SinkError(f"{what} {url}: {getattr(exc, 'reason', exc)}", retryable=True) from None
