"""Registry authentication: WWW-Authenticate challenges, Basic, and the bearer-token flow.

A registry answers `401` with `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`
(or `Basic realm="…"`). For Bearer, the client asks the realm for a token covering the scopes
it needs (`repository:<path>:pull,push`), as docker's distribution client does:

- a refresh token (the IdentityToken of an earlier login) is exchanged with an OAuth2 POST
  (`grant_type=refresh_token`), falling back to GET when the server has no OAuth endpoint;
- otherwise a GET with Basic credentials if we have them (`account=`, `offline_token=true`,
  `client_id=docker`), anonymous if not;
- a `registrytoken` from the client is sent as the bearer token without asking anyone.

Tokens are cached per realm, service, scope set and credentials until shortly before they
expire (at least 60 s, the distribution spec's minimum lifetime), so concurrent layer
transfers share one token. A `refresh_token` in a token answer is kept: login returns it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from ._errors import (
    UNAUTHORIZED,
    ErrorCode,
    RegistryError,
    Unreachable,
    describe,
    parse_error_body,
)
from .types import AuthConfig

CLIENT_ID = "docker"
MIN_TOKEN_LIFETIME = 60.0
_EXPIRY_MARGIN = 5.0

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM_RE = re.compile(rf"\s*({_TOKEN})\s*=\s*({_QUOTED}|[^\s,]*)\s*")
_SCHEME_RE = re.compile(rf"\s*({_TOKEN})(?=\s|$|,)")

SslFor = Callable[[str], Awaitable[Any]]
"""`await ssl_for(url)` -> the `ssl` argument aiohttp should use for that URL (None: plain)."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """One WWW-Authenticate challenge: scheme (lower case) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """RFC 7235 challenges from WWW-Authenticate values (several per value allowed).

    Quoted values may hold commas (`scope="repository:a:pull,push"`) and escapes.
    """
    challenges: list[Challenge] = []
    for value in values:
        pos, current = 0, None
        while pos < len(value):
            if value[pos] in " ,\t":
                pos += 1
                continue
            param = _PARAM_RE.match(value, pos)
            if param is not None and current is not None:
                raw = param.group(2)
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                current.params[param.group(1).lower()] = raw
                pos = param.end()
                continue
            scheme = _SCHEME_RE.match(value, pos)
            if scheme is None:
                break  # not a challenge we understand: stop rather than guess
            current = Challenge(scheme.group(1).lower(), {})
            challenges.append(current)
            pos = scheme.end()
    return challenges


def pick_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """Bearer if offered (with a realm), else Basic: the schemes docker's client speaks."""
    found = {c.scheme: c for c in challenges}
    bearer = found.get("bearer")
    if bearer is not None and bearer.realm:
        return bearer
    return found.get("basic")


def repository_scope(path: str, *actions: str) -> str:
    """`repository:<path>:pull,push`, as the token servers expect it."""
    return f"repository:{path}:{','.join(actions)}"


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and when to stop using it (monotonic seconds)."""

    value: str
    expires: float
    refresh_token: str = ""


def parse_token_response(body: bytes, now: float | None = None) -> Token:
    """`{"token"|"access_token", "expires_in", "refresh_token"}` of a token server."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RegistryError("unable to decode token response: invalid JSON") from None
    if not isinstance(document, dict):
        raise RegistryError("unable to decode token response: not a JSON object")
    value = document.get("token") or document.get("access_token")
    if not isinstance(value, str) or not value:
        raise RegistryError("authorization server did not include a token in the response")
    lifetime = document.get("expires_in")
    if not isinstance(lifetime, (int, float)) or lifetime < MIN_TOKEN_LIFETIME:
        lifetime = MIN_TOKEN_LIFETIME
    now = time.monotonic() if now is None else now
    refresh = document.get("refresh_token")
    return Token(value, now + float(lifetime), refresh if isinstance(refresh, str) else "")


