"""The materialised alert state: current alerts with their acks and silences, and history queries.

:class:`AlertStore` folds every record of the alerts topic (pipeline transitions
and people's actions, in any order, redeliveries ignored) and answers with an
injected clock, so acknowledgements and silences expire without anyone writing
an "expired" record. :func:`acknowledge`, :func:`silence` and :func:`unsilence`
are what the web API calls: they validate a request against the policy and the
store and return the :class:`~alerts.model.AlertAction` to produce; nothing here
touches Kafka.

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
>>> store = AlertStore(clock=lambda: now)
>>> op = Principal.parse("aida", "operator")
>>> from alerts.policy import load_policy
>>> s = silence(['border="KGZ-TJK"'], op, timedelta(hours=2), "border talks", now=now, policy=load_policy())
>>> store.add(s), store.add(s)
(True, False)
>>> [x["status"] for x in store.silence_list()]
['active']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from borderwatch.errors import BorderwatchError
from alerts.access import ACK_ALERTS, END_SILENCE, SILENCE, Principal
from alerts.escalation import LEVEL_INDEX
from alerts.history import AlertHistory
from alerts.model import AlertAction, AlertEvent, alert_labels
from alerts.policy import LABEL_NAMES, Matcher, Policy, format_duration, matches_all
from alerts.timefmt import iso, parse_iso, utcnow

COMMENT_MAX = 2000


class ActionError(BorderwatchError, ValueError):
    """A request to acknowledge or silence that is not valid (the API answers 400)."""


class ActionForbidden(ActionError, PermissionError):
    """The principal may not do this (the API answers 403)."""


class NoSuchTarget(ActionError, LookupError):
    """No such alert or silence -- or one the principal may not see: the same answer, so the API's
    404 lets nobody probe for alerts on other states' borders."""


