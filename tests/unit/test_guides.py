"""The desks' guides (docs/OPERATORS.md, docs/SECRETARIATS.md) say the same in English and in
Russian, and state the probabilities the shipped model's levels stand for.

A Russian reader had a guide that said 8.5 % where the English said 9 %, missed the warning for a
cluster of clashes and the week a level holds, and told secretariats of a chart against normal
their notices no longer carry. Sentences cannot be compared across languages, but what they state
in figures can: each section of one language states the same numbers as its counterpart.
"""

import re
from collections import Counter
from pathlib import Path

import pytest

from streams.models import default_model

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = ("OPERATORS.md", "SECRETARIATS.md")


def languages(name: str) -> tuple[str, str]:
    text = (DOCS / name).read_text()
    english, russian = text.split("\n## English\n", 1)[1].split("\n## Русский\n", 1)
    return english, russian


def sections(part: str) -> list[str]:
    return re.split(r"\n### ", part)[1:]


def figures(section: str) -> Counter:
    """The numbers a section states (a decimal comma read as a point), leaving out code spans and
    link targets, which name ids and files rather than state figures."""
    prose = re.sub(r"\]\([^)]*\)", "]", re.sub(r"`[^`]*`", "", section))
    return Counter(n.replace(",", ".") for n in re.findall(r"\d+(?:[.,]\d+)?", prose))


@pytest.mark.parametrize("name", GUIDES)
def test_each_section_states_the_same_figures_in_both_languages(name):
    english, russian = languages(name)
    assert len(sections(english)) == len(sections(russian))
    for en, ru in zip(sections(english), sections(russian)):
        title = en.split("\n", 1)[0]
        assert figures(en) == figures(ru), f"{name}, {title}: only in English {figures(en) - figures(ru)}, " \
                                           f"only in Russian {figures(ru) - figures(en)}"


def percent(probability: float) -> str:
    return f"{probability * 100:g} %"


def test_the_operators_guide_states_the_model_s_probability_ranges():
    levels = default_model().levels
    english, _ = languages("OPERATORS.md")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| \*\*(watch|warning|critical)\*\* \| ([^|]*)\|", english,
                                                       re.MULTILINE)}
    assert f"a {percent(levels['watch'])} to {percent(levels['warning'])} chance" in rows["watch"]
    assert f"a {percent(levels['warning'])} to {percent(levels['critical'])} chance" in rows["warning"]
    assert f"a {percent(levels['critical'])} or higher chance" in rows["critical"]


def test_the_secretariats_guide_states_the_model_s_probability_ranges():
    levels = default_model().levels
    english, _ = languages("SECRETARIATS.md")
    assert f"**warning**: a {percent(levels['warning'])} to {percent(levels['critical'])} chance" in english
    assert f"**critical**: a {percent(levels['critical'])} or higher chance" in english
