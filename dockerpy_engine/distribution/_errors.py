"""Registry failures as error kinds, with dockerd's wording.

    errdefs.System
    ├── RegistryError        the registry answered with an error (its errcode list kept)
    │   └── Unreachable      no answer at all: connection refused, TLS failure, dropped
    └── VerificationError    content did not match its digest (never retried blindly)

A registry's errors arrive as `{"errors": [{"code", "message", "detail"}]}`; dockerd shows
them as `<code in lower case>: <message>` (errcode.Error.Error) and turns a few codes into
404s with its own prefix when pulling (`translate_pull_error`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..errdefs import EngineError, NotFound, System, Unauthorized

# errcode values and the status dockerd gives them when they reach the API unchanged.
UNAUTHORIZED = "UNAUTHORIZED"
DENIED = "DENIED"
MANIFEST_UNKNOWN = "MANIFEST_UNKNOWN"
NAME_UNKNOWN = "NAME_UNKNOWN"
BLOB_UNKNOWN = "BLOB_UNKNOWN"


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One entry of a registry's error list."""

    code: str
    message: str
    detail: Any = None

    def __str__(self) -> str:
        label = self.code.lower().replace("_", " ") if self.code else "unknown"
        return f"{label}: {self.message}" if self.message else label


class RegistryError(System):
    """The registry answered with an HTTP error; `errors` is its parsed errcode list."""

    def __init__(self, message: str, status: int = 0, errors: tuple[ErrorCode, ...] = ()):
        super().__init__(message)
        self.status = status
        self.errors = errors

    @property
    def code(self) -> str:
        return self.errors[0].code if self.errors else ""


class Unreachable(RegistryError):
    """The endpoint could not be talked to (connection, TLS, protocol); try the next one."""


class VerificationError(System):
    """Content whose digest or size is not what its descriptor says."""


def parse_error_body(status: int, body: bytes) -> tuple[ErrorCode, ...]:
    """The errcode list of an error answer; token servers' `{"details": …}` too."""
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        document = None
    codes: list[ErrorCode] = []
    if isinstance(document, dict):
        for entry in document.get("errors") or []:
            if isinstance(entry, dict):
                codes.append(
                    ErrorCode(
                        str(entry.get("code") or ""),
                        str(entry.get("message") or ""),
                        entry.get("detail"),
                    )
                )
        details = document.get("details")
        if not codes and isinstance(details, str) and status == 401:
            codes.append(ErrorCode(UNAUTHORIZED, details))
    if not codes and status == 401:
        codes.append(ErrorCode(UNAUTHORIZED, "authentication required"))
    return tuple(codes)


def error_from_response(
    method: str, url: str, status: int, reason: str, body: bytes
) -> EngineError:
    """An error answer as dockerd's client reports it."""
    codes = parse_error_body(status, body)
    if codes:
        message = str(codes[0])
    else:
        message = f"unexpected status from {method} request to {url}: {status} {reason}"
    return RegistryError(message, status, codes)


def translate_pull_error(error: EngineError, familiar_ref: str, familiar_name: str) -> EngineError:
    """dockerd's translatePullError: denied / manifest unknown / name unknown become 404s."""
    if not isinstance(error, RegistryError) or not error.errors:
        return error
    first = error.errors[0]
    if first.code == DENIED:
        return NotFound(
            f"pull access denied for {familiar_name}, repository does not exist or may "
            f"require 'docker login': {first}"
        )
    if first.code == MANIFEST_UNKNOWN:
        return NotFound(f"manifest for {familiar_ref} not found: {first}")
    if first.code == NAME_UNKNOWN:
        return NotFound(f"repository {familiar_name} not found: {first}")
    return error


def unauthorized(error: EngineError) -> EngineError:
    """Login's rule: a registry that refused the credentials is a 401 for the client."""
    if isinstance(error, RegistryError) and error.code == UNAUTHORIZED:
        return Unauthorized(error.message)
    return error