@dataclass
class AlertStore(AlertHistory):
    """AlertHistory plus acknowledgements and silences; queries take ``now`` from ``clock``."""

    clock: Callable[[], datetime] = utcnow
    #: alert_id -> desk (``Principal.desk``) -> the latest ack action (as a dict)
    acks: dict[str, dict[str, dict]] = field(default_factory=dict)
    #: silence_id -> the silenced action (as a dict)
    silences: dict[str, dict] = field(default_factory=dict)
    #: silence_id -> when it was ended early (may be folded before the silence itself)
    ended: dict[str, str] = field(default_factory=dict)
    #: every action folded, in log order: the people's half of the audit trail
    actions: list[dict] = field(default_factory=list)
    _action_ids: set[str] = field(default_factory=set)
    _matchers: dict[str, tuple[Matcher, ...]] = field(default_factory=dict)

    def add(self, record: AlertEvent | AlertAction) -> bool:
        """Fold one record of the alerts topic; False when it was a redelivery."""
        if isinstance(record, AlertEvent):
            return super().add(record)
        if record.action_id in self._action_ids:
            return False
        a = record.to_dict()
        # Check before changing anything: a malformed record raises and leaves the store as it was.
        scope = Principal.parse(record.by, record.role).desk
        matchers = tuple(Matcher.parse(m) for m in record.matchers)
        self._action_ids.add(record.action_id)
        self.actions.append(a)
        if record.action == "acknowledged":
            prior = self.acks.setdefault(record.alert_id, {}).get(scope)
            if prior is None or (prior["at"], prior["action_id"]) <= (a["at"], a["action_id"]):
                self.acks[record.alert_id][scope] = a
        elif record.action == "silenced":
            self.silences[record.silence_id] = a
            self._matchers[record.silence_id] = matchers
        else:
            first = self.ended.get(record.silence_id)
            self.ended[record.silence_id] = min(first, record.at) if first else record.at
        return True

    def forget(self, alert_id: str) -> None:
        super().forget(alert_id)
        self.acks.pop(alert_id, None)  # the actions themselves stay in the audit trail

    # -- acknowledgements

    def acknowledgement(self, alert_id: str, scope: str = "centre", now: datetime | None = None) -> dict | None:
        """The ack of ``scope`` that holds now: not expired, and the alert has not escalated since."""
        a = self.acks.get(alert_id, {}).get(scope)
        if a is None or parse_iso(a["until"]) <= (now or self.clock()):
            return None
        alert = self.alerts.get(alert_id)
        if alert is not None and a.get("seq") is not None:
            if alert["resolved_at"] is not None:
                return None
            if any(t["transition"] == "escalated" and t.get("seq", 0) > a["seq"] for t in alert["transitions"]):
                return None
        return a

    # -- silences

    def silence_status(self, s: Mapping[str, Any], now: datetime | None = None) -> str:
        now = now or self.clock()
        ended = self.ended.get(s["silence_id"])
        if ended is not None and parse_iso(ended) <= now:
            return "ended"
        return "active" if parse_iso(s["at"]) <= now < parse_iso(s["until"]) else (
            "expired" if now >= parse_iso(s["until"]) else "pending")

    def silence_list(self, now: datetime | None = None, include_inactive: bool = True) -> list[dict]:
        now = now or self.clock()
        out = [dict(s, status=self.silence_status(s, now), ended_at=self.ended.get(s["silence_id"]))
               for s in self.silences.values()]
        out = [s for s in out if include_inactive or s["status"] == "active"]
        return sorted(out, key=lambda s: (s["at"], s["silence_id"]))

    def silenced_by(self, labels: Mapping[str, str], now: datetime | None = None) -> list[str]:
        """Ids of the active silences whose matchers all match ``labels``."""
        now = now or self.clock()
        return [s["silence_id"] for s in self.silences.values()
                if self.silence_status(s, now) == "active"
                and matches_all(self._matchers[s["silence_id"]], labels)]

    # -- views and queries

    def view(self, alert: Mapping[str, Any], now: datetime | None = None) -> dict:
        """An alert as the API shows it: its labels, and its ack and silence status now.

        ``ack`` is the centre's acknowledgement (only the centre acknowledges alerts).
        """
        now = now or self.clock()
        labels = alert_labels(alert)
        silenced = self.silenced_by(labels, now) if alert["resolved_at"] is None else []
        ack = self.acknowledgement(alert["alert_id"], "centre", now)
        # ``acknowledged`` is the ack itself (by, until, comment...) or None: truthy as a flag.
        out = dict(alert, labels=labels, acknowledged=_ack_view(ack), ack=_ack_view(ack),
                   silenced=bool(silenced), silenced_by=silenced)
        return out

    def current(self, now: datetime | None = None, principal: Principal | None = None) -> list[dict]:
        """Open alerts with their ack and silence status, those ``principal`` may see."""
        now = now or self.clock()
        return [self.view(a, now) if principal is None else principal.shown(self.view(a, now))
                for a in self.open_alerts() if principal is None or principal.sees(a)]

    def query(self, *, segment_id: str | None = None, border: str | None = None, since: datetime | None = None,
              until: datetime | None = None, level: str | None = None, principal: Principal | None = None,
              now: datetime | None = None) -> list[dict]:
        """History: alerts on a segment or border, open at some time in [since, until] (event
        time), that reached at least ``level``; oldest first."""
        if level is not None and level not in LEVEL_INDEX:
            raise ActionError(f"unknown level {level!r}: one of watch, warning, critical")
        now = now or self.clock()
        out = []
        for a in sorted(self.all(), key=lambda a: (a["opened_at"], a["segment_id"])):
            if segment_id and a["segment_id"] != segment_id or border and a["border"] != border:
                continue
            if level and LEVEL_INDEX[a["peak_level"]] < LEVEL_INDEX[level]:
                continue
            if until and parse_iso(a["opened_at"]) > until:
                continue
            if since and a["resolved_at"] and parse_iso(a["resolved_at"]) < since:
                continue
            if principal is not None and not principal.sees(a):
                continue
            out.append(self.view(a, now) if principal is None else principal.shown(self.view(a, now)))
        return out

    def timeline(self, alert_id: str) -> list[dict]:
        """One alert's audit trail: its transitions, then the acknowledgements of it."""
        alert = self.alerts.get(alert_id)
        steps = list(alert["transitions"]) if alert else []
        return steps + [a for a in self.actions if a.get("alert_id") == alert_id]


def _ack_view(a: Mapping[str, Any] | None) -> dict | None:
    if a is None:
        return None
    return {k: a[k] for k in ("action_id", "by", "role", "at", "until", "comment")}


# --------------------------------------------------------------------------- actions the API calls

