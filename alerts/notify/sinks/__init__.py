"""Where notices go: one module per channel, one small class each.

A sink has a ``type``, a ``name`` that keys the delivery log together with the
notice id (so it must not change between restarts), and ``send(notice)``,
which either returns (the channel accepted the notice) or raises
:class:`SinkError` saying whether trying again could help.

Sink configs are dicts from the policy file, checked strictly: unknown keys,
missing keys and wrong types are errors naming the key. Each sink declares its
keys once (``REQUIRED``, ``OPTIONAL``); :func:`~alerts.notify.sinks.base.check_keys`
and the policy check (alerts/policy.py) both read them there. What every sink
shares (:class:`~alerts.notify.sinks.base.Sink`, its errors, the key check) is
in :mod:`alerts.notify.sinks.base`; this module finds a config's sink.

>>> build_sink({"type": "file", "dir": "drop/kgz"}).name
'file:drop/kgz'
"""

from __future__ import annotations

from typing import Any, Mapping

from alerts.notify.sinks.base import Sink, SinkConfigError

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
