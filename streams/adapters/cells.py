"""Reading the cells of the field's exports: numbers as their files write them."""

from __future__ import annotations

import csv
import math
import operator
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from streams.adapters.files import NOT_UTF8, REPLACED, garbled_column
from streams.adapters.place import OUT_OF_SCOPE
from streams.errors import InvalidEvent, SourceRowError
from streams.records import INCIDENT_FIELDS, CheckedPart, IncidentEvent


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


class Site(NamedTuple):
    """What a row's site cells make of it: its reason to be out of scope, or the record's fields that
    come from them, checked once (:func:`streams.records.incident_part`), and the maker of its records
    from their own fields (:func:`streams.records.incident_maker`)."""

    out_of_scope: str | None
    part: CheckedPart | None = None
    make: Callable[..., IncidentEvent] | None = None
    #: the description's words before and after the row's own
    head: str = ""
    tail: str = ""
    #: the severity of the event's kind (a row's deaths may raise it)
    severity: int = 0


class Sites:
    """What each distinct combination of a source's site cells (place, actors, event type) makes of
    a row, worked out once: sources repeat them row after row. One table (site cells -> site) per
    layout of the cells (:meth:`table`). At most ``limit`` sites are kept in all (every table is
    emptied when full: a few MB); a combination whose reading raises is not kept, so its rows raise
    again."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._tables: dict[tuple, dict[tuple, Any]] = {}
        self._size = 0

    def table(self, *layout: Any) -> dict[tuple, Any]:
        """The table of the sites of rows whose site cells are laid out as ``layout`` says (a file's site
        columns, those its header has, and whatever else tells its rows apart): rows of files with other
        columns never share a key."""
        return self._tables.setdefault(layout, {})

    def of(self, table: dict[tuple, Any], key: tuple, make: Callable[..., Any], *args: Any) -> Any:
        """The site of ``key`` in ``table``, made by ``make(*args)`` and kept (a row's reader looks it up
        in ``table`` first)."""
        site = make(*args)
        if self._size >= self.limit:
            self.clear()
        table[key] = site
        self._size += 1
        return site

    def clear(self) -> None:
        for table in self._tables.values():
            table.clear()
        self._size = 0


class Columns:
    """A CSV file's columns as an adapter reads them, found once from its header (``index``: column
    name -> position): every column it reads (``row``: name -> cell), a row's own ones (``own``: their
    cells in the order given, "" for a column the file lacks: id, dates, deaths) and its site's (``key``:
    their cells, the row's key in ``table``, the file's table of ``sites``; ``tell``: what else tells
    the file's sites from those of files with the same columns). A row at a known site needs only its
    own cells."""

    def __init__(self, index: Mapping[str, int], read: Sequence[str], own: Sequence[str], site: Sequence[str],
                 sites: Sites, *tell: Any) -> None:
        self.names = tuple(c for c in read if c in index)
        site_names = tuple(c for c in site if c in index)
        self._all = _cells_at([index[c] for c in self.names])
        self.own: Callable[[list[str]], tuple[str, ...]] = _cells_at([index.get(c) for c in own])
        self.own_names, self.site_names = tuple(own), site_names
        self.key: Callable[[list[str]], tuple[str, ...]] = _cells_at([index[c] for c in site_names])
        self.table = sites.table(site_names, *tell)

    def row(self, cells: list[str]) -> dict[str, str]:
        return dict(zip(self.names, self._all(cells)))


def site_reader(columns: Columns, sites: Sites, make_site: Callable[..., Any], own_fields: Callable[..., tuple | None],
                field_column: Mapping[str, str], *args: Any
                ) -> Callable[[list[str], str, int, Counter], IncidentEvent | SourceRowError | None]:
    """A CSV row to its record, as every sited source reads it: ``read(cells, where, line, out_of_scope)``
    finds the row's site in ``columns``' table, worked out by ``make_site(row, *args)`` on the first row
    at it, then makes the record from the row's own cells (``own_fields(site, *own cells)``: None for a
    site out of scope, which ``read`` counts by reason and answers None). A bad value is the row's error,
    named by the file's column (``field_column``: record field -> column). A closure, not a class: it
    runs once per row of the hot loops, and its parts are bound here rather than looked up per row."""
    key_of, own, table, row = columns.key, columns.own, columns.table, columns.row
    keep = sites.of

    own_names, site_names = columns.own_names, columns.site_names

    def read(cells: list[str], where: str, line: int, out_of_scope: Counter) -> IncidentEvent | SourceRowError | None:
        key = key_of(cells)
        site = table.get(key)
        mine = own(cells)
        # a site is kept only once made, so a key holding the mark is looked at on every row it is on
        if REPLACED in "".join(mine) or (site is None and REPLACED in "".join(key)):
            return SourceRowError(where, line, garbled_column((*zip(site_names, key), *zip(own_names, mine))), NOT_UTF8)
        try:
            if site is None:  # every cell is read in order: the first bad one raises
                site = keep(table, key, make_site, row(cells), *args)
            values = own_fields(site, *mine)
            if values is None:
                out_of_scope[site.out_of_scope] += 1
                return None
            return site.make(*values)
        except InvalidEvent as exc:
            return SourceRowError(where, line, field_column.get(exc.field, exc.field), exc.reason)

    return read


def add_counts(counts: Counter, rows: int, out_of_scope: Counter) -> None:
    """Add a file's ``rows`` and its rows out of scope by reason to a reader's ``counts``
    (``streams.adapters.FORMATS``), which the readers bring up to date when their rows end."""
    if rows:
        counts["rows"] += rows
    for reason, n in out_of_scope.items():
        counts[OUT_OF_SCOPE + reason] += n


def _cells_at(positions: list[int | None]) -> Callable[[list[str]], tuple[str, ...]]:
    """The cells at ``positions`` ("" where it is None), always as a tuple (``itemgetter`` of one position
    gives the cell)."""
    if None in positions:
        return lambda cells: tuple("" if p is None else cells[p] for p in positions)
    if len(positions) == 1:
        return lambda cells: (cells[positions[0]],)
    return operator.itemgetter(*positions)


__all__ = ["Columns", "Site", "Sites", "add_counts", "coordinate", "fit", "site_reader", "whole_number"]


def first_line(head: str) -> str:
    """The first line of a file's first characters that is not blank ("" if none)."""
    return next((line for line in head.splitlines() if line.strip()), "")


def header_cells(head: str) -> set[str]:
    """The cells of the first line that is not blank, stripped: a CSV file's header, for its format to be told."""
    try:
        return {c.strip() for c in next(csv.reader([first_line(head)]), [])}
    except csv.Error:
        return set()
