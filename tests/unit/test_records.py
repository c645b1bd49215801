import dataclasses
import json
import pickle

import jsonschema
import pytest

from streams.errors import InvalidEvent
from streams.records import (
    INCIDENT_FIELDS,
    TRANSFER_FIELDS,
    DeadLetter,
    IncidentEvent,
    _checkers,
    decode_incident,
    decode_transfer,
    encode,
    incident_from_dict,
    incident_maker,
    incident_part,
    json_schema,
)

GOOD = {
    "event_id": "t-1", "occurred_at": "2022-09-14T05:00:00Z", "reported_at": "2022-09-14T09:30:00+02:00",
    "source": "press", "category": "shelling", "severity": 4, "fatalities": 3, "injuries": 7,
    "countries": ["TJK", "KGZ"], "latitude": 40.05, "longitude": 70.63, "location_name": "Dostuk",
    "actors": ["TJK border guards"], "classification": "restricted", "releasable_to": ["KGZ", "TJK"],
}
TRANSFER = {
    "transfer_id": "s-1", "supplier": "Turkiye", "recipient": "KGZ", "order_year": 2021, "delivery_years": [2021, 2022],
    "quantity": 3, "weapon_category": "UAV", "designation": "TB-2", "tiv": 12.5, "status": "", "source": "SIPRI",
    "occurred_at": "2022-07-01T00:00:00Z",
}


def test_incident_decodes_times_to_utc_and_border_is_sorted_pair():
    ev = decode_incident(json.dumps(GOOD).encode())
    assert ev.reported_at.isoformat() == "2022-09-14T07:30:00+00:00"
    assert ev.border == "KGZ-TJK"
    assert decode_incident(encode(ev)) == ev
    assert ev.ended_at is None
    lasting = decode_incident(json.dumps(dict(GOOD, ended_at="2022-09-20")))
    assert lasting.ended_at.isoformat() == "2022-09-20T00:00:00+00:00" and decode_incident(encode(lasting)) == lasting


@pytest.mark.parametrize("field,value,code", [
    ("severity", 9, "bad_value"),
    ("category", "riot", "bad_value"),
    ("countries", ["KGZ"], "bad_value"),
    ("countries", ["KGZ", "KGZ"], "bad_value"),
    ("countries", ["kgz", "TJK"], "bad_value"),
    ("occurred_at", "yesterday", "bad_time"),
    ("fatalities", -1, "bad_value"),
    ("fatalities", True, "bad_type"),
    ("latitude", 95.0, "bad_value"),
    ("releasable_to", ["kgz"], "bad_value"),
    ("ended_at", "2022-09-13T23:00:00Z", "bad_value"),  # before it began
    ("ended_at", "later", "bad_time"),
])
def test_invalid_incident_names_the_field(field, value, code):
    bad = dict(GOOD, **{field: value})
    with pytest.raises(InvalidEvent) as info:
        decode_incident(json.dumps(bad))
    assert info.value.field.startswith(field)
    assert info.value.code == code


def test_missing_unknown_and_non_json_input():
    with pytest.raises(InvalidEvent) as info:
        decode_incident(json.dumps({k: v for k, v in GOOD.items() if k != "source"}))
    assert (info.value.field, info.value.code) == ("source", "missing_field")
    with pytest.raises(InvalidEvent) as info:
        decode_incident(json.dumps(dict(GOOD, colour="red")))
    assert info.value.code == "unknown_field"
    with pytest.raises(InvalidEvent) as info:
        decode_incident(b"{not json")
    assert info.value.code == "not_json"
    with pytest.raises(InvalidEvent) as info:
        decode_incident(b"\xff{not json")
    assert info.value.code == "not_utf8"
    with pytest.raises(InvalidEvent):
        decode_incident(json.dumps(dict(GOOD, latitude=None)))  # longitude without latitude


@pytest.mark.parametrize("kind,good,decode", [("incident", GOOD, decode_incident),
                                              ("arms-transfer", TRANSFER, decode_transfer)])
def test_published_schema_agrees_with_the_decoder(kind, good, decode):
    schema = json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(good))
    decode(json.dumps(good))
    # every single-field corruption the schema rejects, the decoder rejects too
    for name in schema["properties"]:
        for bad_value in ("", -5, 10**6, [], None, "ZZ"):
            bad = dict(good, **{name: bad_value})
            schema_ok = not list(validator.iter_errors(bad))
            try:
                decode(json.dumps(bad))
                decoder_ok = True
            except InvalidEvent:
                decoder_ok = False
            if name.endswith("_at") and schema_ok:
                continue  # "format: date-time" is an annotation in JSON Schema, the decoder is stricter
            assert schema_ok == decoder_ok, (name, bad_value)


def test_dead_letter_keeps_original_bytes_even_when_not_utf8():
    dl = DeadLetter("borderwatch.incidents", "not JSON", "not_json", None, b"\xff\xfe")
    d = json.loads(dl.to_json())
    assert d["original_encoding"] == "base64" and d["original"] == "//4="
    assert d["reason"] == "not JSON"


