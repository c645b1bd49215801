"""The worker draws notice PDFs in a process of its own (alerts.notify.pdf.draw_elsewhere), so the
notifier's PDFs do not hold the interpreter lock against the live path; the same PDF either way."""

import os
import signal

from alerts.notify import pdf
from tests.notice_fixtures import renderer, request
from tests.unit.test_notices import pdf_text


def test_a_pdf_drawn_in_the_process_reads_as_one_drawn_here_and_a_lost_process_costs_nothing(monkeypatch):
    here = pdf_text(pdf.render_pdf(pdf.brief_of(renderer()(request("secretariat-KGZ"), None))))
    monkeypatch.setattr(pdf, "_drawer", None)
    pdf.draw_elsewhere()
    drawer = pdf._drawer
    try:
        assert pdf_text(pdf.notice_pdf(renderer()(request("secretariat-KGZ"), None))) == here
        for pid in list(drawer._processes):
            os.kill(pid, signal.SIGKILL)  # killed or out of memory: the next notice (a new one) is drawn here
        assert pdf_text(pdf.notice_pdf(renderer()(request("secretariat-KGZ"), None))) == here
        assert pdf._drawer is None
    finally:
        drawer.shutdown()
