"""The alerting policy as data: receivers, a route tree, inhibition, time intervals, guardrails.

Modelled on Prometheus Alertmanager's configuration (same matcher syntax, same
route semantics, same timing names), validated strictly: an unknown key, a
label no alert carries, a receiver that does not exist or a secret written
inline is an error naming the file and the path to the offending value::

    policy.yml: route.routes[1].matchers[0]: unknown label 'segment' (labels: alertname, ...)

>>> p = parse_policy(yaml.safe_load(EXAMPLE), "example.yml")
>>> p.receivers_for({"border": "KGZ-TJK", "countries": "KGZ,TJK", "level": "critical"})
['operators', 'secretariat-KGZ']

The reference with an example per feature is ``docs/ALERTING.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from borderwatch.errors import BorderwatchError
from alerts.access import AccessError, Principal
from alerts.borders import border_of_segment, states_of
from alerts.model import alert_labels
from alerts.notify.i18n import LANGUAGES, SOURCE_LANGUAGE
from alerts.notify.sinks import sink_types
from alerts.notify.sinks.base import SinkConfigError

#: The labels every alert carries (alerts.model.alert_labels); matchers and group_by may name only these.
LABEL_NAMES = tuple(alert_labels({"segment_id": "A-B", "border": "A-B", "level": "watch"}))
DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "deploy" / "borderwatch" / "policy.yml"

EXAMPLE = """
receivers:
  - {name: operators, role: operator, sinks: [{type: file, dir: notices/operators}]}
  - {name: secretariat-KGZ, country: KGZ, sinks: [{type: file, dir: notices/kgz}]}
route:
  receiver: operators
  group_by: [border]
  routes:
    - {receiver: operators, continue: true}
    - {receiver: secretariat-KGZ, matchers: ['countries=~".*KGZ.*"', 'level=~"warning|critical"']}
"""


class PolicyError(BorderwatchError, ValueError):
    """The policy file is not valid; ``problems`` lists each as ``file: path: what``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


# --------------------------------------------------------------------------- values

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> timedelta:
    """Alertmanager durations: ``30s``, ``5m``, ``4h``, ``1d12h``, ``2w``."""
    m = _DURATION.match(str(text).strip())
    if not m or not any(m.groups()):
        raise ValueError(f"not a duration: {text!r} (e.g. 30s, 5m, 4h, 7d)")
    w, d, h, mi, s, ms = (int(g or 0) for g in m.groups())
    return timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s, milliseconds=ms)


#: The units a duration is written in, the largest first, with their seconds.
DURATION_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def duration_parts(td: timedelta) -> list[tuple[str, int]]:
    """``1d12h`` as ``[("d", 1), ("h", 12)]``: each unit of :data:`DURATION_UNITS` it holds, whole."""
    secs, out = int(td.total_seconds()), []
    for unit, size in DURATION_UNITS:
        if secs >= size:
            out.append((unit, secs // size))
            secs %= size
    return out


def format_duration(td: timedelta) -> str:
    """The policy file's own way of writing a duration: ``1d12h``, ``0s``."""
    return "".join(f"{n}{unit}" for unit, n in duration_parts(td)) or "0s"


_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s]*))\s*$')


