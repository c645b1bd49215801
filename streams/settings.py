"""One frozen settings object, built once at start-up from defaults < environment < CLI.

Modules receive a :class:`Settings`; nothing below the CLI reads ``os.environ``.
Every field has an environment variable ``BORDERWATCH_<NAME>``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from detectors.registry import DEFAULT_DETECTOR
from streams.errors import ConfigError
from streams.topics import BROKER_WAIT_SECONDS

ENV_PREFIX = "BORDERWATCH_"
#: What Kafka accepts as a group instance id (as a topic name: its legal characters and length).
INSTANCE_ID = re.compile(r"[A-Za-z0-9._-]{1,249}")
#: The web API's address as desks reach it (``public_url``): scheme, host, optional port and path.
PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#]*)?")


#: The verbs whose flags a setting has (``add_setting_flags``); a setting with none is read from
#: the environment only.
WORKER, REPLAY, BACKTEST, TRAIN, SEGMENTS = "worker", "replay", "backtest", "train", "segments"
#: The TCP ports a listener may take (0 would be any free one, which nobody could then find).
PORTS = (1, 65535)
#: What the worker's logging (mode, over the standard library's) takes as a level.
LOG_LEVELS = ("debug", "info", "warn", "warning", "error", "critical")


def setting(default: Any, help: str, *verbs: str, secret: bool = False, choices: tuple | None = None,
            least: float | None = None, above: float | None = None, most: float | None = None) -> Any:
    """A settings field: its default, what it is for (the flag's help) and the verbs it is a flag
    of. Every field is also ``BORDERWATCH_<NAME>``; a secret is never a flag (a process list shows
    flags) and never printed. ``choices``, ``least`` (at least), ``above`` (more than) and ``most``
    (at most) bound its value, however it was given (:func:`load_settings`); a number is finite."""
    return field(default=default, repr=not secret,
                 metadata={"help": help, "verbs": () if secret else verbs, "choices": choices,
                           "least": least, "above": above, "most": most})


@dataclass(frozen=True)
class Settings:
    broker: str = setting("kafka://127.0.0.1:9092", "Kafka broker URL", WORKER, REPLAY)
    broker_wait_seconds: float = setting(BROKER_WAIT_SECONDS, "seconds to wait at start for the broker to answer "
                                                              "before giving up", WORKER, REPLAY, above=0)
    #: Faust application id: consumer group and changelog topic prefix.
    app_id: str = setting("borderwatch", "Faust app id / consumer group", WORKER)
    #: Topics are ``<prefix>.incidents``, ``<prefix>.alerts``, ...
    topic_prefix: str = setting("borderwatch", "topics are <prefix>.incidents, ...", WORKER, REPLAY)
    partitions: int = setting(8, "partitions of every topic (replay: of the topics it creates)", WORKER, REPLAY,
                              least=1)
    web_host: str = setting("127.0.0.1", "address the web API binds", WORKER)
    web_port: int = setting(6066, "web API port", WORKER, least=PORTS[0], most=PORTS[1])
    #: Bearer token for every endpoint but /health. Set it, or a file holding it;
    #: with neither, the worker makes one up at start and prints it.
    api_token: str = setting("", "the API bearer token, an admin's", secret=True)
    api_token_file: str = setting("", "file holding the API bearer token, an admin (the worker makes one up at start "
                                      "and prints it if neither it nor BORDERWATCH_API_TOKEN is set)", WORKER)
    #: Named tokens with roles, stored hashed (``borderwatch token add``); see alerts/web/tokens.py.
    tokens_file: str = setting("", "JSON file of named, hashed tokens with roles, made by 'borderwatch token add'",
                               WORKER)
    data_dir: str = setting(".borderwatch", "Faust data directory", WORKER)
    #: Segment files used next to the bundled borders, separated by commas (``segment_files``);
    #: a pair a file gives replaces the bundled segments of that pair (SegmentRegistry.with_files).
    segments_file: str = setting("", "GeoJSON segment files used next to the bundled borders: repeat the flag or "
                                     "separate files with commas; a pair a file gives replaces the bundled segments "
                                     "of that pair", WORKER, BACKTEST, TRAIN, SEGMENTS)
    max_distance_km: float = setting(25.0, "furthest an incident may be from a segment to be assigned to it",
                                     WORKER, BACKTEST, TRAIN, SEGMENTS)
    grace_days: int = setting(14, "late-event grace in days", WORKER, BACKTEST, TRAIN,
                              least=0)  # a negative grace would drop every incident as late
    detector: str = setting(DEFAULT_DETECTOR, "detector stack", WORKER, BACKTEST)
    #: Trained model file (``borderwatch train``) for the detectors built on one; empty: the
    #: model that ships with the package (streams/data/hazard-model.json).
    model: str = setting("", "trained model file from 'borderwatch train' (empty: the packaged model)",
                         WORKER, BACKTEST)
    #: Agents take up to batch_size events, or what came within batch_seconds of the first one, then
    #: write state once per key (streams.batches). At a desk's usual rates each of the two hops waits
    #: out the window, so it is latency: 0.01 against 0.05 halved event-to-alert time at 100
    #: incidents/s; an idle agent does not wake at all (docs/BENCHMARKS.md, Latency).
    batch_size: int = setting(2000, "events an agent takes at most before it writes state", WORKER, least=1)
    batch_seconds: float = setting(0.01, "seconds an agent waits, from a batch's first event, for the batch to fill",
                                   WORKER, least=0)
    #: How long the broker may hold a fetch of the worker's consumer while nothing is new: the
    #: price of each Kafka hop in an alert's latency, against fetches a second on an idle worker.
    fetch_wait_seconds: float = setting(0.01, "seconds the broker may hold a fetch with nothing new while input "
                                              "flows (each Kafka hop's share of an alert's latency)", WORKER,
                                        above=0, most=30)
    fetch_wait_idle_seconds: float = setting(1.5, "the same once no input has come for idle_seconds (fewer "
                                                  "fetches on an idle worker)", WORKER, above=0, most=30)
    #: Every tick_seconds a tick goes to each partition; a partition quiet for idle_seconds
    #: advances its open alerts by wall clock.
    tick_seconds: float = setting(5.0, "watermark tick interval", WORKER, above=0)
    idle_seconds: float = setting(10.0, "a partition quiet this long advances its open alerts by wall clock", WORKER,
                                  above=0)
    #: Consumer-group timeouts (at least a second: the heartbeat is a quarter of it, and Kafka's
    #: brokers refuse sessions under 6 s by default). tansu completes a join after about half the session timeout (a member
    #: with a 30 s session and a 6 s rebalance timeout joined after 15 s; ad-hoc, 2026-12-03).
    session_timeout: float = setting(10.0, "consumer-group session timeout in seconds", WORKER, least=1)
    #: Static group membership (Kafka's group.instance.id) for the worker's three consumer groups
    #: (the aggregate's, ingest's, the notifier's): a worker restarted under the same name takes its
    #: place in each group at once, where a new member waits out the old one's session first
    #: (docs/RELIABILITY.md, "A worker's name"). Empty: members are anonymous, as before.
    instance_id: str = setting("", "a stable name for this worker, unique among the workers of its app id (a "
                                   "second live process under it is refused at start): a restart under the same "
                                   "name rejoins its consumer groups without waiting out the crashed or stopped "
                                   "process's session (empty: anonymous members)", WORKER)
    #: How often consumed offsets are committed: a crash reads again up to this much input, which
    #: the state recognises as read (docs/RELIABILITY.md). Faust's own default.
    commit_seconds: float = setting(2.8, "seconds between offset commits", WORKER, above=0)
    #: Faust's rebalances and table recovery can hang (StallWatch in streams/app.py): a worker that has
    #: not processed input for this long, while nothing of a rebalance or a recovery moved, exits for
    #: its supervisor to restart it. Far above a healthy rebalance (seconds) and session_timeout.
    stall_seconds: float = setting(300.0, "seconds a worker may go without processing input while its rebalance and "
                                          "table recovery make no progress, before it exits (status 70) to be "
                                          "restarted", WORKER, above=0)
    #: A stop normally takes a second or two; one that waits on a broker that does not answer
    #: would wait for ever. Past this the worker exits as kill -9 would (docs/RELIABILITY.md, "A
    #: broker that does not answer"): below the 30 s docker-compose.yml grants before its own kill.
    stop_seconds: float = setting(20.0, "seconds a worker may take to stop cleanly after SIGTERM or SIGINT before it "
                                        "exits anyway (status 75; what it had not committed is read again)", WORKER,
                                  above=0)
    log_level: str = setting("warn", "log level", WORKER, choices=LOG_LEVELS)
    #: Alert policy (receivers, routes, silences): docs/ALERTING.md. Empty: the bundled policy.
    policy_file: str = setting("", "alert policy YAML (empty: the bundled deploy/borderwatch/policy.yml)", WORKER)
    #: Whether this worker may send notices. Of the workers of one app id that may, exactly one
    #: does at a time: the one the notifier consumer group gives the notifier topic's partition
    #: (docs/RELIABILITY.md); 0 keeps a worker out of that group.
    notify: int = setting(1, "1: this worker may send notices; one such worker of the app id does at a time", WORKER,
                          choices=(0, 1))
    #: Secret that signs notice acknowledgement links; with neither this nor the file, one is
    #: made at first start and kept in <data_dir>/notice-secret (mode 0600). Workers of one app
    #: id must share it: a link made by one notifier is confirmed on whichever worker it reaches.
    notice_secret_file: str = setting("", "file with the secret that signs notice acknowledgement links (default: "
                                          "made at first start in <data-dir>/notice-secret; workers of one app id "
                                          "must share it)", WORKER)
    #: Key of the alert ids. Unkeyed, an id is a hash of its segment and opening time, which a desk
    #: shown an alert from a later step could recompute from guesses and so date the opening
    #: withheld from it (alerts.model.alert_id_for). Every worker of an app id, and a backtest meant
    #: to give their ids, reads the same file; changing it changes the ids of alerts opened after.
    alert_id_key_file: str = setting("", "file with a secret that keys alert ids, so that an id does not give away "
                                         "when its alert opened (every worker of one app id, and a backtest meant "
                                         "to match them, reads the same)", WORKER, BACKTEST)
    #: Base URL of the web API as secretariats reach it (for acknowledgement links).
    public_url: str = setting("", "web API base URL as secretariats reach it, for acknowledgement links", WORKER)
    #: Resolved alerts the worker keeps in memory for the console and /alerts, the most recently
    #: resolved; open alerts are always kept. Older history is in the alerts topic (docs/API.md).
    history_keep_resolved: int = setting(1000, "resolved alerts kept in memory for the console and /alerts (open "
                                               "ones always are)", WORKER, least=0)

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


_TYPES = {"int": int, "float": float, "str": str}  # field types as annotations read them (strings)
#: A setting that holds a list (comma-separated in the environment) is a repeatable flag.
_LISTS = frozenset({"segments_file"})


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_setting_flags(parser: Any, verb: str, groups: Mapping[str, Any] | None = None) -> None:
    """The flags of ``verb``, one per setting declared for it, with its help, default and
    environment variable; ``groups`` puts a setting's flag in an argparse group (e.g. one
    exclusive of another flag). Unset flags stay None, so the environment still applies."""
    defaults = Settings()
    for f in fields(Settings):
        if verb not in f.metadata.get("verbs", ()):
            continue
        where = (groups or {}).get(f.name, parser)
        env = ENV_PREFIX + f.name.upper()
        default = getattr(defaults, f.name)
        shown = f"default {default}; " if default != "" else ""
        if f.name in _LISTS:
            where.add_argument(flag_of(f.name), action="append", metavar="FILE[,FILE...]",
                               help=f"{f.metadata['help']} (env {env}, comma-separated)")
            continue
        choices = f.metadata.get("choices")
        where.add_argument(flag_of(f.name), type=str.lower if _words(choices) else _TYPES[f.type], choices=choices,
                           help=f"{f.metadata['help']} ({shown}env {env})")


def _words(choices: tuple | None) -> bool:
    """Choices that are words, taken in any case (``--log-level INFO``, as log levels are often written)."""
    return bool(choices) and all(isinstance(c, str) for c in choices)


def flag_values(args: Any, verb: str) -> dict[str, Any]:
    """The settings ``verb``'s flags gave (None: not given), for :func:`load_settings`."""
    out: dict[str, Any] = {}
    for f in fields(Settings):
        if verb in f.metadata.get("verbs", ()):
            value = getattr(args, f.name, None)
            out[f.name] = PATH_SEPARATOR.join(value) if f.name in _LISTS and value else value
    return out


