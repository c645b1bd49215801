"""The dispatcher on a hand-driven clock: grouping, timings, silences, inhibition, time intervals,
acknowledgements and releasability (issue 4, points 2, 3 and 5)."""

import itertools
from datetime import timedelta

import pytest

from alerts.access import Principal
from alerts.notify.dispatch import Dispatch, Dispatcher
from alerts.policy import load_policy
from alerts.state import AlertStore, acknowledge, silence, unsilence
from tests.unit.alertdata import RECEIVERS, T0, Clock, Segment, policy_from

SIMPLE = RECEIVERS + """
route:
  receiver: operators
  group_by: [border]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
"""
OP = Principal.parse("aida", "operator")


def ids(dispatches):
    return [[a["alert_id"] for a in d.alerts] for d in dispatches]


def opened(d, clock, *events, receiver=None):
    """Apply ``events``, let a minute pass (past the group waits) and flush; optionally one receiver's."""
    for ev in events:
        d.apply(ev)
    clock.advance(minutes=1)
    return [x for x in d.flush() if receiver in (None, x.receiver)]


def test_group_wait_then_group_interval_then_repeat_then_resolved():
    clock = Clock()
    pol = policy_from(SIMPLE)
    d = Dispatcher(pol, clock)
    seg = Segment("KGZ-TJK-07")
    assert d.apply(seg.open("warning")) == []
    assert d.next_due() == T0 + pol.route.group_wait
    clock.advance(seconds=29)
    assert d.flush() == []
    clock.advance(seconds=1)
    [first] = d.flush()
    assert isinstance(first, Dispatch)
    assert (first.receiver, first.reason, ids([first])) == ("operators", "new", [[seg.alert_id]])
    assert first.alerts[0]["status"] == "firing" and first.alerts[0]["level"] == "warning"
    assert 'border="KGZ-TJK"' in first.group_key

    clock.advance(minutes=5)
    assert d.flush() == []  # nothing new: no notice
    d.apply(seg.move("critical"))
    assert d.flush() == []  # waits for the group interval
    clock.advance(minutes=5)
    [changed] = d.flush()
    assert changed.reason == "changed" and changed.alerts[0]["level"] == "critical"
    assert changed.notice_id != first.notice_id

    clock.now = T0 + timedelta(seconds=30) + timedelta(minutes=10) + pol.route.repeat_interval
    [again] = d.flush()
    assert again.reason == "repeat" and again.alerts == changed.alerts
    assert again.notice_id not in (first.notice_id, changed.notice_id)

    d.apply(seg.resolve())
    clock.advance(minutes=5)
    [done] = d.flush()
    assert done.reason == "resolved" and done.alerts[0]["status"] == "resolved"
    assert d.next_due() is None  # the group is gone


def test_alerts_of_one_border_share_a_notice_and_a_latecomer_waits_for_the_interval():
    clock = Clock()
    d = Dispatcher(policy_from(SIMPLE), clock)
    a, b, c = Segment("KGZ-TJK-01"), Segment("KGZ-TJK-02"), Segment("KGZ-TJK-03")
    d.apply(a.open())
    clock.advance(seconds=10)
    d.apply(b.open())
    clock.advance(seconds=20)
    [both] = d.flush()
    assert sorted(ids([both])[0]) == sorted([a.alert_id, b.alert_id])
    d.apply(c.open())
    clock.advance(seconds=30)  # a new group would have flushed; this one is on its interval
    assert d.flush() == []
    clock.advance(minutes=5)
    [late] = d.flush()
    assert late.reason == "changed" and set(ids([late])[0]) == {a.alert_id, b.alert_id, c.alert_id}


def test_a_resolution_nobody_heard_of_is_not_news():
    clock = Clock()
    d = Dispatcher(policy_from(SIMPLE), clock)
    seg = Segment("KGZ-TJK-07")
    d.apply(seg.open())
    d.apply(seg.resolve())  # within group_wait
    clock.advance(minutes=1)
    assert d.flush() == [] and d.next_due() is None


def test_notice_ids_are_deterministic_and_a_restart_re_derives_them():
    def run(clock_start):
        clock = Clock(clock_start)
        d = Dispatcher(policy_from(SIMPLE), clock)
        seg = Segment("KGZ-TJK-07")
        d.apply(seg.open())
        clock.advance(minutes=1)
        return d.flush()

    [one], [two] = run(T0), run(T0 + timedelta(days=3))  # a restart days later, same log
    assert one.notice_id == two.notice_id and one.alerts == two.alerts


