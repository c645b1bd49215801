"""The README's pictures of the console: docs/img/console.png, a 1280x800 page, as an operator sees
it; with ``--desk secretariat:KGZ``, as the Kyrgyz secretariat does (in Russian, as the bundled
policy writes its notices: docs/img/console-ru.png).

    .venv/bin/python scripts/console_screenshot.py [OUT_PNG] [--desk ROLE] [--page PATH] [--size WxH]
    (default docs/img/console.png, operator, the console, 1280x800)

What the demo shows, made without a broker: the MIE history for Central Asia through the
backtest (every alert resolved), then the demo's deadly clash near Dostuk two hours ago, whose
critical alert is open; the worker's web app on loopback with the bundled segments and policy;
Debian's headless Chromium (tests/chromium.py) signed in as an operator.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.history import AlertHistory  # noqa: E402
from alerts.policy import load_policy  # noqa: E402
from alerts.timefmt import iso  # noqa: E402
from alerts.web.app import build_web_app  # noqa: E402
from alerts.web.tokens import Authenticator, TokenFile  # noqa: E402
from streams.adapters import load  # noqa: E402
from streams.backtest import run_records  # noqa: E402
from streams.records import decode_incident  # noqa: E402
from streams.settings import load_settings  # noqa: E402
from streams.worker import build_pipeline  # noqa: E402
from tests import chromium  # noqa: E402


def demo_history(now: datetime) -> tuple[AlertHistory, object]:
    """The alert history as the demo has it ``now``, and the registry that placed it."""
    when = iso(now - timedelta(hours=2))
    clash = decode_incident({"event_id": "demo-console", "occurred_at": when, "reported_at": when, "source": "demo",
                             "category": "armed_clash", "severity": 5, "fatalities": 12, "injuries": 20,
                             "countries": ["KGZ", "TJK"], "latitude": 40.05229068, "longitude": 70.63277194,
                             "location_name": "Dostuk (demo event)", "description": "demo event: not a real report"})
    pipeline = build_pipeline(load_settings({}))
    loaded = load([str(ROOT / "streams" / "data" / "mie-1.0-central-asia.csv")], "mie")
    res = run_records(pipeline, [*loaded.records, clash], loaded.errors)
    # The backtest runs every alert to its end; the page is looked at now.
    return AlertHistory().extend(e for e in res.events if e.at <= iso(now)), pipeline.registry


def serve(app, ready: threading.Event, box: dict) -> None:
    """Run ``app`` on loopback in this thread until ``box["stop"]`` is set; ``box["port"]`` says where."""
    from aiohttp import web

    async def main():
        runner = web.AppRunner(app)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # a free port, ours until the app is done
        box["port"] = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        box["stop"] = asyncio.Event()
        ready.set()
        await box["stop"].wait()
        await runner.cleanup()

    box["loop"] = asyncio.new_event_loop()
    box["loop"].run_until_complete(main())


def main() -> int:
    import argparse

    from selenium.webdriver.support.ui import WebDriverWait

    ap = argparse.ArgumentParser(description="a picture of the console with the demo's data")
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "img" / "console.png")
    ap.add_argument("--desk", default="operator", help="the role signed in (operator, secretariat:KGZ, ...)")
    ap.add_argument("--page", default="/", help="the page to draw once signed in (/, /ui/segments/KGZ-TJK-01, ...)")
    ap.add_argument("--size", default="1280x800", help="the page's width and height in CSS pixels (e.g. 400x860, a phone)")
    args = ap.parse_args()
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        ap.error(f"--size {args.size!r}: say it as WIDTHxHEIGHT, e.g. 1280x800")
    out = args.out
    problem = chromium.missing()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    now = datetime.now(timezone.utc).replace(microsecond=0)
    history, registry = demo_history(now)

    def title(segment_id: str) -> str:
        try:
            return registry.get(segment_id).title
        except KeyError:
            return segment_id

    with tempfile.TemporaryDirectory() as tmp:
        tokens = TokenFile(Path(tmp) / "tokens.json")
        operator = tokens.add("duty-officer" if args.desk == "operator" else "desk", args.desk)
        app = build_web_app(lambda: history, lambda: b"", "", title, auth=Authenticator(tokens),
                            segments=registry, policy=load_policy())
        ready, box = threading.Event(), {}
        thread = threading.Thread(target=serve, args=(app, ready, box), daemon=True)
        thread.start()
        if not ready.wait(30):
            print("the web app did not start", file=sys.stderr)
            return 1
        driver = chromium.start(Path(tmp))
        try:
            base = f"http://127.0.0.1:{box['port']}"
            driver.set_window_size(width, height)
            # The window's own bars take part of its height: grow it until the page gets all of it.
            chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
            driver.set_window_size(width, height + chrome)
            driver.get(base + "/login")
            driver.find_element("id", "token").send_keys(operator)
            driver.find_element("css selector", "#login button[type=submit]").click()
            # The sign-in's redirect loads the console after click() returns: wait for its map.
            WebDriverWait(driver, 30).until(lambda d: d.find_elements("id", "map"))
            if args.page != "/":
                driver.get(base + args.page)  # get() returns once the page has loaded
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
            box["loop"].call_soon_threadsafe(box["stop"].set)
            thread.join(10)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
