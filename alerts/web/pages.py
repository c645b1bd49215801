"""The pages: the console, a segment's page, sign-in, a notice link's page, and the browser's error
pages; server-rendered from the Jinja2 templates in ``templates/`` (autoescaped), with the script
and the style sheet in ``static/``, so nothing is fetched from elsewhere.

Everything shown went through :mod:`alerts.access` (:class:`~alerts.web.context.WebContext`'s
queries) first; the templates only lay out what they are given, and what they say in words comes
from :mod:`alerts.web.views`.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any, Awaitable, Callable, Mapping

import jinja2
from aiohttp import web

from alerts.access import Principal
from alerts.escalation import LEVELS
from alerts.model import alert_labels, is_arms_race
from alerts.notify import link_page
from alerts.notify.acks import LINK_LANG_FIELD, ExpiredAckLink
from alerts.notify.delivery import DeliveryLogUnavailable
from alerts.notify.i18n import SOURCE_LANGUAGE
from alerts.policy import format_duration
from alerts.timefmt import human, iso, parse_time
from alerts.web import views
from alerts.web.context import WebContext, form_of, principal_of

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: The files in ``static/`` the pages load, served as they are (``GET /assets/{name}``), and their types.
ASSETS = {"app.js": "application/javascript", "style.css": "text/css"}


@functools.cache
def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("alerts.web", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":")}
    env.filters["when"] = human
    env.globals.update(legend_keys=views.legend_keys, map_layout=views.map_layout, chart_layout=views.chart_layout,
                       chart_totals=views.chart_totals, shown_level=views.shown_level, headline=views.headline,
                       level_meaning=views.level_meaning, deviation_text=views.deviation_text,
                       incident_text=views.incident_text, incident_cells=views.incident_cells,
                       is_arms_race=is_arms_race, arms_acquired=views.arms_acquired,
                       arms_against_past=views.arms_against_past,
                       incident_columns=views.INCIDENT_COLUMNS)
    return env


@functools.cache
def asset(name: str) -> str:
    return resources.files("alerts.web").joinpath("static", name).read_text(encoding="utf-8")


def _page(template: str, code: int = 200, **context: Any) -> web.Response:
    text = templates().get_template(template).render(**context)
    return web.Response(text=text, content_type="text/html", status=code)


def _macro(name: str) -> Callable[..., Any]:
    return getattr(templates().get_template("macros.html.j2").module, name)


# ---------------------------------------------------------------------- pieces (the tests look at them alone)
def alert_card(a: Mapping[str, Any], names: Callable[[str], str], may_act: bool,
               plan: Mapping[str, Any] | None = None) -> str:
    """One open alert: what happened where, against what normal, what its level means, what happens next."""
    return str(_macro("alert_card")(a, names, may_act, plan))


def svg_map(rows: list[dict], width: float = 560.0, height: float = 450.0, svg_id: str = "map",
            highlight: str | None = None, border: str = "", border_towns: bool = True) -> str:
    """The map (:func:`alerts.web.views.map_layout`) as inline SVG, and its legend."""
    return str(_macro("svg_map")(rows, width, height, svg_id, highlight, border, border_towns))


def chart_legend(daily: list[Mapping[str, Any]]) -> str:
    return str(_macro("chart_legend")(daily)).strip()


def console_section(p: Principal, alerts: list[dict], names: Callable[[str], str], filters: Mapping[str, str],
                    plans: Mapping[str, Mapping[str, Any]] | None = None, segments: list[dict] | None = None) -> str:
    """The part of the page a live event or a filter re-renders: banner, open alerts, history
    (collapsed), and the map beside them (zoomed to the border the filter chose)."""
    return templates().get_template("console_section.html.j2").render(**_console(p, alerts, names, filters, plans,
                                                                                  segments))


def _console(p: Principal, alerts: list[dict], names: Callable[[str], str], filters: Mapping[str, str],
             plans: Mapping[str, Mapping[str, Any]] | None, segments: list[dict] | None) -> dict:
    shown = views.console_order(views.filtered(alerts, filters))
    open_ = [a for a in shown if views.is_open(a)]
    since = filters.get("since", "")
    return {"p": p, "names": names, "filters": filters, "plans": plans or {}, "segments": segments or [],
            "open_alerts": open_, "past": views.history_filter(shown, since), "since": since,
            "top": open_[0]["level"] if open_ else "none", "banner": views.open_banner(open_)}


# ---------------------------------------------------------------------- whole pages
def login_page(next_path: str = "/", error: str = "", status: int = 200) -> web.Response:
    if not next_path.startswith("/") or next_path.startswith("//") or next_path.startswith("/login"):
        next_path = "/"
    return _page("login.html.j2", status, title="borderwatch — sign in", next_path=next_path, error=error)


def notice_confirm_page(notice_id: str, token: str, *, lang: str = SOURCE_LANGUAGE, message: str = "",
                        done: bool = False, status: int = 200) -> web.Response:
    """The page a notice's acknowledgement link opens: one button, no sign-in (the link is signed), in
    the notice's language."""
    words = link_page.words(lang, notice_id)
    return _page("notice_confirm.html.j2", status, title=words.title, lang=lang, words=words, notice_id=notice_id,
                 token=token, lang_field=LINK_LANG_FIELD, message=message, done=done, status=status)


def error_page(status: int, message: str, p: Principal | None = None) -> web.Response:
    """A browser's answer to a missing or forbidden page: what happened and the way back."""
    heading = {403: "Not allowed", 404: "Not found"}.get(status, "Error")
    return _page("error.html.j2", status, title=f"borderwatch — {heading.lower()}", heading=heading,
                 message=message, p=p, status=status)


