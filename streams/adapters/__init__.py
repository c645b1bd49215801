"""Source adapters: files in the field's formats -> validated borderwatch records.

``FORMATS`` maps a ``--format`` name to a reader ``read(path) -> iterator of
(line, record or SourceRowError)``:

* ``mie``: Militarized Interstate Events 1.0 CSV -> IncidentEvent (:mod:`.mie`);
* ``sipri``: SIPRI trade-register export -> ArmsTransferEvent, one event per deal
  and delivery year (:mod:`.sipri`);
* ``acled``: ACLED standard export (CSV, or the API's JSON rows) -> IncidentEvent, each event
  placed on a land border or counted out of scope (:mod:`.acled`);
* ``jsonl``: our own records, one JSON object per line (:mod:`.jsonl`);
* ``gdelt``: GDELT 2.0 event export -> IncidentEvent, material conflict only (CAMEO roots
  15, 18, 19, 20), placed on a land border by :mod:`.place`; the rest is counted out of
  scope (:mod:`.gdelt`).
* ``ucdp-ged``: UCDP Georeferenced Event Dataset or GED Candidate CSV -> IncidentEvent, each
  event placed on a land border by :mod:`.place` or counted out of scope (:mod:`.ucdp_ged`).

Every record is built with ``incident_from_dict`` or ``transfer_from_dict``, so file
input passes the same validation as Kafka input. A bad row becomes a
:class:`~streams.errors.SourceRowError` that names the file, the line and the field
(the source column where there is one). The rest of the file still loads. Line
numbers are the file's 1-based physical lines. A row that yields several records
(a SIPRI deal delivered over several years) gives each of them the row's line.
A file that cannot be opened raises ``SourceRowError(path, 0, None, "cannot read: ...")``.
A file-level problem found while reading, such as a missing header, an empty file or
UTF-16 text, is reported as an error at line 0, or at the header line if the header
is there but wrong; the other files still load. A run that gets no record at all from
its files stops with :class:`~streams.errors.NothingUsable` (:func:`require_records`).
The rejected rows are listed by :func:`rejection_lines`: every one, unless no row was usable,
when the first few stand for the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.adapters import acled, gdelt, jsonl, mie, sipri, ucdp_ged
from streams.adapters.files import open_text
from streams.adapters.place import OUT_OF_SCOPE
from streams.errors import NothingUsable, SourceRowError
from streams.records import ArmsTransferEvent, IncidentEvent
from streams.wording import counted

Record = IncidentEvent | ArmsTransferEvent
Row = tuple[int, Record | SourceRowError]

#: format name -> reader. Each reader also takes an optional ``counts`` Counter that
#: it updates with ``rows`` (data rows read), ``skipped`` (rows deliberately
#: not turned into records; no reader skips any since SIPRI orders became records),
#: ``orders`` (SIPRI deals with nothing delivered yet, each one order record) and
#: ``out_of_scope:<reason>`` (single-country rows on no land border, or not armed conflict).
FORMATS: dict[str, Callable[[Path], Iterator[Row]]] = {
    "mie": mie.read,
    "sipri": sipri.read,
    "acled": acled.read,
    "jsonl": jsonl.read,
    "gdelt": gdelt.read,
    "ucdp-ged": ucdp_ged.read,
}
#: format name -> whether a file's first characters (:data:`HEAD_CHARS`) are in it: how a file given
#: without ``--format`` is read. In this order, the first that says yes decides (ACLED's JSON rows
#: before our own JSON Lines).
LOOKS_LIKE: dict[str, Callable[[str], bool]] = {
    "mie": mie.looks_like,
    "ucdp-ged": ucdp_ged.looks_like,
    "acled": acled.looks_like,
    "gdelt": gdelt.looks_like,
    "sipri": sipri.looks_like,
    "jsonl": jsonl.looks_like,
}
#: How much of a file is read to tell its format: a SIPRI export's preamble and header fit.
HEAD_CHARS = 1 << 16
#: format name -> what it is, for ``--help``.
FORMAT_HELP: dict[str, str] = {
    "mie": "Militarized Interstate Events 1.0 CSV",
    "sipri": "SIPRI trade-register export",
    "acled": "ACLED standard export (CSV, or the API's JSON rows)",
    "jsonl": "borderwatch records, one per line",
    "gdelt": "GDELT 2.0 event export (tab-separated, 61 columns; .zip/.gz as shipped)",
    "ucdp-ged": "UCDP GED or GED Candidate CSV (plain, .gz or .zip)",
}


def iter_source(path: str | Path, fmt: str, *, counts: Counter | None = None) -> Iterator[Row]:
    """(line number, record or error) in file order.

    Raises ValueError for an unknown format, and SourceRowError (line 0) at once if the
    file cannot be read.
    """
    reader = FORMATS.get(fmt)
    if reader is None:
        raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise SourceRowError(str(path), 0, None, f"cannot read: {exc.strerror or exc}") from None
    problem = text_problem(head)
    if problem is not None:
        return iter([(0, SourceRowError(str(path), 0, None, problem))])
    return _guarded(path, reader(path, counts=counts))


def guess_format(path: str | Path) -> str | None:
    """The format a file is in, told from its first characters (:data:`LOOKS_LIKE`), or None when
    no format's header is there (or the file cannot be read)."""
    try:
        with open_text(path) as fh:
            head = fh.read(HEAD_CHARS)
    except (SourceRowError, OSError, EOFError, ValueError):
        return None
    return next((fmt for fmt, looks_like in LOOKS_LIKE.items() if looks_like(head)), None)


