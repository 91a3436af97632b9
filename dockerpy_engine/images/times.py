"""Timestamps as dockerd writes and reads them: Go's RFC 3339 with nanoseconds, and its zero time.

Image configs carry their `created` time in this form, and list filters, prune, history and
save compare images by it.
"""

from __future__ import annotations

import calendar
import re
import time

ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, what dockerd shows for "never"
_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def rfc3339nano(ns: int | None = None) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    ns = time.time_ns() if ns is None else ns
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def parse_time(text: str) -> float | None:
    """An RFC 3339 timestamp as unix seconds (float), None if absent or unparsable."""
    match = _TIME_RE.match(text or "")
    if match is None:
        return None
    base, frac, zone = match.groups()
    seconds = float(calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds + (float(frac) if frac else 0.0)
