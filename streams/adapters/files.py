"""Opening a source file as text, streaming: plain, ``.gz`` or ``.zip``.

The field's sources come compressed as often as not (ACLED and UCDP ship zip archives, GDELT
zipped exports, archives keep ``.gz``); an adapter reads whichever it is given without
unpacking it first and without holding the whole file in memory.

* ``.gz``: one gzip stream.
* ``.zip``: the archive's one data member (a CSV, TSV, TXT or JSON file; a ``readme`` or
  codebook beside it is ignored). An archive with several data members is an error that names
  them: say which one by unpacking it.
* anything else: read as it is.

Text is UTF-8 (a leading byte-order mark is dropped); a byte that is not UTF-8 becomes U+FFFD,
so a cell that must be a date, number or code fails its field's check and names the line, rather
than the whole file failing; free text (a place name, the notes) keeps the U+FFFD. Lines keep
their endings for the ``csv`` module (``newline=""``). A compressed file that is damaged or ends
early fails as it is read, as a file error (line 0).
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from streams.errors import SourceRowError

#: What a byte that is not UTF-8 becomes as :func:`open_text` reads it. A record is never made from
#: a cell holding one (its text would carry the mark where a letter was: a Windows export in cp1251
#: turns every Russian place name into marks): the row is refused, its column named, with
#: :data:`NOT_UTF8`.
REPLACED = "\ufffd"
NOT_UTF8 = "bytes that are not UTF-8 text: save the file as UTF-8 (a spreadsheet's \"CSV UTF-8\")"


def garbled_column(named_cells: Iterable[tuple[str, str]]) -> str | None:
    """The first column, of (column, cell) pairs, whose cell holds :data:`REPLACED` (None: none does).
    Every reader names the column of a garbled row with it; each looks for the mark in the row first."""
    return next((name for name, cell in named_cells if REPLACED in cell), None)

#: Members of a zip archive that can hold the data, by extension.
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".export.csv")


def open_text(path: str | Path) -> TextIO:
    """The file's text, decoded as it is read (a byte that is not UTF-8 as :data:`REPLACED`, for the
    reader to refuse the row it is in); SourceRowError (line 0) when it cannot be opened."""
    path = Path(path)
    where = str(path)
    try:
        if path.suffix.lower() == ".gz":
            raw: io.BufferedIOBase = gzip.open(path, "rb")  # type: ignore[assignment]
            _check_gzip(raw, where)
        elif path.suffix.lower() == ".zip":
            raw = _zip_member(path, where)
        else:
            raw = open(path, "rb")
    except OSError as exc:
        raise SourceRowError(where, 0, None, f"cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() in (".gz", ".zip"):
        raw = _Unpacking(raw, where)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


class _Unpacking(io.RawIOBase):
    """A compressed member read through, its damage said as a file error: an interrupted download
    (a ``.gz`` that ends early, a zip member failing its checksum) fails as it is read, not when
    opened."""

    def __init__(self, raw, where: str) -> None:
        self.raw, self.where = raw, where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.raw.read(len(buffer))
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
            raise SourceRowError(self.where, 0, None, f"the compressed file is damaged or ends early "
                                                      f"(an interrupted download?): {exc}") from None
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def _check_gzip(raw, where: str) -> None:
    try:
        raw.peek(1)
    except (OSError, EOFError) as exc:
        raw.close()
        raise SourceRowError(where, 0, None, f"not a readable gzip file: {exc}") from None


def _zip_member(path: Path, where: str):
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SourceRowError(where, 0, None, f"not a readable zip archive: {exc}") from None
    members = [i for i in archive.infolist()
               if not i.is_dir() and i.filename.lower().endswith(DATA_SUFFIXES)
               and not Path(i.filename).name.lower().startswith(("readme", "codebook", "__macosx", "."))]
    if len(members) != 1:
        archive.close()
        found = ", ".join(i.filename for i in members) or "none"
        raise SourceRowError(where, 0, None, f"a zip archive needs exactly one data file (CSV, TSV, TXT or JSON); "
                                             f"found {found}: unpack it and give the file")
    return archive.open(members[0])


__all__ = ["DATA_SUFFIXES", "NOT_UTF8", "REPLACED", "garbled_column", "open_text"]