@dataclass(frozen=True)
class Matcher:
    """``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``; regexes match the whole value."""

    name: str
    op: str
    value: str
    regex: re.Pattern | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> "Matcher":
        m = _MATCHER.match(text) if isinstance(text, str) else None
        if not m:
            raise ValueError(f"not a matcher: {text!r} (e.g. border=\"KGZ-TJK\", level=~\"warning|critical\")")
        name, op, quoted, bare = m.groups()
        value = re.sub(r'\\(.)', r"\1", quoted) if quoted is not None else bare
        rx = None
        if op in ("=~", "!~"):
            try:
                rx = re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regex {value!r}: {exc}") from None
        return cls(name, op, value, rx)

    def matches(self, labels: Mapping[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = self.regex.fullmatch(v) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


# --------------------------------------------------------------------------- time intervals

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")


@dataclass(frozen=True)
class IntervalSpec:
    """One Alertmanager ``time_intervals`` entry; an empty field means "any"."""

    times: tuple[tuple[int, int], ...] = ()  # minutes since midnight, [start, end)
    weekdays: frozenset[int] = frozenset()  # 0 = monday
    days_of_month: tuple[tuple[int, int], ...] = ()  # inclusive; negative counts from the month's end
    months: frozenset[int] = frozenset()  # 1..12
    years: tuple[tuple[int, int], ...] = ()
    location: str = "UTC"

    def contains(self, when: datetime) -> bool:
        t = when.astimezone(ZoneInfo(self.location))
        if self.times and not any(a <= t.hour * 60 + t.minute < b for a, b in self.times):
            return False
        if self.weekdays and t.weekday() not in self.weekdays:
            return False
        if self.months and t.month not in self.months:
            return False
        if self.years and not any(a <= t.year <= b for a, b in self.years):
            return False
        if self.days_of_month:
            nxt = (t.replace(day=28) + timedelta(days=4)).replace(day=1)
            last = (nxt - timedelta(days=1)).day
            day = t.day
            if not any(_dom(a, last) <= day <= _dom(b, last) for a, b in self.days_of_month):
                return False
        return True


def _dom(d: int, last: int) -> int:
    return last + 1 + d if d < 0 else d


@dataclass(frozen=True)
class TimeInterval:
    name: str
    specs: tuple[IntervalSpec, ...]

    def contains(self, when: datetime) -> bool:
        return any(s.contains(when) for s in self.specs)


# --------------------------------------------------------------------------- policy objects

@dataclass(frozen=True)
class SinkConfig:
    """A sink a receiver delivers through; the sinks themselves live in alerts/notify/sinks."""

    type: str
    name: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Receiver:
    name: str
    principal: Principal  # who the receiver is, for releasability (alerts.access)
    sinks: tuple[SinkConfig, ...]
    #: the language its notices are written in (alerts/notify/i18n.py LANGUAGES)
    lang: str = SOURCE_LANGUAGE


@dataclass(frozen=True)
class Route:
    id: str  # path in the file, e.g. "route.routes[1]"; unique
    key: str  # Alertmanager-style matcher path, e.g. '{}/{countries=~".*KGZ.*"}'; stable when routes move
    receiver: str
    matchers: tuple[Matcher, ...]
    continue_: bool
    group_by: tuple[str, ...] | None  # None: every label ('...')
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    active_time_intervals: tuple[str, ...]
    mute_time_intervals: tuple[str, ...]
    routes: tuple["Route", ...]

    def match(self, labels: Mapping[str, str]) -> list["Route"]:
        """The routes an alert with ``labels`` ends at, Alertmanager's way: depth first, the
        deepest matching route wins, siblings after a match only with ``continue: true``."""
        if not matches_all(self.matchers, labels):
            return []
        out: list[Route] = []
        for child in self.routes:
            hit = child.match(labels)
            out.extend(hit)
            if hit and not child.continue_:
                break
        return out or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        names = sorted(labels) if self.group_by is None else self.group_by
        return {n: labels.get(n, "") for n in names}

    def walk(self) -> Iterable["Route"]:
        yield self
        for r in self.routes:
            yield from r.walk()


@dataclass(frozen=True)
class InhibitRule:
    """While an alert matching ``source`` fires, alerts matching ``target`` with the same ``equal`` labels are muted."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return (matches_all(self.source_matchers, source) and matches_all(self.target_matchers, target)
                and all(source.get(n, "") == target.get(n, "") for n in self.equal))


@dataclass(frozen=True)
class SilenceRules:
    max_duration: timedelta = timedelta(days=7)
    #: a silence must have an equality matcher on at least one of these labels
    require_one_of: tuple[str, ...] = ("border", "segment_id")


@dataclass(frozen=True)
class AckRules:
    default_expiry: timedelta = timedelta(hours=4)
    max_expiry: timedelta = timedelta(days=7)
    #: how long a notice's acknowledgement link works after the notice is made
    link_expiry: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class Policy:
    receivers: Mapping[str, Receiver]
    route: Route
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, TimeInterval] = field(default_factory=dict)
    silences: SilenceRules = SilenceRules()
    acknowledgements: AckRules = AckRules()
    source: str = "<policy>"

    def routes_for(self, labels: Mapping[str, str]) -> list[Route]:
        return self.route.match(labels)

    def receivers_for(self, labels: Mapping[str, str]) -> list[str]:
        """Receivers in route order, each once (what ``borderwatch routes test`` prints)."""
        return list(dict.fromkeys(r.receiver for r in self.routes_for(labels)))

    def notified(self, labels: Mapping[str, str], alert: Mapping[str, Any]) -> list[str]:
        """The receivers the routes send ``alert`` to and that may see it: releasability is not
        routed around (``borderwatch routes test`` prints the rest as withheld)."""
        return [r for r in self.receivers_for(labels) if self.receivers[r].principal.sees(alert)]

    def ack_expected_within(self, labels: Mapping[str, str]) -> timedelta:
        """How soon the centre should acknowledge: the shortest repeat interval of the alert's
        routes, after which an unacknowledged alert's notices go out again."""
        return min(r.repeat_interval for r in self.routes_for(labels))

    def language_of(self, p: Principal) -> str | None:
        """The language this policy writes the caller's desk's notices in (the ``lang`` of its
        receivers that are that desk), so its pages can read the same; None if none is, or they differ."""
        langs = {r.lang for r in self.receivers.values() if r.principal.role_string == p.role_string}
        return langs.pop() if len(langs) == 1 else None

    def receiver_principal(self, name: str) -> Principal | None:
        """Who the receiver ``name`` is (secretariat-KGZ -> secretariat:KGZ), so whose notices it gets;
        None for a receiver this policy does not have."""
        r = self.receivers.get(name)
        return r.principal if r is not None else None

    def muted(self, route: Route, when: datetime) -> bool:
        """Whether ``route`` may not notify at ``when`` (a mute interval holds, or no active interval does)."""
        if any(self.time_intervals[n].contains(when) for n in route.mute_time_intervals):
            return True
        return bool(route.active_time_intervals) and not any(
            self.time_intervals[n].contains(when) for n in route.active_time_intervals)

    def summary(self) -> str:
        routes = sum(1 for _ in self.route.walk())
        return (f"{self.source}: ok: {len(self.receivers)} receivers, {routes} routes, "
                f"{len(self.inhibit_rules)} inhibit rules, {len(self.time_intervals)} time intervals; "
                f"silences at most {format_duration(self.silences.max_duration)}, "
                f"acks {format_duration(self.acknowledgements.default_expiry)} by default, "
                f"at most {format_duration(self.acknowledgements.max_expiry)}")


def complete_labels(partial: Mapping[str, str]) -> dict[str, str]:
    """A full label set from a few (``borderwatch routes test``): ``border`` gives ``countries``,
    ``segment_id`` gives ``border``, ``level`` gives ``peak_level``; the rest take their defaults."""
    unknown = sorted(set(partial) - set(LABEL_NAMES))
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r} (labels: {', '.join(LABEL_NAMES)})")
    segment = partial.get("segment_id") or partial.get("border") or ""
    border = partial.get("border") or border_of_segment(segment)
    alert = {"segment_id": segment, "border": border, "level": partial.get("level", ""),
             "countries": [c for c in (partial.get("countries") or ",".join(states_of(border))).split(",") if c],
             "releasable_to": (partial.get("releasable_to") or "ALL").split(",")}
    return {**alert_labels(alert), **partial}


# --------------------------------------------------------------------------- sinks

# A sink's keys are its own (``REQUIRED`` and ``OPTIONAL`` of its class in alerts/notify/sinks); keys
# ending ``_file`` name a file holding a secret, and a secret written inline is refused.
_INLINE_SECRET = re.compile(r"(secret|password|passwd|token|api_key|credentials)$", re.I)


# --------------------------------------------------------------------------- loading

def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate a policy file (the bundled deploy/borderwatch/policy.yml by default)."""
    path = Path(path) if path else DEFAULT_POLICY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:  # saved as UTF-16 or a legacy code page
        raise PolicyError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8"]) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # the file's line and column, and the parser's words without its "<unicode string>" excerpt
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        what = "; ".join(p for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
        raise PolicyError([f"{where}: not valid YAML: {what or exc}"]) from None
    return parse_policy(doc, str(path))


def parse_policy(doc: Any, source: str = "<policy>") -> Policy:
    return _Parser(source).policy(doc)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def err(self, path: str, msg: str) -> None:
        self.problems.append(f"{self.source}: {path}: {msg}" if path else f"{self.source}: {msg}")

    def obj(self, d: Any, path: str, required: Mapping[str, Any], optional: Mapping[str, Any]) -> dict | None:
        """A mapping with exactly these keys (values type-checked); None when it is not a mapping."""
        if not isinstance(d, dict):
            self.err(path, f"expected a mapping, got {_kind(d)}")
            return None
        for k in d:
            if k not in required and k not in optional:
                known = ", ".join(sorted({*required, *optional}))
                self.err(_join(path, k), f"unknown key (allowed here: {known})")
        for k in required:
            if k not in d:
                self.err(path, f"missing required key {k!r}")
        out = {}
        for k, v in d.items():
            want = required.get(k, optional.get(k))
            if want is None:
                continue
            if want is not Any and not _is(v, want):
                self.err(_join(path, k), f"expected {_want(want)}, got {_kind(v)}")
                continue
            out[k] = v
        return out

    def duration(self, v: Any, path: str, zero: bool = False) -> timedelta | None:
        """A duration; more than zero, or zero too where ``zero`` (no waiting at all)."""
        try:
            td = parse_duration(v)
        except ValueError as exc:
            self.err(path, str(exc))
            return None
        if td < timedelta(0) or (td == timedelta(0) and not zero):
            self.err(path, "must be zero or more" if zero else "must be more than zero")
            return None
        return td

    def label(self, name: Any, path: str) -> bool:
        if name not in LABEL_NAMES:
            self.err(path, f"unknown label {name!r} (labels: {', '.join(LABEL_NAMES)})")
            return False
        return True

    def matchers(self, items: Any, path: str) -> tuple[Matcher, ...]:
        if not isinstance(items, list):
            self.err(path, f"expected a list of matchers, got {_kind(items)}")
            return ()
        out = []
        for i, text in enumerate(items):
            try:
                m = Matcher.parse(text)
            except ValueError as exc:
                self.err(f"{path}[{i}]", str(exc))
                continue
            if self.label(m.name, f"{path}[{i}]"):
                out.append(m)
        return tuple(out)

    def labels(self, items: Any, path: str, allow_all: bool = False) -> tuple[str, ...] | None:
        if not isinstance(items, list):
            self.err(path, f"expected a list of label names, got {_kind(items)}")
            return ()
        if allow_all and items == ["..."]:
            return None
        return tuple(n for i, n in enumerate(items) if self.label(n, f"{path}[{i}]"))

    # -- sections

    def policy(self, doc: Any) -> Policy:
        d = self.obj(doc, "", {"receivers": list, "route": dict},
                     {"inhibit_rules": list, "time_intervals": list, "silences": dict, "acknowledgements": dict})
        if d is None:
            raise PolicyError(self.problems)
        receivers = self.receivers(d.get("receivers", []))
        intervals = self.time_intervals(d.get("time_intervals", []))
        route = self.route(d["route"], "route", None, receivers, intervals) if "route" in d else None
        inhibit = tuple(rule for i, raw in enumerate(d.get("inhibit_rules", []))
                        if (rule := self.inhibit_rule(raw, f"inhibit_rules[{i}]")) is not None)
        silences = self.silence_rules(d.get("silences", {}))
        acks = self.ack_rules(d.get("acknowledgements", {}))
        if self.problems or route is None:
            raise PolicyError(self.problems)
        return Policy(receivers, route, inhibit, intervals, silences, acks, self.source)

    def receivers(self, items: list) -> dict[str, Receiver]:
        out: dict[str, Receiver] = {}
        if not items:
            self.err("receivers", "at least one receiver is needed")
        for i, r in enumerate(items):
            path = f"receivers[{i}]"
            d = self.obj(r, path, {"name": str, "sinks": list},
                         {"country": str, "role": str, "lang": str})
            if d is None or "name" not in d:
                continue
            name = d["name"]
            if name in out:
                self.err(f"{path}.name", f"duplicate receiver {name!r}")
            if ("country" in d) == ("role" in d):
                self.err(path, "say who the receiver is with exactly one of 'country: <ISO3>' (a state's "
                               "secretariat) or 'role: operator|engineer|admin|regional-desk'; releasability "
                               "depends on it")
                continue
            role = f"secretariat:{d['country']}" if "country" in d else d["role"]
            if role.startswith("secretariat") and "role" in d:
                self.err(f"{path}.role", "a secretariat is written 'country: <ISO3>'")
                continue
            try:
                principal = Principal.parse(name, role)
            except AccessError as exc:
                self.err(f"{path}.{'country' if 'country' in d else 'role'}", str(exc))
                continue
            if name.startswith("secretariat-") and name != f"secretariat-{principal.country}":
                self.err(f"{path}.name", f"a receiver named {name!r} must be the secretariat of "
                                         f"{name.removeprefix('secretariat-')!r} (country: {principal.country})")
            lang = d.get("lang", SOURCE_LANGUAGE)
            if lang not in LANGUAGES:
                self.err(f"{path}.lang", f"receiver {name!r}: no notice language {lang!r} "
                                         f"(languages: {', '.join(LANGUAGES)})")
            out[name] = Receiver(name, principal, self.sinks(d.get("sinks", []), f"{path}.sinks"), lang)
        return out

    def sinks(self, items: list, path: str) -> tuple[SinkConfig, ...]:
        kinds = sink_types()
        out: list[SinkConfig] = []
        names: set[str] = set()
        for i, s in enumerate(items):
            p = f"{path}[{i}]"
            if not isinstance(s, dict) or s.get("type") not in kinds:
                got = s.get("type") if isinstance(s, dict) else _kind(s)
                self.err(f"{p}.type" if isinstance(s, dict) else p,
                         f"unknown sink type {got!r} (one of {', '.join(kinds)})")
                continue
            for k in s:
                if isinstance(k, str) and _INLINE_SECRET.search(k):
                    self.err(_join(p, k), f"secrets go by reference only: put it in a file and write "
                                          f"'{k.removesuffix('_secret')}_file: /run/secrets/...'")
            sink = kinds[s["type"]]
            before = len(self.problems)
            d = self.obj({k: v for k, v in s.items() if not (isinstance(k, str) and _INLINE_SECRET.search(k))},
                         p, {**sink.REQUIRED, "type": str}, {**sink.OPTIONAL, "name": str})
            if d is None:
                continue
            if len(self.problems) == before:  # keys and types right: what the sink itself asks of the values
                try:
                    sink.check_values(d)
                except SinkConfigError as exc:
                    self.err(_join(p, exc.key) if exc.key else p, str(exc))
            name = d.get("name", d["type"])
            if name in names:
                self.err(f"{p}.name", f"duplicate sink name {name!r} in this receiver (name them)")
            names.add(name)
            out.append(SinkConfig(d["type"], name, {k: v for k, v in d.items() if k not in ("type", "name")}))
        return tuple(out)

    def route(self, r: Any, path: str, parent: Route | None, receivers: Mapping[str, Receiver],
              intervals: Mapping[str, TimeInterval]) -> Route | None:
        d = self.obj(r, path, {} if parent else {"receiver": str},
                     {"receiver": str, "matchers": list, "continue": bool, "group_by": list, "group_wait": str,
                      "group_interval": str, "repeat_interval": str, "active_time_intervals": list,
                      "mute_time_intervals": list, "routes": list})
        if d is None:
            return None
        if parent is None:
            for k in ("matchers", "continue", "active_time_intervals", "mute_time_intervals"):
                if k in d:
                    self.err(f"{path}.{k}", "not allowed on the root route (it catches everything)")
        receiver = d.get("receiver", parent.receiver if parent else "")
        if "receiver" in d and receiver not in receivers and receivers:
            self.err(f"{path}.receiver", f"no receiver named {receiver!r} (receivers: {', '.join(receivers)})")
        matchers = self.matchers(d["matchers"], f"{path}.matchers") if "matchers" in d else ()
        group_by = self.labels(d["group_by"], f"{path}.group_by", allow_all=True) if "group_by" in d \
            else (parent.group_by if parent else ())
        times = {}
        # group_wait and group_interval 0: every change of an alert is its own notice, at once (a
        # notice per transition, whatever the timing: what the chaos tests compare run to run).
        for k, default in (("group_wait", "30s"), ("group_interval", "5m"), ("repeat_interval", "4h")):
            given = self.duration(d[k], f"{path}.{k}", zero=k != "repeat_interval") if k in d else None
            times[k] = given if given is not None else (getattr(parent, k) if parent else parse_duration(default))
        ints = {}
        for k in ("active_time_intervals", "mute_time_intervals"):
            names = d.get(k, [])
            for i, n in enumerate(names):
                if n not in intervals:
                    self.err(f"{path}.{k}[{i}]", f"no time interval named {n!r} (defined: {', '.join(intervals) or 'none'})")
            ints[k] = tuple(n for n in names if n in intervals)
        key = (parent.key + "/" if parent else "") + "{" + ",".join(str(m) for m in matchers) + "}"
        node = Route(path, key, receiver, matchers, bool(d.get("continue", False)), group_by, times["group_wait"],
                     times["group_interval"], times["repeat_interval"], ints["active_time_intervals"],
                     ints["mute_time_intervals"], ())
        children = tuple(child for i, raw in enumerate(d.get("routes", []))
                         if (child := self.route(raw, f"{path}.routes[{i}]", node, receivers, intervals)) is not None)
        return Route(**{**node.__dict__, "routes": children})

    def inhibit_rule(self, r: Any, path: str) -> InhibitRule | None:
        d = self.obj(r, path, {"source_matchers": list, "target_matchers": list}, {"equal": list})
        if d is None:
            return None
        src = self.matchers(d.get("source_matchers", []), f"{path}.source_matchers")
        tgt = self.matchers(d.get("target_matchers", []), f"{path}.target_matchers")
        for k in ("source_matchers", "target_matchers"):
            if k in d and not d[k]:
                self.err(f"{path}.{k}", "needs at least one matcher")
        equal = self.labels(d.get("equal", []), f"{path}.equal") or ()
        return InhibitRule(src, tgt, equal)

    def time_intervals(self, items: list) -> dict[str, TimeInterval]:
        out: dict[str, TimeInterval] = {}
        for i, t in enumerate(items):
            path = f"time_intervals[{i}]"
            d = self.obj(t, path, {"name": str, "time_intervals": list}, {})
            if d is None or "name" not in d:
                continue
            if d["name"] in out:
                self.err(f"{path}.name", f"duplicate time interval {d['name']!r}")
            specs = [self.interval_spec(s, f"{path}.time_intervals[{j}]") for j, s in enumerate(d.get("time_intervals", []))]
            out[d["name"]] = TimeInterval(d["name"], tuple(s for s in specs if s is not None))
        return out

    def interval_spec(self, s: Any, path: str) -> IntervalSpec | None:
        d = self.obj(s, path, {}, {"times": list, "weekdays": list, "days_of_month": list, "months": list,
                                   "years": list, "location": str})
        if d is None:
            return None
        times = []
        for i, t in enumerate(d.get("times", [])):
            tp = f"{path}.times[{i}]"
            for k, v in (t.items() if isinstance(t, dict) else ()):
                if isinstance(v, int):
                    self.err(f"{tp}.{k}", f"quote times ('{v // 60:02d}:{v % 60:02d}'): YAML reads an unquoted "
                                          f"HH:MM as a number")
                    t = {**t, k: f"{v // 60:02d}:{v % 60:02d}"}
            td = self.obj(t, tp, {"start_time": str, "end_time": str}, {})
            if td is None or len(td) < 2:
                continue
            try:
                a, b = _minutes(td["start_time"]), _minutes(td["end_time"])
            except ValueError as exc:
                self.err(tp, str(exc))
                continue
            if a >= b:
                self.err(tp, "start_time must be before end_time (split a range across midnight in two)")
            times.append((a, b))
        loc = d.get("location", "UTC")
        try:
            ZoneInfo(loc)
        except (ZoneInfoNotFoundError, ValueError):
            self.err(f"{path}.location", f"unknown time zone {loc!r} (e.g. Asia/Bishkek, UTC)")
            loc = "UTC"
        return IntervalSpec(
            times=tuple(times),
            weekdays=frozenset(self.ranges(d.get("weekdays", []), f"{path}.weekdays", _named(WEEKDAYS, 0), 0, 6)),
            days_of_month=tuple(self.ranges(d.get("days_of_month", []), f"{path}.days_of_month", int, -31, 31,
                                            expand=False)),
            months=frozenset(self.ranges(d.get("months", []), f"{path}.months", _named(MONTHS, 1), 1, 12)),
            years=tuple(self.ranges(d.get("years", []), f"{path}.years", int, 1970, 9999, expand=False)),
            location=loc)

    def ranges(self, items: list, path: str, conv: Callable[[str], int], lo: int, hi: int, expand: bool = True):
        """``monday:friday``, ``1:5``, ``-1`` (Alertmanager range syntax) -> values, or (a, b) pairs."""
        out: list = []
        for i, item in enumerate(items):
            a_s, _, b_s = str(item).partition(":")
            try:
                a, b = conv(a_s.strip()), conv((b_s or a_s).strip())
                if not (lo <= a <= hi and lo <= b <= hi) or 0 in (a, b) and lo < 0:
                    raise ValueError  # day 0 of a month does not exist; -1 is the last
            except ValueError:
                self.err(f"{path}[{i}]", f"not a valid entry or range: {item!r}")
                continue
            if expand:
                if a > b:
                    self.err(f"{path}[{i}]", f"range {item!r} runs backwards")
                out.extend(range(a, b + 1))
            else:
                out.append((a, b))
        return out

    def silence_rules(self, d: Any) -> SilenceRules:
        d = self.obj(d, "silences", {}, {"max_duration": str, "require_one_of": list}) or {}
        max_d = self.duration(d["max_duration"], "silences.max_duration") if "max_duration" in d else None
        req = SilenceRules.require_one_of
        if "require_one_of" in d:
            req = self.labels(d["require_one_of"], "silences.require_one_of") or ()
            if not req:
                self.err("silences.require_one_of", "name at least one label (a silence must be narrow)")
        return SilenceRules(max_d or SilenceRules.max_duration, tuple(req))

    def ack_rules(self, d: Any) -> AckRules:
        d = self.obj(d, "acknowledgements", {}, {"default_expiry": str, "max_expiry": str, "link_expiry": str}) or {}
        default = (self.duration(d["default_expiry"], "acknowledgements.default_expiry")
                   if "default_expiry" in d else None) or AckRules.default_expiry
        max_e = (self.duration(d["max_expiry"], "acknowledgements.max_expiry")
                 if "max_expiry" in d else None) or AckRules.max_expiry
        link = (self.duration(d["link_expiry"], "acknowledgements.link_expiry")
                if "link_expiry" in d else None) or AckRules.link_expiry
        if default > max_e:
            self.err("acknowledgements.default_expiry", f"{format_duration(default)} is longer than max_expiry "
                                                        f"{format_duration(max_e)}")
        if link < timedelta(days=1):
            self.err("acknowledgements.link_expiry", "at least 1d: a link is good to the end of a day")
        return AckRules(default, max_e, link)


def _minutes(text: str) -> int:
    m = re.fullmatch(r"(\d{2}):(\d{2})", text)
    if not m or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2])):
        raise ValueError(f"not a time of day: {text!r} (HH:MM, 00:00 to 24:00)")
    return int(m[1]) * 60 + int(m[2])


def _named(names: tuple[str, ...], base: int) -> Callable[[str], int]:
    def conv(s: str) -> int:
        if s.lower() in names:
            return names.index(s.lower()) + base
        return int(s)
    return conv


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _is(v: Any, want: Any) -> bool:
    if isinstance(want, tuple):
        return any(_is(v, w) for w in want)
    if want is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if want is str and isinstance(v, (int, float)) and not isinstance(v, bool):
        return False
    return isinstance(v, want)


def _want(want: Any) -> str:
    if isinstance(want, tuple):
        return "a number" if set(want) == {int, float} else " or ".join(_want(w) for w in want)
    return {str: "a string", list: "a list", dict: "a mapping", bool: "true or false", int: "an integer",
            float: "a number"}.get(want, str(want))


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    return {str: "a string", list: "a list", dict: "a mapping", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(v), type(v).__name__)


__all__ = ["AckRules", "complete_labels", "InhibitRule", "IntervalSpec", "LABEL_NAMES", "Matcher", "Policy", "PolicyError", "Receiver",
           "Route", "SilenceRules", "SinkConfig", "TimeInterval", "format_duration", "load_policy",
           "matches_all", "parse_duration", "parse_policy"]
