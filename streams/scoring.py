"""``borderwatch score``: a univariate ``timestamp,value`` CSV -> ``timestamp,value,anomaly_score``.

One output row per input row, in input order; each score uses only the rows up to it.
A bad row stops the run with ``file:line: field: reason`` and leaves no partial output.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from pathlib import Path

from streams.errors import SourceRowError


def score_csv(input_path: str | Path, output_path: str | Path, detector) -> int:
    src = Path(input_path)
    dst = Path(output_path)
    try:
        fin = open(src, newline="", encoding="utf-8")
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
            for row in reader:
                if len(row) < 2:
                    raise SourceRowError(str(src), reader.line_num, "value", "missing")
                try:
                    x = float(row[1])
                except ValueError:
                    x = math.nan
                if not math.isfinite(x):
                    raise SourceRowError(str(src), reader.line_num, "value", f"not a finite number: {row[1]!r}")
                s = score(x)
                learn(x)
                writer.writerow((row[0], row[1], f"{s:.6f}"))
                rows += 1
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise
    return rows
