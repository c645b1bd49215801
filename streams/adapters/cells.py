"""Reading the cells of the field's exports: numbers as their files write them."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streams.errors import InvalidEvent
from streams.records import INCIDENT_FIELDS


def whole_number(text: str, column: str) -> int:
    """A cell as a whole number (``17``, or ``17.0`` as spreadsheets and APIs write it); raises
    InvalidEvent naming ``column``."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
        if value.is_integer():
            return int(value)
    except (ValueError, OverflowError):
        pass
    raise InvalidEvent(f"expected a whole number, got {text!r}", column)


def coordinate(text: str, column: str, axis: str) -> float | None:
    """A ``latitude`` or ``longitude`` (``axis``) cell: None when empty, else a number within the
    record schema's range; raises InvalidEvent naming ``column``."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidEvent(f"not a number: {text!r}", column) from None
    bounds = INCIDENT_FIELDS[axis][1]
    if not (math.isfinite(value) and bounds["minimum"] <= value <= bounds["maximum"]):
        raise InvalidEvent(f"{text} is outside {bounds['minimum']}..{bounds['maximum']}", column)
    return value


def fit(text: str, limit: int) -> str:
    """A source's text cut to a record field's length, marked with an ellipsis where it was cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Sites(dict):
    """What each distinct combination of a source's site cells (place, actors, event type) makes of
    a row, worked out once: sources repeat them row after row. At most ``limit`` are kept (emptied
    when full: a few MB); a combination whose reading raises is not kept, so its rows raise again."""

    def __init__(self, limit: int = 4096) -> None:
        super().__init__()
        self.limit = limit
        self._layouts: dict[tuple[str, ...], int] = {}

    def layout(self, columns: tuple[str, ...]) -> int:
        """A number for a file's site columns (those its header has), to begin the keys made from its
        rows' cells with: rows of files with other columns never share a key."""
        return self._layouts.setdefault(columns, len(self._layouts))

    def of(self, key: tuple, make: Callable[..., Any], *args: Any) -> Any:
        """The site of ``key``, made by ``make(*args)`` the first time."""
        site = self.get(key)
        if site is None:
            site = make(*args)
            if len(self) >= self.limit:
                self.clear()
            self[key] = site
        return site


class Columns:
    """A CSV file's columns as an adapter reads them, found once from its header (``index``: column
    name -> position): every column it reads (``row``), a row's own ones (``own``: id, dates,
    deaths) and the key of its site (``key``: the site columns' cells, begun with the number of the
    file's set of them and ``prefix``). A row at a known site needs only its own cells."""

    def __init__(self, index: Mapping[str, int], read: Sequence[str], own: Sequence[str], site: Sequence[str],
                 sites: Sites, *prefix: Any) -> None:
        self.names = tuple(c for c in read if c in index)
        self.own_names = tuple(c for c in own if c in index)
        site_names = tuple(c for c in site if c in index)
        self._all, self._own, self._site = (_cells_at([index[c] for c in names])
                                            for names in (self.names, self.own_names, site_names))
        self._prefix = (sites.layout(site_names), *prefix)

    def row(self, cells: list[str]) -> dict[str, str]:
        return dict(zip(self.names, self._all(cells)))

    def own(self, cells: list[str]) -> dict[str, str]:
        return dict(zip(self.own_names, self._own(cells)))

    def key(self, cells: list[str]) -> tuple:
        return self._prefix + self._site(cells)


def _cells_at(positions: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """The cells at ``positions``, always as a tuple (``itemgetter`` of one position gives the cell)."""
    if len(positions) == 1:
        return lambda cells: (cells[positions[0]],)
    return operator.itemgetter(*positions)


__all__ = ["Columns", "Sites", "coordinate", "fit", "whole_number"]
