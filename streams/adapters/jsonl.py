"""borderwatch's own records, one JSON object per line, in the published schema.

A line with ``"transfer_id"`` is an ArmsTransferEvent; any other object is read as an
IncidentEvent (``event_id``). Lines are UTF-8 (a leading byte-order mark is
allowed) and split on ``\\n``; blank lines are skipped. Each line is decoded as a Kafka
message is (``streams.records.decode_json``: the same size, nesting and strictness limits).
A line that is not UTF-8, not JSON, not an object, or fails validation is a row error
with the field that failed (None when the line as a whole is unreadable).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from streams.errors import InvalidEvent, SourceRowError
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


def read(path: Path, counts: Counter | None = None
         ) -> Iterator[tuple[int, IncidentEvent | ArmsTransferEvent | SourceRowError]]:
    """(line, record or error) for each non-blank line, in file order; ``counts["rows"]`` counts them."""
    counts = Counter() if counts is None else counts
    where = str(path)
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for line, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        counts["rows"] += 1
        try:
            yield line, decode_line(raw.rstrip(b"\r"))
        except InvalidEvent as exc:
            yield line, SourceRowError(where, line, exc.field, exc.reason)
