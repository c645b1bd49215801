"""The production configuration is checked, not run: compose structure, Prometheus, Alertmanager, Grafana.

promtool and amtool come from Debian (scripts/install-system-deps.sh, run by `make test`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from streams.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def exported_series() -> set[str]:
    """Every series name the worker exports, read off the Metrics class itself (not a list kept here)."""
    from prometheus_client import Counter, Gauge, Histogram

    from streams.metrics import Metrics

    suffixes = {Counter: ("_total",), Gauge: ("",), Histogram: ("_bucket", "_count", "_sum")}
    out = set()
    for metric in vars(Metrics()).values():
        for kind, ends in suffixes.items():
            if isinstance(metric, kind):
                out.update(metric._name + end for end in ends)
    return out


METRICS = exported_series()


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("BORDERWATCH_ALLOW_MISSING_TOOLS") == "1":
            pytest.skip(f"{name} missing and BORDERWATCH_ALLOW_MISSING_TOOLS=1")
        pytest.fail(f"{name} is not installed: run `bash scripts/install-system-deps.sh` as root")
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_stack_bound_to_loopback_with_pinned_images(compose):
    services = compose["services"]
    assert {"kafka", "topics", "worker", "prometheus", "alertmanager", "grafana"} <= set(services)
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
        image = svc.get("image")
        if image:
            assert ":" in image and not image.endswith(":latest"), (name, image)
    worker = services["worker"]
    assert "--web-host" in worker["command"] and "kafka://kafka:9092" in worker["command"]
    assert worker["environment"]["BORDERWATCH_API_TOKEN_FILE"].startswith("/run/secrets/")
    assert compose["secrets"]["borderwatch_api_token"]["file"].startswith("./deploy/secrets/")


def test_compose_topic_partitions_match_the_worker(compose):
    topics_cmd = compose["services"]["topics"]["command"][0]
    partitions = re.search(r"--partitions (\d+)", topics_cmd).group(1)
    worker_cmd = compose["services"]["worker"]["command"]
    assert worker_cmd[worker_cmd.index("--partitions") + 1] == partitions


def test_compose_runs_two_workers_on_one_app_id_that_share_the_notifier_not_their_data(compose):
    services = compose["services"]
    workers = [services["worker"], services["worker-2"]]
    assert workers[0]["command"] == workers[1]["command"] and "--app-id" not in workers[0]["command"]
    data = [next(v for v in w["volumes"] if v.endswith(":/var/lib/borderwatch")) for w in workers]
    assert data[0] != data[1], "each worker its own data directory"
    for w in workers:
        # one acknowledgement secret (links from either notifier work on both), one notice drop
        assert w["environment"]["BORDERWATCH_NOTICE_SECRET_FILE"] == "/run/secrets/borderwatch_notice_secret"
        # one alert id key: the two key the ids of the alerts they open alike
        assert w["environment"]["BORDERWATCH_ALERT_ID_KEY_FILE"] == "/run/secrets/borderwatch_alert_id_key"
        assert "borderwatch_alert_id_key" in w["secrets"]
        assert "notices:/var/lib/borderwatch/notices" in w["volumes"]
        assert "BORDERWATCH_NOTIFY" not in w["environment"], "both may notify; Kafka picks one"
        assert w["environment"]["BORDERWATCH_PUBLIC_URL"] == "http://127.0.0.1:6066"
    names = [w["environment"]["BORDERWATCH_INSTANCE_ID"] for w in workers]
    assert names[0] != names[1], "each worker its own name in the consumer groups (static membership)"
    assert compose["secrets"]["borderwatch_notice_secret"]["file"].startswith("./deploy/secrets/")
    assert compose["secrets"]["borderwatch_alert_id_key"]["file"].startswith("./deploy/secrets/")
    topics_cmd = compose["services"]["topics"]["command"][0]
    single = re.search(r"for t in ([^;]+); do\s+\S+ --bootstrap-server \S+ --create --if-not-exists \\\s+"
                       r"--topic borderwatch\.\$\$t --partitions 1 ", topics_cmd)
    names = Topics("borderwatch")
    one_partition = {t.split(".", 1)[1] for t in names.all() if names.partitions(t, 8) == 1}
    assert single and set(single.group(1).split()) == one_partition
    for topic in names.all():
        assert topic.split(".", 1)[1] in topics_cmd, f"{topic} is not created by the topics service"


def test_no_secret_values_in_deploy_files():
    pattern = re.compile(r"(password|token|secret)\s*[:=]\s*['\"]?[A-Za-z0-9+/_\-]{8,}", re.I)
    for path in [ROOT / "docker-compose.yml", *DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.json")]:
        for line in path.read_text().splitlines():
            if "credentials_file" in line or "_FILE" in line or "secrets" in line:
                continue
            assert not pattern.search(line), f"{path}: {line}"


def test_prometheus_config_checks(tmp_path):
    promtool = tool("promtool")
    # The token file only exists inside the container; check a copy that points at a temp file.
    token = tmp_path / "token"
    token.write_text("t\n")
    cfg = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    cfg = cfg.replace("/run/secrets/borderwatch_api_token", str(token))
    cfg = cfg.replace("/etc/prometheus/rules/*.yml", str(DEPLOY / "prometheus" / "rules" / "*.yml"))
    (tmp_path / "prometheus.yml").write_text(cfg)
    res = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "10 rules found" in res.stdout


def test_prometheus_rules_fire_as_their_unit_tests_say():
    promtool = tool("promtool")
    res = run(promtool, "test", "rules", str(DEPLOY / "prometheus" / "tests" / "borderwatch.rules.test.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_alertmanager_config_checks():
    amtool = tool("amtool")
    res = run(amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 inhibit rules" in res.stdout


def test_alertmanager_routes_segment_alerts_to_the_desks_and_pipeline_alerts_to_platform():
    amtool = tool("amtool")
    cfg = str(DEPLOY / "alertmanager" / "alertmanager.yml")
    seg = ("component=escalation", "segment_id=KGZ-TJK-07", "border=KGZ-TJK")
    res = run(amtool, "config", "routes", "test", "--config.file", cfg,
              "alertname=BorderwatchSegmentCritical", "severity=critical", *seg)
    assert res.returncode == 0, res.stdout + res.stderr
    # critical goes to the regional desk *and* (continue: true) to the operators
    assert set(res.stdout.split()[0].split(",")) == {"regional-desk", "operators"}, res.stdout
    res = run(amtool, "config", "routes", "test", "--config.file", cfg,
              "alertname=BorderwatchSegmentWarning", "severity=warning", *seg)
    assert res.stdout.split() == ["operators"], res.stdout
    res = run(amtool, "config", "routes", "test", "--config.file", cfg,
              "alertname=BorderwatchWorkerDown", "severity=critical", "component=pipeline")
    assert res.stdout.split() == ["platform"], res.stdout
    res = run(amtool, "config", "routes", "test", "--config.file", cfg,
              "alertname=BorderwatchStateRestoreLost", "severity=critical", "component=pipeline")
    assert res.stdout.split() == ["platform"], res.stdout
    res = run(amtool, "config", "routes", "test", "--config.file", cfg,
              "alertname=BorderwatchWorkerRestarting", "severity=warning", "component=pipeline")
    assert res.stdout.split() == ["platform"], res.stdout


def test_grafana_dashboard_uses_only_exported_metrics_and_recording_rules():
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "borderwatch-desk.json").read_text())
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "borderwatch.rules.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [a["expr"] for a in dash["annotations"]["list"]]
    assert len(exprs) >= 8
    for expr in exprs:
        used = set(re.findall(r"\b(borderwatch_[a-z0-9_]+|border:[a-z0-9_:]+)", expr))
        assert used and used <= METRICS | recorded, expr


def test_the_rules_read_only_exported_metrics_and_the_deploy_docs_list_every_one():
    """promtool's rule tests feed the rules made-up series, so a metric renamed in streams/metrics.py
    would leave them green and the alerts silent; and DEPLOY.md is where an operator looks a metric up."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "borderwatch.rules.yml").read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        used = set(re.findall(r"(?<![:\w])(borderwatch_[a-z0-9_]+)", rule["expr"]))
        assert used <= METRICS, (rule.get("alert") or rule.get("record"), used - METRICS)
    from streams.metrics import Metrics

    listed = set(re.findall(r"^\| `(borderwatch_[a-z0-9_]+)` \|", (ROOT / "docs" / "DEPLOY.md").read_text(), re.M))
    families = {m._name + ("_total" if m._type == "counter" else "") for m in vars(Metrics()).values()
                if hasattr(m, "_type")}
    assert listed == families, (sorted(families - listed), sorted(listed - families))


