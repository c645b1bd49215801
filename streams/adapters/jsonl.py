"""borderwatch's own records, one JSON object per line: incidents (``event_id``) or
arms transfers (``transfer_id``), as published by ``borderwatch schema``."""

from __future__ import annotations

import json
from pathlib import Path

from streams.errors import InvalidEvent, SourceRowError
from streams.records import incident_from_dict, transfer_from_dict


def read(path: Path):
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                try:
                    data = json.loads(line)
                except ValueError as exc:
                    raise InvalidEvent(f"not JSON: {exc}") from None
                if not isinstance(data, dict):
                    raise InvalidEvent("expected a JSON object")
                if "transfer_id" in data:
                    yield line_no, transfer_from_dict(data)
                else:
                    yield line_no, incident_from_dict(data)
            except InvalidEvent as exc:
                yield line_no, SourceRowError(str(path), line_no, exc.field, exc.reason)
