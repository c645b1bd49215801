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
from urllib.parse import urlencode
from importlib import resources
from typing import Any, Awaitable, Callable, Mapping

import jinja2
from aiohttp import web
from babel import Locale

from alerts.access import Principal
from alerts.escalation import LEVELS
from alerts.model import alert_labels, is_arms_race
from alerts.notify import link_page
from alerts.notify.acks import LINK_LANG_FIELD, ExpiredAckLink
from alerts.notify.brief import figures_withheld_line
from alerts.notify.delivery import DeliveryLogUnavailable
from alerts.notify.i18n import LANGUAGES, SOURCE_LANGUAGE, language_of_request, number, translations
from alerts.timefmt import human, iso, parse_time
from alerts.web import views
from alerts.web.context import WebContext, form_of, principal_of

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: The files in ``static/`` the pages load, served as they are (``GET /assets/{name}``), and their types.
ASSETS = {"app.js": "application/javascript", "style.css": "text/css"}


#: The cookie that keeps the language a reader picked (``?lang=``) for the pages that follow.
LANG_COOKIE = "bw_lang"


@functools.cache
def templates(lang: str = SOURCE_LANGUAGE) -> jinja2.Environment:
    """The pages' templates in ``lang``: gettext from the notices' catalog, and the words of
    :mod:`alerts.web.views` bound to the same language (one environment per language)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("alerts.web", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":")}
    env.filters["when"] = human
    in_lang = {name: functools.partial(getattr(views, name), lang=lang) for name in (
        "legend_keys", "map_layout", "chart_layout", "chart_totals", "headline", "level_meaning", "deviation_text",
        "incident_text", "incident_cells", "arms_acquired", "arms_against_past", "level_word", "desk_words",
        "border_words")}
    env.globals.update(in_lang, shown_level=views.shown_level, is_arms_race=is_arms_race,
                       incident_columns=views.incident_columns(lang), lang=lang,
                       number=functools.partial(number, lang=lang),
                       figures_withheld_line=functools.partial(figures_withheld_line, lang=lang))
    return env


@functools.cache
def asset(name: str) -> str:
    return resources.files("alerts.web").joinpath("static", name).read_text(encoding="utf-8")


def _page(template: str, code: int = 200, lang: str = SOURCE_LANGUAGE, **context: Any) -> web.Response:
    text = templates(lang).get_template(template).render(**context)
    return web.Response(text=text, content_type="text/html", status=code)


def _macro(name: str, lang: str = SOURCE_LANGUAGE) -> Callable[..., Any]:
    return getattr(templates(lang).get_template("macros.html.j2").module, name)


def page_language(ctx: WebContext | None, request: web.Request, p: Principal | None = None) -> str:
    """The language a page reads in (``alerts.notify.i18n.language_of_request``): the reader's pick
    (``?lang=``, then the cookie), their desk's in the policy, their browser's, English."""
    desk = ctx.policy.language_of(p) if ctx is not None and ctx.policy is not None and p is not None else None
    return language_of_request(request.query.get("lang"), request.cookies.get(LANG_COOKIE), desk,
                               request.headers.get("Accept-Language"))


def language_links(request: web.Request, lang: str) -> list[tuple[str, str, str]]:
    """(code, name, link) per language, ``lang`` first: the header's switch keeps the page's query.
    A link is its query alone (``?level=critical&lang=ru``): the path a request came by is not
    written back into the page (``//elsewhere.example/`` would be another site's)."""
    codes = [lang] + [c for c in LANGUAGES if c != lang]
    return [(c, language_name(c), "?" + urlencode({**request.query, "lang": c})) for c in codes]


@functools.cache
def language_name(lang: str) -> str:
    """A language as its own readers name it (CLDR, through babel): English, Русский; so a language
    added to ``LANGUAGES`` is named without a table of its own."""
    name = Locale(lang).get_display_name(lang)
    return name[:1].upper() + name[1:]


def _remember_language(request: web.Request, resp: web.Response, lang: str) -> web.Response:
    """A reader who picked a language (``?lang=``) keeps it on the next pages (a cookie for a year)."""
    if request.query.get("lang") == lang:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", httponly=True, samesite="Lax")
    return resp


# ---------------------------------------------------------------------- pieces (the tests look at them alone)
def alert_card(a: Mapping[str, Any], names: Callable[[str], str], may_act: bool,
               plan: Mapping[str, Any] | None = None, lang: str = SOURCE_LANGUAGE) -> str:
    """One open alert: what happened where, against what normal, what its level means, what happens next."""
    return str(_macro("alert_card", lang)(a, names, may_act, plan))


def svg_map(rows: list[dict], width: float = 560.0, height: float = 450.0, svg_id: str = "map",
            highlight: str | None = None, border: str = "", border_towns: bool = True,
            lang: str = SOURCE_LANGUAGE) -> str:
    """The map (:func:`alerts.web.views.map_layout`) as inline SVG, and its legend."""
    return str(_macro("svg_map", lang)(rows, width, height, svg_id, highlight, border, border_towns))


def chart_legend(daily: list[Mapping[str, Any]], lang: str = SOURCE_LANGUAGE) -> str:
    return str(_macro("chart_legend", lang)(daily)).strip()


def console_section(p: Principal, alerts: list[dict], names: Callable[[str], str], filters: Mapping[str, str],
                    plans: Mapping[str, Mapping[str, Any]] | None = None, segments: list[dict] | None = None,
                    lang: str = SOURCE_LANGUAGE) -> str:
    """The part of the page a live event or a filter re-renders: banner, open alerts, history
    (collapsed), and the map beside them (zoomed to the border the filter chose)."""
    return templates(lang).get_template("console_section.html.j2").render(
        **_console(p, alerts, names, filters, plans, segments, lang))


def _console(p: Principal, alerts: list[dict], names: Callable[[str], str], filters: Mapping[str, str],
             plans: Mapping[str, Mapping[str, Any]] | None, segments: list[dict] | None,
             lang: str = SOURCE_LANGUAGE) -> dict:
    shown = views.console_order(views.filtered(alerts, filters))
    open_ = [a for a in shown if views.is_open(a)]
    since = filters.get("since", "")
    return {"p": p, "names": names, "filters": filters, "plans": plans or {}, "segments": segments or [],
            "open_alerts": open_, "past": views.history_filter(shown, since), "since": since,
            "top": open_[0]["level"] if open_ else "none", "banner": views.open_banner(open_, lang)}


# ---------------------------------------------------------------------- whole pages
def login_page(next_path: str = "/", *, invalid: bool = False, status: int = 200,
               lang: str = SOURCE_LANGUAGE, langs: list | None = None) -> web.Response:
    """Sign-in; ``invalid``: the token given was refused; ``langs``: the language switch's links."""
    if not next_path.startswith("/") or next_path.startswith("//") or next_path.startswith("/login"):
        next_path = "/"
    _ = translations(lang).gettext
    return _page("login.html.j2", status, lang, title=_("borderwatch — sign in"), next_path=next_path,
                 error=_("That token is not valid (wrong, revoked or expired).") if invalid else "", langs=langs or ())


def notice_confirm_page(notice_id: str, token: str, *, lang: str = SOURCE_LANGUAGE, message: str = "",
                        done: bool = False, status: int = 200) -> web.Response:
    """The page a notice's acknowledgement link opens: one button, no sign-in (the link is signed), in
    the notice's language."""
    words = link_page.words(lang, notice_id)
    return _page("notice_confirm.html.j2", status, title=words.title, lang=lang, words=words, notice_id=notice_id,
                 token=token, lang_field=LINK_LANG_FIELD, message=message, done=done, status=status)


def error_page(status: int, message: str, p: Principal | None = None, lang: str = SOURCE_LANGUAGE,
               langs: list | None = None) -> web.Response:
    """A browser's answer to a missing or forbidden page: what happened and the way back (the
    handler's ``message`` is the API's, in English)."""
    _ = translations(lang).gettext
    heading = {403: _("Not allowed"), 404: _("Not found")}.get(status, _("Error"))
    if lang != SOURCE_LANGUAGE:  # the API's message is English: the page says what it means instead
        message = {403: _("Your desk's role does not allow this page."),
                   404: _("There is no such page, or it is not one your desk may see.")}.get(status, message)
    return _page("error.html.j2", status, lang, title=f"borderwatch — {heading.lower()}", heading=heading,
                 message=message, p=p, status=status, langs=langs or ())


# ---------------------------------------------------------------------- handlers
def notification_plan(ctx: WebContext, a: dict, lang: str = SOURCE_LANGUAGE) -> dict | None:
    """Who the policy notified of ``a`` and by when the centre should acknowledge it (durations in
    words of ``lang``: ``4 hours``, ``4 часа``)."""
    policy = ctx.policy
    if policy is None:
        return None
    labels = a.get("labels") or alert_labels(a)
    within = policy.ack_expected_within(labels)
    rules = policy.acknowledgements
    words = functools.partial(views.duration_text, lang=lang)
    notified = [views.receiver_words(n, policy.receivers[n].principal, lang) for n in policy.notified(labels, a)]
    return {"notified": list(dict.fromkeys(notified)), "ack_within": words(within),
            "ack_by": iso(parse_time(a["opened_at"]) + within),
            "ack_default": words(rules.default_expiry), "ack_max": words(rules.max_expiry)}


def console_input(ctx: WebContext, request: web.Request) -> tuple[Principal, str, list[dict], dict[str, str], dict]:
    """What the console shows the caller, and in which language: open alerts and the latest 200,
    the filters, the plans."""
    p = principal_of(request)
    lang = page_language(ctx, request, p)
    q = {k: v for k, v in request.query.items() if k in ("level", "border", "since")}
    if q.get("level") not in LEVELS[1:]:
        q.pop("level", None)  # a stale bookmark shows every level rather than an empty feed
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", q.get("since", "")):
        q.pop("since", None)
    items = ctx.visible(p)
    open_ = [a for a in items if not a.get("resolved_at")]
    recent = sorted(items, key=lambda a: a["opened_at"], reverse=True)[:200]
    shown = list({a["alert_id"]: a for a in open_ + recent}.values())
    return p, lang, shown, q, {a["alert_id"]: notification_plan(ctx, a, lang) for a in open_}


def sign_in_page(ctx: WebContext, request: web.Request, next_path: str, *, invalid: bool = False,
                 status: int = 200) -> web.Response:
    """The sign-in page in the language the request asks for (nobody is signed in: no desk's)."""
    lang = page_language(ctx, request)
    resp = login_page(next_path, invalid=invalid, status=status, lang=lang, langs=language_links(request, lang))
    return _remember_language(request, resp, lang)


async def page(ctx: WebContext, request: web.Request) -> web.Response:
    p, lang, shown, q, plans = console_input(ctx, request)
    segments = ctx.segment_rows(p, lang)
    shown_borders = {r["border"] for r in segments} | {a["border"] for a in shown}
    border_names = {b: views.border_words(b, lang) for b in shown_borders}
    borders = sorted(border_names, key=lambda b: (border_names[b], b))
    resp = _page("console.html.j2", 200, lang, title=translations(lang).gettext("borderwatch — alerts"), script=True,
                 levels=LEVELS[1:], borders=borders, border_names=border_names, langs=language_links(request, lang),
                 data={"alert_ids": [a["alert_id"] for a in shown], "may_act": p.may_act, "words": views.ui_words(lang)},
                 **_console(p, shown, ctx.names_in(lang), q, plans, segments, lang))
    return _remember_language(request, resp, lang)


async def console(ctx: WebContext, request: web.Request) -> web.Response:
    """The console section alone, for the page's script to swap in on a live event or a filter."""
    p, lang, shown, q, plans = console_input(ctx, request)
    return web.Response(text=console_section(p, shown, ctx.names_in(lang), q, plans, ctx.segment_rows(p, lang), lang),
                        content_type="text/html")


async def segment_page(ctx: WebContext, request: web.Request) -> web.Response:
    p = principal_of(request)
    lang = page_language(ctx, request, p)
    rows = ctx.segment_rows(p, lang)
    view = await ctx.segment_view(p, request.match_info["segment_id"], lang, rows)
    border = [r for r in rows if r["border"] == view["border"]]
    resp = _page("segment.html.j2", 200, lang, title=f"borderwatch — {view['name']}", p=p, view=view,
                 border_rows=border, langs=language_links(request, lang))
    return _remember_language(request, resp, lang)


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