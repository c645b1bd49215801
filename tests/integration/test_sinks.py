"""Every sink against a real server on loopback: an HTTP receiver, aiosmtpd, Debian's prometheus-alertmanager."""

from __future__ import annotations

import email
import email.policy
import io
import json
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from alerts.notify.delivery import DeliveryLog, Notifier, RetryPolicy
from alerts.notify.sinks import build_sink
from alerts.notify.sinks.webhook import SIGNATURE_HEADER, verify_signature
from streams.broker import free_port
from tests.conftest import ROOT, wait_for
from tests.notice_fixtures import renderer, request

pytestmark = pytest.mark.servers

HOOK_SECRET = b"hook-secret-for-tests"


class Receiver:
    """A webhook receiver that answers from a script of status codes and verifies each signature."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = outer.statuses.pop(0) if outer.statuses else 200
                outer.requests.append({"status": status, "body": body, "headers": dict(self.headers),
                                       "verified": verify_signature(HOOK_SECRET, body,
                                                                    self.headers.get(SIGNATURE_HEADER))})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "hook.secret"
    path.write_bytes(HOOK_SECRET + b"\n")
    return path


def chain(tmp_path, sink, **kw) -> tuple[Notifier, list[float]]:
    slept: list[float] = []
    n = Notifier(DeliveryLog(tmp_path / "delivery.jsonl"), {"secretariat-KGZ": [sink]},
                 renderer(datetime.now(timezone.utc)), sleep=slept.append, **kw)
    return n, slept


def test_webhook_is_signed_retried_on_5xx_and_delivered_once(tmp_path, receiver, secret_file):
    receiver.statuses = [503, 502]
    sink = build_sink({"type": "webhook", "url": receiver.url, "secret_file": str(secret_file), "timeout": 5})
    n, slept = chain(tmp_path, sink)
    [out] = n.notify(request())
    assert (out.status, out.attempts, slept) == ("delivered", 3, [1.0, 2.0])
    n.notify(request())
    assert [r["status"] for r in receiver.requests] == [503, 502, 200]
    assert all(r["verified"] for r in receiver.requests)
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {"nt-kgz-1"}
    body = json.loads(receiver.requests[-1]["body"])
    assert body["notice_id"] == "nt-kgz-1" and "inc-tjk-only" not in receiver.requests[-1]["body"].decode()
    assert not verify_signature(b"wrong", receiver.requests[-1]["body"], receiver.requests[-1]["headers"][SIGNATURE_HEADER])


def test_webhook_does_not_retry_4xx(tmp_path, receiver, secret_file):
    receiver.statuses = [422]
    sink = build_sink({"type": "webhook", "url": receiver.url, "secret_file": str(secret_file)})
    n, slept = chain(tmp_path, sink)
    [out] = n.notify(request())
    assert (out.status, out.attempts, slept) == ("failed", 1, []) and "HTTP 422" in out.error
    assert len(receiver.requests) == 1


def test_webhook_connection_refused_is_retried(tmp_path, secret_file):
    sink = build_sink({"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook",
                       "secret_file": str(secret_file), "timeout": 2})
    n, slept = chain(tmp_path, sink, retry=RetryPolicy(attempts=3, initial=0.5))
    [out] = n.notify(request())
    assert (out.status, out.attempts, slept) == ("failed", 3, [0.5, 1.0])


def test_killing_the_notifier_between_attempts_never_sends_twice(tmp_path, receiver, secret_file):
    """A real process: first attempt gets 503, the process is killed during its backoff, then restarted twice."""
    log = tmp_path / "delivery.jsonl"
    cmd = [sys.executable, "-m", "tests.integration.notifier_child", str(log), receiver.url, str(secret_file)]
    receiver.statuses = [503]
    first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: log.exists() and b'"kind":"failed"' in log.read_bytes(), timeout=60,
                 message="the first attempt to fail and be logged")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    outcomes = []
    for _ in range(2):
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120, check=True)
        outcomes.append([o["status"] for o in json.loads(run.stdout)])
    assert outcomes == [["delivered"], ["duplicate"]]
    assert [r["status"] for r in receiver.requests] == [503, 200]
    assert [r["kind"] for r in DeliveryLog(log).records()] == ["failed", "delivered"]


# --- SMTP --------------------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[tuple[str, list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            return "250 Message accepted for delivery"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_smtp_delivers_text_html_and_pdf_once(tmp_path, smtp_server):
    controller, inbox = smtp_server
    sink = build_sink({"type": "smtp", "host": "127.0.0.1", "port": controller.port, "from": "borderwatch@bw.example",
                       "to": ["secretariat@kg.example", "duty@kg.example"], "starttls": False, "timeout": 10})
    n, _ = chain(tmp_path, sink)
    assert [o.status for o in n.notify(request())] == ["delivered"]
    restarted = Notifier(DeliveryLog(tmp_path / "delivery.jsonl"), {"secretariat-KGZ": [sink]}, renderer())
    assert [o.status for o in restarted.notify(request())] == ["duplicate"]
    assert len(inbox.messages) == 1
    sender, rcpts, raw = inbox.messages[0]
    assert sender == "borderwatch@bw.example" and sorted(rcpts) == ["duty@kg.example", "secretariat@kg.example"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Message-ID"] == "<nt-kgz-1@borderwatch>" and msg["Subject"].startswith("Critical: deadly clash near Isfara")
    parts = {p.get_content_type(): p for p in msg.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html", "application/pdf"}
    assert "/n/nt-kgz-1?t=" in parts["text/plain"].get_content()
    assert "<svg" in parts["text/html"].get_content()
    pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(parts["application/pdf"].get_content())).pages)
    assert "inc-kgz-only" in pdf and "inc-tjk-only" not in pdf and "SECRET-TJK" not in raw.decode(errors="replace")


def test_smtp_refused_connection_is_retried(tmp_path):
    sink = build_sink({"type": "smtp", "host": "127.0.0.1", "port": free_port(), "from": "a@bw.example",
                       "to": ["b@kg.example"], "starttls": False, "timeout": 2})
    n, slept = chain(tmp_path, sink, retry=RetryPolicy(attempts=2, initial=3))
    [out] = n.notify(request())
    assert (out.status, out.attempts, slept) == ("failed", 2, [3])


def self_signed(tmp_path) -> ssl.SSLContext:
    """A server context whose certificate no client trusts: a key and a certificate made here."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ctx


