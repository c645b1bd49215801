"""The web app against hostile or broken requests: malformed credentials, oversized and odd requests,
path traversal, unknown methods, cross-site posts. Requests go over a raw socket where a client
library would refuse to send them."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp.test_utils import TestServer

from alerts.tokens import MAX_TOKEN_LENGTH, bearer_token, hash_token, well_formed
from alerts.web import PUBLIC
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
        async with TestServer(env.app, host="127.0.0.1") as server:
            return await check(server.port)
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


@pytest.mark.parametrize("token", ["", "\udcff\udcfe", "tökén", "a" * 100_000, "\x00", None, "Bearer x"])
def test_hashing_never_fails_and_malformed_tokens_are_refused_before_it(env, token):
    if isinstance(token, str):
        assert hash_token(token).startswith("sha256:")
    assert not well_formed(token) and env.auth.authenticate(token) is None


def test_bearer_token_takes_exactly_one_well_formed_bearer_credential():
    assert bearer_token(["Bearer bw_abc-_.~+/=="]) == "bw_abc-_.~+/=="
    assert bearer_token(["BEARER abc"]) == "abc"
    for values in ([], ["Bearer a", "Bearer a"], ["Bearer"], ["Basic abc"], ["Bearer a=b"], ["Bearerabc"]):
        assert bearer_token(values) is None, values
