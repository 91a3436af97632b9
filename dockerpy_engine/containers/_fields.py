"""Reading a Config/HostConfig dict as dockerd's Go structs see it, for the modules that check
and map one (hostconfig, adapt, spec_inputs…): absent fields are zero values, Go's path
cleaning, `container:<ref>` modes, and the InvalidParameter every check raises."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any, NoReturn

from .. import errdefs


def invalid(message: str) -> NoReturn:
    raise errdefs.InvalidParameter(message)


def int_field(hc: Mapping[str, Any], key: str) -> int:
    value = hc.get(key)
    return int(value) if value else 0


def memory_swappiness(hc: Mapping[str, Any]) -> int | None:
    """MemorySwappiness; -1 (what the CLI sends when unset) means unset (fixMemorySwappiness)."""
    value = hc.get("MemorySwappiness")
    return None if value is None or value == -1 else int(value)


def go_clean(path: str) -> str:
    """Go's path.Clean: like normpath, but a leading "//" is "/"."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("/") else cleaned


def container_ref(mode: str) -> str:
    """`container:<ref>` → ref ("" for any other mode)."""
    kind, sep, ref = mode.partition(":")
    return ref if sep and kind == "container" else ""
