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

import base64
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any, Callable

from alerts import timefmt
from alerts.access import RELEASABLE_ALL
from alerts.borders import ISO3_PATTERN, border_id
from alerts.timefmt import iso
from streams.errors import InvalidEvent, bounded
from streams.limits import (
    DEAD_LETTER_PREFIX_BYTES,
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_COUNT,
    MAX_DESCRIPTION_CHARS,
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_MESSAGE_BYTES,
    MAX_NAME_CHARS,
    MAX_NESTING,
    MAX_RECORD_BYTES,
    MAX_TIV,
    YEAR_MAX,
    YEAR_MIN,
)

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
    "internal_conflict",
    "other",
)
#: One state's own armed conflict near its border (a single-country source placed by geometry,
#: streams/adapters/place.py): context of the segment, never interstate escalation.
INTERNAL_CATEGORY = "internal_conflict"
#: The bounded category groups a segment's buckets count (the rest -- fortification, threat,
#: protest, other -- is ``count - violent - intrusion``).
VIOLENT_CATEGORIES = frozenset({"armed_clash", "shelling", "drone_strike"})
INTRUSION_CATEGORIES = frozenset({"incursion", "detention", "smuggling_interdiction"})
#: Recorded (duplicates, recent incidents) but not counted toward a border's escalation, nor
#: spilled over: a state's internal unrest or conflict is not an interstate escalation, and
#: counting it made every count detector alert on a protest wave (the synthetic negative controls
#: of `make eval`).
UNCOUNTED_CATEGORIES = frozenset({"protest", INTERNAL_CATEGORY})
#: the marking an incident has unless its source sets one, and the lowest of :data:`CLASSIFICATIONS`
PUBLIC = "public"
CLASSIFICATIONS = (PUBLIC, "restricted", "confidential")
SEVERITY_MIN, SEVERITY_MAX = 1, 5


def parse_time(value: Any, name: str) -> datetime:
    """:func:`alerts.timefmt.parse_time` of field ``name``: aware UTC, or :class:`InvalidEvent`."""
    try:
        return timefmt.parse_time(value)
    except ValueError as exc:
        raise InvalidEvent(str(exc), name, code="bad_time") from None


#: Event times already read, by their text: sources repeat their dates row after row (a file's rows
#: share a few hundred days), and a datetime is immutable, so each text is parsed once. Bounded:
#: emptied when full.
_EVENT_TIMES: dict[str, datetime] = {}
_EVENT_TIMES_MAX = 1 << 16


def event_time(value: Any, name: str) -> datetime:
    """An event's time (occurred_at, reported_at, ended_at): :func:`parse_time` within the limits."""
    if value.__class__ is str:
        dt = _EVENT_TIMES.get(value)
        if dt is not None:
            return dt
    dt = parse_time(value, name)
    if not EARLIEST_TIME <= dt < LATEST_TIME:
        raise InvalidEvent(f"{value!r} is outside {EARLIEST_TIME:%Y-%m-%d} .. {LATEST_TIME:%Y-%m-%d} (exclusive)",
                           name, code="bad_time")
    if value.__class__ is str:
        if len(_EVENT_TIMES) >= _EVENT_TIMES_MAX:
            _EVENT_TIMES.clear()
        _EVENT_TIMES[value] = dt
    return dt


# --------------------------------------------------------------------------- fields
# (name, json type, required, extra schema) -- the single source for decoder and schema.
#: Text may hold tabs and line breaks, but no other control character (a NUL, an escape sequence)
#: and no unpaired UTF-16 surrogate (from a "\\ud800" escape; it cannot be written out as UTF-8).
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]*$"


def _text(max_chars: int, min_chars: int = 1, nullable: bool = False) -> dict[str, Any]:
    return {"type": ["string", "null"] if nullable else "string", "minLength": min_chars, "maxLength": max_chars,
            "pattern": TEXT_PATTERN}


def _count(maximum: int | float = MAX_COUNT, kind: str = "integer") -> dict[str, Any]:
    return {"type": kind, "minimum": 0, "maximum": maximum}


_ISO3_SCHEMA = {"type": "string", "pattern": f"^{ISO3_PATTERN}$"}
_TIME = {"type": "string", "format": "date-time", "maxLength": 64}
_YEAR = {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX}

