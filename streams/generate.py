"""``borderwatch generate``: seeded synthetic labelled streams, for evaluation and load.

Incidents per border follow a discrete-time self-exciting (Hawkes) process: each day's count
is Poisson with rate ``base + excitation``, and every incident adds ``alpha`` to the
excitation, which decays by ``exp(-beta)`` a day. Escalation episodes are injected with a
build-up (the base rate climbs over the 30 days before onset, the precursor an early-warning
system can see) and a violent phase with fatalities; they are written to a labels CSV beside
the output (``episode_id,border,start,end,kind``). Noise bursts (protests and detentions
without casualties) are not labelled: a good detector should not alarm on them.

The JSONL is in *report* order: a share of incidents is reported days late, and some are
reported twice (same ``event_id``, another source). Replay and backtest re-sort by event
time; the late and duplicate reports exercise the grace period and de-duplication.

Scenarios (``--scenario``):

* ``quiet``     -- three borders, two years, no escalation: every alert is a false alarm;
* ``escalation``-- three borders, three years, one escalation each plus noise bursts;
* ``mixed``     -- six borders, five years, escalations on some, arms deliveries ramping up
  before them, late and duplicate reports; the default for load tests.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from streams.records import encode, incident_from_dict, transfer_from_dict


@dataclass(frozen=True)
class Scenario:
    borders: tuple[tuple[str, str], ...]
    days: int
    escalations: int  # per border that escalates
    escalating_borders: int
    base_rate: float = 0.03  # incidents per day on a quiet border
    alpha: float = 0.3
    beta: float = 0.5
    noise_bursts: int = 2  # per border
    late_share: float = 0.1
    duplicate_share: float = 0.03
    arms: bool = False


SCENARIOS = {
    "quiet": Scenario((("KGZ", "TJK"), ("KAZ", "UZB"), ("TKM", "UZB")), 730, 0, 0),
    "escalation": Scenario((("KGZ", "TJK"), ("KGZ", "UZB"), ("TJK", "UZB")), 1095, 1, 3),
    "mixed": Scenario((("KGZ", "TJK"), ("KGZ", "UZB"), ("TJK", "UZB"), ("AFG", "TJK"), ("KAZ", "UZB"),
                       ("TKM", "UZB")), 1826, 2, 3, arms=True),
}
START = datetime(2015, 1, 1, tzinfo=timezone.utc)
CALM = ["fortification", "smuggling_interdiction", "detention", "incursion", "threat"]
VIOLENT = ["armed_clash", "shelling", "drone_strike"]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation keeps large rates cheap
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def generate(name: str, seed: int = 0) -> tuple[list[bytes], list[dict]]:
    """Encoded records in report order, and the labelled episodes."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    sc = SCENARIOS[name]
    rng = random.Random(seed)
    reports: list[tuple[datetime, int, bytes]] = []  # (reported_at, tie-break, record)
    labels: list[dict] = []
    serial = 0
    for b_index, (a, b) in enumerate(sc.borders):
        border = f"{min(a, b)}-{max(a, b)}"
        onsets = []
        if b_index < sc.escalating_borders:
            for k in range(sc.escalations):
                lo = 120 + k * (sc.days - 150) // max(sc.escalations, 1)
                hi = lo + (sc.days - 150) // max(sc.escalations, 1) - 60
                onsets.append(rng.randint(lo, max(lo, hi)))
        phases = []  # (onset, end)
        for n, onset in enumerate(onsets):
            end = onset + rng.randint(2, 10)
            phases.append((onset, end))
            labels.append({"episode_id": f"{name}-{border}-{n + 1}", "border": border,
                           "start": (START + timedelta(days=onset)).date().isoformat(),
                           "end": (START + timedelta(days=end)).date().isoformat(), "kind": "escalation"})
        bursts = {rng.randint(0, sc.days - 5) for _ in range(sc.noise_bursts)}
        excitation = 0.0
        for day in range(sc.days):
            rate = sc.base_rate
            violent = False
            for onset, end in phases:
                if onset - 30 <= day < onset:  # build-up: the precursor
                    rate *= 1 + 4 * (day - onset + 30) / 30
                elif onset <= day <= end:
                    rate, violent = rate * 40, True
            if any(s <= day < s + 3 for s in bursts):
                rate += 1.5
            count = _poisson(rng, rate + excitation)
            excitation = excitation * math.exp(-sc.beta) + sc.alpha * count
            for _ in range(count):
                serial += 1
                when = START + timedelta(days=day, seconds=rng.randint(0, 86399))
                fat = rng.choice([0, 1, 1, 2, 3, 6]) if violent and rng.random() < 0.5 else 0
                delay = timedelta(hours=rng.randint(1, 12))
                if rng.random() < sc.late_share:
                    delay += timedelta(days=rng.randint(1, 10))
                rec = {"event_id": f"gen-{seed}-{serial}", "occurred_at": _iso(when), "reported_at": _iso(when + delay),
                       "source": "synthetic", "category": rng.choice(VIOLENT if violent else CALM),
                       "severity": rng.randint(3, 5) if violent else rng.randint(1, 3), "fatalities": fat,
                       "injuries": fat * rng.randint(0, 3), "countries": [a, b]}
                raw = encode(incident_from_dict(rec))
                reports.append((when + delay, serial, raw))
                if rng.random() < sc.duplicate_share:
                    dup = dict(rec, source="synthetic-second-report", reported_at=_iso(when + delay + timedelta(days=1)))
                    reports.append((when + delay + timedelta(days=1), serial, encode(incident_from_dict(dup))))
    if sc.arms:
        reports.extend(_arms(sc, labels, rng, seed))
    reports.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in reports], labels


