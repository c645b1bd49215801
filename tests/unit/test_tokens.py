"""Tokens with roles, stored hashed: the file, the authenticator and ``borderwatch token``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.web.tokens import (MAX_TOKEN_LENGTH, Authenticator, TokenFile, TokenFileError, bearer_token, hash_token,
                           well_formed)
from streams.cli import main

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def test_only_the_hash_is_stored_and_the_file_is_private(tmp_path):
    f = TokenFile(tmp_path / "tokens.json")
    token = f.add("kg-desk", "secretariat:KGZ", now=NOW)
    text = (tmp_path / "tokens.json").read_text()
    assert token not in text
    doc = json.loads(text)
    assert doc["tokens"] == [{"name": "kg-desk", "role": "secretariat:KGZ", "created": "2026-11-23T12:00:00Z",
                              "hash": "sha256:" + hashlib.sha256(token.encode()).hexdigest()}]
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json").st_mode) == 0o600
    assert len(token) >= 40 and token != f.add("other", "operator", now=NOW)


def test_authenticate_maps_tokens_to_principals_and_honours_expiry(tmp_path):
    f = TokenFile(tmp_path / "tokens.json")
    desk = f.add("kg-desk", "secretariat:KGZ", now=NOW)
    temp = f.add("temp", "operator", expires=NOW + timedelta(days=1), now=NOW)
    clock = {"now": NOW}
    auth = Authenticator(f, clock=lambda: clock["now"])
    p = auth.authenticate(desk)
    assert (p.name, p.role, p.country) == ("kg-desk", "secretariat", "KGZ")
    assert auth.authenticate(temp).role == "operator"
    clock["now"] = NOW + timedelta(days=1)
    assert auth.authenticate(temp) is None and auth.authenticate(desk) is not None
    assert auth.authenticate("") is None and auth.authenticate(None) is None and auth.authenticate(desk + "x") is None


def test_a_static_token_is_an_admin_beside_the_file(tmp_path):
    auth = Authenticator.single("legacy")
    assert auth.authenticate("legacy").role == "admin"
    with pytest.raises(ValueError):
        Authenticator.single("")


@pytest.mark.parametrize("name,role,problem", [
    ("kg desk", "operator", "name"), ("x", "secretariat", "ISO3"), ("x", "root", "unknown role"),
])
def test_bad_names_and_roles_are_refused(tmp_path, name, role, problem):
    with pytest.raises(TokenFileError, match=problem):
        TokenFile(tmp_path / "t.json").add(name, role, now=NOW)


def test_a_tokens_file_that_is_not_utf8_is_refused_by_name(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes('{"version": 1, "tokens": []}'.encode("utf-16"))
    with pytest.raises(TokenFileError, match=r"t.json: not UTF-8 text"):
        TokenFile(path).read()


def test_duplicate_names_and_past_expiry_are_refused(tmp_path):
    f = TokenFile(tmp_path / "t.json")
    f.add("a", "operator", now=NOW)
    with pytest.raises(TokenFileError, match="exists"):
        f.add("a", "engineer", now=NOW)
    with pytest.raises(TokenFileError, match="future"):
        f.add("b", "engineer", expires=NOW - timedelta(seconds=1), now=NOW)


@pytest.mark.parametrize("doc,problem", [
    ({"version": 1, "tokens": [{"name": "a", "role": "operator", "hash": "sha256:" + "0" * 64,
                                "created": "2026-01-01T00:00:00Z", "plaintext": "x"}]}, "unknown keys"),
    ({"version": 1, "tokens": [{"name": "a", "role": "operator", "hash": "md5:abc",
                                "created": "2026-01-01T00:00:00Z"}]}, "sha256"),
    ({"version": 2, "tokens": []}, "version"),
    ({"version": 1, "tokens": [{"name": "a", "role": "boss", "hash": "sha256:" + "0" * 64,
                                "created": "2026-01-01T00:00:00Z"}]}, "unknown role"),
])
def test_the_file_is_validated_strictly(tmp_path, doc, problem):
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(TokenFileError, match=problem):
        Authenticator(TokenFile(p))


def test_a_broken_edit_keeps_the_last_good_tokens(tmp_path):
    f = TokenFile(tmp_path / "t.json")
    tok = f.add("a", "operator", now=NOW)
    auth = Authenticator(f)
    (tmp_path / "t.json").write_text("{not json")
    assert auth.authenticate(tok).name == "a"


def test_cli_adds_lists_and_revokes_without_ever_printing_a_hash(tmp_path, capsys):
    path = str(tmp_path / "tokens.json")
    assert main(["token", "add", "--name", "kg-desk", "--role", "secretariat:KGZ", "--days", "30",
                 "--tokens-file", path]) == 0
    token = capsys.readouterr().out.strip()
    assert Authenticator(TokenFile(path)).authenticate(token).country == "KGZ"
    assert main(["token", "list", "--tokens-file", path]) == 0
    listing = capsys.readouterr().out
    assert "kg-desk" in listing and "secretariat:KGZ" in listing
    assert "sha256" not in listing and token not in listing
    assert main(["token", "list", "--json", "--tokens-file", path]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert set(entry) == {"name", "role", "created", "expires"} and entry["expires"]
    assert main(["token", "add", "--name", "kg-desk", "--role", "operator", "--tokens-file", path]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["token", "revoke", "--name", "kg-desk", "--tokens-file", path]) == 0
    assert Authenticator(TokenFile(path)).authenticate(token) is None
    assert main(["token", "revoke", "--name", "kg-desk", "--tokens-file", path]) == 2


def test_cli_refuses_a_secretariat_of_no_state(tmp_path, capsys):
    path = tmp_path / "tokens.json"
    assert main(["token", "add", "--name", "kg", "--role", "secretariat:KYR", "--tokens-file", str(path)]) == 2
    assert "KYR is no state's ISO3 code" in capsys.readouterr().err and not path.exists()


def test_cli_token_needs_a_file(monkeypatch, capsys):
    monkeypatch.delenv("BORDERWATCH_TOKENS_FILE", raising=False)
    assert main(["token", "list"]) == 2
    assert "--tokens-file" in capsys.readouterr().err


# ---------------------------------------------------------------------- malformed input
@given(st.text() | st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")))
@settings(max_examples=200, derandomize=True, database=None)
def test_hashing_never_fails_on_any_text_a_header_can_decode_to(token):
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", hash_token(token))


@pytest.mark.parametrize("token", ["", "\udcff\udcfe", "tökén", "a" * 100_000, "\x00", None, "Bearer x", "a b"])
def test_malformed_tokens_are_refused_before_hashing(tmp_path, token):
    f = TokenFile(tmp_path / "t.json")
    f.add("a", "operator", now=NOW)
    assert not well_formed(token) and Authenticator(f).authenticate(token) is None


def test_bearer_token_takes_exactly_one_well_formed_bearer_credential():
    assert bearer_token(["Bearer bw_abc-_.~+/=="]) == "bw_abc-_.~+/=="
    assert bearer_token(["BEARER abc"]) == "abc" and bearer_token(["Bearer   abc  "]) == "abc"
    for values in ([], ["Bearer a", "Bearer a"], ["Bearer"], ["Basic abc"], ["Bearer a=b"], ["Bearerabc"],
                   ["Bearer a b"], ["Bearer " + "a" * (MAX_TOKEN_LENGTH + 1)]):
        assert bearer_token(values) is None, values


@pytest.mark.parametrize("token", ["has space", "tökén", "a" * (MAX_TOKEN_LENGTH + 1), "semi;colon"])
def test_a_configured_token_that_could_never_be_presented_is_refused_at_start(token):
    with pytest.raises(ValueError, match="A-Z a-z 0-9"):
        Authenticator.single(token)