INCIDENT_FIELDS: dict[str, tuple[bool, dict[str, Any]]] = {
    "event_id": (True, _text(MAX_ID_CHARS)),
    "occurred_at": (True, _TIME),
    "reported_at": (True, _TIME),
    # when an incident that lasted (a battle, an occupation) ended; absent or null: the day it began
    "ended_at": (False, dict(_TIME, type=["string", "null"])),
    "source": (True, _text(MAX_NAME_CHARS)),
    "category": (True, {"type": "string", "enum": list(INCIDENT_CATEGORIES)}),
    "severity": (True, {"type": "integer", "minimum": SEVERITY_MIN, "maximum": SEVERITY_MAX}),
    "fatalities": (True, _count()),
    "injuries": (True, _count()),
    "countries": (
        True,
        {"type": "array", "items": _ISO3_SCHEMA, "minItems": 2, "maxItems": 2, "uniqueItems": True},
    ),
    "latitude": (False, {"type": ["number", "null"], "minimum": -90, "maximum": 90}),
    "longitude": (False, {"type": ["number", "null"], "minimum": -180, "maximum": 180}),
    "segment_id": (False, _text(MAX_NAME_CHARS, 0, nullable=True)),
    "location_name": (False, _text(MAX_NAME_CHARS, 0, nullable=True)),
    "actors": (False, {"type": "array", "items": _text(MAX_NAME_CHARS, 0), "maxItems": MAX_LIST_ITEMS}),
    "description": (False, _text(MAX_DESCRIPTION_CHARS, 0, nullable=True)),
    "classification": (False, {"type": "string", "enum": list(CLASSIFICATIONS)}),
    "releasable_to": (
        False,
        {
            "type": "array",
            "items": {"type": "string", "pattern": f"^({ISO3_PATTERN}|{RELEASABLE_ALL})$"},
            "minItems": 1,
            "maxItems": MAX_LIST_ITEMS,
        },
    ),
}

