"""Source adapters: files in the field's formats -> validated borderwatch records.

Every record is built through the same validation as Kafka input
(``incident_from_dict`` / ``transfer_from_dict``). A bad row becomes a
:class:`~streams.errors.SourceRowError` naming file, line and field; the rest
of the file still loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence, Union

from streams.errors import SourceRowError
from streams.records import ArmsTransferEvent, IncidentEvent

Record = Union[IncidentEvent, ArmsTransferEvent]
Rows = Iterator[tuple[int, Union[Record, SourceRowError]]]


def _formats() -> dict[str, Callable[[Path], Rows]]:
    from streams.adapters import jsonl, mie, sipri

    return {"mie": mie.read, "sipri": sipri.read, "jsonl": jsonl.read}


FORMATS = ("mie", "sipri", "jsonl")


def iter_source(path: str | Path, fmt: str) -> Rows:
    """(line number, record or error) in file order; line numbers are the file's physical lines."""
    readers = _formats()
    if fmt not in readers:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    path = Path(path)
    if not path.is_file():
        raise SourceRowError(str(path), 0, None, "cannot read: no such file")
    return readers[fmt](path)


@dataclass
class Loaded:
    records: list[Record] = field(default_factory=list)
    errors: list[SourceRowError] = field(default_factory=list)
    skipped: int = 0


def record_id(rec: Record) -> str:
    return rec.event_id if isinstance(rec, IncidentEvent) else rec.transfer_id


def load(paths: Sequence[str | Path], fmt: str) -> Loaded:
    """All files' records sorted by (occurred_at, id) -- the stream as it happened."""
    out = Loaded()
    for path in paths:
        for _line, item in iter_source(path, fmt):
            if isinstance(item, SourceRowError):
                out.errors.append(item)
            elif item is None:
                out.skipped += 1
            else:
                out.records.append(item)
    out.records.sort(key=lambda r: (r.occurred_at, record_id(r)))
    return out
