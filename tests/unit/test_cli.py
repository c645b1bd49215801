"""The CLI as a user runs it (subprocesses, no broker needed)."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from streams.adapters import load
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
    # "kind" came last with the arms-race alerts, so readers by column name and position still read the rest.
    assert list(rows[0]) == ["alert_id", "border", "segment_id", "level", "opened_at", "resolved_at", "score", "summary",
                             "kind"]
    assert {r["kind"] for r in rows} == {"incident"}  # MIE has no transfers
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


def test_counts_of_one_read_in_the_singular(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    res = cli("backtest", wrong, "--format", "mie", "--alerts-out", tmp_path / "a.csv")
    assert res.returncode != 0 and "(1 row rejected, listed above)" in res.stderr and "1 rows" not in res.stderr
    one = tmp_path / "one.csv"
    one.write_text("\n".join(MIE.read_text().splitlines()[:2]) + "\n")
    res = cli("backtest", one, "--format", "mie", "--alerts-out", tmp_path / "a.csv")
    assert res.returncode == 0 and "backtest: 1 record (0 rejected)" in res.stderr, res.stderr


def test_schema_and_segments_commands():
    res = cli("schema", "incident")
    schema = json.loads(res.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "occurred_at" in schema["required"]
    res = cli("segments")
    assert res.returncode == 0
    assert res.stdout.splitlines()[0].split() == ["id", "border", "length_km", "name"]
    assert any(line.startswith("KGZ-TJK-07 ") for line in res.stdout.splitlines())


def test_segments_build_cuts_a_pair_or_every_border_of_a_country_into_a_segment_file(tmp_path):
    from streams.segments import SegmentRegistry

    res = cli("segments", "build", "--pair", "PAK-IND", "--km", "60", "--out", tmp_path / "ind-pak.geojson")
    assert res.returncode == 0, res.stderr
    reg = SegmentRegistry.from_geojson(tmp_path / "ind-pak.geojson")
    assert reg.segments()[0].segment_id == "IND-PAK-01" and reg.borders() == ["IND-PAK"]
    res = cli("segments", "build", "--country", "KGZ", "--out", tmp_path / "kgz.geojson")
    assert res.returncode == 0, res.stderr
    assert SegmentRegistry.from_geojson(tmp_path / "kgz.geojson").borders() == ["CHN-KGZ", "KAZ-KGZ", "KGZ-TJK", "KGZ-UZB"]
    res = cli("segments", "--segments-file", f"{tmp_path / 'ind-pak.geojson'},{tmp_path / 'kgz.geojson'}", "--json")
    listed = {s["border"] for s in json.loads(res.stdout)}
    assert {"IND-PAK", "KGZ-TJK", "KAZ-RUS"} <= listed  # the files' borders next to the bundled ones


@pytest.mark.parametrize("args, flag", [
    (("--pair", "AFG-USA"), "--pair AFG-USA: not a land border"),
    (("--pair", "IND"), "--pair IND: not a pair"),
    (("--country", "XYZ"), "--country XYZ: not a state"),
    (("--pair", "IND-PAK", "--km", "-5"), "--km must be a positive number"),
    (("--country", "KGZ", "--km", "0.001"), "--km must be at least 5 km (the border lines' precision), got 0.001"),
])
def test_segments_build_refuses_bad_flags_in_one_line(tmp_path, args, flag):
    res = cli("segments", "build", *args, "--out", tmp_path / "x.geojson")
    assert res.returncode == 2 and not (tmp_path / "x.geojson").exists()
    (line,) = res.stderr.splitlines()  # no traceback
    assert line.startswith("borderwatch segments: error: ") and flag in line


def test_backtest_will_not_write_over_its_input_nor_take_a_negative_grace(tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_bytes(MIE.read_bytes())
    res = cli("backtest", mine, "--format", "mie", "--alerts-out", mine)
    assert res.returncode == 2 and mine.read_bytes() == MIE.read_bytes()
    assert res.stderr == f"borderwatch backtest: error: --alerts-out {mine} is an input file: it would be overwritten\n"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--grace-days", "-1")
    assert res.returncode == 2 and "grace_days must be 0 or more" in res.stderr and "Traceback" not in res.stderr


def test_backtest_says_how_many_records_it_dropped_as_repeats(tmp_path):
    rec = {"event_id": "x1", "occurred_at": "2021-04-28T10:00:00Z", "reported_at": "2021-04-28T12:00:00Z",
           "source": "t", "category": "armed_clash", "severity": 3, "fatalities": 0, "injuries": 0,
           "countries": ["KGZ", "TJK"]}
    again = dict(rec, reported_at="2021-04-28T13:00:00Z", fatalities=12)  # a correction under the same id
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(rec) + "\n" + json.dumps(again) + "\n")
    res = cli("backtest", src, "--format", "jsonl", "--alerts-out", tmp_path / "a.csv")
    assert res.returncode == 0, res.stderr
    assert "2 records (0 rejected, 1 dropped as repeats of an event_id seen before)" in res.stderr


def test_replay_without_a_broker_says_what_to_do():
    res = cli("replay", MIE, "--format", "mie", "--broker", f"kafka://127.0.0.1:{free_port()}",
              "--broker-wait-seconds", "1", timeout=120)
    assert res.returncode == 2
    assert "borderwatch broker" in res.stderr and "--broker" in res.stderr


def test_the_wait_for_a_broker_must_be_some_time():
    res = cli("replay", MIE, "--format", "mie", "--broker-wait-seconds", "0")
    assert res.returncode == 2 and "broker_wait_seconds must be more than 0" in res.stderr


def test_bad_speed_is_refused():
    res = cli("replay", MIE, "--format", "mie", "--speed", "fast")
    assert res.returncode == 2 and "--speed" in res.stderr


def test_backtest_with_labels_prints_the_reference_figures(tmp_path):
    labels = ROOT / "streams" / "data" / "escalations-central-asia.csv"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--labels", labels,
              "--coverage-end", "2014-12-31", "--evaluation-json", tmp_path / "ev.json")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["border", "episodes", "early"]
    assert any(line.startswith("KGZ-UZB ") for line in lines) and any(line.startswith("OVERALL ") for line in lines)
    assert re.fullmatch(r"REAL recall=\d\.\d\d early=\d\.\d\d median_lead_days=-?\d+ false_alarms_per_year=\d+\.\d\d "
                        r"precision=\d\.\d\d", lines[-1])
    doc = json.loads((tmp_path / "ev.json").read_text())
    status = {e["episode_id"]: e["status"] for e in doc["episodes"]}
    assert status["KU-1"] in ("early", "timely")
    assert "KT-8" not in status and {"episode_id": "KT-8", "reason": "onset_out_of_span"}.items() <= \
        next(x for x in doc["not_scored"] if x["episode_id"] == "KT-8").items()  # 2022: after MIE ends in 2014
    first = min(r.occurred_at.date() for r in load([MIE], "mie").records if r.border == "KGZ-UZB")
    assert doc["borders"]["KGZ-UZB"]["span"] == [first.isoformat(), "2014-12-31"]
    assert doc["overall"]["alerts"] == len(list(csv.DictReader(open(tmp_path / "a.csv"))))
    assert [c["evaluable"] for c in doc["negative_controls"]] == [False, False]  # 2022, after the data


def test_backtest_report_and_per_border_evaluation(tmp_path):
    labels = ROOT / "streams" / "data" / "escalations-central-asia.csv"
    report = tmp_path / "report.html"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--labels", labels,
              "--borders", "UZB-KGZ,KGZ-TJK,TJK-UZB", "--report", report, "--evaluation-json", tmp_path / "ev.json")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "ev.json").read_text())
    assert sorted(doc["borders"]) == ["KGZ-TJK", "KGZ-UZB", "TJK-UZB"]
    assert doc["borders"]["KGZ-UZB"]["episodes"] == 2  # KU-1 and KU-2 fall within MIE's years
    assert {"nab_standard", "precision", "false_alarms_per_border_year"} <= set(doc["overall"])
    page = report.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "KU-1" in page


def test_backtest_of_a_field_rule_scores_as_the_reference_tool_does(tmp_path):
    """The alerts of field rule d on the development set, scored by the CLI and by the vendored reference."""
    dev, labels = ROOT / "streams" / "data" / "mie-1.0-dev-borders.csv", ROOT / "streams" / "data" / \
        "escalations-mie-dev-borders.csv"
    out = tmp_path / "d.csv"
    res = cli("backtest", dev, "--format", "mie", "--field-rule", "d", "--alerts-out", out, "--labels", labels,
              "--coverage-end", "2014-12-31")
    assert res.returncode == 0, res.stderr
    ref = subprocess.run([sys.executable, ROOT / "tests" / "reference_eval" / "score_alerts.py", labels, out,
                          "--events", dev, "--coverage-end", "2014-12-31"], capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    assert res.stdout.splitlines()[-1] == ref.stdout.splitlines()[-1] == \
        "REAL recall=1.00 early=0.49 median_lead_days=25 false_alarms_per_year=1.34 precision=0.34"
    assert "4428 records (0 rejected), field rule d, 2909 alerts" in res.stderr


@pytest.mark.parametrize("args,message", [
    (["--coverage-end", "2014-13-01"], "argument --coverage-end: '2014-13-01' is not a date (YYYY-MM-DD)"),
    (["--field-rule", "d", "--detector", "surge"], "argument --detector: not allowed with argument --field-rule"),
    (["--labels", ROOT / "streams" / "data" / "escalations-central-asia.csv", "--coverage-end", "1990-01-01"],
     "error: --coverage-end 1990-01-01: the data span of AFG-TJK would end on 1990-01-01, before its first incident"),
    (["--labels", ROOT / "streams" / "data" / "escalations-central-asia.csv", "--borders", "TKM-UZB"],
     "error: --borders: TKM-UZB has no incident in the input"),
])
def test_backtest_flags_are_checked_without_a_traceback(tmp_path, args, message):
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", *args)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


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


def test_train_warns_when_few_days_precede_an_onset_and_not_on_the_development_borders(tmp_path):
    # Central Asia's five labelled borders give three such days for the model's 18 inputs
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", LABELS, "--out", tmp_path / "m.json")
    assert res.returncode == 0 and (tmp_path / "m.json").exists()
    positive = json.loads((tmp_path / "m.json").read_text())["training"]["positive_rows"]
    assert 0 < positive < 180
    assert (f"train: warning: only {positive} incident days precede an onset, fewer than 10 for each of the "
            f"model's 18 inputs (180)") in res.stderr
    res = cli("train", "--input", DEV, "--format", "mie", "--labels", DEV_LABELS, "--out", tmp_path / "dev.json")
    assert res.returncode == 0 and "warning" not in res.stderr


def test_a_missing_or_broken_model_file_is_a_clear_error(tmp_path):
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--model", tmp_path / "none.json")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "none.json" in res.stderr and "borderwatch train" in res.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "coef": [1]}')
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "a.csv", "--model", broken)
    assert res.returncode == 2 and "not a usable model" in res.stderr and "Traceback" not in res.stderr


DEV = ROOT / "streams" / "data" / "mie-1.0-dev-borders.csv"
DEV_LABELS = ROOT / "streams" / "data" / "escalations-mie-dev-borders.csv"


def _skill_rows(stdout: str) -> dict[str, list[str]]:
    heads = ("in-sample", "one border held out at a time", "borders sharing a state held out")
    return {h: line[len("  " + h):].split() for line in stdout.splitlines() for h in heads
            if line.startswith("  " + h)}


def test_train_cross_validates_the_forecast_on_borders_each_fit_never_saw(tmp_path):
    res = cli("train", "--input", DEV, "--format", "mie", "--labels", DEV_LABELS, "--out", tmp_path / "m.json",
              "--cross-validate")
    assert res.returncode == 0, res.stderr
    rows = _skill_rows(res.stdout)
    assert rows["one border held out at a time"][:2] == ["18", "2461"]
    assert rows["borders sharing a state held out"][:2] == ["11", "2461"]
    loss = {h: float(cells[2]) for h, cells in rows.items()}
    # a fit reads its own days best, and a border whose states it never saw worst
    assert loss["in-sample"] < loss["one border held out at a time"] < loss["borders sharing a state held out"]
    # the model written is the one trained on everything, as without the flag
    plain = tmp_path / "plain.json"
    cli("train", "--input", DEV, "--format", "mie", "--labels", DEV_LABELS, "--out", plain)
    assert plain.read_text() == (tmp_path / "m.json").read_text()


def test_train_says_which_holding_out_it_cannot_score_and_why(tmp_path):
    # Central Asia's labelled borders are all linked by states they share: no fold by state is possible
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", LABELS, "--out", tmp_path / "m.json",
              "--cross-validate")
    assert res.returncode == 0, res.stderr
    assert "borders sharing a state held out" in res.stdout and "all linked by states they share" in res.stdout
    assert _skill_rows(res.stdout)["one border held out at a time"][0] == "5"


def test_train_takes_a_penalty_and_refuses_a_meaningless_one(tmp_path):
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", LABELS, "--out", tmp_path / "m.json", "--c", "0")
    assert res.returncode == 2 and "--c must be above 0" in res.stderr and "Traceback" not in res.stderr
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", LABELS, "--out", tmp_path / "m.json",
              "--c", "0.05")
    assert res.returncode == 0 and json.loads((tmp_path / "m.json").read_text())["training"]["C"] == 0.05


def test_train_says_why_it_cannot_fit(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("episode_id,border,start,end,kind\nx,AAA-BBB,2000-01-01,2000-01-02,escalation\n")
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", labels, "--out", tmp_path / "m.json")
    assert res.returncode == 2 and "cannot train" in res.stderr and "Traceback" not in res.stderr


def test_train_says_which_rows_it_could_not_read_as_backtest_does(tmp_path):
    part = tmp_path / "part.csv"
    part.write_text(MIE.read_text() + "1,2,999,365,1,1,2000,1,1,2000,1,16,4,0,0,0,0,mie-1.0\n")
    res = cli("train", "--input", part, "--format", "mie", "--labels", LABELS, "--out", tmp_path / "m.json")
    lines = len(MIE.read_text().splitlines()) + 1
    assert res.returncode == 0 and f"rejected: {part}:{lines}: ccode1:" in res.stderr
    res = cli("train", "--input", MIE, "--format", "jsonl", "--labels", LABELS, "--out", tmp_path / "j.json")
    assert res.returncode == 2 and "check that --format jsonl" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "j.json").exists()


def test_train_says_the_labels_have_no_escalation_to_learn_from(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("episode_id,border,start,end,kind\nnc,KGZ,2010-01-01,2010-01-02,negative_control\n")
    res = cli("train", "--input", MIE, "--format", "mie", "--labels", labels, "--out", tmp_path / "m.json")
    assert res.returncode == 2 and "labels.csv has no escalation episodes" in res.stderr


def test_the_verbs_that_build_the_pipeline_read_its_settings_alike():
    """One declaration: worker and backtest take the pipeline's settings by the same flags, and the
    environment applies to backtest as it does to the worker (it once ignored BORDERWATCH_DETECTOR)."""
    import argparse
    import os

    from streams.settings import BACKTEST, WORKER, add_setting_flags, flag_values

    flags = {}
    for verb in (WORKER, BACKTEST):
        parser = argparse.ArgumentParser()
        add_setting_flags(parser, verb)
        flags[verb] = {a.dest for a in parser._actions if a.dest != "help"}
    assert {"detector", "model", "grace_days", "segments_file", "max_distance_km",
            "alert_id_key_file"} <= flags[BACKTEST] <= flags[WORKER]
    parser = argparse.ArgumentParser()
    add_setting_flags(parser, BACKTEST)
    assert flag_values(parser.parse_args(["--grace-days", "3", "--segments-file", "a.geojson,b.geojson",
                                          "--segments-file", "c.geojson"]), BACKTEST) == {
        "segments_file": "a.geojson,b.geojson,c.geojson", "max_distance_km": None, "grace_days": 3,
        "detector": None, "model": None, "alert_id_key_file": None}
    env = dict(os.environ, BORDERWATCH_DETECTOR="no-such-detector")
    res = subprocess.run([sys.executable, "-m", "streams.cli", "backtest", str(MIE), "--format", "mie",
                          "--alerts-out", "-"], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert res.returncode == 2 and "no-such-detector" in res.stderr and "Traceback" not in res.stderr


def test_a_keyed_backtest_gives_ids_no_one_recomputes_without_the_key_and_the_same_alerts(tmp_path):
    from alerts.model import alert_id_for

    plain, keyed, again = (tmp_path / f"{n}.csv" for n in ("plain", "keyed", "again"))
    key = tmp_path / "alert-id-key"
    key.write_text("a deployment's own secret, 32 bytes\n")
    assert cli("backtest", MIE, "--format", "mie", "--alerts-out", plain).returncode == 0
    for out in (keyed, again):
        res = cli("backtest", MIE, "--format", "mie", "--alerts-out", out, "--alert-id-key-file", key)
        assert res.returncode == 0, res.stderr
    assert keyed.read_text() == again.read_text()  # the same key, the same ids: runs still agree
    rows = {n: list(csv.DictReader(open(p))) for n, p in (("plain", plain), ("keyed", keyed))}
    assert len(rows["plain"]) == len(rows["keyed"]) > 0
    for a, b in zip(rows["plain"], rows["keyed"]):
        assert {k: v for k, v in a.items() if k != "alert_id"} == {k: v for k, v in b.items() if k != "alert_id"}
        # unkeyed, the id is the hash of what a reader can guess; keyed, it is not
        assert a["alert_id"] == alert_id_for(a["segment_id"], a["opened_at"]) != b["alert_id"]
    short = tmp_path / "short"
    short.write_text("abc\n")
    for bad, says in ((tmp_path / "missing", "cannot read the alert id key file"),
                      (short, "is shorter than 16 bytes")):
        res = cli("backtest", MIE, "--format", "mie", "--alerts-out", tmp_path / "x.csv", "--alert-id-key-file", bad)
        assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("flags, says", [
    (["--evaluation-json", "ev.json"], "--evaluation-json does nothing without --labels"),
    (["--borders", "KGZ-TJK"], "--borders does nothing without --labels or --report"),
    (["--coverage-end", "2014-12-31"], "--coverage-end does nothing without --labels or --field-rule"),
])
def test_backtest_says_when_a_flag_does_nothing_and_still_writes_the_alerts(tmp_path, flags, says):
    out = tmp_path / "alerts.csv"
    res = cli("backtest", MIE, "--format", "mie", "--alerts-out", out,
              *[tmp_path / f if f.endswith(".json") else f for f in flags])
    assert res.returncode == 0, res.stderr
    assert f"borderwatch backtest: note: {says}" in res.stderr
    assert not (tmp_path / "ev.json").exists()
    assert len(list(csv.DictReader(open(out)))) > 0


def test_a_worker_name_is_each_of_its_groups_static_member_id_and_a_bad_one_is_refused():
    from streams.errors import ConfigError
    from streams.settings import load_settings
    from streams.topics import group_timing

    s = load_settings({}, environ={"BORDERWATCH_INSTANCE_ID": "kgz-desk.worker_1"})
    assert group_timing(s.session_timeout, s.instance_id)["group_instance_id"] == "kgz-desk.worker_1"
    assert group_timing(10.0)["group_instance_id"] is None  # no name: anonymous members, as before
    for bad in ("two words", "x" * 250, "кгз"):
        with pytest.raises(ConfigError, match="instance_id"):
            load_settings({"instance_id": bad}, environ={})
    res = cli("worker", "--instance-id", "two words")
    assert res.returncode == 2 and "instance_id 'two words'" in res.stderr and "Traceback" not in res.stderr