def test_a_silence_holds_notices_until_it_expires_or_is_ended():
    clock = Clock()
    pol = policy_from(SIMPLE)
    d = Dispatcher(pol, clock)
    s = silence(['border="KGZ-TJK"'], OP, timedelta(hours=1), "talks under way", now=clock(), policy=pol)
    d.apply(s)
    seg, other = Segment("KGZ-TJK-07"), Segment("KGZ-UZB-02")
    d.apply(seg.open())
    d.apply(other.open())
    clock.advance(minutes=1)
    [only] = d.flush()
    assert ids([only]) == [[other.alert_id]]
    clock.advance(minutes=30)
    assert d.flush() == []
    clock.advance(minutes=30)  # the silence expired: nobody wrote a record for it
    [after] = [x for x in d.flush() if x.reason != "repeat"]
    assert ids([after]) == [[seg.alert_id]] and after.reason == "new"

    # ended early
    clock2 = Clock()
    d2 = Dispatcher(pol, clock2)
    d2.apply(s)
    seg2 = Segment("KGZ-TJK-07")
    d2.apply(seg2.open())
    clock2.advance(minutes=1)
    assert d2.flush() == []
    d2.apply(unsilence(s.silence_id, OP, "talks failed", now=clock2(), store=d2.store))
    clock2.advance(minutes=5)
    assert ids(d2.flush()) == [[seg2.alert_id]]


def test_critical_on_a_segment_inhibits_the_warning_of_its_border():
    clock = Clock()
    pol = load_policy()
    rule = pol.inhibit_rules[1]
    assert rule.equal == ("border",)
    d = Dispatcher(pol, clock)
    pair, seg = Segment("KGZ-TJK"), Segment("KGZ-TJK-07")
    ops = opened(d, clock, pair.open("warning"), seg.open("critical"), receiver="operators")
    got = {a["alert_id"] for x in ops for a in x.alerts}
    assert seg.alert_id in got and pair.alert_id not in got
    d.apply(seg.resolve())
    clock.advance(minutes=5)
    ops = [x for x in d.flush() if x.receiver == "operators"]
    got = {a["alert_id"]: a["status"] for x in ops for a in x.alerts}
    assert got == {seg.alert_id: "resolved", pair.alert_id: "firing"}


def test_same_segment_rule_mutes_the_lesser_alert_only():
    pol = policy_from(SIMPLE + """
inhibit_rules:
  - {source_matchers: ['level="critical"'], target_matchers: ['level="warning"'], equal: [segment_id]}
""")
    clock = Clock()
    d = Dispatcher(pol, clock)
    # two detectors alerting on one segment at once (different opening times, so two alerts)
    crit, warn = Segment("KGZ-TJK-07", "2026-01-01T00:00:00Z"), Segment("KGZ-TJK-07", "2026-01-02T00:00:00Z")
    warn.seq = 1  # one segment, one numbering
    elsewhere = Segment("KGZ-TJK-08")
    d.apply(crit.open("critical"))
    d.apply(warn.open("warning"))
    d.apply(elsewhere.open("warning"))
    clock.advance(minutes=1)
    got = {a["alert_id"] for x in d.flush() for a in x.alerts}
    assert got == {crit.alert_id, elsewhere.alert_id}


def test_desk_hours_hold_warnings_but_not_criticals():
    pol = load_policy()
    desk = pol.time_intervals["desk-hours"]
    saturday = T0 + timedelta(days=5)
    assert not desk.contains(saturday)
    clock = Clock(saturday)
    d = Dispatcher(pol, clock)
    warn, crit = Segment("KGZ-UZB-02"), Segment("KGZ-TJK-07")
    desk_now = opened(d, clock, warn.open("warning"), crit.open("critical"), receiver="regional-desk")
    assert ids(desk_now) == [[crit.alert_id]]
    # Step through the weekend on the group interval until the desk opens.
    sent = []
    while not sent:
        clock.advance(minutes=5)
        sent = [x for x in d.flush() if x.receiver == "regional-desk" and x.alerts[0]["alert_id"] == warn.alert_id]
    assert desk.contains(clock()) and not desk.contains(clock() - timedelta(minutes=5))


def test_mute_time_intervals_hold_notices():
    pol = policy_from(SIMPLE.replace("  repeat_interval: 1h", "  repeat_interval: 1h\n  routes:\n"
                                     "    - mute_time_intervals: [night]") + """
time_intervals:
  - name: night
    time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}]}]
""")
    clock = Clock(T0.replace(hour=2))
    d = Dispatcher(pol, clock)
    d.apply(Segment("KGZ-TJK-07").open())
    while clock().hour < 6:
        assert d.flush() == []
        clock.advance(minutes=5)
    assert len(d.flush()) == 1


