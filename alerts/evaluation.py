"""Score alert rows against labelled escalation episodes: early warning, not just detection.

For each escalation episode (border pair, onset, end) the first alert on that border opened
in [onset - 60 days, end] decides its class:

* ``early``   -- opened in [onset - 60 d, onset]: the warning came before the violence;
* ``timely``  -- within 3 days after onset;
* ``late``    -- later, but before the episode ended;
* ``missed``  -- none.

An alert that opens outside every episode's window ``[onset - 60 d, end + 3 d]`` of its border
is a false alarm; false alarms are counted per border-year of data. A negative control (an
internal crisis of one state, ``border`` = that ISO3) is *violated* by any alert on a border of
that state opened during the crisis. Episodes outside the period the data covers are reported
as ``not_covered`` and left out of every rate.

Pure functions over ``alerts.csv`` rows and labels rows (as ``csv.DictReader`` gives them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

EARLY_DAYS = 60
TIMELY_DAYS = 3


def _day(text: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if "T" in text else date.fromisoformat(text)


@dataclass
class EpisodeResult:
    episode_id: str
    border: str
    onset: date
    outcome: str  # early | timely | late | missed | not_covered | control_ok | control_violated
    lead_days: int | None = None
    alert_id: str | None = None


@dataclass
class Evaluation:
    episodes: list[EpisodeResult] = field(default_factory=list)
    alerts: int = 0
    false_alarms: int = 0
    border_years: float = 0.0
    by_border: dict[str, dict] = field(default_factory=dict)

    def summary(self) -> dict:
        esc = [e for e in self.episodes if e.outcome in ("early", "timely", "late", "missed")]
        counts = {k: sum(e.outcome == k for e in esc) for k in ("early", "timely", "late", "missed")}
        leads = [e.lead_days for e in esc if e.outcome in ("early", "timely") and e.lead_days is not None]
        controls = [e for e in self.episodes if e.outcome.startswith("control_")]
        matched = self.alerts - self.false_alarms
        return {
            "episodes": len(esc), **counts,
            "recall": round((counts["early"] + counts["timely"]) / len(esc), 4) if esc else None,
            "median_lead_days": median(leads) if leads else None,
            "alerts": self.alerts, "false_alarms": self.false_alarms,
            "false_alarms_per_border_year": round(self.false_alarms / self.border_years, 4) if self.border_years else None,
            "precision": round(matched / self.alerts, 4) if self.alerts else None,
            "negative_controls": len(controls),
            "negative_controls_violated": sum(e.outcome == "control_violated" for e in controls),
            "not_covered": sum(e.outcome == "not_covered" for e in self.episodes),
        }


def evaluate(alert_rows: list[dict], label_rows: list[dict], data_start: date, data_end: date,
             borders: list[str]) -> Evaluation:
    """``borders``: the border pairs monitored (for border-years); ``data_*``: the period covered."""
    ev = Evaluation(alerts=len(alert_rows))
    years = max((data_end - data_start).days, 1) / 365.25
    ev.border_years = years * len(borders)
    alerts = sorted(((_day(a["opened_at"]), a) for a in alert_rows), key=lambda t: t[0])
    windows: dict[str, list[tuple[date, date]]] = {}
    for lab in label_rows:
        onset, end = _day(lab["start"]), _day(lab["end"])
        border = lab["border"]
        if not (data_start <= onset <= data_end):
            ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset, "not_covered"))
            continue
        if lab["kind"] == "negative_control":
            hit = next((a for d, a in alerts if onset <= d <= end and border in a["border"].split("-")), None)
            ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset,
                                             "control_violated" if hit else "control_ok",
                                             alert_id=hit["alert_id"] if hit else None))
            continue
        windows.setdefault(border, []).append((onset - timedelta(days=EARLY_DAYS), end + timedelta(days=TIMELY_DAYS)))
        first = next(((d, a) for d, a in alerts
                      if a["border"] == border and onset - timedelta(days=EARLY_DAYS) <= d <= end), None)
        if first is None:
            ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset, "missed"))
            continue
        d, a = first
        lead = (onset - d).days
        outcome = "early" if d <= onset else "timely" if d <= onset + timedelta(days=TIMELY_DAYS) else "late"
        ev.episodes.append(EpisodeResult(lab["episode_id"], border, onset, outcome, lead, a["alert_id"]))
    for d, a in alerts:
        if not any(lo <= d <= hi for lo, hi in windows.get(a["border"], [])):
            ev.false_alarms += 1
            row = ev.by_border.setdefault(a["border"], {"false_alarms": 0})
            row["false_alarms"] += 1
    for e in ev.episodes:
        row = ev.by_border.setdefault(e.border, {"false_alarms": 0})
        row[e.outcome] = row.get(e.outcome, 0) + 1
    return ev
