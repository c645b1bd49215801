"""``borderwatch score``: a univariate ``timestamp,value`` CSV -> ``timestamp,value,anomaly_score``.

One output row per input row, in input order; each score uses only the rows up to it.
A timestamp is ISO 8601 (a date, or a date and time; without a zone it is UTC) or a number of
seconds since 1970-01-01 UTC (milliseconds are refused: as seconds they are past the year 9999);
rows must be in time order (equal times are fine). A bad row
(a timestamp that is not a time or goes back, a value that is blank or not a finite number)
stops the run with ``file:line: field: reason`` and leaves no partial output; so does a file
that is not UTF-8 CSV text (line 0 for the file as a whole: empty, UTF-16, a directory).
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from alerts.fsio import same_file
from streams.adapters import text_problem
from streams.errors import InvalidEvent, SourceRowError
from streams.records import parse_time


#: The seconds a calendar date can have (years 1 to 9999, as ISO 8601 writes them). A count past
#: the last is almost always milliseconds (or micro-) since 1970 given as seconds: read as seconds
#: it is a time some 50,000 years on, whose daily and weekly phases are noise to a seasonal detector.
FIRST_SECOND = datetime(1, 1, 1, tzinfo=timezone.utc).timestamp()
LAST_SECOND = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp()


def series_number(text: str) -> float:
    """A cell's number as a CSV writes one; Python's own spellings (``1_000``) are not numbers here."""
    if "_" in text:
        raise ValueError(text)
    return float(text)


def series_time(text: str) -> float:
    """Seconds since 1970-01-01 UTC of a ``timestamp`` cell; ``ValueError`` says why it is not one."""
    try:
        seconds = series_number(text)
    except ValueError:
        try:
            return parse_time(text, "timestamp").timestamp()
        except InvalidEvent:
            raise ValueError(f"not an ISO 8601 time or a number of seconds: {text!r}") from None
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite number of seconds: {text!r}")
    if not FIRST_SECOND <= seconds <= LAST_SECOND:
        raise ValueError(f"{text.strip()} seconds since 1970 is outside the years 1 to 9999: milliseconds? "
                         "give seconds, or an ISO 8601 time")
    return seconds


def _text_lines(fin, where: str) -> Iterator[str]:
    """The file's lines as UTF-8 text (a leading BOM dropped: spreadsheets often write one); a line
    that is not UTF-8 stops the run at that line, a UTF-16 or empty file at line 0."""
    for line, raw in enumerate(fin, 1):
        if line == 1:
            problem = text_problem(raw[:4])
            if problem is not None:
                raise SourceRowError(where, 0, None, problem)
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceRowError(where, line, None, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def score_csv(input_path: str | Path, output_path: str | Path, detector) -> int:
    """Score ``input_path`` into ``output_path`` (``-``: standard output); the number of rows. The
    output appears whole or not at all: a bad row stops the run before anything is written."""
    src = Path(input_path)
    try:
        fin = open(src, "rb")
    except OSError as exc:
        raise SourceRowError(str(src), 0, None, f"cannot read: {exc.strerror}") from None
    if str(output_path) == "-":  # the CLI's spelling of standard output, as backtest's --alerts-out
        out = io.StringIO(newline="")
        with fin:
            rows = _score_file(fin, out, str(src), detector)
        sys.stdout.write(out.getvalue())
        return rows
    dst = Path(output_path)
    if same_file(dst, src):
        fin.close()
        raise SourceRowError(str(dst), 0, None, "is the input: the scores would replace it (give another --output)")
    try:
        fd, tmp = tempfile.mkstemp(dir=dst.parent if str(dst.parent) else ".", prefix=f".{dst.name}.")
    except OSError as exc:
        fin.close()
        raise SourceRowError(str(dst), 0, None, f"cannot write: {exc.strerror or exc}") from None
    rows = 0
    try:
        with fin, os.fdopen(fd, "w", newline="", encoding="utf-8") as fout:
            rows = _score_file(fin, fout, str(src), detector)
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise
    return rows


def _score_file(fin, fout, where: str, detector) -> int:
    reader = csv.reader(_text_lines(fin, where))
    try:
        return _score_rows(reader, csv.writer(fout, lineterminator="\n"), where, detector)
    except csv.Error as exc:  # e.g. a cell over the csv module's size limit
        raise SourceRowError(where, reader.line_num, None, f"not CSV: {exc}") from None


def _score_rows(reader, writer, where: str, detector) -> int:
    """Score every row of ``reader`` into ``writer``; the number of rows."""
    header = next(reader, None)
    if header is None:
        raise SourceRowError(where, 0, None, "no rows: the header must be 'timestamp,value'")
    if [h.strip() for h in header[:2]] != ["timestamp", "value"]:
        raise SourceRowError(where, 1, None, "the header must be 'timestamp,value'")
    writer.writerow(("timestamp", "value", "anomaly_score"))
    score, learn = detector.score_one, detector.learn_one
    last_t, last_line, rows = -math.inf, 0, 0
    for row in reader:
        line = reader.line_num
        if not row:  # a blank line, as a file's last often is
            continue
        if len(row) > len(header):  # a decimal comma (1,5) splits a value in two
            raise SourceRowError(where, line, None, f"{len(row)} cells where the header has {len(header)}: "
                                                    "a decimal comma? write 1.5")
        stamp, value = (row + ["", ""])[:2]
        if not stamp.strip():
            raise SourceRowError(where, line, "timestamp", "missing")
        try:
            t = series_time(stamp)
        except ValueError as exc:
            raise SourceRowError(where, line, "timestamp", str(exc)) from None
        if t < last_t:
            raise SourceRowError(where, line, "timestamp",
                                 f"{stamp!r} is earlier than line {last_line}'s: rows must be in time order")
        last_t, last_line = t, line
        if not value.strip():
            raise SourceRowError(where, line, "value", "missing")
        try:
            x = series_number(value)
        except ValueError:
            x = math.nan
        if not math.isfinite(x):
            raise SourceRowError(where, line, "value", f"not a finite number: {value!r}")
        s = score(x, t)
        learn(x, t)
        writer.writerow((stamp, value, f"{s:.6f}"))
        rows += 1
    return rows
