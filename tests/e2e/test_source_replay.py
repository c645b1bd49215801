"""The field's single-country sources end to end: the same file through the live path (CLI replay ->
worker -> /alerts) and through the backtest gives the same alerts (issue 9, point 5). The rows are
made up from the codebooks (tests/unit/test_adapter_acled.py, test_adapter_ged.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from streams.backtest import run_backtest
from streams.settings import load_settings
from streams.worker import build_pipeline
from tests.conftest import ROOT, wait_for
from tests.unit.test_adapter_acled import csv_text
from tests.unit.test_adapter_acled import row as acled_row
from tests.unit.test_adapter_ged import HEADER as GED_HEADER
from tests.unit.test_adapter_ged import KGZ_INTERNAL, KGZ_TJK, NARYN, write_ged

pytestmark = pytest.mark.e2e

#: Points within a few km of the Kyrgyz-Tajik line, from Batken westwards (three segments).
KGZ_TJK_POINTS = (("40.05229068", "70.63277194"), ("39.95", "70.5"), ("39.82", "69.85"))


def ged_history(path: Path) -> Path:
    """A year of made-up GED rows on the Kyrgyz-Tajik border: clashes building up in two spells,
    the state's own conflict nearby, and one event far from any border."""
    rows, day, n = [], date(2021, 1, 10), 0
    for spell in range(2):
        for k in range(6):
            lat, lon = KGZ_TJK_POINTS[k % len(KGZ_TJK_POINTS)]
            n += 1
            rows.append(dict(KGZ_TJK, id=str(910000 + n), latitude=lat, longitude=lon,
                             date_start=day.isoformat(), date_end=day.isoformat(),
                             best=str(1 + k % 3), low="1", high=str(2 + k % 3)))
            day += timedelta(days=3)
        day += timedelta(days=200)
    rows.append(dict(KGZ_INTERNAL, id="919998", date_start="2021-03-01", date_end="2021-03-01"))
    rows.append(dict(KGZ_INTERNAL, id="919999", latitude=NARYN[0], longitude=NARYN[1],
                     date_start="2021-04-01", date_end="2021-04-01"))
    return write_ged(path, rows, GED_HEADER)


def acled_history(path: Path) -> Path:
    """The same year as ACLED would export it: both states' forces clashing, a protest near the line,
    and one riot far from any border."""
    rows, day, n = [], date(2021, 1, 10), 0
    for spell in range(2):
        for k in range(6):
            lat, lon = KGZ_TJK_POINTS[k % len(KGZ_TJK_POINTS)]
            n += 1
            rows.append(acled_row(f"KGZ{n}", event_date=day.isoformat(), latitude=lat, longitude=lon,
                                  fatalities=str(k % 3)))
            day += timedelta(days=3)
        day += timedelta(days=200)
    rows.append(acled_row("KGZ98", event_type="Protests", sub_event_type="Peaceful protest", event_date="2021-03-01",
                          actor1="Protesters (Kyrgyzstan)", inter1="6", actor2="", inter2="", fatalities="0"))
    rows.append(acled_row("KGZ99", event_type="Riots", sub_event_type="Mob violence", event_date="2021-04-01",
                          actor1="Rioters (Kyrgyzstan)", inter1="5", actor2="", inter2="", fatalities="0",
                          latitude=NARYN[0], longitude=NARYN[1]))
    path.write_text(csv_text(rows), encoding="utf-8")
    return path


SOURCES = {"acled": acled_history, "ucdp-ged": ged_history}


@pytest.mark.parametrize("fmt", sorted(SOURCES))
def test_a_sources_file_gives_the_backtests_alerts_live(fmt, worker_factory, tmp_path):
    path = SOURCES[fmt](tmp_path / f"history.{fmt}.csv")
    backtest = run_backtest([str(path)], fmt, build_pipeline(load_settings({}, environ={})))
    expected = {(r["segment_id"], r["opened_at"], r["resolved_at"], r["level"]) for r in backtest.history.rows()}
    assert expected and all(sid.startswith("KGZ-TJK") for sid, *_ in expected)

    w = worker_factory().start()
    res = subprocess.run([sys.executable, "-m", "streams.cli", "replay", str(path), "--format", fmt,
                          "--broker", w.broker.url, "--topic-prefix", w.topics.prefix],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "1 out of scope (far_from_border 1)" in res.stdout

    def settled():
        body = w.get_json("/alerts?status=all")
        got = {(a["segment_id"], a["opened_at"], a["resolved_at"] or "", a["peak_level"]) for a in body["alerts"]}
        return got if got == expected else None

    assert wait_for(settled, timeout=120, message=f"the {fmt} replay's alerts to match the backtest's") == expected


@pytest.mark.skipif(os.environ.get("BORDERWATCH_SKIP_DEMO_TEST") == "1", reason="BORDERWATCH_SKIP_DEMO_TEST=1")
def test_the_demo_takes_another_source(tmp_path):
    path = acled_history(tmp_path / "acled.csv")
    env = dict(os.environ, DEMO_SECONDS="1", DEMO_BROKER_PORT="0", DEMO_WEB_PORT="0", DEMO_SOURCE=str(path),
               DEMO_FORMAT="acled", PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "streams.demo"], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "replayed acled.csv (acled): sent 13, rejected 0, 1 out of scope (far_from_border 1)" in res.stdout
    assert "alerts raised from real history:" in res.stdout and "KGZ-TJK" in res.stdout
    assert "demo stopped" in res.stdout


def test_a_demo_source_needs_its_format():
    from streams.demo import demo_inputs

    with pytest.raises(SystemExit, match="DEMO_FORMAT, one of mie, sipri, acled"):
        demo_inputs({"DEMO_SOURCE": "x.csv"})
    with pytest.raises(SystemExit, match="no such file"):
        demo_inputs({"DEMO_SOURCE": "/nonexistent/x.csv", "DEMO_FORMAT": "acled"})
    assert [fmt for _, fmt in demo_inputs({})] == ["mie", "sipri"]
