"""SIPRI Arms Transfers Database trade-register export -> arms-transfer events.

The export is cp1252. A UTF-8 byte-order mark, if present, switches to UTF-8.
A preamble comes first (11 lines in the exports we have seen). The header line
is found by its first cell, ``Recipient``, not by counting lines. Its columns are::

    Recipient,Supplier,Year of order, ,Number ordered, ,Weapon designation,Weapon description,
    Number delivered, ,Year(s) of delivery,status,Comments,SIPRI TIV per unit,
    SIPRI TIV for total order,SIPRI TIV of delivered weapons

The columns are looked up by name. The blank-named columns hold SIPRI's '?'
uncertainty flags for the column before them. A '?' inside a number or a year
list is ignored too. An ArmsTransferEvent has no field for uncertainty, so the
flags only enter the deal's identity hash.

How a deal (one row) becomes events:

* **No delivery yet: an order.** An empty ``Year(s) of delivery`` is an order with
  nothing delivered. It becomes one record (an order is the earlier signal of an
  arms race, detectors/arms_race.py): ``delivery_years`` empty, ``tiv`` 0 (``tiv``
  is the TIV *delivered*, so militarization pressure is unchanged), ``quantity``
  the number ordered (0 when SIPRI leaves it empty), ``order_tiv`` the ``SIPRI TIV
  for total order`` (None when empty or the column is absent), ``occurred_at`` 1
  July of the order year, ``transfer_id`` ``sipri-{h}-order``. It is counted in
  ``counts["orders"]``. An order without an order year, or a row that lists a
  delivered number but no year, is an error.
* **One event per delivery year.** ``Year(s) of delivery`` reads like ``1996``,
  ``2001-2003``, ``1993; 1995-1996`` or ``2004?`` and becomes a sorted list of
  years. Deliveries are spread evenly over those years. Each year gets an equal
  whole-unit share of ``Number delivered``, and the remainder goes one unit at a
  time to the earliest years, so the shares add up to the total exactly. Each
  year also gets ``SIPRI TIV of delivered weapons`` / number of years (TIV in
  millions). The event's ``delivery_years`` is the deal's whole list.
* ``occurred_at`` is 1 July of the delivery year at 00:00Z. SIPRI gives years
  only, and mid-year is the unbiased point estimate.
* **Recipients** become ISO3 (:data:`RECIPIENTS`). Non-state Afghan recipients
  become ``AFG``: "Northern Alliance (Afghanistan)*", "Mujahedin
  (Afghanistan)*" and "Afghanistan rebels*". Their weapons went into wars
  fought on Afghan territory, along Afghanistan's borders, which is what
  militarization pressure per border pair measures. The supplier keeps its
  SIPRI name.
* ``transfer_id`` = ``sipri-{h}-{year}``. ``h`` is the first 12 hex digits of a
  SHA-1 over every cell of the row, in this order: recipient, supplier, order
  year, designation, description, number ordered, then the remaining columns.
  The line number is not part of it, so the id is the same wherever the row
  sits. A second copy of an identical row adds its occurrence count, so two
  identical deals get different ids. A revised deal in a newer export (more
  deliveries, a corrected TIV) is a different row and gets new ids, so replay
  one export, not two exports of different dates.

A row that cannot be read becomes a row error naming its column: a bad
number, an unknown recipient, unreadable years, an empty required cell, or a
byte that is not cp1252. The rest of the file still loads.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from streams.errors import InvalidEvent, SourceRowError
from streams.limits import YEAR_MAX, YEAR_MIN
from streams.records import ArmsTransferEvent, IncidentEvent, transfer_from_dict

SOURCE = "SIPRI Arms Transfers Database"
ENCODING = "cp1252"

#: SIPRI recipient names -> ISO3. The bundled file has the first eight distinct values.
RECIPIENTS: dict[str, str] = {
    "Afghanistan": "AFG",
    "Kazakhstan": "KAZ",
    "Kyrgyzstan": "KGZ",
    "Tajikistan": "TJK",
    "Turkmenistan": "TKM",
    "Uzbekistan": "UZB",
    "Northern Alliance (Afghanistan)*": "AFG",  # non-state: United Front, 1996-2001
    "Mujahedin (Afghanistan)*": "AFG",  # non-state: anti-Soviet resistance, 1979-1992
    "Afghanistan rebels*": "AFG",  # non-state; not in the bundled file
}

# Column names as in the header (compared stripped and case-insensitively).
RECIPIENT, SUPPLIER, ORDER_YEAR, NUMBER_ORDERED = "Recipient", "Supplier", "Year of order", "Number ordered"
DESIGNATION, DESCRIPTION, DELIVERED = "Weapon designation", "Weapon description", "Number delivered"
YEARS, STATUS, TIV_DELIVERED = "Year(s) of delivery", "status", "SIPRI TIV of delivered weapons"
#: Optional: read for orders only (older exports without it still load; the order's TIV is then unknown).
TIV_ORDER = "SIPRI TIV for total order"
#: The columns that identify a deal; they lead the identity hash's input.
IDENTITY = (RECIPIENT, SUPPLIER, ORDER_YEAR, DESIGNATION, DESCRIPTION, NUMBER_ORDERED)
REQUIRED = (RECIPIENT, SUPPLIER, ORDER_YEAR, NUMBER_ORDERED, DESIGNATION, DESCRIPTION, DELIVERED, YEARS, STATUS,
            TIV_DELIVERED)
OPTIONAL = (TIV_ORDER,)
#: Record field -> column, so that errors raised by record validation name the column.
_FIELD_COLUMN = {"supplier": SUPPLIER, "recipient": RECIPIENT, "order_year": ORDER_YEAR, "delivery_years": YEARS,
                 "quantity": DELIVERED, "weapon_category": DESCRIPTION, "designation": DESIGNATION,
                 "tiv": TIV_DELIVERED, "status": STATUS, "order_tiv": TIV_ORDER}

_YEAR_PART = re.compile(r"^(\d{4})(?:\s*-\s*(\d{4}))?$")
_WHOLE = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")


def _clean(text: str) -> str:
    """A cell without SIPRI's '?' uncertainty marks and surrounding blanks."""
    return text.replace("?", "").strip()