_PROBES = [None, True, False, 0, 1, 4, 5, 9, -1, 2**70, 0.0, 40.05, 95.0, -180.0, 1e308, float("nan"), float("inf"),
           "", "x", "KGZ", "kgz", "ALL", "armed_clash", "riot", "public", "Dostuk, Batken", "x" * 5000, "a\x00b",
           "a\tb\nc", "\u00ad soft hyphen", "\ud800", "2022-09-14T05:00:00Z", [], ["KGZ"], ["KGZ", "TJK"],
           ["KGZ", "KGZ"], ["kgz", "TJK"], ["ALL"], ["KGZ", 1], [2021, 2022], [2021, True], ["a"] * 300, {"a": 1}]


@pytest.mark.parametrize("fields", [INCIDENT_FIELDS, TRANSFER_FIELDS], ids=["incident", "transfer"])
def test_quick_yes_only_for_values_the_whole_check_accepts(fields):
    """Every value a field's quick ``ok`` lets by passes its whole check (the rule's one owner)."""
    for name, _required, ok, check in _checkers(fields):
        for value in _PROBES:
            if ok(value):
                check(value, name)  # must not raise


def test_quick_yes_for_the_values_records_carry():
    checks = {name: ok for name, _required, ok, _check in _checkers(INCIDENT_FIELDS)}
    for name, value in {**GOOD, "ended_at": None, "description": "a\tb\nc", "segment_id": None}.items():
        assert checks[name](value), name


def test_a_checked_part_gives_the_record_and_the_error_of_the_whole_dict():
    shared = {"source": "press", "countries": ["TJK", "KGZ"], "latitude": 40.05, "longitude": 70.63,
              "location_name": "Dostuk", "actors": ["TJK border guards"]}
    own = {k: v for k, v in GOOD.items() if k not in shared}
    assert incident_from_dict(own, incident_part(shared)) == incident_from_dict(GOOD)
    with pytest.raises(ValueError):
        incident_from_dict(GOOD, incident_part(shared))  # a field given twice
    for bad_shared, bad_own in (({}, {"severity": 9}), ({"location_name": "a\x00b"}, {}),
                                ({"location_name": "a\x00b"}, {"event_id": ""}),
                                ({"actors": ["x" * 999]}, {"description": "a\x00b"}), ({"colour": "red"}, {})):
        part, rest = dict(shared, **bad_shared), dict(own, **bad_own)
        with pytest.raises(InvalidEvent) as whole:
            incident_from_dict({**part, **rest})
        with pytest.raises(InvalidEvent) as split:
            incident_from_dict(rest, incident_part(part))
        assert (split.value.field, split.value.code, str(split.value)) == \
            (whole.value.field, whole.value.code, str(whole.value))


def _outcome(make):
    try:
        return make()
    except InvalidEvent as exc:
        return exc.field, exc.code, str(exc)


def test_a_maker_gives_the_record_and_the_error_of_incident_from_dict():
    """incident_maker's records are incident_from_dict's, the first and every later one, good or bad, for a
    good part and for a bad one: the quick way is taken only for fields the quick yes vouches for."""
    names = ("event_id", "occurred_at", "reported_at", "ended_at", "severity", "fatalities", "description")
    own = dict(GOOD, ended_at="2022-09-15T00:00:00Z", description="a\tb")
    rows = [own, dict(own, event_id="t-2", ended_at=None), dict(own, event_id=""), dict(own, severity=9),
            dict(own, severity=True), dict(own, fatalities=-1), dict(own, description="a\x00b"),
            dict(own, ended_at="2022-09-13T00:00:00Z"), dict(own, occurred_at="2022-09-14"),
            dict(own, reported_at="yesterday"), dict(own, description=None), dict(own, event_id="t-3")]
    shared = {k: v for k, v in GOOD.items() if k not in names}
    for part_data in (shared, dict(shared, location_name="a\x00b"), dict(shared, countries=["KGZ"]),
                      {k: v for k, v in shared.items() if k != "injuries"}):
        part = incident_part(part_data)
        make = incident_maker(part, names)
        for row in rows:
            values = tuple(row[n] for n in names)
            assert _outcome(lambda: make(*values)) == \
                _outcome(lambda: incident_from_dict(dict(zip(names, values)), part)), (part_data, row)
        assert make.__self__.ready == (part_data is shared)  # the later records of a good part: the quick way
    with pytest.raises(ValueError):
        incident_maker(incident_part(shared), ("event_id", "countries"))  # not taken as it is
    with pytest.raises(ValueError):
        incident_maker(incident_part(shared), ("event_id", "source"))  # in the part too


def test_a_built_record_is_the_dataclass_s_own():
    """Records are built on a plain class with the same slots and then given IncidentEvent as their class."""
    record = decode_incident(json.dumps(dict(GOOD, ended_at="2022-09-15T00:00:00Z")))
    same = IncidentEvent(*dataclasses.astuple(record))
    assert type(record) is IncidentEvent and record == same and hash(record) == hash(same)
    assert repr(record) == repr(same) and pickle.loads(pickle.dumps(record)) == record
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.severity = 1


def test_every_field_lands_in_its_own_attribute():
    data = dict(GOOD, ended_at="2022-09-15T00:00:00Z", segment_id="KGZ-TJK-01", description="d")
    assert decode_incident(json.dumps(data)).to_dict() == dict(
        data, occurred_at="2022-09-14T05:00:00Z", reported_at="2022-09-14T07:30:00Z",
        ended_at="2022-09-15T00:00:00Z")
