"""The web app against hostile or broken requests: malformed credentials, oversized and odd requests,
path traversal, unknown methods, cross-site posts. Requests go over a raw socket where a client
library would refuse to send them."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from aiohttp.test_utils import TestServer

from alerts.web.app import HTTP_LOG, SERVER_OPTIONS
from alerts.web.auth import PUBLIC
from alerts.web.context import MAX_BODY_BYTES, MAX_LINE_BYTES
from alerts.web.tokens import MAX_TOKEN_LENGTH
from tests.webfakes import Env


async def raw_status(port: int, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` as is; the status code and the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    assert m, answer[:200]
    return int(m.group(1)), answer


def get(path: str, *headers: bytes) -> bytes:
    return b"".join([f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode(),
                     *(h + b"\r\n" for h in headers), b"\r\n"])


def protected_routes(env: Env) -> list[tuple[str, str]]:
    """Every route that needs a token, with a made-up value for each path variable."""
    out = []
    for r in env.app.router.routes():
        path = r.resource.canonical
        if r.method == "HEAD" or path in PUBLIC or path.startswith("/assets/") or path.endswith("/confirm"):
            continue
        out.append((r.method, re.sub(r"\{(\w+)(:[^}]*)?\}", "x", path)))
    return out


def serve(env: Env, check):
    async def main():
        server = TestServer(env.app, host="127.0.0.1")
        await server.start_server(**SERVER_OPTIONS)  # served as the worker serves it
        try:
            return await check(server.port)
        finally:
            await server.close()
    return asyncio.run(main())


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


# ---------------------------------------------------------------------- credentials
MALFORMED = [
    b"Authorization: Bearer \xff\xfe\xc3",  # not UTF-8 (this answered 500: hash_token could not encode it)
    "Authorization: Bearer tökén".encode(),  # UTF-8, not ASCII
    b"Authorization:",  # empty
    b"Authorization: Bearer",  # scheme, no token
    b"Authorization: Bearer ",
    b"Authorization: Basic b3BlcmF0b3I6cHc=",  # another scheme
    b"Authorization: Token abc",
    b"Authorization: Bearer a b",  # two words
    b"Authorization: Bearer " + b"A" * (MAX_TOKEN_LENGTH + 1),  # longer than any token
    b"Authorization: Bearer " + b"A" * 8000,  # just under the HTTP parser's line limit
    b"Authorization: Bearer abc\tdef",  # the one control character the HTTP parser lets through
]


def test_malformed_credentials_get_401_on_every_protected_route_and_never_500(env):
    routes = protected_routes(env)
    assert len(routes) >= 14

    async def check(port):
        for method, path in routes:
            for header in MALFORMED:
                request = get(path, header).replace(b"GET ", method.encode() + b" ", 1)
                status, answer = await raw_status(port, request)
                # 400 only where aiohttp's HTTP parser refuses the header before any route runs
                assert status in (401, 400), (method, path, header, answer[:300])
                if status == 401:
                    assert b"WWW-Authenticate: Bearer" in answer or b'action="/login"' in answer
        return True
    assert serve(env, check)


def test_a_valid_token_next_to_another_authorization_header_is_refused(env):
    good = f"Authorization: Bearer {env.tokens['operator']}".encode()

    async def check(port):
        assert (await raw_status(port, get("/alerts", good)))[0] == 200
        assert (await raw_status(port, get("/alerts", good, good)))[0] == 401  # which one would count?
        assert (await raw_status(port, get("/alerts", good, b"Authorization: Bearer nope")))[0] == 401
        # the scheme is case-insensitive and may be followed by several spaces (RFC 6750)
        token = env.tokens["operator"].encode()
        assert (await raw_status(port, get("/alerts", b"authorization: bearer   " + token)))[0] == 200
        # a malformed header is not rescued by the sign-in cookie
        cookie = b"Cookie: borderwatch_token=" + token
        assert (await raw_status(port, get("/alerts", cookie)))[0] == 200
        assert (await raw_status(port, get("/alerts", cookie, b"Authorization: Basic eDp5")))[0] == 401
    serve(env, check)


def test_control_characters_the_http_parser_refuses_get_400_not_500(env):
    async def check(port):
        for bad in (b"\x00", b"\x01", b"\x0b", b"\x7f"):
            status, _ = await raw_status(port, get("/alerts", b"Authorization: Bearer abc" + bad + b"def"))
            assert status == 400, bad
    serve(env, check)


def test_a_request_the_parser_refuses_is_one_warning_line_without_the_request_or_a_traceback(env, caplog):
    # a full-width digit in the query, a space in the path: answered 400 by aiohttp before any route
    refused = [b"GET /alerts?since=\xef\xbc\x91 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"GET /al erts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]

    async def check(port):
        return [(await raw_status(port, request))[0] for request in refused]

    with caplog.at_level(logging.WARNING):
        assert serve(env, check) == [400, 400]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    lines = [r for r in caplog.records if r.name == HTTP_LOG.name]
    assert [r.levelname for r in lines] == ["WARNING", "WARNING"]
    assert all(r.exc_info is None and "refused a malformed HTTP request from 127.0.0.1" in r.getMessage()
               for r in lines)
    assert "Invalid char in url query" in lines[0].getMessage()
    assert "/alerts" not in caplog.text  # the request itself is not written to the log


def test_health_stays_open_and_never_looks_at_credentials(env):
    calls = []
    authenticate = env.auth.authenticate
    env.auth.authenticate = lambda token: calls.append(token) or authenticate(token)

    async def check(port):
        for header in MALFORMED:
            status, answer = await raw_status(port, get("/health", header))
            assert status == 200 and b'"status": "ok"' in answer, header
    serve(env, check)
    assert calls == []


# ---------------------------------------------------------------------- sizes
def post(path: str, body: bytes, *headers: bytes, content_type: bytes = b"application/json") -> bytes:
    return b"".join([f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode(),
                     b"Content-Type: " + content_type + b"\r\n", b"Content-Length: %d\r\n" % len(body),
                     *(h + b"\r\n" for h in headers), b"\r\n", body])


def concrete(env: Env, path: str) -> str:
    """A route's path with real ids: a notice, an alert and a segment that exist, a real asset."""
    ids = {"notice_id": "n-kgz", "alert_id": next(iter(env.history.alerts)), "segment_id": "KGZ-TJK-07",
           "name": "app.js"}
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: ids[m.group(1)], path)


