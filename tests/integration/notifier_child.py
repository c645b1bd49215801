"""A notifier process for the kill/restart test: one notice to one webhook, with hour-long backoff.

Run as ``python -m tests.integration.notifier_child LOG URL SECRET_FILE``; prints the outcomes as JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime, timezone

from alerts.notify.delivery import DeliveryLog, Notifier, RetryPolicy
from alerts.notify.sinks import build_sink
from tests.notice_fixtures import renderer, request


def main(log_path: str, url: str, secret_file: str) -> None:
    sink = build_sink({"type": "webhook", "url": url, "secret_file": secret_file, "timeout": 5})
    notifier = Notifier(DeliveryLog(log_path), {"secretariat-KGZ": [sink]}, renderer(datetime.now(timezone.utc)),
                        retry=RetryPolicy(attempts=3, initial=3600))  # the test kills it during the wait
    print(json.dumps([asdict(o) for o in notifier.notify(request())]), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
