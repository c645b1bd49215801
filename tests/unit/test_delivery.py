"""The notify chain and its delivery log: mute, dedup, retry with injected time, record; the file sink."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from alerts.notify.delivery import DeliveryLog, Notifier, RetryPolicy
from alerts.notify.sinks import build_sink
from alerts.notify.sinks.base import Sink, SinkConfigError, SinkError
from alerts.notify.sinks.file import FileSink
from streams.metrics import Metrics
from tests.notice_fixtures import NOW, renderer, request


class ScriptedSink(Sink):
    """Fails as scripted (a list of SinkErrors or None for success), counting accepted notices."""

    type = "scripted"

    def __init__(self, script=(), name: str = "scripted:1") -> None:
        self.script, self.name, self.accepted, self.calls = list(script), name, [], 0

    def send(self, notice) -> None:
        self.calls += 1
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.accepted.append(notice)


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = NOW, []

    def __call__(self):
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def notifier(tmp_path, sinks, **kw) -> tuple[Notifier, Clock]:
    clock = Clock()
    n = Notifier(DeliveryLog(tmp_path / "delivery.jsonl"), {"secretariat-KGZ": sinks}, renderer(),
                 sleep=clock.sleep, clock=clock, **kw)
    return n, clock


def test_second_notify_and_a_restart_deliver_nothing_more(tmp_path):
    sink = ScriptedSink()
    n, _ = notifier(tmp_path, [sink])
    assert [o.status for o in n.notify(request())] == ["delivered"]
    assert [o.status for o in n.notify(request())] == ["duplicate"]
    restarted, _ = notifier(tmp_path, [sink])  # a new process reads the same log
    assert [o.status for o in restarted.notify(request())] == ["duplicate"]
    assert len(sink.accepted) == 1 and sink.calls == 1


def test_retries_back_off_exponentially_on_injected_time(tmp_path):
    down = SinkError("HTTP 503", retryable=True)
    sink = ScriptedSink([down, down, down])
    n, clock = notifier(tmp_path, [sink], retry=RetryPolicy(attempts=5, initial=2, factor=2, max_delay=5))
    [out] = n.notify(request())
    assert (out.status, out.attempts) == ("delivered", 4)
    assert clock.slept == [2, 4, 5]
    kinds = [r["kind"] for r in n.log.records()]
    assert kinds == ["failed", "failed", "failed", "delivered"]
    assert n.log.records()[-1]["at"] == "2026-11-23T09:00:11Z"


def test_permanent_errors_are_not_retried_and_exhausted_retries_stop(tmp_path):
    sink = ScriptedSink([SinkError("HTTP 400", retryable=False)])
    n, clock = notifier(tmp_path, [sink])
    [out] = n.notify(request())
    assert (out.status, out.attempts, clock.slept) == ("failed", 1, [])
    always = ScriptedSink([SinkError("down", retryable=True)] * 10, name="scripted:2")
    n2, clock2 = notifier(tmp_path / "2", [always], retry=RetryPolicy(attempts=3, initial=1))
    [out2] = n2.notify(request())
    assert (out2.status, out2.attempts, clock2.slept) == ("failed", 3, [1, 2])
    # a later dispatch of the same notice tries again: only deliveries are deduplicated
    always.script = []
    assert [o.status for o in n2.notify(request())] == ["delivered"]


def test_restart_between_attempts_sends_once(tmp_path):
    sink = ScriptedSink([SinkError("connection refused", retryable=True)])
    n, _ = notifier(tmp_path, [sink], retry=RetryPolicy(attempts=1))
    assert [o.status for o in n.notify(request())] == ["failed"]  # the process dies here
    for _ in range(2):
        restarted, _ = notifier(tmp_path, [sink])
        restarted.notify(request())
    assert len(sink.accepted) == 1


def test_one_failing_sink_does_not_hold_back_or_repeat_the_others(tmp_path):
    good, bad = ScriptedSink(name="good"), ScriptedSink([SinkError("down", retryable=True)], name="bad")
    n, _ = notifier(tmp_path, [good, bad], retry=RetryPolicy(attempts=1))
    assert [o.status for o in n.notify(request())] == ["delivered", "failed"]
    assert [o.status for o in n.notify(request())] == ["duplicate", "delivered"]
    assert len(good.accepted) == 1 and len(bad.accepted) == 1


def test_muted_requests_send_nothing_and_record_nothing(tmp_path):
    sink = ScriptedSink()
    metrics = Metrics(CollectorRegistry())
    n, _ = notifier(tmp_path, [sink], mute=lambda req: "silenced by s-1", metrics=metrics)
    [out] = n.notify(request())
    assert (out.status, out.error) == ("muted", "silenced by s-1")
    assert sink.calls == 0 and n.log.records() == []
    assert metrics.registry.get_sample_value("borderwatch_notice_deliveries_total",
                                             {"sink": "scripted", "outcome": "muted"}) == 1


def test_the_next_notice_says_what_changed_since_the_last_one_delivered(tmp_path):
    sink = ScriptedSink()
    n, _ = notifier(tmp_path, [sink])
    n.notify(request(level="warning", notice_id="nt-1", evidence=("inc-public",)))
    restarted, _ = notifier(tmp_path, [sink])
    restarted.notify(request(level="critical", notice_id="nt-2"))
    assert "Kyrgyzstan–Tajikistan km 360–420, near Isfara and Batken: escalated from warning to critical." in sink.accepted[1].changes


def test_a_notice_completed_on_another_sink_keeps_its_own_comparison(tmp_path):
    a, b = ScriptedSink(name="a"), ScriptedSink([SinkError("down", retryable=True)], name="b")
    n, _ = notifier(tmp_path, [a, b], retry=RetryPolicy(attempts=1))
    n.notify(request(level="warning", notice_id="nt-1", evidence=("inc-public",)))
    n.notify(request(level="critical", notice_id="nt-2"))
    n.notify(request(level="critical", notice_id="nt-2"))  # b gets nt-2 now
    assert b.accepted[-1].notice_id == "nt-2"
    assert "Kyrgyzstan–Tajikistan km 360–420, near Isfara and Batken: escalated from warning to critical." in b.accepted[-1].changes


def test_delivery_log_cuts_a_torn_last_line(tmp_path):
    path = tmp_path / "delivery.jsonl"
    log = DeliveryLog(path)
    log.append({"kind": "delivered", "notice_id": "nt-1", "sink": "s", "receiver": "r", "group_key": "g",
                "at": "2026-11-23T09:00:00Z", "summary": {}})
    with open(path, "ab") as f:
        f.write(b'{"kind":"delivered","notice_id":"nt-2"')  # the crash
    again = DeliveryLog(path)
    assert again.delivered("nt-1", "s") and not again.delivered("nt-2", "s")
    again.append({"kind": "failed", "notice_id": "nt-2", "sink": "s", "at": "x"})
    assert [json.loads(line)["kind"] for line in path.read_text().splitlines()] == ["delivered", "failed"]


def test_file_sink_writes_html_pdf_json_atomically_once(tmp_path):
    sink = build_sink({"type": "file", "dir": str(tmp_path / "drop")})
    n, _ = notifier(tmp_path, [sink])
    n.notify(request())
    files = sorted(os.listdir(tmp_path / "drop"))
    assert files == ["nt-kgz-1.html", "nt-kgz-1.json", "nt-kgz-1.pdf"]  # no temp files left behind
    assert json.loads((tmp_path / "drop" / "nt-kgz-1.json").read_text())["notice_id"] == "nt-kgz-1"
    assert (tmp_path / "drop" / "nt-kgz-1.pdf").read_bytes().startswith(b"%PDF")
    before = (tmp_path / "drop" / "nt-kgz-1.pdf").stat().st_mtime_ns
    # the log lost (crash before the record): the sink itself sees the complete notice and writes nothing
    FileSink(tmp_path / "drop").send(renderer()(request(), None))
    assert (tmp_path / "drop" / "nt-kgz-1.pdf").stat().st_mtime_ns == before


def test_file_sink_errors_are_sink_errors(tmp_path):
    (tmp_path / "blocker").write_text("a file where the directory should be")
    with pytest.raises(SinkError) as exc:
        FileSink(tmp_path / "blocker" / "drop").send(renderer()(request(), None))
    assert exc.value.retryable


@pytest.mark.parametrize("config, message", [
    ({"type": "fax", "number": "1"}, "unknown sink type 'fax'"),
    ({"type": "file", "dir": "/x", "mode": "0600"}, "unknown key(s) mode"),
    ({"type": "file"}, "missing key 'dir'"),
    ({"type": "webhook", "url": "http://127.0.0.1:1/", "secret_file": "/nonexistent"}, "cannot read secret_file"),
    ({"type": "smtp", "host": "h", "port": "25", "from": "a@b", "to": ["c@d"], "starttls": False}, "'port' must be int"),
    ({"type": "smtp", "host": "h", "port": True, "from": "a@b", "to": ["c@d"], "starttls": False}, "'port' must be int"),
    ({"type": "smtp", "host": "h", "port": 25, "from": "a@b", "to": ["c"], "starttls": False}, "list of addresses"),
    ({"type": "alertmanager", "url": "ftp://x"}, "url must be http(s)"),
])
def test_sink_configs_are_checked_strictly(config, message):
    with pytest.raises(SinkConfigError) as exc:
        build_sink(config)
    assert message in str(exc.value)


def test_sink_names_key_the_log_and_are_stable():
    assert build_sink({"type": "alertmanager", "url": "http://127.0.0.1:9093/"}).name == \
        "alertmanager:http://127.0.0.1:9093"
    assert build_sink({"type": "smtp", "host": "mx", "port": 25, "from": "a@b", "to": ["z@d", "c@d"],
                       "starttls": True}).name == "smtp:mx:25:c@d,z@d"
    assert build_sink({"type": "file", "dir": "/x", "name": "kg-drop"}).name == "kg-drop"


def test_a_group_with_nothing_for_the_receiver_is_withheld_not_sent(tmp_path):
    from alerts.notify.notices import NoticeRequest
    from tests.notice_fixtures import alert

    sink = ScriptedSink()
    n, _ = notifier(tmp_path, [sink])
    secret_alert = dict(alert(), releasable_to=["TJK"])
    [out] = n.notify(NoticeRequest("secretariat-KGZ", "g", (secret_alert,), "new", "nt-x"))
    assert out.status == "withheld" and sink.calls == 0 and n.log.records() == []


def test_a_sink_bug_fails_that_sink_only(tmp_path):
    class Broken(Sink):
        type, name = "broken", "broken"

        def send(self, notice):
            raise KeyError("oops")

    good = ScriptedSink()
    n, clock = notifier(tmp_path, [Broken(), good])
    assert [(o.status, o.attempts) for o in n.notify(request())] == [("failed", 1), ("delivered", 1)]
    assert clock.slept == []


def test_retry_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
