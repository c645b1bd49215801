"""Lifecycle records on the alerts topic and the materialised state (issue 4, point 1)."""

import itertools
import json
from datetime import timedelta

import pytest

from alerts.access import Principal
from alerts.model import AlertAction, AlertEvent, decode_record
from alerts.policy import load_policy
from alerts.state import ActionError, ActionForbidden, AlertStore, acknowledge, silence, unsilence
from alerts.timefmt import iso
from tests.unit.alertdata import T0, Clock, Segment

POLICY = load_policy()
OP = Principal.parse("aida", "operator")
KGZ = Principal.parse("kg-duty", "secretariat:KGZ")


def test_old_and_new_records_decode_from_the_same_topic():
    seg = Segment("KGZ-TJK-07")
    old = seg.open()
    raw = old.encode()
    assert "kind" not in json.loads(raw)  # pipeline records are unchanged on the wire
    assert decode_record(raw) == old == AlertEvent.decode(raw)
    newer = json.loads(raw) | {"some_future_field": 1}
    assert decode_record(json.dumps(newer)) == old
    ack = acknowledge(seg.alert_id, OP, timedelta(hours=1), "seen", now=T0, policy=POLICY)
    assert decode_record(ack.encode()) == ack and isinstance(decode_record(ack.encode()), AlertAction)
    with pytest.raises(ValueError):
        decode_record(b"[1]")


def test_action_ids_are_hashes_of_content():
    make = lambda comment: acknowledge("al-1", OP, timedelta(hours=1), comment, now=T0, policy=POLICY)  # noqa: E731
    assert make("a").action_id == make("a").action_id != make("b").action_id
    s = silence(['border="KGZ-TJK"'], OP, timedelta(hours=1), "why", now=T0, policy=POLICY)
    assert s.silence_id == s.action_id
    # the matchers' order does not make another silence
    s2 = silence(['level="warning"', 'border="KGZ-TJK"'], OP, timedelta(hours=1), "why", now=T0, policy=POLICY)
    s3 = silence(['border="KGZ-TJK"', 'level="warning"'], OP, timedelta(hours=1), "why", now=T0, policy=POLICY)
    assert s2.action_id == s3.action_id != s.action_id
    assert decode_record(s.encode()).silence_id == s.silence_id


def _log(clock):
    seg, other = Segment("KGZ-TJK-07"), Segment("TJK-UZB-03", releasable_to=("TJK", "UZB"))
    events = [seg.open("watch"), other.open("warning"), seg.move("warning")]
    ack = acknowledge(seg.alert_id, OP, timedelta(hours=2), "calling the post", now=clock(), policy=POLICY)
    sil = silence(['segment_id="TJK-UZB-03"'], OP, timedelta(hours=1), "known exercise", now=clock(), policy=POLICY)
    return seg, other, events, [ack, sil]


def test_redeliveries_and_actions_in_any_place_fold_to_the_same_state():
    """A segment's transitions keep their order (one partition); actions may land anywhere."""
    clock = Clock()
    seg, other, events, actions = _log(clock)
    views = set()
    for places in itertools.product(range(len(events) + 1), repeat=len(actions)):
        log = list(events)
        for pos, act in sorted(zip(places, actions), key=lambda x: -x[0]):
            log.insert(pos, act)
        store = AlertStore(clock=clock)
        for rec in log + log:  # and every record redelivered
            store.add(rec)
        assert len(store.actions) == 2
        views.add(json.dumps(sorted(store.current(), key=lambda a: a["alert_id"]), sort_keys=True))
    assert len(views) == 1


def test_acks_and_silences_expire_by_the_clock():
    clock = Clock()
    seg, other, events, actions = _log(clock)
    store = AlertStore(clock=clock)
    for rec in events + actions:
        store.add(rec)
    cur = {a["alert_id"]: a for a in store.current()}
    assert cur[seg.alert_id]["acknowledged"] and cur[seg.alert_id]["ack"]["by"] == "aida"
    assert cur[other.alert_id]["silenced"] and not cur[seg.alert_id]["silenced"]
    clock.advance(hours=1)
    cur = {a["alert_id"]: a for a in store.current()}
    assert cur[seg.alert_id]["acknowledged"] and not cur[other.alert_id]["silenced"]
    assert [s["status"] for s in store.silence_list()] == ["expired"]
    assert store.silence_list(include_inactive=False) == []
    clock.advance(hours=1)
    assert not {a["alert_id"]: a for a in store.current()}[seg.alert_id]["acknowledged"]


