"""Where notices go: one module per channel, one small class each.

A sink has a ``type``, a ``name`` that keys the delivery log together with the
notice id (so it must not change between restarts), and ``send(notice)``,
which either returns (the channel accepted the notice) or raises
:class:`SinkError` saying whether trying again could help.

Sink configs are dicts from the policy file, checked strictly: unknown keys,
missing keys and wrong types are errors naming the key. Each sink declares its
keys once (``REQUIRED``, ``OPTIONAL``); :func:`check_keys` and the policy check
(alerts/policy.py) both read them there.

>>> build_sink({"type": "file", "dir": "drop/kgz"}).name
'file:drop/kgz'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from borderwatch.errors import BorderwatchError

if TYPE_CHECKING:  # the sinks import the notices, which import alerts.policy, which reads the sinks' keys
    from alerts.notify.notices import Notice

#: A config key's value type(s).
KeyType = type | tuple[type, ...]


class SinkError(BorderwatchError):
    """A failed send. ``retryable``: a later attempt may succeed (5xx, connection refused, timeouts)."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SinkConfigError(BorderwatchError, ValueError):
    """A sink config with an unknown type, an unknown or missing key, or a value of the wrong type."""


class Sink:
    type: str = ""
    name: str = ""
    #: The config keys besides ``type`` and ``name``, with their value types.
    REQUIRED: Mapping[str, KeyType] = {}
    OPTIONAL: Mapping[str, KeyType] = {}

    def send(self, notice: Notice) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def check_keys(config: Mapping[str, Any], sink: type[Sink]) -> None:
    """Strict validation shared by every sink, against its declared keys: unknown keys are errors,
    and so are missing ones and wrong types."""
    kind, required, optional = config.get("type"), sink.REQUIRED, sink.OPTIONAL
    allowed = {"type", "name", *required, *optional}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise SinkConfigError(f"{kind} sink: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    for key, typ in required.items():
        if key not in config:
            raise SinkConfigError(f"{kind} sink: missing key {key!r}")
    for key, typ in {**required, **optional, "name": str}.items():
        if key not in config:
            continue
        value, types = config[key], typ if isinstance(typ, tuple) else (typ,)
        # bool is an int to isinstance; a port of True is a mistake
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise SinkConfigError(f"{kind} sink: {key!r} must be {_type_name(typ)}, not {value!r}")


def _type_name(typ: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in typ) if isinstance(typ, tuple) else typ.__name__


def sink_types() -> dict[str, type[Sink]]:
    """type -> its class (``from_config``, ``REQUIRED``, ``OPTIONAL``); imported lazily so each channel's
    module stays on its own."""
    from alerts.notify.sinks.alertmanager import AlertmanagerSink
    from alerts.notify.sinks.cap import CapSink
    from alerts.notify.sinks.file import FileSink
    from alerts.notify.sinks.smtp import SmtpSink
    from alerts.notify.sinks.webhook import WebhookSink

    return {s.type: s for s in (FileSink, WebhookSink, SmtpSink, AlertmanagerSink, CapSink)}


def build_sink(config: Mapping[str, Any]) -> Sink:
    """A sink from its policy-file config, e.g. ``{"type": "webhook", "url": ..., "secret_file": ...}``."""
    types = sink_types()
    kind = config.get("type")
    if kind not in types:
        raise SinkConfigError(f"unknown sink type {kind!r}: use one of {', '.join(sorted(types))}")
    return types[kind].from_config(config)
