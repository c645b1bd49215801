"""The pure pipeline: no Kafka, no clock. Drivers are tested elsewhere; this is the logic they share."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from alerts.history import AlertHistory
from detectors import features as F
from streams.backtest import run_records
from streams.pipeline import Pipeline
from streams.segment_state import STATE_VERSION, SegmentState
from streams.records import decode_incident
from streams.segments import SegmentRegistry
from streams.topics import KIND_INCIDENTS, KIND_TRANSFERS, Envelope, pack
from streams.windows import day_of, days_by_column

T0 = datetime(2012, 7, 17, tzinfo=timezone.utc)


def incident(n, when=T0, countries=("KGZ", "UZB"), fatalities=0, category="armed_clash", severity=4, **kw):
    d = {"event_id": f"ev-{n}", "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "reported_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "source": "test", "category": category,
         "severity": severity, "fatalities": fatalities, "injuries": 0, "countries": list(countries), **kw}
    return json.dumps(d).encode()


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(SegmentRegistry.default())


def feed(pipeline, raws, states=None):
    """Route and apply raw incidents in order; return (alerts, dead letters, states)."""
    states = {} if states is None else states
    alerts, dead = [], []
    for raw in raws:
        envs, dl = pipeline.route(KIND_INCIDENTS, raw)
        if dl:
            dead.append(dl)
        for env in envs:
            st = states.setdefault(env.key, pipeline.new_state(env.key))
            applied = pipeline.apply(st, env)
            alerts.extend(applied.alerts)
            dead.extend(applied.late)
    return alerts, dead, states


def test_deadly_clash_opens_an_alert_on_the_event_itself(pipeline):
    alerts, dead, states = feed(pipeline, [incident(1, fatalities=2)])
    assert not dead
    [a] = alerts
    assert (a.transition, a.segment_id, a.border, a.level) == ("opened", "KGZ-UZB", "KGZ-UZB", "warning")
    assert a.at == "2012-07-17T00:00:00Z" and a.evidence == ("ev-1",)
    assert "deaths in 30 days" in a.summary
    # the id is a function of segment and opening time only
    again, _, _ = feed(pipeline, [incident(1, fatalities=2)])
    assert again[0].alert_id == a.alert_id


def test_duplicate_event_ids_are_dropped(pipeline):
    deadly = incident(1, fatalities=1)
    alerts, _, states = feed(pipeline, [deadly, deadly, deadly])
    st = states["KGZ-UZB"]
    assert st.days[day_of(T0)][0] == 1
    assert len([a for a in alerts if a.transition == "opened"]) == 1


def test_alert_resolves_when_the_30_day_window_passes():
    from detectors.rules import FatalityHighRule

    pipeline = Pipeline(SegmentRegistry.default(), FatalityHighRule())
    alerts, _, states = feed(pipeline, [incident(1, fatalities=2)])
    st = states["KGZ-UZB"]
    later = pipeline.advance(st, day_of(T0) + 29)
    assert later == []  # still at the yearly high for 30 days
    [resolved] = pipeline.advance(st, day_of(T0) + 400)
    assert resolved.transition == "resolved"
    assert resolved.resolved_at == (T0 + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert st.level == 0 and st.alert is None


class Constant:
    """A detector that always says the same (a segment that stays tense)."""

    name = "constant"

    def __init__(self, score):
        self.score = score

    def learn_one(self, f):
        pass

    def score_one(self, f):
        return self.score

    def explain(self, f):
        return "constant"


def test_an_alert_open_for_weeks_without_deaths_expires_and_the_next_incident_opens_a_new_one():
    from alerts.escalation import EscalationPolicy

    policy = EscalationPolicy()
    p = Pipeline(SegmentRegistry.default(), Constant(0.6), policy=policy)
    first, _, states = feed(p, [incident(1, category="incursion", severity=3)])
    assert [a.transition for a in first] == ["opened"]
    st = states["KGZ-UZB"]
    assert p.advance(st, day_of(T0) + policy.expire_after_days - 1) == []
    [expired] = p.advance(st, day_of(T0) + 400)
    assert expired.transition == "resolved" and "warning window has passed" in expired.summary
    assert expired.resolved_at == (T0 + timedelta(days=policy.expire_after_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = T0 + timedelta(days=90)
    second, _, _ = feed(p, [incident(2, later, category="incursion", severity=3)], states)
    assert [a.transition for a in second] == ["opened"] and second[0].alert_id != first[0].alert_id


def test_deaths_keep_an_alert_open_past_the_expiry():
    from alerts.escalation import EscalationPolicy

    policy = EscalationPolicy()
    p = Pipeline(SegmentRegistry.default(), Constant(0.6), policy=policy)
    raws = [incident(n, T0 + timedelta(days=20 * n), fatalities=1) for n in range(4)]  # a death every 20 days
    alerts, _, _ = feed(p, raws)
    assert [a.transition for a in alerts] == ["opened"]  # 60 days on, still the same alert


class ConstantSurge(Constant):
    """A surge view that stays at the same score (a busy border's surge that outlives its alert)."""

    name = "surge"
    surge = True


def test_a_surge_that_outlives_its_expired_alert_reopens_only_after_the_quiet_period_but_a_death_at_once():
    from alerts.escalation import EscalationPolicy
    from detectors.rules import FatalityHighRule, MaxOf

    def expired_surge(policy):
        p = Pipeline(SegmentRegistry.default(), MaxOf((ConstantSurge(0.6), FatalityHighRule()), name="stack"),
                     policy=policy)
        first, _, states = feed(p, [incident(1, category="incursion", severity=3)])
        assert [a.transition for a in first] == ["opened"]
        [expired] = p.advance(states["KGZ-UZB"], day_of(T0) + 45)
        assert expired.transition == "resolved"
        return p, states

    policy = EscalationPolicy(expire_after_days=45, surge_quiet_days=30)
    within, after = T0 + timedelta(days=45 + 29), T0 + timedelta(days=45 + 30)
    p, states = expired_surge(policy)
    assert feed(p, [incident(2, within, category="incursion", severity=3)], states)[0] == []  # the same surge
    deadly, _, _ = feed(p, [incident(3, within + timedelta(hours=1), fatalities=1)], states)
    assert [(a.transition, a.level) for a in deadly][:1] == [("opened", "warning")]  # deaths open at once
    p, states = expired_surge(policy)
    reopened, _, _ = feed(p, [incident(2, after, category="incursion", severity=3)], states)
    assert [a.transition for a in reopened] == ["opened"]  # once the quiet period is over
    p, states = expired_surge(dataclasses.replace(policy, surge_quiet_days=0))
    assert feed(p, [incident(2, within, category="incursion", severity=3)], states)[0]  # no quiet period: at once


def test_a_deadly_clash_raises_a_watch_the_same_day_however_violent_the_border_was(pipeline):
    """A war with hundreds dead, then five quiet months, then a clash with three dead: a new alert."""
    war = [incident(f"w{n}", T0 + timedelta(days=n), fatalities=40, severity=5) for n in range(20)]
    clash_day = T0 + timedelta(days=20 + 150)
    alerts, _, states = feed(pipeline, war + [incident("c", clash_day, fatalities=3)])
    openings = [a for a in alerts if a.transition == "opened"]
    assert openings[-1].at == clash_day.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert openings[-1].level in ("watch", "warning", "critical") and len(openings) >= 2


def test_when_advance_is_called_does_not_change_what_it_finds(pipeline):
    _, _, a = feed(pipeline, [incident(1, fatalities=2)])
    _, _, b = feed(pipeline, [incident(1, fatalities=2)])
    stepwise = []
    for d in range(day_of(T0), day_of(T0) + 60, 3):
        stepwise += pipeline.advance(a["KGZ-UZB"], d)
    at_once = pipeline.advance(b["KGZ-UZB"], day_of(T0) + 60)
    assert [x.to_dict() for x in stepwise] == [x.to_dict() for x in at_once]


def test_late_events_beyond_grace_are_dead_lettered_and_within_grace_counted(pipeline):
    raws = [incident(1), incident(2, T0 - timedelta(days=10)), incident(3, T0 - timedelta(days=40))]
    _, dead, states = feed(pipeline, raws)
    assert [d.code for d in dead] == ["late"]
    assert json.loads(dead[0].original)["event_id"] == "ev-3"
    assert sum(v[0] for v in states["KGZ-UZB"].days.values()) == 2


def test_invalid_input_becomes_a_dead_letter_with_reason_and_bytes(pipeline):
    envs, dl = pipeline.route(KIND_INCIDENTS, b'{"event_id": 5}')
    assert envs == [] and dl.code in ("bad_type", "missing_field") and dl.original == b'{"event_id": 5}'
    envs, dl = pipeline.route(KIND_INCIDENTS, b"\x00garbage")
    assert dl.code == "not_json"


def test_state_round_trip_mid_stream_changes_nothing(pipeline):
    rng = random.Random(7)
    raws = [incident(i, T0 + timedelta(days=rng.randint(0, 90)), fatalities=rng.choice([0, 0, 0, 1, 3]))
            for i in range(60)]
    raws.sort(key=lambda r: json.loads(r)["occurred_at"])
    whole, _, _ = feed(pipeline, raws)
    first, _, states = feed(pipeline, raws[:30])
    restored = {k: SegmentState.decode(s.encode(), k) for k, s in states.items()}
    rest, _, _ = feed(pipeline, raws[30:], restored)
    assert [a.to_dict() for a in first + rest] == [a.to_dict() for a in whole]


def test_interleaving_of_different_segments_does_not_change_their_alerts(pipeline):
    rng = random.Random(3)
    a = [incident(f"a{i}", T0 + timedelta(days=3 * i), ("KGZ", "UZB"), fatalities=i % 3) for i in range(20)]
    b = [incident(f"b{i}", T0 + timedelta(days=2 * i), ("KGZ", "TJK"), fatalities=i % 2) for i in range(20)]
    merged = []
    ia = ib = 0
    while ia < len(a) or ib < len(b):
        if ib == len(b) or (ia < len(a) and rng.random() < 0.5):
            merged.append(a[ia]); ia += 1
        else:
            merged.append(b[ib]); ib += 1
    together, _, _ = feed(pipeline, merged)
    apart = feed(pipeline, a)[0] + feed(pipeline, b)[0]
    assert sorted((x.to_dict() for x in together), key=lambda d: (d["segment_id"], d["seq"])) == \
        sorted((x.to_dict() for x in apart), key=lambda d: (d["segment_id"], d["seq"]))


def test_geolocated_incident_goes_to_a_cut_segment(pipeline):
    raw = incident(1, countries=("KGZ", "TJK"), fatalities=1, latitude=40.05229068, longitude=70.63277194)
    envs, _ = pipeline.route(KIND_INCIDENTS, raw)
    assert envs[0].key.startswith("KGZ-TJK-")
    assert envs[0].records[0]["segment_id"] == envs[0].key


def test_alert_is_releasable_only_where_every_contributing_incident_is(pipeline):
    raws = [incident(1, fatalities=1, classification="restricted", releasable_to=["KGZ", "UZB"]),
            incident(2, T0 + timedelta(hours=1), fatalities=5, classification="public", releasable_to=["UZB", "KAZ"])]
    alerts, _, _ = feed(pipeline, raws)
    assert [a.transition for a in alerts] == ["opened", "escalated"]
    assert alerts[0].releasable_to == ("KGZ", "UZB")
    assert alerts[-1].releasable_to == ("UZB",)
    assert alerts[-1].classification == "restricted"


def test_on_a_busy_segment_an_incident_older_than_the_recent_ones_kept_still_restricts_the_alert(pipeline):
    # five detentions released to UZB alone (one marked confidential), then twenty-five public incursions
    # in the same 30 days: the state keeps the last 20 (recent_max) and the 5 strongest of the rest as
    # evidence, none of them restricted, and a deadly clash opens an alert
    assert pipeline.settings.recent_max == 20
    raws = [incident(n, T0 - timedelta(days=20, hours=-n), category="detention", severity=1, releasable_to=["UZB"],
                     classification="confidential" if n == 0 else "restricted") for n in range(5)]
    raws += [incident(n, T0 - timedelta(days=10, hours=-n), category="incursion", severity=2) for n in range(5, 30)]
    alerts, _, states = feed(pipeline, [*raws, incident(30, T0, fatalities=3)])
    opened = [a for a in alerts if a.at >= "2012-07-17"]
    [state] = [st for key, st in states.items() if key == opened[0].segment_id]
    assert all(r["releasable_to"] == ["ALL"] for r in state.recent) and len(state.recent) == 25  # 5 as evidence
    assert opened and all(a.releasable_to == ("UZB",) and a.classification == "confidential" for a in opened)
    # a month on, the restricted ones have left the window: the next alert is released to all, public
    later, _, _ = feed(pipeline, [incident(31, T0 + timedelta(days=25), fatalities=2)], states)
    assert later and later[-1].releasable_to == ("ALL",) and later[-1].classification == "public"
    assert state.classified == {} and SegmentState.decode(state.encode(), state.key) == state


def test_on_a_busy_segment_the_strongest_incidents_of_the_window_stay_the_alerts_evidence(pipeline):
    # shelling (severity 5), then thirty calm incidents in the same 30 days (more than the 20 newest
    # the state keeps), then a clash with one death: its alert's evidence is the clash, then the shelling
    raws = [incident(0, T0 - timedelta(days=20), category="shelling", severity=5)]
    raws += [incident(n, T0 - timedelta(days=15, hours=-n), category="incursion", severity=2) for n in range(1, 31)]
    alerts, _, states = feed(pipeline, [*raws, incident(31, T0, fatalities=1)])
    last = alerts[-1]
    assert (last.at, last.transition) == ("2012-07-17T00:00:00Z", "opened") and last.evidence[:2] == ("ev-31", "ev-0")
    state = states[last.segment_id]
    assert len(state.recent) <= pipeline.settings.recent_max + pipeline.settings.evidence_max
    # once out of the window they are let go: 40 days on, the newest 20 and the strongest 5 of the rest
    # in the window (the earliest of equals)
    feed(pipeline, [incident(32 + n, T0 + timedelta(days=40, hours=n), category="incursion", severity=2)
                    for n in range(30)], states)
    assert [r["event_id"] for r in state.recent] == [f"ev-{n}" for n in (*range(32, 37), *range(42, 62))]


def test_an_alerts_figures_are_released_only_where_every_incident_they_count_is(pipeline):
    # a deadly clash released to TJK alone 40 days before: out of the alert's 30-day window (the
    # alert is released to all), but in its figures (the yearly high its deaths are set against)
    raws = [incident(1, T0 - timedelta(days=40), ("KGZ", "TJK"), fatalities=25, releasable_to=["TJK"]),
            incident(2, T0, ("KGZ", "TJK"), fatalities=20), incident(3, T0 + timedelta(hours=2), ("KGZ", "TJK"),
                                                                      fatalities=10)]
    alerts, _, _ = feed(pipeline, raws)
    later = [a for a in alerts if a.at >= "2012-07-17"]
    assert later and all(a.releasable_to == ("ALL",) for a in later)
    assert all(a.figures_releasable_to == ("TJK",) for a in later)
    assert all(a.figures_releasable_to == ("ALL",) for a in feed(pipeline, raws[1:])[0])


def test_arms_transfers_fan_out_to_the_recipients_borders(pipeline):
    tr = {"transfer_id": "s-1", "supplier": "Turkiye", "recipient": "KGZ", "order_year": 2021,
          "delivery_years": [2022], "quantity": 3, "weapon_category": "UAV", "designation": "TB-2", "tiv": 12.5,
          "status": "", "source": "SIPRI", "occurred_at": "2022-07-01T00:00:00Z"}
    envs, dl = pipeline.route(KIND_TRANSFERS, json.dumps(tr).encode())
    assert dl is None
    reg = SegmentRegistry.default()
    assert {e.key for e in envs if e.kind == "transfer"} == set(reg.pairs_with("KGZ"))
    assert "KGZ-TJK" in {e.key for e in envs}
    # ... and to every cut segment of those borders, as a segment feature
    assert {e.key for e in envs if e.kind == "pressure"} == {
        s.segment_id for s in reg.segments() if s.border in reg.pairs_with("KGZ")}
    st = pipeline.new_state("KGZ-TJK")
    pipeline.apply(st, envs[0])
    pipeline.apply(st, envs[0])  # duplicate
    assert st.pressure_tiv(5) == 12.5


def test_backtest_driver_equals_feeding_envelopes_by_hand(pipeline):
    raws = [incident(i, T0 + timedelta(days=i * 5), fatalities=i % 2) for i in range(12)]
    by_hand, _, states = feed(pipeline, raws)
    for st in states.values():
        by_hand += pipeline.advance(st, 10**7)
    res = run_records(pipeline, [decode_incident(r) for r in raws])
    assert [a.to_dict() for a in res.events] == [a.to_dict() for a in by_hand]
    rows = res.history.rows()
    assert rows and all(r["resolved_at"] for r in rows)


def test_history_drops_redelivered_transitions(pipeline):
    alerts, _, _ = feed(pipeline, [incident(1, fatalities=2)])
    h = AlertHistory().extend(alerts + alerts)
    assert len(h.all()) == 1 and len(h.all()[0]["transitions"]) == 1


def test_envelope_round_trip():
    env = Envelope("incident", "KGZ-UZB", [{"a": 1}], ingested_at=1.5)
    assert Envelope.decode(env.encode()) == env


def test_packed_envelopes_give_the_same_alerts_as_one_by_one(pipeline):
    rng = random.Random(9)
    raws = [incident(i, T0 + timedelta(days=i), ("KGZ", rng.choice(["UZB", "TJK"])), fatalities=i % 4)
            for i in range(40)]
    one_by_one, _, _ = feed(pipeline, raws)
    envs = [e for raw in raws for e in pipeline.route(KIND_INCIDENTS, raw)[0]]
    packed = pack(envs)
    assert len(packed) == 2 and sum(len(e.records) for e in packed) == 40
    states, alerts = {}, []
    for env in packed:
        st = states.setdefault(env.key, pipeline.new_state(env.key))
        alerts += pipeline.apply(st, Envelope.decode(env.encode())).alerts
    key = lambda a: (a["segment_id"], a["seq"])
    assert sorted((a.to_dict() for a in alerts), key=key) == sorted((a.to_dict() for a in one_by_one), key=key)


def naive_features(days: dict[int, list[int]], day: int, counted: list[tuple[int, int]] = (),
                   internal: list[int] = ()) -> dict[str, float]:
    """Reference model: the rolling views summed straight from the definition.

    Bucket columns: incidents, fatalities, injuries, severity, violent, intrusion, spill-over, force,
    deadly. ``counted``: (day, incident class) of every incident counted so far, for the decayed counts;
    ``internal``: the day of every protest (uncounted) taken so far.
    """
    def total(i, lo, hi):
        return sum(v[i] for d, v in days.items() if lo <= d <= hi)

    def f30(end):
        return total(1, end - 29, end)

    def views(name, i, windows=(7, 30, 365)):
        return {f"{name}_{w}d": total(i, day - w + 1, day) for w in windows}

    fatal = [d for d, v in days.items() if v[1] and d <= day]
    c7, c365 = total(0, day - 6, day), total(0, day - 364, day)
    return {"count_1d": total(0, day, day), **views("count", 0), "weekly_mean_prior": (c365 - c7) / (358 / 7),
            "violent_1d": total(4, day, day), **views("violent", 4), **views("intrusion", 5),
            **views("fatalities", 1), "fatalities_30d_prior_max": max(f30(e) for e in range(day - 365, day)),
            "injuries_30d": total(2, day - 29, day), **views("severity_index", 3), **views("spill", 6),
            **views("force", 7), **views("deadly", 8),
            "display_30d": total(0, day - 29, day) - total(7, day - 29, day) - total(8, day - 29, day),
            "days_since_fatal": day - max(fatal) if fatal else F.NEVER, "pressure_tiv_5y": 0.0,
            "days_on_record": max(day - min(d for d, _ in counted), 0) if counted else 0,
            "internal_7d": sum(1 for d in internal if day - 7 < d <= day),
            **{F.decayed_name(c, h): sum(2 ** (-(day - d) / h) for d, k in counted if F.CLASSES[k] == c and d <= day)
               for c in F.CLASSES for h in F.HALF_LIVES}}


def test_incremental_features_match_the_definition(pipeline):
    rng = random.Random(5)
    raws = [incident(i, T0 + timedelta(days=rng.randint(0, 500), hours=rng.randint(0, 23)),
                     fatalities=rng.choice([0, 0, 0, 1, 2, 7]), severity=rng.choice([2, 3, 4, 5]),
                     category=rng.choice(["armed_clash", "detention", "protest", "incursion"])) for i in range(300)]
    raws.sort(key=lambda r: json.loads(r)["occurred_at"])
    # shuffle a little within the grace period so late-but-accepted incidents hit the cache
    for i in range(0, len(raws) - 3, 7):
        raws[i], raws[i + 2] = raws[i + 2], raws[i]
    st = pipeline.new_state("KGZ-UZB")
    counted, internal = [], []
    for k, raw in enumerate(raws):
        env = pipeline.route(KIND_INCIDENTS, raw)[0][0]
        applied = pipeline.apply(st, env)
        rec = env.records[0]
        if applied.incidents:
            counted.append((day_of(decode_incident(raw).occurred_at), F.incident_class(rec["severity"], rec["fatalities"])))
        elif rec["category"] == "protest" and not applied.late and not applied.duplicates:
            internal.append(day_of(decode_incident(raw).occurred_at))
        if k % 10 == 0:
            for day in (st.max_day, st.max_day + 3, st.max_day + 40):
                assert pipeline.features(st, day) == pytest.approx(naive_features(st.days, day, counted, internal)), \
                    (k, day)


def test_spill_over_reaches_adjacent_segments_and_the_whole_border(pipeline):
    raw = incident(1, countries=("KGZ", "TJK"), latitude=40.05229068, longitude=70.63277194)
    envs, _ = pipeline.route(KIND_INCIDENTS, raw)
    own = envs[0].key
    ids = sorted(s.segment_id for s in SegmentRegistry.default().segments() if s.border == "KGZ-TJK")
    i = ids.index(own)
    assert {e.key for e in envs if e.kind == "spill"} == {"KGZ-TJK", *ids[max(i - 1, 0):i], *ids[i + 1:i + 2]}
    states = {}
    for env in envs:
        st = states.setdefault(env.key, pipeline.new_state(env.key))
        pipeline.apply(st, env)
        if env.kind == "spill":
            pipeline.apply(st, env)  # a duplicate copy counts once
    feats = pipeline.features(states["KGZ-TJK"], day_of(T0))
    assert (feats["spill_7d"], feats["count_7d"]) == (1, 0)
    # a whole-border incident has no place on the line: no spill-over
    assert [e.kind for e in pipeline.route(KIND_INCIDENTS, incident(2, countries=("KGZ", "TJK")))[0]] == ["incident"]


def test_a_learning_detector_learns_each_day_once_after_the_grace_period():
    from detectors.registry import make_detector

    p = Pipeline(SegmentRegistry.default(), make_detector("change"))
    raws = [incident(i, T0 + timedelta(days=3 * i), category="detention", severity=2) for i in range(30)]
    _, _, states = feed(p, raws)
    st = states["KGZ-UZB"]
    assert st.learned_day == st.max_day - p.settings.grace_days - 1
    cusum = st.detector.members[0].inner  # the guarded CUSUM of the stack
    assert cusum.days == st.learned_day - day_of(T0) + 1


@pytest.mark.parametrize("name", ["change", "ensemble"])
def test_learning_detectors_survive_a_state_round_trip_mid_stream(name):
    from detectors.registry import make_detector

    p = Pipeline(SegmentRegistry.default(), make_detector(name))
    rng = random.Random(11)
    raws = [incident(i, T0 + timedelta(days=rng.randint(0, 200)), fatalities=rng.choice([0] * 6 + [1]),
                     category=rng.choice(["armed_clash", "detention", "threat"])) for i in range(80)]
    raws.sort(key=lambda r: json.loads(r)["occurred_at"])
    whole, _, _ = feed(p, raws)
    first, _, states = feed(p, raws[:40])
    restored = {k: SegmentState.decode(s.encode(), k) for k, s in states.items()}
    rest, _, _ = feed(p, raws[40:], restored)
    assert whole and [a.to_dict() for a in first + rest] == [a.to_dict() for a in whole]


def test_state_of_an_older_version_is_rebuilt_not_misread():
    import zlib

    old = json.dumps({"key": "KGZ-UZB", "version": 1, "days": {"15000": [1, 0, 0, 3]}}).encode()
    assert SegmentState.decode(old, "KGZ-UZB") == SegmentState("KGZ-UZB")
    # the layout before the compact encoding (plain JSON, version 4), and one deflated but older
    v4 = json.dumps({"key": "KGZ-UZB", "version": 4, "days": {"15000": [1, 0, 0, 3, 0, 0, 0, 0, 0]}}).encode()
    assert SegmentState.decode(v4, "KGZ-UZB") == SegmentState("KGZ-UZB")
    assert SegmentState.decode(zlib.compress(v4), "KGZ-UZB") == SegmentState("KGZ-UZB")


def test_state_of_version_5_is_read_on_with_its_oldest_known_day_as_the_first(pipeline):
    import zlib

    import orjson

    raws = [incident(n, T0 + timedelta(days=40 * n), fatalities=int(n == 1)) for n in range(4)]
    _, _, states = feed(pipeline, raws)
    st = states["KGZ-UZB"]
    assert st.first_day == day_of(T0)
    stored = orjson.loads(zlib.decompress(st.encode()))
    del stored["first_day"]
    stored["version"] = 5
    older = SegmentState.decode(zlib.compress(orjson.dumps(stored)), "KGZ-UZB")
    assert older == st  # the oldest bucket is the first incident's day
    # with the first buckets pruned, the last death (kept beyond the retention) is the oldest known
    stored["days"] = days_by_column({d: v for d, v in st.days.items() if d > day_of(T0) + 40})
    pruned = SegmentState.decode(zlib.compress(orjson.dumps(stored)), "KGZ-UZB")
    assert pruned.version == STATE_VERSION and pruned.first_day == st.last_fatal_day == day_of(T0) + 40


def test_restricted_incidents_are_recorded_within_the_views_reach_and_round_trip(pipeline):
    day = day_of(T0)
    raws = [incident(1, T0 - timedelta(days=500), releasable_to=["UZB"]),
            incident(2, T0 - timedelta(days=40), fatalities=3, releasable_to=["UZB", "KGZ"]),
            incident(3, T0 - timedelta(days=39), releasable_to=["KGZ", "UZB"]),
            incident(4, T0, releasable_to=["ALL"]), incident(5, T0, category="protest", releasable_to=["UZB"])]
    _, _, states = feed(pipeline, raws)
    st = states["KGZ-UZB"]
    # one entry per distinct set, its newest day; the one 500 days back is past the reach; protests count nowhere
    assert st.restricted == {"KGZ,UZB": day - 39}
    assert st.restricted_within_reach(day) == [["KGZ", "UZB"]]
    # past the reach only the last deaths' release is left (fatal_restricted: incident 2)
    assert st.fatal_restricted == {"KGZ,UZB": day - 40}
    assert st.restricted_within_reach(day - 39 + F.VIEW_REACH + 1) == [["KGZ", "UZB"]]
    assert SegmentState.decode(st.encode(), "KGZ-UZB") == st


def test_a_neighbours_restricted_incident_is_recorded_as_spill_over(pipeline):
    raw = incident(1, countries=("KGZ", "TJK"), latitude=40.05229068, longitude=70.63277194, releasable_to=["TJK"])
    _, _, states = feed(pipeline, [raw])
    # its own segment counts it; the segments beside it and the whole border's key as spill-over
    assert len(states) > 2 and "KGZ-TJK" in states
    assert all(st.restricted == {"TJK": day_of(T0)} for st in states.values())


@pytest.mark.parametrize("complete", [True, False])
def test_state_of_version_6_never_reads_as_nothing_restricted(pipeline, complete):
    import zlib

    import orjson

    raws = [incident(n, T0 + timedelta(days=10 * n), releasable_to=["KGZ"] if n == 2 else ["ALL"]) for n in range(5)]
    _, _, states = feed(pipeline, raws)
    st = states["KGZ-UZB"]
    stored = orjson.loads(zlib.decompress(st.encode()))
    del stored["restricted"]
    stored["version"] = 6
    if not complete:  # the recent incidents no longer hold every one the buckets count
        stored["recent"] = stored["recent"][1:]
    older = SegmentState.decode(zlib.compress(orjson.dumps(stored)), "KGZ-UZB")
    assert older.version == STATE_VERSION
    if complete:  # the recent incidents are the whole record: read exactly
        assert older == st and older.restricted == {"KGZ": day_of(T0) + 20}
    else:  # otherwise the reach is the centre's alone until it passes
        assert older.restricted == {"": st.max_day}
        assert older.restricted_within_reach(st.max_day) == [[]]


def test_an_alert_carries_its_explanation(pipeline):
    raws = [incident(1, T0 - timedelta(days=200), category="detention", severity=2),
            incident(2, fatalities=3, description="clash at the water point"),
            incident(3, T0 + timedelta(hours=2), category="shelling")]
    alerts, _, _ = feed(pipeline, raws)
    opened = next(a for a in alerts if a.transition == "opened" and a.at == T0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    ex = opened.explanation
    assert ex["detector"] == pipeline.detector.name and ex["text"] in opened.summary
    by_name = {d["feature"]: d for d in ex["deviations"]}
    assert by_name["fatalities_30d"]["now"] > by_name["fatalities_30d"]["baseline"]
    assert ex["top_incidents"][0]["event_id"] == "ev-2"  # the deadly one weighs most
    assert json.loads(opened.encode())["explanation"] == ex


def test_alert_records_written_before_explanations_still_decode(pipeline):
    from alerts.model import AlertEvent

    alerts, _, _ = feed(pipeline, [incident(1, fatalities=2)])
    d = alerts[0].to_dict()
    del d["explanation"]
    assert AlertEvent.from_dict(d).explanation is None


def test_after_an_alert_resolves_a_new_watch_waits_but_a_warning_does_not():
    from alerts.escalation import EscalationPolicy
    from detectors.registry import make_detector

    p = Pipeline(SegmentRegistry.default(), make_detector("violent_tail"), policy=EscalationPolicy(suppress_days=30))
    first, _, states = feed(p, [incident(1, category="armed_clash")])
    assert [a.level for a in first] == ["watch"]
    st = states["KGZ-UZB"]
    p.advance(st, day_of(T0) + 8)  # the week passes, the watch resolves
    assert st.level == 0 and st.resolved_day is not None
    soon = T0 + timedelta(days=10)
    again, _, _ = feed(p, [incident(2, soon, category="armed_clash")], states)
    assert again == []  # a second lone clash within the quiet period: suppressed
    burst, _, _ = feed(p, [incident(n, soon + timedelta(hours=n), category="shelling") for n in range(3, 6)], states)
    assert burst and burst[0].level in ("warning", "critical")


def test_a_protest_wave_is_recorded_but_raises_no_border_alert(pipeline):
    # Internal unrest is not an interstate escalation: the same wave as clashes does alert.
    wave = [incident(f"p{i}", T0 + timedelta(hours=6 * i), category="protest", severity=4) for i in range(20)]
    alerts, dead, states = feed(pipeline, wave)
    assert not alerts and not dead
    st = states["KGZ-UZB"]
    assert [r["category"] for r in st.recent][-1] == "protest"  # kept among the recent incidents
    again, _, _ = feed(pipeline, wave[:1], states)
    assert not again  # and remembered: a repeat is a duplicate
    clashes = [incident(f"c{i}", T0 + timedelta(hours=6 * i), severity=4) for i in range(20)]
    assert feed(pipeline, clashes)[0], "the same wave of clashes must alert"


def test_state_learned_by_another_detector_is_rebuilt_not_misread():
    from detectors.registry import make_detector

    raws = [incident(n, T0 + timedelta(days=3 * n), category="detention", severity=3) for n in range(30)]
    first = Pipeline(SegmentRegistry.default(), make_detector("change"))
    _, _, states = feed(first, raws)
    st = states["KGZ-UZB"]
    assert st.detector_id == first.segment_detectors.id and "members" in st.model  # the stack's members' state
    restored = SegmentState.decode(st.encode(), "KGZ-UZB")  # as after a restart with --detector cusum
    second = Pipeline(SegmentRegistry.default(), make_detector("cusum"))
    feed(second, [incident(99, T0 + timedelta(days=100), category="detention", severity=3)], {"KGZ-UZB": restored})
    assert restored.detector_id == second.segment_detectors.id and restored.model != st.model
    # rebuilt from the buckets: what a fresh run of the second detector learns over the same incidents
    _, _, fresh = feed(second, raws + [incident(99, T0 + timedelta(days=100), category="detention", severity=3)])
    assert restored.model == fresh["KGZ-UZB"].model


def test_input_read_again_after_a_restart_is_already_applied_never_late(pipeline):
    """Live envelopes carry their input position; a key skips positions it applied already."""
    raws = [incident(n, T0 + timedelta(days=20 * n), category="incursion", severity=3) for n in range(6)]
    st = pipeline.new_state("KGZ-UZB")
    first = []
    for offset, raw in enumerate(raws):
        [env] = [e for e in pipeline.route(KIND_INCIDENTS, raw, position=(3, 100 + offset))[0] if e.kind == "incident"]
        first.append(pipeline.apply(st, Envelope.decode(env.encode())))
    assert sum(a.incidents for a in first) == 6
    # the worker dies after the state was written; the input is read again from offset 102
    again = [pipeline.apply(st, pipeline.route(KIND_INCIDENTS, raws[k], position=(3, 100 + k))[0][0])
             for k in range(2, 6)]
    assert [(a.reread, a.incidents, a.late, a.alerts) for a in again] == [(1, 0, [], [])] * 4
    # the same records produced again (new offsets) are input: duplicates by id or late, as before
    repeat = pipeline.apply(st, pipeline.route(KIND_INCIDENTS, raws[0], position=(3, 200))[0][0])
    assert repeat.reread == 0 and repeat.duplicates == 1
    # another input partition is tracked on its own; packed envelopes keep each record's position
    a, b = (pipeline.route(KIND_INCIDENTS, incident(f"p{i}", T0 + timedelta(days=200), severity=3),
                           position=(5, 7 + i))[0][0] for i in range(2))
    [both] = pack([a, b])
    assert both.positions == [[5, 7], [5, 8]] and pipeline.apply(st, both).incidents == 2
    assert st.inputs == {"incidents/3": 200, "incidents/5": 8}


def test_packing_keeps_a_keys_incidents_and_spill_over_in_input_order(pipeline):
    """A whole-border key takes its own incidents and its segments' spill-over from one input
    partition: packed per batch, they must reach it in offset order, or incidents are skipped as
    read before (seen live as transitions that differed between runs)."""
    located = dict(countries=("KGZ", "TJK"), latitude=40.05229068, longitude=70.63277194, severity=3)
    raws = [incident(1, T0, **located), incident(2, T0 + timedelta(hours=1), countries=("KGZ", "TJK"), severity=3),
            incident(3, T0 + timedelta(hours=2), **located), incident(4, T0 + timedelta(hours=3),
                                                                        countries=("KGZ", "TJK"), severity=3)]
    routed = [env for k, raw in enumerate(raws) for env in pipeline.route(KIND_INCIDENTS, raw, position=(3, 10 + k))[0]]
    assert {e.kind for e in routed if e.key == "KGZ-TJK"} == {"incident", "spill"}
    one_by_one, packed = {}, {}
    for states, envs in ((one_by_one, routed), (packed, pack(routed))):
        for env in envs:
            st = states.setdefault(env.key, pipeline.new_state(env.key))
            assert pipeline.apply(st, Envelope.decode(env.encode())).reread == 0
    assert {k: s.encode() for k, s in packed.items()} == {k: s.encode() for k, s in one_by_one.items()}
    assert [r["event_id"] for r in packed["KGZ-TJK"].recent] == ["ev-2", "ev-4"]


def test_state_learned_under_other_parameters_is_rebuilt_not_reused():
    """The same detector name with another parameter is another detector: its learned state is rebuilt."""
    from detectors.change import PoissonCusum

    raws = [incident(n, T0 + timedelta(days=3 * n), category="detention", severity=3) for n in range(30)]
    first = Pipeline(SegmentRegistry.default(), PoissonCusum())
    _, _, states = feed(first, raws)
    restored = SegmentState.decode(states["KGZ-UZB"].encode(), "KGZ-UZB")
    other = Pipeline(SegmentRegistry.default(), PoissonCusum(discount=0.99))
    assert other.segment_detectors.id != first.segment_detectors.id and other.segment_detectors.id.startswith("cusum[")
    late = incident(99, T0 + timedelta(days=100), category="detention", severity=3)
    feed(other, [late], {"KGZ-UZB": restored})
    _, _, fresh = feed(other, raws + [late])
    assert restored.detector_id == other.segment_detectors.id
    assert restored.model == fresh["KGZ-UZB"].model != states["KGZ-UZB"].model


def test_the_features_the_pipeline_builds_are_the_declared_vocabulary(pipeline):
    """Every feature a detector reads is named once, in detectors.features; the pipeline builds exactly those."""
    from detectors import features as F

    raws = [incident(n, T0 + timedelta(days=n), category="armed_clash", severity=4, fatalities=n % 2) for n in range(5)]
    _, _, states = feed(pipeline, raws)
    st = states["KGZ-UZB"]
    built = pipeline.features(st, st.max_day)
    assert set(built) == set(F.WINDOW_FEATURES) | set(F.DECAYED_FEATURES)


@pytest.mark.parametrize("name", ["hazard", "change", "ensemble"])
def test_a_run_of_days_without_incidents_is_learned_as_each_day_alone_would_be(name):
    """Quiet stretches are learned in one call (detectors.base.learn_quiet); what the stack then
    scores, raises and keeps is what learning each empty day by itself gives, to the last bit."""
    from detectors.registry import make_detector
    from streams.models import default_model

    rng = random.Random(5)
    raws, day = [], 0
    for i in range(120):  # bursts, and gaps of up to two years between them
        day += rng.choice([0, 0, 1, 2, 9, 40, 300, 700])
        raws.append(incident(i, T0 + timedelta(days=day, hours=rng.randint(0, 23)),
                             fatalities=rng.choice([0] * 8 + [1]),
                             category=rng.choice(["armed_clash", "detention", "threat", "incursion"])))
    runs = []
    for quiet in (True, False):
        p = Pipeline(SegmentRegistry.default(), make_detector(name, default_model()))
        assert p.segment_detectors.learns_quiet
        p.segment_detectors.learns_quiet = quiet
        trace = []
        p.observer = lambda key, d, score, level: trace.append((key, d, score, level))
        alerts, _, states = feed(p, raws)
        runs.append(([a.to_dict() for a in alerts], trace, {k: s.encode() for k, s in states.items()}))
    assert runs[0][0] and runs[0][1]
    assert runs[0] == runs[1]


def test_a_learner_that_reads_every_feature_learns_each_quiet_day_by_itself():
    from detectors.base import learns_quiet
    from detectors.registry import make_detector

    assert not learns_quiet(make_detector("forest"))  # a quiet day's 30- and 365-day views differ day to day
    assert not Pipeline(SegmentRegistry.default(), make_detector("forest")).segment_detectors.learns_quiet


def test_the_release_of_the_last_deaths_is_kept_past_the_views_reach_until_a_newer_day_has_deaths(pipeline):
    day = day_of(T0)
    raws = [incident(1, T0 - timedelta(days=700), fatalities=2, releasable_to=["UZB"]),
            incident(2, T0 - timedelta(days=700), fatalities=1, releasable_to=["KGZ", "UZB"]),
            incident(3, T0, releasable_to=["ALL"])]
    _, _, states = feed(pipeline, raws)
    st = states["KGZ-UZB"]
    # "last deaths 700 days ago" dates the withheld deaths: their release still bounds the figures
    assert st.restricted == {} and st.fatal_restricted == {"UZB": day - 700, "KGZ,UZB": day - 700}
    assert sorted(st.restricted_within_reach(day)) == [["KGZ", "UZB"], ["UZB"]]
    assert SegmentState.decode(st.encode(), "KGZ-UZB") == st
    _, _, states = feed(pipeline, [*raws, incident(4, T0 + timedelta(days=1), fatalities=1, releasable_to=["ALL"])])
    newer = states["KGZ-UZB"]
    assert newer.fatal_restricted == {} and newer.restricted_within_reach(day + 1) == []


@pytest.mark.parametrize("complete", [True, False])
def test_state_of_version_6_reads_the_release_of_its_last_deaths_or_withholds_them(pipeline, complete):
    import zlib

    import orjson

    raws = [incident(1, T0, fatalities=1, releasable_to=["KGZ"]), incident(2, T0, fatalities=1),
            *[incident(n, T0 + timedelta(days=n)) for n in range(3, 6)]]
    _, _, states = feed(pipeline, raws)
    st = states["KGZ-UZB"]
    stored = orjson.loads(zlib.decompress(st.encode()))
    del stored["restricted"], stored["fatal_restricted"]
    stored["version"] = 6
    if not complete:  # one of the day's deaths no longer among the recent incidents
        stored["recent"] = [r for r in stored["recent"] if r["event_id"] != "ev-2"]
    older = SegmentState.decode(zlib.compress(orjson.dumps(stored)), "KGZ-UZB")
    assert older.fatal_restricted == ({"KGZ": day_of(T0)} if complete else {"": day_of(T0)})
