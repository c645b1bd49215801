"""The soak harness's analysis (bench/soak.py): pure functions over samples and offsets."""

from __future__ import annotations

import json

import pytest

from bench.soak import (
    Backlog,
    SoakError,
    drain_seconds,
    growth_per_alerts,
    lag,
    parse_vmrss_mb,
    rss_after_warmup,
    to_json,
    verdict,
    warmup_end,
)


def test_vmrss_is_read_in_mib():
    status = "Name:\tpython\nVmPeak:\t  300000 kB\nVmRSS:\t  153600 kB\nRssAnon:\t  100000 kB\n"
    assert parse_vmrss_mb(status) == 150.0


def test_a_status_without_vmrss_is_a_gone_process():
    with pytest.raises(SoakError, match="exited"):
        parse_vmrss_mb("Name:\tzombie\nState:\tZ (zombie)\n")


def test_lag_sums_each_partition_from_its_committed_offset_and_none_committed_is_zero():
    end = {"in/0": 10, "in/1": 5, "in/2": 0}
    assert lag(end, {"in/0": 7, "in/1": None}) == 3 + 5
    assert lag(end, {"in/0": 12, "in/1": 5, "in/2": 0}) == 0  # committed read after the end: not negative


def test_backlog_counts_input_at_the_end_then_the_internal_topic_frozen_once_input_is_committed():
    b = Backlog({"in/0": 100, "in/1": 50})
    # input behind: the internal topic's end still moves (the ingest stage forwards what it reads)
    assert b.update({"in/0": 80, "in/1": 50}, {"seg/0": 40}, {"seg/0": 30}) == 20 + 10
    assert b.update({"in/0": 95, "in/1": 50}, {"seg/0": 60}, {"seg/0": 30}) == 5 + 30
    # input all committed: the internal end is frozen here
    assert b.update({"in/0": 100, "in/1": 50}, {"seg/0": 70}, {"seg/0": 65}) == 5
    # ticks keep coming (input end 140 and internal end 90 now): they are not backlog
    assert b.update({"in/0": 100, "in/1": 50}, {"seg/0": 90}, {"seg/0": 70}) == 0
    assert b.update({"in/0": 100, "in/1": 50}, {"seg/0": 95}, {"seg/0": 71}) == 0


def test_warmup_is_the_first_fifth_unless_given_and_within_the_run():
    assert warmup_end(600) == 120
    assert warmup_end(600, 60) == 60
    assert warmup_end(20, 90) == 20
    assert warmup_end(600, -5) == 0


def samples(*rows):
    return [dict(zip(("t", "rss_mb", "backlog"), r)) for r in rows]


def test_rss_after_warmup_is_min_max_and_spread_of_the_samples_from_the_cut_on():
    s = samples((0, 70.0, None), (60, 95.0, None), (120, 100.0, None), (300, 104.0, None), (600, 108.0, None),
                (605, 107.0, 0))
    assert rss_after_warmup(s, 120) == {"samples": 4, "min": 100.0, "max": 108.0, "spread_pct": 8.0}
    assert rss_after_warmup(s, 0)["spread_pct"] == pytest.approx(54.3)
    assert rss_after_warmup(s, 700) is None


def test_drain_is_the_first_sample_at_or_after_the_end_with_no_backlog():
    s = samples((590, 100, None), (600.5, 100, 40), (601.5, 100, 3), (602.5, 100, 0), (603.5, 100, 0))
    assert drain_seconds(s, 600.2) == 2.3
    assert drain_seconds(s[:3], 600.2) is None
    # a backlog of 0 before the end (no such thing is sampled, but) does not count
    assert drain_seconds(samples((10, 1, 0), (20, 1, 5)), 15) is None


def test_growth_per_thousand_alerts_runs_from_the_warmup_cut_to_the_last_sample():
    rows = [{"t": 0, "rss_mb": 70.0, "alerts": 0}, {"t": 120, "rss_mb": 130.0, "alerts": 900},
            {"t": 300, "rss_mb": 140.0, "alerts": 1900}, {"t": 605, "rss_mb": 150.0, "alerts": 2900}]
    assert growth_per_alerts(rows, 120) == 10.0  # 20 MB over 2000 alerts
    assert growth_per_alerts(rows, 300, per=1) == 0.01
    assert growth_per_alerts(rows, 600) is None  # one sample
    assert growth_per_alerts([dict(r, alerts=5) for r in rows], 120) is None  # no alert opened


def test_verdict_judges_rss_spread_and_drain_time_against_their_limits():
    ok = {"spread_pct": 10.0}
    assert verdict(ok, 60.0) == {"rss_within_limit_after_warmup": True, "lag_zero_within_limit_after_end": True}
    assert verdict({"spread_pct": 10.1}, 12.0)["rss_within_limit_after_warmup"] is False
    assert verdict(ok, 61.0)["lag_zero_within_limit_after_end"] is False
    assert verdict(None, None) == {"rss_within_limit_after_warmup": False, "lag_zero_within_limit_after_end": False}
    assert verdict({"spread_pct": 14.0}, 5.0, rss_limit_pct=15)["rss_within_limit_after_warmup"] is True


def test_the_report_is_json_with_one_sample_a_line():
    report = {"rate_asked_per_s": 200.0, "criteria": {"a": True}, "pass": True,
              "samples": [{"t": 0.0, "rss_mb": 70.1}, {"t": 5.0, "rss_mb": 80.2, "backlog": None}]}
    text = to_json(report)
    assert json.loads(text) == report
    lines = text.splitlines()
    assert '    {"t": 0.0, "rss_mb": 70.1},' in lines and '    {"t": 5.0, "rss_mb": 80.2, "backlog": null}' in lines
    assert json.loads(to_json(dict(report, samples=[]))) == dict(report, samples=[])
