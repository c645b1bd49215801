"""A notice as PDF, drawn with fpdf2: the same brief as the HTML, the chart drawn with lines and boxes.

Text is set in DejaVu Sans, bundled in ``alerts/notify/fonts`` (licence beside it), so Cyrillic place
names, Russian text and typographic punctuation print as they are on every machine: fpdf2's core
fonts cover Latin-1 only.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from importlib import resources
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.svg import SVGObject

from alerts.notify.brief import Brief, Chart, brief_of
from alerts.notify.model import Notice

log = logging.getLogger(__name__)

FONT = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_LEVEL_RGB = {"critical": (170, 0, 0), "warning": (204, 102, 0), "watch": (153, 153, 102), "resolved": (51, 102, 51)}
_DEMO_RGB, _SMALL_RGB = (153, 102, 0), (90, 90, 90)
#: The acknowledgement link is set on one line: shrunk down to this size rather than wrapped.
_LINK_SIZE, _LINK_MIN_SIZE = 9.0, 5.0
#: The page's margins in mm: left, top, right, and the foot below which nothing is set (the
#: automatic page break's)
MARGINS_MM = (10.0, 10.0, 10.0, 15.0)
#: What a heading keeps on its page below it (mm): two lines of the text it heads.
_KEEP_WITH_HEADING = 10.0


def _with_fonts(pdf: FPDF) -> FPDF:
    fonts = resources.files("alerts.notify").joinpath("fonts")
    for style, name in _FONT_FILES.items():
        with resources.as_file(fonts.joinpath(name)) as path:
            pdf.add_font(FONT, style, str(path))
    return pdf


#: Where notice PDFs are drawn: None, in the calling thread; the worker gives a process of its own
#: (:func:`draw_elsewhere`).
_drawer: Executor | None = None


def draw_elsewhere() -> None:
    """Draw every PDF from now on in a process of this one's own, fonts loaded at its start.

    A PDF is about a tenth of a second of pure Python, half of it reading the fonts (which fpdf2
    does for each document and then subsets in place, so they cannot be kept). In the worker's
    notifier thread that time was taken from the live path, which shares the interpreter lock: a
    profile of the worker under ``bench.latency`` found the notices' PDFs running about a quarter
    of the time, and the alerts waited. Should the process die, PDFs are drawn here again.
    """
    global _drawer
    _drawer = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_start_drawing, initargs=(os.getpid(),))
    _drawer.submit(int)  # starts the process now, not at the first notice


def _start_drawing(parent: int) -> None:
    _with_fonts(FPDF(format="A4"))  # fontTools' table modules load with the first fonts read

    def orphaned() -> None:  # the worker was killed (SIGKILL): nothing tells this process so
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=orphaned, name="pdf-parent-watch", daemon=True).start()


def _draw(b: Brief) -> bytes:
    global _drawer
    drawer = _drawer
    if drawer is not None:
        try:
            return drawer.submit(render_pdf, b).result()
        except BrokenProcessPool:
            log.warning("the PDF process has gone; notice PDFs are drawn in this process from now on")
            _drawer = None
    return render_pdf(b)


def notice_pdf(n: Notice) -> bytes:
    """The notice as a PDF, made once per notice."""
    return n.once("pdf", lambda: _draw(brief_of(n)))


def render_pdf(b: Brief) -> bytes:
    """Every string from the notice's brief (alerts/notify/brief.py), so it says what the HTML says."""
    pdf = _with_fonts(FPDF(format="A4"))
    pdf.set_title(b.title)
    pdf.set_lang(b.lang)
    pdf.set_creator("borderwatch")
    pdf.set_margins(*MARGINS_MM[:3])
    pdf.set_auto_page_break(True, margin=MARGINS_MM[3])
    pdf.add_page()

    def para(text: str, size: float = 10, style: str = "", rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        pdf.set_font(FONT, style, size)
        pdf.set_text_color(*rgb)
        pdf.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def height(text: str, size: float, style: str = "") -> float:
        """What ``para(text, size, style)`` would take down the page (mm)."""
        pdf.set_font(FONT, style, size)
        return len(pdf.multi_cell(0, size * 0.5, text, dry_run=True, output="LINES")) * size * 0.5

    def keep_with_next(needed: float) -> None:
        """Start a new page unless ``needed`` mm still fit on this one: a heading is never left at
        the foot of a page with what it heads on the next."""
        if pdf.will_page_break(needed):
            pdf.add_page()

    def heading(text: str, keep: float = _KEEP_WITH_HEADING) -> None:
        keep_with_next(1.5 + height(text, 11, "B") + keep)
        pdf.ln(1.5)
        para(text, 11, "B")

    para(b.title, 14, "B", _LEVEL_RGB.get(b.level, (0, 0, 0)))
    if b.demo_line:
        para(b.demo_line, 11, "B", _DEMO_RGB)
    para(b.meta, 8, rgb=_SMALL_RGB)
    heading(b.labels["changes"])
    for c in b.changes:
        para(f"- {c}")
    map_width = min(120.0, pdf.w - pdf.l_margin - pdf.r_margin)
    for s in b.sections:
        map_height = _svg_height(s.map_svg, map_width) if s.map_svg else 0.0
        # the section's heading, its segment and its map (or the first lines below) on one page
        keep_with_next(3 + height(s.heading, 12, "B") + height(s.segment, 10)
                       + (3 + map_height if s.map_svg else _KEEP_WITH_HEADING))
        pdf.ln(3)
        para(s.heading, 12, "B", _LEVEL_RGB.get(s.level, (0, 0, 0)))
        para(s.segment, 10)
        if s.map_svg:  # the same excerpt as the HTML's, across the text's width
            pdf.ln(3)  # clear of the line above's descenders
            top = pdf.get_y()
            # clipped to its frame, as a browser clips an SVG: the states' shapes run on past it
            with pdf.rect_clip(x=pdf.l_margin, y=top, w=map_width, h=map_height):
                pdf.image(io.BytesIO(s.map_svg.encode()), x=pdf.l_margin, y=top, w=map_width)
            pdf.set_y(top + map_height)
        heading(b.labels["happened"])
        for line in s.happened:
            para(f"- {line}", 9.5)
        if s.chart:  # none for an arms race
            heading(s.trend_heading, keep=_CHART_HEIGHT + _CHART_SPACE)
            _chart(pdf, s.chart)
            para(s.trend, 9)
        heading(b.labels["context"])
        for line in s.context:
            para(line, 9)
    heading(b.labels["asked"])
    for line in b.asked:
        para(f"- {line}", 10)
    keep_with_next(1 + height(b.labels["ack"] + ":", 10, "B") + _LINK_SIZE * 0.5)
    pdf.ln(1)
    para(b.labels["ack"] + ":", 10, "B")
    # One line, so the link can be copied whole from the page: a smaller size rather than a wrap.
    # (a cell keeps its margins inside the page's: the text has that much less room)
    size, width = _LINK_SIZE, pdf.w - pdf.l_margin - pdf.r_margin - 2 * pdf.c_margin
    pdf.set_font(FONT, "U", size)
    while size > _LINK_MIN_SIZE and pdf.get_string_width(b.ack_url) > width:
        size -= 0.5
        pdf.set_font(FONT, "U", size)
    pdf.set_text_color(0, 0, 180)
    pdf.multi_cell(0, size * 0.5, b.ack_url, link=b.ack_url, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for s in b.sections:
        heading(s.evidence_heading)
        for row in s.evidence:
            para(f"- {row.line}", 9)
        if s.no_evidence:
            para(s.no_evidence, 9)
    heading(b.labels["engineering"])
    for s in b.sections:
        for line in s.engineering:
            para(line, 8, rgb=_SMALL_RGB)
    return bytes(pdf.output())


def _svg_height(svg: str, width: float) -> float:
    """The height (mm) of ``svg`` drawn ``width`` mm wide, as ``FPDF.image`` draws it."""
    drawing = SVGObject(svg.encode())
    return width * drawing.height / drawing.width


#: The chart's bars' height, and what it takes beside them (its gap above and its dates below), in mm
_CHART_HEIGHT, _CHART_SPACE = 35.0, 8.0


def _chart(pdf: FPDF, chart: Chart, height: float = _CHART_HEIGHT) -> None:
    """Bars per day and a dashed baseline, in the page's width."""
    activity = [(bar.day, bar.incidents) for bar in chart.bars]
    if pdf.will_page_break(height + _CHART_SPACE):
        pdf.add_page()
    x0, y0 = pdf.l_margin + 8, pdf.get_y() + 2
    w = pdf.w - pdf.l_margin - pdf.r_margin - 8
    top = chart.y_max
    y_of = lambda v: y0 + height - height * v / top  # noqa: E731
    pdf.set_draw_color(136, 136, 136)
    pdf.line(x0, y0 + height, x0 + w, y0 + height)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(0, 0, 0)
    pdf.text(pdf.l_margin, y0 + 2, chart.top_label)
    pdf.text(pdf.l_margin, y0 + height, "0")
    if activity:
        bw = w / len(activity)
        pdf.set_fill_color(192, 57, 43)
        for k, (_, n) in enumerate(activity):
            if n:
                pdf.rect(x0 + k * bw + 0.3, y_of(n), max(bw - 0.6, 0.2), y0 + height - y_of(n), style="F")
        pdf.text(x0, y0 + height + 4, activity[0][0])
        pdf.text(x0 + w - pdf.get_string_width(activity[-1][0]), y0 + height + 4, activity[-1][0])
    if chart.baseline is not None:
        pdf.set_draw_color(44, 62, 80)
        pdf.set_dash_pattern(dash=1.5, gap=1)
        pdf.line(x0, y_of(chart.baseline), x0 + w, y_of(chart.baseline))
        pdf.set_dash_pattern()
    pdf.set_y(y0 + height + 6)
