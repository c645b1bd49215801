"""Source files as the field ships them: plain, gzipped, or zipped beside a readme."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path


def packed(directory: Path, data: bytes, kind: str, member: str = "data/x.csv") -> Path:
    """``data`` written to ``directory`` as ``kind``: ``plain``, ``gz`` or ``zip`` (``member`` beside a readme)."""
    if kind == "plain":
        path = directory / "x.csv"
        path.write_bytes(data)
    elif kind == "gz":
        path = directory / "x.csv.gz"
        path.write_bytes(gzip.compress(data))
    else:
        path = directory / "x.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("README.txt.pdf", "codebook")
            z.writestr(member, data)
    return path
