"""Fixtures of the tests that look at pages as a person does."""

from __future__ import annotations

import pytest

from tests import chromium


@pytest.fixture
def browser(tmp_path):
    """Debian's headless Chromium (tests/chromium.py); a missing one fails the test and says how to install it."""
    problem = chromium.missing()
    if problem:
        pytest.fail(problem)
    driver = chromium.start(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()