TRANSFER_FIELDS: dict[str, tuple[bool, dict[str, Any]]] = {
    "transfer_id": (True, _text(MAX_ID_CHARS)),
    "supplier": (True, _text(MAX_NAME_CHARS)),
    "recipient": (True, _ISO3_SCHEMA),
    "order_year": (False, dict(_YEAR, type=["integer", "null"])),
    # Empty for an order with nothing delivered yet (then ``tiv`` is 0 and ``order_tiv`` carries
    # the order's TIV): ``tiv`` stays the delivered TIV, so militarization pressure counts deliveries only.
    "delivery_years": (
        True,
        {"type": "array", "items": _YEAR, "minItems": 0, "maxItems": YEAR_MAX - YEAR_MIN + 1},
    ),
    "quantity": (True, _count()),
    "weapon_category": (True, _text(MAX_NAME_CHARS)),
    "designation": (True, _text(MAX_NAME_CHARS)),
    "tiv": (True, _count(MAX_TIV, "number")),
    "status": (True, _text(MAX_NAME_CHARS, 0)),
    "source": (True, _text(MAX_NAME_CHARS)),
    "occurred_at": (True, _TIME),
    "order_tiv": (False, dict(_count(MAX_TIV, "number"), type=["number", "null"])),
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
        return border_id(*self.countries)

    def to_dict(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies every field and was a third of the pipeline's time.
        return {
            "event_id": self.event_id, "occurred_at": iso(self.occurred_at),
            "reported_at": iso(self.reported_at),
            "ended_at": None if self.ended_at is None else iso(self.ended_at),
            "source": self.source, "category": self.category,
            "severity": self.severity, "fatalities": self.fatalities, "injuries": self.injuries,
            "countries": list(self.countries), "latitude": self.latitude, "longitude": self.longitude,
            "segment_id": self.segment_id, "location_name": self.location_name, "actors": list(self.actors),
            "description": self.description, "classification": self.classification,
            "releasable_to": list(self.releasable_to),
        }


@dataclass(frozen=True, slots=True)
class ArmsTransferEvent:
    """One year's deliveries of one arms deal (SIPRI-style), at ``occurred_at``; or an order.

    An order (nothing delivered yet) has no ``delivery_years``, ``tiv`` 0 (``tiv`` is always the
    TIV *delivered*), ``quantity`` the number ordered (0 when unknown), ``order_tiv`` the TIV of
    the whole order (None when unknown), and ``occurred_at`` 1 July of ``order_year``.
    """

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
    order_tiv: float | None = None

    @property
    def is_order(self) -> bool:
        """Ordered, nothing delivered yet: it weighs on the arms race, not on delivered pressure."""
        return not self.delivery_years

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["occurred_at"] = iso(self.occurred_at)
        d["delivery_years"] = list(self.delivery_years)
        if self.order_tiv is None:
            del d["order_tiv"]  # records of deliveries encode as they did before orders were records
        return d


_ABSENT = object()


def _check_types(data: Any, fields: dict[str, tuple[bool, dict[str, Any]]],
                 checked: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Raise InvalidEvent for the first field (in table order) that is missing or bad; ``checked``:
    fields known to be good (:class:`CheckedPart`), not looked at again."""
    if not isinstance(data, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(data).__name__}", code="not_object")
    if not data.keys() <= fields.keys():
        unknown = sorted(set(data) - set(fields))
        raise InvalidEvent(f"unknown field(s) {', '.join(unknown)}", unknown[0], code="unknown_field")
    checkers, all_ok = _compiled(fields, checked)
    if all_ok(data):
        return data
    for name, required, ok, check in checkers:
        if name in checked:
            continue
        value = data.get(name, _ABSENT)
        if value is _ABSENT:
            if required:
                raise InvalidEvent("is required", name, code="missing_field")
            continue
        if not ok(value):
            check(value, name)  # raises with the reason (ok may also refuse a value the check lets by)
    return data


Ok = Callable[[Any], bool]
Check = Callable[[Any, str], None]
_COMPILED: dict[tuple[int, frozenset[str]], tuple[list[tuple[str, bool, Ok, Check]], Ok]] = {}


def _checkers(fields: dict[str, tuple[bool, dict[str, Any]]]) -> list[tuple[str, bool, Ok, Check]]:
    """Each field's ``(name, required, ok, check)`` (:func:`_compile`)."""
    return _compiled(fields)[0]


def _compiled(fields: dict[str, tuple[bool, dict[str, Any]]], checked: frozenset[str] = frozenset()
              ) -> tuple[list[tuple[str, bool, Ok, Check]], Ok]:
    """Each field's check, and the quick yes of a whole record but its ``checked`` fields, compiled
    once from the JSON Schema specs: every record of every source and of the live stream passes
    here, so the specs are not interpreted anew for each value. The quick yes is one function with
    every field's ``ok`` expression inline (one call per record instead of one per field)."""
    got = _COMPILED.get((id(fields), checked))
    if got is None:
        checkers, lines, namespace = [], ["def all_ok(data):", "    get = data.get"], {"ABSENT": _ABSENT}
        for i, (name, (required, spec)) in enumerate(fields.items()):
            ok, check = _compile(spec)
            checkers.append((name, required, ok, check))
            if name in checked:
                continue
            expr = _quick(spec, namespace, f"f{i}_")
            lines.append(f"    v = get({name!r}, ABSENT)")
            lines.append(f"    if {'v is ABSENT or ' if required else 'v is not ABSENT and '}not ({expr}):")
            lines.append("        return False")
        lines.append("    return True")
        exec("\n".join(lines), namespace)  # source made above from our own field tables
        got = _COMPILED[(id(fields), checked)] = (checkers, namespace["all_ok"])
    return got


def _compile(spec: dict[str, Any]) -> tuple[Ok, Check]:
    """The check of one JSON Schema value spec (the subset the record schemas use), as a pair:

    * ``ok(value)``: a quick yes for the values records carry (plain str, int, float, list);
      True only for values that ``check`` accepts, False for anything it is not sure of;
    * ``check(value, name)``: the whole check, raising InvalidEvent with the reason.

    ``ok`` is derived from the same spec, so the rule has one owner; every record passes it
    first, and a value it does not vouch for goes through ``check``.
    """
    types = spec.get("type")
    types = types if isinstance(types, list) else [types]
    nullable = "null" in types
    want = tuple(t for t in types if t != "null")
    expected = "/".join(want)
    min_len, max_len = spec.get("minLength", 0), spec.get("maxLength", 1 << 30)
    enum = spec.get("enum")
    enum_set = frozenset(enum) if enum is not None else None
    pattern_text = spec.get("pattern")
    # fullmatch: JSON Schema's (ECMA 262) "$" does not match before a final newline, Python's does
    pattern = re.compile(pattern_text) if pattern_text is not None else None
    minimum, maximum = spec.get("minimum"), spec.get("maximum")
    min_items, max_items = spec.get("minItems", 0), spec.get("maxItems", 1 << 30)
    unique = bool(spec.get("uniqueItems"))
    item_check = _compile(spec["items"])[1] if "items" in spec else None

    def type_ok(value: Any, name: str) -> bool:
        for t in want:
            if t == "string" and isinstance(value, str):
                return True
            if t == "integer" and isinstance(value, int) and not isinstance(value, bool):
                return True
            if t == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
                if not math.isfinite(value):  # 1e999 parses as infinity
                    raise InvalidEvent(f"not a finite number: {value!r}", name, code="bad_value")
                return True
            if t == "array" and isinstance(value, list):
                return True
        return False

    def null(name: str) -> None:
        if not nullable:
            raise InvalidEvent("must not be null", name, code="bad_type")

    def bad_string(value: str, name: str) -> None:
        if len(value) < min_len:
            raise InvalidEvent("must not be empty", name, code="bad_value")
        if len(value) > max_len:
            raise InvalidEvent(f"longer than {max_len} characters", name, code="bad_value")
        if enum_set is not None and value not in enum_set:
            raise InvalidEvent(f"{value!r} is not one of {', '.join(enum)}", name, code="bad_value")
        if pattern_text == TEXT_PATTERN:
            raise InvalidEvent("contains a control character (such as NUL) or an unpaired surrogate", name,
                               code="bad_value")
        raise InvalidEvent(f"{value!r} does not match {pattern_text}", name, code="bad_value")

    def check(value: Any, name: str) -> None:
        if value is None:
            return null(name)
        if not type_ok(value, name):
            raise InvalidEvent(f"expected {expected}, got {value!r}", name, code="bad_type")
        if isinstance(value, str):
            if not (min_len <= len(value) <= max_len) or (enum_set is not None and value not in enum_set) \
                    or (pattern is not None and not pattern.fullmatch(value)):
                bad_string(value, name)
        elif isinstance(value, (int, float)):
            if minimum is not None and value < minimum:
                raise InvalidEvent(f"{value} is below {minimum}", name, code="bad_value")
            if maximum is not None and value > maximum:
                raise InvalidEvent(f"{value} is above {maximum}", name, code="bad_value")
        elif isinstance(value, list):
            if len(value) < min_items or len(value) > max_items:
                raise InvalidEvent(f"has {len(value)} items", name, code="bad_value")
            if unique and len(set(map(str, value))) != len(value):
                raise InvalidEvent("items must be distinct", name, code="bad_value")
            for i, item in enumerate(value):
                item_check(item, f"{name}[{i}]")

    namespace: dict[str, Any] = {}
    return eval(f"lambda v: {_quick(spec, namespace, '')}", namespace), check  # from our own spec


def _quick(spec: dict[str, Any], namespace: dict[str, Any], prefix: str) -> str:
    """``ok`` of :func:`_compile` as a Python expression in ``v``: the same spec's limits, asked of
    plain values only (``str``, ``int``, ``float``, ``list``; a subclass or a bool is left to the
    whole check). The constants it needs go into ``namespace`` under names that start with ``prefix``."""
    types = spec.get("type")
    types = types if isinstance(types, list) else [types]
    want = tuple(t for t in types if t != "null")
    nullable = "null" in types

    def const(name: str, value: Any) -> str:
        namespace[prefix + name] = value
        return prefix + name

    if want == ("string",):
        expr = f"v.__class__ is str and {spec.get('minLength', 0)} <= len(v) <= {spec.get('maxLength', 1 << 30)}"
        if "enum" in spec:
            expr += f" and v in {const('enum', frozenset(spec['enum']))}"
        pattern = spec.get("pattern")
        if pattern == TEXT_PATTERN:
            # Printable text has no control character and no surrogate; other text asks the pattern.
            expr += f" and (v.isprintable() or {const('pattern', re.compile(pattern))}.fullmatch(v) is not None)"
        elif pattern is not None:
            # A code (ISO3, ``ALL``): few distinct values, each matched once.
            matched: set[str] = set()
            expr += f" and (v in {const('matched', matched)} or {const('match', _code_matcher(pattern, matched))}(v))"
    elif want in (("integer",), ("number",)):
        low = const("low", -math.inf if spec.get("minimum") is None else spec["minimum"])
        high = const("high", math.inf if spec.get("maximum") is None else spec["maximum"])
        if want == ("integer",):
            expr = f"v.__class__ is int and {low} <= v <= {high}"
        else:  # NaN fails every comparison, infinity the last
            expr = f"(v.__class__ is float or v.__class__ is int) and {low} <= v <= {high} and -INF < v < INF"
            namespace["INF"] = math.inf
    elif want == ("array",):
        item = const("item", eval(f"lambda v: {_quick(spec['items'], namespace, prefix + 'i_')}", namespace))
        expr = f"v.__class__ is list and {spec.get('minItems', 0)} <= len(v) <= {spec.get('maxItems', 1 << 30)}" \
               f" and all(map({item}, v))"
        if spec.get("uniqueItems"):
            expr += " and len(set(v)) == len(v)"  # plain strings or numbers once the items pass: str() changes none
    else:
        return "False"
    return f"({expr}) or v is None" if nullable else expr


#: Distinct code values (ISO3 and the like) a field remembers as matching its pattern.
_MATCHED_MAX = 4096


def _code_matcher(pattern_text: str, matched: set[str]) -> Callable[[str], bool]:
    """Whether a code matches the pattern, remembering the codes that do in ``matched``."""
    pattern = re.compile(pattern_text)

    def match(value: str) -> bool:
        if pattern.fullmatch(value) is None:
            return False
        if len(matched) >= _MATCHED_MAX:
            matched.clear()
        matched.add(value)
        return True

    return match


# ----------------------------------------------------------------------------- decoding
def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidEvent(f"the key {key!r} appears more than once", key, code="duplicate_key")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise InvalidEvent(f"not JSON: {name} is not a JSON number", code="not_json")


#: Strict JSON: a repeated key is an error (which one counts is not defined), and so are
#: NaN and Infinity (Python's json accepts them).
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_no_constant)
#: The characters that matter for nesting: quotes and backslashes (strings), brackets.
_NESTING_CHARS = re.compile(r'["\\\[\]{}]')


def _check_nesting(text: str, raw: bytes) -> None:
    """Raise ``too_deep`` if arrays and objects nest deeper than MAX_NESTING.

    One pass over the special characters, no recursion and no backtracking regex (a string
    pattern that backtracks is quadratic on ``"\\"\\"\\"...``).
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:
        return  # cannot nest deeper than it has brackets: every real record takes this path
    depth, in_string, escaped_until = 0, False, -1
    for m in _NESTING_CHARS.finditer(text):
        at, c = m.start(), m.group()
        if at < escaped_until:
            continue
        if in_string:
            if c == "\\":
                escaped_until = at + 2
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise InvalidEvent(f"arrays and objects nest deeper than {MAX_NESTING}", code="too_deep")
        elif c in "]}":
            depth -= 1


def decode_json(raw: bytes | str) -> Any:
    """One record's JSON, within the limits (``streams/limits.py``); raises :class:`InvalidEvent`.

    Checked in this order, each with its own code: size (``too_large``), UTF-8 (``not_utf8``),
    nesting (``too_deep``, before the parser could recurse), then strict JSON (``not_json``,
    ``duplicate_key``).
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")  # an unpaired surrogate then fails as not UTF-8
    if len(raw) > MAX_RECORD_BYTES:
        raise InvalidEvent(f"{len(raw)} bytes, more than the limit of {MAX_RECORD_BYTES}", code="too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"not UTF-8 text: {exc.reason} at byte {exc.start}", code="not_utf8") from None
    _check_nesting(text, raw)
    try:
        return _DECODER.decode(text)
    except ValueError as exc:  # JSONDecodeError, and int() refusing more than 4300 digits
        raise InvalidEvent(f"not JSON: {exc}", code="not_json") from None
    except RecursionError:  # unreachable after _check_nesting; kept so no input can crash a caller
        raise InvalidEvent(f"arrays and objects nest deeper than {MAX_NESTING}", code="too_deep") from None


def _loads(raw: bytes | str | dict[str, Any]) -> Any:
    return raw if isinstance(raw, dict) else decode_json(raw)


def _builder(cls: type) -> Callable[..., Any]:
    """``cls(*values)`` (every field, in order) for a frozen slots dataclass without ``__post_init__``,
    in about a third of the time: the generated ``__init__`` sets each field with ``object.__setattr__``;
    this sets them on an object of a plain class with the same slots (the interpreter's quickest
    attribute store, where each of ``cls``'s takes a call of its descriptor, the frozen class refusing
    setattr) and then gives the object ``cls`` as its class, which Python allows between classes of the
    same layout. Every record of every source is built once this way."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: build it with its __init__")
    names = [f.name for f in dataclass_fields(cls)]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls,
                                 "Plain": type(f"_{cls.__name__}Slots", (), {"__slots__": cls.__slots__})}
    lines = [f"def build({', '.join(names)}):", "    obj = new(Plain)"]
    lines += [f"    obj.{name} = {name}" for name in names]
    lines += ["    obj.__class__ = cls", "    return obj"]
    exec("\n".join(lines), namespace)  # source made above from the class's own field names
    return namespace["build"]


_new_incident = _builder(IncidentEvent)


_INCIDENT_NAMES = INCIDENT_FIELDS.keys()


@dataclass(frozen=True, slots=True)
class CheckedPart:
    """Incident fields that many records share (a source's place, actors, source name), checked
    once (:func:`incident_part`) and given to :func:`incident_from_dict` with each record's own."""

    data: dict[str, Any]
    #: every field is known and good: the records' checks leave them out
    good: bool
    #: the fields the records' checks leave out: the part's when it is good, else none
    checked: frozenset[str]
    #: the quick yes of a record with this part (:func:`_compiled`)
    all_ok: Ok


def incident_part(data: dict[str, Any]) -> CheckedPart:
    """``data``'s fields checked as incident fields, once. Never raises: a part with a bad field
    is checked again with each record it is given to, so the record's error is its first bad
    field in field order, as if the part's fields had come with the record."""
    checks = {name: (ok, check) for name, _required, ok, check in _checkers(INCIDENT_FIELDS)}
    good = data.keys() <= checks.keys()
    for name, value in data.items() if good else ():
        ok, check = checks[name]
        try:
            if not ok(value):
                check(value, name)
        except InvalidEvent:
            good = False
    checked = frozenset(data) if good else frozenset()
    return CheckedPart(dict(data), good, checked, _compiled(INCIDENT_FIELDS, checked)[1])


def _event_times(occurred_at: Any, reported_at: Any, ended_at: Any) -> tuple[datetime, datetime, datetime | None]:
    """A record's times read (:func:`event_time`), ``ended_at`` (or None) not before ``occurred_at``."""
    occurred = event_time(occurred_at, "occurred_at")
    reported = event_time(reported_at, "reported_at")
    ended = None if ended_at is None else event_time(ended_at, "ended_at")
    if ended is not None and ended < occurred:
        raise InvalidEvent(f"{ended_at} is before occurred_at {occurred_at}", "ended_at", code="bad_value")
    return occurred, reported, ended


def incident_from_dict(data: dict[str, Any], part: CheckedPart | None = None) -> IncidentEvent:
    """Validate a decoded JSON object and build the record; raises :class:`InvalidEvent`.

    ``part``: fields of the record checked before (:func:`incident_part`), which ``data`` must not
    repeat; only ``data``'s are checked here when the part is good.
    """
    if part is not None:
        merged = {**part.data, **data}
        if len(merged) != len(part.data) + len(data):
            raise ValueError(f"fields given twice: {sorted(part.data.keys() & data.keys())}")
        if not (merged.keys() <= _INCIDENT_NAMES and part.all_ok(merged)):
            _check_types(merged, INCIDENT_FIELDS, part.checked)
        data = merged
    else:
        _check_types(data, INCIDENT_FIELDS)
    occurred, reported, ended = _event_times(data["occurred_at"], data["reported_at"], data.get("ended_at"))
    lat, lon = data.get("latitude"), data.get("longitude")
    if (lat is None) != (lon is None):
        raise InvalidEvent("latitude and longitude go together", "latitude" if lat is None else "longitude",
                           code="bad_value")
    return _new_incident(  # by position, in field order (a keyword call costs more, every record)
        data["event_id"],  # event_id
        occurred,  # occurred_at
        reported,  # reported_at
        data["source"],  # source
        data["category"],  # category
        data["severity"],  # severity
        data["fatalities"],  # fatalities
        data["injuries"],  # injuries
        (data["countries"][0], data["countries"][1]),  # countries
        None if lat is None else float(lat),  # latitude
        None if lon is None else float(lon),  # longitude
        data.get("segment_id") or None,  # segment_id
        data.get("location_name"),  # location_name
        tuple(data.get("actors") or ()),  # actors
        data.get("description"),  # description
        data.get("classification", "public"),  # classification
        tuple(data.get("releasable_to") or (RELEASABLE_ALL,)),  # releasable_to
        ended,  # ended_at
    )


#: Fields whose record attribute is their JSON value as it is. With the times, they may be a record's own
#: fields in :func:`incident_maker`; the others (pairs and lists made tuples, numbers made float) come
#: with the part.
_AS_IS = frozenset({"event_id", "source", "category", "severity", "fatalities", "injuries", "location_name",
                    "description", "classification"})
_TIME_FIELDS = ("occurred_at", "reported_at", "ended_at")
_ATTRIBUTES = tuple(f.name for f in dataclass_fields(IncidentEvent))
_MAKERS: dict[tuple[str, ...], type] = {}


def incident_maker(part: CheckedPart, names: tuple[str, ...]) -> Callable[..., IncidentEvent]:
    """``make(*values)`` with the values of the record's own fields ``names``, in order: the record
    ``incident_from_dict(dict(zip(names, values)), part)`` gives, or its InvalidEvent, in less time.

    The first record is built by ``incident_from_dict``. Its attributes that come from the part
    (converted once) then go into each later record whose own fields pass their quick yes, the same
    as the part's (:func:`_quick`, from the field table), and :func:`_event_times`; a record whose
    fields the quick yes does not vouch for goes through ``incident_from_dict``. ``names``: the
    times and fields taken as they are (:data:`_AS_IS`), none of them in the part.
    """
    maker = _MAKERS.get(names)
    if maker is None:
        unfit = [n for n in names if n not in _AS_IS and n not in _TIME_FIELDS]
        if unfit or len(set(names)) != len(names):
            raise ValueError(f"not a record's own fields: {unfit or names}")
        maker = _MAKERS[names] = _maker_class(names)
    if not part.data.keys().isdisjoint(names):
        raise ValueError(f"fields given twice: {sorted(part.data.keys() & set(names))}")
    return maker(part).make


def _maker_class(names: tuple[str, ...]) -> type:
    """The class of :func:`incident_maker`'s makers for one tuple of own fields, its source generated once.

    A maker is one object with a slot for each attribute it copies: sources have thousands of sites, each
    with its maker, and a closure's cells would be as many objects more for the garbage collector.
    """
    namespace: dict[str, Any] = {"incident_from_dict": incident_from_dict, "times": _event_times,
                                 "build": _new_incident}
    given = [t for t in _TIME_FIELDS if t not in names]
    kept = [a for a in _ATTRIBUTES if a not in names and a not in _TIME_FIELDS]
    value = {**{a: f"self.a_{a}" for a in kept}, **{n: n for n in names}, "occurred_at": "occurred",
             "reported_at": "reported", "ended_at": "ended"}
    time_args = ", ".join(t if t in names else f"self.t_{t}" for t in _TIME_FIELDS)
    lines = ["class Maker:",
             f"    __slots__ = ('part', 'ready', {', '.join(repr(f'a_{a}') for a in kept)}, "
             f"{''.join(repr(f't_{t}') + ', ' for t in given)})",
             "    def __init__(self, part):",
             "        self.part, self.ready = part, False",
             *(f"        self.t_{t} = part.data.get({t!r})" for t in given),
             f"    def make(self, {', '.join(names)}):",
             "        if self.ready:"]
    indent = "            "
    for i, name in enumerate(names):
        lines.append(f"{indent}v = {name}")
        lines.append(f"{indent}if {_quick(INCIDENT_FIELDS[name][1], namespace, f'f{i}_')}:")
        indent += "    "
    lines.append(f"{indent}occurred, reported, ended = times({time_args})")
    lines.append(f"{indent}return build({', '.join(value[a] for a in _ATTRIBUTES)})")
    lines.append(f"        record = incident_from_dict({{{', '.join(f'{n!r}: {n}' for n in names)}}}, self.part)")
    lines.append("        if not self.ready and self.part.good:")
    lines.append(f"            {', '.join(f'self.a_{a}' for a in kept)} = {', '.join(f'record.{a}' for a in kept)}")
    lines.append("            self.ready = True")
    lines.append("        return record")
    exec("\n".join(lines), namespace)  # source made above from our own field tables and the record's fields
    return namespace["Maker"]


def transfer_from_dict(data: dict[str, Any]) -> ArmsTransferEvent:
    """Validate a decoded JSON object and build the record; raises :class:`InvalidEvent`."""
    _check_types(data, TRANSFER_FIELDS)
    if not data["delivery_years"] and data["tiv"]:
        raise InvalidEvent("an order with no delivery years delivered nothing: tiv must be 0 "
                           "(the order's TIV goes in order_tiv)", "tiv")
    if not data["delivery_years"] and data.get("order_year") is None:
        raise InvalidEvent("an order (no delivery years) needs its order_year", "order_year")
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
        occurred_at=event_time(data["occurred_at"], "occurred_at"),
        order_tiv=None if data.get("order_tiv") is None else float(data["order_tiv"]),
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
        desc = ("Deliveries of one arms deal in one year (SIPRI-style), at occurred_at; or an order with "
                "nothing delivered yet (delivery_years empty, tiv 0, order_tiv the order's TIV).")
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
    else:
        # an order (no delivery years) delivered nothing and has an order year
        schema["allOf"] = [
            {"if": {"properties": {"delivery_years": {"maxItems": 0}}, "required": ["delivery_years"]},
             "then": {"properties": {"tiv": {"const": 0}, "order_year": {"type": "integer"}},
                      "required": ["order_year"]}},
        ]
    return schema


#: Dead-letter codes: a bounded set (a metric label), each with what it means.
DEAD_LETTER_CODES: dict[str, str] = {
    "too_large": f"the record is over {MAX_RECORD_BYTES} bytes",
    "not_utf8": "the bytes are not UTF-8 text",
    "too_deep": f"arrays and objects nest deeper than {MAX_NESTING}",
    "not_json": "not strict JSON (syntax, NaN or Infinity, a number of over 4300 digits)",
    "duplicate_key": "an object names the same key twice",
    "not_object": "the JSON is not an object",
    "missing_field": "a required field is absent",
    "unknown_field": "a field the schema does not have",
    "bad_type": "a field of the wrong JSON type",
    "bad_value": "a value out of range, too long, not allowed, or with control characters",
    "bad_time": "a time that is not ISO 8601 or is out of range",
    "bad_tick": "a record with the reserved tick key that is not a tick",
    "late": "an incident older than its segment's newest by more than the grace period",
    "internal": "a record the worker failed on (a bug: the reason has the error)",
    "not_produced": "a routed record that could not be produced to segment-events",
}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What the dead-letter topic carries: the reason and the original bytes, within the limits.

    ``partition`` and ``offset`` locate the input message, when there is one: a batch
    redelivered after a crash dead-letters the same records again, and readers drop
    repeats by (topic, partition, offset).
    """

    topic: str
    reason: str
    code: str
    field: str | None
    original: bytes
    extra: dict[str, Any] = field(default_factory=dict)
    partition: int | None = None
    offset: int | None = None

    def to_json(self) -> bytes:
        """At most MAX_MESSAGE_BYTES: an original over MAX_RECORD_BYTES is cut to its first
        DEAD_LETTER_PREFIX_BYTES; its size and SHA-256 digest always describe the whole."""
        size = len(self.original)
        head = {"topic": self.topic, "reason": bounded(self.reason), "code": self.code, "field": bounded(self.field)}
        if self.partition is not None:
            head.update(partition=self.partition, offset=self.offset)
        tail = {"original_size": size, "original_sha256": hashlib.sha256(self.original).hexdigest()}
        keep = size if size <= MAX_RECORD_BYTES else DEAD_LETTER_PREFIX_BYTES
        out = _dead_letter_json(head, self.original, keep, tail, self.extra)
        if len(out) > MAX_MESSAGE_BYTES:  # only a huge ``extra`` gets here: keep the prefix, drop it
            out = _dead_letter_json(head, self.original, DEAD_LETTER_PREFIX_BYTES, tail, {})
        return out


def _dead_letter_json(head: dict[str, Any], original: bytes, keep: int, tail: dict[str, Any],
                      extra: dict[str, Any]) -> bytes:
    text, encoding = _as_text(original[:keep], cut=keep < len(original))
    return json.dumps({**head, "original": text, "original_encoding": encoding,
                       "original_truncated": keep < len(original), **tail, **extra},
                      separators=(",", ":")).encode()


def _as_text(data: bytes, cut: bool) -> tuple[str, str]:
    """UTF-8 text if it is, else base64. A prefix (``cut``) may end inside a character: then up to
    3 bytes are dropped to keep it text."""
    for drop in range(4 if cut else 1):
        try:
            return data[:len(data) - drop].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            continue
    return base64.b64encode(data).decode(), "base64"
