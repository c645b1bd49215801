from datetime import date

from alerts.evaluation import evaluate


def alert(i, border, opened):
    return {"alert_id": f"a{i}", "border": border, "segment_id": border, "level": "warning",
            "opened_at": f"{opened}T00:00:00Z", "resolved_at": "", "score": "0.8", "summary": ""}


def label(eid, border, start, end, kind="escalation"):
    return {"episode_id": eid, "border": border, "start": start, "end": end, "kind": kind}


LABELS = [
    label("E-early", "KGZ-TJK", "2021-04-28", "2021-05-01"),
    label("E-timely", "KGZ-UZB", "2021-06-10", "2021-06-20"),
    label("E-late", "TJK-UZB", "2021-03-01", "2021-03-30"),
    label("E-missed", "AFG-TJK", "2021-08-01", "2021-08-02"),
    label("NC-ok", "TKM", "2021-09-01", "2021-09-05", "negative_control"),
    label("NC-hit", "KAZ", "2021-10-01", "2021-10-10", "negative_control"),
    label("old", "KGZ-TJK", "1999-01-01", "1999-01-02"),
]
ALERTS = [
    alert(1, "KGZ-TJK", "2021-04-08"),   # 20 days before onset: early
    alert(2, "KGZ-UZB", "2021-06-12"),   # 2 days after: timely
    alert(3, "TJK-UZB", "2021-03-20"),   # inside the episode, 19 days after onset: late
    alert(4, "AFG-TJK", "2021-05-01"),   # 92 days before onset: outside the window, a false alarm
    alert(5, "KAZ-UZB", "2021-10-03"),   # during the KAZ control: violates it, and is a false alarm
    alert(6, "KGZ-TJK", "2021-05-03"),   # end + 2 days: within the grace, not a false alarm
]


def test_each_outcome_by_its_definition():
    ev = evaluate(ALERTS, LABELS, date(2021, 1, 1), date(2021, 12, 31), ["KGZ-TJK", "KGZ-UZB", "TJK-UZB", "AFG-TJK"])
    got = {e.episode_id: (e.outcome, e.lead_days) for e in ev.episodes}
    assert got == {"E-early": ("early", 20), "E-timely": ("timely", -2), "E-late": ("late", -19),
                   "E-missed": ("missed", None), "NC-ok": ("control_ok", None), "NC-hit": ("control_violated", None),
                   "old": ("not_covered", None)}
    s = ev.summary()
    assert (s["episodes"], s["early"], s["timely"], s["late"], s["missed"]) == (4, 1, 1, 1, 1)
    assert s["recall"] == 0.5 and s["median_lead_days"] == 9  # median of 20 and -2
    assert s["false_alarms"] == 2 and s["precision"] == round(4 / 6, 4)
    assert s["negative_controls_violated"] == 1 and s["not_covered"] == 1
    assert ev.by_border["AFG-TJK"] == {"false_alarms": 1, "missed": 1}


def test_no_alerts_means_everything_missed_and_no_precision():
    ev = evaluate([], LABELS[:2], date(2021, 1, 1), date(2021, 12, 31), ["KGZ-TJK"])
    s = ev.summary()
    assert s["missed"] == 2 and s["precision"] is None and s["false_alarms_per_border_year"] == 0
