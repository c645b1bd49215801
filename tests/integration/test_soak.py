"""The soak harness (``make soak``) for a few seconds at a low rate: its own broker and worker, its report."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Production time and rate of the smoke run; with start-up and drain it stays well under a minute.
SECONDS, RATE = 12, 25
DEADLINE = 55


@pytest.mark.timeout(DEADLINE + 30)
def test_a_short_soak_reports_samples_every_record_processed_and_the_lag_drained():
    cmd = [sys.executable, "-m", "bench.soak", "--seconds", str(SECONDS), "--rate", str(RATE), "--sample", "2",
           "--drain-limit", "20", "--ready-timeout", "30"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the harness stops its worker and broker on SIGTERM
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"the soak smoke run took over {DEADLINE} s:\n{err}")
    assert proc.returncode in (0, 1), f"status {proc.returncode}:\n{err}"  # 1: a criterion failed (judged below)
    assert "Traceback" not in err, err
    report = json.loads(out)

    produced = report["produced"]["total"]
    assert produced == SECONDS * RATE
    assert report["produced"]["incidents"] + report["produced"]["arms_transfers"] == produced
    samples = report["samples"]
    assert len(samples) >= SECONDS // 2
    assert [s["t"] for s in samples] == sorted(s["t"] for s in samples)
    assert all(s["rss_mb"] > 10 and s["lag"] >= 0 for s in samples)
    assert samples[-1]["produced"] == produced
    # every record read by the worker, by its own counters; nothing dead-lettered
    assert samples[-1]["processed"] >= produced
    assert report["processed"]["events"] >= produced and report["processed_all"] is True
    assert report["processed"]["dead_letters"] == 0
    # the backlog drained, and the verdict says so
    drained = report["lag"]["seconds_to_zero_after_end"]
    assert drained is not None and drained <= 20
    assert samples[-1]["backlog"] == 0
    assert report["criteria"]["lag_zero_within_limit_after_end"] is True
    assert set(report["criteria"]) == {"rss_within_limit_after_warmup", "lag_zero_within_limit_after_end"}
    assert report["pass"] == all(report["criteria"].values()) and (proc.returncode == 0) == report["pass"]
    assert report["rss_mb"]["after_warmup"]["samples"] >= 1
    # and it left no worker behind
    pid = int(re.search(r"worker pid (\d+) ready", err).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
