"""Timestamps as borderwatch writes and reads them: the one module that parses and formats them.

Every time on a topic, in a file and in the API is ISO 8601 UTC with a ``Z``, to the second
(:func:`iso`). Reading takes what people and sources write: a ``Z`` or an offset, or no zone
(UTC), or a bare date (its midnight UTC), and always gives an aware UTC time
(:func:`parse_time`); the alerts topic's own records must carry their zone (:func:`parse_iso`).
The other forms are other parties' (Alertmanager's, CAP's) or people's (:func:`human`).

>>> iso(parse_time("2022-09-14T08:00:00+02:00"))
'2022-09-14T06:00:00Z'
>>> human("2022-09-14T06:00:00Z")
'2022-09-14 06:00 UTC'
"""

from __future__ import annotations

from datetime import datetime, timezone

#: The times the API's query parameters take (``since``, ``until``): ISO 8601, a date alone or with a
#: time, its seconds, fraction and zone optional. Checked before parsing, so the OpenAPI pattern is the rule.
ISO_TIME = (r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
            r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?)?")


def utcnow() -> datetime:
    """The wall clock, as an aware UTC time: the default clock wherever one is injected."""
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """ISO 8601 UTC with a ``Z``, to the second: the one time format on the topics and in the API."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: pass an aware (UTC) time")
    if dt.tzinfo is not timezone.utc:
        dt = dt.astimezone(timezone.utc)
    # by hand rather than strftime: a third of the time, on every incident routed, and the year
    # always four digits (glibc's %Y writes year 999 as "999", which fromisoformat refuses)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


def parse_time(value: str | datetime) -> datetime:
    """ISO 8601 (``Z`` or an offset; no zone means UTC, a bare date its midnight UTC) -> aware UTC.

    Raises ``ValueError`` for text that is not such a time, or one that leaves the calendar in UTC.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    else:
        raise ValueError(f"expected an ISO 8601 time, got {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        raise ValueError(f"out of range: {value!r}") from None


def parse_iso(text: str) -> datetime:
    """A time the system wrote (:func:`iso`), read back: like :func:`parse_time`, but a time without
    a zone is an error rather than UTC."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone: write it in UTC with a Z")
    return dt.astimezone(timezone.utc)


def human(at: str | None) -> str:
    """A stored time as people read it, with its zone: ``2022-09-14 06:00 UTC`` ("" for none)."""
    if not at:
        return ""
    return parse_time(at).strftime("%Y-%m-%d %H:%M UTC")


def rfc3339_millis(dt: datetime) -> str:
    """Alertmanager's form: RFC 3339 UTC with milliseconds, ``2026-11-30T12:00:00.000Z``."""
    return iso(dt).removesuffix("Z") + ".000Z"


def cap_time(at: str | datetime) -> str:
    """CAP 1.2's dateTime in UTC: ``2026-11-30T12:00:00-00:00`` (never ``Z``; UTC is ``-00:00``)."""
    return iso(at if isinstance(at, datetime) else parse_iso(at)).removesuffix("Z") + "-00:00"
