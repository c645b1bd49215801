"""Hostile files given to replay, backtest and score, as a user gives them (subprocesses): every
one ends with ``file:line: field: reason`` (line 0 for the file as a whole), a non-zero exit when
nothing usable was read, and never a traceback; a closed stdout ends quietly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from streams.adapters import SHOWN_WHEN_NOTHING_USABLE
from streams.broker import free_port
from tests.hostile import incident

ROOT = Path(__file__).resolve().parents[2]
MIE = ROOT / "streams" / "data" / "mie-1.0-central-asia.csv"
GOOD = json.dumps(incident("good-1", fatalities=2, location_name="Dóstuk"), ensure_ascii=False)


def run(*args, timeout=60, **kw):
    return subprocess.run([sys.executable, "-m", "streams.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)


def hostile_files(d: Path) -> dict[str, Path]:
    files = {
        "empty.jsonl": b"",
        "binary.jsonl": (bytes(range(128, 256)) + bytes(range(128))) * 4,  # 0x80 first: never UTF-8
        "utf16.jsonl": (GOOD + "\n").encode("utf-16"),
        "cp1252.jsonl": (GOOD + "\n").encode("cp1252"),
        "nested.jsonl": b"[" * 10000 + b"]" * 10000 + b"\n",
        "nul.jsonl": (GOOD.replace("fuzz", "fu\x00zz") + "\n"  # a raw NUL: not JSON
                      + json.dumps(incident("nul-2", source="a\x00b")) + "\n"  # an escaped one: a bad value
                      + GOOD + "\n").encode(),
        "header-only.csv": MIE.read_bytes().splitlines(keepends=True)[0],
        "series-utf16.csv": "timestamp,value\n2020-01-01,1\n".encode("utf-16"),
        "series-cp1252.csv": "timestamp,value\n2020-01-01,1 €\n".encode("cp1252"),
        "series-nul.csv": b"timestamp,value\n2020-01-01,1\x00\n",
    }
    out = {}
    for name, data in files.items():
        (d / name).write_bytes(data)
        out[name] = d / name
    (d / "a-directory").mkdir()
    out["a-directory"] = d / "a-directory"
    out["missing.jsonl"] = d / "missing.jsonl"
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return hostile_files(tmp_path_factory.mktemp("hostile"))


# (file, --format, what stderr must say, with {f} for the file's path)
BACKTEST_CASES = [
    ("empty.jsonl", "jsonl", "{f}: empty file"),
    ("a-directory", "jsonl", "{f}: cannot read: Is a directory"),
    ("missing.jsonl", "jsonl", "{f}: cannot read: No such file or directory"),
    ("binary.jsonl", "jsonl", "{f}:1: not UTF-8 text: invalid start byte at byte 0"),
    ("utf16.jsonl", "jsonl", "{f}: UTF-16 text (byte-order mark): save it as UTF-8"),
    ("cp1252.jsonl", "jsonl", "{f}:1: not UTF-8 text: invalid continuation byte"),
    ("nested.jsonl", "jsonl", "{f}:1: arrays and objects nest deeper than 32"),
    ("nul.jsonl", "mie", "{f}:1: micnum: missing column(s) micnum"),  # the wrong --format
    ("nul.jsonl", "sipri", "{f}: no header line whose first cell is 'Recipient'"),
    ("header-only.csv", "mie", "{f}: no data rows"),
]


@pytest.mark.parametrize("name,fmt,says", BACKTEST_CASES, ids=[f"{c[0]}-{c[1]}" for c in BACKTEST_CASES])
def test_backtest_of_a_file_with_nothing_usable_says_where_and_fails(files, tmp_path, name, fmt, says):
    res = run("backtest", files[name], "--format", fmt, "--alerts-out", tmp_path / "alerts.csv")
    assert res.returncode == 2, res.stderr
    assert says.format(f=files[name]) in res.stderr
    assert "Traceback" not in res.stderr


def test_without_format_a_hostile_file_is_still_one_clear_error(files, tmp_path):
    hostile = [f for name, f in files.items() if not name.startswith("series-")]
    res = run("backtest", *hostile, "--alerts-out", tmp_path / "alerts.csv")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    for f in hostile:
        assert f"rejected: {f}" in res.stderr
    assert f"rejected: {files['nested.jsonl']}: cannot tell the format from the first lines" in res.stderr
    assert f"rejected: {files['header-only.csv']}: no data rows" in res.stderr  # told: MIE's header


def test_the_wrong_format_rejects_every_row_and_fails_naming_the_format_without_a_line_for_each_row(tmp_path):
    res = run("backtest", MIE, "--format", "jsonl", "--alerts-out", tmp_path / "alerts.csv")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{MIE}:2: not JSON: Extra data" in res.stderr
    listed = [line for line in res.stderr.splitlines() if line.startswith(f"rejected: {MIE}:")]
    assert len(listed) == SHOWN_WHEN_NOTHING_USABLE  # not 483 lines
    assert f"rejected: ... and {483 - SHOWN_WHEN_NOTHING_USABLE} more rows, not listed" in res.stderr
    assert (f"no usable record in {MIE} (483 rows rejected, the first few listed above): "
            f"check that --format jsonl is their format; they read as --format mie") in res.stderr


def test_without_format_each_file_is_read_in_the_format_its_first_lines_show(tmp_path):
    sipri = ROOT / "streams" / "data" / "sipri-trade-register-central-asia.csv"
    alerts = tmp_path / "alerts.csv"
    res = run("backtest", MIE, sipri, "--alerts-out", alerts)
    assert res.returncode == 0, res.stderr
    assert f"format told from the first lines: {MIE} mie, {sipri} sipri" in res.stderr
    assert "1278 records (0 rejected" in res.stderr  # the 482 MIE rows and the 796 SIPRI deliveries
    summaries = alerts.read_text(encoding="utf-8")
    assert "arms race in" in summaries and "Kyrgyzstan–Uzbekistan" in summaries  # both files were read
    unknown = tmp_path / "counts.csv"
    unknown.write_text("country,month,events\nKyrgyzstan,2021-01-01,3\n", encoding="utf-8")
    res = run("backtest", unknown, "--alerts-out", alerts)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"rejected: {unknown}: cannot tell the format from the first lines: give --format (mie, sipri," in res.stderr


def test_every_rejected_row_is_listed_when_some_rows_are_usable(tmp_path):
    f = tmp_path / "mixed.jsonl"
    f.write_text("".join(["not json\n"] * (SHOWN_WHEN_NOTHING_USABLE + 5) + [json.dumps(incident("ok-1")) + "\n"]))
    res = run("backtest", f, "--format", "jsonl", "--alerts-out", tmp_path / "alerts.csv")
    assert res.returncode == 0, res.stderr
    listed = [line for line in res.stderr.splitlines() if line.startswith(f"rejected: {f}:")]
    assert len(listed) == SHOWN_WHEN_NOTHING_USABLE + 5 and "not listed" not in res.stderr


def test_nul_bytes_are_reported_and_the_good_rows_still_load(files, tmp_path):
    f = files["nul.jsonl"]
    res = run("backtest", f, "--format", "jsonl", "--alerts-out", tmp_path / "alerts.csv")
    assert res.returncode == 0, res.stderr
    assert f"rejected: {f}:1: not JSON: Invalid control character" in res.stderr
    assert f"rejected: {f}:2: source: contains a control character (such as NUL)" in res.stderr
    assert "1 record (2 rejected)" in res.stderr


def test_replay_of_nothing_usable_fails_before_asking_a_broker(files):
    broker = f"kafka://127.0.0.1:{free_port()}"  # nothing listens: reaching it would fail differently
    for name, says in (("empty.jsonl", "{f}: empty file"), ("utf16.jsonl", "{f}: UTF-16 text"),
                       ("binary.jsonl", "{f}:1: not UTF-8 text")):
        res = run("replay", files[name], "--format", "jsonl", "--broker", broker)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert says.format(f=files[name]) in res.stderr and "no usable record" in res.stderr
        assert "borderwatch broker" not in res.stderr


SCORE_CASES = [
    ("empty.jsonl", "{f}: no rows"),
    ("a-directory", "{f}: cannot read: Is a directory"),
    ("missing.jsonl", "{f}: cannot read: No such file or directory"),
    ("binary.jsonl", "{f}:1: not UTF-8 text"),
    ("series-utf16.csv", "{f}: UTF-16 text (byte-order mark)"),
    ("series-cp1252.csv", "{f}:2: not UTF-8 text"),
    ("series-nul.csv", "{f}:2: value: not a finite number: '1\\x00'"),
    ("nested.jsonl", "{f}:1: the header must be 'timestamp,value'"),
    ("header-only.csv", "{f}:1: the header must be 'timestamp,value'"),  # a MIE file: the wrong kind
]


@pytest.mark.parametrize("name,says", SCORE_CASES, ids=[c[0] for c in SCORE_CASES])
def test_score_of_a_hostile_file_says_where_and_fails(files, tmp_path, name, says):
    out = tmp_path / "scores.csv"
    res = run("score", "--input", files[name], "--output", out)
    assert res.returncode == 2, res.stderr
    assert says.format(f=files[name]) in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


@pytest.mark.parametrize("args", [("segments", "--json"), ("backtest", MIE, "--format", "mie", "--alerts-out", "-")],
                         ids=["segments", "backtest"])
def test_a_closed_stdout_ends_quietly(args):
    # Nobody reads by the time it writes (it takes a second to start): the write fails at once.
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and b"Traceback" not in err and b"BrokenPipe" not in err, err


def test_a_pipe_into_head_ends_quietly():
    # As a user types it. Whether the pipe closes before the last write depends on the pipe's size,
    # so the status is 0 or 141; never a traceback.
    cmd = f"{sys.executable} -m streams.cli segments --json | head -1; echo \"status ${{PIPESTATUS[0]}}\" >&2"
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.stdout == "[\n" and res.stderr in ("status 0\n", "status 141\n"), res.stderr
