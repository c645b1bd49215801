"""Event records: one typed record per input topic, validated on decode.

The JSON Schemas published by ``borderwatch schema`` are generated from the same
field tables the decoder checks against, so the two cannot drift apart.

>>> ev = decode_incident(b'{"event_id": "x1", "occurred_at": "2012-07-17T00:00:00Z",'
...     ' "reported_at": "2012-07-17T00:00:00Z", "source": "test", "category": "armed_clash",'
...     ' "severity": 4, "fatalities": 2, "injuries": 0, "countries": ["UZB", "KGZ"]}')
>>> ev.border
'KGZ-UZB'
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from streams.errors import InvalidEvent

SCHEMA_VERSION = 1

INCIDENT_CATEGORIES = (
    "armed_clash",
    "shelling",
    "drone_strike",
    "incursion",
    "detention",
    "smuggling_interdiction",
    "fortification",
    "threat",
    "protest",
    "other",
)
CLASSIFICATIONS = ("public", "restricted", "confidential")
#: ``releasable_to`` value that releases a record to every state and desk.
RELEASABLE_ALL = "ALL"
SEVERITY_MIN, SEVERITY_MAX = 1, 5
_ISO3 = re.compile(r"^[A-Z]{3}$")


def border_of(a: str, b: str) -> str:
    """The border-pair id: the two ISO3 codes sorted and joined, e.g. ``KGZ-TJK``."""
    x, y = sorted((a, b))
    return f"{x}-{y}"


def parse_time(value: Any, name: str) -> datetime:
    """ISO 8601 text (``Z`` or an offset; a bare date means midnight UTC) -> aware UTC."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidEvent(f"not an ISO 8601 time: {value!r}", name, code="bad_time") from None
    else:
        raise InvalidEvent(f"expected an ISO 8601 time, got {value!r}", name, code="bad_time")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def format_time(dt: datetime) -> str:
    """UTC ISO 8601 with a ``Z``; seconds precision is all the sources carry."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- fields
# (name, json type, required, extra schema) -- the single source for decoder and schema.
_STR = {"type": "string", "minLength": 1}
_ISO3_SCHEMA = {"type": "string", "pattern": _ISO3.pattern}
_TIME = {"type": "string", "format": "date-time"}

INCIDENT_FIELDS: dict[str, tuple[bool, dict[str, Any]]] = {
    "event_id": (True, dict(_STR, maxLength=200)),
    "occurred_at": (True, _TIME),
    "reported_at": (True, _TIME),
    # when an incident that lasted (a battle, an occupation) ended; absent or null: the day it began
    "ended_at": (False, {"type": ["string", "null"], "format": "date-time"}),
    "source": (True, _STR),
    "category": (True, {"type": "string", "enum": list(INCIDENT_CATEGORIES)}),
    "severity": (True, {"type": "integer", "minimum": SEVERITY_MIN, "maximum": SEVERITY_MAX}),
    "fatalities": (True, {"type": "integer", "minimum": 0}),
    "injuries": (True, {"type": "integer", "minimum": 0}),
    "countries": (
        True,
        {"type": "array", "items": _ISO3_SCHEMA, "minItems": 2, "maxItems": 2, "uniqueItems": True},
    ),
    "latitude": (False, {"type": ["number", "null"], "minimum": -90, "maximum": 90}),
    "longitude": (False, {"type": ["number", "null"], "minimum": -180, "maximum": 180}),
    "segment_id": (False, {"type": ["string", "null"]}),
    "location_name": (False, {"type": ["string", "null"]}),
    "actors": (False, {"type": "array", "items": {"type": "string"}}),
    "description": (False, {"type": ["string", "null"]}),
    "classification": (False, {"type": "string", "enum": list(CLASSIFICATIONS)}),
    "releasable_to": (
        False,
        {
            "type": "array",
            "items": {"type": "string", "pattern": f"^([A-Z]{{3}}|{RELEASABLE_ALL})$"},
            "minItems": 1,
        },
    ),
}

TRANSFER_FIELDS: dict[str, tuple[bool, dict[str, Any]]] = {
    "transfer_id": (True, dict(_STR, maxLength=200)),
    "supplier": (True, _STR),
    "recipient": (True, _ISO3_SCHEMA),
    "order_year": (False, {"type": ["integer", "null"], "minimum": 1900, "maximum": 2100}),
    "delivery_years": (
        True,
        {"type": "array", "items": {"type": "integer", "minimum": 1900, "maximum": 2100}, "minItems": 1},
    ),
    "quantity": (True, {"type": "integer", "minimum": 0}),
    "weapon_category": (True, _STR),
    "designation": (True, _STR),
    "tiv": (True, {"type": "number", "minimum": 0}),
    "status": (True, {"type": "string"}),
    "source": (True, _STR),
    "occurred_at": (True, _TIME),
}


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """A border incident. ``occurred_at`` is event time; duplicates share ``event_id``."""

    event_id: str
    occurred_at: datetime
    reported_at: datetime
    source: str
    category: str
    severity: int
    fatalities: int
    injuries: int
    countries: tuple[str, str]
    latitude: float | None = None
    longitude: float | None = None
    segment_id: str | None = None
    location_name: str | None = None
    actors: tuple[str, ...] = ()
    description: str | None = None
    classification: str = "public"
    releasable_to: tuple[str, ...] = (RELEASABLE_ALL,)
    ended_at: datetime | None = None

    @property
    def border(self) -> str:
        return border_of(*self.countries)

    def to_dict(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies every field and was a third of the pipeline's time.
        return {
            "event_id": self.event_id, "occurred_at": format_time(self.occurred_at),
            "reported_at": format_time(self.reported_at),
            "ended_at": None if self.ended_at is None else format_time(self.ended_at),
            "source": self.source, "category": self.category,
            "severity": self.severity, "fatalities": self.fatalities, "injuries": self.injuries,
            "countries": list(self.countries), "latitude": self.latitude, "longitude": self.longitude,
            "segment_id": self.segment_id, "location_name": self.location_name, "actors": list(self.actors),
            "description": self.description, "classification": self.classification,
            "releasable_to": list(self.releasable_to),
        }


@dataclass(frozen=True, slots=True)
class ArmsTransferEvent:
    """One year's deliveries of one arms deal (SIPRI-style), at ``occurred_at``."""

    transfer_id: str
    supplier: str
    recipient: str
    delivery_years: tuple[int, ...]
    quantity: int
    weapon_category: str
    designation: str
    tiv: float
    status: str
    source: str
    occurred_at: datetime
    order_year: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["occurred_at"] = format_time(self.occurred_at)
        d["delivery_years"] = list(self.delivery_years)
        return d


