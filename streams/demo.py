"""``make demo``: embedded broker, worker, replay of the bundled Central Asia data, URLs, summary.

After the history, one *demo* incident dated today (a deadly clash near Dostuk, source
``borderwatch-demo``) shows the live side: a critical alert on KGZ-TJK-01 that stays open, and
the notices it sends to the operators, the regional desk and the Kyrgyz and Tajik secretariats
(file sinks under ``.demo/worker-data/notices``). Demo tokens with roles are printed.

Another source: ``DEMO_SOURCE=FILE DEMO_FORMAT=acled make demo`` (any ``--format`` of replay:
``acled``, ``ucdp-ged``, ``gdelt``, ``mie``, ``jsonl``) replays that file instead of the bundled
MIE incidents; the SIPRI register still gives the arms context.

Runs until Ctrl-C; ``DEMO_SECONDS=N`` ends it after N seconds once the summary is printed.
``DEMO_BROKER_PORT`` / ``DEMO_WEB_PORT`` choose ports (defaults 9092 / 6066; 0 picks a free
one); a port that is taken stops the demo with a message naming it. SIGTERM stops it as Ctrl-C does.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from alerts.notify.notices import DEMO_SOURCE
from alerts.policy import DEFAULT_POLICY
from alerts.timefmt import iso, utcnow
from alerts.web.tokens import TokenFile
from streams.broker import EmbeddedBroker, free_port, port_free
from streams.replay import replay

DATA = Path(__file__).parent / "data"
#: The demo worker's clock: a tick every 2 s, a partition idle after 4 s, so the replayed history's
#: alerts resolve within seconds. A tick every second cost an idle worker about 5 % of a core
#: (every tick crosses each input partition and fans out to every segment-events partition);
#: ``python -m bench.idle`` measures this clock.
TICK_SECONDS, IDLE_SECONDS = 2, 4


def _port(env: str, default: int, what: str) -> int:
    """The port asked for in ``env`` (``default``; 0: any free one). A busy port is an error that
    names it: a demo quietly on another port would leave the printed URLs and a stale worker on
    the asked one in doubt."""
    want = int(os.environ.get(env, default))
    if not want:
        return free_port()
    if not port_free("127.0.0.1", want):
        raise SystemExit(f"demo: port {want} for the {what} is taken (an earlier demo still running?); "
                         f"stop what listens there, or set {env} to another port (0: any free one)")
    return want


def _stop_on_sigterm() -> None:
    """SIGTERM ends the demo as Ctrl-C does: worker and broker are stopped, their ports freed."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _get(url: str, token: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        return json.loads(resp.read())


