"""The OpenAPI 3 document of :mod:`alerts.web.app`, served at ``/openapi.json``.

``python -m alerts.web.openapi > docs/openapi.json`` refreshes the copy in docs; a unit test
checks that the copy, the served document and the app's routes agree.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from alerts.escalation import LEVELS
from alerts.timefmt import ISO_TIME
from alerts.web.context import MAX_BODY_BYTES, PATH_ID

_LEVELS_NONE = list(LEVELS)
_ALERT_LEVELS = [lv for lv in LEVELS if lv != "none"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict:
    return _json(_ref("Error"), description)


_HTML = {"description": "an HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
_401 = {"401": _err("no valid token (missing, wrong, revoked or expired)")}
_PAGE_401 = {"401": {"description": "not signed in: the sign-in form",
                     "content": {"text/html": {"schema": {"type": "string"}}}}}


def _param(name: str, where: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    if where == "path" and schema is None:
        schema = {"type": "string", "pattern": f"^{PATH_ID}$"}  # anything else: 404 from the router
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema or {"type": "string"}}


_TIME = {"type": "string", "pattern": f"^{ISO_TIME}$", "example": "2012-07-01T00:00:00Z",
         "description": "ISO 8601, a day the month has; without a zone it is UTC, a date alone its midnight UTC"}
_COMMENT = {"type": "string", "maxLength": 2000}
_413 = {"413": _err(f"the body is larger than {MAX_BODY_BYTES} bytes")}


_FILTERS = [
    _param("level", "query", "alerts now at or peaking at this level", {"type": "string", "enum": _ALERT_LEVELS}),
    _param("border", "query", "border pair, e.g. KGZ-TJK"),
    _param("segment", "query", "segment id, e.g. KGZ-TJK-07 (also accepted as segment_id)"),
    _param("segment_id", "query", "same as segment"),
]

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": {"type": "string"}, "hint": {"type": "string"}}},
    "Transition": {"type": "object", "required": ["transition", "at"], "properties": {
        "transition": {"type": "string", "description": "opened, escalated, de-escalated, resolved, acknowledged, ..."},
        "level": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "score": {"type": "number"},
        "releasable_to": {"type": "array", "items": {"type": "string"},
                          "description": "this transition's; one not released to the caller is left out"}}},
    "Acknowledgement": {"type": "object", "nullable": True, "properties": {
        "by": {"type": "string"}, "until": {"type": "string", "format": "date-time", "nullable": True},
        "comment": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}},
    "Alert": {"type": "object", "required": ["alert_id", "border", "segment_id", "level", "opened_at"],
              "properties": {
                  "alert_id": {"type": "string", "example": "al-06e942dfbc4ff242"},
                  "border": {"type": "string", "example": "KGZ-UZB"},
                  "segment_id": {"type": "string", "example": "KGZ-UZB-03"},
                  "countries": {"type": "array", "items": {"type": "string"}},
                  "opened_at": {"type": "string", "format": "date-time"},
                  "resolved_at": {"type": "string", "format": "date-time", "nullable": True},
                  "level": {"type": "string", "enum": _LEVELS_NONE, "description": "now; none once resolved"},
                  "peak_level": {"type": "string", "enum": _ALERT_LEVELS},
                  "score": {"type": "number"}, "peak_score": {"type": "number"},
                  "summary": {"type": "string"}, "detector": {"type": "string"},
                  "classification": {"type": "string"},
                  "releasable_to": {"type": "array", "items": {"type": "string"},
                                    "description": "ALL or ISO3 codes; empty: the centre alone"},
                  "figures_releasable_to": {
                      "type": "array", "items": {"type": "string"},
                      "description": "where the figures of summary and explanation may go (they count incidents "
                                     "of the past year and a month); empty: the centre alone"},
                  "figures_withheld": {
                      "type": "boolean",
                      "description": "true when the figures are not released to the caller: summary says so, "
                                     "explanation keeps the detector, score and evidence only"},
                  "history_releasable_to": {
                      "type": "array", "items": {"type": "string"},
                      "description": "where every transition of the alert so far may go; a caller some were not "
                                     "released to gets opened_at, peak_level and peak_score as the transitions "
                                     "released to it tell them, and only those transitions; empty: the centre alone"},
                  "evidence": {"type": "array", "items": {"type": "string"}, "description": "incident event ids"},
                  "updated_at": {"type": "string", "format": "date-time"},
                  "acknowledged": _ref("Acknowledgement"),
                  "transitions": {"type": "array", "items": _ref("Transition")}}},
    "AlertList": {"type": "object", "required": ["count", "alerts"], "properties": {
        "count": {"type": "integer"}, "alerts": {"type": "array", "items": _ref("Alert")}}},
    "Segment": {"type": "object", "required": ["segment_id", "border", "level"], "properties": {
        "segment_id": {"type": "string"}, "border": {"type": "string"},
        "countries": {"type": "array", "items": {"type": "string"}}, "name": {"type": "string"},
        "length_km": {"type": "number"}, "pair_level": {"type": "boolean", "description": "a whole border, no geometry"},
        "coords": {"type": "array", "description": "the line as [lon, lat] pairs",
                   "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}},
        "level": {"type": "string", "enum": _LEVELS_NONE, "description": "highest open alert the caller sees"},
        "open_alerts": {"type": "integer"}}},
    "SegmentList": {"type": "object", "required": ["count", "segments"], "properties": {
        "count": {"type": "integer"}, "segments": {"type": "array", "items": _ref("Segment")}}},
    "Incident": {"type": "object", "description": "an incident record (see docs/FORMATS.md), releasable to the caller",
                 "additionalProperties": True, "properties": {
                     "event_id": {"type": "string"}, "occurred_at": {"type": "string"},
                     "category": {"type": "string"}, "fatalities": {"type": "integer"},
                     "releasable_to": {"type": "array", "items": {"type": "string"}}}},
    "Day": {"type": "object", "required": ["date", "incidents"], "properties": {
        "date": {"type": "string", "format": "date"}, "incidents": {"type": "integer"},
        "fatalities": {"type": "integer"}, "baseline": {"type": "number"}}},
    "SegmentDetail": {"allOf": [_ref("Segment"), {"type": "object", "properties": {
        "alerts": {"type": "array", "items": _ref("Alert")},
        "incidents": {"type": "array", "items": _ref("Incident")},
        "daily": {"type": "array", "items": _ref("Day"),
                  "description": "for callers who may not see every incident, counted from the incidents "
                                 "released to them, without baseline"},
        "detail_available": {"type": "boolean"}}}]},
    "AckRequest": {"type": "object", "properties": {
        "until": {"type": "string", "format": "date-time", "description": "omit for the policy's default expiry"},
        "comment": {"type": "string", "maxLength": 2000}}},
    "SilenceRequest": {"type": "object", "required": ["matchers", "until", "comment"], "additionalProperties": False,
                       "properties": {
                           "matchers": {"type": "object", "minProperties": 1,
                                        "description": "label: exact value; labels segment_id, border, level, "
                                                       "detector, classification",
                                        "additionalProperties": {"type": "string"},
                                        "example": {"border": "KGZ-TJK"}},
                           "until": {"type": "string", "format": "date-time"},
                           "comment": {"type": "string", "maxLength": 2000, "minLength": 1}}},
    "NoticeAckRequest": {"oneOf": [
        {"type": "object", "additionalProperties": False, "description": "the caller's own desk's notice",
         "properties": {"comment": _COMMENT}},
        {"type": "object", "additionalProperties": False, "required": ["on_behalf_of", "reason"],
         "description": "operator, admin: a desk's notice, acknowledged for that desk; recorded, and kept out of "
                        "the desk's time to acknowledge",
         "properties": {
             "comment": _COMMENT,
             "on_behalf_of": {"type": "string", "pattern": "\\S", "maxLength": 64, "example": "secretariat-KGZ",
                              "description": "the receiver the notice went to"},
             "reason": {"type": "string", "pattern": "\\S", "maxLength": 2000,
                        "description": "why the centre acknowledges for the desk"}}}]},
    "NoticeAck": {"type": "object", "required": ["notice_id", "receiver", "by", "at"], "properties": {
        "notice_id": {"type": "string"}, "receiver": {"type": "string", "description": "the desk it went to"},
        "by": {"type": "string"}, "role": {"type": "string"},
        "at": {"type": "string", "format": "date-time"}, "delivered_at": {"type": "string", "format": "date-time"},
        "seconds": {"type": "number"}, "on_behalf_of": {"type": "string", "nullable": True},
        "reason": {"type": "string"}, "comment": {"type": "string"},
        "repeated": {"type": "boolean", "description": "an earlier acknowledgement stands; nothing was recorded"}}},
    "NoticeAccepted": {"type": "object", "required": ["accepted", "result"], "properties": {
        "accepted": {"type": "boolean"}, "result": _ref("NoticeAck")}},
    "Silence": {"type": "object", "additionalProperties": True, "properties": {
        "silence_id": {"type": "string"}, "matchers": {"type": "object", "additionalProperties": {"type": "string"}},
        "until": {"type": "string", "format": "date-time"}, "by": {"type": "string"}, "comment": {"type": "string"}}},
    "SilenceList": {"type": "object", "required": ["count", "silences"], "properties": {
        "count": {"type": "integer"}, "silences": {"type": "array", "items": _ref("Silence")}}},
    "Accepted": {"type": "object", "required": ["accepted"], "properties": {
        "accepted": {"type": "boolean"},
        "result": {"type": "object", "additionalProperties": True,
                   "description": "what the action produced (the event sent to the alerts topic)"}}},
    "WhoAmI": {"type": "object", "properties": {
        "name": {"type": "string"}, "role": {"type": "string"}, "may_act": {"type": "boolean"},
        "may_ack_notices": {"type": "boolean"}}},
}

_ACTION_ERRORS = {
    "400": _err("invalid body, or refused by the policy's guardrails"),
    "403": _err("the role may not do this, or (cookie sign-in) the X-Borderwatch-Request header is missing"),
    "404": _err("no such alert (or not one the caller may see)"),
    **_413,
    "415": _err("the body is not application/json"),
    "501": _err("this action is not wired in this deployment"),
}


def _link_page(summary: str, token: str) -> dict:
    """GET of the page an acknowledgement link opens, its token in the query parameter ``token``."""
    return {"summary": summary, "security": [], "tags": ["page"],
            "parameters": [_param("notice_id", "path", "notice id"),
                           _param(token, "query", "the notice's acknowledgement token",
                                  {"type": "string", "minLength": 1}, required=True)],
            "responses": {"200": _HTML, "400": dict(_HTML, description="the link has no token"),
                          "403": dict(_HTML, description="the token is not valid for this notice"),
                          "404": _err("not a notice id"),
                          "410": dict(_HTML, description="the link's last day has passed")}}


def openapi_document() -> dict[str, Any]:
    alert_id = _param("alert_id", "path", "alert id")
    seg_id = _param("segment_id", "path", "segment id, e.g. KGZ-TJK-07, or a pair such as KGZ-TJK")
    paths: dict[str, Any] = {
        "/health": {"get": {"summary": "liveness and readiness", "security": [], "tags": ["ops"], "responses": {
            "200": _json({"type": "object", "properties": {"status": {"type": "string", "enum": ["ok", "waiting"]},
                                                            "ready": {"type": "boolean"}, "reason": {"type": "string"}}},
                         "200 while the stream runs; ready once partitions are assigned and state recovered; "
                         "status waiting, not ready, with the reason while the broker does not answer"),
            "503": _json({"type": "object", "properties": {"status": {"type": "string", "enum": ["failing"]},
                                                            "ready": {"type": "boolean"}, "reason": {"type": "string"}}},
                         "an agent failed, or the worker stalled in a rebalance or recovery (reason); the "
                         "process exits for its supervisor to restart it")}}},
        "/metrics": {"get": {"summary": "Prometheus exposition (centre roles)", "tags": ["ops"], "responses": {
            "200": {"description": "text exposition format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}},
            **_401, "403": _err("a role outside the centre: metrics cover every border")}}},
        "/openapi.json": {"get": {"summary": "this document", "tags": ["api"], "responses": {
            "200": _json({"type": "object"}, "OpenAPI 3.0 document"), **_401}}},
        "/whoami": {"get": {"summary": "the caller's name, role and rights", "tags": ["api"], "responses": {
            "200": _json(_ref("WhoAmI"), "the principal"), **_401}}},
        "/alerts": {"get": {
            "summary": "alerts the caller may see", "tags": ["alerts"],
            "parameters": [_param("status", "query", "open (default) or all", {"type": "string", "enum": ["open", "all"]}),
                           *_FILTERS,
                           _param("since", "query", "active at or after (not resolved before) this time", _TIME),
                           _param("until", "query", "opened before this time", _TIME)],
            "responses": {"200": _json(_ref("AlertList"), "matching alerts, in the order they opened"),
                          "400": _err("unknown parameter or bad value"), **_401}}},
        "/alerts/{alert_id}": {"get": {
            "summary": "one alert with its transitions", "tags": ["alerts"], "parameters": [alert_id],
            "responses": {"200": _json(_ref("Alert"), "the alert"), **_401,
                          "404": _err("no such alert, or not one the caller may see")}}},
        "/alerts/{alert_id}/ack": {"post": {
            "summary": "acknowledge an alert for the centre (operator, admin)", "tags": ["actions"], "parameters": [alert_id],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("AckRequest")}}},
            "responses": {"202": _json(_ref("Accepted"), "sent; the feed shows it once folded"), **_401,
                          **_ACTION_ERRORS}}},
        "/silences": {
            "get": {"summary": "active silences (centre roles)", "tags": ["actions"], "responses": {
                "200": _json(_ref("SilenceList"), "silences"), **_401,
                "403": _err("a role outside the centre"), "501": _err("silences are not wired")}},
            "post": {"summary": "silence alerts matching labels until a time (operator, admin)", "tags": ["actions"],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SilenceRequest")}}},
                     "responses": {"202": _json(_ref("Accepted"), "sent"), **_401, **_ACTION_ERRORS}}},
        "/notices/{notice_id}/ack": {"post": {
            "summary": "acknowledge a notice sent to the caller's desk, or (operator, admin) on behalf of its desk",
            "description": "See docs/API.md, 'Acknowledging a notice': a desk acknowledges its own notices; "
                           "the centre sees every notice and acknowledges a desk's only with on_behalf_of and "
                           "a reason.",
            "tags": ["actions"], "parameters": [_param("notice_id", "path", "notice id")],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("NoticeAckRequest")}}},
            "responses": {"202": _json(_ref("NoticeAccepted"), "recorded (or the acknowledgement that stands)"),
                          **_401, **_ACTION_ERRORS,
                          "400": _err("invalid body; on_behalf_of naming another desk than the notice's, "
                                      "or one's own; no reason"),
                          "403": _err("the caller sees the notice but may not acknowledge it (engineers; the "
                                      "centre without on_behalf_of), or cookie sign-in without "
                                      "X-Borderwatch-Request"),
                          "404": _err("no such notice, or another desk's (a desk may not learn it exists), or "
                                      "this worker does not deliver notices")}}},
        "/n/{notice_id}": {"get": _link_page("the page a notice's acknowledgement link opens: the short link "
                                             "notices carry (its token authorises it until its last day)", "t")},
        "/notices/{notice_id}/cap": {"get": {
            "summary": "a delivered notice as an OASIS CAP 1.2 message (its own desk; the centre's roles)",
            "description": "See docs/API.md, 'Downloading a notice as CAP': the notice as its desk received it, "
                           "one <alert> in the namespace urn:oasis:names:tc:emergency:cap:1.2.",
            "tags": ["notices"], "parameters": [_param("notice_id", "path", "notice id")],
            "responses": {"200": {"description": "the CAP 1.2 XML, as an attachment <notice_id>.cap.xml",
                                  "content": {"application/cap+xml": {"schema": {"type": "string"}}}},
                          **_401,
                          "404": _err("no such notice delivered, another desk's (a desk may not learn it exists), "
                                      "or not kept on this worker"),
                          "501": _err("this worker does not deliver notices")}}},
        "/notices/{notice_id}/confirm": {
            "get": _link_page("the same page at its longer address (links of earlier notices)", "token"),
            "post": {"summary": "acknowledge the notice with its link token; answers an HTML page",
                     "security": [], "tags": ["page"], "parameters": [_param("notice_id", "path", "notice id")],
                     "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}}}}},
                     "responses": {"200": _HTML, "400": _err("the form cannot be read"),
                                   "403": dict(_HTML, description="the token is not valid for this notice"),
                                   "410": dict(_HTML, description="the link's last day has passed"),
                                   "404": {"description": "no such notice was delivered (the page), or not a "
                                                          "notice id (JSON)", "content": {**_HTML["content"],
                                                          **_err("")["content"]}}, **_413,
                                   "501": dict(_HTML, description="this worker does not deliver notices")}}},
        "/segments": {"get": {"summary": "segments the caller may look at, with their level now", "tags": ["segments"],
                              "responses": {"200": _json(_ref("SegmentList"), "segments by id"), **_401}}},
        "/segments/{segment_id}": {"get": {
            "summary": "a segment: its alerts, recent incidents (redacted) and daily activity", "tags": ["segments"],
            "parameters": [seg_id],
            "responses": {"200": _json(_ref("SegmentDetail"), "the segment"), **_401,
                          "404": _err("no such segment, or not on the caller's borders")}}},
        "/events": {"get": {
            "summary": "live feed of alert events the caller may see (server-sent events)", "tags": ["alerts"],
            "description": "Each message is `event: alert`, `id: <boot>-<n>`, `data: {\"event\": <the alert event>, "
                           "\"alert\": <the alert as folded after it, without its transitions: GET /alerts/{alert_id} "
                           "has them>}`. A comment line `: heartbeat` comes every 15 s of quiet. Reconnecting with "
                           "`Last-Event-ID` resumes from the last 1000 events of this worker run; otherwise an "
                           "`event: resync` asks the client to reload `/alerts`.",
            "parameters": [*_FILTERS, _param("Last-Event-ID", "header", "resume after this event id")],
            "responses": {"200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {
                "type": "object", "description": "one server-sent event",
                "properties": {"event": {"type": "string", "enum": ["alert", "resync"]}, "id": {"type": "string"},
                               "data": {"type": "string", "description": "JSON: {\"event\": ..., \"alert\": ...}"},
                               "retry": {"type": "integer"}}}}}},
                          "400": _err("bad filter"), **_401}}},
        "/login": {
            "get": {"summary": "the sign-in form", "security": [], "tags": ["page"],
                    "parameters": [_param("next", "query", "page to go to after signing in")],
                    "responses": {"200": _HTML}},
            "post": {"summary": "sign in: sets the HttpOnly, SameSite=Strict cookie", "security": [], "tags": ["page"],
                     "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "required": ["token"],
                         "properties": {"token": {"type": "string"}, "next": {"type": "string"}}}}}},
                     "responses": {"303": {"description": "signed in; Set-Cookie and a redirect to next"},
                                   "400": _err("the form cannot be read"),
                                   "401": {"description": "the form again, with the error",
                                           "content": {"text/html": {"schema": {"type": "string"}}}},
                                   "403": _err("posted from another site"), **_413}}},
        "/logout": {"post": {"summary": "sign out: drops the cookie", "security": [], "tags": ["page"],
                             "responses": {"303": {"description": "redirect to /login"},
                                           "403": _err("posted from another site")}}},
        "/": {"get": {"summary": "the operator page: map, live feed, filters, actions", "tags": ["page"],
                      "parameters": [_param("level", "query", "pre-sets the level filter: watch, warning or "
                                            "critical; any other value is ignored", {"type": "string"}),
                                     _param("border", "query", "filter"),
                                     _param("since", "query", "history: resolved on or after this date (YYYY-MM-DD)")],
                      "responses": {"200": _HTML, **_PAGE_401}}},
        "/ui/console": {"get": {
            "summary": "the page's console section alone (banner, open alerts, history), which the page's "
                       "script swaps in on a live event; same query as /", "tags": ["page"],
            "parameters": [_param("level", "query", "filter"), _param("border", "query", "filter"),
                           _param("since", "query", "history: resolved on or after this date (YYYY-MM-DD)")],
            "responses": {"200": _HTML, **_PAGE_401}}},
        "/ui/segments/{segment_id}": {"get": {
            "summary": "the segment page: recent incidents and chart", "tags": ["page"], "parameters": [seg_id],
            "responses": {"200": _HTML, **_PAGE_401, "404": _err("no such segment")}}},
        "/assets/{name}": {"get": {
            "summary": "the page's script and style sheet (static, the same for everyone)", "security": [],
            "tags": ["page"],
            "parameters": [_param("name", "path", "asset", {"type": "string", "enum": ["app.js", "style.css"]})],
            "responses": {"200": {"description": "the asset", "content": {
                "application/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}},
                "404": {"description": "no such asset"}}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "borderwatch worker API", "version": "1",
                 "description": "Alerts, segments, live feed and actions of a borderwatch worker. What a caller "
                                "sees depends on its token's role (see docs/API.md)."},
        "servers": [{"url": "http://127.0.0.1:6066"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "tags": [{"name": n} for n in ("alerts", "segments", "notices", "actions", "api", "ops", "page")],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "a token from `borderwatch token add`"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "borderwatch_token",
                           "description": "set by POST /login; changes also need the header X-Borderwatch-Request: 1"}},
            "schemas": _SCHEMAS},
    }


if __name__ == "__main__":
    json.dump(openapi_document(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
