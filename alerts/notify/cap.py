"""A notice as an OASIS CAP 1.2 message (Common Alerting Protocol): one ``<alert>`` per notice.

The CAP document says what the notice says, to the same receiver, built from the same
:class:`~alerts.notify.model.Notice` (already redacted for the receiver) and the same translated
strings (alerts/notify/brief.py), so no withheld incident can reach it. The choices, per
element (docs/SINKS.md has them as a table):

* ``identifier`` the notice id; ``sender`` ``borderwatch@<host of the notice's links>`` unless
  the sink names one; ``sent`` the notice's time as CAP 1.2 writes UTC: ``2026-11-30T12:00:00-00:00``
  ("Alphabetic timezone designators such as 'Z' MUST NOT be used. The timezone for UTC MUST be
  represented as '-00:00'", CAP 1.2 on its dateTime values).
* ``status`` ``Actual``; ``Test`` for a DEMO notice ("technical testing only, all recipients
  disregard"), with the demo line as ``<note>``.
* ``msgType`` ``Alert`` for the first notice of a group to this receiver; ``Update`` with
  ``<references>`` to the last earlier notice of the group after that. The end of an alert is an
  ``Update`` whose ``responseType`` is ``AllClear`` (CAP 1.2's term for "no longer a threat"):
  ``Cancel`` withdraws messages sent in error, which a resolution is not.
* ``scope`` ``Private`` with ``<addresses>`` the receiver: the notice holds what the sources
  released to this receiver and no one else.
* ``incidents`` the alert ids: every notice about an alert names it, so a CAP client can collate them.
* One ``<info>`` in the receiver's language (``ru-RU``, ``en-US``), and for a receiver that does not
  read English a second one in English, for partners and aggregators that read CAP in English.
* ``event`` "Border escalation", or "Arms race on a border" for a notice of arms-race alerts.
* Urgency, severity, certainty and responseType from the level: :data:`CAP_LEVELS`, declared here only
  (the same for arms-race alerts).
* ``<area>`` per alert: the stretch's name and towns as ``areaDesc``; a ``<circle>`` ("lat,lon
  radius-km", WGS 84) around the segment's border line, wide enough for the incidents the registry
  assigns to it; a whole-border segment has no line and names its two states as ISO 3166 geocodes.

>>> to_cap(notice)                                # doctest: +SKIP
b'<?xml version=\\'1.0\\' encoding=\\'utf-8\\'?>\\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">...'
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

from alerts.borders import states_of
from alerts.escalation import EscalationPolicy
from alerts.model import ARMS_RACE
from alerts.notify.i18n import SOURCE_LANGUAGE, translations
from alerts.notify.brief import brief_of
from alerts.notify.model import Notice
from alerts.timefmt import cap_time, parse_iso

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
#: CAP's language tags (RFC 3066) for the notice languages of alerts/notify/i18n.py.
CAP_LANGUAGE = {"en": "en-US", "ru": "ru-RU"}


#: level -> (urgency, severity, certainty, responseType). The event is the border's escalation, so
#: certainty is the forecast's, not the evidence's (which is observed): watch and warning are
#: below an even chance of a deadly clash within 60 days (docs/OPERATORS.md), critical above 40 %.
#: Urgency follows the policy's timing: critical is sent at once, day or night; a warning asks
#: the desk to confirm the facts and call; a watch to follow the sources.
CAP_LEVELS: dict[str, tuple[str, str, str, str]] = {
    "watch": ("Future", "Moderate", "Possible", "Monitor"),
    "warning": ("Expected", "Severe", "Possible", "Assess"),
    "critical": ("Immediate", "Extreme", "Likely", "Assess"),
    "resolved": ("Past", "Minor", "Observed", "AllClear"),
}
#: How long an open notice's information stands without a further notice: the longest an alert stays
#: open without new deaths (alerts/escalation.py). An all-clear is shown for a day.
OPEN_EXPIRES = timedelta(days=EscalationPolicy().expire_after_days or 45)
RESOLVED_EXPIRES = timedelta(days=1)
#: Added to the farthest point of a segment's line: the segment registry assigns incidents within this
#: distance of its line (streams/segments.py DEFAULT_MAX_DISTANCE_KM; a unit test holds the two equal).
AREA_MARGIN_KM = 25.0
EARTH_RADIUS_KM = 6371.0088

# XML 1.0 refuses these code points even escaped; a source's text may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# CAP: sender, identifier and addresses' entries contain no spaces, commas or restricted characters.
_NOT_CAP_ID = re.compile(r"[\s,<&]")


def default_sender(notice: Notice) -> str:
    """``borderwatch@<host>`` of the notice's own links (``--public-url``), so a deployment is named by its address."""
    host = urlsplit(notice.ack_url).hostname or "localhost"
    return f"borderwatch@{host}"


def check_sender(sender: str) -> str:
    if not sender or _NOT_CAP_ID.search(sender):
        raise ValueError(f"CAP sender {sender!r}: one word, no spaces, commas, '<' or '&' (e.g. borderwatch@centre.example)")
    return sender