def _wait_health(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the worker exited with code {proc.returncode}; see .demo/worker.log")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("demo: the worker did not come up; see .demo/worker.log")


def _settle(base: str, token: str, proc: subprocess.Popen, timeout: float = 120) -> list[dict]:
    """Wait until the alert log stops changing: the worker has processed the replay."""
    last, stable_since = None, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the worker exited with code {proc.returncode}; see .demo/worker.log")
        try:
            alerts = _get(base + "/alerts?status=all", token)["alerts"]
        except OSError:  # the worker is busy with the replay: not settled yet
            time.sleep(1)
            continue
        sig = json.dumps([(a["alert_id"], a["level"], a["resolved_at"]) for a in alerts])
        if sig != last:
            last, stable_since = sig, time.monotonic()
        elif alerts and all(a["resolved_at"] for a in alerts) and time.monotonic() - stable_since > 3:
            return alerts  # history: every alert has opened and, by the idle advance, resolved
        time.sleep(0.5)
    return _get(base + "/alerts?status=all", token)["alerts"]


def _live_incident(broker_url: str) -> str:
    """One clearly labelled demo incident, dated now, so an alert is open while the demo runs."""
    from kafka import KafkaProducer

    from streams.topics import Topics, bootstrap

    now = iso(utcnow())
    event_id = f"demo-{now}"
    rec = {"event_id": event_id, "occurred_at": now, "reported_at": now, "source": DEMO_SOURCE,
           "category": "armed_clash", "severity": 5, "fatalities": 12, "injuries": 20, "countries": ["KGZ", "TJK"],
           "latitude": 40.05229068, "longitude": 70.63277194, "location_name": "Dostuk (demo event)",
           "description": "demo event: not a real report"}
    producer = KafkaProducer(bootstrap_servers=bootstrap(broker_url), acks="all")
    try:
        producer.send(Topics().incidents, json.dumps(rec).encode(), key=b"KGZ-TJK").get(timeout=30)
    finally:
        producer.close()
    return event_id


def _wait_notices(root: Path, worker: subprocess.Popen, until: float | None = None,
                  timeout: float = 60) -> dict[str, list[str]]:
    """Notices per desk once the operators' and the Kyrgyz desk's have arrived, or at the timeout
    or the monotonic time ``until`` (the end of a bounded demo), whichever comes first."""
    deadline = min(time.monotonic() + timeout, until if until is not None else float("inf"))
    found: dict[str, list[str]] = {}
    while time.monotonic() < deadline and worker.poll() is None:
        found = {d.name: sorted(str(p) for p in d.glob("*.html")) for d in root.glob("*") if d.is_dir()}
        found = {k: v for k, v in found.items() if v}
        if {"operators", "secretariat-KGZ"} <= found.keys():
            break
        time.sleep(1)
    return found


def demo_inputs(environ=os.environ) -> list[tuple[Path, str]]:
    """The files the demo replays, in order: the incidents (the bundled MIE rows, or ``DEMO_SOURCE``
    in ``DEMO_FORMAT``), then the bundled SIPRI register. A bad choice stops the demo before it starts."""
    from streams.adapters import FORMATS

    source, fmt = environ.get("DEMO_SOURCE", "").strip(), environ.get("DEMO_FORMAT", "").strip()
    sipri = (DATA / "sipri-trade-register-central-asia.csv", "sipri")
    if not source and not fmt:
        return [(DATA / "mie-1.0-central-asia.csv", "mie"), sipri]
    if not source or fmt not in FORMATS:
        raise SystemExit("demo: DEMO_SOURCE=FILE needs DEMO_FORMAT, one of " + ", ".join(FORMATS)
                         + (f" (got {fmt!r})" if fmt else ""))
    path = Path(source)
    if not path.is_file():
        raise SystemExit(f"demo: DEMO_SOURCE={source}: no such file")
    return [(path, fmt), sipri]


def main() -> int:
    inputs = demo_inputs()
    _stop_on_sigterm()
    run_dir = Path(".demo")
    run_dir.mkdir(exist_ok=True)
    # The broker keeps nothing between runs, so neither may the worker: an old run's state and
    # notices would show beside this run's.
    shutil.rmtree(run_dir / "worker-data", ignore_errors=True)
    token = os.environ.get("BORDERWATCH_API_TOKEN") or secrets.token_urlsafe(24)
    tokens_path = run_dir / "tokens.json"
    tokens_path.unlink(missing_ok=True)  # fresh demo tokens every run
    tokens = TokenFile(tokens_path)
    roles = {name: (role, tokens.add(name, role)) for name, role in
             (("duty-officer", "operator"), ("kg-desk", "secretariat:KGZ"), ("tj-desk", "secretariat:TJK"),
              ("regional-desk", "regional-desk"))}
    broker = EmbeddedBroker(port=_port("DEMO_BROKER_PORT", 9092, "broker"), log_path=str(run_dir / "broker.log")).start()
    web_port = _port("DEMO_WEB_PORT", 6066, "web API")
    base = f"http://127.0.0.1:{web_port}"
    # Desks see its alerts, so it keys their ids as a deployment with desks does (docs/DEPLOY.md).
    id_key = run_dir / "alert-id-key"
    id_key.write_text(secrets.token_urlsafe(32) + "\n")
    id_key.chmod(0o600)
    env = dict(os.environ, BORDERWATCH_API_TOKEN=token, BORDERWATCH_TOKENS_FILE=str(tokens_path),
               BORDERWATCH_ALERT_ID_KEY_FILE=str(id_key))
    worker_log = open(run_dir / "worker.log", "ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker", "--broker", broker.url, "--web-port", str(web_port),
         "--data-dir", str(run_dir / "worker-data"), "--idle-seconds", str(IDLE_SECONDS),
         "--tick-seconds", str(TICK_SECONDS)],
        env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        print(f"broker: {broker.url} (embedded, memory only)")
        _wait_health(base, worker)
        for path, fmt in inputs:
            res = replay([str(path)], fmt, broker.url, err=open(os.devnull, "w"))
            print(f"replayed {path.name} ({fmt}): sent {res.sent}, rejected {res.rejected}{res.out_of_scope}")
        alerts = _settle(base, token, worker)
        live = _live_incident(broker.url)
        by_level = Counter(a["peak_level"] for a in alerts)
        by_border = Counter(a["border"] for a in alerts)
        print(f"\nalerts raised from real history: {len(alerts)} "
              f"({', '.join(f'{n} {lvl}' for lvl, n in sorted(by_level.items()))})")
        for border, n in by_border.most_common(8):
            print(f"  {border:8s} {n}")
        for a in sorted(alerts, key=lambda a: a["opened_at"], reverse=True)[:5]:
            print(f"  latest: {a['opened_at'][:10]} {a['peak_level']:8s} {a['summary']}")
        # Where to look first, then the live incident's notices: they wait for the policy's
        # group_wait (half a minute), time enough to open the console.
        print(f"\nfeed (page):  {base}/  sign in with a token:")
        print(f"  admin (API token)       {token}")
        for name, (role, tok) in roles.items():
            sees = {"operator": "everything", "regional-desk": "what is released to all"}.get(role, "its borders only")
            print(f"  {name:13s} {role:15s} {tok}   (sees {sees})")
        print("  the secretariats read the pages in Russian, as their notices; English or Русский at the top switches")
        print(f"alerts JSON:  curl -H 'Authorization: Bearer {token}' '{base}/alerts?status=all'")
        print(f"metrics:      curl -H 'Authorization: Bearer {token}' {base}/metrics")
        seconds = float(os.environ.get("DEMO_SECONDS", "0") or 0)
        deadline = time.monotonic() + seconds if seconds else None
        policy_file = os.path.relpath(os.environ.get("BORDERWATCH_POLICY_FILE") or DEFAULT_POLICY)
        print(f"\nlive demo incident {live}: a critical alert on KGZ-TJK-01; its notices wait for the policy's "
              f"group_wait ({policy_file}) ...", flush=True)
        notices = _wait_notices(run_dir / "worker-data" / "notices", worker, deadline)
        for desk, files in sorted(notices.items()):
            print(f"  {desk:18s} {len(files)}  e.g. {files[0]}")
        if not notices:
            print("  none yet; see .demo/worker-data/notices")
        print("\nrunning until Ctrl-C" if not seconds else f"\nrunning until {seconds:g}s after the summary (DEMO_SECONDS)",
              flush=True)
        while deadline is None or time.monotonic() < deadline:
            if worker.poll() is not None:
                raise SystemExit(f"demo: the worker exited with code {worker.returncode}; see .demo/worker.log")
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        broker.stop()
        print("demo stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
