"""A notice's map excerpt: the stretch in its level's colour among the states around it, named in
the receiver's language, with a scale; the same SVG in the HTML and in the PDF."""

import re

from alerts.notify.brief import excerpt_svg, notice_html
from alerts.notify.pdf import notice_pdf
from tests.notice_fixtures import LANGUAGES, LINE, WITH_LINE, request
from tests.notice_fixtures import renderer as sample_renderer
from tests.unit.test_notices import pdf_text


def renderer():
    return sample_renderer(languages=LANGUAGES, context=WITH_LINE)


def test_the_excerpt_draws_the_stretch_in_its_level_colour_among_named_states_with_a_scale():
    svg = excerpt_svg(LINE, "warning", lambda iso3, name: f"{name} ({iso3})", place="near Isfara and Batken")
    assert 'stroke="#f08000"' in svg  # the warning's colour, the console's
    names = re.findall(r'font-size="13"[^>]*>([^<]+)</text>', svg)
    assert "Kyrgyzstan (KGZ)" in names and "Tajikistan (TJK)" in names
    assert ">near Isfara and Batken</text>" in svg
    assert re.search(r">\d+ km</text>", svg)
    assert excerpt_svg((), "warning", lambda iso3, name: name) == ""


def test_a_russian_desk_reads_the_states_and_the_scale_in_russian_in_the_html_and_the_pdf():
    notice = renderer()(request(), None)  # the Kyrgyz secretariat reads Russian
    html = notice_html(notice)
    assert '<figure class="map"><svg' in html and ">Кыргызстан</text>" in html and ">Таджикистан</text>" in html
    assert re.search(r">\d+ км</text>", html) and ">в районе н.\u00a0п.\u00a0Исфара и Баткен</text>" in html
    text = pdf_text(notice_pdf(notice))
    assert "Узбекистан" in text and "в районе н. п. Исфара и Баткен" in text.replace("\u00a0", " ")  # as extracted
