"""The arms race on a land border: both sides taking arms well above their own past.

Pure: no I/O, nothing of streams/ or alerts/. The pipeline hands it each side's acquisitions
(SIPRI-style records: deliveries and orders) and a year; it answers with a level and an
explanation in plain words. docs/DETECTION.md ("Arms race") says what it measures and where it
fails.

**A side is arming** in the window of the ``WINDOW_YEARS`` years ending with ``year`` when

* its TIV committed in the window is at least ``FLOOR_TIV`` and at least ``RATIO`` times what
  it took in an average window of the ``BASELINE_YEARS`` years before (volume), or
* it acquired in the window a kind of capability (:func:`capability_of`) it never had before in
  its record (a new capability).

TIV is *committed*: an order counts its whole TIV at its order year (an order is the earlier
signal); a delivery counts at its delivery year only when the order of its deal was not seen
(so a deal is never counted twice).

**The pair** raises nothing unless both sides are arming. Both arming is ``watch``; it is
``warning`` when both sides' arming includes a new capability, or both volumes are at least
``FAR_RATIO`` times their baselines. Why: a new kind of weapon on each side is a qualitative
response to the other (drones on both sides of the 2021-2022 Kyrgyz-Tajik clashes), which
volume alone (TIV) does not show; and a volume five times a side's own past on both sides is
no longer the lumpiness of a small importer's one helicopter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from detectors.calibration import LEVEL_NAMES

#: Years in the trailing window, ending with the year assessed. SIPRI dates by year only and
#: spreads a deal's deliveries over two or three years, and a response to a neighbour's arming
#: (an order, then its delivery) takes about as long: three years hold one such round.
WINDOW_YEARS = 3
#: Years before the window that make a side's baseline. Small importers take arms in lumps
#: (one helicopter, one batch of second-hand APCs); a decade averages the lumps out.
BASELINE_YEARS = 10
#: How far above its own baseline (per window) a side's window must be to count as arming by
#: volume: twice is a doubling, not the year-to-year noise of a lumpy record.
RATIO = 2.0
#: The least TIV (millions) a window must hold to count as arming by volume, so that a side with
#: next to nothing in its baseline is not "arming" on a few second-hand trucks (2 APCs ~ 0.3).
FLOOR_TIV = 10.0
#: Volume this far above baseline on both sides makes a warning without any new capability.
FAR_RATIO = 5.0
#: What a side's record must keep to assess any later year: the window and the baseline before it.
KEEP_YEARS = WINDOW_YEARS + BASELINE_YEARS
#: How far back from the newest year received a pair's first assessment goes (a live worker meets
#: the whole register at once; a decade of arms-race history is what a desk reads back).
HISTORY_YEARS = 10

#: Levels as the alerts speak of them (index 0: none).
NONE, WATCH, WARNING = 0, 1, 2
LEVELS = ("none", LEVEL_NAMES[0], LEVEL_NAMES[1])

#: New kinds of capability, apart from volume.
ARMED_DRONES = "armed drones"
ROCKET_ARTILLERY = "rocket artillery"
#: Surface-to-air missile *systems* (not their missiles, which restock a system already held,
#: nor portable SAMs, an infantry weapon almost every army has): area air defence answers the
#: other side's aircraft and drones.
AIR_DEFENCE = "air defence"
CAPABILITIES = (ARMED_DRONES, ROCKET_ARTILLERY, AIR_DEFENCE)

_MRL = re.compile(r"\b(multiple rocket launcher|MRL)\b", re.IGNORECASE)
_ARMED_DRONE = re.compile(r"\b(armed UAV|loitering munition)\b", re.IGNORECASE)
_SAM_SYSTEM = re.compile(r"^(mobile )?SAM system$", re.IGNORECASE)


def capability_of(description: str, designation: str = "") -> str | None:
    """The new kind of capability a weapon gives, from SIPRI's description; None for the rest.

    ``"armed UAV"`` and ``"loitering munition"`` -> armed drones; ``"multiple rocket launcher"``,
    ``"MRL"``, ``"self-propelled MRL"`` -> rocket artillery; ``"SAM system"``, ``"mobile SAM
    system"`` -> air defence. The designation decides only where the description is generic: a
    ``"UAV"`` is armed when its designation says so (``"... armed"``).
    """
    text = description.strip()
    if _ARMED_DRONE.search(text) or (text.upper() == "UAV" and re.search(r"\barmed\b", designation, re.I)):
        return ARMED_DRONES
    if _MRL.search(text):
        return ROCKET_ARTILLERY
    if _SAM_SYSTEM.match(text):
        return AIR_DEFENCE
    return None


@dataclass(frozen=True)
class Acquisition:
    """One side's delivery (one year of a deal) or order (nothing delivered yet)."""

    recipient: str
    supplier: str
    order_year: int | None
    #: None for an order
    delivery_year: int | None
    #: delivered TIV for a delivery, the whole order's TIV for an order (millions)
    tiv: float
    designation: str
    description: str
    quantity: int = 0
    capability: str | None = None

    @property
    def is_order(self) -> bool:
        return self.delivery_year is None

    @property
    def year(self) -> int:
        """The year it is counted at: an order at its order year, a delivery at its delivery year."""
        return self.order_year if self.delivery_year is None else self.delivery_year  # type: ignore[return-value]

    @property
    def deal(self) -> tuple:
        """What ties an order to the later deliveries of the same deal."""
        return self.recipient, self.supplier, self.order_year, self.designation

    def to_list(self) -> list:
        """Compact form for state (a JSON list)."""
        return [self.recipient, self.supplier, self.order_year, self.delivery_year, self.tiv, self.designation,
                self.description, self.quantity, self.capability]

    @classmethod
    def from_list(cls, row: Sequence) -> "Acquisition":
        return cls(*row)

    def parts(self) -> dict:
        """What :meth:`words` says, as data, for a reader of another language (alerts/notify/arms_words.py)."""
        return {"year": self.year, "order": self.is_order, "quantity": self.quantity,
                "designation": self.designation, "description": self.description, "supplier": self.supplier}

    def words(self) -> str:
        """``"2021 order of 3 Bayraktar TB2 armed UAV from Turkiye"``."""
        what = f"{self.quantity} {self.designation}" if self.quantity else self.designation
        if self.is_order:
            return f"{self.year} order of {what} {self.description} from {self.supplier}"
        return f"{self.year} delivery of {what} {self.description} from {self.supplier}"


