"""The releasability matrix: nothing leaks across states (issue 4, point 3)."""

import itertools

import pytest

from alerts.access import (NOTICE_HIDDEN, NOTICE_ON_BEHALF, NOTICE_OWN, NOTICE_READ, AccessError,
                           Principal)

STATES = ("KGZ", "TJK", "UZB")
BORDERS = [("KGZ", "TJK"), ("KGZ", "UZB"), ("TJK", "UZB")]
#: None: a record without the field (unmarked: public); (): released to disjoint states, the centre alone
RELEASES = [("ALL",), ("KGZ",), ("TJK",), ("KGZ", "TJK"), (), None]


@pytest.mark.parametrize("state,border,rel", list(itertools.product(STATES, BORDERS, RELEASES)))
def test_a_secretariat_sees_only_its_borders_and_what_is_released_to_it(state, border, rel):
    p = Principal.parse("desk", f"secretariat:{state}")
    on_my_border = state in border
    released = rel in (("ALL",), None) or state in (rel or ())
    assert p.sees_alert(border, rel) == (on_my_border and released)


@pytest.mark.parametrize("rel", RELEASES)
def test_the_regional_desk_sees_only_what_is_released_to_all(rel):
    p = Principal.parse("desk", "regional-desk")
    assert p.sees_alert(("KGZ", "TJK"), rel) == (rel in (("ALL",), None))


@pytest.mark.parametrize("role", ["operator", "engineer", "admin"])
def test_centre_staff_see_everything(role):
    p = Principal.parse("x", role)
    assert all(p.sees_alert(b, r) for b in BORDERS for r in RELEASES)


def test_evidence_is_redacted_per_principal():
    incidents = [{"event_id": "a", "releasable_to": ["ALL"]}, {"event_id": "b", "releasable_to": ["KGZ"]},
                 {"event_id": "c", "releasable_to": ["TJK"]}, {"event_id": "d"}]
    ids = lambda p: [i["event_id"] for i in p.redact(incidents)]  # noqa: E731
    assert ids(Principal.parse("k", "secretariat:KGZ")) == ["a", "b", "d"]
    assert ids(Principal.parse("t", "secretariat:TJK")) == ["a", "c", "d"]
    assert ids(Principal.parse("r", "regional-desk")) == ["a", "d"]
    assert ids(Principal.parse("o", "operator")) == ["a", "b", "c", "d"]


def test_incidents_released_to_disjoint_states_make_an_alert_for_the_centre_alone():
    from alerts.model import AlertEvent, alert_labels
    from alerts.access import releasable_to_all

    rel = releasable_to_all([["KGZ"], ["TJK"]])
    assert rel == ()
    alert = {"countries": ["KGZ", "TJK"], "releasable_to": list(rel)}
    assert [r for r in ("secretariat:KGZ", "secretariat:TJK", "regional-desk", "operator")
            if Principal.parse("x", r).sees(alert)] == ["operator"]
    # and it stays so through the alerts topic and the routing labels
    ev = AlertEvent("al-1", "opened", "KGZ-TJK", "KGZ-TJK", ("KGZ", "TJK"), "warning", "none", 0.9,
                    "2012-07-17T00:00:00Z", "2012-07-17T00:00:00Z", 1, "warning", 0.9, "s", "d", releasable_to=rel)
    assert AlertEvent.decode(ev.encode()).releasable_to == ()
    assert alert_labels(ev.to_dict())["releasable_to"] == ""


@pytest.mark.parametrize("role", ["secretariat", "secretariat:kg", "root", "operator:KGZ", ""])
def test_bad_roles_are_refused_with_the_fix(role):
    with pytest.raises(AccessError, match="role"):
        Principal.parse("x", role)


def test_only_operators_and_admins_act():
    assert [r for r in ("operator", "engineer", "admin", "regional-desk", "secretariat:KGZ")
            if Principal.parse("x", r).may_act] == ["operator", "admin"]


def test_only_the_centre_acknowledges_alerts_and_each_desk_is_its_own():
    assert [r for r in ("operator", "engineer", "admin", "regional-desk", "secretariat:KGZ")
            if Principal.parse("x", r).may_ack_alerts] == ["operator", "admin"]
    assert {Principal.parse("x", r).desk for r in ("operator", "engineer", "admin")} == {"centre"}
    assert Principal.parse("x", "secretariat:KGZ").desk == "secretariat:KGZ"
    assert Principal.parse("x", "regional-desk").desk == "regional-desk"


@pytest.mark.parametrize("caller,receiver,right", [
    ("secretariat:KGZ", "secretariat:KGZ", NOTICE_OWN),
    ("secretariat:KGZ", "secretariat:TJK", NOTICE_HIDDEN),
    ("secretariat:KGZ", "regional-desk", NOTICE_HIDDEN),
    ("secretariat:KGZ", "operator", NOTICE_HIDDEN),
    ("regional-desk", "regional-desk", NOTICE_OWN),
    ("regional-desk", "secretariat:KGZ", NOTICE_HIDDEN),
    ("operator", "operator", NOTICE_OWN),
    ("admin", "operator", NOTICE_OWN),  # the centre is one desk
    ("operator", "secretariat:KGZ", NOTICE_ON_BEHALF),
    ("admin", "regional-desk", NOTICE_ON_BEHALF),
    ("engineer", "operator", NOTICE_READ),
    ("engineer", "secretariat:KGZ", NOTICE_READ),
    ("operator", None, NOTICE_ON_BEHALF),  # a receiver the policy no longer has: the centre may still act
    ("secretariat:KGZ", None, NOTICE_HIDDEN),
])
def test_who_may_do_what_with_a_notice(caller, receiver, right):
    desk = Principal.parse("r", receiver) if receiver else None
    assert Principal.parse("c", caller).notice_right(desk) == right