def _check_types(data: Any, fields: dict[str, tuple[bool, dict[str, Any]]]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(data).__name__}", code="not_object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidEvent(f"unknown field(s) {', '.join(unknown)}", unknown[0], code="unknown_field")
    for name, (required, spec) in fields.items():
        if name not in data:
            if required:
                raise InvalidEvent("is required", name, code="missing_field")
            continue
        _check_value(data[name], spec, name)
    return data


def _check_value(value: Any, spec: dict[str, Any], name: str) -> None:
    types = spec.get("type")
    types = types if isinstance(types, list) else [types]
    if value is None:
        if "null" in types:
            return
        raise InvalidEvent("must not be null", name, code="bad_type")
    ok = False
    for t in types:
        if t == "string" and isinstance(value, str):
            ok = True
        elif t == "integer" and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        elif t == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = math.isfinite(value)
        elif t == "array" and isinstance(value, list):
            ok = True
    if not ok:
        raise InvalidEvent(f"expected {'/'.join(t for t in types if t != 'null')}, got {value!r}", name, code="bad_type")
    if isinstance(value, str):
        if len(value) < spec.get("minLength", 0):
            raise InvalidEvent("must not be empty", name, code="bad_value")
        if len(value) > spec.get("maxLength", 1 << 30):
            raise InvalidEvent(f"longer than {spec['maxLength']} characters", name, code="bad_value")
        if "enum" in spec and value not in spec["enum"]:
            raise InvalidEvent(f"{value!r} is not one of {', '.join(spec['enum'])}", name, code="bad_value")
        if "pattern" in spec and not re.match(spec["pattern"], value):
            raise InvalidEvent(f"{value!r} does not match {spec['pattern']}", name, code="bad_value")
    elif isinstance(value, (int, float)):
        if "minimum" in spec and value < spec["minimum"]:
            raise InvalidEvent(f"{value} is below {spec['minimum']}", name, code="bad_value")
        if "maximum" in spec and value > spec["maximum"]:
            raise InvalidEvent(f"{value} is above {spec['maximum']}", name, code="bad_value")
    elif isinstance(value, list):
        if len(value) < spec.get("minItems", 0) or len(value) > spec.get("maxItems", 1 << 30):
            raise InvalidEvent(f"has {len(value)} items", name, code="bad_value")
        if spec.get("uniqueItems") and len(set(map(str, value))) != len(value):
            raise InvalidEvent("items must be distinct", name, code="bad_value")
        for i, item in enumerate(value):
            _check_value(item, spec["items"], f"{name}[{i}]")


