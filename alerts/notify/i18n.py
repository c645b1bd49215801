"""The languages notices and pages are written in, and their gettext catalogs (``alerts/notify/locale``).

English is the source language: its strings are the msgids, so an English notice needs no
catalog. Another language is a ``<lang>/LC_MESSAGES/borderwatch.po`` compiled to ``.mo``
(docs/SINKS.md says how to extract, translate and compile). One catalog serves the notices and
the console's pages, so a level, a country or an incident's category reads the same in both.

``python -m alerts.notify.i18n`` writes the template (``borderwatch.pot``) from
:data:`CATALOG_SOURCES`, the one list of what is marked for translation.
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
#: The files whose marked strings the catalogs hold, relative to the ``alerts`` package, and how
#: babel reads each (docs/SINKS.md): the notices' modules, the pages' words and their templates.
CATALOG_SOURCES = tuple([(f"notify/{m}", "python") for m in ("notices.py", "brief.py", "cap.py", "i18n.py",
                                                               "link_page.py", "arms_words.py")]
                        + [("web/views.py", "python"), ("web/pages.py", "python"), ("web/context.py", "python")]
                        + [(f"web/templates/{t}", "jinja2") for t in (
                            "base.html.j2", "console.html.j2", "console_section.html.j2", "error.html.j2",
                            "login.html.j2", "macros.html.j2", "segment.html.j2")])
#: What the jinja2 extractor needs to read the templates as the pages' environment does.
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang``; a missing catalog is an error, not a silently English notice."""
    if lang not in LANGUAGES:
        raise ValueError(f"no notice language {lang!r} (languages: {', '.join(LANGUAGES)})")
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with resources.as_file(resources.files("alerts.notify").joinpath("locale")) as localedir:
        return gettext.translation(DOMAIN, str(localedir), languages=[lang])


def language_of_request(asked: str | None, chosen: str | None, desk: str | None, accept_language: str | None) -> str:
    """The language a page is shown in: the one the reader just picked (``?lang=``), else the one
    they picked before (a cookie), else their desk's language in the policy (a Kyrgyz
    secretariat's notices are Russian: so is its console), else the browser's, else English."""
    for lang in (asked, chosen, desk):
        if lang in LANGUAGES:
            return lang
    for part in (accept_language or "").split(","):
        primary = part.split(";", 1)[0].strip().split("-", 1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return SOURCE_LANGUAGE


def marked_messages():
    """Every (msgid, comments) the :data:`CATALOG_SOURCES` mark, as babel extracts them; a plural is
    its (singular, plural) pair."""
    from babel.messages.extract import extract_from_file

    base = resources.files("alerts")
    for path, method in CATALOG_SOURCES:
        with resources.as_file(base.joinpath(path)) as file:
            options = JINJA_OPTIONS if method == "jinja2" else {}
            for _line, msg, comments, _context in extract_from_file(method, str(file), options=options):
                yield msg, comments


def write_template(out) -> int:
    """The catalog template (``.pot``) of :func:`marked_messages`, sorted; how many it holds."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(domain=DOMAIN)
    for msg, comments in marked_messages():
        catalog.add(msg, auto_comments=comments)
    write_po(out, catalog, width=100, omit_header=True, sort_output=True, no_location=True)
    return len(catalog)


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


if __name__ == "__main__":  # python -m alerts.notify.i18n: the .pot from CATALOG_SOURCES
    import sys

    target = resources.files("alerts.notify").joinpath("locale", f"{DOMAIN}.pot")
    with resources.as_file(target) as path, open(path, "wb") as f:
        n = write_template(f)
    sys.stdout.write(f"{n} messages -> alerts/notify/locale/{DOMAIN}.pot\n")
