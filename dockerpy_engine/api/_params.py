"""Query-string coercion written once, with dockerd's rules (httputils.BoolValue & co)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..errdefs import InvalidParameter

_FALSE = {"", "0", "no", "false", "none"}


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    """dockerd's BoolValue: absent → default; "", 0, no, false, none → False; anything else True."""
    if name not in request.query:
        return default
    return request.query[name].strip().lower() not in _FALSE


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    """An integer parameter; a malformed value is the client's error (400)."""
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {raw!r}") from None


def qfilters(request: web.Request) -> dict[str, list[str]]:
    """The `filters` JSON: {"key": ["v", …]} or the legacy {"key": {"v": true}} map form."""
    raw = request.query.get("filters", "")
    if not raw:
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidParameter("invalid filter: invalid JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidParameter("invalid filter: expected an object")
    result: dict[str, list[str]] = {}
    for key, value in parsed.items():
        if isinstance(value, dict):
            result[key] = [k for k, on in value.items() if on]
        elif isinstance(value, list):
            result[key] = [str(v) for v in value]
        else:
            raise InvalidParameter(f"invalid filter: value for {key} must be a list")
    return result


async def json_body(request: web.Request, *, required: bool = True) -> Any:
    """Decode a JSON request body; dockerd answers 400 for bad JSON."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise InvalidParameter("invalid JSON: empty body")
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"invalid JSON: {exc}") from None


def json_response(data: Any, status: int = 200) -> web.Response:
    """Serialise with orjson: the hot endpoints (ps, inspect) are mostly JSON encoding."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
