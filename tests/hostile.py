"""Seeded hostile input for the fuzz tests: every kind of record the worker must dead-letter,
each with the dead-letter code and field it must get, and valid incidents to interleave.

The expectations are written from the rules (docs/FORMATS.md), not read back from the decoder:
``tests/unit/test_poison.py`` holds the decoder to them in-process, and
``tests/integration/test_poison.py`` holds the live worker to them through the broker.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from streams.errors import bounded
from streams.limits import (
    MAX_COUNT,
    MAX_DESCRIPTION_CHARS,
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_NESTING,
    MAX_RECORD_BYTES,
)

T0 = datetime(2013, 6, 20, tzinfo=timezone.utc)
BORDERS = (("KGZ", "UZB"), ("KGZ", "TJK"), ("TJK", "UZB"))


@dataclass(frozen=True)
class Hostile:
    raw: bytes
    code: str
    field: str | None
    #: what it tries (for failure messages)
    what: str


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def incident(event_id: str, when: datetime = T0, countries=("KGZ", "UZB"), **kw) -> dict:
    return {"event_id": event_id, "occurred_at": stamp(when), "reported_at": stamp(when), "source": "fuzz",
            "category": "armed_clash", "severity": 3, "fatalities": 0, "injuries": 0,
            "countries": list(countries), **kw}


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def valid_incidents(n: int, seed: int, prefix: str = "ok") -> list[dict]:
    """``n`` valid incidents on a few borders, in event-time order, some deadly (so alerts open)."""
    rng = random.Random(seed)
    out, when = [], T0
    for i in range(n):
        when += timedelta(hours=rng.randint(1, 60))
        out.append(incident(f"{prefix}-{i}", when, rng.choice(BORDERS), fatalities=rng.choice((0, 0, 0, 1, 3)),
                            severity=rng.randint(1, 5), description=rng.choice((None, "near Dostuk", "ñandú ✓"))))
    return out


def _cases(i: int, rng: random.Random) -> list[Hostile]:
    """One of each kind, made unique by ``i`` (the dead letters are matched by their bytes)."""
    eid = f"bad-{i}"
    good = incident(eid, T0 + timedelta(minutes=i))
    text = json.dumps(good)
    depth = MAX_NESTING + 1 + rng.randint(0, 3000)
    field = rng.choice(("source", "location_name", "description", "event_id"))
    drop = rng.choice(("event_id", "occurred_at", "reported_at", "source", "category", "severity", "fatalities",
                       "injuries", "countries"))
    return [
        # size
        Hostile(dumps(dict(good, description="x" * (MAX_RECORD_BYTES + i))), "too_large", None, "oversized"),
        # encodings
        Hostile(dumps(dict(good, location_name="Dostuk")).replace(b"Dostuk", "Dóstuk".encode("cp1252")),
                "not_utf8", None, "cp1252 where UTF-8 is expected"),
        Hostile(text.encode("utf-16"), "not_utf8", None, "UTF-16"),
        Hostile(b"\xff" + bytes(rng.randrange(256) for _ in range(i % 40)) + str(i).encode(), "not_utf8", None,
                "binary (0xff is never UTF-8)"),
        # nesting, before the parser could recurse
        Hostile(b"[" * depth + str(i).encode() + b"]" * depth, "too_deep", None, "nested arrays"),
        Hostile(dumps(dict(good, actors=[])).replace(b'"actors":[]', b'"actors":' + b'[' * depth + b']' * depth),
                "too_deep", None, "a field nested deep"),
        Hostile(b'{"a":' * depth + str(i).encode() + b"}" * depth, "too_deep", None, "nested objects"),
        # not strict JSON
        Hostile(text[: rng.randint(1, len(text) - 1)].encode() + b" " * (i % 3) + f"\n#{i}".encode(), "not_json",
                None, "cut short"),
        Hostile(dumps(dict(good, latitude=1.0, longitude=2.0)).replace(b"1.0", rng.choice((b"NaN", b"Infinity",
                                                                                            b"-Infinity"))),
                "not_json", None, "NaN or Infinity"),
        Hostile(dumps(good).replace(b'"fatalities":0', b'"fatalities":' + b"9" * 5000), "not_json", None,
                "a number of 5000 digits"),
        Hostile(b" " * (i % 5 + 1) + (b"\n" * (i // 5)), "not_json", None, "blank"),
        Hostile(dumps(good).replace(b'"source":"fuzz"', b'"source":"fu\x00zz"'), "not_json", None,
                "a raw NUL byte inside a string"),
        # JSON, but not one record
        Hostile(dumps(good)[:-1] + f',"event_id":"dup-{i}"}}'.encode(), "duplicate_key", "event_id",
                "a repeated key"),
        Hostile(dumps([good]), "not_object", None, "an array"),
        Hostile(dumps(rng.choice((i, f"s{i}", i + 0.5))), "not_object", None, "a scalar"),
        Hostile(dumps({k: v for k, v in good.items() if k != drop}), "missing_field", drop, "a field missing"),
        Hostile(dumps(dict(good, colour=f"red-{i}")), "unknown_field", "colour", "a field too many"),
        Hostile(dumps(dict(good, **{"k" * (500 + i): 1})), "unknown_field", bounded("k" * (500 + i)),
                "a long unknown key (the field name is cut)"),
        # wrong types
        Hostile(dumps(dict(good, severity=str(rng.randint(1, 5)))), "bad_type", "severity", "a number as text"),
        Hostile(dumps(dict(good, fatalities=1.5)), "bad_type", "fatalities", "a fraction"),
        Hostile(dumps(dict(good, countries="KGZ-UZB")), "bad_type", "countries", "a string for a list"),
        Hostile(dumps(dict(good, severity=True)), "bad_type", "severity", "a boolean"),
        Hostile(dumps(dict(good, source=None)), "bad_type", "source", "null"),
        # values out of range
        Hostile(dumps(dict(good, severity=6 + i)), "bad_value", "severity", "severity out of range"),
        Hostile(dumps(dict(good, fatalities=MAX_COUNT + 1 + i)), "bad_value", "fatalities", "too many deaths"),
        Hostile(dumps(dict(good, injuries=-1 - i)), "bad_value", "injuries", "negative"),
        Hostile(dumps(dict(good, latitude=91.0 + i, longitude=0.0)), "bad_value", "latitude", "latitude"),
        Hostile(dumps(dict(good, latitude=1.0)), "bad_value", "longitude", "latitude without longitude"),
        Hostile(dumps(dict(good, latitude=1.0, longitude=2.0)).replace(b"2.0", b"1e999"), "bad_value", "longitude",
                "a number beyond a float"),
        Hostile(dumps(dict(good, event_id="e" * (MAX_ID_CHARS + 1 + i))), "bad_value", "event_id", "a long id"),
        Hostile(dumps(dict(good, description="d" * (MAX_DESCRIPTION_CHARS + 1 + i))), "bad_value", "description",
                "a long description"),
        Hostile(dumps(dict(good, actors=[f"a{k}" for k in range(MAX_LIST_ITEMS + 1 + i % 10)])), "bad_value",
                "actors", "too many actors"),
        Hostile(dumps(dict(good, **{field: f"x{i}\x00y"})), "bad_value", field, "an escaped NUL"),
        Hostile(dumps(dict(good, **{field: f"x{i}"})).replace(f'"x{i}"'.encode(), f'"x{i}\\ud800"'.encode()),
                "bad_value", field, "an unpaired surrogate"),
        Hostile(dumps(dict(good, countries=["KGZ", "KGZ"])), "bad_value", "countries", "one country twice"),
        Hostile(dumps(dict(good, countries=["KGZ\n", "UZB"])), "bad_value", "countries[0]", "ISO3 and a newline"),
        Hostile(dumps(dict(good, category="picnic")), "bad_value", "category", "unknown category"),
        Hostile(dumps(dict(good, ended_at=stamp(T0 - timedelta(days=1 + i)))), "bad_value", "ended_at",
                "ends before it began"),
        # times
        Hostile(dumps(dict(good, occurred_at=f"yesterday {i}")), "bad_time", "occurred_at", "not a time"),
        Hostile(dumps(dict(good, occurred_at=f"9999-01-{1 + i % 28:02d}T00:00:00Z")), "bad_time", "occurred_at",
                "year 9999"),
        Hostile(dumps(dict(good, reported_at=f"0001-01-{1 + i % 28:02d}T00:00:00+05:00")), "bad_time",
                "reported_at", "year 1 with an offset"),
        Hostile(dumps(dict(good, occurred_at=f"1700-01-{1 + i % 28:02d}")), "bad_time", "occurred_at",
                "before the earliest time"),
    ]


def hostile_records(n: int, seed: int) -> list[Hostile]:
    """At least ``n`` hostile records: rounds of every kind, shuffled, each distinct."""
    rng = random.Random(seed)
    out: list[Hostile] = []
    i = 0
    while len(out) < n:
        out.extend(_cases(i, rng))
        i += 1
    rng.shuffle(out)
    assert len({h.raw for h in out}) == len(out), "hostile records must be distinct to be matched"
    return out
