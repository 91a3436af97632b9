"""The json-file driver: dockerd's default, one JSON object per line in `<id>-json.log`.

    {"log":"hi\\n","stream":"stdout","attrs":{"tag":"web"},"time":"2026-01-02T03:04:05.123456789Z"}

Byte for byte as dockerd writes it: keys in that order, `attrs` only when the `labels`, `env`
(`-regex`) or `tag` options give some (sorted keys), `time` in Go's RFC3339Nano (trailing zeros
dropped), strings escaped as dockerd's writer does (`<`, `>`, `&` as \\u003c…, control bytes as
\\u00XX, invalid UTF-8 as \\ufffd). A partial entry (a piece of a line longer than 16 KiB, or an
unfinished last line) has no newline at the end of its `log`.

Options: max-size (go-units, decimal: 10m = 10,000,000 bytes), max-file, compress, labels,
labels-regex, env, env-regex, tag. Errors in their values surface when the container starts,
as with dockerd.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import orjson

from ._base import LogEntry, LogInfo, Message, format_time_nano
from ._base import parse_time_ns as _parse_time_ns
from ._files import FileDriver, FileReader, LogFile
from ._options import (
    ATTRIBUTE_KEYS,
    OptionError,
    extra_attributes,
    from_human_size,
    parse_bool,
    parse_int,
    parse_tag,
    unknown_key,
)

NAME = "json-file"
KEYS = ("max-file", "max-size", "compress", *ATTRIBUTE_KEYS)

_NEEDS_ESCAPE = re.compile(r"[<>&\u2028\u2029]|\\[tbf]|\\\\")
_SHORT_ESCAPES = {"\\t": "\\u0009", "\\b": "\\u0008", "\\f": "\\u000c", "\\\\": "\\\\"}
_INVALID_BYTE = re.compile("[\udc80-\udcff]")
_MARKERS = [chr(c) for c in range(0xFDD0, 0xFDF0)]  # noncharacters standing in for bad bytes
_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def validate(config: Mapping[str, str]) -> None:
    """dockerd's json-file ValidateLogOpt: only the keys are checked at create."""
    if key := unknown_key(config, KEYS):
        raise OptionError(f"unknown log opt '{key}' for json-file log driver")


def go_json_string(text: str) -> bytes:
    """A JSON string as dockerd's json-file writer (and Go's encoding/json) escapes it."""
    encoded = orjson.dumps(text).decode()
    if _NEEDS_ESCAPE.search(encoded):
        encoded = _NEEDS_ESCAPE.sub(lambda m: _HTML.get(m[0]) or _SHORT_ESCAPES[m[0]], encoded)
    return encoded.encode()


def go_json_bytes(data: bytes) -> bytes:
    """Bytes as a JSON string the way dockerd writes `log`: each byte of invalid UTF-8 becomes
    an escaped \\ufffd (a real U+FFFD in the output stays as it is, as in Go)."""
    try:
        return go_json_string(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    marker = next(m for m in _MARKERS if m.encode() not in data)
    text = _INVALID_BYTE.sub(marker, data.decode("utf-8", "surrogateescape"))
    return go_json_string(text).replace(marker.encode(), b"\\ufffd")


def go_json_object(attrs: Mapping[str, str]) -> bytes:
    """Go's json.Marshal of a map[string]string: sorted keys, escaped as above."""
    items = (go_json_string(k) + b":" + go_json_string(attrs[k]) for k in sorted(attrs))
    return b"{" + b",".join(items) + b"}"


def encode(msg: Message, attrs: bytes = b"") -> bytes:
    """One line of the log file, newline included."""
    line = msg.line + b"\n" if msg.ends_line else msg.line
    parts = []
    if line:
        parts.append(b'"log":' + go_json_bytes(line))
    parts.append(b'"stream":' + go_json_string(msg.stream))
    if attrs:
        parts.append(b'"attrs":' + attrs)
    parts.append(b'"time":"' + format_time_nano(msg.time_ns).encode() + b'"')
    return b"{" + b",".join(parts) + b"}\n"


class JsonCodec:
    """Decodes whole lines; a torn or foreign line is skipped, as dockerd's decoder does."""

    def decode(self, data: bytes) -> tuple[list[LogEntry], int]:
        end = data.rfind(b"\n") + 1
        entries = []
        for raw in data[:end].split(b"\n"):
            if not raw:
                continue
            try:
                item = orjson.loads(raw)
                stamp = _parse_time_ns(item["time"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            if not isinstance(item, dict):
                continue
            stream = item.get("stream", "")
            entries.append(LogEntry(stream, item.get("log", "").encode(), stamp))
        return entries, end


class JsonFileLog(FileDriver):
    """Appends a container's output to its json-file log; `reader()` reads it back."""

    name = NAME
    codec = JsonCodec()

    def __init__(
        self,
        path: Path,
        config: Mapping[str, str] | None = None,
        info: LogInfo | None = None,
    ) -> None:
        super().__init__()
        config = config or {}
        max_size, max_files, compress = parse_rotation(config)
        attrs: dict[str, str] = {}
        if info is not None:
            attrs = extra_attributes(config, info)
            tag = parse_tag(config, info, default="")  # no default tag: only when asked for
            if tag:
                attrs["tag"] = tag
        self._attrs = go_json_object(attrs) if attrs else b""
        self.path = path
        self._file = LogFile(path, max_size, max_files, compress)

    def encode(self, msg: Message) -> bytes:
        return encode(msg, self._attrs)


def parse_rotation(config: Mapping[str, str]) -> tuple[int, int, bool]:
    """dockerd's json-file New: max-size, max-file and compress, with its messages."""
    max_size = -1
    if "max-size" in config:
        max_size = from_human_size(config["max-size"])
        if max_size <= 0:
            raise OptionError("max-size must be a positive number")
    max_files = 1
    if "max-file" in config:
        max_files = parse_int(config["max-file"])
        if max_files < 1:
            raise OptionError("max-file cannot be less than 1")
    compress = False
    if "compress" in config:
        compress = parse_bool(config["compress"])
        if compress and (max_files == 1 or max_size == -1):
            raise OptionError(
                "compress cannot be true when max-file is less than 2 or max-size is not set"
            )
    return max_size, max_files, compress


def open_reader(path: Path, config: Mapping[str, str], live: JsonFileLog | None) -> FileReader:
    """A reader for a stopped container (no writer) or a running one (`live`)."""
    if live is not None:
        return live.reader()
    try:
        _, max_files, _ = parse_rotation(config)
    except OptionError:
        max_files = 1
    return FileReader(path, max_files, JsonCodec(), None)