def _coerce(name: str, raw: str, typ: Any) -> Any:
    try:
        if typ in (int, "int"):
            return int(raw)
        if typ in (float, "float"):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None
    return raw


def _where(name: str) -> str:
    """Where a setting is given: its flag (if it has one) and its environment variable."""
    f = next(f for f in fields(Settings) if f.name == name)
    env = ENV_PREFIX + name.upper()
    return f"{flag_of(name)} or {env}" if f.metadata.get("verbs") else env


def _check(f: Any, value: Any) -> None:
    """``value`` within the bounds ``setting`` declared for field ``f``; else a ConfigError naming the
    setting, the value and where it is set. A number must be finite: NaN passes no comparison, so
    it would pass every bound, and an infinite interval stops timers and overflows milliseconds."""
    m, name = f.metadata, f.name
    problem = None
    if m.get("choices") is not None and value not in m["choices"]:
        problem = "one of " + ", ".join(map(str, m["choices"]))
    elif isinstance(value, float) and not math.isfinite(value):
        problem = "a finite number"
    elif m.get("above") is not None and not value > m["above"]:
        problem = f"more than {m['above']:g}"
    elif m.get("least") is not None and not value >= m["least"]:
        problem = "0 or more" if m["least"] == 0 else f"at least {m['least']:g}"
    elif m.get("most") is not None and not value <= m["most"]:
        problem = f"at most {m['most']:g}"
    if problem:
        raise ConfigError(f"{name} must be {problem}, got {value!r} ({_where(name)})")


