"""File drop: each notice as ``<notice_id>.html``, ``.pdf`` and ``.json`` in a directory.

Each file is written to a temporary name in the same directory, fsync'd and
renamed over its final name, so a reader never sees half a file. The JSON is
renamed last: its presence means the notice is complete, and a second send of
the same notice finds it and writes nothing.

Config: ``{type: file, dir: /var/lib/borderwatch/notices/kgz, formats?: [html, pdf], name?: ...}``.
``formats`` picks the readable renderings (default both); the JSON is always written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from alerts.fsio import atomic_write, fsync_dir
from alerts.notify.brief import notice_html, notice_json
from alerts.notify.model import Notice
from alerts.notify.sinks.base import Sink, SinkConfigError, SinkError, check_keys

#: Readable renderings a file sink can write besides the JSON.
FORMATS = ("html", "pdf")

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class FileSink(Sink):
    type = "file"
    REQUIRED = {"dir": str}
    OPTIONAL = {"formats": list}

    def __init__(self, directory: str | os.PathLike[str], name: str | None = None,
                 formats: Sequence[str] = FORMATS) -> None:
        self.dir = Path(directory)
        self.name = name or f"file:{self.dir}"
        self.formats = tuple(f for f in FORMATS if f in formats)
        self.makes_pdf = "pdf" in self.formats

    @classmethod
    def check_values(cls, config: Mapping[str, Any]) -> None:
        formats = config.get("formats", FORMATS)
        unknown = sorted({str(f) for f in formats if not isinstance(f, str) or f not in (*FORMATS, "json")})
        if unknown:
            raise SinkConfigError(f"file sink: unknown format(s) {', '.join(unknown)}; use html, pdf, json", "formats")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "FileSink":
        check_keys(config, cls)
        return cls(config["dir"], config.get("name"), config.get("formats", FORMATS))

    def paths(self, notice_id: str) -> dict[str, Path]:
        stem = _SAFE.sub("_", notice_id)
        return {ext: self.dir / f"{stem}.{ext}" for ext in ("html", "pdf", "json")}

    def send(self, notice: Notice) -> None:
        paths = self.paths(notice.notice_id)
        if paths["json"].exists():
            return  # complete from an earlier send whose log record was lost in a crash
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if "html" in self.formats:
                atomic_write(paths["html"], notice_html(notice).encode())
            if "pdf" in self.formats:
                from alerts.notify.pdf import notice_pdf  # fpdf2 loads only where PDFs are made

                atomic_write(paths["pdf"], notice_pdf(notice))
            atomic_write(paths["json"], notice_json(notice))
            fsync_dir(self.dir)  # the renames themselves
        except OSError as exc:
            # A full disk or a missing mount may clear up; a permission error usually will not.
            raise SinkError(f"file sink {self.dir}: {exc.strerror or exc}",
                            retryable=not isinstance(exc, PermissionError)) from exc
