"""Filter values several resources share: `until` (dockerd's timetypes.GetTimestamp) and labels.

Containers, images and networks prune by `until`; one parser keeps their answers the same.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Mapping

from .errdefs import InvalidParameter

_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?"
    r"(Z|z|[+-]\d{2}:\d{2})?"
)
_UNIX = re.compile(r"\d+(?:\.\d{1,9})?")


def parse_until(value: str, now: float | None = None) -> float:
    """timestamp.Parse (timetypes.GetTimestamp) as unix seconds: a Go duration before now,
    RFC 3339 (or a shortened local date/time), or unix seconds with optional nanoseconds."""
    now = time.time() if now is None else now
    if value != "0" and _GO_DURATION.fullmatch(value):
        sign = -1.0 if value.startswith("-") else 1.0
        total = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(value))
        return now - sign * total
    match = _TIMESTAMP.fullmatch(value)
    if match is not None:
        year, month, day, hour, minute, second, frac, zone = match.groups()
        fields = (int(year), int(month), int(day), int(hour or 0), int(minute or 0))
        try:
            stamp = (*fields, int(second or 0), 0, 0, -1)
            if zone:
                seconds = float(calendar.timegm(stamp))
                if zone not in ("Z", "z"):
                    offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
                    seconds -= offset if zone[0] == "+" else -offset
            else:
                seconds = time.mktime(stamp)  # dockerd parses zone-less times as local
        except (OverflowError, ValueError) as exc:
            raise InvalidParameter(f"invalid value for 'until' filter: {exc}") from None
        return seconds + (float(frac) if frac else 0.0)
    if "-" not in value and _UNIX.fullmatch(value):
        return float(value)
    raise InvalidParameter(
        f"invalid value for 'until' filter: failed to parse value as time or duration: \"{value}\""
    )


def until_filter(filters: Mapping[str, list[str]]) -> float | None:
    """The `until` filter as unix seconds, None when absent; more than one is an error."""
    values = filters.get("until")
    if not values:
        return None
    if len(values) > 1:
        raise InvalidParameter("more than one until filter specified")
    return parse_until(values[0])


def labels_match(labels: Mapping[str, str], exprs: list[str]) -> bool:
    """`label=key` / `label=key=value`: every expression must hold."""
    for expr in exprs:
        key, sep, value = expr.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True
