"""`borderwatch score` and the univariate detectors behind it."""

from __future__ import annotations

import csv
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest

from detectors.univariate import UNIVARIATE, EwmaZ, GammaPoisson, make_univariate, surprise
from streams.errors import SourceRowError
from streams.scoring import score_csv

ROOT = Path(__file__).resolve().parents[2]


def series(path: Path, values) -> Path:
    path.write_text("timestamp,value\n" + "".join(f"2022-01-{i % 28 + 1:02d}T00:00:{i % 60:02d}Z,{v}\n"
                                                  for i, v in enumerate(values)))
    return path


def scores(path: Path) -> list[float]:
    return [float(r["anomaly_score"]) for r in csv.DictReader(open(path))]


def test_surprise_scale_matches_the_escalation_thresholds():
    assert surprise(0.01) == pytest.approx(0.5)
    assert surprise(0.001) == pytest.approx(0.75)
    assert surprise(1.0) == 0.0 and surprise(0.0) == 1.0


@pytest.mark.parametrize("name", sorted(UNIVARIATE))
def test_one_row_per_input_in_order_scores_in_unit_interval_and_causal(tmp_path, name):
    rng = random.Random(4)
    values = [rng.choice([0, 0, 1, 2]) for _ in range(300)] + [25] + [rng.choice([0, 1]) for _ in range(99)]
    out = tmp_path / "out.csv"
    n = score_csv(series(tmp_path / "in.csv", values), out, make_univariate(name))
    rows = list(csv.DictReader(open(out)))
    assert n == len(rows) == 400
    assert [r["value"] for r in rows] == [str(v) for v in values]
    s = [float(r["anomaly_score"]) for r in rows]
    assert all(0 <= x <= 1 for x in s)
    assert s[300] >= 0.9 and s[300] == max(s)  # the burst stands out
    # causal: a different future leaves past scores unchanged
    changed = values[:200] + [0] * 200
    score_csv(series(tmp_path / "in2.csv", changed), tmp_path / "out2.csv", make_univariate(name))
    assert scores(tmp_path / "out2.csv")[:200] == s[:200]


def test_an_escalation_does_not_become_the_new_normal_at_once():
    d, rng = EwmaZ(), random.Random(1)
    for _ in range(200):
        d.learn_one(1.0 + rng.random() * 0.1)
    burst = d.score_one(20.0)
    d.learn_one(20.0)
    again = d.score_one(20.0)
    assert burst >= 0.9 and again >= 0.75


def test_counts_model_is_calm_about_one_event_after_a_long_quiet_spell_and_pickles():
    g = GammaPoisson()
    for _ in range(300):
        g.learn_one(0)
    assert 0.4 <= g.score_one(1) < 0.75
    assert g.score_one(6) >= 0.9
    assert pickle.loads(pickle.dumps(g)).score_one(3) == g.score_one(3)


def test_bad_rows_name_file_line_and_field_and_leave_no_output(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("timestamp,value\n2022-01-01,1\n2022-01-02,abc\n")
    out = tmp_path / "out.csv"
    with pytest.raises(SourceRowError) as info:
        score_csv(src, out, make_univariate("default"))
    assert (info.value.line, info.value.field) == (3, "value")
    assert not out.exists() and list(tmp_path.iterdir()) == [src]
    src.write_text("time,v\n1,2\n")
    with pytest.raises(SourceRowError, match="timestamp,value"):
        score_csv(src, out, make_univariate("default"))


def test_cli_lists_detectors_and_scores(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "streams.cli", "score", *map(str, a)],
                                    capture_output=True, text=True, cwd=ROOT, timeout=60)
    listed = run("--list")
    assert "ewma (default)" in listed.stdout and "gamma-poisson" in listed.stdout
    res = run("--detector", "default", "--input", series(tmp_path / "in.csv", [1, 2, 1, 9]), "--output", tmp_path / "o.csv")
    assert res.returncode == 0 and "scored 4 rows" in res.stderr
    assert run("--detector", "magic", "--input", tmp_path / "in.csv", "--output", tmp_path / "o.csv").returncode == 2