@pytest.mark.parametrize("offers_tls", [False, True], ids=["starttls-not-offered", "untrusted-certificate"])
def test_smtp_errors_no_retry_can_fix_fail_at_once_with_the_reason(tmp_path, offers_tls):
    """A server without STARTTLS, or with a certificate the sink does not trust, needs a person: the
    notice fails on its first attempt, the delivery log says why, and nothing went out in clear."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.original_content)
            return "250 Message accepted for delivery"

    inbox = Inbox()
    tls = {"tls_context": self_signed(tmp_path)} if offers_tls else {}
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **tls)
    controller.start()
    try:
        sink = build_sink({"type": "smtp", "host": "127.0.0.1", "port": controller.port, "from": "a@bw.example",
                           "to": ["b@kg.example"], "starttls": True, "timeout": 10})
        n, slept = chain(tmp_path, sink, retry=RetryPolicy(attempts=4, initial=3))
        [out] = n.notify(request())
    finally:
        controller.stop()
    assert (out.status, out.attempts, slept, inbox.messages) == ("failed", 1, [], [])
    reason = "STARTTLS extension not supported" if not offers_tls else "certificate is not trusted"
    assert reason in out.error
    [failed] = [json.loads(line) for line in (tmp_path / "delivery.jsonl").read_text().splitlines()]
    assert failed["kind"] == "failed" and failed["retryable"] is False and reason in failed["error"]


# --- Prometheus Alertmanager ---------------------------------------------------------------------

@pytest.fixture
def alertmanager(tmp_path):
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        pytest.fail("prometheus-alertmanager is not installed: run `bash scripts/install-system-deps.sh` as root")
    (tmp_path / "alertmanager.yml").write_text('route: {receiver: "null"}\nreceivers: [{name: "null"}]\n')
    port = free_port()
    log = open(tmp_path / "alertmanager.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'alertmanager.yml'}",
                             f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="],  # no gossip port: a single instance on loopback
                            stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, (tmp_path / "alertmanager.log").read_text()
        try:
            with urllib.request.urlopen(base + "/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    try:
        wait_for(ready, timeout=60, message="alertmanager to be ready")
        yield base
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def am_alerts(base: str, alert_id: str) -> list[dict]:
    q = urllib.parse.quote(f'alert_id="{alert_id}"')
    with urllib.request.urlopen(f"{base}/api/v2/alerts?filter={q}", timeout=5) as resp:
        return json.loads(resp.read())


def test_alertmanager_receives_the_alert_once_and_follows_escalation(tmp_path, alertmanager):
    sink = build_sink({"type": "alertmanager", "url": alertmanager})
    n, _ = chain(tmp_path, sink)
    assert [o.status for o in n.notify(request(level="warning", notice_id="nt-1"))] == ["delivered"]
    [got] = wait_for(lambda: am_alerts(alertmanager, "al-0001"), message="the alert in alertmanager")
    assert got["labels"] == {"alertname": "BorderEscalation", "alert_id": "al-0001", "segment_id": "KGZ-TJK-07",
                             "border": "KGZ-TJK", "severity": "warning", "receiver": "secretariat-KGZ"}
    assert got["annotations"]["notice_id"] == "nt-1" and got["startsAt"].startswith("2025-11-18T06:00:00")
    assert got["generatorURL"] == "https://bw.example/n/nt-1"  # the notice's page, without its token
    # the same alert again (a new notice, or a resend after a crash) is the same Alertmanager alert
    sink.send(renderer(datetime.now(timezone.utc))(request(level="warning", notice_id="nt-1"), None))
    assert len(am_alerts(alertmanager, "al-0001")) == 1
    n.notify(request(level="critical", notice_id="nt-2"))
    severities = wait_for(lambda: (lambda s: s if s == ["critical"] else None)(
        sorted(a["labels"]["severity"] for a in am_alerts(alertmanager, "al-0001"))), message="warning resolved")
    assert severities == ["critical"]
    n.notify(request(level="critical", notice_id="nt-3", resolved_at="2025-12-01T00:00:00Z"))
    wait_for(lambda: am_alerts(alertmanager, "al-0001") == [], message="the alert resolved")
