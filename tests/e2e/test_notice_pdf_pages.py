"""A notice's PDF as its reader sees it: each page drawn by Debian's pdftoppm (poppler-utils), and
what is on the paper checked in the picture, not in the PDF's text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from alerts.notify.pdf import MARGINS_MM, notice_pdf
from tests.notice_fixtures import LANGUAGES, WITH_LINE, renderer, request

pytestmark = pytest.mark.e2e

#: dots per millimetre of the drawing (254 dpi)
DOTS_PER_MM = 10
A4 = (210, 297)
#: a drawing's edge may bleed this far into a margin (anti-aliasing), in mm
BLEED = 0.5


def pages_drawn(pdf: bytes, workdir: Path) -> list:
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is not installed: run `bash scripts/install-system-deps.sh` as root")
    (workdir / "notice.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(round(DOTS_PER_MM * 25.4)), "-png", str(workdir / "notice.pdf"),
                    str(workdir / "page")], check=True)
    return [Image.open(p).convert("L") for p in sorted(workdir.glob("page-*.png"))]


def inked_box_mm(page) -> tuple[float, float, float, float]:
    """Left, top, right and bottom of everything drawn on the page (anything not white), in mm."""
    left, top, right, bottom = page.point(lambda v: 255 if v < 250 else 0).getbbox()
    return left / DOTS_PER_MM, top / DOTS_PER_MM, right / DOTS_PER_MM, bottom / DOTS_PER_MM


def test_everything_on_a_russian_notices_pages_is_inside_the_margins(tmp_path):
    """The map excerpt's states run on past its frame in the SVG; a browser clips them to the frame,
    and so must the PDF, or they print into the margin (they did, 2 mm to the left)."""
    n = renderer(languages=LANGUAGES, context=WITH_LINE)(request(), None)
    pages = pages_drawn(notice_pdf(n), tmp_path)
    assert pages
    width, height = A4
    left_margin, top_margin, right_margin, bottom_margin = MARGINS_MM
    for number, page in enumerate(pages, 1):
        assert abs(page.width - width * DOTS_PER_MM) <= 1 and abs(page.height - height * DOTS_PER_MM) <= 1  # A4
        left, top, right, bottom = inked_box_mm(page)
        assert left >= left_margin - BLEED and top >= top_margin - BLEED, (number, left, top)
        assert right <= width - right_margin + BLEED and bottom <= height - bottom_margin, (number, right, bottom)
    # the first page holds the map: a wide block of colour (the states' fills) across the text's width
    widest_row = (np.asarray(pages[0]) < 250).sum(axis=1).max() / DOTS_PER_MM
    assert widest_row >= 100, "no map drawn across the page"
