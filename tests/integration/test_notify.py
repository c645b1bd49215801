"""Notices end to end on the real broker: routing per state, releasability, no notice twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cap12 import assert_cap12, find, text
from tests.conftest import wait_for
from tests.integration.test_worker import T0, incident, metric

pytestmark = pytest.mark.integration

POLICY = """
receivers:
  - {name: operators, role: operator, sinks: [{type: file, dir: notices/operators, formats: [json]}]}
  - {name: secretariat-KGZ, country: KGZ, sinks: [{type: file, dir: notices/secretariat-KGZ, formats: [json, html, pdf]}]}
  - {name: secretariat-TJK, country: TJK, sinks: [{type: file, dir: notices/secretariat-TJK, formats: [json]}]}
  - {name: secretariat-UZB, country: UZB, sinks: [{type: file, dir: notices/secretariat-UZB, formats: [json]}]}
route:
  receiver: operators
  group_by: [border, segment_id]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 24h
  routes:
    - {receiver: operators, continue: true}
    - {receiver: secretariat-KGZ, matchers: ['countries=~".*KGZ.*"'], continue: true}
    - {receiver: secretariat-TJK, matchers: ['countries=~".*TJK.*"'], continue: true}
    - {receiver: secretariat-UZB, matchers: ['countries=~".*UZB.*"'], continue: true}
"""

#: The same, with the KGZ desk reading Russian and taking CAP 1.2 files too (the failover test keeps POLICY).
CAP_POLICY = POLICY.replace(
    "sinks: [{type: file, dir: notices/secretariat-KGZ, formats: [json, html, pdf]}]}",
    "lang: ru, sinks: [{type: file, dir: notices/secretariat-KGZ, formats: [json, html, pdf]}, "
    "{type: cap, dir: cap/secretariat-KGZ}]}")


def notices(data_dir: Path, receiver: str) -> list[dict]:
    d = data_dir / "notices" / receiver
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))] if d.exists() else []


def test_each_secretariat_gets_its_borders_only_what_is_released_to_it_and_never_twice(
        worker_factory, producer, tmp_path):
    policy = tmp_path / "policy.yml"
    policy.write_text(CAP_POLICY)
    env = {"BORDERWATCH_POLICY_FILE": str(policy), "BORDERWATCH_IDLE_SECONDS": "600"}
    w = worker_factory(**env).start()
    data = w.tmp / f"data-{w.app_id}"
    # A public deadly clash on KGZ-TJK; on TJK-UZB one released to UZB only.
    producer.send(w.topics.incidents, incident("n1", countries=("KGZ", "TJK"), fatalities=3), key=b"KGZ-TJK")
    producer.send(w.topics.incidents, incident("n2", T0, countries=("TJK", "UZB"), fatalities=2,
                                               releasable_to=["UZB"], classification="restricted"), key=b"TJK-UZB")
    producer.flush()
    wait_for(lambda: len(notices(data, "operators")) >= 2, timeout=60, message="operators' notices")
    wait_for(lambda: notices(data, "secretariat-UZB") and notices(data, "secretariat-KGZ"), timeout=30,
             message="secretariat notices")
    borders = {r: {s["border"] for n in notices(data, r) for s in n["sections"]}
               for r in ("operators", "secretariat-KGZ", "secretariat-TJK", "secretariat-UZB")}
    assert borders["operators"] == {"KGZ-TJK", "TJK-UZB"}
    assert borders["secretariat-KGZ"] == {"KGZ-TJK"}
    assert borders["secretariat-UZB"] == {"TJK-UZB"}
    assert borders["secretariat-TJK"] == {"KGZ-TJK"}  # TJK-UZB was not released to TJK
    assert list((data / "notices" / "secretariat-KGZ").glob("*.pdf")), "the KGZ desk asked for PDF too"

    # The KGZ desk's CAP sink wrote each of its notices as CAP 1.2, and the worker serves the same document.
    kgz = sorted(n["notice_id"] for n in notices(data, "secretariat-KGZ"))
    cap_dir = data / "cap" / "secretariat-KGZ"
    wait_for(lambda: len(list(cap_dir.glob("*.cap.xml"))) == len(kgz), timeout=30, message="the KGZ desk's CAP files")
    caps = sorted(cap_dir.glob("*.cap.xml"))
    assert [p.name.removesuffix(".cap.xml") for p in caps] == kgz
    root = assert_cap12(caps[0].read_bytes())
    assert text(root, "addresses") == "secretariat-KGZ"
    assert [text(i, "language") for i in find(root, "info")] == ["ru-RU", "en-US"]
    assert find(root, "info/area/circle") or find(root, "info/area/geocode")
    with w.get(f"/notices/{text(root, 'identifier')}/cap") as resp:  # an admin: the centre reads it
        assert resp.headers["Content-Type"].startswith("application/cap+xml")
        served = resp.read()
    again = assert_cap12(served)
    assert [text(again, k) for k in ("identifier", "sent", "msgType")] == [text(root, k) for k in
                                                                          ("identifier", "sent", "msgType")]
    assert [text(i, "headline") for i in find(again, "info")] == [text(i, "headline") for i in find(root, "info")]
    link = text(find(root, "info")[0], "web")  # the desk's acknowledgement link is the desk's alone
    # the Russian desk's link names its page's language; in XML its "&" is written "&amp;"
    assert "?t=" in link and link.endswith("&l=ru") and b"?t=" not in served
    assert link.replace("&", "&amp;").encode() in caps[0].read_bytes()

    # A restart re-reads the alert log and re-derives the same notices: none is delivered again.
    before = {r: len(notices(data, r)) for r in borders}
    assert w.stop() == 0
    again = worker_factory(app_id=w.app_id, **env).start()
    wait_for(lambda: metric(again, 'borderwatch_notice_deliveries_total{outcome="duplicate",sink="file"}') >= 4,
             timeout=60, message="the restarted worker to re-derive the notices")
    assert {r: len(notices(data, r)) for r in borders} == before
    assert metric(again, 'borderwatch_notice_deliveries_total{outcome="delivered",sink="file"}') == 0