def counted(acquisitions: Iterable[Acquisition]) -> list[Acquisition]:
    """What weighs: every order, and the deliveries of deals whose order was not seen."""
    acquisitions = list(acquisitions)
    ordered = {a.deal for a in acquisitions if a.is_order}
    return [a for a in acquisitions if a.is_order or a.deal not in ordered]


def first_held(acquisitions: Iterable[Acquisition]) -> dict[str, int]:
    """Capability -> the first year a side's record shows it (an order or a delivery)."""
    out: dict[str, int] = {}
    for a in acquisitions:
        if a.capability is not None:
            out[a.capability] = min(out.get(a.capability, a.year), a.year)
    return out


@dataclass(frozen=True)
class Side:
    """How one side stands in the window ending with ``year``."""

    iso3: str
    year: int
    window_tiv: float
    #: TIV in an average window of the baseline years
    baseline_tiv: float
    new_capabilities: tuple[str, ...]
    #: what it committed in the window, oldest first
    acquisitions: tuple[Acquisition, ...]

    @property
    def ratio(self) -> float:
        return self.window_tiv / self.baseline_tiv if self.baseline_tiv else float("inf") if self.window_tiv else 0.0

    @property
    def by_volume(self) -> bool:
        return self.window_tiv >= FLOOR_TIV and self.window_tiv >= RATIO * self.baseline_tiv

    @property
    def far_above(self) -> bool:
        # The floor stands in for the smallest baseline (FLOOR_TIV / RATIO): with next to nothing
        # before, "far above" still needs FAR_RATIO times that, not just any volume over the floor.
        return self.window_tiv >= FAR_RATIO * max(self.baseline_tiv, FLOOR_TIV / RATIO)

    @property
    def arming(self) -> bool:
        return self.by_volume or bool(self.new_capabilities)


