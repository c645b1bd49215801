"""A notice as PDF, drawn with fpdf2: the same content as the HTML, the chart drawn with lines and boxes.

Text is set in DejaVu Sans, bundled in ``alerts/fonts`` (licence beside it), so Cyrillic place
names, Russian text and typographic punctuation print as they are on every machine: fpdf2's core
fonts cover Latin-1 only.
"""

from __future__ import annotations

from importlib import resources
from typing import Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from alerts.notices import Notice, Section, activity_line, incident_line, pressure_line

FONT = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_LEVEL_RGB = {"critical": (170, 0, 0), "warning": (204, 102, 0), "watch": (153, 153, 102)}
#: The acknowledgement link is set on one line: shrunk down to this size rather than wrapped.
_LINK_SIZE, _LINK_MIN_SIZE = 9.0, 5.0


def _with_fonts(pdf: FPDF) -> FPDF:
    fonts = resources.files("alerts").joinpath("fonts")
    for style, name in _FONT_FILES.items():
        with resources.as_file(fonts.joinpath(name)) as path:
            pdf.add_font(FONT, style, str(path))
    return pdf


def render_pdf(n: Notice) -> bytes:
    pdf = _with_fonts(FPDF(format="A4"))
    pdf.set_title(n.title)
    pdf.set_creator("borderwatch")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()

    def para(text: str, size: float = 10, style: str = "", rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        pdf.set_font(FONT, style, size)
        pdf.set_text_color(*rgb)
        pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    para(n.title, 14, "B", _LEVEL_RGB.get(n.level, (0, 0, 0)))
    para(f"Notice {n.notice_id} for {n.receiver}, {n.created_at}.", 9)
    pdf.ln(2)
    para("What changed since the last notice", 11, "B")
    for c in n.changes:
        para(f"- {c}")
    for s in n.sections:
        pdf.ln(3)
        para(f"{s.segment_id} ({s.border}): {s.level}, {s.trend} (peak {s.peak_level})", 12, "B",
             _LEVEL_RGB.get(s.level, (0, 0, 0)))
        if s.name:
            para(s.name, 10)
        para(f"Opened {s.opened_at}" + (f", resolved {s.resolved_at}" if s.resolved_at else "") + f". {s.summary}", 9)
        para("Recent activity against baseline", 11, "B")
        _chart(pdf, s)
        para(activity_line(s), 9)
        if s.why:
            para("What deviated from baseline", 11, "B")
            for w in s.why:
                para(f"- {w}", 9)
        para("Evidence", 11, "B")
        for i in s.evidence:
            para(f"- {incident_line(i)}", 9)
        if not s.evidence:
            para("No evidence incident is released to this receiver.", 9)
        para("Arms transfers to the border pair (SIPRI TIV, millions)", 11, "B")
        for row in s.pressure:
            para(f"- {pressure_line(*row)}", 9)
        if not s.pressure:
            para("No deliveries recorded.", 9)
    pdf.ln(4)
    para("Acknowledge this notice:", 11, "B")
    # One line, so the link can be copied whole from the page: a smaller size rather than a wrap.
    size, width = _LINK_SIZE, pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font(FONT, "U", size)
    while size > _LINK_MIN_SIZE and pdf.get_string_width(n.ack_url) > width:
        size -= 0.5
        pdf.set_font(FONT, "U", size)
    pdf.set_text_color(0, 0, 180)
    pdf.multi_cell(0, size * 0.5, n.ack_url, link=n.ack_url, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _chart(pdf: FPDF, s: Section, height: float = 35.0) -> None:
    """Bars per day and a dashed baseline, in the page's width."""
    activity: Sequence[tuple[str, int]] = s.activity
    if pdf.will_page_break(height + 8):
        pdf.add_page()
    x0, y0 = pdf.l_margin + 8, pdf.get_y() + 2
    w = pdf.w - pdf.l_margin - pdf.r_margin - 8
    top = max([n for _, n in activity] + [s.baseline, 1.0])
    y_of = lambda v: y0 + height - height * v / top  # noqa: E731
    pdf.set_draw_color(136, 136, 136)
    pdf.line(x0, y0 + height, x0 + w, y0 + height)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(0, 0, 0)
    pdf.text(pdf.l_margin, y0 + 2, f"{top:g}")
    pdf.text(pdf.l_margin, y0 + height, "0")
    if activity:
        bw = w / len(activity)
        pdf.set_fill_color(192, 57, 43)
        for k, (_, n) in enumerate(activity):
            if n:
                pdf.rect(x0 + k * bw + 0.3, y_of(n), max(bw - 0.6, 0.2), y0 + height - y_of(n), style="F")
        pdf.text(x0, y0 + height + 4, activity[0][0])
        pdf.text(x0 + w - pdf.get_string_width(activity[-1][0]), y0 + height + 4, activity[-1][0])
    pdf.set_draw_color(44, 62, 80)
    pdf.set_dash_pattern(dash=1.5, gap=1)
    pdf.line(x0, y_of(s.baseline), x0 + w, y_of(s.baseline))
    pdf.set_dash_pattern()
    pdf.set_y(y0 + height + 6)