def test_an_escalation_voids_an_ack_and_a_timeline_keeps_both():
    clock = Clock()
    seg = Segment("KGZ-TJK-07")
    store = AlertStore(clock=clock)
    store.add(seg.open("warning"))
    store.add(acknowledge(seg.alert_id, OP, None, "", now=clock(), policy=POLICY, store=store))
    assert store.current()[0]["acknowledged"]
    store.add(seg.move("critical"))
    assert not store.current()[0]["acknowledged"]
    assert [s.get("transition") or s["action"] for s in store.timeline(seg.alert_id)] == \
        ["opened", "escalated", "acknowledged"]


def test_acknowledge_validates():
    clock = Clock()
    seg, hidden = Segment("KGZ-TJK-07"), Segment("TJK-UZB-03")
    store = AlertStore(clock=clock)
    store.add(seg.open())
    store.add(hidden.open())
    a = acknowledge(seg.alert_id, OP, None, None, now=T0, policy=POLICY, store=store)
    assert a.until == iso(T0 + POLICY.acknowledgements.default_expiry) and a.seq == 1
    with pytest.raises(ActionForbidden):
        acknowledge(seg.alert_id, Principal.parse("e", "engineer"), None, None, now=T0, policy=POLICY)
    with pytest.raises(ActionError, match="at most"):
        acknowledge(seg.alert_id, OP, POLICY.acknowledgements.max_expiry + timedelta(seconds=1), None, now=T0,
                    policy=POLICY)
    with pytest.raises(ActionError, match="future"):
        acknowledge(seg.alert_id, OP, T0 - timedelta(minutes=1), None, now=T0, policy=POLICY)
    with pytest.raises(ActionError, match="no alert"):
        acknowledge("al-missing", OP, None, None, now=T0, policy=POLICY, store=store)
    # desks acknowledge the notices sent to them, not alerts: refused before any lookup, so the
    # answer is the same for an alert on their border and one they may not see
    for alert_id in (seg.alert_id, hidden.alert_id, "al-missing"):
        with pytest.raises(ActionForbidden, match="notices"):
            acknowledge(alert_id, KGZ, None, None, now=T0, policy=POLICY, store=store)
    store.add(seg.resolve())
    with pytest.raises(ActionError, match="resolved"):
        acknowledge(seg.alert_id, OP, None, None, now=T0, policy=POLICY, store=store)


@pytest.mark.parametrize("matchers,match", [
    ([], "must name"),
    (['level="critical"'], "must name"),
    (['border=~"KGZ-.*"'], "must name"),
    (['border=""'], "must name"),
    (['segment="KGZ-TJK-07"'], "unknown label"),
    (['border KGZ-TJK'], "not a matcher"),
])
def test_silence_guardrails(matchers, match):
    with pytest.raises(ActionError, match=match):
        silence(matchers, OP, timedelta(hours=1), "why", now=T0, policy=POLICY)


def test_silence_duration_comment_and_role():
    ok = silence(['segment_id="KGZ-TJK-07"', 'level=~"watch|warning"'], OP, POLICY.silences.max_duration, "why",
                 now=T0, policy=POLICY)
    assert ok.until == iso(T0 + POLICY.silences.max_duration)
    with pytest.raises(ActionError, match="at most"):
        silence(['border="KGZ-TJK"'], OP, POLICY.silences.max_duration + timedelta(minutes=1), "why", now=T0,
                policy=POLICY)
    with pytest.raises(ActionError, match="comment"):
        silence(['border="KGZ-TJK"'], OP, timedelta(hours=1), "  ", now=T0, policy=POLICY)
    for role in ("engineer", "regional-desk", "secretariat:KGZ"):
        with pytest.raises(ActionForbidden):
            silence(['border="KGZ-TJK"'], Principal.parse("x", role), timedelta(hours=1), "why", now=T0,
                    policy=POLICY)


def test_unsilence_ends_only_an_active_silence():
    clock = Clock()
    store = AlertStore(clock=clock)
    s = silence(['border="KGZ-TJK"'], OP, timedelta(hours=1), "why", now=clock(), policy=POLICY)
    with pytest.raises(ActionError, match="no silence"):
        unsilence(s.silence_id, OP, now=clock(), store=store)
    store.add(s)
    end = unsilence(s.silence_id, OP, "done", now=clock.advance(minutes=10), store=store)
    store.add(end)
    assert [(x["status"], x["ended_at"]) for x in store.silence_list()] == [("ended", end.at)]
    with pytest.raises(ActionError, match="already ended"):
        unsilence(s.silence_id, OP, now=clock(), store=store)
    with pytest.raises(ActionForbidden):
        unsilence(s.silence_id, KGZ, now=clock(), store=store)