def post_routes(env: Env) -> list[str]:
    return [concrete(env, r.resource.canonical) for r in env.app.router.routes() if r.method == "POST"]


def test_a_body_over_the_limit_gets_413_on_every_route_that_reads_one(env):
    big = b'{"comment": "' + b"x" * MAX_BODY_BYTES + b'"}'
    auth = f"Authorization: Bearer {env.tokens['admin']}".encode()

    async def check(port):
        for path in post_routes(env):
            if path == "/logout":  # reads no body
                continue
            form = path == "/login" or path.endswith("/confirm")
            status, answer = await raw_status(port, post(path, big, auth, content_type=(
                b"application/x-www-form-urlencoded" if form else b"application/json")))
            assert status == 413, (path, answer[:300])
            assert b'"error": "the body is larger than' in answer
        # just under the limit is read (and judged on its content)
        fits = b'{"comment": "' + b"x" * 2500 + b'"}'
        assert (await raw_status(port, post("/notices/n-kgz/ack", fits, auth)))[0] == 400  # comment too long
    serve(env, check)
    assert env.actions.calls == []


def test_json_nested_past_the_parser_s_depth_gets_400_on_every_route_that_reads_json(env):
    deep = b"[" * 30000 + b"]" * 30000  # within the size limit, past any parser's recursion
    auth = f"Authorization: Bearer {env.tokens['admin']}".encode()

    async def check(port):
        for path in post_routes(env):
            if path in ("/logout", "/login") or path.endswith("/confirm"):  # no JSON body
                continue
            status, answer = await raw_status(port, post(path, deep, auth))
            assert status == 400, (path, answer[:300])
            assert b'"error": "the body is not valid JSON"' in answer
    serve(env, check)
    assert env.actions.calls == []


def test_over_long_request_lines_and_headers_are_refused_cleanly(env):
    auth = f"Authorization: Bearer {env.tokens['admin']}".encode()

    async def check(port):
        long_query = "/alerts?border=" + "K" * MAX_LINE_BYTES
        assert (await raw_status(port, get(long_query, auth)))[0] == 400
        assert (await raw_status(port, get("/alerts", auth, b"X-Long: " + b"a" * (MAX_LINE_BYTES + 1))))[0] == 400
        many = [b"X-Header-%d: y" % i for i in range(200)]
        assert (await raw_status(port, get("/alerts", auth, *many)))[0] == 400
        # just under the limits is an ordinary request
        assert (await raw_status(port, get("/alerts?border=" + "K" * 7000, auth)))[0] == 200
    serve(env, check)


# ---------------------------------------------------------------------- paths
TRAVERSALS = ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "..%252F..%252Fetc%252Fpasswd", "..\\..\\etc\\passwd", "....//....//etc/passwd", "%2e%2e",
              "..", ".", "nt-1%00.json", "nt-1/../../tokens.json", "..%c0%af..%c0%afetc%c0%afpasswd"]
ID_ROUTES = ["/alerts/{}", "/alerts/{}/ack", "/notices/{}/ack", "/notices/{}/confirm?token=t",
             "/segments/{}", "/ui/segments/{}", "/assets/{}"]


@pytest.fixture
def opened_files():
    """Every file the process opens while the test runs (an audit hook stays for the process's life,
    so it records only while this list is live)."""
    import sys

    recording: list[str] = []
    state = {"on": True}

    def hook(event, args):
        if state["on"] and event == "open" and isinstance(args[0], (str, bytes)):
            recording.append(args[0] if isinstance(args[0], str) else args[0].decode(errors="replace"))
    sys.addaudithook(hook)
    yield recording
    state["on"] = False