def test_an_acknowledgement_stops_reminders_until_it_expires_or_the_alert_escalates():
    clock = Clock()
    pol = policy_from(SIMPLE)
    d = Dispatcher(pol, clock)
    seg = Segment("KGZ-TJK-07")
    d.apply(seg.open("warning"))
    clock.advance(seconds=30)
    assert len(d.flush()) == 1
    d.apply(acknowledge(seg.alert_id, OP, timedelta(hours=2), "on it", now=clock(), policy=pol, store=d.store))
    clock.advance(hours=1, minutes=1)
    assert d.flush() == []  # a reminder would be due; the ack holds it
    clock.advance(hours=1)
    [rem] = d.flush()
    assert rem.reason == "repeat" and rem.alerts[0]["acknowledged"] is False

    d.apply(acknowledge(seg.alert_id, OP, timedelta(hours=3), "again", now=clock(), policy=pol, store=d.store))
    d.apply(seg.move("critical"))
    clock.advance(minutes=5)
    [esc] = d.flush()
    assert esc.reason == "changed" and esc.alerts[0]["acknowledged"] is False  # escalation voids the ack


def test_the_centres_ack_holds_the_centres_reminders_not_the_desks():
    clock = Clock()
    pol = load_policy()
    d = Dispatcher(pol, clock)
    seg = Segment("KGZ-TJK-07")
    d.apply(seg.open("warning"))
    clock.advance(minutes=1)
    d.flush()
    d.apply(acknowledge(seg.alert_id, OP, timedelta(hours=8), "patrol informed", now=clock(), policy=pol,
                        store=d.store))
    clock.now = T0 + timedelta(minutes=1) + pol.route.repeat_interval + timedelta(minutes=5)
    reminded = {x.receiver for x in d.flush() if x.reason == "repeat"}
    assert "operators" not in reminded
    assert {"secretariat-KGZ", "secretariat-TJK"} <= reminded  # a desk is told until it acknowledges its notice


# ----------------------------------------------------------------------------- releasability

STATES = ("KGZ", "TJK", "UZB")
BORDERS = ("KGZ-TJK", "KGZ-UZB", "TJK-UZB")
RELEASES = (("ALL",), ("KGZ",), ("TJK",), ("KGZ", "TJK"), ("UZB",))
LEAKY = RECEIVERS + """
route:
  receiver: operators
  group_by: ['...']
  group_wait: 0s1ms
  routes:
    - {receiver: operators, continue: true}
    - {receiver: secretariat-KGZ, continue: true}
    - {receiver: secretariat-TJK, continue: true}
    - {receiver: secretariat-UZB, continue: true}
    - {receiver: regional-desk, continue: true}
"""


def _reached(pol, alerts):
    clock = Clock()
    out: dict[str, set] = {}
    for x in opened(Dispatcher(pol, clock), clock, *alerts):
        out.setdefault(x.receiver, set()).update(a["alert_id"] for a in x.alerts)
    return out


@pytest.mark.parametrize("policy_name", ["bundled", "routes-everything-everywhere"])
def test_no_receiver_gets_an_alert_its_principal_may_not_see(policy_name):
    pol = load_policy() if policy_name == "bundled" else policy_from(LEAKY)
    segs = [Segment(f"{b}-0{i}", releasable_to=rel) for i, (b, rel) in enumerate(itertools.product(BORDERS, RELEASES))]
    reached = _reached(pol, [s.open("critical") for s in segs])
    by_id = {s.alert_id: s for s in segs}
    for receiver, got in reached.items():
        p = pol.receivers[receiver].principal
        for aid in got:
            s = by_id[aid]
            assert p.sees_alert(s.countries, s.releasable_to), (receiver, s.segment_id, s.releasable_to)
    kgz = reached.get("secretariat-KGZ", set())
    assert not any(by_id[a].border == "TJK-UZB" for a in kgz)
    assert all("KGZ" in by_id[a].releasable_to or by_id[a].releasable_to == ("ALL",) for a in kgz)
    # and nothing is lost: every secretariat gets all it may see of its borders (critical reaches all)
    for state in STATES:
        p = Principal.parse("x", f"secretariat:{state}")
        want = {s.alert_id for s in segs if p.sees_alert(s.countries, s.releasable_to)}
        assert reached.get(f"secretariat-{state}", set()) == want
    assert reached["operators"] == set(by_id)


