"""Notices as they were rendered, kept so a desk can download one again (as CAP 1.2).

The notify chain renders a notice once per notify call; :meth:`NoticeArchive.keeping` wraps the
renderer so each notice is also written, as its JSON, to ``<data dir>/notices/archive/<id>.json``
(the first rendering of an id stays: the one its first delivery came from). Keeping is best
effort: a full disk must not stop a notice going out, so it only logs.

:class:`NoticeDownloads` answers the web API: the delivery log says whose a notice is, and
``Principal.notice_right`` (alerts/access.py) whether the caller may know of it -- a desk gets
only its own desk's notices (another desk's is ``404``, as if it did not exist), the centre's
roles every notice. The acknowledgement link (its token acknowledges as the desk) goes only to the
notice's own desk: the centre reads a desk's notice without it, and acknowledges for the desk only
on its behalf (``POST /notices/{id}/ack``), as alerts/notify/acks.py records.

>>> archive = NoticeArchive.in_data_dir(data_dir)                                         # doctest: +SKIP
>>> Notifier(log, sinks, archive.keeping(NoticeRenderer(...)))                            # doctest: +SKIP
>>> NoticeDownloads(log, archive, policy.receiver_principal).cap("nt-...", principal)     # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

from alerts.access import NOTICE_HIDDEN, NOTICE_OWN, Principal
from alerts.fsio import atomic_write
from alerts.notify.acks import UnknownNotice
from alerts.notify.cap import default_sender, to_cap
from alerts.notify.delivery import NOTICE_FIELD
from alerts.notify.brief import notice_json
from alerts.notify.model import Notice
from alerts.notify.notices import NoticeRequest

log = logging.getLogger(__name__)
ARCHIVE_DIR = "notices/archive"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")

Renderer = Callable[[NoticeRequest, "Mapping[str, Any] | None"], Notice]


class NoticeArchive:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)

    @classmethod
    def in_data_dir(cls, data_dir: str | os.PathLike[str]) -> "NoticeArchive":
        return cls(Path(data_dir) / ARCHIVE_DIR)

    def path(self, notice_id: str) -> Path:
        return self.dir / f"{_SAFE.sub('_', notice_id)}.json"

    def keep(self, notice: Notice) -> None:
        path = self.path(notice.notice_id)
        if path.exists():
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write(path, notice_json(notice))
        except OSError as exc:
            log.warning("notice %s not archived (its CAP download will answer 404): %s", notice.notice_id, exc)

    def get(self, notice_id: str) -> Notice | None:
        try:
            raw = self.path(notice_id).read_bytes()
        except FileNotFoundError:
            return None
        notice = Notice.from_dict(json.loads(raw))
        return notice if notice.notice_id == notice_id else None  # two ids that map to one file name

    def keeping(self, render: Renderer) -> Renderer:
        """``render``, keeping each notice it makes."""
        def render_and_keep(request: NoticeRequest, previous: Mapping[str, Any] | None) -> Notice:
            notice = render(request, previous)
            self.keep(notice)
            return notice

        return render_and_keep


class NoticeDownloads:
    """A delivered notice, again, for a caller who may know of it. ``log`` is the delivery log
    (``first_delivery``); ``desk_of(receiver)`` the policy receiver's principal
    (``Policy.receiver_principal``). The notice is this worker's archived rendering, else the one
    its first delivery record carries (any worker's), whose acknowledgement link ``link_for(notice)``
    makes again. Raises :class:`~alerts.notify.acks.UnknownNotice` (404)."""

    def __init__(self, log: Any, archive: NoticeArchive, desk_of: Callable[[str], Principal | None],
                 link_for: Callable[[Notice], str] | None = None) -> None:
        self.log, self.archive, self.desk_of, self.link_for = log, archive, desk_of, link_for

    def cap(self, notice_id: str, principal: Principal) -> bytes:
        """The notice as CAP 1.2 XML (alerts/notify/cap.py), from the sender its links name; without the
        acknowledgement link unless ``principal`` is of the notice's own desk."""
        notice, own = self._kept(notice_id, principal)
        return to_cap(notice if own else replace(notice, ack_url=""), default_sender(notice))

    def _kept(self, notice_id: str, principal: Principal) -> tuple[Notice, bool]:
        """The kept notice, and whether ``principal`` is of its own desk."""
        delivery = self.log.first_delivery(notice_id)
        right = principal.notice_right(self.desk_of(delivery["receiver"])) if delivery else NOTICE_HIDDEN
        if right == NOTICE_HIDDEN:
            raise UnknownNotice(f"no notice {notice_id}")  # missing and another desk's alike
        notice = self.archive.get(notice_id)
        if notice is None and delivery.get(NOTICE_FIELD):
            # rendered on another worker: the log has it, without the desk's link, made again here
            notice = Notice.from_dict(delivery[NOTICE_FIELD])
            if self.link_for is not None:
                notice = replace(notice, ack_url=self.link_for(notice))
        if notice is None:
            raise UnknownNotice(f"notice {notice_id} was delivered but is neither in the delivery log nor in "
                                f"this worker's archive")
        return notice, right == NOTICE_OWN
