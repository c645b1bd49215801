"""Render a sample notice, in Russian for the Kyrgyz secretariat, as PDF and as a PNG of its first page.

    .venv/bin/python scripts/notice_screenshot.py [OUT_DIR]   (default docs/img)

Writes notice-ru.pdf and notice-ru.png (the PNG with Debian's pdftoppm, poppler-utils). The
notice is the tests' sample (tests/notice_fixtures.py): made-up incidents on the Kyrgyz-Tajik
border, the bundled policy's Russian for the Kyrgyz secretariat. The README shows the PNG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.notify.pdf import notice_pdf  # noqa: E402
from tests.notice_fixtures import LANGUAGES, WITH_LINE, request  # noqa: E402
from tests.notice_fixtures import renderer as sample_renderer  # noqa: E402


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description="a sample notice in Russian as PDF, and a PNG of its first page")
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "img", help="the folder written to")
    out = ap.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    renderer = sample_renderer(languages=LANGUAGES, context=WITH_LINE)
    pdf = out / "notice-ru.pdf"
    pdf.write_bytes(notice_pdf(renderer(request(), None)))
    if shutil.which("pdftoppm") is None:
        print(f"wrote {pdf}; install poppler-utils for the PNG", file=sys.stderr)
        return 1
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(out / "notice-ru")], check=True)
    print(f"wrote {pdf} and {out / 'notice-ru.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
