"""Which receiver is told what, and when: Alertmanager's dispatcher as a pure object.

Feed it the records of the alerts topic (:meth:`Dispatcher.apply`) and call
:meth:`Dispatcher.flush` when :meth:`Dispatcher.next_due` comes; it returns
the :class:`Dispatch` objects that are due. Time comes only from the injected
clock, so tests drive it like Alertmanager's timeline tests and the worker
drives it with the wall clock.

For each alert it finds the routes of the policy (``continue`` may give
several) and puts the alert in the aggregation group of each route and its
``group_by`` labels. A group is first flushed ``group_wait`` after it was
created, then every ``group_interval``. At a flush, in this order:

1. a muted route (mute interval, or outside its active intervals) sends nothing now;
2. releasability: the receiver's principal (``country: KGZ`` acts as
   ``secretariat:KGZ``; see alerts/access.py) must see the alert, or the alert
   is not in the notice at all -- whatever the routes say;
3. silenced and inhibited alerts are left out;
4. a notice goes out when an alert fires that the last notice of the group did
   not carry at this level and transition, or a notified alert resolved; else,
   after ``repeat_interval``, a reminder, unless the receiver's desk has
   acknowledged every alert in it.

``notice_id`` is a hash of the receiver, the group key, each alert's
(alert_id, level, seq, status) and the reminder's ordinal: a restarted
dispatcher that re-derives the same notice gets the same id, and the delivery
log (alerts/notify/delivery.py) drops the second.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from alerts.model import AlertAction, AlertEvent, alert_labels
from alerts.policy import Policy, Route
from alerts.state import AlertStore


@dataclass(frozen=True)
class Dispatch:
    """A notification that is due: these alerts of this group, to this receiver."""

    receiver: str
    group_key: str
    alerts: tuple[dict, ...]
    reason: str  # new | changed | resolved | repeat
    notice_id: str


def notice_id_for(receiver: str, group_key: str, alerts: tuple[Mapping[str, Any], ...], repeat: int = 0) -> str:
    content = [receiver, group_key, sorted([a["alert_id"], a["level"], a["seq"], a["status"]] for a in alerts), repeat]
    return "nt-" + hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()[:24]


@dataclass
class _Group:
    route: Route
    key: str
    alerts: set[str]
    next_flush: datetime
    #: alert_id -> (level, seq) as the last notice of the group carried it
    notified: dict[str, tuple[str, int]] = field(default_factory=dict)
    last_sent: datetime | None = None
    repeats: int = 0


class Dispatcher:
    """Routes, groups, mutes and times notifications; pure, clock injected.

    >>> from datetime import datetime, timedelta, timezone
    >>> from alerts.policy import load_policy
    >>> t = [datetime(2026, 1, 5, 9, tzinfo=timezone.utc)]
    >>> d = Dispatcher(load_policy(), clock=lambda: t[0])
    >>> d.next_due() is None
    True
    """

    def __init__(self, policy: Policy, clock: Callable[[], datetime], store: AlertStore | None = None) -> None:
        self.policy = policy
        self.clock = clock
        self.store = store if store is not None else AlertStore(clock=clock)
        # A store that keeps a bounded history must not forget an alert before its end is told.
        self.store.pinned = self.holds
        self.groups: dict[tuple[str, str], _Group] = {}

    def apply(self, record: AlertEvent | AlertAction) -> list[Dispatch]:
        """Fold one record of the alerts topic, then flush what is due now.

        The store may be shared with the feed: a record folded there already is placed
        all the same (placing looks at the alert's current state, so it is idempotent).
        """
        self.store.add(record)
        if isinstance(record, AlertEvent):
            self._place(record.alert_id)
        return self.flush()

    def holds(self, alert_id: str) -> bool:
        """Whether an aggregation group still carries the alert (its resolution may be news)."""
        return any(alert_id in g.alerts for g in self.groups.values())

    def next_due(self) -> datetime | None:
        """When :meth:`flush` next has something to look at (None: no groups)."""
        return min((g.next_flush for g in self.groups.values()), default=None)

    def flush(self) -> list[Dispatch]:
        now = self.clock()
        out: list[Dispatch] = []
        labels = _Labels(self.store)  # the store does not change during a flush
        for gid in sorted(self.groups):
            g = self.groups[gid]
            if g.next_flush > now:
                continue
            g.next_flush = now + g.route.group_interval
            d = self._flush_group(g, now, labels)
            if d is not None:
                out.append(d)
            if not g.alerts:
                del self.groups[gid]
        return out

    # -- grouping

    def _place(self, alert_id: str) -> None:
        alert = self.store.alerts.get(alert_id)
        if alert is None or alert["resolved_at"] is not None:
            return  # stays in its groups until the flush tells who heard of it
        labels = alert_labels(alert)
        now = self.clock()
        targets = set()
        for route in self.policy.routes_for(labels):
            group_labels = route.group_labels(labels)
            key = route.key + ":{" + ",".join(f'{k}="{v}"' for k, v in group_labels.items()) + "}"
            gid = (route.id, key)
            targets.add(gid)
            g = self.groups.get(gid)
            if g is None:
                g = self.groups[gid] = _Group(route, key, set(), now + route.group_wait)
            g.alerts.add(alert_id)
        # An alert whose labels no longer match a route leaves that route's group quietly.
        for gid, g in list(self.groups.items()):
            if gid not in targets and alert_id in g.alerts:
                g.alerts.discard(alert_id)
                g.notified.pop(alert_id, None)
                if not g.alerts:
                    del self.groups[gid]

    # -- one flush

    def _flush_group(self, g: _Group, now: datetime, labels: "_Labels") -> Dispatch | None:
        if self.policy.muted(g.route, now):
            return None
        receiver = self.policy.receivers[g.route.receiver]
        principal = receiver.principal
        firing, resolved = [], []
        for aid in sorted(g.alerts):
            a = self.store.alerts.get(aid)
            if a is None:  # resolved and already forgotten by a store that keeps a bounded history
                g.alerts.discard(aid)
                g.notified.pop(aid, None)
                continue
            if a["resolved_at"] is not None:
                if aid in g.notified and principal.sees(a):
                    resolved.append(a)
                else:
                    g.alerts.discard(aid)  # nobody here heard of it: its end is no news
                continue
            if not principal.sees(a):
                continue
            if self.store.silenced_by(labels[aid], now) or self._inhibited(aid, labels):
                continue
            firing.append(a)
        now_firing = {a["alert_id"]: (a["level"], a["seq"]) for a in firing}
        changed = any(g.notified.get(aid) != state for aid, state in now_firing.items())
        scope = principal.desk
        acked = {a["alert_id"]: self.store.acknowledgement(a["alert_id"], scope, now) is not None
                 for a in firing + resolved}
        if changed or resolved:
            reason = "new" if g.last_sent is None else ("changed" if firing else "resolved")
            g.repeats = 0
        elif (firing and g.last_sent is not None and now - g.last_sent >= g.route.repeat_interval
              and not all(acked[a["alert_id"]] for a in firing)):
            reason = "repeat"
            g.repeats += 1
        else:
            return None
        # as the receiver may read them (from the folded alert, whose steps say which were released to
        # it): a sink that sends the payload as it is (a webhook) too
        alerts = tuple([self._payload(principal.shown(a), "firing", labels, acked) for a in firing]
                       + [self._payload(principal.shown(a), "resolved", labels, acked) for a in resolved])
        for a in resolved:
            g.alerts.discard(a["alert_id"])
        g.notified = now_firing
        g.last_sent = now
        notice = notice_id_for(receiver.name, g.key, alerts, g.repeats if reason == "repeat" else 0)
        return Dispatch(receiver.name, g.key, alerts, reason, notice)

    def _inhibited(self, alert_id: str, labels: "_Labels") -> bool:
        target = labels[alert_id]
        rules = [r for r in self.policy.inhibit_rules if all(m.matches(target) for m in r.target_matchers)]
        if not rules:
            return False
        return any(src_id != alert_id and any(r.inhibits(src, target) for r in rules)
                   for src_id, src in labels.open())

    def _payload(self, a: Mapping[str, Any], status: str, labels: "_Labels", acked: Mapping[str, bool]) -> dict:
        """An alert as a notice carries it; evidence ids still go through Principal.redact in the notice."""
        keys = ("alert_id", "segment_id", "border", "countries", "level", "peak_level", "score", "peak_score",
                "opened_at", "resolved_at", "updated_at", "summary", "detector", "classification", "releasable_to",
                "evidence", "seq", "explanation", "kind", "figures_releasable_to", "history_releasable_to")
        out = {k: a.get(k) for k in keys}
        if a.get("figures_withheld"):
            out["figures_withheld"] = True
        out.update(status=status, labels=labels[a["alert_id"]], acknowledged=acked[a["alert_id"]])
        return out


class _Labels:
    """Alert labels computed once per flush, and the open alerts' labels for inhibition."""

    def __init__(self, store: AlertStore) -> None:
        self.store = store
        self._by_id: dict[str, dict[str, str]] = {}
        self._open: list[tuple[str, dict[str, str]]] | None = None

    def __getitem__(self, alert_id: str) -> dict[str, str]:
        got = self._by_id.get(alert_id)
        if got is None:
            got = self._by_id[alert_id] = alert_labels(self.store.alerts[alert_id])
        return got

    def open(self) -> list[tuple[str, dict[str, str]]]:
        if self._open is None:
            self._open = [(a["alert_id"], self[a["alert_id"]]) for a in self.store.open_alerts()]
        return self._open