def test_history_queries_by_segment_border_time_level_and_viewer():
    clock = Clock()
    store = AlertStore(clock=clock)
    a = Segment("KGZ-TJK-07", "2026-01-01T00:00:00Z")
    b = Segment("KGZ-TJK-08", "2026-01-03T00:00:00Z")
    c = Segment("TJK-UZB-03", "2026-01-02T00:00:00Z")
    store.add(a.open("watch"))
    store.add(a.resolve())  # resolved_at = its opened_at in these fixtures
    for ev in (b.open("warning"), b.move("critical"), b.move("warning"), c.open("warning")):
        store.add(ev)
    q = lambda **kw: [x["alert_id"] for x in store.query(**kw)]  # noqa: E731
    assert q() == [a.alert_id, c.alert_id, b.alert_id]  # oldest first
    assert q(segment_id="KGZ-TJK-08") == [b.alert_id]
    assert q(border="KGZ-TJK") == [a.alert_id, b.alert_id]
    assert q(level="critical") == [b.alert_id]  # it reached critical, even if it is warning now
    assert q(level="warning") == [c.alert_id, b.alert_id]
    assert q(since=T0.replace(day=2)) == [c.alert_id, b.alert_id]  # a ended before
    assert q(until=T0.replace(day=2, hour=12)) == [a.alert_id, c.alert_id]  # b opened after
    assert q(principal=KGZ) == [a.alert_id, b.alert_id]
    with pytest.raises(ActionError):
        store.query(level="severe")
    assert [x["alert_id"] for x in store.current(principal=KGZ)] == [b.alert_id]


def test_a_malformed_action_is_refused_without_touching_the_store():
    store = AlertStore(clock=Clock())
    bad = AlertAction("silenced", at=iso(T0), by="x", role="root", until=iso(T0 + timedelta(hours=1)),
                      matchers=('border="KGZ-TJK"',))
    with pytest.raises(ValueError):
        store.add(bad)
    assert store.actions == [] and store.silences == {}
    good = AlertAction.from_dict(bad.to_dict() | {"role": "operator", "action_id": ""})
    assert store.add(good) and store.silence_list()[0]["silence_id"] == good.action_id


def _alerts_on(segment_id: str, n: int) -> list[Segment]:
    """``n`` alerts one after another on one segment, numbered as the pipeline numbers them."""
    out, seq = [], 0
    for i in range(n):
        seg = Segment(segment_id, opened_at=f"2026-01-0{i + 1}T00:00:00Z")
        seg.seq = seq
        out.append(seg)
        seq += 2
    return out


def test_a_bounded_store_keeps_open_alerts_and_the_latest_resolved():
    store = AlertStore(keep_resolved=2)
    a1, a2, a3 = _alerts_on("KGZ-TJK-07", 3)
    other = Segment("TJK-UZB-03")
    for ev in (other.open("watch"), a1.open(), a1.resolve(), a2.open(), a2.resolve(), a3.open(), a3.resolve()):
        store.add(ev)
    assert set(store.alerts) == {other.alert_id, a2.alert_id, a3.alert_id}
    assert [a["alert_id"] for a in store.current()] == [other.alert_id]  # open alerts are never dropped
    assert store.timeline(a1.alert_id) == []


def test_a_forgotten_alert_read_again_stays_a_duplicate_and_later_ones_still_count():
    store = AlertStore(keep_resolved=0)
    a1, a2 = _alerts_on("KGZ-TJK-07", 2)
    first = [a1.open("watch"), a1.resolve()]
    for ev in first:
        assert store.add(ev)
    assert store.alerts == {}
    assert not any(store.add(ev) for ev in first)  # a redelivery does not bring it back half-made
    assert store.alerts == {}
    assert store.add(a2.open()) and list(store.alerts) == [a2.alert_id]


def test_a_pinned_alert_is_kept_until_released():
    held = {"x"}
    store = AlertStore(keep_resolved=0)
    store.pinned = lambda alert_id: alert_id in held
    a1, a2 = _alerts_on("KGZ-TJK-07", 2)
    held = {a1.alert_id}
    for ev in (a1.open(), a1.resolve()):
        store.add(ev)
    assert a1.alert_id in store.alerts
    held = set()
    for ev in (a2.open(), a2.resolve()):
        store.add(ev)
    assert store.alerts == {}
