"""SIPRI Arms Transfers Database trade-register export -> arms-transfer events.

The export is cp1252 with a preamble before the header line (found by its first
cell, ``Recipient``); blank-named columns hold '?' uncertainty flags. Choices:

* a deal is spread evenly over its delivery years: one event per year, quantity split
  in whole units (the remainder to the earliest years), TIV of delivered weapons split
  equally; event time is 1 July of the year, since SIPRI gives years only;
* deals with no delivery year (orders not yet delivered) are skipped, not errors;
* non-state Afghan recipients ("Northern Alliance (Afghanistan)*", "Mujahedin
  (Afghanistan)*") count for AFG: the weapons were used on Afghan territory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

from streams.errors import InvalidEvent, SourceRowError
from streams.records import transfer_from_dict

RECIPIENTS = {
    "Afghanistan": "AFG", "Kazakhstan": "KAZ", "Kyrgyzstan": "KGZ", "Tajikistan": "TJK", "Turkmenistan": "TKM",
    "Uzbekistan": "UZB", "Northern Alliance (Afghanistan)*": "AFG", "Mujahedin (Afghanistan)*": "AFG",
}
_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*\??\s*$")


def delivery_years(text: str) -> list[int]:
    years: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(";"))):
        m = _YEARS.match(part)
        if not m:
            raise InvalidEvent(f"cannot read delivery years {text!r}", "Year(s) of delivery")
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        years.update(range(a, b + 1))
    return sorted(years)


def _number(text: str, column: str, kind=float):
    text = (text or "").strip().rstrip("?").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise InvalidEvent(f"not a number: {text!r}", column) from None


def read(path: Path):
    raw = path.read_bytes().decode("cp1252")
    lines = raw.splitlines()
    header_at = next((i for i, line in enumerate(lines) if line.startswith("Recipient,")), None)
    if header_at is None:
        yield 1, SourceRowError(str(path), 1, None, "no header line starting with 'Recipient,': not a SIPRI trade-register export")
        return
    reader = csv.reader(io.StringIO("\n".join(lines[header_at:])))
    header = next(reader)
    seen: dict[str, int] = {}
    for row in reader:
        line = header_at + reader.line_num
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            yield line, SourceRowError(str(path), line, None, f"expected {len(header)} columns, got {len(row)}")
            continue
        try:
            recipient = RECIPIENTS.get(row[0])
            if recipient is None:
                raise InvalidEvent(f"unknown recipient {row[0]!r}", "Recipient")
            years = delivery_years(row[10])
            if not years:
                yield line, None  # ordered, nothing delivered yet
                continue
            delivered = _number(row[8], "Number delivered", int) or 0
            tiv = _number(row[15], "SIPRI TIV of delivered weapons") or 0.0
            order_year = _number(row[2], "Year of order", int)
            ident = "|".join([row[0], row[1], row[2], row[4], row[6], row[7], row[8], row[10]])
            n = seen[ident] = seen.get(ident, 0) + 1
            h = hashlib.sha1(f"{ident}|{n}".encode()).hexdigest()[:12]
            share, extra = divmod(delivered, len(years))
            for k, year in enumerate(years):
                yield line, transfer_from_dict({
                    "transfer_id": f"sipri-{h}-{year}", "supplier": row[1], "recipient": recipient,
                    "order_year": order_year, "delivery_years": years, "quantity": share + (1 if k < extra else 0),
                    "weapon_category": row[7] or "unspecified", "designation": row[6] or "unspecified",
                    "tiv": tiv / len(years), "status": row[11], "source": "SIPRI Arms Transfers Database",
                    "occurred_at": f"{year}-07-01T00:00:00Z",
                })
        except InvalidEvent as exc:
            yield line, SourceRowError(str(path), line, exc.field, exc.reason)
