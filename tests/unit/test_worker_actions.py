"""The web API's actions as the worker wires them: checked by alerts.state, produced to the log, folded back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from alerts.access import Principal
from alerts.model import decode_record
from alerts.policy import load_policy
from alerts.state import AlertStore
from streams.actions import WorkerActions
from tests.webfakes import alert_event

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
OPERATOR = Principal.parse("duty-officer", "operator")


@pytest.fixture
def env():
    store = AlertStore(clock=lambda: NOW)
    ev = alert_event("KGZ-TJK-05", level="critical", at="2026-11-23T08:00:00Z", opened_at="2026-11-23T08:00:00Z")
    store.add(ev)
    sent: list[tuple[bytes, bytes]] = []

    async def send(key: bytes, value: bytes) -> None:
        sent.append((key, value))

    return store, ev, sent, WorkerActions(load_policy(), store, send, lambda: NOW)


def run(coro):
    return asyncio.run(coro)


def test_an_acknowledgement_is_produced_to_the_log_and_takes_effect_when_folded(env):
    store, ev, sent, actions = env
    result = run(actions.acknowledge(ev.alert_id, OPERATOR, NOW + timedelta(hours=2), "patrol informed"))
    assert not store.view(store.alerts[ev.alert_id])["acknowledged"]  # not until the log says so
    [(key, value)] = sent
    record = decode_record(value)
    assert key == ev.alert_id.encode() and record.action_id == result["action_id"]
    store.add(record)
    ack = store.view(store.alerts[ev.alert_id])["acknowledged"]
    assert (ack["by"], ack["comment"]) == ("duty-officer", "patrol informed")


def test_errors_map_to_the_web_statuses(env):
    store, ev, sent, actions = env
    with pytest.raises(LookupError):  # 404: unknown alert
        run(actions.acknowledge("al-nope", OPERATOR, None, None))
    with pytest.raises(PermissionError):  # 403: desks acknowledge notices, not alerts
        run(actions.acknowledge(ev.alert_id, Principal.parse("kg", "secretariat:KGZ"), None, None))
    with pytest.raises(PermissionError):  # 403: engineers do not act
        run(actions.silence({"border": "KGZ-TJK"}, Principal.parse("eng", "engineer"), NOW + timedelta(hours=1), "x"))
    with pytest.raises(ValueError):  # 400: a silence must name a border or segment
        run(actions.silence({"level": "critical"}, OPERATOR, NOW + timedelta(hours=1), "too broad"))
    assert not sent


def test_a_silence_is_produced_and_then_silences_matching_alerts(env):
    store, ev, sent, actions = env
    run(actions.silence({"border": "KGZ-TJK"}, OPERATOR, NOW + timedelta(hours=4), "talks under way"))
    store.add(decode_record(sent[0][1]))
    assert [s["comment"] for s in actions.silences()] == ["talks under way"]
    assert store.view(store.alerts[ev.alert_id])["silenced"]
