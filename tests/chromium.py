"""Debian's headless Chromium through /usr/bin/chromedriver, for the e2e tests and the README's
console screenshot (scripts/console_screenshot.py). Selenium never looks for or downloads a driver."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
HEADLESS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,1000")


def missing() -> str | None:
    """What is not installed, said so that the reader knows how to fix it; None when all is."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            return f"{path} is not installed: run `bash scripts/install-system-deps.sh` as root"
    return None


def start(workdir: Path):
    """A headless Chromium with its profile and the driver's log under ``workdir``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*HEADLESS, f"--user-data-dir={workdir / 'chromium-profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(workdir / "chromedriver.log")),
                              options=opts)
    driver.set_page_load_timeout(30)
    return driver
