"""Options, credentials and reports of the distribution service (pull, push, login,
search)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errdefs import InvalidParameter


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The credentials a client sends: dockerd's registry.AuthConfig (JSON keys lowercase).

    `identity_token` is the refresh token of an OAuth2 token server (what login returned as
    IdentityToken); `registry_token` is a bearer token to send as is, without a token server.
    """

    username: str = ""
    password: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""

    @classmethod
    def from_api(cls, data: Any) -> AuthConfig:
        """From the JSON of POST /auth or X-Registry-Auth; `auth` (base64 user:pass) too."""
        if not isinstance(data, dict):
            raise InvalidParameter("invalid auth configuration: expected a JSON object")
        username = _text(data, "username")
        password = _text(data, "password")
        if not username and data.get("auth"):
            try:
                decoded = base64.b64decode(str(data["auth"]), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise InvalidParameter("invalid auth configuration: bad auth field") from None
            username, _, password = decoded.partition(":")
        return cls(
            username=username,
            password=password,
            server_address=_text(data, "serveraddress"),
            identity_token=_text(data, "identitytoken"),
            registry_token=_text(data, "registrytoken"),
        )

    @property
    def has_basic(self) -> bool:
        return bool(self.username and self.password)

    @property
    def anonymous(self) -> bool:
        return not (self.has_basic or self.identity_token or self.registry_token)

    def cache_key(self) -> tuple[str, str, str, str]:
        """What tells two credentials apart for the token cache (never logged)."""
        return (self.username, self.password, self.identity_token, self.registry_token)

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"AuthConfig(username={self.username!r}, server_address={self.server_address!r})"


ANONYMOUS = AuthConfig()


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def decode_header_json(value: str) -> Any:
    """The JSON of X-Registry-Auth and X-Registry-Config: base64url, padding optional.
    Raises ValueError (binascii.Error is one) for a value that isn't that."""
    value = value.strip()
    return orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def decode_auth_header(value: str, *, strict: bool = False) -> AuthConfig:
    """X-Registry-Auth: base64url JSON (padding optional). Pull ignores a bad header as dockerd
    does ("for a pull it is not an error if no auth was given"); `strict` refuses it (400)."""
    if not value.strip():
        return ANONYMOUS
    try:
        return AuthConfig.from_api(decode_header_json(value))
    except (ValueError, InvalidParameter):
        if strict:
            raise InvalidParameter("invalid X-Registry-Auth header") from None
        return ANONYMOUS


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform: os/architecture[/variant], normalised as containerd's platforms do."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)

    def to_api(self) -> dict[str, Any]:
        """ocispec.Platform's JSON (architecture, os, os.version, os.features, variant)."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor: what a manifest says about a blob or another manifest."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest}
        out["size"] = self.size
        if self.urls:
            out["urls"] = list(self.urls)
        return out


@dataclass(frozen=True, slots=True)
class PullOptions:
    """POST /images/create?fromImage=…: platform (None: the host's) and credentials."""

    platform: Platform | None = None
    auth: AuthConfig = ANONYMOUS


@dataclass(frozen=True, slots=True)
class PushOptions:
    """POST /images/{name}/push: credentials."""

    auth: AuthConfig = ANONYMOUS


@dataclass(frozen=True, slots=True)
class LoginReport:
    """POST /auth's answer: dockerd's AuthenticateOKBody."""

    status: str = "Login Succeeded"
    identity_token: str = ""

    def to_api(self) -> dict[str, str]:
        return {"IdentityToken": self.identity_token, "Status": self.status}


@dataclass(slots=True)
class DistributionInspect:
    """GET /distribution/{name}/json: the manifest's descriptor and the platforms it offers."""

    descriptor: Descriptor
    platforms: list[Platform] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "Descriptor": self.descriptor.to_api(),
            "Platforms": [p.to_api() for p in self.platforms],
        }


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """GET /images/search: what to look for and where (the term names the index).

    `limit` 0 means dockerd's default (25); `headers` are the client's `X-Meta-*` headers,
    which dockerd passes on to the registry.
    """

    term: str
    limit: int = 0
    filters: Mapping[str, list[str]] = field(default_factory=dict)
    auth: AuthConfig = ANONYMOUS
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One repository a registry's search found: dockerd's registry.SearchResult."""

    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False
    is_automated: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "star_count": self.star_count,
            "is_official": self.is_official,
            "name": self.name,
            "is_automated": self.is_automated,
            "description": self.description,
        }
