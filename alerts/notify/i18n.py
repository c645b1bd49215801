"""The languages notices are written in, and their gettext catalogs (``alerts/notify/locale``).

English is the source language: its strings are the msgids, so an English notice needs no
catalog. Another language is a ``<lang>/LC_MESSAGES/borderwatch.po`` compiled to ``.mo``
(docs/SINKS.md says how to extract, translate and compile).
"""

from __future__ import annotations

import functools
import gettext
from importlib import resources

from babel.numbers import format_decimal

from detectors.hazard import percent_digits

DOMAIN = "borderwatch"
SOURCE_LANGUAGE = "en"
#: What a receiver's ``lang`` may say (alerts/policy.py validates against it).
LANGUAGES = ("en", "ru")
#: The modules of ``alerts.notify`` whose marked strings the catalogs hold (docs/SINKS.md).
CATALOG_MODULES = ("notices.py", "brief.py", "cap.py", "i18n.py", "link_page.py", "arms_words.py")


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang``; a missing catalog is an error, not a silently English notice."""
    if lang not in LANGUAGES:
        raise ValueError(f"no notice language {lang!r} (languages: {', '.join(LANGUAGES)})")
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with resources.as_file(resources.files("alerts.notify").joinpath("locale")) as localedir:
        return gettext.translation(DOMAIN, str(localedir), languages=[lang])


def level_name(level: str, lang: str = SOURCE_LANGUAGE) -> str:
    """An alert level as the receiver reads it (the Russian terms: docs/SINKS.md)."""
    _ = translations(lang).gettext
    names = {"watch": _("watch"), "warning": _("warning"), "critical": _("critical"),
             "resolved": _("resolved"), "none": _("resolved")}
    return names.get(level, level)


def number(value: float, lang: str = SOURCE_LANGUAGE, digits: int | None = None) -> str:
    """``value`` written as a reader of ``lang`` writes numbers (CLDR, through babel): a Russian
    notice reads 0,25 and 1 234,5 where an English one reads 0.25 and 1,234.5.

    ``digits`` fixes the decimals (a rate per day: 2); None writes up to three, as many as the
    value needs (a SIPRI TIV figure: 8, 42.5, 7.56).
    """
    if digits is None:
        return format_decimal(value, locale=lang)
    return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0", locale=lang)


def percent(p: float, lang: str = SOURCE_LANGUAGE) -> str:
    """A probability in percent as a reader of ``lang`` writes it: 14 %, 0,6 % (Russian), 0.6 % (English)."""
    return number(p * 100, lang, percent_digits(p)) + "\u00a0%"
