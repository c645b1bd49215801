"""`borderwatch score` and the univariate detectors behind it."""

from __future__ import annotations

import csv
import math
import pickle
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from detectors.univariate import DEFAULT_UNIVARIATE, UNIVARIATE, EwmaZ, GammaPoisson, make_univariate, surprise
from streams.errors import SourceRowError
from streams.scoring import score_csv

ROOT = Path(__file__).resolve().parents[2]


def series(path: Path, values) -> Path:
    """Hourly rows from 2022-01-01T00:00:00Z."""
    t0 = datetime(2022, 1, 1, tzinfo=timezone.utc)
    path.write_text("timestamp,value\n" + "".join(f"{(t0 + timedelta(hours=i)):%Y-%m-%dT%H:%M:%SZ},{v}\n"
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


@pytest.mark.parametrize("rows, line, field, reason", [
    ("2022-01-01,1\n2022-01-02,\n", 3, "value", "missing"),
    ("2022-01-01,1\n2022-01-02,NaN\n", 3, "value", "not a finite number: 'NaN'"),
    ("2022-01-01,1\n2022-01-02,inf\n", 3, "value", "not a finite number: 'inf'"),
    ("2022-01-01,1\n2022-01-02\n", 3, "value", "missing"),
    ("2022-01-01,1\n,2\n", 3, "timestamp", "missing"),
    ("2022-01-01,1\nyesterday,2\n", 3, "timestamp", "not an ISO 8601 time or a number of seconds: 'yesterday'"),
    ("1700000000,1\n1700000000000,2\n", 3, "timestamp",
     "1700000000000 seconds since 1970 is outside the years 1 to 9999: milliseconds? give seconds, or an ISO 8601 time"),
    ("2022-01-01,1\n2022-01-02,1_000\n", 3, "value", "not a finite number: '1_000'"),
    ("1_700_000_000,1\n", 2, "timestamp", "not an ISO 8601 time or a number of seconds: '1_700_000_000'"),
    ("2022-01-02,1\n2022-01-03,1\n2022-01-01,2\n", 4, "timestamp",
     "'2022-01-01' is earlier than line 3's: rows must be in time order"),
])
def test_blank_nan_bad_or_backward_rows_are_errors_naming_file_line_and_field(tmp_path, rows, line, field, reason):
    src = tmp_path / "in.csv"
    src.write_text("timestamp,value\n" + rows)
    with pytest.raises(SourceRowError) as info:
        score_csv(src, tmp_path / "out.csv", make_univariate("default"))
    assert (info.value.path, info.value.line, info.value.field, info.value.reason) == (str(src), line, field, reason)
    assert str(info.value) == f"{src}:{line}: {field}: {reason}"
    assert not (tmp_path / "out.csv").exists()


def test_a_decimal_comma_is_an_error_not_a_truncated_value_and_a_trailing_blank_line_is_no_row(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("timestamp,value\n2024-01-01,1,5\n")
    with pytest.raises(SourceRowError) as info:
        score_csv(src, tmp_path / "out.csv", make_univariate("default"))
    assert str(info.value) == f"{src}:2: 3 cells where the header has 2: a decimal comma? write 1.5"
    src.write_text('timestamp,value\n2024-01-01,"1,5"\n2024-01-02,2\n\n')
    with pytest.raises(SourceRowError, match=r":2: value: not a finite number: '1,5'"):
        score_csv(src, tmp_path / "out.csv", make_univariate("default"))
    src.write_text("timestamp,value\n2024-01-01,1.5\n2024-01-02,2\n\n")
    assert score_csv(src, tmp_path / "out.csv", make_univariate("default")) == 2


def test_an_output_that_is_the_input_or_in_no_directory_is_refused_and_the_input_kept(tmp_path):
    src = series(tmp_path / "in.csv", [1, 2, 3])
    before = src.read_bytes()
    with pytest.raises(SourceRowError, match="is the input"):
        score_csv(src, src, make_univariate("default"))
    assert src.read_bytes() == before
    with pytest.raises(SourceRowError, match=r"nowhere/x.csv: cannot write: No such file or directory"):
        score_csv(src, tmp_path / "nowhere" / "x.csv", make_univariate("default"))


def test_timestamps_may_be_dates_times_with_or_without_zone_or_epoch_seconds_and_repeat(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("\ufefftimestamp,value\n2022-01-01,1\n2022-01-01 06:00,2\n2022-01-01T12:00:00+06:00,3\n"
                   "1641042000,4\n1641042000,5\n")  # a spreadsheet's BOM; the last two are 13:00Z, twice
    out = tmp_path / "out.csv"
    assert score_csv(src, out, make_univariate("default")) == 5
    assert [r["timestamp"] for r in csv.DictReader(open(out))] == [
        "2022-01-01", "2022-01-01 06:00", "2022-01-01T12:00:00+06:00", "1641042000", "1641042000"]


def test_constant_series_gaps_and_irregular_rows_score_without_fuss(tmp_path):
    t0 = datetime(2022, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(2)
    hours = sorted(rng.sample(range(24 * 120), 900))  # irregular, with gaps of days
    lines = [f"{(t0 + timedelta(hours=h)):%Y-%m-%dT%H:%MZ},{7 if i != 700 else 8}" for i, h in enumerate(hours)]
    src = tmp_path / "in.csv"
    src.write_text("timestamp,value\n" + "\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    score_csv(src, out, make_univariate("default"))
    s = scores(out)
    assert len(s) == 900 and max(s[:700]) == 0.0  # a constant series is never unusual ...
    assert s[700] == 1.0  # ... until it changes


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "streams.cli", "score", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_cli_lists_detectors_and_scores(tmp_path):
    listed = run_cli("--list")
    assert f"{DEFAULT_UNIVARIATE} (default)" in listed.stdout
    assert all(name in listed.stdout for name in UNIVARIATE)
    res = run_cli("--detector", "default", "--input", series(tmp_path / "in.csv", [1, 2, 1, 9]), "--output",
                  tmp_path / "o.csv")
    assert res.returncode == 0 and f"scored 4 rows with {DEFAULT_UNIVARIATE}" in res.stderr
    assert run_cli("--detector", "magic", "--input", tmp_path / "in.csv", "--output", tmp_path / "o.csv").returncode == 2
    one = run_cli("--input", series(tmp_path / "one.csv", [3]), "--output", tmp_path / "o1.csv")
    assert one.returncode == 0 and f"scored 1 row with {DEFAULT_UNIVARIATE}" in one.stderr


def test_cli_bad_row_is_one_line_naming_file_line_and_field_without_a_traceback(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("timestamp,value\n2022-01-01,1\n2022-01-02, \n")
    res = run_cli("--input", src, "--output", tmp_path / "o.csv")
    assert res.returncode == 2
    assert res.stderr == f"borderwatch score: error: {src}:3: value: missing\n"
    missing = run_cli("--input", tmp_path / "nope.csv", "--output", tmp_path / "o.csv")
    assert missing.returncode == 2 and "nope.csv: cannot read" in missing.stderr and "Traceback" not in missing.stderr


def _scores(detector, rows):
    out = []
    for t, x in rows:
        out.append(detector.score_one(x, t))
        detector.learn_one(x, t)
    return out


def test_the_default_calms_down_on_counts_that_are_nearly_always_zero():
    """Zero spread is not infinite certainty: a series of mostly 0s learns that a 1 happens."""
    rng = random.Random(5)
    rows = [(1.7e9 + 86400.0 * i, float(rng.random() < 0.05)) for i in range(1500)]
    s = _scores(make_univariate("default"), rows)
    late_ones = [v for v, (_, x) in zip(s, rows) if x == 1.0][-20:]
    assert max(late_ones) < 0.5


@pytest.mark.parametrize("hours_apart", [1, 3])
def test_the_default_learns_a_daily_rhythm_and_flags_a_missing_peak(hours_apart):
    """Hourly or 3-hourly rows with an afternoon peak: normal days stay quiet, a day without the
    peak is flagged, though the missing values are well within the series' overall range."""
    rng = random.Random(7)
    t0 = 1704067200.0  # 2024-01-01T00:00:00Z
    rows, missing_day = [], 40
    for i in range(60 * 24 // hours_apart):
        t = t0 + i * hours_apart * 3600.0
        hour, day = (t % 86400) / 3600, int((t - t0) // 86400)
        peak = 0.0 if day == missing_day else 20.0 * math.exp(-((hour - 14) / 3) ** 2)
        rows.append((t, 50.0 + peak + rng.gauss(0, 1)))
    s = _scores(make_univariate("default"), rows)
    days = [int((t - t0) // 86400) for t, _ in rows]
    assert max(v for v, d in zip(s, days) if d == missing_day) >= 0.9
    normal_days = [v for v, d in zip(s, days) if 10 <= d < missing_day]
    assert sum(v >= 0.5 for v in normal_days) <= 0.02 * len(normal_days)  # p = 1 % is the watch line


def test_cli_writes_standard_output_without_output_and_nothing_when_a_row_is_bad(tmp_path):
    src = series(tmp_path / "in.csv", [1, 2, 1, 9])
    res = run_cli("--input", src)
    assert res.returncode == 0 and "-> standard output" in res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "timestamp,value,anomaly_score" and len(lines) == 5
    assert res.stdout == run_cli("--input", src, "--output", "-").stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2022-01-01,1\n2022-01-02,x\n")
    res = run_cli("--input", bad)
    assert res.returncode == 2 and res.stdout == "" and f"{bad}:3: value" in res.stderr
    assert run_cli().stderr == ("borderwatch score: error: a CSV to score is required: FILE or --input FILE "
                                "(or --list)\n")
    # the file may also be named as the other verbs name theirs, but once
    assert run_cli(src).stdout.splitlines() == lines
    assert run_cli(src, "--input", src).returncode == 2