class TokenCache:
    """Bearer tokens of the whole daemon, keyed by realm, service, scopes and credentials."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def key(challenge: Challenge, scopes: Iterable[str], auth: AuthConfig) -> str:
        material = orjson.dumps(
            [challenge.realm, challenge.service, sorted(set(scopes)), auth.cache_key()]
        )
        return hashlib.sha256(material).hexdigest()

    def get(self, key: str) -> Token | None:
        token = self._tokens.get(key)
        if token is None or token.expires - _EXPIRY_MARGIN <= time.monotonic():
            return None
        return token

    def put(self, key: str, token: Token) -> None:
        self._tokens[key] = token
        if len(self._tokens) > 1024:  # a long-lived daemon: drop what has expired
            now = time.monotonic()
            for stale in [k for k, t in self._tokens.items() if t.expires <= now]:
                del self._tokens[stale]
                self._locks.pop(stale, None)

    def lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())


class Authorizer:
    """Authorization for one registry endpoint and one set of credentials.

    `challenge` is learnt from the endpoint's ping (`GET /v2/`) or from a 401; afterwards
    each request carries the header up front, as docker's client does.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        auth: AuthConfig,
        tokens: TokenCache,
        ssl_for: SslFor,
        *,
        send_credentials: bool = True,
    ) -> None:
        self._session = session
        self.auth = auth if send_credentials else AuthConfig()
        self._tokens = tokens
        self._ssl_for = ssl_for
        self.challenge: Challenge | None = None
        self.refresh_token = ""  # the newest refresh token a token server gave us

    def learn(self, challenges: Iterable[Challenge]) -> bool:
        """Remember the endpoint's challenge; False when it offers nothing we can answer."""
        picked = pick_challenge(challenges)
        if picked is not None:
            self.challenge = picked
        return picked is not None

    async def header(self, scopes: Iterable[str], url: str) -> str | None:
        """The Authorization header for a request needing `scopes`, None if none is needed."""
        if self.auth.registry_token:
            return f"Bearer {self.auth.registry_token}"
        challenge = self.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if not self.auth.has_basic:
                raise RegistryError(
                    f'Get "{url}": no basic auth credentials',
                    401,
                    (ErrorCode(UNAUTHORIZED, "no basic auth credentials"),),
                )
            return basic_header(self.auth.username, self.auth.password)
        token = await self.token(challenge, tuple(scopes), url)
        return f"Bearer {token.value}"

    async def token(self, challenge: Challenge, scopes: tuple[str, ...], url: str) -> Token:
        key = TokenCache.key(challenge, scopes, self.auth)
        cached = self._tokens.get(key)
        if cached is not None:
            return cached
        async with self._tokens.lock(key):
            cached = self._tokens.get(key)
            if cached is not None:
                return cached
            token = await self._fetch(challenge, scopes, url)
            self._tokens.put(key, token)
        if token.refresh_token:
            self.refresh_token = token.refresh_token
        return token

    async def _fetch(self, challenge: Challenge, scopes: tuple[str, ...], url: str) -> Token:
        refresh = self.refresh_token or self.auth.identity_token
        if refresh:
            token = await self._post_oauth(challenge, scopes, refresh, url)
            if token is not None:
                return token
        return await self._get_token(challenge, scopes, url)

    async def _post_oauth(
        self, challenge: Challenge, scopes: tuple[str, ...], refresh: str, url: str
    ) -> Token | None:
        """OAuth2 refresh-token grant; None when the server has no such endpoint (404/405)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": challenge.service,
            "client_id": CLIENT_ID,
            "access_type": "offline",
        }
        if scopes:
            form["scope"] = " ".join(scopes)
        status, body = await self._call("POST", challenge.realm, url, data=form)
        if status in (404, 405):
            return None
        self._raise_for(status, body, url)
        return parse_token_response(body)

    async def _get_token(self, challenge: Challenge, scopes: tuple[str, ...], url: str) -> Token:
        params: list[tuple[str, str]] = []
        if challenge.service:
            params.append(("service", challenge.service))
        params.extend(("scope", scope) for scope in scopes)
        headers = {}
        if self.auth.has_basic:
            params.append(("account", self.auth.username))
            headers["Authorization"] = basic_header(self.auth.username, self.auth.password)
        params += [("client_id", CLIENT_ID), ("offline_token", "true")]
        status, body = await self._call("GET", challenge.realm, url, params=params, headers=headers)
        self._raise_for(status, body, url)
        return parse_token_response(body)

    async def _call(self, method: str, realm: str, url: str, **kwargs: Any) -> tuple[int, bytes]:
        try:
            context = await self._ssl_for(realm)
            async with self._session.request(
                method, realm, ssl=context if context is not None else True, **kwargs
            ) as response:
                return response.status, await response.content.read(1 << 20)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Unreachable(f'Get "{url}": {describe(exc)}') from None

    @staticmethod
    def _raise_for(status: int, body: bytes, url: str) -> None:
        if status == 200:
            return
        codes = parse_error_body(status, body)
        if status == 401 or (codes and codes[0].code == UNAUTHORIZED):
            first = codes[0] if codes else ErrorCode(UNAUTHORIZED, "authentication required")
            raise RegistryError(f'Get "{url}": {first}', 401, (first,))
        detail = str(codes[0]) if codes else f"status {status}"
        raise RegistryError(f'Get "{url}": token request failed: {detail}', status, codes)
