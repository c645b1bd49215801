"""API tokens: a file of named, role-bearing tokens stored as hashes, and the authenticator.

The tokens file is JSON, written by ``borderwatch token add`` (mode 0600)::

    {"version": 1, "tokens": [
      {"name": "kg-desk", "role": "secretariat:KGZ", "hash": "sha256:9f86d0...",
       "created": "2026-11-23T10:00:00Z", "expires": "2027-05-23T00:00:00Z"}]}

Only the SHA-256 of a token is kept. Tokens are 256 random bits, so a fast hash is
enough: a slow, salted hash protects guessable passwords, and a token cannot be
guessed; a fast one also keeps the check cheap on every request. ``expires`` is
optional. The running web app re-reads the file when it changes, so ``token add``
and ``token revoke`` take effect without a restart.

>>> import tempfile, os
>>> f = TokenFile(os.path.join(tempfile.mkdtemp(), "tokens.json"))
>>> token = f.add("kg-desk", "secretariat:KGZ", now=parse_time("2026-01-01"))
>>> Authenticator(f).authenticate(token).role_string
'secretariat:KGZ'
>>> Authenticator(f).authenticate("guess") is None
True
>>> bearer_token(["Bearer " + token]) == token, bearer_token(["Basic abc"]), bearer_token(["Bearer a", "Bearer b"])
(True, None, None)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from borderwatch.errors import BorderwatchError
from alerts.access import AccessError, Principal
from alerts.fsio import atomic_write
from alerts.timefmt import iso, parse_time, utcnow

log = logging.getLogger("borderwatch.tokens")

TOKEN_PREFIX = "bw_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_KEYS = {"name", "role", "hash", "created", "expires"}
#: The principal the single configured token (BORDERWATCH_API_TOKEN) stands for.
LEGACY_NAME = "api-token"
#: RFC 6750's b64token: what a bearer token may be made of. Ours are ``bw_`` + base64url; a configured
#: BORDERWATCH_API_TOKEN must fit too (``secrets.token_urlsafe``, base64, hex all do).
_TOKEN_SYNTAX = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Longer than any token we issue by far; checked before hashing, so a huge header costs nothing.
MAX_TOKEN_LENGTH = 512
#: ``Authorization: Bearer <token>``: the scheme is case-insensitive, then one or more spaces (RFC 6750).
_BEARER = re.compile(r"(?i:bearer) +(\S+)")


class TokenFileError(BorderwatchError, ValueError):
    """An unreadable or invalid tokens file, or a refused change to it."""


def well_formed(token: object) -> bool:
    """Whether ``token`` could be a token at all: a str of b64token characters, not too long."""
    return (isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH
            and _TOKEN_SYNTAX.fullmatch(token) is not None)


def bearer_token(authorization: list[str]) -> str | None:
    """The token of the ``Authorization`` header values of one request, or None when there is no
    usable one: no header, several (which one would count?), another scheme, or a malformed token."""
    if len(authorization) != 1:
        return None
    m = _BEARER.fullmatch(authorization[0].strip())
    return m.group(1) if m and well_formed(m.group(1)) else None


def hash_token(token: str) -> str:
    """Never fails: a header aiohttp decoded with surrogate escapes (bytes that are not UTF-8) hashes
    as its original bytes."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenEntry:
    name: str
    role: str
    hash: str
    created: str
    expires: str | None = None

    def principal(self) -> Principal:
        return Principal.parse(self.name, self.role)

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and parse_time(self.expires) <= now

    def public(self) -> dict:
        """What ``token list`` shows: never the hash."""
        return {"name": self.name, "role": self.role, "created": self.created, "expires": self.expires}

    def to_json(self) -> dict:
        d = {"name": self.name, "role": self.role, "hash": self.hash, "created": self.created}
        if self.expires:
            d["expires"] = self.expires
        return d