def side(iso3: str, acquisitions: Iterable[Acquisition], year: int,
         held_since: Mapping[str, int] | None = None) -> Side:
    """One side in the window ending with ``year``.

    ``held_since`` (capability -> first year) is the side's whole record of capabilities, for a
    caller that keeps only the last :data:`KEEP_YEARS` of acquisitions; without it, it is taken
    from ``acquisitions``.
    """
    acquisitions = [a for a in acquisitions if a.year <= year]
    held = dict(first_held(acquisitions))
    for cap, first in (held_since or {}).items():
        if first <= year:  # a capability first taken after ``year`` was not held then
            held[cap] = min(held.get(cap, first), first)
    start = year - WINDOW_YEARS  # the window is (start, year]
    weighed = counted(acquisitions)
    window = sorted((a for a in weighed if a.year > start), key=lambda a: (a.year, a.delivery_year is not None,
                                                                          a.designation))
    baseline = sum(a.tiv for a in weighed if start - BASELINE_YEARS < a.year <= start)
    new = tuple(c for c in CAPABILITIES if c in held and held[c] > start)
    # A delivery whose deal's order was counted earlier is still what brought the capability:
    # list the window's acquisitions of a new capability even when their TIV weighed at the order.
    shown = window + [a for a in acquisitions if a.year > start and a not in window and a.capability in new]
    shown.sort(key=lambda a: (a.year, a.delivery_year is not None, a.designation))
    return Side(iso3, year, round(sum(a.tiv for a in window), 6),
                round(baseline / BASELINE_YEARS * WINDOW_YEARS, 6), new, tuple(shown))


def pair_level(a: Side, b: Side) -> int:
    """NONE unless both sides are arming; WARNING if both have a new capability or both are far
    above their baselines; else WATCH."""
    if not (a.arming and b.arming):
        return NONE
    if (a.new_capabilities and b.new_capabilities) or (a.far_above and b.far_above):
        return WARNING
    return WATCH


@dataclass(frozen=True)
class Assessment:
    level: int
    sides: tuple[Side, Side]
    #: the whole reading: every acquisition of the window, each side's volume against its past
    text: str
    #: one line for summaries: each side's reason
    headline: str = ""

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


#: What a level means, for people reading the alert.
MEANING = {
    NONE: "not both sides are arming above their own past",
    WATCH: "both sides are arming above their own past",
    WARNING: "both sides are arming and each with a new kind of weapon, or both far above their own past",
}


def describe(s: Side, name: str | None = None) -> str:
    """``"Kyrgyzstan: 2021 delivery of 2 Bayraktar TB2 armed UAV from Turkiye (new capability: armed drones);
    ... -- TIV 74.7 in 2021-2023 against 12.1 before (6.2x): arming by volume and new capability"``."""
    items = [a.words() + (f" (new capability: {a.capability})" if a.capability in s.new_capabilities else "")
             for a in s.acquisitions]
    why = [w for w, on in (("by volume", s.by_volume), ("by new capability", bool(s.new_capabilities))) if on]
    return (f"{name or s.iso3}: {'; '.join(items) or 'nothing'} -- {volume_words(s)}: "
            f"{'arming ' + ' and '.join(why) if why else 'not arming'}")


def volume_words(s: Side) -> str:
    """``"TIV 74.7 in 2021-2023 against 12.1 in an average 3 years of the 10 before (6.2x)"``."""
    ratio = "no baseline" if s.baseline_tiv == 0 else f"{s.ratio:.1f}x"
    return (f"TIV {s.window_tiv:g} in {s.year - WINDOW_YEARS + 1}-{s.year} against {s.baseline_tiv:g} in an average "
            f"{WINDOW_YEARS} years of the {BASELINE_YEARS} before ({ratio})")


def brief(s: Side, name: str | None = None) -> str:
    """``"Kyrgyzstan 2.5x its past, new armed drones"``: one side in a line, for an alert's summary."""
    why = []
    if s.by_volume:
        why.append("no past to compare" if s.baseline_tiv == 0 else f"{s.ratio:.1f}x its past")
    if s.new_capabilities:
        why.append("new " + " and ".join(s.new_capabilities))
    return f"{name or s.iso3} {', '.join(why) or 'not arming'}"


def assess(pair: tuple[str, str], acquisitions: Mapping[str, Iterable[Acquisition]], year: int,
           held_since: Mapping[str, Mapping[str, int]] | None = None,
           names: Mapping[str, str] | None = None) -> Assessment:
    """The pair's level in the window ending with ``year`` and why, in plain words."""
    held_since = held_since or {}
    names = names or {}
    a, b = (side(iso3, acquisitions.get(iso3, ()), year, held_since.get(iso3)) for iso3 in pair)
    level = pair_level(a, b)
    years = f"{year - WINDOW_YEARS + 1}-{year}"
    text = (f"arms race {LEVELS[level]} ({MEANING[level]}) in {years}. "
            + ". ".join(describe(s, names.get(s.iso3)) for s in (a, b)))
    headline = f"arms race in {years}: " + "; ".join(brief(s, names.get(s.iso3)) for s in (a, b))
    return Assessment(level, (a, b), text, headline)