def _arms(sc: Scenario, labels: list[dict], rng: random.Random, seed: int):
    """Yearly deliveries to every state, doubling for the sides of an escalating border in the
    two years before its first episode."""
    states = sorted({s for pair in sc.borders for s in pair})
    first_onset: dict[str, int] = {}
    for lab in labels:
        year = int(lab["start"][:4])
        for s in lab["border"].split("-"):
            first_onset[s] = min(first_onset.get(s, year), year)
    out = []
    years = range(START.year, START.year + sc.days // 365 + 1)
    for s in states:
        for y in years:
            tiv = rng.uniform(2, 10) * (2.0 if s in first_onset and first_onset[s] - 2 <= y < first_onset[s] else 1.0)
            rec = {"transfer_id": f"gen-{seed}-{s}-{y}", "supplier": "Synthetic", "recipient": s, "order_year": y - 1,
                   "delivery_years": [y], "quantity": rng.randint(1, 12), "weapon_category": "armed UAV",
                   "designation": "SYN-1", "tiv": round(tiv, 3), "status": "New", "source": "synthetic",
                   "occurred_at": f"{y}-07-01T00:00:00Z"}
            at = datetime(y, 7, 1, tzinfo=timezone.utc)
            out.append((at, 0, encode(transfer_from_dict(rec))))
    return out


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def labels_path_for(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name.removesuffix(".jsonl") + ".labels.csv")


def write(name: str, out: str | Path, seed: int = 0) -> tuple[int, int]:
    records, labels = generate(name, seed)
    Path(out).write_bytes(b"\n".join(records) + b"\n")
    with open(labels_path_for(out), "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["episode_id", "border", "start", "end", "kind"], lineterminator="\n")
        w.writeheader()
        w.writerows(labels)
    return len(records), len(labels)


def summary(records: list[bytes]) -> dict:
    kinds = {"incidents": 0, "transfers": 0}
    for r in records:
        kinds["transfers" if b'"transfer_id"' in r else "incidents"] += 1
    ids = [json.loads(r).get("event_id") for r in records if b'"event_id"' in r]
    kinds["duplicate_reports"] = len(ids) - len(set(ids))
    return kinds