def test_an_alert_narrowed_after_notice_stops_reaching_the_desk():
    pol = policy_from(LEAKY)
    clock = Clock()
    d = Dispatcher(pol, clock)
    seg = Segment("KGZ-TJK-07")
    d.apply(seg.open("warning"))
    clock.advance(minutes=1)
    assert "regional-desk" in {x.receiver for x in d.flush()}
    seg.releasable_to = ("KGZ",)  # a restricted incident joined the window
    d.apply(seg.move("critical"))
    clock.advance(minutes=5)
    got = {x.receiver for x in d.flush()}
    assert "secretariat-KGZ" in got and "regional-desk" not in got and "secretariat-TJK" not in got


def test_an_alert_that_stops_matching_a_route_leaves_its_group():
    pol = policy_from(RECEIVERS + """
route:
  receiver: operators
  group_by: [segment_id]
  routes:
    - {receiver: regional-desk, matchers: ['level="warning"']}
""")
    clock = Clock()
    d = Dispatcher(pol, clock)
    seg = Segment("KGZ-TJK-07")
    assert [x.receiver for x in opened(d, clock, seg.open("warning"))] == ["regional-desk"]
    assert [(x.receiver, x.reason) for x in opened(d, clock, seg.move("critical"))] == [("operators", "new")]
    assert [g.route.receiver for g in d.groups.values()] == ["operators"]


def test_a_store_shared_with_the_feed_is_folded_once_and_still_dispatched():
    clock = Clock()
    feed_store = AlertStore(clock=clock)
    d = Dispatcher(policy_from(SIMPLE), clock, store=feed_store)
    seg = Segment("KGZ-TJK-07")
    first = seg.open()
    feed_store.add(first)  # the feed saw it first
    [x] = opened(d, clock, first, first)
    assert ids([x]) == [[seg.alert_id]] and len(feed_store.alerts[seg.alert_id]["transitions"]) == 1


def test_redelivered_records_send_nothing_again():
    clock = Clock()
    pol = policy_from(SIMPLE)
    d = Dispatcher(pol, clock)
    seg = Segment("KGZ-TJK-07")
    log = [seg.open("watch"), seg.move("warning"),
           acknowledge(seg.alert_id, OP, timedelta(hours=8), "seen", now=clock(), policy=pol)]
    assert len(opened(d, clock, *log)) == 1
    for _ in range(3):  # each round past a group interval, so the group is looked at again
        clock.advance(minutes=4)
        assert opened(d, clock, *log) == []


def test_a_bounded_store_keeps_an_alert_until_its_resolution_is_told():
    clock = Clock()
    store = AlertStore(clock=clock, keep_resolved=0)
    d = Dispatcher(policy_from(SIMPLE), clock, store=store)
    seg = Segment("KGZ-TJK-07")
    [new] = opened(d, clock, seg.open("warning"))
    assert new.reason == "new"
    d.apply(seg.resolve())
    assert seg.alert_id in store.alerts  # the group has not told its end yet
    clock.advance(minutes=5)
    [end] = d.flush()
    assert end.reason == "resolved" and end.alerts[0]["status"] == "resolved"
    other = Segment("TJK-UZB-03")
    opened(d, clock, other.open("watch"))
    d.apply(other.resolve())  # the next resolution lets the store forget the first
    assert seg.alert_id not in store.alerts


def test_zero_waits_make_every_change_a_notice_of_its_own_at_once_whatever_the_clock():
    pol = policy_from(RECEIVERS + """
route:
  receiver: operators
  group_by: [segment_id]
  group_wait: 0s
  group_interval: 0s
  repeat_interval: 1000h
""")
    assert pol.route.group_wait == pol.route.group_interval == timedelta(0)
    clock = Clock()
    d = Dispatcher(pol, clock)
    seg = Segment("KGZ-TJK-07")
    told = [x for ev in (seg.open("watch"), seg.move("warning"), seg.move("critical"), seg.resolve())
            for x in d.apply(ev)]  # the clock never moves: no flush waits for it
    assert [(x.reason, x.alerts[0]["level"], x.alerts[0]["status"]) for x in told] == [
        ("new", "watch", "firing"), ("changed", "warning", "firing"), ("changed", "critical", "firing"),
        ("resolved", "none", "resolved")]
    with pytest.raises(Exception, match="repeat_interval: must be more than zero"):
        policy_from(RECEIVERS + "route:\n  receiver: operators\n  repeat_interval: 0s\n")
