"""The CLI as a user runs it (subprocesses, no broker needed)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from streams.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
MIE = ROOT / "streams" / "data" / "mie-1.0-central-asia.csv"


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "streams.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_backtest_writes_the_alerts_csv_contract(tmp_path):
    out = tmp_path / "alerts.csv"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", out)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["alert_id", "border", "segment_id", "level", "opened_at", "resolved_at", "score", "summary"]
    assert {r["level"] for r in rows} <= {"watch", "warning", "critical"}
    assert all(r["border"] == "-".join(sorted(r["border"].split("-"))) for r in rows)
    assert all(r["opened_at"].endswith("Z") and r["resolved_at"] > r["opened_at"] for r in rows)
    assert any(r["border"] == "KGZ-UZB" and r["opened_at"].startswith("2012-07-17") for r in rows)
    assert f"{len(rows)} alerts" in res.stderr


def test_backtest_reports_bad_rows_with_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.csv"
    lines = MIE.read_text().splitlines()
    bad.write_text("\n".join(lines[:3] + [lines[3].replace(",700,", ",999,", 1)] + lines[4:6]) + "\n")
    res = cli("backtest", bad, "--format", "mie", "--alerts-out", tmp_path / "a.csv")
    assert res.returncode == 0
    assert f"rejected: {bad}:4: ccode1: unknown Correlates-of-War state code 999" in res.stderr
    assert "4 records (1 rejected)" in res.stderr


def test_schema_and_segments_commands():
    res = cli("schema", "incident")
    schema = json.loads(res.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "occurred_at" in schema["required"]
    res = cli("segments")
    assert res.returncode == 0
    assert res.stdout.splitlines()[0].split() == ["id", "border", "length_km", "name"]
    assert any(line.startswith("KGZ-TJK-07 ") for line in res.stdout.splitlines())


def test_replay_without_a_broker_says_what_to_do():
    res = cli("replay", MIE, "--format", "mie", "--broker", f"kafka://127.0.0.1:{free_port()}", timeout=120)
    assert res.returncode == 2
    assert "borderwatch broker" in res.stderr and "--broker" in res.stderr


def test_bad_speed_is_refused():
    res = cli("replay", MIE, "--format", "mie", "--speed", "fast")
    assert res.returncode == 2 and "--speed" in res.stderr


def test_backtest_with_labels_prints_an_evaluation(tmp_path):
    labels = ROOT / "streams" / "data" / "escalations-central-asia.csv"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--labels", labels)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    outcome = {e["episode_id"]: e["outcome"] for e in doc["episodes"]}
    assert outcome["KU-1"] in ("early", "timely")
    assert outcome["KT-8"] == "not_covered"  # 2022: after MIE ends in 2014
    assert doc["period"][1].startswith("2014")
    assert doc["overall"]["alerts"] == len(list(csv.DictReader(open(tmp_path / "a.csv"))))


def test_backtest_report_and_per_border_evaluation(tmp_path):
    labels = ROOT / "streams" / "data" / "escalations-central-asia.csv"
    report = tmp_path / "report.html"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--labels", labels,
              "--report", report)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {"nab_standard", "nab_low_fp", "nab_low_fn", "precision"} <= set(doc["overall"])
    assert doc["by_border"]["KGZ-UZB"]["episodes"] == 2  # KU-1 and KU-2 fall within MIE's years
    page = report.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "KU-1" in page


def test_backtest_refuses_a_bad_labels_file_before_running(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("episode_id,border,start,end,kind\nE1,KGZ-TJK,2021-02-30,2021-03-01,escalation\n")
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--labels", labels)
    assert res.returncode == 2
    assert f"{labels}:2: start:" in res.stderr
    assert not (tmp_path / "a.csv").exists()


def test_generate_names_the_file_it_cannot_write(tmp_path):
    out = tmp_path / "missing-dir" / "s.jsonl"
    res = cli("generate", "--scenario", "quiet", "--out", out)
    assert res.returncode == 2 and str(out) in res.stderr and "Traceback" not in res.stderr


LABELS = ROOT / "streams" / "data" / "escalations-central-asia.csv"


def test_train_writes_a_model_that_backtest_and_the_worker_settings_load(tmp_path):
    model = tmp_path / "model.json"
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", LABELS, "--out", model, "--watch", "0.05")
    assert res.returncode == 0, res.stderr
    art = json.loads(model.read_text())
    assert art["version"] == 1 and art["levels"]["watch"] == 0.05
    assert art["training"]["inputs"][0]["file"] == MIE.name and len(art["training"]["inputs"][0]["sha256"]) == 64
    assert art["training"]["labels"]["file"] == LABELS.name and art["training"]["rows"] > 0
    assert "-> " + str(model) in res.stdout
    again = tmp_path / "again.json"
    cli("train", "--input", MIE, "--format", "mie", "--labels", LABELS, "--out", again, "--watch", "0.05")
    assert again.read_text() == model.read_text()  # same data, same model
    out = tmp_path / "alerts.csv"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", out, "--model", model)
    assert res.returncode == 0, res.stderr
    summaries = [r["summary"] for r in csv.DictReader(open(out))]
    assert any("watch: 5.0 % to 20 %" in s for s in summaries)  # this model's stated level ranges


def test_a_missing_or_broken_model_file_is_a_clear_error(tmp_path):
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--model", tmp_path / "none.json")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "none.json" in res.stderr and "borderwatch train" in res.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "coef": [1]}')
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--model", broken)
    assert res.returncode == 2 and "not a usable model" in res.stderr and "Traceback" not in res.stderr


def test_train_says_why_it_cannot_fit(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("episode_id,border,start,end,kind\nx,AAA-BBB,2000-01-01,2000-01-02,escalation\n")
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", labels, "--out", tmp_path / "m.json")
    assert res.returncode == 2 and "cannot train" in res.stderr and "Traceback" not in res.stderr
