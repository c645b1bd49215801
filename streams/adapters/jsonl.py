"""borderwatch's own records, one JSON object per line, in the published schema.

A line with ``"transfer_id"`` is an ArmsTransferEvent; any other object is read as an
IncidentEvent (``event_id``). Lines are UTF-8 (a leading byte-order mark is
allowed) and split on ``\\n``; blank lines are skipped. A line that is not UTF-8,
not JSON, not an object, or fails validation is a row error with the field that
failed (None when the line as a whole is unreadable).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from streams.errors import InvalidEvent, SourceRowError
from streams.records import (
    ArmsTransferEvent,
    IncidentEvent,
    incident_from_dict,
    transfer_from_dict,
)


def decode_line(raw: bytes) -> IncidentEvent | ArmsTransferEvent:
    """One line (without its ending) -> record; raises InvalidEvent."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"not UTF-8 text: {exc.reason} at byte {exc.start}", code="not_json") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidEvent(f"not JSON: {exc}", code="not_json") from None
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
