"""JSON for the CLI's start-up path: the standard library's own C scanner and encoder
(`_json`, the accelerator behind `json`) driven directly.

Importing the `json` package compiles its decoder's regular expressions, which brings in `re`
and `enum`: together more than half of what a whole `docker ps` costs. The C functions need
only the few settings a `JSONDecoder`/`JSONEncoder` would hold, so `loads` and `dumps` here
give exactly `json.loads`/`json.dumps` results (same scanner, same encoder) without that import.
Errors are `json.JSONDecodeError` (a ValueError); `json` is imported only to raise one.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dumps", "loads"]

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _DecoderSettings:
    """What `_json.make_scanner` reads from a `json.JSONDecoder` (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan = _json.make_scanner(_DecoderSettings())


def _error(message: str, doc: str, pos: int) -> ValueError:
    import json

    return json.JSONDecodeError(message, doc, pos)


def loads(data: bytes | bytearray | str) -> Any:
    """json.loads for UTF-8 bytes or text."""
    doc = data.decode() if isinstance(data, bytes | bytearray) else data
    start = len(doc) - len(doc.lstrip(_WHITESPACE))
    try:
        value, end = _scan(doc, start)
    except StopIteration as e:
        raise _error("Expecting value", doc, e.value) from None
    if end < len(doc) and doc[end:].strip(_WHITESPACE):
        raise _error("Extra data", doc, end + len(doc[end:]) - len(doc[end:].lstrip(_WHITESPACE)))
    return value


def _unserializable(o: Any) -> Any:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def dumps(obj: Any, ensure_ascii: bool = True, compact: bool = False) -> str:
    """json.dumps(obj, ensure_ascii=..., separators=(",", ":") if compact else the default)."""
    if isinstance(obj, str):
        quote = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
        return quote(obj)
    encode = _json.make_encoder(
        {},  # markers: circular references raise ValueError, as with json.dumps
        _unserializable,
        _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring,
        None,  # indent
        ":" if compact else ": ",
        "," if compact else ", ",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    return "".join(encode(obj, 0))