def to_cap(notice: Notice, sender: str | None = None) -> bytes:
    """The notice as a CAP 1.2 ``<alert>``, UTF-8 XML with its declaration."""
    sender = check_sender(sender or default_sender(notice))
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _add(alert, "identifier", notice.notice_id)
    _add(alert, "sender", sender)
    _add(alert, "sent", cap_time(notice.created_at))
    _add(alert, "status", "Test" if notice.demo else "Actual")
    _add(alert, "msgType", "Update" if notice.previous else "Alert")
    _add(alert, "scope", "Private")
    _add(alert, "addresses", notice.receiver)
    if notice.demo:
        _add(alert, "note", brief_of(notice).demo_line)
    if notice.previous:
        earlier, at = notice.previous
        _add(alert, "references", f"{sender},{earlier},{cap_time(at)}")
    _add(alert, "incidents", " ".join(dict.fromkeys(s.alert_id for s in notice.sections)))
    for lang in languages(notice.lang):
        _info(alert, notice if lang == notice.lang else replace(notice, lang=lang))
    ET.indent(alert)
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS) + b"\n"


def languages(lang: str) -> tuple[str, ...]:
    """The receiver's language first; English after it for a receiver that reads another."""
    return (lang,) if lang == SOURCE_LANGUAGE else (lang, SOURCE_LANGUAGE)


def _info(alert: ET.Element, n: Notice) -> None:
    _ = translations(n.lang).gettext
    b = brief_of(n)
    urgency, severity, certainty, response = CAP_LEVELS[n.level]
    sent = parse_iso(n.created_at)
    info = ET.SubElement(alert, f"{{{CAP_NS}}}info")
    _add(info, "language", CAP_LANGUAGE[n.lang])
    _add(info, "category", "Security")
    arms_race = all(s.kind == ARMS_RACE for s in n.sections)  # a notice of arms-race alerts only
    _add(info, "event", _("Arms race on a border") if arms_race else _("Border escalation"))
    _add(info, "responseType", response)
    _add(info, "urgency", urgency)
    _add(info, "severity", severity)
    _add(info, "certainty", certainty)
    _add(info, "onset", cap_time(min(s.opened_at for s in n.sections)))
    _add(info, "expires", cap_time(sent + (RESOLVED_EXPIRES if n.level == "resolved" else OPEN_EXPIRES)))
    _add(info, "senderName", _("borderwatch border early-warning centre"))
    _add(info, "headline", b.title)
    _add(info, "description", _description(b))
    # Without a link (a desk's notice read by the centre, alerts/notify/archive.py) the request stands, the link not.
    _add(info, "instruction", "\n".join((*b.asked, *([f"{b.labels['ack']}: {b.ack_url}"] if b.ack_url else []))))
    if n.ack_url:
        _add(info, "web", n.ack_url)
    for name, value in _parameters(n):
        p = ET.SubElement(info, f"{{{CAP_NS}}}parameter")
        _add(p, "valueName", name)
        _add(p, "value", value)
    for s, bs in zip(n.sections, b.sections):
        area = ET.SubElement(info, f"{{{CAP_NS}}}area")
        _add(area, "areaDesc", bs.segment)
        circle = area_circle(s.line)
        if circle:
            _add(area, "circle", circle)
        else:  # a whole border: its two states
            for country in s.countries or states_of(s.border):
                g = ET.SubElement(area, f"{{{CAP_NS}}}geocode")
                _add(g, "valueName", "ISO 3166-1 alpha-3")
                _add(g, "value", country)


def _description(b: Any) -> str:
    lines = [b.demo_line] if b.demo_line else []
    for s in b.sections:
        lines += [s.heading, s.segment, f"{b.labels['happened']}:", *s.happened,
                  *([f"{s.trend_heading}:", s.trend] if s.trend else []),
                  f"{s.evidence_heading}:", *(row.line for row in s.evidence), *([s.no_evidence] if s.no_evidence else [])]
    return "\n".join(lines)


def _parameters(n: Notice) -> Iterable[tuple[str, str]]:
    """Machine-readable: the notice's level and audience, then per alert (in the order of the areas)."""
    yield "level", n.level
    yield "releasedTo", n.audience
    for s in n.sections:
        yield "alertId", s.alert_id
        yield "segmentId", s.segment_id
        yield "border", s.border
        yield "alertLevel", s.level if not s.resolved_at else "resolved"
        yield "peakLevel", s.peak_level
        yield "trend", s.trend
        yield "evidenceIncidents", str(len(s.evidence))
        yield "deaths", str(sum(int(i.get("fatalities") or 0) for i in s.evidence))
        f = s.forecast
        if f:
            yield "probability", f"{float(f['probability']):.4f}"
            if f.get("band_from") is not None:
                top = "" if f.get("band_to") is None else f"{float(f['band_to']):.4f}"
                yield "probabilityRange", f"{float(f['band_from']):.4f}-{top}"
            if f.get("horizon_days"):
                yield "horizonDays", str(int(f["horizon_days"]))


def area_circle(line: Sequence[tuple[float, float]], margin_km: float = AREA_MARGIN_KM) -> str:
    """CAP's ``circle``, ``"lat,lon radius"`` (WGS 84, km), around a (lon, lat) line; "" for no line."""
    if not line:
        return ""
    lat0 = sum(lat for _lon, lat in line) / len(line)
    lon0 = sum(lon for lon, _lat in line) / len(line)
    radius = max(haversine_km(lat0, lon0, lat, lon) for lon, lat in line) + margin_km
    return f"{lat0:.4f},{lon0:.4f} {radius:.1f}"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    el.text = _NOT_XML.sub("", str(text))
    return el