#: Byte-order marks of the encodings a text file may be in that we do not read (UTF-32 first:
#: its little-endian mark begins with UTF-16's).
_FOREIGN_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
                 (b"\xfe\xff", "UTF-16"))


def text_problem(head: bytes) -> str | None:
    """What makes a file unreadable as text from its first bytes, or None: empty, or UTF-16/32.

    Said once for the file, at line 0, rather than as an error on every line.
    """
    if not head:
        return "empty file"
    for bom, name in _FOREIGN_BOMS:
        if head.startswith(bom):
            return f"{name} text (byte-order mark): save it as UTF-8"
    return None


def _guarded(path: Path, rows: Iterator[Row]) -> Iterator[Row]:
    try:
        yield from rows
    except OSError as exc:  # the file went away or became unreadable between the check and the read
        raise SourceRowError(str(path), 0, None, f"cannot read: {exc.strerror or exc}") from None


@dataclass
class Loaded:
    """Everything read from a set of files."""

    records: list[Record] = field(default_factory=list)
    errors: list[SourceRowError] = field(default_factory=list)
    #: data rows read (CSV rows or non-blank JSON lines), good or bad
    rows: int = 0
    #: rows that are deliberately not records (none since SIPRI orders became records; kept for callers)
    skipped: int = 0
    #: rows of single-country sources that fall on no land border, by reason
    #: (streams/adapters/place.py): counted, neither records nor errors
    out_of_scope: Counter = field(default_factory=Counter)
    #: file -> the format it was read in (told from its first lines when no format was given)
    formats: dict[str, str] = field(default_factory=dict)

    def out_of_scope_text(self) -> str:
        """``", 12 out of scope (far_from_border 10, coarse_location 2)"`` or empty."""
        if not self.out_of_scope:
            return ""
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.out_of_scope.items()))
        return f", {sum(self.out_of_scope.values())} out of scope ({parts})"


def record_id(rec: Record) -> str:
    return rec.event_id if isinstance(rec, IncidentEvent) else rec.transfer_id


def sort_key(rec: Record) -> tuple:
    """Event-time order, ties broken by id: "the stream as it happened"."""
    return rec.occurred_at, record_id(rec)


def load(paths: Sequence[str | Path], fmt: str | None) -> Loaded:
    """All files' records sorted by (occurred_at, id), stable; errors in file order.

    ``fmt`` None: each file in the format its first lines show (:func:`guess_format`; a file whose
    format cannot be told is one error at line 0), so MIE incidents and a SIPRI export load together.
    """
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    out = Loaded()
    for path in paths:
        counts: Counter = Counter()
        errors_before = len(out.errors)
        file_fmt = fmt or guess_format(path)
        if file_fmt is None:
            out.errors.append(SourceRowError(str(path), 0, None, UNTOLD))
            continue
        out.formats[str(path)] = file_fmt
        for _line, item in iter_source(path, file_fmt, counts=counts):
            if isinstance(item, SourceRowError):
                out.errors.append(item)
            else:
                out.records.append(item)
        if not counts["rows"] and len(out.errors) == errors_before:  # a header alone, or blank lines
            out.errors.append(SourceRowError(str(path), 0, None, "no data rows"))
        out.rows += counts["rows"]
        out.skipped += counts["skipped"]
        for key, n in counts.items():
            if key.startswith(OUT_OF_SCOPE):
                out.out_of_scope[key[len(OUT_OF_SCOPE):]] += n
    out.records.sort(key=sort_key)
    return out


UNTOLD = f"cannot tell the format from the first lines: give --format ({', '.join(FORMATS)})"

#: Rejected rows listed when no row of the files was usable. Then they are almost always one mistake
#: (a file given under another ``--format``: a CSV read as JSON Lines rejects every line), and a
#: line for each of thousands of rows would bury the one that says so.
SHOWN_WHEN_NOTHING_USABLE = 10


def told_text(formats: dict[str, str]) -> str:
    """``"mie.csv mie, sipri.csv sipri"``: which file was read in which format (``Loaded.formats``)."""
    return ", ".join(f"{path} {fmt}" for path, fmt in formats.items())


def rejection_lines(records: Sequence, errors: Sequence[SourceRowError]) -> list[str]:
    """The lines that report the rejected rows: one for each, or, when no row gave a record, one for
    each of the first :data:`SHOWN_WHEN_NOTHING_USABLE` and one that counts the rest."""
    shown = errors if records or len(errors) <= SHOWN_WHEN_NOTHING_USABLE else errors[:SHOWN_WHEN_NOTHING_USABLE]
    lines = [f"rejected: {e}" for e in shown]
    if len(shown) < len(errors):
        lines.append(f"rejected: ... and {counted(len(errors) - len(shown), 'more row')}, not listed")
    return lines


def require_records(records: Sequence, errors: Sequence[SourceRowError], paths: Sequence[str | Path],
                    fmt: str | None = None) -> None:
    """Raise NothingUsable when the files gave no record: a run over nothing is an error, not a result."""
    if records:
        return
    listed = "the first few listed above" if len(errors) > SHOWN_WHEN_NOTHING_USABLE else "listed above"
    rejected = f" ({counted(len(errors), 'row')} rejected, {listed})" if errors else ""
    hint = ""
    if fmt and errors:
        hint = f": check that --format {fmt} is their format"
        told = {guess_format(path) for path in paths} - {None, fmt}
        if len(told) == 1:
            hint += f"; they read as --format {told.pop()}"
    raise NothingUsable(f"no usable record in {', '.join(map(str, paths))}{rejected}{hint}")
