"""End to end as an operator sees it: CLI replay of the real MIE rows -> worker -> /alerts and the page."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streams.adapters import load
from streams.backtest import run_backtest
from streams.segments import SegmentRegistry
from streams.settings import load_settings
from streams.worker import build_pipeline
from tests.conftest import DATA, ROOT, wait_for

pytestmark = pytest.mark.e2e

MIE = DATA / "mie-1.0-central-asia.csv"


def test_mie_replay_raises_alerts_around_the_2012_kgz_uzb_clash_and_none_on_quiet_borders(worker_factory):
    w = worker_factory().start()
    res = subprocess.run([sys.executable, "-m", "streams.cli", "replay", str(MIE), "--format", "mie",
                          "--broker", w.broker.url, "--topic-prefix", w.topics.prefix],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "sent 482, rejected 0" in res.stdout

    # As many alerts as the backtest of the file finds, none of them open. ("Some alerts and none
    # open" alone can hold mid-stream, between one alert's resolution and the next opening.)
    expected = len(run_backtest([str(MIE)], "mie", build_pipeline(load_settings({}, environ={}))).history.rows())

    def settled():
        body = w.get_json("/alerts?status=all")
        return body["alerts"] if body["count"] >= expected and not w.get_json("/alerts")["count"] else None

    # every alert opened and, the data being history, resolved again
    alerts = wait_for(settled, timeout=120, message="replayed alerts to open and resolve")
    kgz_uzb = [a for a in alerts if a["border"] == "KGZ-UZB"]
    assert any("2012-07-10" <= a["opened_at"][:10] <= "2012-07-17" for a in kgz_uzb), kgz_uzb
    clash = next(a for a in kgz_uzb if a["opened_at"][:10] == "2012-07-17")
    assert clash["peak_level"] in ("warning", "critical")

    with_incidents = {r.border for r in load([MIE], "mie").records}
    quiet = set(SegmentRegistry.default().borders()) - with_incidents
    assert quiet, "the bundled data should leave some borders without incidents"
    assert not [a for a in alerts if a["border"] in quiet]

    page = w.get("/").read().decode()
    assert "KGZ-UZB" in page

    # arms transfers: militarization pressure per border pair reaches /metrics
    sipri = DATA / "sipri-trade-register-central-asia.csv"
    res = subprocess.run([sys.executable, "-m", "streams.cli", "replay", str(sipri), "--format", "sipri",
                          "--broker", w.broker.url, "--topic-prefix", w.topics.prefix],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr

    def pressure():
        for line in w.get("/metrics").read().decode().splitlines():
            if line.startswith('borderwatch_militarization_pressure_tiv{border="KGZ-TJK"}'):
                return float(line.rsplit(" ", 1)[1]) or None
        return None

    assert wait_for(pressure, message="KGZ-TJK pressure gauge") > 0

    # ... and the arms race of 2019-2021 on the console, named by its border and its own meaning
    def arms_race():
        return [a for a in w.get_json("/alerts?status=all")["alerts"] if a["segment_id"] == "KGZ-TJK:arms"]

    assert any(a["peak_level"] == "warning" for a in wait_for(arms_race, message="the KGZ-TJK arms race"))
    page = w.get("/").read().decode()
    assert ">Kyrgyzstan–Tajikistan</a>" in page
    assert "Warning because both sides are arming and each with a new kind of weapon" in page
    arms_page = w.get("/ui/segments/KGZ-TJK:arms").read().decode()
    assert "Kyrgyzstan–Tajikistan: arms race" in arms_page and "What each side acquired (SIPRI)" in arms_page
    assert "Bayraktar TB2 armed UAV from Turkiye" in arms_page and "Recent incidents" not in arms_page


@pytest.mark.skipif(os.environ.get("BORDERWATCH_SKIP_DEMO_TEST") == "1", reason="BORDERWATCH_SKIP_DEMO_TEST=1")
def test_the_demo_prints_its_urls_and_a_summary_and_sigterm_stops_it_with_its_worker_and_broker(tmp_path):
    """The demo as ``make demo`` runs it (until a signal). A bounded demo (``DEMO_SECONDS``) is
    run by ``test_the_demo_takes_another_source``."""
    import re
    import signal
    import socket

    env = dict(os.environ, DEMO_SECONDS="0", DEMO_BROKER_PORT="0", DEMO_WEB_PORT="0", PYTHONPATH=str(ROOT))
    demo = subprocess.Popen([sys.executable, "-u", "-m", "streams.demo"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env=env)
    out = []
    try:
        # the demo prints its summary and where to look, then waits for the live incident's notices
        # (the policy's group_wait) and for a signal: this one comes while it waits for the notices
        for line in demo.stdout:
            out.append(line)
            if "its notices wait for the policy's group_wait" in line:
                break
        text = "".join(out)
        assert "alerts raised from real history:" in text and "KGZ-UZB" in text
        assert "/metrics" in text
        web = int(re.search(r"feed \(page\):  http://127\.0\.0\.1:(\d+)/", text).group(1))
        broker = int(re.search(r"broker: kafka://127\.0\.0\.1:(\d+)", text).group(1))
        # tokens for exactly the desks the live notices go to
        assert all(desk in text for desk in ("duty-officer", "kg-desk", "tj-desk", "regional-desk"))
        assert "uz-desk" not in text
        demo.send_signal(signal.SIGTERM)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0 and "demo stopped" in rest
    for port in (web, broker):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers after SIGTERM"


def test_a_busy_port_stops_the_demo_naming_it(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dict(os.environ, DEMO_SECONDS="1", DEMO_BROKER_PORT=str(port), DEMO_WEB_PORT="0", PYTHONPATH=str(ROOT))
        res = subprocess.run([sys.executable, "-m", "streams.demo"], capture_output=True, text=True, timeout=60,
                             cwd=tmp_path, env=env)
    assert res.returncode != 0 and f"port {port} for the broker is taken" in res.stderr
    assert "DEMO_BROKER_PORT" in res.stderr and "Traceback" not in res.stderr
