"""Two workers on one app id: one notifier, owned through Kafka; each notice once; evidence from either.

Both workers may notify (``--notify 1``, the default). The member of the notifier consumer group
that holds the notifier topic's partition sends every notice; the delivery log is a topic both
read; each alerting segment's evidence is published with its alert, so the notifier has it for
segments the other worker owns. The owner is killed with SIGKILL mid-stream: the other takes the
notifier over, reads the delivery log to its end, and sends nothing a second time.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from streams.backtest import run_backtest
from streams.replay import replay
from streams.settings import load_settings
from streams.worker import build_pipeline
from tests.conftest import DATA, wait_for
from tests.integration.test_notify import POLICY
from tests.integration.test_worker import alert_events, all_resolved, incident, metric

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]

RECEIVERS = ("operators", "secretariat-KGZ", "secretariat-TJK", "secretariat-UZB")

OWNER = "borderwatch_notifier_owner"


def owner_gauge(worker) -> float | None:
    try:
        return metric(worker, OWNER)
    except OSError:
        return None


def the_notifier(workers):
    """The one worker whose gauge says it notifies, when exactly one does and the others say they do not."""
    gauges = [owner_gauge(w) for w in workers]
    if sorted(gauges) == [0.0] * (len(workers) - 1) + [1.0]:
        return workers[gauges.index(1.0)]
    return None


def lookups(worker) -> dict[str, float]:
    """Where this worker's segment evidence came from, by source (table, snapshot, none)."""
    return {src: metric(worker, f'borderwatch_segment_context_lookups_total{{source="{src}"}}')
            for src in ("table", "snapshot", "none")}


def delivered(topic_reader, topic) -> list[dict]:
    return [r for r in (json.loads(m.value) for m in topic_reader(topic)) if r["kind"] == "delivered"]