def _entry(raw: object, where: str, i: int) -> TokenEntry:
    if not isinstance(raw, dict):
        raise TokenFileError(f"{where}: tokens[{i}] must be an object")
    unknown = set(raw) - _KEYS
    if unknown:
        raise TokenFileError(f"{where}: tokens[{i}] has unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    for k in ("name", "role", "hash", "created"):
        if not isinstance(raw.get(k), str) or not raw[k]:
            raise TokenFileError(f"{where}: tokens[{i}] needs a string {k!r}")
    if not _NAME.match(raw["name"]):
        raise TokenFileError(f"{where}: tokens[{i}] name {raw['name']!r}: use letters, digits, _ . @ -")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", raw["hash"]):
        raise TokenFileError(f"{where}: tokens[{i}] ({raw['name']}): hash must be sha256:<64 hex digits>")
    try:
        Principal.parse(raw["name"], raw["role"])
    except AccessError as exc:
        raise TokenFileError(f"{where}: tokens[{i}] ({raw['name']}): {exc}") from None
    expires = raw.get("expires")
    for k in ("created", "expires"):
        if raw.get(k) is not None:
            try:
                parse_time(raw[k])
            except (TypeError, ValueError):
                raise TokenFileError(f"{where}: tokens[{i}] ({raw['name']}): {k} must be an ISO 8601 time") from None
    return TokenEntry(raw["name"], raw["role"], raw["hash"], raw["created"], expires)


class TokenFile:
    """The tokens file: read, add, revoke. Writes are atomic and owner-only."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def read(self) -> list[TokenEntry]:
        """The entries; a missing file has none."""
        where = str(self.path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise TokenFileError(f"cannot read the tokens file {where}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise TokenFileError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TokenFileError(f"{where}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("tokens"), list):
            raise TokenFileError(f'{where}: expected {{"version": 1, "tokens": [...]}}')
        if set(doc) - {"version", "tokens"}:
            raise TokenFileError(f"{where}: unknown keys {sorted(set(doc) - {'version', 'tokens'})}")
        entries = [_entry(raw, where, i) for i, raw in enumerate(doc["tokens"])]
        seen: set[str] = set()
        for e in entries:
            if e.name in seen:
                raise TokenFileError(f"{where}: the name {e.name!r} is used twice")
            seen.add(e.name)
        return entries

    def _write(self, entries: list[TokenEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"version": 1, "tokens": [e.to_json() for e in entries]}
        atomic_write(self.path, (json.dumps(doc, indent=1) + "\n").encode())  # mode 0600

    def add(self, name: str, role: str, expires: datetime | None = None, now: datetime | None = None) -> str:
        """Store a new token for ``name`` and return it: the only time it is ever shown."""
        now = now or utcnow()
        if not _NAME.match(name):
            raise TokenFileError(f"name {name!r}: use 1-64 letters, digits, _ . @ - (starting with a letter or digit)")
        try:
            Principal.parse(name, role)
        except AccessError as exc:
            raise TokenFileError(str(exc)) from None
        if expires is not None and expires <= now:
            raise TokenFileError(f"expiry {iso(expires)} is not in the future")
        entries = self.read()
        if any(e.name == name for e in entries):
            raise TokenFileError(f"a token named {name!r} exists; revoke it first or pick another name")
        token = new_token()
        entries.append(TokenEntry(name, role, hash_token(token), iso(now), iso(expires) if expires else None))
        self._write(entries)
        return token

    def revoke(self, name: str) -> bool:
        entries = self.read()
        kept = [e for e in entries if e.name != name]
        if len(kept) == len(entries):
            return False
        self._write(kept)
        return True


def configured_token(token: str) -> str:
    """A token given at start-up: one that could never be presented is a configuration error, said now
    rather than found as a 401 later."""
    if not well_formed(token):
        raise ValueError(f"the API token must be 1-{MAX_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / "
                         f"(then = padding), e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return token


class Authenticator:
    """Maps a presented token to a :class:`Principal`, or None.

    ``static`` maps plaintext tokens given at start-up (the legacy single
    BORDERWATCH_API_TOKEN, an ``admin``) to principals; only their hashes are kept.
    """

    def __init__(self, tokens_file: TokenFile | None = None, static: dict[str, Principal] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.file, self.clock = tokens_file, clock
        self._static = {hash_token(configured_token(t)): p for t, p in (static or {}).items() if t}
        self._entries: dict[str, TokenEntry] = {}
        self._stamp: tuple[int, int] | None = None
        if tokens_file is not None:
            self._load(strict=True)
        if not self._static and tokens_file is None:
            raise ValueError("the web API needs a token or a tokens file")

    def add_static(self, token: str, principal: Principal) -> None:
        self._static[hash_token(configured_token(token))] = principal

    @classmethod
    def single(cls, token: str) -> "Authenticator":
        """The legacy set-up: one token, standing for an admin."""
        if not token:
            raise ValueError("the web API needs a token")
        return cls(static={token: Principal(LEGACY_NAME, "admin")})

    def _load(self, strict: bool) -> None:
        stamp = self.file.stamp()
        if stamp == self._stamp and self._stamp is not None:
            return
        try:
            entries = self.file.read()
        except TokenFileError as exc:
            if strict:
                raise
            # Keep the last good set: a broken edit must not lock every desk out.
            log.error("tokens file not reloaded: %s", exc)
            return
        self._entries = {e.hash: e for e in entries}
        self._stamp = stamp

    def authenticate(self, token: str | None) -> Principal | None:
        if not well_formed(token):  # cheap refusal first: no hashing, no file read
            return None
        h = hash_token(token)
        p = self._static.get(h)
        if p is not None:
            return p
        if self.file is None:
            return None
        self._load(strict=False)
        entry = self._entries.get(h)
        if entry is None or entry.expired(self.clock()):
            return None
        return entry.principal()
