"""borderwatch's own records, one JSON object per line, in the published schema.

A line with ``"transfer_id"`` is an ArmsTransferEvent; any other object is read as an
IncidentEvent (``event_id``). Lines are UTF-8 (a leading byte-order mark is
allowed) and split on ``\\n``; blank lines are skipped. Each line is decoded as a Kafka
message is (``streams.records.decode_json``: the same size, nesting and strictness limits); the
file is read line by line, and a line over the size limit is read through without being held.
A line that is not UTF-8, not JSON, not an object, or fails validation is a row error
with the field that failed (None when the line as a whole is unreadable).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from streams.adapters.cells import first_line
from streams.errors import InvalidEvent, SourceRowError
from streams.limits import MAX_RECORD_BYTES
from streams.records import (
    ArmsTransferEvent,
    IncidentEvent,
    decode_json,
    incident_from_dict,
    transfer_from_dict,
)


def decode_line(raw: bytes) -> IncidentEvent | ArmsTransferEvent:
    """One line (without its ending) -> record; raises InvalidEvent (as the live decoder does)."""
    data = decode_json(raw)
    if not isinstance(data, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(data).__name__}", code="not_object")
    if "transfer_id" in data:
        return transfer_from_dict(data)
    if "event_id" not in data:
        raise InvalidEvent("is required (an arms transfer has transfer_id instead)", "event_id",
                           code="missing_field")
    return incident_from_dict(data)


def looks_like(head: str) -> bool:
    """Whether a file's first characters are our records: a first line that is a JSON object with
    an ``event_id`` or a ``transfer_id``."""
    try:
        first = decode_json(first_line(head))  # within the limits: a hostile first line cannot crash the guess
    except InvalidEvent:
        return False
    return isinstance(first, dict) and ("event_id" in first or "transfer_id" in first)


def read(path: Path, counts: Counter | None = None
         ) -> Iterator[tuple[int, IncidentEvent | ArmsTransferEvent | SourceRowError]]:
    """(line, record or error) for each non-blank line, in file order; ``counts["rows"]`` counts them."""
    counts = Counter() if counts is None else counts
    where = str(path)
    with open(path, "rb") as fh:
        for line, (raw, size) in enumerate(_lines(fh), 1):
            if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if size is None and not raw.strip():
                continue
            counts["rows"] += 1
            if size is not None:
                yield line, SourceRowError(where, line, None, f"{size} bytes, more than the limit of {MAX_RECORD_BYTES}")
                continue
            try:
                yield line, decode_line(raw)
            except InvalidEvent as exc:
                yield line, SourceRowError(where, line, exc.field, exc.reason)


def _lines(fh) -> Iterator[tuple[bytes, int | None]]:
    """Each line without its ending, as (bytes, None); a line over MAX_RECORD_BYTES as (b"", its
    length), read through without being held (a 300 MB line once took twice its size in memory)."""
    while True:
        raw = fh.readline(MAX_RECORD_BYTES + 3)  # room for a BOM or "\r\n" around a line at the limit
        if not raw:
            return
        if raw.endswith(b"\n") or len(raw) <= MAX_RECORD_BYTES + 2:
            yield raw.rstrip(b"\n").rstrip(b"\r"), None
            continue
        size = len(raw)
        while not raw.endswith(b"\n"):
            raw = fh.readline(1 << 20)
            if not raw:
                break
            size += len(raw)
        yield b"", size - (2 if raw.endswith(b"\r\n") else 1 if raw.endswith(b"\n") else 0)