def _until(until: datetime | timedelta | None, now: datetime, default: timedelta | None, most: timedelta,
           what: str) -> datetime:
    if until is None:
        if default is None:
            raise ActionError(f"a {what} needs an end time")
        until = default
    end = now + until if isinstance(until, timedelta) else until
    if end.tzinfo is None:
        raise ActionError(f"{what} end {end!r} has no time zone")
    if end <= now:
        raise ActionError(f"a {what} must end in the future (ends {iso(end)}, now {iso(now)})")
    if end - now > most:
        raise ActionError(f"a {what} may last at most {format_duration(most)} (policy); "
                          f"this one would last {format_duration(end - now)}")
    return end


def _comment(comment: str | None, required: bool, what: str) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise ActionError(f"a {what} needs a comment saying why (it goes into the audit log)")
    if len(comment) > COMMENT_MAX:
        raise ActionError(f"comment too long ({len(comment)} characters, at most {COMMENT_MAX})")
    return comment


def _may(principal: Principal, action: str) -> None:
    refused = principal.refusal(action)
    if refused:
        raise ActionForbidden(refused)


def acknowledge(alert_id: str, principal: Principal, until: datetime | timedelta | None = None,
                comment: str | None = None, *, now: datetime, policy: Policy,
                store: AlertStore | None = None) -> AlertAction:
    """Acknowledge an open alert until ``until`` (a time, a duration from now, or the policy's default).

    Who may is ``Principal.refusal``'s to say (operators and admins, for the centre; desks
    acknowledge the notices sent to them, :mod:`alerts.notify.acks`). With ``store``, the alert
    must exist and be open, and the ack records the alert's transition seq, so an escalation
    after it voids it.
    """
    _may(principal, ACK_ALERTS)
    rules = policy.acknowledgements
    end = _until(until, now, rules.default_expiry, rules.max_expiry, "acknowledgement")
    seq = None
    if store is not None:
        alert = store.alerts.get(alert_id)
        # An alert the caller may not see answers like one that does not exist: no probing.
        if alert is None or not principal.sees(alert):
            raise NoSuchTarget(f"no alert {alert_id!r}")
        if alert["resolved_at"] is not None:
            raise ActionError(f"alert {alert_id} is resolved; there is nothing to acknowledge")
        seq = alert.get("seq")
    return AlertAction("acknowledged", at=iso(now), by=principal.name, role=principal.role_string,
                       comment=_comment(comment, False, "acknowledgement"), until=iso(end), alert_id=alert_id, seq=seq)


def silence(matchers: list[str] | tuple[str, ...], principal: Principal, until: datetime | timedelta,
            comment: str, *, now: datetime, policy: Policy) -> AlertAction:
    """Silence the alerts matching ``matchers`` until ``until``: none of them is notified meanwhile.

    Guardrails from the policy: at least one equality matcher on a ``require_one_of`` label
    (a border or a segment), at most ``max_duration`` long, a comment; operators and admins only.
    """
    _may(principal, SILENCE)
    parsed = []
    for text in matchers or ():
        try:
            m = Matcher.parse(text)
        except ValueError as exc:
            raise ActionError(str(exc)) from None
        if m.name not in LABEL_NAMES:
            raise ActionError(f"unknown label {m.name!r} in {text!r} (labels: {', '.join(LABEL_NAMES)})")
        parsed.append(m)
    need = policy.silences.require_one_of
    if not any(m.op == "=" and m.name in need and m.value for m in parsed):
        raise ActionError(f"a silence must name at least one of {', '.join(need)} exactly "
                          f"(e.g. border=\"KGZ-TJK\"): a broad silence could hide a whole region")
    end = _until(until, now, None, policy.silences.max_duration, "silence")
    return AlertAction("silenced", at=iso(now), by=principal.name, role=principal.role_string,
                       comment=_comment(comment, True, "silence"), until=iso(end),
                       matchers=tuple(sorted(str(m) for m in parsed)))


def unsilence(silence_id: str, principal: Principal, comment: str | None = None, *, now: datetime,
              store: AlertStore) -> AlertAction:
    """End an active silence now."""
    _may(principal, END_SILENCE)
    s = store.silences.get(silence_id)
    if s is None:
        raise NoSuchTarget(f"no silence {silence_id!r}")
    status = store.silence_status(s, now)
    if status != "active":
        raise ActionError(f"silence {silence_id} is already {status}")
    return AlertAction("unsilenced", at=iso(now), by=principal.name, role=principal.role_string,
                       comment=_comment(comment, False, "unsilence"), silence_id=silence_id)
