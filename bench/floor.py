"""The floor of a per-event core in CPython: issue 11's point 1 asks the in-process backtest for a
quarter of a plain ``json.loads`` pass; this measures what the least per-incident work of the
default stack reaches, written as lean as plain Python allows, over the same records.

Not a pipeline, and nothing reads its levels: no dead letters, explanations, evidence, state
encoding, late events, spill-over or arms transfers. Per incident it does only what the default
stack cannot do without:

* decode the record and check the types of the fields it reads, parse its time;
* route it to its border's key (a dict lookup; no geometry);
* on a new day, roll the key's 7/30/365-day sums of incidents, violent incidents, intrusions and
  deaths over a ring of daily buckets, keep the past year's highest 30-day death toll (a monotonic
  queue), learn each closed day into the CUSUM's baseline rate, and age the decayed counts (3
  classes x the model's half-lives);
* add the incident to its bucket, the sums and the decayed counts;
* score: the packaged hazard model's log-odds over its real inputs (log counts, quiet band,
  intrusions) and weights, one CUSUM step, the fatality rule, a surge score (a normal tail of the
  week's count against the prior weeks' rate); the highest of them, decided into a level with the
  escalation rule's raise and clear lines;
* on each day boundary of a key with a level open, the same scoring again (levels fall there).

``python -m bench.floor`` prints its rate, a ``json.loads`` pass over the same records (best of
three, as ``make bench``'s), and the ratio. Read it as an upper bound of what a rewrite of the
per-event path in CPython could reach, not as a figure of borderwatch.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import deque
from datetime import datetime

from alerts.escalation import EscalationPolicy
from detectors import features as F
from detectors.hazard import MODEL_HALF_LIVES, QUIET_EDGES
from streams.models import load_model
from streams.records import INTRUSION_CATEGORIES, VIOLENT_CATEGORIES

RING = 400  # daily buckets kept per key: a year and a month's margin
FIELDS = (("event_id", str), ("occurred_at", str), ("category", str), ("severity", int), ("fatalities", int),
          ("countries", list))
FACTORS = tuple(2.0 ** (-1.0 / h) for h in MODEL_HALF_LIVES)
DISCOUNT = 1.0 - 1.0 / 730  # the CUSUM's two-year memory (detectors/change.py)


class Key:
    __slots__ = ("day", "ring", "w7", "w30", "w365", "deaths30_days", "prior_high", "decayed", "last_fatal",
                 "cusum", "shape", "rate", "level", "seen")

    def __init__(self) -> None:
        self.day = None
        self.ring = [[0, 0, 0, 0] for _ in range(RING)]  # incidents, violent, intrusions, deaths
        self.w7, self.w30, self.w365 = [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]
        self.deaths30_days: deque = deque()  # (day, 30-day deaths), decreasing: the past year's high first
        self.prior_high = 0
        self.decayed = [0.0] * (3 * len(MODEL_HALF_LIVES))
        self.last_fatal = None
        self.cusum, self.shape, self.rate, self.level = 0.0, 2.0, 100.0, 0
        self.seen: set = set()


class Floor:
    def __init__(self) -> None:
        model = load_model()
        w = [c / s for c, s in zip(model.coef, model.scale)]
        self.weights = w
        self.bias = model.intercept - sum(wi * m for wi, m in zip(w, model.mean))
        self.score_of_p = model.score
        policy = EscalationPolicy()
        self.raise_at, self.clear_below = policy.raise_at, policy.clear_below
        self.keys: dict[str, Key] = {}

    def _roll(self, k: Key, day: int) -> None:
        """Move ``k`` to ``day``: the buckets leaving each window, the death high, the decay."""
        if k.day is None:
            k.day = day
            return
        gap = day - k.day
        if gap <= 0:
            return
        ring = k.ring
        for d in range(k.day + 1, k.day + 1 + min(gap, RING)):
            closed = ring[(d - 1) % RING][0]  # the day before, learned as the CUSUM's baseline
            k.shape, k.rate = k.shape * DISCOUNT + closed, k.rate * DISCOUNT + 1.0
            for window, days in ((k.w7, 7), (k.w30, 30), (k.w365, 365)):
                old = ring[(d - days) % RING]
                for i in range(4):
                    window[i] -= old[i]
            ring[d % RING] = [0, 0, 0, 0]
            q, deaths = k.deaths30_days, k.w30[3]
            while q and q[-1][1] <= deaths:
                q.pop()
            q.append((d, deaths))
            while q[0][0] <= d - 365:
                q.popleft()
        k.prior_high = k.deaths30_days[0][1]
        n = len(FACTORS)
        k.decayed = [v * FACTORS[i % n] ** gap if v else 0.0 for i, v in enumerate(k.decayed)]
        k.day = day

    def _score(self, k: Key) -> float:
        log1p = math.log1p
        x = [log1p(v) for v in k.decayed]
        quiet = F.NEVER if k.last_fatal is None else k.day - k.last_fatal
        band = sum(quiet >= e for e in QUIET_EDGES)
        x.extend(1.0 if i == band else 0.0 for i in range(len(QUIET_EDGES) + 1))
        x.append(log1p(k.w7[2]))
        z = self.bias
        for wi, xi in zip(self.weights, x):
            z += wi * xi
        hazard = self.score_of_p(1.0 / (1.0 + math.exp(-z)))
        today = k.ring[k.day % RING]
        lam0 = max(k.shape / k.rate, 1e-4)
        step = k.cusum + today[0] * math.log(3.0) - 2.0 * lam0
        k.cusum = 10.0 if step > 10.0 else step if step > 0.0 else 0.0
        cusum = 1.0 - math.exp(-k.cusum)
        fatal = 0.95 if k.w30[3] > k.prior_high else 0.0
        mean = (k.w365[0] - k.w7[0]) / F.PRIOR_WEEKS
        surge = 0.5 * (1.0 + math.erf((k.w7[0] - mean) / math.sqrt(2.0 * (mean + 1.0))))
        return max(hazard, 0.8 * cusum, fatal, surge)

    def _decide(self, k: Key, score: float, may_raise: bool) -> None:
        level = k.level
        if may_raise:
            while level < 3 and score >= self.raise_at[level + 1]:
                level += 1
        while level > 0 and score < self.clear_below[level]:
            level -= 1
        k.level = level

    def feed(self, key: bytes, raw: bytes) -> None:
        rec = json.loads(raw)
        for name, kind in FIELDS:
            if not isinstance(rec.get(name), kind):
                return
        day = datetime.fromisoformat(rec["occurred_at"]).toordinal()
        k = self.keys.get(key) or self.keys.setdefault(key, Key())
        if rec["event_id"] in k.seen:
            return
        k.seen.add(rec["event_id"])
        if k.day is not None and day < k.day:
            day = k.day  # a late report: counted today (the floor keeps no history to place it)
        while k.level and k.day is not None and k.day < day:  # each boundary while a level is open
            self._roll(k, k.day + 1)
            self._decide(k, self._score(k), may_raise=False)
        self._roll(k, day)
        category, deaths, severity = rec["category"], rec["fatalities"], rec["severity"]
        counts = (1, int(category in VIOLENT_CATEGORIES), int(category in INTRUSION_CATEGORIES), deaths)
        for bucket in (k.ring[day % RING], k.w7, k.w30, k.w365):
            for i in range(4):
                bucket[i] += counts[i]
        cls = F.incident_class(severity, deaths)
        n = len(FACTORS)
        for i in range(n):
            k.decayed[cls * n + i] += 1.0
        if deaths:
            k.last_fatal = day
        self._decide(k, self._score(k), may_raise=True)


def floor_rate(items) -> float:
    """Incidents a second through :class:`Floor`, over ``items`` (key, raw) as ``make bench`` feeds them."""
    floor = Floor()
    t0 = time.perf_counter()
    for key, raw in items:
        floor.feed(key, raw)
    return len(items) / (time.perf_counter() - t0)


def main() -> int:
    from bench.harness import N, json_loads_rate, payloads

    items = payloads(N)
    loads = json_loads_rate(items)
    rate = floor_rate(items)
    print(json.dumps({"events": N, "floor_per_s": round(rate), "json_loads_per_s": round(loads),
                      "floor_over_json_loads": round(rate / loads, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
