"""bench.floor: the floor it measures does the window and decay arithmetic it claims, exactly."""

import json
from datetime import datetime

from bench.floor import FACTORS, Floor
from bench.harness import payloads
from detectors import features as F


def test_the_floor_keeps_each_keys_windows_and_decayed_counts_as_a_recount_gives_them():
    items = payloads(3000)
    floor = Floor()
    for key, raw in items:
        floor.feed(key, raw)
    assert len(floor.keys) >= 8 and any(k.level for k in floor.keys.values())
    for key, k in floor.keys.items():
        records = [json.loads(raw) for kk, raw in items if kk == key]
        days = [(datetime.fromisoformat(r["occurred_at"]).toordinal(), r) for r in records]
        for window, span in ((k.w7, 7), (k.w30, 30), (k.w365, 365)):
            inside = [r for d, r in days if k.day - span < d <= k.day]
            assert window[0] == len(inside) and window[3] == sum(r["fatalities"] for r in inside), (key, span)
        n = len(FACTORS)
        expect = [0.0] * len(k.decayed)
        for d, r in days:
            cls = F.incident_class(r["severity"], r["fatalities"])
            for i in range(n):
                expect[cls * n + i] += FACTORS[i] ** (k.day - d)
        assert all(abs(a - b) < 1e-9 * max(1.0, b) for a, b in zip(k.decayed, expect)), key
