"""A real Prometheus (Debian's) scrapes a real worker with the bearer token and sees the escalation."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest

from streams.broker import free_port
from tests.conftest import wait_for
from tests.integration.test_worker import incident

pytestmark = pytest.mark.integration


def query(base: str, promql: str) -> list:
    url = f"{base}/api/v1/query?query={urllib.parse.quote(promql)}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())["data"]["result"]


def test_prometheus_scrapes_levels_with_the_token(worker_factory, producer, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed: run `bash scripts/install-system-deps.sh` as root")
    w = worker_factory(BORDERWATCH_IDLE_SECONDS="100000").start()
    producer.send(w.topics.incidents, incident("prom-1", fatalities=5), key=b"KGZ-UZB")
    producer.flush()
    token = tmp_path / "token"
    token.write_text(w.token)
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: borderwatch
    authorization: {{type: Bearer, credentials_file: {token}}}
    static_configs: [{{targets: ["127.0.0.1:{w.port}"]}}]
  - job_name: borderwatch-no-token
    static_configs: [{{targets: ["127.0.0.1:{w.port}"]}}]
""")
    proc = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        result = wait_for(lambda: query(base, 'borderwatch_segment_escalation_level{segment_id="KGZ-UZB"}')
                          if _up(base) else None, timeout=60, message="Prometheus to scrape the level")
        assert result and float(result[0]["value"][1]) == 3.0  # critical
        up = wait_for(lambda: (lambda u: u if len(u) == 2 else None)(
            {r["metric"]["job"]: r["value"][1] for r in query(base, "up")}), message="both jobs scraped")
        assert up == {"borderwatch": "1", "borderwatch-no-token": "0"}  # no token, no metrics
    finally:
        proc.terminate()
        proc.wait(20)


def _up(base: str) -> bool:
    try:
        return bool(query(base, 'borderwatch_segment_escalation_level{segment_id="KGZ-UZB"}'))
    except OSError:
        return False