def _alert(**kw):
    """A folded alert whose figures count a deadly clash released to TJK alone, 40 days before."""
    return {"alert_id": "al-1", "segment_id": "KGZ-TJK-07", "countries": ["KGZ", "TJK"], "level": "warning",
            "score": 0.9, "summary": "warning on KGZ-TJK-07: 30 deaths in 30 days (previous yearly high 25)",
            "releasable_to": ["ALL"], "figures_releasable_to": ["TJK"], "evidence": ["e2"],
            "explanation": {"detector": "fatality_high", "score": 0.9, "text": "30 deaths in 30 days (previous yearly "
                            "high 25)", "deviations": [{"feature": "fatalities_30d", "baseline": 2.1, "now": 30}],
                            "detector_view": [{"feature": "fatalities_30d_prior_max", "baseline": 25, "now": 30}],
                            "forecast": {"probability": 0.4, "text": "a 40% chance"},
                            "context": {"fatalities_30d_prior_max": 25, "days_since_fatal": 0},
                            "top_incidents": [{"event_id": "e2", "fatalities": 30}, {"event_id": "e1", "fatalities": 25}]},
            "opened_at": "2012-06-07T00:00:00Z", "peak_level": "critical", "peak_score": 0.95,
            "history_releasable_to": ["TJK"],
            "transitions": [{"transition": "opened", "level": "critical", "score": 0.95, "releasable_to": ["TJK"],
                             "at": "2012-06-07T00:00:00Z"},
                            {"transition": "de-escalated", "level": "warning", "score": 0.9, "releasable_to": ["ALL"],
                             "at": "2012-07-17T00:00:00Z"}],
            **kw}


def test_figures_withheld_from_a_desk_the_incidents_behind_them_are_not_released_to():
    alert = _alert()
    for role in ("secretariat:KGZ", "regional-desk"):
        p = Principal.parse("x", role)
        assert p.sees(alert)  # the alert itself is released to all: its level is not withheld
        shown = p.shown(alert)
        assert shown["figures_withheld"] is True and shown["level"] == "warning" and shown["score"] == 0.9
        assert shown["summary"] == ("warning on KGZ-TJK-07: figures withheld: the segment's past year includes "
                                    "incidents not released to you")
        # the detector and score stay; no figure, and no incident that is not the alert's evidence
        assert shown["explanation"] == {"detector": "fatality_high", "score": 0.9,
                                        "top_incidents": [{"event_id": "e2", "fatalities": 30}]}
        assert "25" not in str({k: v for k, v in shown.items() if k != "transitions"})
        # the opening, released to TJK alone, is not in its history, nor its date and peak: as the steps shown say
        assert [t["transition"] for t in shown["transitions"]] == ["de-escalated"]
        assert (shown["opened_at"], shown["peak_level"], shown["peak_score"]) == ("2012-07-17T00:00:00Z", "warning", 0.9)
        assert p.shown(shown) == shown  # showing it again changes nothing (a notice of a dispatch's payload)
    assert alert == _alert()  # a copy: the history's alert is untouched


@pytest.mark.parametrize("role", ["secretariat:TJK", "operator", "engineer", "admin"])
def test_figures_go_unchanged_to_whom_they_are_released(role):
    alert = _alert()
    assert Principal.parse("x", role).shown(alert) is alert


def test_an_event_whose_earlier_steps_were_withheld_is_dated_and_sized_as_of_itself():
    # an alert event (the live feed's) has no steps: its history_releasable_to says they were not all released
    event = {k: v for k, v in _alert(figures_releasable_to=["ALL"], at="2012-07-17T00:00:00Z").items()
             if k != "transitions"}
    shown = Principal.parse("x", "secretariat:KGZ").shown(event)
    assert "figures_withheld" not in shown and shown["summary"] == event["summary"]
    assert (shown["opened_at"], shown["peak_level"], shown["peak_score"]) == ("2012-07-17T00:00:00Z", "warning", 0.9)
    assert Principal.parse("x", "secretariat:TJK").shown(event) is event  # every step was released to TJK


def test_figures_of_an_alert_written_before_they_had_a_release_go_to_the_centre_alone():
    old = {k: v for k, v in _alert(figures_releasable_to=None).items() if k != "transitions"}
    del old["figures_releasable_to"]
    assert Principal.parse("x", "secretariat:TJK").shown(old)["figures_withheld"] is True
    assert Principal.parse("x", "operator").shown(old) is old
    arms = dict(old, kind="arms-race")  # SIPRI's public register: released to all
    assert Principal.parse("x", "secretariat:TJK").shown(arms) is arms
