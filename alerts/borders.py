"""Border ids: the one place their spelling is written.

A border is the pair of states that share it, as their ISO3 codes sorted and joined by a hyphen
(``KGZ-TJK``), whichever order a source names them in. A cut segment's id starts with its
border's (``KGZ-TJK-03``: :func:`border_of_segment`); a pair-level segment's id is its border's.
A negative control names one state (``KGZ``), and :func:`states_of` reads it as well.

Every package reads and writes these ids through this module: topics, state keys, alerts, labels,
notices and reports all carry them, and a second spelling anywhere would split one border in two.

>>> border_id("TJK", "KGZ")
'KGZ-TJK'
>>> states_of("KGZ-TJK")
('KGZ', 'TJK')
>>> border_of_segment("KGZ-TJK-03")
'KGZ-TJK'
>>> normalise_border(" tjk - kgz ")
'KGZ-TJK'
"""

from __future__ import annotations

import re

#: Between the two states of a border id, and between a border and a segment's own part.
SEPARATOR = "-"
#: One state: an upper-case ISO 3166-1 alpha-3 code (the pattern, for schemas that embed it).
ISO3_PATTERN = "[A-Z]{3}"
_ISO3 = re.compile(ISO3_PATTERN)
#: Two ISO3 codes as a border id writes them; match it with ``fullmatch`` (:func:`is_border_id`
#: also asks for their order).
PAIR = re.compile(f"({ISO3_PATTERN}){SEPARATOR}({ISO3_PATTERN})")


def border_id(a: str, b: str) -> str:
    """The id of the border ``a`` and ``b`` share, in either order: ``KGZ-TJK``."""
    x, y = sorted((a, b))
    return f"{x}{SEPARATOR}{y}"


def states_of(border: str) -> tuple[str, ...]:
    """The states a border id names, in its order (one for a negative control's single state)."""
    return tuple(border.split(SEPARATOR))


def border_of_segment(segment_id: str) -> str:
    """The border a segment id belongs to: the id itself for a pair-level segment."""
    return SEPARATOR.join(segment_id.split(SEPARATOR)[:2])


def normalise_border(text: str) -> str:
    """What a person or a file wrote (``tjk-kgz``, ``TJK - KGZ``) as a border id: upper case, sorted."""
    return SEPARATOR.join(sorted(p.strip().upper() for p in text.split(SEPARATOR) if p.strip()))


def is_iso3(code: str) -> bool:
    return bool(_ISO3.fullmatch(code))


def is_border_id(text: str) -> bool:
    """Whether ``text`` is a border id as this module writes it: two different ISO3 codes, sorted."""
    m = PAIR.fullmatch(text)
    return bool(m) and m.group(1) < m.group(2)
