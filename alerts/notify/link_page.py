"""What the page behind a notice's acknowledgement link says, in the language of the notice.

The link is the notice's own (``alerts.notify.acks.ack_link``): a desk that reads its notices in
Russian opens a Russian page from it, so the words come from the notices' catalog
(``alerts.notify.i18n``), not from the console's English. The link names its language (``l=ru``, ``acks.LINK_LANG_FIELD``);
the language is not signed, because it only decides how the page reads: the token still decides
what the page may do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alerts.notify.acks import ExpiredAckLink
from alerts.notify.i18n import language_of_request, translations


def page_language(asked: str | None, accept_language: str | None = None) -> str:
    """The link's ``l`` when it names a notice language; else the browser's first such language;
    else English. An unknown value is not an error: the page still works, in English."""
    return language_of_request(asked, None, None, accept_language)


@dataclass(frozen=True)
class LinkPageWords:
    """The fixed words of the page in one language."""

    title: str
    heading: str
    hint: str
    button: str


def words(lang: str, notice_id: str) -> LinkPageWords:
    _ = translations(lang).gettext
    return LinkPageWords(title=_("borderwatch — acknowledge notice"), heading=_("Escalation notice"),
                         hint=_("Acknowledging tells the monitoring centre your desk has read this notice."),
                         button=_("Acknowledge notice %(id)s") % {"id": notice_id})


def acknowledged(lang: str, notice_id: str, at: str, repeated: bool) -> str:
    """``at``: when the acknowledgement was recorded, as people read times (``alerts.timefmt.human``)."""
    _ = translations(lang).gettext
    if repeated:
        return _("Notice %(id)s was already acknowledged at %(at)s.") % {"id": notice_id, "at": at}
    return _("Notice %(id)s acknowledged at %(at)s.") % {"id": notice_id, "at": at}


#: Why a link page cannot acknowledge, by the reason the handler found.
INCOMPLETE, NOT_TAKEN, NOT_THIS_NOTICE, UNKNOWN, UNAVAILABLE = (
    "incomplete", "not_taken", "not_this_notice", "unknown", "unavailable")


def refusal(lang: str, notice_id: str, reason: str | ExpiredAckLink) -> str:
    """The page's message when it cannot acknowledge; an :class:`ExpiredAckLink` says until when it was good."""
    _ = translations(lang).gettext
    if isinstance(reason, ExpiredAckLink):
        return (_("The link of notice %(id)s was good to the end of %(day)s (UTC): acknowledge it from the console, or ask "
                  "the regional desk to record it.") % {"id": notice_id, "day": reason.expired.isoformat()})
    messages: Mapping[str, str] = {
        INCOMPLETE: _("This link is incomplete: it has no token. Open the whole link from the notice."),
        NOT_TAKEN: _("This server does not take notice acknowledgements."),
        NOT_THIS_NOTICE: _("This link is not valid for that notice."),
        UNKNOWN: _("No notice %(id)s is on record.") % {"id": notice_id},
        UNAVAILABLE: _("Your acknowledgement could not be recorded just now, and nothing was recorded. "
                       "Open the link again in a few minutes."),
    }
    return messages[reason]
