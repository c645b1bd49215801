"""The OpenAPI document is valid, covers every route of the app, and its copies agree."""

from __future__ import annotations

import asyncio
import json
import re

from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from alerts.history import AlertHistory
from alerts.web.app import build_web_app
from alerts.web.openapi import openapi_document
from tests.conftest import ROOT


def app_routes() -> set[tuple[str, str]]:
    app = build_web_app(AlertHistory, lambda: b"", "t")
    out = set()
    for r in app.router.routes():
        if r.method == "HEAD":
            continue
        # aiohttp writes a constrained variable as {name:regex}; OpenAPI has just {name}
        out.add((r.method.lower(), re.sub(r"\{(\w+):[^}]*\}", r"{\1}", r.resource.canonical)))
    return out


def doc_routes(doc: dict) -> set[tuple[str, str]]:
    return {(m, p) for p, ops in doc["paths"].items() for m in ops}


def test_the_document_is_valid_openapi_3():
    validate(openapi_document())


def test_every_route_is_documented_and_every_documented_route_exists():
    assert app_routes() == doc_routes(openapi_document())


def test_the_served_document_and_the_copy_in_docs_are_the_same():
    async def main():
        async with TestClient(TestServer(build_web_app(AlertHistory, lambda: b"", "t"), host="127.0.0.1")) as c:
            r = await c.get("/openapi.json", headers={"Authorization": "Bearer t"})
            return r.status, await r.json()
    status, served = asyncio.run(main())
    assert status == 200 and served == openapi_document()
    on_disk = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert on_disk == openapi_document(), "refresh it: python -m alerts.web.openapi > docs/openapi.json"


def test_api_md_describes_every_route():
    text = (ROOT / "docs" / "API.md").read_text()
    missing = [f"{m.upper()} {p}" for m, p in sorted(doc_routes(openapi_document()))
               if f"`{m.upper()} {p}" not in text]
    assert not missing, missing
