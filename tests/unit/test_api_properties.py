"""Property-based run over the OpenAPI document (schemathesis): every operation, valid and invalid
input, against the real aiohttp app on loopback, wired with the worker's own actions over an
in-memory store and a real delivery log. No answer may be a server error (5xx), and every answer
must be one the document declares, in the declared shape.

Bounded and repeatable: ``EXAMPLES`` generated cases per operation and phase, derandomized (the same
cases on every run), no example database; the whole run takes 15-25 s on two cores.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import requests
import schemathesis
from aiohttp import web
from schemathesis.checks import positive_data_acceptance
from hypothesis import HealthCheck, settings

from alerts.web.openapi import openapi_document
from tests.webfakes import Env

EXAMPLES = 15
#: Each role is its own run: what a caller may see and do changes which answers are right.
ROLES = ("admin", "secretariat:KGZ")

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app on a real socket, in a thread of its own: schemathesis speaks HTTP through requests."""
    env = Env(tmp_path_factory.mktemp("api"), worker=True)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(env.app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield env, f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def check_event_stream(case, base: str, headers: dict) -> None:
    """``/events`` never ends by itself: read its first line, then hang up."""
    kwargs = case.as_transport_kwargs(base_url=base, headers=headers)
    with requests.request(**kwargs, stream=True, timeout=5) as response:
        documented = case.operation.definition.raw["responses"]
        assert response.status_code < 500 and str(response.status_code) in documented, response.status_code
        if response.status_code == 200:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert next(response.iter_lines()) == b"retry: 3000"
        else:
            case.validate_response(response, headers=headers)


#: Valid by the schema, refused by a rule no schema states (an end time in the past, the policy's
#: guardrails on silences, a 31 February that matches the time pattern): 400 there is the right answer
#: to "schema-valid" data. Every other check still runs on them.
BUSINESS_RULES = {("POST", "/alerts/{alert_id}/ack"), ("POST", "/silences"), ("GET", "/alerts")}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_input_gets_a_server_error_or_an_undocumented_answer(case, role, served):
    env, base = served
    headers = env.h(role)
    if (case.method.upper(), case.path) == ("GET", "/events"):  # other methods: a 405, read as any other
        check_event_stream(case, base, headers)
        return
    excluded = [positive_data_acceptance] if (case.method.upper(), case.path) in BUSINESS_RULES else []
    case.call_and_validate(base_url=base, headers=headers, timeout=5, excluded_checks=excluded,
                           session=requests.Session())  # no cookie from one case carried into the next
