"""Registry failures as error kinds, with dockerd's wording.

    errdefs.System
    ├── RegistryError        the registry answered with an error (its errcode list kept)
    │   └── Unreachable      no answer at all: connection refused, TLS failure, dropped
    └── VerificationError    content did not match its digest (never retried blindly)

A registry's errors arrive as `{"errors": [{"code", "message", "detail"}]}`; dockerd shows
them as `<code in lower case>: <message>` (errcode.Error.Error) and turns a few codes into
404s with its own prefix when pulling (`translate_pull_error`). Transport failures are worded
as Go's net, crypto/tls and crypto/x509 word them (`describe`), since users and scripts match
on dockerd's messages ("x509: certificate signed by unknown authority").
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
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


# getaddrinfo's "no such name" answers, which Go's resolver reports as "no such host".
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
_UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
_NOT_VALID_NOW = "x509: certificate has expired or is not yet valid"
# OpenSSL verify codes -> crypto/x509's words. Unknown authority: no issuer in the trust store
# (2, 20, 21) or an untrusted self-signed certificate, alone or in the chain (18, 19).
_X509 = {
    2: _UNKNOWN_AUTHORITY,
    18: _UNKNOWN_AUTHORITY,
    19: _UNKNOWN_AUTHORITY,
    20: _UNKNOWN_AUTHORITY,
    21: _UNKNOWN_AUTHORITY,
    9: _NOT_VALID_NOW,
    10: _NOT_VALID_NOW,
}
# crypto/tls's alert texts where they differ from OpenSSL's reason names (…_ALERT_<name>).
_GO_ALERTS = {
    "certificate expired": "expired certificate",
    "certificate revoked": "revoked certificate",
    "certificate unknown": "unknown certificate",
    "unknown ca": "unknown certificate authority",
    "protocol version": "protocol version not supported",
    "decode error": "error decoding message",
    "decrypt error": "error decrypting message",
    "insufficient security": "insufficient security level",
}


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The OpenSSL error behind an aiohttp one (aiohttp's own TLS errors subclass ssl's but
    carry none of its details): a connector error keeps it, a failure on an established
    connection (a TLS 1.3 server refusing our certificate after the handshake) has it as
    its cause."""
    found: BaseException | None = exc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        found = exc.certificate_error
    elif isinstance(exc, aiohttp.ClientConnectorError):
        found = exc.os_error
    elif isinstance(exc, aiohttp.ClientError):
        found = exc.__cause__ or exc.__context__
    return found if isinstance(found, ssl.SSLError) else None


def describe(exc: BaseException) -> str:
    """A transport failure in a few words, as Go's net/http, crypto/tls and crypto/x509 say it
    (with Go 1.20+'s "tls: failed to verify certificate:" before certificate errors)."""
    if isinstance(exc, asyncio.TimeoutError):
        return "i/o timeout"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "unexpected EOF"  # the body ended before its length or its last chunk
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "EOF"  # closed with no answer at all
    tls = _ssl_error(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        x509 = _X509.get(tls.verify_code, f"x509: {tls.verify_message}")
        return f"tls: failed to verify certificate: {x509}"
    if tls is not None:
        reason = tls.reason or ""
        if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE"):
            return "http: server gave HTTP response to HTTPS client"
        if "_ALERT_" in reason:  # the server refused the handshake: our certificate, say
            alert = reason.partition("_ALERT_")[2].lower().replace("_", " ")
            return f"remote error: tls: {_GO_ALERTS.get(alert, alert)}"
        return f"tls: {tls.strerror or tls}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        code = exc.os_error.errno
        reason = "no such host" if code in _NO_SUCH_HOST else (exc.strerror or str(exc.os_error))
        return f"dial tcp: lookup {exc.host}: {reason}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        host = f"[{exc.host}]" if ":" in exc.host else exc.host
        code = exc.os_error.errno
        # Go's syscall texts are libc's in lower case ("connection refused")
        reason = os.strerror(code).lower() if code else (exc.strerror or str(exc.os_error))
        return f"dial tcp {host}:{exc.port}: connect: {reason}"
    return str(exc) or type(exc).__name__
