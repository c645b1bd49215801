"""The languages notices are written in, and their gettext catalogs (``alerts/notify/locale``).

English is the source language: its strings are the msgids, so an English notice needs no
catalog. Another language is a ``<lang>/LC_MESSAGES/borderwatch.po`` compiled to ``.mo``
(docs/SINKS.md says how to extract, translate and compile).
"""

from __future__ import annotations

import functools
import gettext
from importlib import resources

DOMAIN = "borderwatch"
SOURCE_LANGUAGE = "en"
#: What a receiver's ``lang`` may say (alerts/policy.py validates against it).
LANGUAGES = ("en", "ru")


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