def delivery_years(text: str) -> list[int]:
    """``"1993; 1995-1996"`` -> ``[1993, 1995, 1996]``; empty -> ``[]``; raises InvalidEvent."""
    years: set[int] = set()
    for part in (p.strip() for p in _clean(text).replace(",", ";").split(";")):
        if not part:
            continue
        m = _YEAR_PART.match(part)
        if not m:
            raise InvalidEvent(f"cannot read {part!r} as a year or a range of years", YEARS)
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            raise InvalidEvent(f"range {part!r} runs backwards", YEARS)
        if first < YEAR_MIN or last > YEAR_MAX:
            raise InvalidEvent(f"year out of range {YEAR_MIN}-{YEAR_MAX} in {part!r}", YEARS)
        years.update(range(first, last + 1))
    return sorted(years)


def _whole(text: str, column: str) -> int | None:
    text = _clean(text)
    if not text:
        return None
    if not _WHOLE.match(text):
        raise InvalidEvent(f"not a whole number: {text!r}", column)
    return int(text)


def _decimal(text: str, column: str) -> float | None:
    text = _clean(text)
    if not text:
        return None
    if not _DECIMAL.match(text):
        raise InvalidEvent(f"not a number: {text!r}", column)
    return float(text)


def split_evenly(total: int, n: int) -> list[int]:
    """``total`` in ``n`` whole shares that sum to it; the remainder goes to the first shares."""
    share, extra = divmod(total, n)
    return [share + (1 if k < extra else 0) for k in range(n)]