def _loads(raw: bytes | str | dict[str, Any]) -> Any:
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidEvent(f"not JSON: {exc}", code="not_json") from None


def incident_from_dict(data: dict[str, Any]) -> IncidentEvent:
    """Validate a decoded JSON object and build the record; raises :class:`InvalidEvent`."""
    _check_types(data, INCIDENT_FIELDS)
    occurred = parse_time(data["occurred_at"], "occurred_at")
    reported = parse_time(data["reported_at"], "reported_at")
    ended = None if data.get("ended_at") is None else parse_time(data["ended_at"], "ended_at")
    if ended is not None and ended < occurred:
        raise InvalidEvent(f"{data['ended_at']} is before occurred_at {data['occurred_at']}", "ended_at",
                           code="bad_value")
    lat, lon = data.get("latitude"), data.get("longitude")
    if (lat is None) != (lon is None):
        raise InvalidEvent("latitude and longitude go together", "latitude" if lat is None else "longitude",
                           code="bad_value")
    return IncidentEvent(
        event_id=data["event_id"],
        occurred_at=occurred,
        reported_at=reported,
        source=data["source"],
        category=data["category"],
        severity=data["severity"],
        fatalities=data["fatalities"],
        injuries=data["injuries"],
        countries=(data["countries"][0], data["countries"][1]),
        latitude=None if lat is None else float(lat),
        longitude=None if lon is None else float(lon),
        segment_id=data.get("segment_id") or None,
        location_name=data.get("location_name"),
        actors=tuple(data.get("actors") or ()),
        description=data.get("description"),
        classification=data.get("classification", "public"),
        releasable_to=tuple(data.get("releasable_to") or (RELEASABLE_ALL,)),
        ended_at=ended,
    )


def transfer_from_dict(data: dict[str, Any]) -> ArmsTransferEvent:
    """Validate a decoded JSON object and build the record; raises :class:`InvalidEvent`."""
    _check_types(data, TRANSFER_FIELDS)
    return ArmsTransferEvent(
        transfer_id=data["transfer_id"],
        supplier=data["supplier"],
        recipient=data["recipient"],
        order_year=data.get("order_year"),
        delivery_years=tuple(data["delivery_years"]),
        quantity=data["quantity"],
        weapon_category=data["weapon_category"],
        designation=data["designation"],
        tiv=float(data["tiv"]),
        status=data["status"],
        source=data["source"],
        occurred_at=parse_time(data["occurred_at"], "occurred_at"),
    )


def decode_incident(raw: bytes | str | dict[str, Any]) -> IncidentEvent:
    return incident_from_dict(_loads(raw))


def decode_transfer(raw: bytes | str | dict[str, Any]) -> ArmsTransferEvent:
    return transfer_from_dict(_loads(raw))


def encode(record: IncidentEvent | ArmsTransferEvent) -> bytes:
    return json.dumps(record.to_dict(), separators=(",", ":"), sort_keys=True).encode()


def json_schema(kind: str) -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) for ``incident`` or ``arms-transfer``."""
    if kind == "incident":
        fields, title = INCIDENT_FIELDS, "IncidentEvent"
        desc = "A border incident on a pair of states, in event time (occurred_at)."
    elif kind == "arms-transfer":
        fields, title = TRANSFER_FIELDS, "ArmsTransferEvent"
        desc = "Deliveries of one arms deal in one year (SIPRI-style), at occurred_at."
    else:
        raise ValueError(f"unknown schema {kind!r}: use incident or arms-transfer")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://borderwatch.invalid/schemas/{kind}-v{SCHEMA_VERSION}.json",
        "title": title,
        "description": desc,
        "type": "object",
        "additionalProperties": False,
        "required": [n for n, (req, _) in fields.items() if req],
        "properties": {n: spec for n, (_, spec) in fields.items()},
    }
    if kind == "incident":
        # latitude and longitude go together
        schema["allOf"] = [
            {"if": {"properties": {a: {"type": "number"}}, "required": [a]},
             "then": {"properties": {b: {"type": "number"}}, "required": [b]}}
            for a, b in (("latitude", "longitude"), ("longitude", "latitude"))
        ]
    return schema


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What the dead-letter topic carries: the reason and the original bytes."""

    topic: str
    reason: str
    code: str
    field: str | None
    original: bytes
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        try:
            text, encoding = self.original.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            import base64

            text, encoding = base64.b64encode(self.original).decode(), "base64"
        return json.dumps(
            {"topic": self.topic, "reason": self.reason, "code": self.code, "field": self.field,
             "original": text, "original_encoding": encoding, **self.extra},
            separators=(",", ":"),
        ).encode()
