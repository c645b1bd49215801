"""Where a single-country event belongs: on a land border, as interstate or as internal context.

ACLED, UCDP GED and GDELT code one event in one country at a point, with the actors involved.
borderwatch watches borders between two states, so each such event is placed by these rules
(issue 9; docs/FORMATS.md, "Placing single-country events"):

1. **Interstate by actors.** When the forces or government of another state take part
   (``foreign`` is not empty) and that state shares a land border with the event's country,
   the event is interstate on that pair: both states' forces clashing, or one state's forces
   acting across the line (border guards of India firing into Bangladesh). With several such
   states, the one whose border is nearest the point wins, else the first in ISO order.
2. **Foreign forces with no shared border** (an intervention from afar) are not a border
   matter: out of scope, reason ``non_border_pair``.
3. **Coarse locations** (an admin-1 or country centroid) never land on a segment: with
   actor evidence the event stays at the pair level (no coordinates passed on), otherwise it is
   out of scope, reason ``coarse_location``; an event with no coordinates at all, ``no_location``.
4. **Internal context.** One state's own conflict within the distance limit of one of its land
   borders (any in the world with a line: ``SegmentRegistry.nearest_border``) goes to the nearest
   segment of that border, or its pair-level segment, as ``internal_conflict``: recorded and
   shown as the segment's context, never counted as interstate escalation.
5. **Far from any border**: out of scope, reason ``far_from_border``.

An adapter may also leave out rows that are no conflict at all before placing them: reason
``not_material_conflict`` (GDELT's statements, consultations and appeals, most of its rows) or
``not_conflict`` (ACLED's strategic developments -- an arrest, a base set up, an agreement --
when no other state takes part). Out-of-scope rows are not errors and not dead letters: the
loaders count them by reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from alerts.borders import states_of
from streams.records import INTERNAL_CATEGORY
from streams.segments import SegmentRegistry, is_land_border

#: A row with no location at all; a row whose event is not armed conflict (CAMEO statements,
#: consultations: GDELT's rows but for its root codes 15, 18, 19 and 20).
NO_LOCATION, NOT_MATERIAL_CONFLICT = "no_location", "not_material_conflict"
#: A row that is not conflict (an internal strategic development): the adapter's judgement, not placement's.
NOT_CONFLICT = "not_conflict"
#: Why a row is out of scope (the counter keys of ``Loaded.out_of_scope``).
OUT_OF_SCOPE_REASONS = ("non_border_pair", "coarse_location", NO_LOCATION, "far_from_border", NOT_MATERIAL_CONFLICT,
                        NOT_CONFLICT)
#: ``counts`` key prefix of a row out of scope, e.g. ``out_of_scope:far_from_border``.
OUT_OF_SCOPE = "out_of_scope:"
#: The category of a single-country event placed on a border without actor evidence.
INTERNAL = INTERNAL_CATEGORY


@dataclass(frozen=True, slots=True)
class Placement:
    #: the border pair (ISO3, any order: the record sorts it), or None when out of scope
    countries: tuple[str, str] | None
    latitude: float | None = None
    longitude: float | None = None
    #: True: both states are actors (interstate); False: the country's own conflict near the border
    interstate: bool = False
    #: why the event is out of scope (one of OUT_OF_SCOPE_REASONS), when ``countries`` is None
    reason: str | None = None


def place(country: str, latitude: float | None, longitude: float | None, *, coarse: bool,
          foreign: Iterable[str] = (), registry: SegmentRegistry | None = None) -> Placement:
    """The placement of an event in ``country`` (ISO3) at the point, by the rules above.

    ``foreign``: ISO3 codes of the *other* states whose forces or government are actors of the
    event (the country's own may be given too; it is ignored). ``coarse``: the point is an
    admin-1 or country centroid, not a place.
    """
    others = tuple(sorted({s for s in foreign if s and s != country}))
    # Sources repeat their places and actors row after row: one geometry query per distinct case.
    return _place(country, latitude, longitude, coarse, others, registry or SegmentRegistry.default())


@functools.lru_cache(maxsize=65536)
def _place(country: str, latitude: float | None, longitude: float | None, coarse: bool, others: tuple[str, ...],
           registry: SegmentRegistry) -> Placement:
    located = latitude is not None and longitude is not None
    neighbours = [s for s in others if is_land_border(country, s)]
    if neighbours:
        if not located or coarse:
            return Placement((country, neighbours[0]), interstate=True)
        nearest = registry.nearest_border(country, latitude, longitude)
        if nearest is not None:
            pair = states_of(nearest[0])
            other = pair[1] if pair[0] == country else pair[0]
            if other in neighbours:
                return Placement((country, other), latitude, longitude, interstate=True)
        return Placement((country, neighbours[0]), latitude, longitude, interstate=True)
    if others:
        return Placement(None, reason="non_border_pair")
    if not located:
        return Placement(None, reason=NO_LOCATION)
    if coarse:
        return Placement(None, reason="coarse_location")
    nearest = registry.nearest_border(country, latitude, longitude)
    if nearest is None:
        return Placement(None, reason="far_from_border")
    pair = states_of(nearest[0])
    return Placement((pair[0], pair[1]), latitude, longitude, interstate=False)


__all__ = ["INTERNAL", "NOT_CONFLICT", "NOT_MATERIAL_CONFLICT", "NO_LOCATION", "OUT_OF_SCOPE", "OUT_OF_SCOPE_REASONS",
           "Placement", "place"]