def deal_hash(identity: Sequence[str], occurrence: int = 1) -> str:
    """First 12 hex digits of SHA-1 over a deal's cells (:data:`IDENTITY` first, then the rest).

    Line-independent; ``occurrence`` > 1 tells apart exact duplicate rows.
    """
    values = list(identity) + ([f"#{occurrence}"] if occurrence > 1 else [])
    return hashlib.sha1(json.dumps(values, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]


def to_dicts(cells: dict[str, str], deal_id: str) -> list[dict]:
    """One deal's events as ArmsTransferEvent JSON objects (one order if nothing is delivered yet); raises InvalidEvent."""
    recipient = RECIPIENTS.get(cells[RECIPIENT])
    if recipient is None:
        raise InvalidEvent(f"unknown recipient {cells[RECIPIENT]!r} (known: {', '.join(RECIPIENTS)})", RECIPIENT)
    years = delivery_years(cells[YEARS])
    delivered = _whole(cells[DELIVERED], DELIVERED)
    tiv = _decimal(cells[TIV_DELIVERED], TIV_DELIVERED)
    order_year = _whole(cells[ORDER_YEAR], ORDER_YEAR)
    ordered = _whole(cells[NUMBER_ORDERED], NUMBER_ORDERED)  # carried by orders only
    if not years:
        if delivered:
            raise InvalidEvent(f"empty, but {DELIVERED!r} is {delivered}", YEARS)
        if order_year is None:
            raise InvalidEvent("empty, and so is the year of delivery: a deal needs one of them", ORDER_YEAR)
        return [{
            "supplier": cells[SUPPLIER], "recipient": recipient, "order_year": order_year, "delivery_years": [],
            "weapon_category": cells[DESCRIPTION], "designation": cells[DESIGNATION], "status": cells[STATUS],
            "source": SOURCE, "transfer_id": f"sipri-{deal_id}-order", "quantity": ordered or 0, "tiv": 0.0,
            "order_tiv": _decimal(cells.get(TIV_ORDER, ""), TIV_ORDER),
            "occurred_at": f"{order_year:04d}-07-01T00:00:00Z",
        }]
    if delivered is None:
        raise InvalidEvent(f"empty, but deliveries are listed in {cells[YEARS]!r}", DELIVERED)
    if tiv is None:
        raise InvalidEvent(f"empty, but deliveries are listed in {cells[YEARS]!r}", TIV_DELIVERED)
    base = {
        "supplier": cells[SUPPLIER], "recipient": recipient, "order_year": order_year, "delivery_years": years,
        "weapon_category": cells[DESCRIPTION], "designation": cells[DESIGNATION], "status": cells[STATUS],
        "source": SOURCE,
    }
    return [
        dict(base, transfer_id=f"sipri-{deal_id}-{year}", quantity=quantity, tiv=tiv / len(years),
             occurred_at=f"{year:04d}-07-01T00:00:00Z")
        for year, quantity in zip(years, split_evenly(delivered, len(years)))
    ]


def _decode(data: bytes) -> tuple[str, set[int]]:
    """The text, and the physical line numbers (1-based) that held bytes cp1252 cannot decode."""
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, data = "utf-8", data[3:]
    else:
        encoding = ENCODING
    try:
        return data.decode(encoding), set()
    except UnicodeDecodeError:
        pass
    parts, bad = [], set()
    for i, raw in enumerate(data.split(b"\n"), 1):
        try:
            parts.append(raw.decode(encoding))
        except UnicodeDecodeError:
            parts.append(raw.decode(encoding, errors="replace"))
            bad.add(i)
    return "\n".join(parts), bad


def _records(lines: list[str], start: int, width: int) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, last line, cells) for each CSV record in ``lines[start:]`` (0-based index in, 1-based lines out).

    A quoted cell may span lines. If a record that spans lines does not have ``width`` cells (an
    unbalanced quote), only its first line is taken as the record and reading resumes on the next
    line, so one stray quote cannot swallow the rest of the file.
    """
    i = start
    while i < len(lines):
        j = i + 1
        chunk = lines[i]
        while chunk.count('"') % 2 and j < len(lines):
            chunk += lines[j]
            j += 1
        cells = _parse(chunk)
        if j > i + 1 and len(cells) != width:
            cells, j = _parse(lines[i]), i + 1
        yield i + 1, j, cells
        i = j


def _parse(chunk: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(chunk, newline="")), [])
    except csv.Error as exc:  # e.g. a cell over the csv module's size limit
        return [f"<{exc}>"]


def _is_header(physical: str) -> bool:
    return [c.strip().lower() for c in _parse(physical)[:1]] == [RECIPIENT.lower()]


def looks_like(head: str) -> bool:
    """Whether a file's first characters are a SIPRI export: after its preamble, a line starting 'Recipient'."""
    return any(_is_header(line) for line in head.splitlines()[:-1])


def read(path: Path, counts: Counter | None = None
         ) -> Iterator[tuple[int, IncidentEvent | ArmsTransferEvent | SourceRowError]]:
    """(line, transfer or error) for each delivery year of each deal (an order: one), in file order.

    If ``counts`` is given, ``counts["rows"]`` counts deal rows and ``counts["orders"]`` counts
    deals without deliveries (each one order record).
    """
    counts = Counter() if counts is None else counts
    where = str(path)
    text, bad_lines = _decode(path.read_bytes())
    lines = list(io.StringIO(text, newline=""))  # physical lines, endings kept
    at = next((i for i, physical in enumerate(lines) if _is_header(physical)), None)
    if at is None:
        yield 0, SourceRowError(where, 0, None, "no header line whose first cell is 'Recipient': "
                                                "not a SIPRI trade-register export")
        return
    header = [c.strip() for c in _parse(lines[at])]
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        if name:
            index.setdefault(name.lower(), i)
    missing = [c for c in REQUIRED if c.lower() not in index]
    if missing:
        yield at + 1, SourceRowError(where, at + 1, missing[0], f"missing column(s) {', '.join(missing)}")
        return
    # Identity columns first, then every other column by position (flags included).
    first = [index[c.lower()] for c in IDENTITY]
    order = first + [i for i in range(len(header)) if i not in first]
    seen: Counter = Counter()
    for line, last, row in _records(lines, at + 1, len(header)):
        if not any(c.strip() for c in row):
            continue
        counts["rows"] += 1
        if bad_lines.intersection(range(line, last + 1)):
            yield line, SourceRowError(where, line, None, f"bytes that are not {ENCODING} text")
            continue
        if len(row) < len(header) or any(c.strip() for c in row[len(header):]):
            yield line, SourceRowError(where, line, None, f"expected {len(header)} columns, got {len(row)}")
            continue
        cells = {c: row[index[c.lower()]].strip() for c in REQUIRED + OPTIONAL if c.lower() in index}
        identity = tuple(row[i].strip() for i in order)
        seen[identity] += 1
        try:
            events = [transfer_from_dict(d) for d in to_dicts(cells, deal_hash(identity, seen[identity]))]
        except InvalidEvent as exc:
            field = exc.field.split("[", 1)[0] if exc.field else None
            yield line, SourceRowError(where, line, _FIELD_COLUMN.get(field, exc.field), exc.reason)
            continue
        counts["orders"] += sum(event.is_order for event in events)
        for event in events:
            yield line, event
