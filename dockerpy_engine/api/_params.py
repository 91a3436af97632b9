"""Query-string coercion written once, with dockerd's rules (httputils.BoolValue & co)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiohttp import web

from ..errdefs import InvalidParameter

_FALSE = {"", "0", "no", "false", "none"}

CONSOLE_BOUNDS = (0, 65535)
"""A console's rows and columns (`h`, `w`, ConsoleSize): a kernel winsize holds unsigned shorts."""


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    """dockerd's BoolValue: absent → default; "", 0, no, false, none → False; anything else True."""
    if name not in request.query:
        return default
    return request.query[name].strip().lower() not in _FALSE


def qint(
    request: web.Request,
    name: str,
    default: int | None = None,
    *,
    bounds: tuple[int, int] | None = None,
) -> int | None:
    """An integer parameter; a malformed value is the client's error (400), and so is one out of
    `bounds` (inclusive): a value that reaches a fixed-width field below (containerd's uint32
    console size) would otherwise fail there as the server's error."""
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {raw!r}") from None
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise InvalidParameter(
            f"invalid value for {name}: {value} is out of range [{bounds[0]}, {bounds[1]}]"
        )
    return value


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


def _json_kind(value: Any) -> str:
    """The JSON type of a decoded value as Go's decoder names it in its errors (with the
    value for a number, as Go does for one that does not fit)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _integer(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _list_of(item: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and all(item(x) for x in v)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


_INT64 = _integer(-(2**63), 2**63 - 1)
_GO_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": _is_str,
    "bool": lambda v: isinstance(v, bool),
    "int": _INT64,  # Go's int on the 64-bit hosts dockerd runs on
    "int64": _INT64,
    "uint16": _integer(0, 2**16 - 1),
    "uint64": _integer(0, 2**64 - 1),
    "[]string": _list_of(_is_str),
    # Docker's StrSlice (Cmd, Entrypoint, CapAdd): one string or a list of them
    "strslice.StrSlice": lambda v: isinstance(v, str) or _list_of(_is_str)(v),
    "[2]uint": lambda v: (
        isinstance(v, list) and len(v) == 2 and _list_of(_integer(0, 2**64 - 1))(v)
    ),
    "map[string]string": lambda v: isinstance(v, dict) and all(map(_is_str, v.values())),
    "map[string]struct {}": lambda v: (
        isinstance(v, dict) and all(isinstance(x, dict) or x is None for x in v.values())
    ),
    "object": lambda v: isinstance(v, dict),
}


@dataclass(frozen=True, slots=True)
class Struct:
    """A nested Go struct in a body (RestartPolicy), or a collection of them: `shape` "[]" for
    a slice (Ulimits), "map[string]" for a map (NetworkingConfig.EndpointsConfig)."""

    name: str
    fields: Mapping[str, str | Struct]
    shape: Literal["", "[]", "map[string]"] = ""


def typed_fields(body: dict[str, Any], struct: str, fields: Mapping[str, str | Struct]) -> None:
    """Refuse a body field of the wrong JSON type (400) before any code trusts its type, and
    make a one-string StrSlice the one-item list Go's StrSlice decoder makes of it (in place),
    so that `"Cmd": "true"` never runs as `t r u e`.

    dockerd decodes bodies into Go structs, so `{"Cmd": 5}` or `{"Memory": {}}` never reach its
    handlers: the decoder answers 400 with `json: cannot unmarshal number 5 into Go struct field
    ExecConfig.Cmd of type strslice.StrSlice`; we answer the same words. `fields` maps a key to
    one of _GO_TYPES' names or to a nested Struct (checked field by field, its path named as
    Go does: `HostConfig.RestartPolicy.Name`). Null and absent keys are Go's zero value and
    pass; unknown keys are ignored, as Go does. A list holding a wrong type is refused whole.

    Go also matches keys without regard to case when no key matches exactly (docker-py sends
    exec's `detachKeys`): such a key is renamed to the field's own name here, in place.
    """
    _fold_keys(body, fields)
    for key, go_type in fields.items():
        value = body.get(key)
        if value is None:
            continue
        path = f"{struct}.{key}"
        if isinstance(go_type, Struct):
            for item in _struct_items(value, path, go_type):
                typed_fields(item, path, go_type.fields)
        elif not _GO_TYPES[go_type](value):
            raise _unmarshal(value, path, go_type)
        elif go_type == "strslice.StrSlice" and isinstance(value, str):
            body[key] = [value]


def _fold_keys(body: dict[str, Any], fields: Mapping[str, str | Struct]) -> None:
    """encoding/json's field matching: an exact key first, else one equal but for case."""
    folded = {key.casefold(): key for key in body if key not in fields}
    for key in fields:
        other = folded.get(key.casefold())
        if key not in body and other is not None:
            body[key] = body.pop(other)


def _struct_items(value: Any, path: str, go_type: Struct) -> list[dict[str, Any]]:
    """The struct values a field holds in its shape (null members are Go's nil pointers)."""
    if go_type.shape == "[]" and isinstance(value, list):
        items = value
    elif go_type.shape == "map[string]" and isinstance(value, dict):
        items = [v for v in value.values() if v is not None]
    elif go_type.shape == "" and isinstance(value, dict):
        items = [value]
    else:
        items = [None]
    if not all(isinstance(item, dict) for item in items):
        raise _unmarshal(value, path, f"{go_type.shape}{go_type.name}")
    return items


def _unmarshal(value: Any, path: str, go_type: str) -> InvalidParameter:
    return InvalidParameter(
        f"json: cannot unmarshal {_json_kind(value)} into Go struct field {path} of type {go_type}"
    )


def json_response(data: Any, status: int = 200) -> web.Response:
    """Serialise with orjson: the hot endpoints (ps, inspect) are mostly JSON encoding."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
