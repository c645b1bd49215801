"""The bench's CPU accounting (bench/harness.py): what its figures say each process cost."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.harness import CpuMeter, cpu_seconds, parse_cpu_ticks


def test_cpu_ticks_are_utime_plus_stime_even_with_spaces_and_parens_in_the_name():
    rest = "S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 12345 0 0"
    assert parse_cpu_ticks(f"4242 (python) {rest}") == 300
    assert parse_cpu_ticks(f"4242 (a (b) c) {rest}") == 300


def test_cores_are_cpu_seconds_over_wall_seconds_per_process():
    used = {10: [1.0, 2.5], 20: [4.0, 4.2]}
    clock = iter([100.0, 102.0])
    meter = CpuMeter({"worker": 10, "broker": 20}, clock=lambda: next(clock),
                     read=lambda pid, tree: used[pid].pop(0))
    meter.start()
    cores = meter.cores()
    assert cores["worker"] == 0.75 and cores["broker"] == 0.1
    assert cores["machine_cores"] >= 1


def test_a_process_named_alone_is_read_without_its_children():
    trees = []
    meter = CpuMeter({"bench": 1, "worker": 2}, alone=("bench",), clock=lambda: 0.0,
                     read=lambda pid, tree: trees.append((pid, tree)) or 0.0)
    meter.start()
    assert sorted(trees) == [(1, False), (2, True)]


def test_a_process_that_ended_meanwhile_has_no_figure_rather_than_a_negative_one():
    used = {10: [3.0, 0.0]}  # /proc forgets a process's CPU time with the process
    clock = iter([0.0, 1.0])
    meter = CpuMeter({"worker": 10}, clock=lambda: next(clock), read=lambda pid, tree: used[pid].pop(0))
    meter.start()
    assert meter.cores()["worker"] is None


def test_cores_before_start_is_a_mistake():
    with pytest.raises(RuntimeError, match="before start"):
        CpuMeter({"x": 1}).cores()


BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"


def test_a_tree_counts_the_live_children_a_process_alone_does_not():
    # A parent burns 0.3 s of CPU and starts a child that burns as much, then both wait on stdin:
    # CPU time, not sleeps, decides when they are ready to be read.
    child = BURN + "print('burnt', flush=True)\nimport sys\nsys.stdin.read()\n"
    parent = (f"import subprocess, sys\nc = subprocess.Popen([sys.executable, '-c', {child!r}], "
              "stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
              "c.stdout.readline()\n" + BURN + "print('burnt', flush=True)\nsys.stdin.read()\n"
              "c.stdin.close(); c.wait()\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "burnt"
        alone, tree = cpu_seconds(proc.pid), cpu_seconds(proc.pid, tree=True)
        assert alone >= 0.29
        assert tree >= alone + 0.29
    finally:
        proc.stdin.close()
        proc.wait(30)


def test_a_process_gone_counts_nothing():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(30)
    assert cpu_seconds(proc.pid, tree=True) == 0.0


def test_the_latency_splits_at_segment_events_and_the_two_hops_add_up_to_the_whole():
    from bench.latency import hops, latencies
    from streams.topics import Envelope

    stamps = {"2020-01-01T00:00:00Z": 100.0, "2020-01-02T00:00:00Z": 101.0, "2019-12-31T00:00:00Z": 90.0}
    alerts = [(100.25, {"at": "2020-01-01T00:00:00Z", "transition": "opened"}),
              (101.5, {"at": "2020-01-02T00:00:00Z", "transition": "escalated"}),
              (101.6, {"at": "2020-01-02T00:00:00Z", "transition": "resolved"}),  # not raised by an incident
              (90.5, {"at": "2019-12-31T00:00:00Z", "transition": "opened"})]  # sent in the warm-up
    routed = [(100.05, Envelope("spill", "B-1", [{"occurred_at": "2020-01-01T00:00:00Z"}])),  # a copy: not the hop
              (100.1, Envelope("incident", "A-1", [{"occurred_at": "2020-01-01T00:00:00Z"}])),
              (101.2, Envelope("incident", "A-1", [{"occurred_at": "2020-01-02T00:00:00Z"}]))]
    whole = latencies(stamps, alerts, since=95.0)
    first, second = hops(stamps, alerts, routed, since=95.0)
    assert [round(x, 3) for x in whole] == [0.25, 0.5]
    assert [round(x, 3) for x in first] == [0.1, 0.2] and [round(x, 3) for x in second] == [0.15, 0.3]


def test_the_drift_compares_the_first_and_the_last_third_of_the_measured_time():
    from bench.latency import thirds, within

    first, last = thirds(10.0, 40.0)
    assert first == (10.0, 20.0) and last == (30.0, 40.0)
    stamps = {f"t{i}": float(i) for i in range(5, 41, 5)}  # sent at 5, 10, ..., 40
    alerts = [(sent + sent / 100, {"at": at, "transition": "opened"}) for at, sent in stamps.items()]
    assert [round(x, 2) for x in within(stamps, alerts, first)] == [0.1, 0.15]  # 5 is before, 20 after
    assert [round(x, 2) for x in within(stamps, alerts, last)] == [0.3, 0.35]  # the end is excluded


def test_the_cores_by_third_keep_a_last_third_cut_short_by_the_end_of_sending():
    from bench.latency import ThirdsMeter

    now = [0.0]
    used = {0.0: 0.0, 10.0: 5.0, 20.0: 9.0, 25.0: 14.0}  # the worker's CPU seconds at each time

    def waits(seconds):  # time passes at once; the last third is cut short 5 s in
        stopping = now[0] == 20.0
        now[0] += 5.0 if stopping else seconds
        return stopping

    third = ThirdsMeter(CpuMeter({"worker": 1}, clock=lambda: now[0], read=lambda pid, tree: used[now[0]]),
                        seconds=30.0, wait=waits)
    third.start()
    cores = third.stop()
    assert cores["first_third"]["worker"] == 0.5  # 5 CPU seconds over 10
    assert cores["last_third"]["worker"] == 1.0  # 5 CPU seconds over the 5 before the end


def test_the_cores_by_third_are_not_made_up_when_sending_ends_before_a_third():
    from bench.latency import ThirdsMeter

    third = ThirdsMeter(CpuMeter({"worker": 1}, read=lambda pid, tree: 0.0), seconds=3000.0)
    third.start()
    assert third.stop() == {}


def test_the_relay_floor_times_each_record_from_its_send_to_its_relayed_copy_within_the_span():
    from bench.relay import latencies

    stamps = {"2020-01-01T00:00:00Z": 100.0, "2020-01-02T00:00:00Z": 101.0, "2019-12-31T00:00:00Z": 90.0}
    relayed = [(100.05, {"occurred_at": "2020-01-01T00:00:00Z"}),
               (101.25, {"occurred_at": "2020-01-02T00:00:00Z"}),
               (90.5, {"occurred_at": "2019-12-31T00:00:00Z"}),  # sent in the warm-up
               (102.0, {"occurred_at": "2021-01-01T00:00:00Z"})]  # not one the bench sent
    assert [round(x, 3) for x in latencies(stamps, relayed, (95.0, float("inf")))] == [0.05, 0.25]
    assert [round(x, 3) for x in latencies(stamps, relayed, (95.0, 101.0))] == [0.05]


def test_the_flatness_pairs_the_years_so_a_machine_slowing_down_between_them_does_not_count():
    from bench.state import PAIRS, paired_flatness

    items = [(0, b"a")] * 10 + [(1, b"b")] * 5 + [(3, b"d")] * 20
    calls = []

    def replay(pipeline, raws, encoded):  # year 4 costs 1.25x year 1; the machine halves its speed after two pairs
        calls.append((raws[0], encoded))
        per_event = (1.25 if raws[0] == b"d" else 1.0) * (1.0 if len(calls) <= 4 else 2.0)
        return per_event * len(raws)

    assert paired_flatness(None, items, {"KAZ-UZB": b"state"}, replay=replay) == 0.8
    assert calls == [(b"a", {}), (b"d", {"KAZ-UZB": b"state"})] * PAIRS


def test_bench_ab_refuses_what_it_cannot_measure_in_one_line():
    from bench.ab import main

    with pytest.raises(SystemExit, match="--runs must be 1 or more"):
        main(["HEAD", "--runs", "0"])
    with pytest.raises(SystemExit, match="cannot check out 'no-such-commit-anywhere'"):
        main(["no-such-commit-anywhere"])