# ---------------------------------------------------------------------- handlers
def notification_plan(ctx: WebContext, a: dict) -> dict | None:
    """Who the policy notified of ``a`` and by when the centre should acknowledge it."""
    policy = ctx.policy
    if policy is None:
        return None
    labels = a.get("labels") or alert_labels(a)
    within = policy.ack_expected_within(labels)
    rules = policy.acknowledgements
    return {"notified": policy.notified(labels, a), "ack_within": format_duration(within),
            "ack_by": iso(parse_time(a["opened_at"]) + within),
            "ack_default": format_duration(rules.default_expiry), "ack_max": format_duration(rules.max_expiry)}


def console_input(ctx: WebContext, request: web.Request) -> tuple[Principal, list[dict], dict[str, str], dict]:
    """What the console shows the caller: open alerts and the latest 200, the filters, the plans."""
    p = principal_of(request)
    q = {k: v for k, v in request.query.items() if k in ("level", "border", "since")}
    if q.get("level") not in LEVELS[1:]:
        q.pop("level", None)  # a stale bookmark shows every level rather than an empty feed
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", q.get("since", "")):
        q.pop("since", None)
    items = ctx.visible(p)
    open_ = [a for a in items if not a.get("resolved_at")]
    recent = sorted(items, key=lambda a: a["opened_at"], reverse=True)[:200]
    shown = list({a["alert_id"]: a for a in open_ + recent}.values())
    return p, shown, q, {a["alert_id"]: notification_plan(ctx, a) for a in open_}


async def page(ctx: WebContext, request: web.Request) -> web.Response:
    p, shown, q, plans = console_input(ctx, request)
    segments = ctx.segment_rows(p)
    borders = sorted({r["border"] for r in segments} | {a["border"] for a in shown})
    return _page("console.html.j2", title="borderwatch — alerts", script=True, levels=LEVELS[1:], borders=borders,
                 data={"alert_ids": [a["alert_id"] for a in shown], "may_act": p.may_act},
                 **_console(p, shown, ctx.segment_names, q, plans, segments))


async def console(ctx: WebContext, request: web.Request) -> web.Response:
    """The console section alone, for the page's script to swap in on a live event or a filter."""
    p, shown, q, plans = console_input(ctx, request)
    return web.Response(text=console_section(p, shown, ctx.segment_names, q, plans, ctx.segment_rows(p)),
                        content_type="text/html")


async def segment_page(ctx: WebContext, request: web.Request) -> web.Response:
    p = principal_of(request)
    view = await ctx.segment_view(p, request.match_info["segment_id"])
    border = [r for r in ctx.segment_rows(p) if r["border"] == view["border"]]
    return _page("segment.html.j2", title=f"borderwatch — {view['name']}", p=p, view=view, border_rows=border)


async def static(ctx: WebContext, request: web.Request) -> web.Response:
    """The page's script and style sheet (``ASSETS``, read from ``static/``; public: they hold no data)."""
    name = request.match_info["name"]
    return web.Response(text=asset(name), content_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


async def notice_confirm(ctx: WebContext, request: web.Request) -> web.Response:
    """The link in a notice (``/n/{id}?t=``, or the older ``/notices/{id}/confirm?token=``): its
    signed token authorises acknowledging that one notice until its last day, no sign-in. The page
    reads in the link's language (``l``), else the browser's, else English."""
    notice_id = request.match_info["notice_id"]
    accept = request.headers.get("Accept-Language")
    if request.method == "GET":
        lang = link_page.page_language(request.query.get(LINK_LANG_FIELD), accept)
        token = request.query.get("t") or request.query.get("token", "")
        if not token:
            return notice_confirm_page(notice_id, "", lang=lang, status=400,
                                       message=link_page.refusal(lang, notice_id, link_page.INCOMPLETE))
        check = getattr(ctx.notice_actions, "check_link", None)

        async def show():
            if check is not None:
                check(notice_id, token)
            return notice_confirm_page(notice_id, token, lang=lang)
        return await _link_page(notice_id, lang, show)
    form = await form_of(request)
    lang = link_page.page_language(str(form.get(LINK_LANG_FIELD, "")), accept)
    handler = getattr(ctx.notice_actions, "acknowledge_link", None)
    if handler is None:
        return notice_confirm_page(notice_id, "", lang=lang, status=501,
                                   message=link_page.refusal(lang, notice_id, link_page.NOT_TAKEN))

    async def record():
        ack = await handler(notice_id, str(form.get("token", "")))
        return notice_confirm_page(notice_id, "", lang=lang, done=True, message=link_page.acknowledged(
            lang, notice_id, human(str(ack.get("at", ""))), bool(ack.get("repeated"))))
    return await _link_page(notice_id, lang, record)


async def _link_page(notice_id: str, lang: str, page: Callable[[], Awaitable[web.Response]]) -> web.Response:
    """``page()``'s answer, or the page that says why the link was refused."""
    try:
        return await page()
    except DeliveryLogUnavailable:
        return notice_confirm_page(notice_id, "", lang=lang, status=503,
                                   message=link_page.refusal(lang, notice_id, link_page.UNAVAILABLE))
    except ExpiredAckLink as exc:
        return notice_confirm_page(notice_id, "", lang=lang, message=link_page.refusal(lang, notice_id, exc),
                                   status=410)
    except PermissionError:
        return notice_confirm_page(notice_id, "", lang=lang, status=403,
                                   message=link_page.refusal(lang, notice_id, link_page.NOT_THIS_NOTICE))
    except LookupError:
        return notice_confirm_page(notice_id, "", lang=lang, status=404,
                                   message=link_page.refusal(lang, notice_id, link_page.UNKNOWN))