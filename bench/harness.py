"""What the bench's runs share: the synthetic incidents they produce, and a ``borderwatch worker``
subprocess to run them through, with the reading of its /metrics."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alerts.timefmt import iso
from streams.broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parent.parent
BORDERS = [("KGZ", "TJK"), ("KGZ", "UZB"), ("TJK", "UZB"), ("AFG", "TJK"), ("KAZ", "KGZ"), ("AFG", "TKM"),
           ("KAZ", "UZB"), ("TKM", "UZB")]
CATEGORIES = ["armed_clash", "shelling", "incursion", "detention", "smuggling_interdiction", "fortification"]


def payloads(n: int, seed: int = 11) -> list[tuple[bytes, bytes]]:
    """Incidents over ~3 years on 8 borders, a third geolocated near KGZ-TJK, in event-time order."""
    rng = random.Random(seed)
    t0 = datetime(2019, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        a, b = rng.choice(BORDERS)
        when = t0 + timedelta(seconds=int(i * (3 * 365 * 86400 / n)))
        rec = {"event_id": f"bench-{i}", "occurred_at": iso(when),
               "reported_at": iso(when), "source": "bench",
               "category": rng.choice(CATEGORIES), "severity": rng.randint(1, 5),
               "fatalities": rng.choice([0] * 30 + [1, 2]), "injuries": rng.choice([0] * 10 + [1]),
               "countries": [a, b]}
        if (a, b) == ("KGZ", "TJK") and rng.random() < 0.5:
            rec["latitude"], rec["longitude"] = 39.9 + rng.random() * 0.5, 69.6 + rng.random() * 1.5
        out.append((f"{a}-{b}".encode(), json.dumps(rec, separators=(",", ":")).encode()))
    return out


def metric_sum(text: str, name: str) -> float:
    """The sum of every series of the metric ``name`` in a Prometheus text exposition."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def start_worker(broker: EmbeddedBroker, prefix: str, tmp: Path, port: int, token: str, name: str = "worker",
                 **env: str) -> subprocess.Popen:
    """A ``borderwatch worker`` subprocess on ``broker``: app id ``<prefix>-worker``, topics under ``prefix``,
    its data directory and log (``<name>.log``) under ``tmp``; ``env`` adds ``BORDERWATCH_*`` settings."""
    env = {**os.environ, "BORDERWATCH_API_TOKEN": token, "BORDERWATCH_SESSION_TIMEOUT": "4", **env}
    with open(tmp / f"{name}.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "streams.cli", "worker", "--broker", broker.url, "--web-port",
                                 str(port), "--app-id", f"{prefix}-worker", "--topic-prefix", prefix,
                                 "--data-dir", str(tmp / name)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
