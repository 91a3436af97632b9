"""Output helpers matching the docker CLI: Go's tabwriter, go-units sizes and durations,
`formatter.Ellipsis`, Go time strings, and the `--format` machinery (table/json/template).

Everything here is pure (strings in, strings out) so it is unit-tested without a daemon.
"""

from __future__ import annotations

import time as _time

from dockerpy_engine.humanize import human_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Callable, Iterable
    from typing import Any

__all__ = [
    "FormatError",
    "Formatter",
    "bytes_size",
    "display_width",
    "ellipsis",
    "go_time",
    "human_duration",
    "human_size",
    "human_size_precision",
    "parse_time",
    "tabwrite",
    "truncate_id",
]

# ---------------------------------------------------------------------------------------------
# go-units


_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _go_g(value: float, precision: int) -> str:
    """Go's %.<p>g: like C's, trailing zeros dropped, two-digit exponent."""
    s = f"{value:.{precision}g}"
    if "e" in s:
        mant, exp = s.split("e")
        sign, digits = exp[0], exp[1:].lstrip("0").rjust(2, "0")
        s = f"{mant}e{sign}{digits}"
    return s


def _custom_size(precision: int, size: float, base: float, units: tuple[str, ...]) -> str:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return f"{_go_g(size, precision)}{units[i]}"


def human_size_precision(size: float, precision: int) -> str:
    """units.HumanSizeWithPrecision: decimal (1000) units, `precision` significant digits."""
    return _custom_size(precision, float(size), 1000.0, _DECIMAL)


def human_size(size: float) -> str:
    """units.HumanSize: HumanSizeWithPrecision(size, 4)."""
    return human_size_precision(size, 4)


def bytes_size(size: float) -> str:
    """units.BytesSize: binary (1024) units, 4 significant digits (`23.54GiB`)."""
    return _custom_size(4, float(size), 1024.0, _BINARY)


def since(unix_seconds: float, now: float | None = None) -> str:
    """`<HumanDuration> ago` for a unix timestamp, as ps/images print CREATED."""
    now = _time.time() if now is None else now
    return human_duration(now - unix_seconds) + " ago"


# ---------------------------------------------------------------------------------------------
# Strings


def display_width(s: str) -> int:
    """Terminal cells: East Asian wide/fullwidth characters count twice (go-runewidth)."""
    if s.isascii():
        return len(s)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def ellipsis(s: str, max_width: int) -> str:
    """formatter.Ellipsis: cut to max_width display cells, the last one being `…`."""
    if max_width <= 0:
        return ""
    if display_width(s) <= max_width:
        return s
    if max_width == 1:
        return "…"
    import unicodedata

    out = []
    width = 0
    for c in s:
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if width + w > max_width - 1:
            break
        out.append(c)
        width += w
    return "".join(out) + "…"


