"""What every sink shares: the :class:`Sink` interface, its errors and the strict check of a
config's keys. Each channel's module stands on this one; the package's :func:`build_sink` finds
the channel a config names."""

from __future__ import annotations

from typing import Any, Mapping

from borderwatch.errors import BorderwatchError
from alerts.notify.model import Notice

#: A config key's value type(s).
KeyType = type | tuple[type, ...]


class SinkError(BorderwatchError):
    """A failed send. ``retryable``: a later attempt may succeed (5xx, connection refused, timeouts)."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SinkConfigError(BorderwatchError, ValueError):
    """A sink config with an unknown type, an unknown or missing key, or a value of the wrong type;
    ``key``: the config key at fault, when one is (the policy check names its path)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class Sink:
    type: str = ""
    name: str = ""
    #: The config keys besides ``type`` and ``name``, with their value types.
    REQUIRED: Mapping[str, KeyType] = {}
    OPTIONAL: Mapping[str, KeyType] = {}
    #: Whether the sink's notices carry a PDF (the worker then starts the process that draws them).
    makes_pdf: bool = False

    def send(self, notice: Notice) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def check_values(cls, config: Mapping[str, Any]) -> None:
        """What the values of a config whose keys and types are right must also be (an address, a
        known format, a timeout above zero); raises :class:`SinkConfigError` naming the key. Reads no
        file: ``borderwatch check-config`` runs it too (alerts/policy.py), where the secrets may not be,
        so a policy the check passes is one the worker can build."""


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
            raise SinkConfigError(f"{kind} sink: {key!r} must be {_type_name(typ)}, not {value!r}", key)
    sink.check_values(config)


def check_url(config: Mapping[str, Any]) -> None:
    """A sink that posts over HTTP takes an ``http://`` or ``https://`` ``url``."""
    if not config["url"].startswith(("http://", "https://")):
        raise SinkConfigError(f"{config.get('type')} sink: url must be http(s), not {config['url']!r}", "url")


def check_positive(config: Mapping[str, Any], *keys: str) -> None:
    """Seconds (a timeout, a ttl) must be more than zero: smtplib refuses a timeout of 0 and the socket a
    negative one, with a ValueError on every send (a bug to the notifier: a traceback, never retried)."""
    for key in keys:
        if key in config and not config[key] > 0:
            raise SinkConfigError(f"{config.get('type')} sink: {key!r} must be more than zero seconds, "
                                  f"not {config[key]!r}", key)


def _type_name(typ: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in typ) if isinstance(typ, tuple) else typ.__name__