def test_path_traversal_on_every_id_route_finds_nothing_and_opens_no_file_outside_the_data_dir(
        tmp_path, opened_files):
    env = Env(tmp_path / "data")
    secret = tmp_path / "outside.txt"
    secret.write_text("root:x:0:0")
    auth = f"Authorization: Bearer {env.tokens['admin']}".encode()

    async def check(port):
        for route in ID_ROUTES:
            for attempt in TRAVERSALS + [str(secret), "..%2Foutside.txt"]:
                for method, request in (("GET", get(route.format(attempt), auth)),
                                        ("POST", post(route.format(attempt), b"{}", auth))):
                    status, answer = await raw_status(port, request)
                    assert status in (400, 404, 405), (method, route, attempt, answer[:300])
                    assert b"root:" not in answer
    opened_files.clear()
    serve(env, check)
    data_dir = str(tmp_path / "data")
    outside = [f for f in opened_files if not f.startswith(data_dir) and "/site-packages/" not in f
               and "/lib/python" not in f and not f.endswith((".py", ".pyc"))]
    assert outside == [], outside
    secret.read_text()  # the hook was listening all along: this open is seen
    assert opened_files[-1] == str(secret)


# ---------------------------------------------------------------------- methods
def test_a_method_a_route_does_not_take_gets_405_with_allow_and_an_unknown_one_400(env):
    auth = f"Authorization: Bearer {env.tokens['admin']}".encode()
    routes = {}
    for r in env.app.router.routes():
        routes.setdefault(concrete(env, r.resource.canonical), set()).add(r.method)

    async def check(port):
        for path, methods in routes.items():
            for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
                if method in methods:
                    continue
                request = get(path, auth).replace(b"GET ", method.encode() + b" ", 1)
                status, answer = await raw_status(port, request)
                assert status == 405, (method, path, answer[:300])
                allow = re.search(rb"Allow: ([A-Z, ]+)", answer).group(1).decode()
                assert set(allow.replace(" ", "").split(",")) == methods, (path, allow)
            status, _ = await raw_status(port, get(path, auth).replace(b"GET ", b"FROB ", 1))
            assert status == 400, path  # the HTTP parser knows no such method
    serve(env, check)
    assert env.actions.calls == []


# ---------------------------------------------------------------------- cross-site requests
def test_no_state_changing_route_takes_the_cookie_from_a_cross_site_form(env):
    """The page signs in with a cookie, so CSRF applies: a form on another site can send the cookie
    (were it not SameSite=Strict) and a simple body, but neither the custom header nor our Origin."""
    token = env.tokens["admin"].encode()
    cookie = b"Cookie: borderwatch_token=" + token
    evil = b"Origin: http://evil.example"
    form = b"application/x-www-form-urlencoded"
    changing = [p for p in post_routes(env) if not p.endswith("/confirm")]  # confirm: the link's token, no cookie

    async def check(port):
        for path in changing:
            for headers, ctype in (((cookie,), form), ((cookie, evil), form), ((cookie, evil), b"text/plain"),
                                   ((cookie, evil, b"X-Borderwatch-Request: 1"), b"application/json")):
                body = b"token=" + token if path == "/login" else b'{"comment": "x"}'
                status, answer = await raw_status(port, post(path, body, *headers, content_type=ctype))
                if path in ("/login", "/logout") and evil not in headers:
                    continue  # a same-site sign-in or sign-out form: nothing to refuse
                assert status == 403, (path, headers, answer[:300])
                assert b"Set-Cookie" not in answer
        # the page itself: the header, the cookie and this host's Origin
        ok = await raw_status(port, post("/notices/n-kgz/ack", b'{"on_behalf_of": "secretariat-KGZ", "reason": "r"}',
                                         cookie, b"X-Borderwatch-Request: 1", b"Origin: http://127.0.0.1"))
        assert ok[0] == 202, ok[1][:300]
        assert (await raw_status(port, post("/logout", b"", b"Origin: http://127.0.0.1")))[0] == 303
    serve(env, check)
    assert env.actions.calls == []
    assert [a["notice_id"] for a in env.notices.acks.log.records() if a["kind"] == "ack"] == ["n-kgz"]


def test_reading_changes_nothing(env):
    """GET is what a cross-site link or image can make a browser send with the cookie: no route
    changes anything on it."""
    cookie = f"Cookie: borderwatch_token={env.tokens['admin']}".encode()
    before = env.notices.acks.log.records()

    async def check(port):
        for r in env.app.router.routes():
            if r.method == "GET" and r.resource.canonical != "/events":
                path = concrete(env, r.resource.canonical)
                assert (await raw_status(port, get(path + "?token=t&comment=x", cookie)))[0] < 500
    serve(env, check)
    assert env.actions.calls == [] and env.notices.acks.log.records() == before