#: Variables that look like settings but are not read, with the setting meant: a deployment that
#: sets one would run on the default without a word. docs/ALERTING.md once named BORDERWATCH_POLICY
#: for the policy, which only check-config read; the worker reads BORDERWATCH_POLICY_FILE.
MISNAMED = {"BORDERWATCH_POLICY": "policy_file"}


#: Variables under the prefix that are not settings, and what reads them.
OTHER_VARIABLES = {
    "BORDERWATCH_TANSU_BIN": "the embedded broker's binary (streams.broker)",
    "BORDERWATCH_ALLOW_MISSING_TOOLS": "the tests: skip what needs Debian's Prometheus tools",
    "BORDERWATCH_SKIP_DEMO_TEST": "the tests: skip the demo's replays",
}


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """What to say of each ``BORDERWATCH_*`` variable nothing reads (a typo such as
    BORDERWATCH_PARTITION runs on the default without a word), with the name it may stand for."""
    known = sorted({ENV_PREFIX + f.name.upper() for f in fields(Settings)} | set(OTHER_VARIABLES) | set(MISNAMED))
    out = []
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            out.append(f"{name} is not a variable borderwatch reads" + (f" (did you mean {close[0]}?)" if close else ""))
    return out


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then ``BORDERWATCH_*`` environment variables, then explicit overrides (CLI flags)."""
    environ = os.environ if environ is None else environ
    for wrong, name in MISNAMED.items():
        if environ.get(wrong):
            raise ConfigError(f"{wrong} is not read: the variable is {ENV_PREFIX}{name.upper()}")
    values: dict[str, Any] = {}
    for f in fields(Settings):
        env = environ.get(ENV_PREFIX + f.name.upper())
        if env is not None and env != "":
            values[f.name] = _coerce(f.name, env, f.type)
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = v
    for f in fields(Settings):
        if _words(f.metadata.get("choices")) and isinstance(values.get(f.name), str):
            values[f.name] = values[f.name].lower()
    s = replace(Settings(), **values)
    for f in fields(Settings):
        _check(f, getattr(s, f.name))
    if not s.fetch_wait_seconds <= s.fetch_wait_idle_seconds:
        raise ConfigError(f"fetch_wait_seconds must be at most fetch_wait_idle_seconds, got {s.fetch_wait_seconds!r} "
                          f"and {s.fetch_wait_idle_seconds!r} ({_where('fetch_wait_seconds')})")
    if s.instance_id and not INSTANCE_ID.fullmatch(s.instance_id):
        raise ConfigError(f"instance_id {s.instance_id!r}: letters, digits, '.', '_' and '-' only, at most 249 of them")
    if s.public_url and not PUBLIC_URL.fullmatch(s.public_url):
        # every notice's acknowledgement link starts with it: a wrong one breaks them all, silently
        raise ConfigError(f"public_url must be an http(s) URL such as https://borderwatch.example.org, got "
                          f"{s.public_url!r} ({_where('public_url')})")
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
