"""The local driver: dockerd's compact on-disk format, rotated and compressed by default.

The file is `<container dir>/local-logs/container.log`. Each entry is dockerd's framing: a
4-byte big-endian length, a protobuf `LogEntry` (source = 1, time_nano = 2, line = 3,
partial = 4, partial_log_metadata = 5 {last = 1, id = 2, ordinal = 3}, attrs = 6 {key, value}),
and the length again (so a reader may walk backwards). The protobuf is written and read by hand
here, a few varints and length-delimited fields, so the files are dockerd's own format without
pulling the protobuf runtime outside `runtime/`.

Defaults are dockerd's: max-size 20 MiB, max-file 5, compress true. Like dockerd, inspect's
LogPath stays empty: the format is the daemon's business.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

from ._base import LogEntry, LogInfo, Message
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

NAME = "local"
KEYS = ("max-file", "max-size", "compress", *ATTRIBUTE_KEYS)
DEFAULT_MAX_SIZE = 20 * 1024 * 1024
DEFAULT_MAX_FILES = 5
FRAME = struct.Struct(">I")
MAX_ENTRY = 1 << 26  # a length beyond this is a torn or foreign file, not an entry


def validate(config: Mapping[str, str]) -> None:
    if key := unknown_key(config, KEYS):
        raise OptionError(f"unknown log opt '{key}' for log driver local")


def parse_config(config: Mapping[str, str]) -> tuple[int, int, bool]:
    """dockerd's local newConfig + validateConfig, with their messages."""
    max_size, max_files, compress = DEFAULT_MAX_SIZE, DEFAULT_MAX_FILES, True
    if "max-size" in config:
        try:
            max_size = from_human_size(config["max-size"])
        except OptionError as exc:
            raise OptionError(f"invalid value for max-size: {config['max-size']}: {exc}") from None
    if "max-file" in config:
        try:
            max_files = parse_int(config["max-file"])
        except OptionError as exc:
            raise OptionError(f"invalid value for max-file: {config['max-file']}: {exc}") from None
    if "compress" in config:
        try:
            compress = parse_bool(config["compress"])
        except OptionError as exc:
            raise OptionError(f"invalid boolean value for compress: {exc}") from None
    if max_size < 0:
        raise OptionError("max-size must not be negative")
    if max_files < 0:
        raise OptionError("max-file must not be negative")
    if compress and max_files <= 1:
        raise OptionError("compression cannot be enabled when max file count is 1")
    return max_size, max_files, compress


# ------------------------------------------------------------------------ protobuf by hand


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten bytes of two's complement, as protobuf
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def encode_entry(msg: Message, attrs: tuple[tuple[str, str], ...] = ()) -> bytes:
    """The framed protobuf LogEntry; proto3 leaves default values out, fields in order."""
    body = bytearray()
    if msg.stream:
        body += _field_bytes(1, msg.stream.encode())
    if msg.time_ns:
        body += _field_varint(2, msg.time_ns)
    if msg.line:
        body += _field_bytes(3, msg.line)
    if msg.partial is not None:
        body += _field_varint(4, 1)
        meta = bytearray()
        if msg.partial.last:
            meta += _field_varint(1, 1)
        if msg.partial.id:
            meta += _field_bytes(2, msg.partial.id.encode())
        if msg.partial.ordinal:
            meta += _field_varint(3, msg.partial.ordinal)
        body += _field_bytes(5, bytes(meta))
    for key, value in attrs:
        pair = (_field_bytes(1, key.encode()) if key else b"") + (
            _field_bytes(2, value.encode()) if value else b""
        )
        body += _field_bytes(6, pair)
    size = FRAME.pack(len(body))
    return size + bytes(body) + size


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode_entry(body: bytes) -> tuple[str, int, bytes, dict[int, object]]:
    """(source, time_nano, line, partial metadata {1: last, 2: id, 3: ordinal} or {})."""
    source, time_ns, line = "", 0, b""
    partial: dict[int, object] = {}
    pos = 0
    while pos < len(body):
        key, pos = _read_varint(body, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(body, pos)
            if number == 2:
                time_ns = value - (1 << 64) if value >= 1 << 63 else value
            elif number == 4 and value and not partial:
                partial = {1: False}
        elif wire == 2:
            length, pos = _read_varint(body, pos)
            payload = body[pos : pos + length]
            pos += length
            if number == 1:
                source = payload.decode("utf-8", "replace")
            elif number == 3:
                line = payload
            elif number == 5:
                partial = _decode_partial(payload)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return source, time_ns, line, partial


def _decode_partial(payload: bytes) -> dict[int, object]:
    meta: dict[int, object] = {1: False}
    pos = 0
    while pos < len(payload):
        key, pos = _read_varint(payload, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(payload, pos)
            meta[number] = bool(value) if number == 1 else value
        elif wire == 2:
            length, pos = _read_varint(payload, pos)
            meta[number] = payload[pos : pos + length].decode("utf-8", "replace")
            pos += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return meta


class LocalCodec:
    """Whole frames only: a torn frame at the end waits for the rest (or is a crash's leftover)."""

    def decode(self, data: bytes) -> tuple[list[LogEntry], int]:
        entries = []
        pos = 0
        while pos + FRAME.size <= len(data):
            (length,) = FRAME.unpack_from(data, pos)
            end = pos + FRAME.size + length + FRAME.size
            if length > MAX_ENTRY or end > len(data):
                break
            try:
                source, time_ns, line, partial = decode_entry(data[pos + FRAME.size : end - 4])
            except (ValueError, IndexError):
                break
            pos = end
            if not partial or partial.get(1):
                line += b"\n"  # dockerd's local decoder gives complete lines their newline back
            entries.append(LogEntry(source, line, time_ns))
        return entries, pos


def log_path(directory: Path) -> Path:
    return directory / "local-logs" / "container.log"


class LocalLog(FileDriver):
    """The local driver, also the dual-logging cache behind drivers that cannot be read."""

    name = NAME
    codec = LocalCodec()

    def __init__(self, path: Path, config: Mapping[str, str], info: LogInfo | None = None) -> None:
        super().__init__()
        max_size, max_files, compress = parse_config(config)
        attrs: dict[str, str] = {}
        if info is not None:
            attrs = extra_attributes(config, info)
            if config.get("tag"):
                attrs["tag"] = parse_tag(config, info, default="")
        self._attrs = tuple(sorted(attrs.items()))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self._file = LogFile(path, max_size, max_files, compress)

    def encode(self, msg: Message) -> bytes:
        return encode_entry(msg, self._attrs)


def open_reader(path: Path, config: Mapping[str, str], live: LocalLog | None) -> FileReader:
    if live is not None:
        return live.reader()
    try:
        _, max_files, _ = parse_config(config)
    except OptionError:
        max_files = DEFAULT_MAX_FILES
    return FileReader(path, max_files, LocalCodec(), None)
