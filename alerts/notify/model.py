"""A notice as data: what one receiver is told about one alert group, each alert a
:class:`Section`, already redacted for the receiver (:mod:`alerts.notify.notices` builds it).

Nothing here renders. The words are :func:`alerts.notify.brief.brief`'s, the HTML, text and JSON
:mod:`alerts.notify.brief`'s and the PDF :mod:`alerts.notify.pdf`'s, so the sinks, the renderers
and the policy's check of sink keys can all stand on this module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Mapping

from alerts.escalation import LEVEL_INDEX
from alerts.model import INCIDENT
from alerts.notify.i18n import SOURCE_LANGUAGE


@dataclass(frozen=True)
class Section:
    """One alert of the group as this receiver may see it."""

    alert_id: str
    segment_id: str
    border: str
    level: str
    peak_level: str
    trend: str
    summary: str
    opened_at: str
    resolved_at: str | None
    evidence: tuple[Mapping[str, Any], ...]
    activity: tuple[tuple[str, int], ...]
    #: the mean daily count over the year before the chart; None for a receiver who may not see every
    #: incident (its chart counts the recent incidents released to it: notices._activity_for)
    baseline: float | None
    pressure: tuple[tuple[str, tuple[tuple[int, float], ...], float], ...]  # (ISO3, ((year, tiv), ...), total)
    #: What deviated from baseline, from the alert's explanation: "feature: baseline -> now" lines.
    why: tuple[str, ...] = ()
    #: the segment's name with its towns, when the notifier knows it
    name: str = ""
    #: the towns alone, in English and Russian, for the headline
    place: str = ""
    place_ru: str = ""
    #: the two states of the border, as the alert lists them
    countries: tuple[str, ...] = ()
    #: ``incident`` or ``arms-race`` (alerts.model.AlertEvent.kind)
    kind: str = INCIDENT
    #: arms-race alerts: each side as the assessment found it (explanation "sides")
    sides: tuple[Mapping[str, Any], ...] = ()
    #: the segment's border line, (lon, lat) pairs (``SegmentContext.line``)
    line: tuple[tuple[float, float], ...] = ()
    #: the hazard forecast behind the level, when one set it: probability, horizon_days and the
    #: level's probability band (``band_from``, ``band_to``; None above the top line)
    forecast: Mapping[str, Any] = field(default_factory=dict)
    #: the alert's figures are withheld from this receiver (alerts.access.Principal.shown): the
    #: notice says so instead of a reading it may not have
    figures_withheld: bool = False


@dataclass(frozen=True)
class Notice:
    notice_id: str
    receiver: str
    group_key: str
    reason: str
    audience: str  # the principal's role string, e.g. secretariat:KGZ
    created_at: str
    ack_url: str
    sections: tuple[Section, ...]
    changes: tuple[str, ...]
    #: kept in the delivery log; the next notice to this receiver for this group compares with it
    summary: dict[str, Any]
    #: the receiver's language (alerts/notify/i18n.py LANGUAGES)
    lang: str = SOURCE_LANGUAGE
    #: some evidence comes from the demo's made-up incident: the notice says DEMO in title and body
    demo: bool = False
    #: (notice_id, created_at) of the last other notice to this receiver for this group, if one went out
    previous: tuple[str, str] | None = None

    @property
    def level(self) -> str:
        open_levels = [s.level for s in self.sections if not s.resolved_at]
        return max(open_levels, key=LEVEL_INDEX.__getitem__) if open_levels else "resolved"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["level"] = self.level
        for s in d["sections"]:
            s["evidence"] = [dict(i) for i in s["evidence"]]
            s["pressure"] = [{"country": c, "years": {str(y): t for y, t in ys}, "total_tiv": tot}
                             for c, ys, tot in s["pressure"]]
            s["activity"] = [{"date": day, "incidents": n} for day, n in s["activity"]]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Notice":
        """Back from :meth:`to_dict` (and so from :func:`alerts.notify.brief.notice_json`): the notice
        as it was rendered."""
        sections = tuple(Section(
            **{k: v for k, v in s.items() if k in _SECTION_PLAIN},
            evidence=tuple(dict(i) for i in s.get("evidence", ())),
            activity=tuple((a["date"], int(a["incidents"])) for a in s.get("activity", ())),
            pressure=tuple((p["country"], tuple((int(y), float(t)) for y, t in p["years"].items()), p["total_tiv"])
                           for p in s.get("pressure", ())),
            why=tuple(s.get("why", ())), countries=tuple(s.get("countries", ())),
            sides=tuple(dict(x) for x in s.get("sides", ())),
            line=tuple((float(lon), float(lat)) for lon, lat in s.get("line", ())),
            forecast=dict(s.get("forecast") or {})) for s in d["sections"])
        plain = {k: v for k, v in d.items() if k in _NOTICE_PLAIN}
        previous = tuple(d["previous"]) if d.get("previous") else None
        return cls(**plain, sections=sections, changes=tuple(d.get("changes", ())), previous=previous)

    def once(self, kind: str, make: Callable[[], Any]) -> Any:
        """``make()``, made on the first call for ``kind`` and kept on this notice. A notice is
        frozen: its words and each rendering of it are made once, however many sinks and retries
        send it (the renderings are :mod:`alerts.notify.brief`'s and :mod:`alerts.notify.pdf`'s)."""
        kept = self.__dict__.setdefault("_renderings", {})
        if kind not in kept:
            kept[kind] = make()
        return kept[kind]


_SECTION_PLAIN = {f.name for f in fields(Section)} - {"evidence", "activity", "pressure", "why", "countries", "sides",
                                                      "line", "forecast"}
_NOTICE_PLAIN = {f.name for f in fields(Notice)} - {"sections", "changes", "previous"}
