"""``borderwatch score``: a univariate ``timestamp,value`` CSV -> ``timestamp,value,anomaly_score``.

One output row per input row, in input order; each score uses only the rows up to it.
A timestamp is ISO 8601 (a date, or a date and time; without a zone it is UTC) or a number of
seconds since 1970-01-01 UTC; rows must be in time order (equal times are fine). A bad row
(a timestamp that is not a time or goes back, a value that is blank or not a finite number)
stops the run with ``file:line: field: reason`` and leaves no partial output.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from pathlib import Path

from streams.errors import InvalidEvent, SourceRowError
from streams.records import parse_time


def series_time(text: str) -> float:
    """Seconds since 1970-01-01 UTC of a ``timestamp`` cell; ``ValueError`` says why it is not one."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            return parse_time(text, "timestamp").timestamp()
        except InvalidEvent:
            raise ValueError(f"not an ISO 8601 time or a number of seconds: {text!r}") from None
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite number of seconds: {text!r}")
    return seconds


def score_csv(input_path: str | Path, output_path: str | Path, detector) -> int:
    src = Path(input_path)
    dst = Path(output_path)
    try:
        fin = open(src, newline="", encoding="utf-8-sig")  # -sig: spreadsheets often write a BOM
    except OSError as exc:
        raise SourceRowError(str(src), 0, None, f"cannot read: {exc.strerror}") from None
    fd, tmp = tempfile.mkstemp(dir=dst.parent if str(dst.parent) else ".", prefix=f".{dst.name}.")
    rows = 0
    try:
        with fin, os.fdopen(fd, "w", newline="", encoding="utf-8") as fout:
            reader = csv.reader(fin)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:2]] != ["timestamp", "value"]:
                raise SourceRowError(str(src), 1, None, "the header must be 'timestamp,value'")
            writer = csv.writer(fout, lineterminator="\n")
            writer.writerow(("timestamp", "value", "anomaly_score"))
            score, learn = detector.score_one, detector.learn_one
            last_t, last_line = -math.inf, 0
            for row in reader:
                line = reader.line_num
                stamp, value = (row + ["", ""])[:2]
                if not stamp.strip():
                    raise SourceRowError(str(src), line, "timestamp", "missing")
                try:
                    t = series_time(stamp)
                except ValueError as exc:
                    raise SourceRowError(str(src), line, "timestamp", str(exc)) from None
                if t < last_t:
                    raise SourceRowError(str(src), line, "timestamp",
                                         f"{stamp!r} is earlier than line {last_line}'s: rows must be in time order")
                last_t, last_line = t, line
                if not value.strip():
                    raise SourceRowError(str(src), line, "value", "missing")
                try:
                    x = float(value)
                except ValueError:
                    x = math.nan
                if not math.isfinite(x):
                    raise SourceRowError(str(src), line, "value", f"not a finite number: {value!r}")
                s = score(x, t)
                learn(x, t)
                writer.writerow((stamp, value, f"{s:.6f}"))
                rows += 1
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise
    return rows
