"""CAP drop: each notice as an OASIS CAP 1.2 message, ``<notice_id>.cap.xml``, in a directory.

The document is alerts/notify/cap.py's. It is written to a temporary name in the same directory,
fsync'd and renamed over its final name, so a CAP client polling the directory never reads half a
message; a second send of the same notice finds the file and writes nothing.

Config: ``{type: cap, dir: /var/lib/borderwatch/cap/kgz, sender?: borderwatch@centre.example, name?: ...}``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

from alerts.fsio import atomic_write, fsync_dir
from alerts.notify.cap import check_sender, to_cap
from alerts.notify.model import Notice
from alerts.notify.sinks.base import Sink, SinkConfigError, SinkError, check_keys

SUFFIX = ".cap.xml"

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class CapSink(Sink):
    type = "cap"
    REQUIRED = {"dir": str}
    OPTIONAL = {"sender": str}

    def __init__(self, directory: str | os.PathLike[str], sender: str | None = None, name: str | None = None) -> None:
        self.dir, self.sender = Path(directory), sender
        self.name = name or f"cap:{self.dir}"

    @classmethod
    def check_values(cls, config: Mapping[str, Any]) -> None:
        if "sender" in config:
            try:
                check_sender(config["sender"])
            except ValueError as exc:
                raise SinkConfigError(f"cap sink: {exc}", "sender") from None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "CapSink":
        check_keys(config, cls)
        return cls(config["dir"], config.get("sender"), config.get("name"))

    def path(self, notice_id: str) -> Path:
        return self.dir / f"{_SAFE.sub('_', notice_id)}{SUFFIX}"

    def send(self, notice: Notice) -> None:
        path = self.path(notice.notice_id)
        if path.exists():
            return  # written by an earlier send whose log record was lost in a crash
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write(path, to_cap(notice, self.sender))
            fsync_dir(self.dir)
        except OSError as exc:
            raise SinkError(f"cap sink {self.dir}: {exc.strerror or exc}",
                            retryable=not isinstance(exc, PermissionError)) from exc