def truncate_id(ident: str) -> str:
    """stringid.TruncateID: drop a `sha256:` style prefix, keep 12 characters."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]


# ---------------------------------------------------------------------------------------------
# Times


def go_time(unix_seconds: float, tz: _dt.tzinfo | None = None) -> str:
    """Go's time.Time.String() for time.Unix(s, 0) in local time:
    `2025-11-27 22:04:23 +0000 UTC`."""
    import datetime as _dt  # here: `ps` and `images` tables don't need it

    t = _dt.datetime.fromtimestamp(int(unix_seconds), tz or _local_tz())
    off = t.strftime("%z")
    name = t.tzname() or off
    if name.startswith(("+", "-")) or name == "":
        name = off
    return f"{t:%Y-%m-%d %H:%M:%S} {off} {name}"


def _local_tz() -> _dt.tzinfo:
    import datetime as _dt

    return _dt.datetime.now().astimezone().tzinfo or _dt.UTC


def parse_time(value: str, now: float | None = None) -> str:
    """timetypes.GetTimestamp: the `--since/--until` forms docker accepts (unix seconds with
    optional fraction, RFC 3339 dates and times, or a Go duration meaning `now - d`), as the
    `seconds.nanoseconds` string the API takes."""
    if value == "":
        return ""
    now = _time.time() if now is None else now
    d = parse_go_duration(value)
    if d is not None:
        t = now - d
        return f"{int(t)}.{round((t - int(t)) * 1e9):09d}"
    if _is_unix(value):
        return value
    import datetime as _dt

    for fmt, has_tz in (
        ("%Y-%m-%dT%H:%M:%S.%f%z", True),
        ("%Y-%m-%dT%H:%M:%S%z", True),
        ("%Y-%m-%dT%H:%M:%S.%f", False),
        ("%Y-%m-%dT%H:%M:%S", False),
        ("%Y-%m-%dT%H:%M%z", True),
        ("%Y-%m-%dT%H:%M", False),
        ("%Y-%m-%dT%H", False),
        ("%Y-%m-%d", False),
    ):
        try:
            t = _dt.datetime.strptime(value.replace("Z", "+0000"), fmt)
        except ValueError:
            continue
        if not has_tz:
            t = t.replace(tzinfo=_local_tz())
        ts = t.timestamp()
        return f"{int(ts)}.{t.microsecond * 1000:09d}"
    raise ValueError(f'failed to parse value as time or duration: "{value}"')


def _is_unix(value: str) -> bool:
    head, _, frac = value.partition(".")
    return head.lstrip("-").isdigit() and (frac == "" or frac.isdigit())


_DUR_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(value: str) -> float | None:
    """time.ParseDuration (`1h30m`, `10s`, `1.5h`, `-5m`); None when it is not one."""
    import re

    s = value
    sign = 1.0
    if s[:1] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        return None
    return sign * sum(float(n) * _DUR_UNITS[u] for n, u in parts)


# ---------------------------------------------------------------------------------------------
# Go's text/tabwriter (minwidth 10, tabwidth 1, padding 3, padchar ' ', no flags: docker's)


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-separated cells like Go's tabwriter: a column is a block of consecutive lines
    that have a cell in it; the text after the last tab of a line is not a cell."""
    lines = [line.split("\t") for line in text.split("\n")]
    widths: dict[tuple[int, int], int] = {}  # (line, column) -> width

    def fmt(line0: int, line1: int, col: int) -> None:
        i = line0
        while i < line1:
            if len(lines[i]) - 1 > col:  # this line has a cell in column col
                # a column block starts here: consecutive lines with such a cell
                j = i
                width = minwidth
                discardable = True
                while j < line1 and len(lines[j]) - 1 > col:
                    cell = lines[j][col]
                    w = display_width(cell) + padding
                    width = max(width, w)
                    if cell:
                        discardable = False
                    j += 1
                if discardable:  # all cells empty: Go still pads to minwidth (no DiscardEmpty)
                    pass
                for k in range(i, j):
                    widths[(k, col)] = width
                fmt(i, j, col + 1)
                i = j
            else:
                i += 1

    fmt(0, len(lines), 0)
    out = []
    for li, cells in enumerate(lines):
        parts = []
        for ci, cell in enumerate(cells):
            if ci < len(cells) - 1:
                parts.append(cell + " " * (widths[(li, ci)] - display_width(cell)))
            else:
                parts.append(cell)
        out.append("".join(parts))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# --format: "table", "table TEMPLATE", "json", "TEMPLATE" (cli/command/formatter.Context)


class FormatError(Exception):
    """The template did not parse or execute; str() is the docker CLI's message."""


class Formatter:
    """Render items through a docker `--format` string.

    `headers` maps field names to column titles for the table header row; `to_context` turns an
    item into what the template sees (a GoStruct). Output mirrors formatter.Context: each item
    is rendered and followed by a newline; tables get a header row and go through tabwriter.
    """

    def __init__(self, fmt: str, headers: dict[str, str]) -> None:
        from cli import gotemplate

        self.raw = fmt
        self.is_table = fmt.startswith("table")
        self.is_json = fmt == "json"
        text = fmt
        if self.is_table:
            text = text[len("table") :]
        elif self.is_json:
            text = "{{json .}}"
        text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
        self.headers = headers
        try:
            self.template = gotemplate.parse(text)
        except gotemplate.TemplateError as e:
            raise FormatError(f"template parsing error: {e}") from None

    def render(self, contexts: Iterable[Any], write: Callable[[str], None]) -> None:
        from cli import gotemplate

        body: list[str] = []
        try:
            for ctx in contexts:
                body.append(self.template.execute(ctx) + "\n")
        except gotemplate.TemplateError as e:
            if body and not self.is_table:
                write("".join(body))
            raise FormatError(f"template parsing error: {e}") from None
        if not self.is_table:
            write("".join(body))
            return
        try:
            header = self.template.execute(
                gotemplate.HeaderMap(self.headers), funcs=gotemplate.header_funcs()
            )
        except gotemplate.TemplateError:
            header = ""
        write(tabwrite(header + "\n" + "".join(body)))