def confirm(worker, notice_id: str, token: str) -> int:
    """POST the notice link's confirm form (no sign-in: the token is the authority); the status."""
    req = urllib.request.Request(f"{worker.base}/notices/{notice_id}/confirm", data=urlencode({"token": token}).encode(),
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def stays(predicate, seconds: float, timeout: float, message: str) -> None:
    """Wait until ``predicate()`` has held at every poll for ``seconds`` (quiescence, with a deadline)."""
    since = [None]

    def held():
        if not predicate():
            since[0] = None
            return False
        since[0] = since[0] or time.monotonic()
        return time.monotonic() - since[0] >= seconds

    wait_for(held, timeout=timeout, interval=0.5, message=message)


def test_two_workers_one_notifier_each_notice_once_with_evidence_and_the_killed_owners_successor_sends_nothing_again(
        worker_factory, topic_reader, producer, tmp_path):
    notices = tmp_path / "notices"
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY.replace("dir: notices/", f"dir: {notices}/"))  # one place for both workers' files
    secret = tmp_path / "notice-secret"
    secret.write_text("a-notice-secret-both-workers-share\n")
    env = {"BORDERWATCH_POLICY_FILE": str(policy), "BORDERWATCH_NOTICE_SECRET_FILE": str(secret),
           "BORDERWATCH_IDLE_SECONDS": "10"}
    first = worker_factory(**env)
    second = worker_factory(app_id=first.app_id, **env)
    second.tmp = tmp_path / "second"  # its own data directory
    second.tmp.mkdir()
    first.start()
    second.start()
    workers = [first, second]
    owner = wait_for(lambda: the_notifier(workers), timeout=60, message="exactly one notifier")
    other = second if owner is first else first
    topics = first.topics

    mie = str(DATA / "mie-1.0-central-asia.csv")
    expected = run_backtest([mie], "mie", build_pipeline(load_settings({}, environ={}))).history.rows()
    res = replay([mie], "mie", first.broker.url, topics=topics)
    assert res.sent > 400
    # Notices for segments on the other worker's partitions: their evidence came from the snapshots.
    wait_for(lambda: lookups(owner)["snapshot"] > 0 and delivered(topic_reader, topics.notice_log), timeout=120,
             message="a notice about a segment the other worker owns")
    assert the_notifier(workers) is owner, "one notifier while both run"
    assert "(ownership 2)" not in owner.log(), "the other worker's joins did not restart the notifier"
    assert lookups(owner)["none"] == 0, lookups(owner)
    before_kill = {(r["notice_id"], r["sink"]) for r in delivered(topic_reader, topics.notice_log)}
    # A desk's link reaches the worker that did not send the notice: it has the delivery log too.
    notice = json.loads(wait_for(lambda: next((notices / "secretariat-KGZ").glob("*.json"), None), timeout=30,
                                 message="a notice to the KGZ desk").read_text())
    link = urlsplit(notice["ack_url"])
    notice_id, token = link.path.rsplit("/n/", 1)[1], parse_qs(link.query)["t"][0]
    wait_for(lambda: confirm(other, notice_id, token) == 200, timeout=30, message="the other worker to take the ack")
    # ...and serves the notice's CAP download, from the delivery log (the notice is not in its archive)
    assert not list(other.tmp.glob(f"data-*/notices/archive/{notice_id}.json"))
    with other.get(f"/notices/{notice_id}/cap") as resp:
        assert resp.status == 200 and notice_id.encode() in resp.read()
    acks = [json.loads(m.value) for m in topic_reader(topics.notice_log)]
    assert [a["by"] for a in acks if a["kind"] == "ack" and a["notice_id"] == notice["notice_id"]] == ["link"]

    owner.stop(sig=signal.SIGKILL)
    wait_for(lambda: owner_gauge(other) == 1.0, timeout=60, message="the survivor to take the notifier over")
    # A deadly clash after the takeover (after the file's last date; resolved by the idle advance).
    producer.send(topics.incidents, incident("failover-1", datetime(2015, 6, 1, tzinfo=timezone.utc),
                                             countries=("KGZ", "TJK"), fatalities=3), key=b"KGZ-TJK")
    producer.flush()
    # Every alert of the stream resolved, and the survivor has nothing left to tell.
    wait_for(lambda: all_resolved(topic_reader, topics, len(expected) + 1), timeout=120,
             message="the survivor to finish the stream")
    stays(lambda: metric(other, "borderwatch_notices_pending") == 0.0, seconds=4, timeout=120,
          message="the survivor's notices to settle")

    log = delivered(topic_reader, topics.notice_log)
    twice = [k for k, n in Counter((r["notice_id"], r["sink"]) for r in log).items() if n > 1]
    assert not twice, f"delivered twice: {twice[:5]}"
    after_kill = [r for r in log if (r["notice_id"], r["sink"]) not in before_kill]
    told = {s["alert_id"] for r in after_kill
            for s in json.loads((notices / r["receiver"] / f"{r['notice_id']}.json").read_text())["sections"]}
    clash = [e.alert_id for e in alert_events(topic_reader, topics) if e.opened_at.startswith("2015-06-01")]
    assert clash and set(clash) <= told, "the survivor told of the clash after the takeover"
    files = {r: sorted(p.stem for p in (notices / r).glob("*.json")) for r in RECEIVERS}
    for receiver in RECEIVERS:
        ids = sorted(r["notice_id"] for r in log if r["receiver"] == receiver)
        assert files[receiver] == ids, receiver
    assert files["operators"] and files["secretariat-KGZ"] and files["secretariat-TJK"]
    # Every notice carries its segment's evidence, whichever worker owned the segment.
    for receiver in RECEIVERS:
        for path in (notices / receiver).glob("*.json"):
            for section in json.loads(path.read_text())["sections"]:
                assert section["activity"], (receiver, path.name, section["segment_id"])
    assert second.proc.poll() is None or first.proc.poll() is None
