"""One frozen settings object, built once at start-up from defaults < environment < CLI.

Modules receive a :class:`Settings`; nothing below the CLI reads ``os.environ``.
Every field has an environment variable ``BORDERWATCH_<NAME>``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from detectors.registry import DEFAULT_DETECTOR
from streams.errors import ConfigError

ENV_PREFIX = "BORDERWATCH_"


@dataclass(frozen=True)
class Settings:
    broker: str = "kafka://127.0.0.1:9092"
    #: Faust application id: consumer group and changelog topic prefix.
    app_id: str = "borderwatch"
    #: Topics are ``<prefix>.incidents``, ``<prefix>.alerts``, ...
    topic_prefix: str = "borderwatch"
    partitions: int = 8
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    #: Bearer token for every endpoint but /health. Set it, or a file holding it;
    #: with neither, the worker makes one up at start and prints it.
    api_token: str = field(default="", repr=False)
    api_token_file: str = ""
    #: Named tokens with roles, stored hashed (``borderwatch token add``); see alerts/web/tokens.py.
    tokens_file: str = ""
    data_dir: str = ".borderwatch"
    #: Segment files used next to the bundled borders, separated by commas (``segment_files``);
    #: a pair a file gives replaces the bundled segments of that pair (SegmentRegistry.with_files).
    segments_file: str = ""
    max_distance_km: float = 25.0
    grace_days: int = 14
    detector: str = DEFAULT_DETECTOR
    #: Trained model file (``borderwatch train``) for the detectors built on one; empty: the
    #: model that ships with the package (streams/data/hazard-model.json).
    model: str = ""
    #: Agents take up to batch_size events or wait batch_seconds, then write state once per key.
    batch_size: int = 2000
    batch_seconds: float = 0.05
    #: Every tick_seconds a tick goes to each partition; a partition quiet for idle_seconds
    #: advances its open alerts by wall clock.
    tick_seconds: float = 5.0
    idle_seconds: float = 10.0
    #: Consumer-group timeouts. tansu completes a join after about half the rebalance timeout.
    session_timeout: float = 10.0
    #: How often consumed offsets are committed: a crash reads again up to this much input, which
    #: the state recognises as read (docs/RELIABILITY.md). Faust's own default.
    commit_seconds: float = 2.8
    log_level: str = "warn"
    #: Alert policy (receivers, routes, silences): docs/ALERTING.md. Empty: the bundled policy.
    policy_file: str = ""
    #: Whether this worker may send notices. Of the workers of one app id that may, exactly one
    #: does at a time: the one the notifier consumer group gives the notifier topic's partition
    #: (docs/RELIABILITY.md); 0 keeps a worker out of that group.
    notify: int = 1
    #: Secret that signs notice acknowledgement links; with neither this nor the file, one is
    #: made at first start and kept in <data_dir>/notice-secret (mode 0600). Workers of one app
    #: id must share it: a link made by one notifier is confirmed on whichever worker it reaches.
    notice_secret_file: str = ""
    #: Base URL of the web API as secretariats reach it (for acknowledgement links).
    public_url: str = ""
    #: Resolved alerts the worker keeps in memory for the console and /alerts, the most recently
    #: resolved; open alerts are always kept. Older history is in the alerts topic (docs/API.md).
    history_keep_resolved: int = 1000

    @property
    def segment_files(self) -> tuple[str, ...]:
        return segment_files(self.segments_file)

    def token(self) -> str:
        if self.api_token:
            return self.api_token
        if self.api_token_file:
            return read_secret_file(self.api_token_file, "API token", "api_token_file").decode()
        return ""

    def masked(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        if d["api_token"]:
            d["api_token"] = "***"
        return d


#: Separates the paths of a list setting (``segments_file``): commas, since an environment
#: variable cannot repeat as a flag can.
PATH_SEPARATOR = ","


def segment_files(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The paths of a ``segments_file`` setting or of repeated ``--segments-file`` flags: each value
    may list several, separated by commas; blanks are dropped."""
    values = [value] if isinstance(value, str) else list(value or ())
    return tuple(path.strip() for v in values for path in v.split(PATH_SEPARATOR) if path.strip())


def _coerce(name: str, raw: str, typ: Any) -> Any:
    try:
        if typ in (int, "int"):
            return int(raw)
        if typ in (float, "float"):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None
    return raw


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then ``BORDERWATCH_*`` environment variables, then explicit overrides (CLI flags)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        env = environ.get(ENV_PREFIX + f.name.upper())
        if env is not None and env != "":
            values[f.name] = _coerce(f.name, env, f.type)
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = v
    s = replace(Settings(), **values)
    if s.partitions < 1:
        raise ConfigError("partitions must be at least 1")
    if s.history_keep_resolved < 0:
        raise ConfigError("history_keep_resolved must be 0 or more")
    return s


def read_secret_file(path: str, what: str, setting: str, min_bytes: int = 1) -> bytes:
    """A secret kept in a file, stripped; errors name the file and the setting to fix."""
    try:
        data = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror}; "
                          f"create it or unset {ENV_PREFIX}{setting.upper()}") from None
    if len(data) < min_bytes:
        raise ConfigError(f"the {what} file {path} is empty" if not data else
                          f"the {what} in {path} is shorter than {min_bytes} bytes")
    return data


def new_token() -> str:
    return secrets.token_urlsafe(24)
