"""The labelled-episodes file (``episode_id,border,start,end,kind``): its columns and its reader,
which every command that evaluates or trains against labels reads it through."""

from __future__ import annotations

import csv
from datetime import date

from alerts.borders import is_border_id, is_iso3
from streams.errors import SourceRowError

LABEL_COLUMNS = ("episode_id", "border", "start", "end", "kind")
LABEL_KINDS = ("escalation", "negative_control")


def read_labels(path: str) -> list[dict]:
    """Labelled episodes (``episode_id,border,start,end,kind``; more columns are kept).

    An escalation's border is a sorted ISO3 pair (``KGZ-TJK``), a negative control's one ISO3
    state. A bad row raises SourceRowError naming the file, line and column.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise SourceRowError(path, 1, missing[0], f"missing column (need {','.join(LABEL_COLUMNS)})")
            rows = list(reader)
    except OSError as exc:
        raise SourceRowError(path, 0, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SourceRowError(path, 0, None, f"not UTF-8: {exc.reason}") from None
    ids: set[str] = set()
    for line, row in enumerate(rows, 2):
        for col in LABEL_COLUMNS:
            if not (row.get(col) or "").strip():
                raise SourceRowError(path, line, col, "missing")
        days = {}
        for col in ("start", "end"):
            try:
                days[col] = date.fromisoformat(row[col])
            except ValueError:
                raise SourceRowError(path, line, col, f"{row[col]!r} is not a date (YYYY-MM-DD)") from None
        if days["end"] < days["start"]:
            raise SourceRowError(path, line, "end", f"{row['end']} is before start {row['start']}")
        if row["kind"] not in LABEL_KINDS:
            raise SourceRowError(path, line, "kind", f"{row['kind']!r} is not one of {', '.join(LABEL_KINDS)}")
        if row["kind"] == "escalation" and not is_border_id(row["border"]):
            raise SourceRowError(path, line, "border", f"{row['border']!r} is not a sorted ISO3 pair like KGZ-TJK")
        if row["kind"] == "negative_control" and not is_iso3(row["border"]):
            raise SourceRowError(path, line, "border", f"{row['border']!r}: a negative control names one ISO3 state")
        if row["episode_id"] in ids:
            raise SourceRowError(path, line, "episode_id", f"{row['episode_id']!r} appears twice")
        ids.add(row["episode_id"])
    return rows