def test_grafana_loads_the_dashboard_the_rules_link_to_and_shows_time_to_acknowledge(compose):
    """Provisioning reads where compose mounts the dashboards; the rules' links set a variable the
    dashboard has and its panels filter on; the desks' own number, time to acknowledge, is there."""
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "borderwatch.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in compose["services"]["grafana"]["volumes"]}
    assert mounts.get(path) == "./deploy/grafana/dashboards"
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "borderwatch-desk.json").read_text())
    rules = (DEPLOY / "prometheus" / "rules" / "borderwatch.rules.yml").read_text()
    linked = set(re.findall(r"var-([a-z_]+)=", rules))
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert linked and linked <= variables
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert sum('border=~"$border"' in e for e in exprs) >= 4
    assert any("borderwatch_notice_ack_seconds_bucket" in e and "receiver" in e for e in exprs)
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    assert "open alerts by level" in titles and "incidents per border" in titles and "arms" in titles
    annotations = {a["name"]: a["expr"] for a in dash["annotations"]["list"]}
    assert "borderwatch_alerts_opened_total" in annotations["Alerts opened"]
    assert "borderwatch_notice_ack_seconds_count" in annotations["Notices acknowledged"]


def test_compose_mounts_a_valid_alert_policy_where_the_worker_reads_it(compose):
    from alerts.policy import load_policy

    worker = compose["services"]["worker"]
    target = worker["environment"]["BORDERWATCH_POLICY_FILE"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in worker["volumes"] if v.startswith("./")}
    assert target in mounts, "the image holds no deploy/: the policy must be mounted"
    policy = load_policy(ROOT / mounts[target])
    assert {"operators", "regional-desk", "secretariat-KGZ", "secretariat-TJK"} <= set(policy.receivers)
