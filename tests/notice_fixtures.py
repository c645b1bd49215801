"""A small alert group with evidence of mixed releasability, shared by the notice and sink tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from alerts.notify.notices import NoticeRenderer, NoticeRequest, SegmentContext

SECRET = b"test-ack-secret"
BASE_URL = "https://bw.example"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

INCIDENTS = (
    {"event_id": "inc-public", "day": 20410, "at": "2025-11-18T06:00:00Z", "category": "armed clash",
     "fatalities": 3, "severity": 4, "classification": "public", "releasable_to": ["ALL"],
     "description": "Exchange of fire near Kok-Tash water intake"},
    {"event_id": "inc-kgz-only", "day": 20411, "at": "2025-11-19T04:00:00Z", "category": "shelling",
     "fatalities": 1, "severity": 3, "classification": "restricted", "releasable_to": ["KGZ"],
     "description": "Mortar rounds reported by border post Dostuk"},
    {"event_id": "inc-tjk-only", "day": 20411, "at": "2025-11-19T05:00:00Z", "category": "incursion",
     "fatalities": 0, "severity": 2, "classification": "confidential", "releasable_to": ["TJK"],
     "description": "SECRET-TJK patrol movement at Vorukh"},
)


def alert(level: str = "critical", transition: str = "escalated", evidence=("inc-public", "inc-kgz-only",
          "inc-tjk-only"), resolved_at: str | None = None, alert_id: str = "al-0001") -> dict:
    return {"alert_id": alert_id, "border": "KGZ-TJK", "segment_id": "KGZ-TJK-07", "countries": ["KGZ", "TJK"],
            "level": "none" if resolved_at else level, "peak_level": level, "score": 0.93,
            "summary": f"{level} on Batken-Isfara: 3 incidents, 4 fatalities in 7 days",
            "evidence": list(evidence), "classification": "public", "releasable_to": ["ALL"],
            "figures_releasable_to": ["ALL"],
            "opened_at": "2025-11-18T06:00:00Z", "resolved_at": resolved_at,
            "transitions": [{"transition": "opened", "level": "watch", "at": "2025-11-18T06:00:00Z", "score": 0.7},
                            {"transition": transition, "level": level, "at": "2025-11-19T05:00:00Z", "score": 0.93}]}


CONTEXT = SegmentContext(
    "KGZ-TJK-07", INCIDENTS,
    activity=tuple((f"2025-11-{d:02d}", n) for d, n in zip(range(1, 20), [0] * 16 + [0, 1, 2])),
    baseline=0.1, pressure={"KGZ": {2021: 12.0, 2023: 30.5}, "TJK": {2024: 8.0}},
    name="Kyrgyzstan–Tajikistan km 360–420, near Isfara and Batken",
    place="near Isfara and Batken", place_ru="в районе н.\u00a0п.\u00a0Исфара и Баткен")
#: The stretch's border line near Batken, (lon, lat) as the segment registry keeps it: the CAP area.
LINE = ((70.50, 39.95), (70.70, 40.00), (70.90, 40.05))
WITH_LINE = replace(CONTEXT, line=LINE)


def request(receiver: str = "secretariat-KGZ", notice_id: str = "nt-kgz-1", **kw) -> NoticeRequest:
    return NoticeRequest(receiver, "{}:{border=\"KGZ-TJK\"}", (alert(**kw),), "new alert group", notice_id)


#: The Central Asian secretariats read Russian, as the bundled policy says.
LANGUAGES = {"secretariat-KGZ": "ru", "secretariat-TJK": "ru"}


def renderer(now: datetime = NOW, languages=None, context: SegmentContext = CONTEXT) -> NoticeRenderer:
    """English for every receiver unless ``languages`` says otherwise (e.g. :data:`LANGUAGES`);
    the segment's ``context`` without its line unless told (:data:`WITH_LINE`: a map, a CAP area)."""
    return NoticeRenderer({"KGZ-TJK-07": context}.get, SECRET, BASE_URL, languages=languages, clock=lambda: now)
