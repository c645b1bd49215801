"""``borderwatch generate``: seeded synthetic labelled streams, for evaluation and load.

Incidents per border follow a discrete-time self-exciting (Hawkes) process: each day's count
is Poisson with rate ``base + excitation``, every incident adds ``alpha`` to the excitation,
and the excitation decays by ``exp(-beta)`` a day. The branching ratio
``n = alpha / (1 - exp(-beta))`` (0.76 by default) is the expected number of follow-on
incidents per incident, so a border's long-run rate is ``base / (1 - n)`` and its incidents
come in clusters (weekly counts are overdispersed, unlike a plain Poisson stream).

What is injected, and how it is labelled (``episode_id,border,start,end,kind`` in the labels
CSV beside the output):

* **escalations** (``kind=escalation``, border pair): a 30-day build-up in which the base rate
  climbs to 5x (the precursor an early-warning system can see), then a violent phase of 3-11
  days at two incidents a day (at least one on the onset day) with clashes, shelling and drone
  strikes, half of them deadly. Violent categories occur nowhere else.
* **internal unrest** (``kind=negative_control``, border = the state): 3-10 days of protests
  in one state that spill into the incident streams of all its borders (about one a day per
  border, no deaths). They are labelled so that the evaluation checks that no border alert
  opens during them; protests occur nowhere else. They do not excite the border process.
* **isolated deadly incidents** (unlabelled, about one per border every four years): a smuggler
  shot at an interdiction, one death, outside every escalation window. Real borders have them;
  without them a fatality rule would look perfect on synthetic data by construction.
* **noise bursts** (unlabelled): 3 days of calm-category incidents (detentions, fortification,
  ...) at +1.5 a day. An alert on them is a false alarm.
* **long quiet periods** (unlabelled): spells of months with no base rate at all, kept clear
  of the escalations; the first incident after one tests a detector's sparse-data behaviour.
* **late and duplicate reports**: the JSONL is in *report* order; a share of incidents is
  reported 1-10 days late and some twice (same ``event_id``, another source, a day later).
  Backtest and replay re-sort by event time and drop the duplicates.
* **arms deliveries** (``mixed``): yearly deliveries to every state, doubling for the sides of
  an escalating border in the two years before its first episode.

Scenarios (``--scenario``): see ``SCENARIOS``; same name and seed, same bytes.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alerts.borders import border_id, states_of
from alerts.timefmt import iso
from streams.labels import LABEL_COLUMNS
from streams.records import INCIDENT_CATEGORIES, VIOLENT_CATEGORIES, encode, incident_from_dict, transfer_from_dict


@dataclass(frozen=True)
class Scenario:
    borders: tuple[tuple[str, str], ...]
    days: int
    escalations: int  # per border that escalates
    escalating_borders: int
    doc: str = ""
    base_rate: float = 0.03  # incidents per day on a quiet border, before self-excitation
    escalation_rate: float = 2.0  # incidents per day in an escalation's violent phase, likewise
    alpha: float = 0.3
    beta: float = 0.5
    noise_bursts: int = 2  # per border
    quiet_spells: int = 0  # per border
    quiet_days: tuple[int, int] = (150, 300)
    unrest: int = 0  # internal-unrest episodes (negative controls) in the scenario
    unrest_rate: float = 1.0  # protests a day on each of the state's borders
    isolated_deaths: float = 0.25  # deadly one-off incidents per border-year, outside escalations
    late_share: float = 0.1
    duplicate_share: float = 0.03
    arms: bool = False

    @property
    def branching(self) -> float:
        return self.alpha / (1.0 - math.exp(-self.beta))


SCENARIOS = {
    "quiet": Scenario((("KGZ", "TJK"), ("KAZ", "UZB"), ("TKM", "UZB")), 730, 0, 0, quiet_spells=1, unrest=1,
                      doc="three borders, two years, no escalation: every alert is a false alarm"),
    "escalation": Scenario((("KGZ", "TJK"), ("KGZ", "UZB"), ("TJK", "UZB")), 1095, 1, 3, unrest=1,
                           doc="three borders, three years, one escalation each, noise bursts, unrest in one state"),
    "mixed": Scenario((("KGZ", "TJK"), ("KGZ", "UZB"), ("TJK", "UZB"), ("AFG", "TJK"), ("KAZ", "UZB"),
                       ("TKM", "UZB")), 1826, 2, 3, quiet_spells=1, unrest=2, arms=True,
                      doc="six borders, five years, two escalations on three of them, arms deliveries ramping up "
                          "before them, quiet spells, unrest; the default for load tests"),
    "dormant": Scenario((("KGZ", "TJK"), ("TJK", "UZB"), ("AFG", "TJK")), 2191, 1, 2, base_rate=0.01,
                        noise_bursts=1, quiet_spells=2, quiet_days=(300, 500),
                        doc="three sparse borders, six years, long quiet spells, one escalation on two of them"),
}
START = datetime(2015, 1, 1, tzinfo=timezone.utc)
CALM = ["fortification", "smuggling_interdiction", "detention", "incursion", "threat"]
#: in the schema's order, as the seeds' bytes were first drawn with
VIOLENT = [c for c in INCIDENT_CATEGORIES if c in VIOLENT_CATEGORIES]
UNREST = "protest"
ISOLATED = "smuggling_interdiction"
BUILD_UP_DAYS = 30
#: Labelled episodes start after this many days, so detectors have some history first.
WARM_UP_DAYS = 120


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


def _date(day: int) -> str:
    return (START + timedelta(days=day)).date().isoformat()


def _place(rng: random.Random, first: int, last: int, length: int, busy: list[tuple[int, int]],
           tries: int = 50) -> int | None:
    """A start day in [first, last - length] for a ``length``-day span clear of every (lo, hi) in
    ``busy``, or None."""
    for _ in range(tries):
        lo = rng.randint(first, max(last - length, first))
        if all(lo + length < b_lo or lo > b_hi for b_lo, b_hi in busy):
            return lo
    return None


class _Builder:
    """Accumulates one scenario's reports and labels."""

    def __init__(self, name: str, sc: Scenario, seed: int) -> None:
        self.name, self.sc, self.seed = name, sc, seed
        self.rng = random.Random(seed)
        self.reports: list[tuple[datetime, int, bytes]] = []  # (reported_at, tie-break, record)
        self.labels: list[dict] = []
        self.serial = 0

    def label(self, episode_id: str, border: str, lo: int, hi: int, kind: str) -> None:
        self.labels.append({"episode_id": episode_id, "border": border, "start": _date(lo), "end": _date(hi),
                            "kind": kind})

    def escalations(self) -> dict[str, list[tuple[int, int]]]:
        sc, rng = self.sc, self.rng
        phases: dict[str, list[tuple[int, int]]] = {}
        for b_index, (a, b) in enumerate(sc.borders[:sc.escalating_borders]):
            border = border_id(a, b)
            for k in range(sc.escalations):
                lo = WARM_UP_DAYS + k * (sc.days - 150) // sc.escalations
                hi = lo + (sc.days - 150) // sc.escalations - 60
                onset = rng.randint(lo, max(lo, hi))
                end = onset + rng.randint(2, 10)
                phases.setdefault(border, []).append((onset, end))
                self.label(f"{self.name}-{border}-{k + 1}", border, onset, end, "escalation")
        return phases

    def unrest(self, phases: dict[str, list[tuple[int, int]]]) -> dict[str, list[tuple[int, int]]]:
        """Internal-unrest spans per border, clear of every escalation window on the state's borders."""
        sc, rng = self.sc, self.rng
        states = sorted({s for pair in sc.borders for s in pair})
        spans: dict[str, list[tuple[int, int]]] = {}
        for k in range(sc.unrest):
            state = rng.choice(states)
            borders = [border_id(a, b) for a, b in sc.borders if state in (a, b)]
            busy = [(on - 60, end + 3) for bd in borders for on, end in phases.get(bd, [])]
            busy += [span for bd in borders for span in spans.get(bd, [])]
            length = rng.randint(3, 10)
            lo = _place(rng, WARM_UP_DAYS, sc.days - 30, length, busy)
            if lo is None:
                continue
            for bd in borders:
                spans.setdefault(bd, []).append((lo, lo + length - 1))
            self.label(f"{self.name}-unrest-{state}-{k + 1}", state, lo, lo + length - 1, "negative_control")
        return spans

    def border(self, a: str, b: str, phases: list[tuple[int, int]], unrest: list[tuple[int, int]]) -> None:
        sc, rng = self.sc, self.rng
        bursts = {rng.randint(0, sc.days - 5) for _ in range(sc.noise_bursts)}
        quiet: list[tuple[int, int]] = []
        for _ in range(sc.quiet_spells):
            length = rng.randint(*sc.quiet_days)
            lo = _place(rng, 0, sc.days - 1, length, [(on - 90, end + 30) for on, end in phases] + quiet)
            if lo is not None:
                quiet.append((lo, lo + length - 1))
        windows = [(on - 60, end + 3) for on, end in phases]
        isolated = set()
        for _ in range(_poisson(rng, sc.isolated_deaths * sc.days / 365.25)):
            lo = _place(rng, 0, sc.days - 1, 1, windows)
            if lo is not None:
                isolated.add(lo)
        excitation = 0.0
        for day in range(sc.days):
            rate, violent = sc.base_rate, False
            if any(lo <= day <= hi for lo, hi in quiet):
                rate = 0.0
            for onset, end in phases:
                if onset - BUILD_UP_DAYS <= day < onset:  # build-up: the precursor
                    rate *= 1 + 4 * (day - onset + BUILD_UP_DAYS) / BUILD_UP_DAYS
                elif onset <= day <= end:
                    rate, violent = sc.escalation_rate, True
            if any(s <= day < s + 3 for s in bursts):
                rate += 1.5
            count = _poisson(rng, rate + excitation)
            if violent and any(day == onset for onset, _ in phases):
                count = max(count, 1)  # the onset is the first day of violence, by definition
            excitation = excitation * math.exp(-sc.beta) + sc.alpha * count
            for _ in range(count):
                self.incident(a, b, day, "violent" if violent else "calm")
            if day in isolated:
                self.incident(a, b, day, "isolated")
            if any(lo <= day <= hi for lo, hi in unrest):
                for _ in range(_poisson(rng, sc.unrest_rate)):
                    self.incident(a, b, day, "unrest")

    def incident(self, a: str, b: str, day: int, kind: str) -> None:
        sc, rng = self.sc, self.rng
        self.serial += 1
        when = START + timedelta(days=day, seconds=rng.randint(0, 86399))
        if kind == "violent":
            category, severity = rng.choice(VIOLENT), rng.randint(3, 5)
            deaths = rng.choice([1, 1, 2, 3, 6]) if rng.random() < 0.5 else 0
            injuries = deaths * rng.randint(0, 3)
        elif kind == "isolated":
            category, severity, deaths, injuries = ISOLATED, 3, 1, rng.randint(0, 1)
        elif kind == "unrest":
            category, severity, deaths, injuries = UNREST, rng.randint(1, 2), 0, rng.randint(0, 3)
        else:
            category, severity, deaths, injuries = rng.choice(CALM), rng.randint(1, 3), 0, 0
        delay = timedelta(hours=rng.randint(1, 12))
        if rng.random() < sc.late_share:
            delay += timedelta(days=rng.randint(1, 10))
        rec = {"event_id": f"gen-{self.seed}-{self.serial}", "occurred_at": iso(when),
               "reported_at": iso(when + delay), "source": "synthetic", "category": category,
               "severity": severity, "fatalities": deaths, "injuries": injuries, "countries": [a, b]}
        self.reports.append((when + delay, self.serial, encode(incident_from_dict(rec))))
        if rng.random() < sc.duplicate_share:
            again = when + delay + timedelta(days=1)
            dup = dict(rec, source="synthetic-second-report", reported_at=iso(again))
            self.reports.append((again, self.serial, encode(incident_from_dict(dup))))

    def arms(self) -> None:
        """Yearly deliveries to every state, doubling for the sides of an escalating border in the
        two years before its first episode."""
        sc, rng = self.sc, self.rng
        states = sorted({s for pair in sc.borders for s in pair})
        first_onset: dict[str, int] = {}
        for lab in self.labels:
            if lab["kind"] == "escalation":
                year = int(lab["start"][:4])
                for s in states_of(lab["border"]):
                    first_onset[s] = min(first_onset.get(s, year), year)
        for s in states:
            for y in range(START.year, START.year + sc.days // 365 + 1):
                ramp = s in first_onset and first_onset[s] - 2 <= y < first_onset[s]
                tiv = rng.uniform(2, 10) * (2.0 if ramp else 1.0)
                rec = {"transfer_id": f"gen-{self.seed}-{s}-{y}", "supplier": "Synthetic", "recipient": s,
                       "order_year": y - 1, "delivery_years": [y], "quantity": rng.randint(1, 12),
                       "weapon_category": "armed UAV", "designation": "SYN-1", "tiv": round(tiv, 3),
                       "status": "New", "source": "synthetic", "occurred_at": f"{y}-07-01T00:00:00Z"}
                self.reports.append((datetime(y, 7, 1, tzinfo=timezone.utc), 0, encode(transfer_from_dict(rec))))


def generate(scenario: str | Scenario, seed: int = 0, name: str | None = None) -> tuple[list[bytes], list[dict]]:
    """Encoded records in report order, and the labelled episodes.

    ``scenario`` is a name from ``SCENARIOS`` or a :class:`Scenario` (``name`` then prefixes
    the episode ids).
    """
    if isinstance(scenario, str):
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}")
        name, scenario = scenario, SCENARIOS[scenario]
    build = _Builder(name or "custom", scenario, seed)
    phases = build.escalations()
    unrest = build.unrest(phases)
    for a, b in scenario.borders:
        build.border(a, b, phases.get(border_id(a, b), []), unrest.get(border_id(a, b), []))
    if scenario.arms:
        build.arms()
    build.reports.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in build.reports], build.labels


def labels_path_for(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name.removesuffix(".jsonl") + ".labels.csv")


def write(name: str, out: str | Path, seed: int = 0) -> tuple[int, int]:
    records, labels = generate(name, seed)
    Path(out).write_bytes(b"\n".join(records) + b"\n")
    with open(labels_path_for(out), "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=LABEL_COLUMNS, lineterminator="\n")
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
