"""Who may see what: principals, roles and releasability, in one place.

Every surface that shows alerts (the feed, the JSON API, the page, notices) asks
this module, so a rule changes in one place and the test matrix in
``tests/unit/test_access.py`` covers them all.

Rules:

* ``operator``, ``engineer`` and ``admin`` work for the monitoring centre: they
  see every alert and every piece of evidence.
* ``secretariat:<ISO3>`` sees an alert only if the alert is on a border of its
  state *and* the alert is releasable to it (``releasable_to`` holds ``ALL`` or
  its ISO3). Of the evidence it sees only incidents releasable to it.
* ``regional-desk`` sees what is released to all (``releasable_to`` = ``ALL``),
  on every border, and only evidence released to all.

An alert's ``releasable_to`` is the intersection over the incidents that made it
(``streams.explanation``), so showing an alert never reveals an incident the
viewer may not see. An empty ``releasable_to`` (incidents released to disjoint
states, e.g. one to KGZ only and one to TJK only) releases to nobody outside the
centre; only a record without the field at all (written before it existed) reads
as ``ALL``.

* An alert's *figures* -- the numbers its summary and explanation quote: deaths
  against the past year's highest, baselines, the detector's view and forecast --
  count incidents up to a year and a month back, beyond the 30 days its
  ``releasable_to`` covers. They go only where ``figures_releasable_to`` releases
  them (every incident in that reach). Anyone else who sees the alert gets it
  from :meth:`Principal.shown`: its level, score, segment and evidence, and a
  summary saying the figures are withheld (``figures_withheld``). The alert's own
  visibility is not narrowed to the figures': that would hide a state's own
  border for a year after any incident withheld from it.
* In an alert's history each transition is shown by its own ``releasable_to``, and
  a reader not released every one (``history_releasable_to``) reads its opening and
  peak from the ones it was: they would date and size the others.

Who acknowledges and silences what is decided here too (``refusal``, ``notice_right``):
the web handlers, :mod:`alerts.state` and :mod:`alerts.notify.acks` ask, none decides
or words a refusal on its own.

* Alerts: operators and admins acknowledge for the centre; no one else.
* Notices: a notice is its desk's correspondence. The desk it went to (a
  secretariat, the regional desk; the centre for the operators' notices)
  acknowledges it. The centre sees every notice, a desk only its own; an
  operator or admin acknowledges a desk's notice only *on behalf of* that desk,
  explicitly and with a reason, so time to acknowledge measures desks alone.

>>> p = Principal.parse("kg-desk", "secretariat:KGZ")
>>> p.sees_alert(("KGZ", "TJK"), ("ALL",)), p.sees_alert(("TJK", "UZB"), ("ALL",))
(True, False)
>>> p.sees_alert(("KGZ", "TJK"), ("TJK",))
False
>>> p.refusal(SILENCE)
'role secretariat:KGZ may not silence alerts'
>>> p.shown({"summary": "warning on KGZ-TJK-07: 30 deaths in 30 days (previous yearly high 25)",
...          "releasable_to": ["ALL"], "figures_releasable_to": ["TJK"]})["summary"]
"warning on KGZ-TJK-07: figures withheld: the segment's past year includes incidents not released to you"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

from alerts.borders import is_iso3
from alerts.escalation import LEVELS
from alerts.model import figures_release_of_old_record
from borderwatch.errors import BorderwatchError

#: ``releasable_to`` value that releases a record to every state and desk.
RELEASABLE_ALL = "ALL"
#: Roles, least to most powerful among the centre's staff; secretariat and regional-desk are outside.
ROLES = ("secretariat", "regional-desk", "engineer", "operator", "admin")
#: Roles that see everything.
CENTRE_ROLES = frozenset({"operator", "engineer", "admin"})
#: Roles that may acknowledge or silence alerts (secretariats acknowledge *notices*).
ACTION_ROLES = frozenset({"operator", "admin"})
#: Roles that acknowledge the notices of their own desk; engineers read only.
NOTICE_ROLES = frozenset({"secretariat", "regional-desk", "operator", "admin"})
#: The centre's desk: operators, engineers and admins work for one monitoring centre.
CENTRE = "centre"

#: What a caller may do with one notice (:meth:`Principal.notice_right`).
NOTICE_HIDDEN = "hidden"  # may not learn that it exists: answered like a notice never sent (404)
NOTICE_READ = "read"  # knows of it, may not acknowledge it (403)
NOTICE_OWN = "own"  # its own desk's: acknowledges it
NOTICE_ON_BEHALF = "on-behalf"  # another desk's: acknowledges it only on behalf of that desk, with a reason

#: What an alert's summary says after its place when its figures are withheld from the reader
#: (:meth:`Principal.shown`); pages and notices say it in the reader's language.
FIGURES_WITHHELD = "figures withheld: the segment's past year includes incidents not released to you"
#: What an explanation keeps when its figures are withheld: who scored it and how high (the level's
#: reason, already released with the alert); its incidents are the evidence (:meth:`Principal.shown`).
_EXPLANATION_KEPT = ("detector", "score")

#: The guarded actions on alerts (:meth:`Principal.refusal`).
ACK_ALERTS = "acknowledge alerts"
SILENCE = "silence alerts"
END_SILENCE = "end silences"
READ_SILENCES = "read silences"
READ_METRICS = "read metrics"


class AccessError(BorderwatchError, ValueError):
    """A role string that names no role, or a secretariat without a valid ISO3 code."""


@dataclass(frozen=True)
class Principal:
    """A caller: a name for the audit log, a role, and for a secretariat its state."""

    name: str
    role: str
    country: str | None = None

    @classmethod
    def parse(cls, name: str, role: str) -> "Principal":
        """``operator`` | ``engineer`` | ``admin`` | ``regional-desk`` | ``secretariat:KGZ``."""
        base, _, country = role.partition(":")
        if base not in ROLES:
            raise AccessError(f"unknown role {role!r}: use one of operator, engineer, admin, "
                              f"regional-desk, secretariat:<ISO3>")
        if base == "secretariat":
            if not is_iso3(country):
                raise AccessError(f"role {role!r}: a secretariat needs its state's ISO3 code, e.g. secretariat:KGZ")
            return cls(name, base, country)
        if country:
            raise AccessError(f"role {role!r}: only secretariat takes a country")
        return cls(name, base, None)

    @property
    def role_string(self) -> str:
        return f"{self.role}:{self.country}" if self.country else self.role

    @property
    def sees_all(self) -> bool:
        return self.role in CENTRE_ROLES

    @property
    def may_act(self) -> bool:
        """May acknowledge and silence alerts."""
        return self.role in ACTION_ROLES

    @property
    def may_ack_notices(self) -> bool:
        """May acknowledge its own desk's notices (which notice is whose: :meth:`notice_right`)."""
        return self.role in NOTICE_ROLES

    @property
    def may_ack_alerts(self) -> bool:
        """May acknowledge alerts, for the centre. Desks acknowledge the notices sent to them instead."""
        return self.may_act

    @property
    def desk(self) -> str:
        """Whose acknowledgements this principal's are: the centre's (any operator or admin) or one
        desk's (``secretariat:KGZ``, ``regional-desk``). A desk's never stand for the centre's."""
        return CENTRE if self.sees_all else self.role_string

    def refusal(self, action: str) -> str | None:
        """Why this principal may not do ``action`` (``ACK_ALERTS``, ``SILENCE``, ...), or None when it
        may. Callers refuse with these words (the API's 403, :class:`alerts.state.ActionForbidden`)."""
        if action == ACK_ALERTS:
            allowed, why = self.may_ack_alerts, "desks acknowledge the notices sent to them"
        elif action in (SILENCE, END_SILENCE):
            allowed, why = self.may_act, ""
        elif action == READ_SILENCES:
            return None if self.sees_all else "silences are the centre's working state: the centre's roles only"
        elif action == READ_METRICS:
            return None if self.sees_all else "metrics cover every border: the centre's roles only"
        else:
            raise ValueError(f"no rule for {action!r}")
        return None if allowed else f"role {self.role_string} may not {action}" + (f": {why}" if why else "")

    def sees_border(self, countries: Iterable[str]) -> bool:
        """May look at a border of these states (its segments, the map): a secretariat its own
        state's, everyone else every border. What is shown on it is still ``sees`` and ``redact``."""
        return self.role != "secretariat" or self.country in set(countries)

    def notice_right(self, receiver: "Principal | None") -> str:
        """What this principal may do with a notice sent to ``receiver`` (the policy receiver's
        principal; None for a receiver the policy no longer has): one of ``NOTICE_*``.
        """
        mine = receiver is not None and receiver.desk == self.desk
        if not (mine or self.sees_all):
            return NOTICE_HIDDEN  # another desk's correspondence: a desk may not even probe for it
        if mine and self.may_ack_notices:
            return NOTICE_OWN
        if not mine and self.may_act:
            return NOTICE_ON_BEHALF
        return NOTICE_READ

    def released_to_me(self, releasable_to: Iterable[str] | None) -> bool:
        """Whether a record with this ``releasable_to`` is released to this principal. None (no such
        field) is ``ALL``; an empty one is released to the centre alone: it is what incidents
        released to disjoint states intersect to, and reading it as "unrestricted" released the
        alert to every desk."""
        rel = {RELEASABLE_ALL} if releasable_to is None else set(releasable_to)
        if self.sees_all:
            return True
        if RELEASABLE_ALL in rel:
            return True
        return self.role == "secretariat" and self.country in rel

    def sees_alert(self, countries: Iterable[str], releasable_to: Iterable[str] | None) -> bool:
        if self.sees_all:
            return True
        return self.sees_border(countries) and self.released_to_me(releasable_to)

    def sees(self, alert: Mapping[str, Any]) -> bool:
        """For a dict with ``countries`` and ``releasable_to`` (a folded alert, an AlertEvent's dict)."""
        return self.sees_alert(alert.get("countries") or (), alert.get("releasable_to"))

    def redact(self, incidents: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The incidents (dicts with ``releasable_to``) this principal may see, in order."""
        return [i for i in incidents if self.released_to_me(i.get("releasable_to"))]

    def shown(self, alert: Mapping[str, Any]) -> Mapping[str, Any]:
        """An alert this principal :meth:`sees` (a folded alert, an AlertEvent's dict, a notice's
        payload) as it may read it: ``alert`` itself when nothing in it is withheld, else a copy.

        The copy leaves out the transitions not released to it, and, when the figures are not
        (``figures_releasable_to``), says so in the summary after the level and place, keeps of the
        explanation the detector, the score and the top incidents that are the alert's evidence,
        and is marked ``figures_withheld``. Every surface shows alerts through this.
        """
        steps = alert.get("transitions")
        hidden = [t for t in steps or () if not self.released_to_me(t.get("releasable_to"))]
        figures = alert.get("figures_releasable_to")
        released = self.released_to_me(figures if figures is not None else figures_release_of_old_record(alert))
        history = alert.get("history_releasable_to")
        # without its steps (an event, a notice's payload) the alert says whether all were released
        steps_released = not hidden if steps is not None else self.released_to_me(
            history if history is not None else figures_release_of_old_record(alert))
        if released and steps_released:
            return alert
        out = dict(alert)
        if not steps_released:
            out.update(_as_of_released_steps(alert, [t for t in steps if t not in hidden] if steps is not None else None))
        if hidden:
            out["transitions"] = [t for t in steps if t not in hidden]
        if not released:
            # "<level> on <place>: <figures>": the level and place are released with the alert
            head, said, _ = str(alert.get("summary") or "").partition(": ")
            out["summary"] = f"{head}: {FIGURES_WITHHELD}" if said else FIGURES_WITHHELD
            ex = alert.get("explanation")
            if ex:
                # The explanation may be an earlier transition's (the peak's): of its incidents only
                # those still the alert's evidence are released with the alert.
                evidence = set(alert.get("evidence") or ())
                out["explanation"] = {**{k: ex[k] for k in _EXPLANATION_KEPT if k in ex}, "top_incidents": [
                    i for i in ex.get("top_incidents") or () if i.get("event_id") in evidence]}
            out["figures_withheld"] = True
        return out


def _as_of_released_steps(alert: Mapping[str, Any], steps: list[Mapping[str, Any]] | None) -> dict[str, Any]:
    """The opening and peak of an alert as its released steps tell them, for a reader some of its
    earlier steps were not released to: "opened on 7 June" with every incident it was shown from
    7 July would date a withheld one, and a peak it never saw would size it. From the first released
    step and the highest of them; an alert without its steps (an event, a notice's payload) from
    itself, as of its own time."""
    now = {"at": alert.get("at") or alert.get("updated_at") or alert.get("opened_at"),
           "level": alert.get("level"), "score": alert.get("score")}  # released with the alert itself
    steps = steps or [now]
    peak = max([*steps, now], key=lambda t: (LEVELS.index(t["level"]) if t.get("level") in LEVELS else -1,
                                             t.get("score") or 0.0))
    # the history this copy tells is its released steps': where they all go (read again, it is as is)
    told = releasable_to_all([rel if rel is not None else [RELEASABLE_ALL]
                              for rel in (t.get("releasable_to", alert.get("releasable_to")) for t in steps)])
    return {"opened_at": steps[0].get("at"), "peak_level": peak.get("level"), "peak_score": peak.get("score"),
            "history_releasable_to": list(told)}


def releasable_to_all(lists: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """A group of records (incidents, an alert's steps) is releasable only where every one of them
    is: ``()`` when they are released to disjoint states, which releases to the centre alone."""
    allowed: set[str] | None = None
    for rel in lists:
        rel = set(rel)
        if RELEASABLE_ALL in rel:
            continue
        allowed = rel if allowed is None else allowed & rel
    return (RELEASABLE_ALL,) if allowed is None else tuple(sorted(allowed))


def daily_from(incidents: Iterable[Mapping[str, Any]], days: int) -> list[dict]:
    """A daily series counted from ``incidents`` alone, over the ``days`` days ending on the latest
    of their days (empty without incidents).

    Callers who may not see every incident (the segment page, notices) get this from the incidents
    :meth:`Principal.redact` leaves them instead of the stored series, so neither a count nor the
    series' dates (the stored one ends on the segment's latest incident, seen or not) reveal an
    incident withheld from them.
    """
    incidents = list(incidents)
    seen = [str(i.get("at", ""))[:10] for i in incidents]  # incidents as the segment keeps them (SegmentState.recent)
    seen_days = [d for d in seen if d]
    if not seen_days or days <= 0:
        return []
    last = date.fromisoformat(max(seen_days))
    counts: dict[str, list[int]] = {(last - timedelta(days=k)).isoformat(): [0, 0] for k in range(days)}
    for i, day in zip(incidents, seen):
        c = counts.get(day)
        if c is None:
            continue
        c[0] += 1
        c[1] += int(i.get("fatalities") or 0)
    return [{"date": d, "incidents": c[0], "fatalities": c[1]} for d, c in sorted(counts.items())]
