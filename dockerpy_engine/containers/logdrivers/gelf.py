"""The gelf driver: GELF 1.1 messages to Graylog (or anything speaking GELF), as dockerd sends them.

    {"version":"1.1","host":"h","short_message":"hi","timestamp":1700000000.123,"level":6,
     "_command":"echo hi","_container_id":"…","_container_name":"web","_created":"…",
     "_image_id":"sha256:…","_image_name":"busybox","_tag":"0123456789ab"}

The `_` fields are sorted (Go marshals a map), the labels/env attributes join them with a `_`
prefix, level is 6 for stdout and 3 for stderr, and the timestamp has millisecond precision.

`gelf-address` is required: `udp://host:port` sends one datagram per message, gzip-compressed by
default (gelf-compression-type gzip|zlib|none, gelf-compression-level -1…9, default 1 as
go-gelf), chunked past 1420 bytes (magic 0x1e 0x0f, an 8-byte message ID, sequence number and
count; at most 128 chunks); `tcp://host:port` sends each message uncompressed and
null-terminated, and the connection must succeed when the container starts, as go-gelf's dial.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import math
import secrets
import socket
import zlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from ._base import BaseDriver, LogInfo, Message, format_time_nano, parse_time_ns
from ._net import Endpoint, Sender, dial_error
from ._options import OptionError, extra_attributes, parse_int, parse_tag
from .jsonfile import go_json_string
from .syslog import is_transport_url, split_host_port

log = logging.getLogger(__name__)

NAME = "gelf"
KEYS = (
    "gelf-address",
    "tag",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "gelf-compression-level",
    "gelf-compression-type",
    "gelf-tcp-max-reconnect",
    "gelf-tcp-reconnect-delay",
)
CHUNK_SIZE = 1420  # go-gelf's ChunkSize
CHUNK_HEADER = 12
MAX_CHUNKS = 128
DEFAULT_LEVEL = 1  # flate.BestSpeed, go-gelf's default


def parse_address(address: str) -> tuple[str, str, int]:
    if not address:
        raise OptionError("gelf-address is a required parameter")
    if not is_transport_url(address):
        raise OptionError(f"gelf-address should be in form proto://address, got {address}")
    url = urlsplit(address)
    if url.scheme not in ("udp", "tcp"):
        raise OptionError("gelf: endpoint needs to be TCP or UDP")
    try:
        host, port = split_host_port(url.netloc, None)
    except OptionError:
        raise OptionError("gelf: please provide gelf-address as proto://host:port") from None
    return url.scheme, host, port


def validate(config: Mapping[str, str]) -> None:
    """dockerd's gelf ValidateLogOpt, messages and all (note its %q quoting)."""
    scheme, _, _ = parse_address(config.get("gelf-address", ""))
    for key in sorted(config):
        value = config[key]
        if key in ("gelf-compression-level", "gelf-compression-type"):
            if scheme != "udp":
                raise OptionError("compression is only supported on UDP")
            valid = (
                value.lstrip("+-").isdigit() and -1 <= int(value) <= 9
                if key == "gelf-compression-level"
                else value in ("gzip", "zlib", "none")
            )
            if not valid:
                raise OptionError(
                    f'unknown value "{value}" for log opt "{key}" for gelf log driver'
                )
        elif key in ("gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay"):
            if scheme != "tcp":
                raise OptionError(f'"{key}" is only valid for TCP')
            if not value.lstrip("+").isdigit():
                raise OptionError(f'"{key}" must be a positive integer')
        elif key not in KEYS:
            raise OptionError(f'unknown log opt "{key}" for gelf log driver')


def _go_number(value: float) -> bytes:
    """Go's JSON float64: shortest representation, no '.0' on whole numbers."""
    if math.isfinite(value) and value.is_integer():
        return str(int(value)).encode()
    return repr(value).encode()


def _go_value(value: object) -> bytes:
    if isinstance(value, str):
        return go_json_string(value)
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return _go_number(value)
    raise TypeError(type(value))


def raw_extra(info: LogInfo, config: Mapping[str, str]) -> bytes:
    """The `_` fields, serialised once per container (dockerd's rawExtra), without braces."""
    created = info.created
    if created:
        with contextlib.suppress(ValueError):
            created = format_time_nano(parse_time_ns(created))
    extra: dict[str, str] = {
        "_container_id": info.container_id,
        "_container_name": info.short_name,
        "_image_id": info.image_id,
        "_image_name": info.image_name,
        "_command": info.command,
        "_tag": parse_tag(config, info),
        "_created": created,
    }
    extra |= extra_attributes(config, info, lambda key: key if key.startswith("_") else "_" + key)
    return b",".join(go_json_string(k) + b":" + _go_value(extra[k]) for k in sorted(extra))


def encode(msg: Message, hostname: str, extra: bytes) -> bytes:
    """go-gelf's Message.MarshalJSONBuf: the fixed fields, then the extra ones."""
    level = 3 if msg.stream == "stderr" else 6
    timestamp = (msg.time_ns // 1_000_000) / 1000.0
    body = (
        b'{"version":"1.1","host":'
        + go_json_string(hostname)
        + b',"short_message":'
        + go_json_string(msg.line.decode("utf-8", "replace"))
        + b',"timestamp":'
        + _go_number(timestamp)
        + b',"level":'
        + str(level).encode()
    )
    return body + (b"," + extra if extra else b"") + b"}"


def compress(data: bytes, kind: str, level: int) -> bytes:
    if kind == "none":
        return data
    if kind == "zlib":
        return zlib.compress(data, level)
    return gzip.compress(data, compresslevel=level if level >= 0 else 6, mtime=0)


def chunks(data: bytes) -> list[bytes]:
    """go-gelf's UDP chunking; a message needing more than 128 chunks is refused."""
    if len(data) <= CHUNK_SIZE:
        return [data]
    size = CHUNK_SIZE - CHUNK_HEADER
    count = (len(data) + size - 1) // size
    if count > MAX_CHUNKS:
        raise ValueError(f"msg too large, would need {count} chunks")
    message_id = secrets.token_bytes(8)
    return [
        b"\x1e\x0f" + message_id + bytes([seq, count]) + data[seq * size : (seq + 1) * size]
        for seq in range(count)
    ]


class GelfLog(BaseDriver):
    name = NAME

    def __init__(self, config: Mapping[str, str], info: LogInfo, limit: int) -> None:
        super().__init__()
        scheme, host, port = parse_address(config.get("gelf-address", ""))
        self._udp = scheme == "udp"
        self._compression = config.get("gelf-compression-type", "gzip")
        if self._compression not in ("gzip", "zlib", "none"):
            raise OptionError(f'gelf: invalid compression type "{self._compression}"')
        self._level = DEFAULT_LEVEL
        if "gelf-compression-level" in config:
            try:
                self._level = parse_int(config["gelf-compression-level"])
            except OptionError as exc:
                raise OptionError(
                    f"gelf: invalid compression level {config['gelf-compression-level']}, err {exc}"
                ) from None
        delay = 1.0
        if "gelf-tcp-reconnect-delay" in config:
            delay = float(parse_int(config["gelf-tcp-reconnect-delay"]))
        self._hostname = socket.gethostname()
        self._extra = raw_extra(info, config)
        self._address = f"{host}:{port}"
        self.sender = Sender(
            Endpoint(scheme, host, port),
            f"gelf log driver of container {info.short_id}",
            limit,
            retry_delay=max(delay, 0.1),
        )

    async def start(self, wait: bool) -> None:
        try:
            await self.sender.start(wait=wait)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"gelf: cannot connect to GELF endpoint: {self._address} "
                f"{dial_error(self.sender.endpoint, exc)}"
            ) from None

    def log_many(self, msgs: list[Message]) -> None:
        if self._udp:
            for msg in msgs:
                self.log(msg)
        else:
            self.sender.send_many([encode(m, self._hostname, self._extra) + b"\0" for m in msgs])

    def log(self, msg: Message) -> None:
        body = encode(msg, self._hostname, self._extra)
        if not self._udp:
            self.sender.send(body + b"\0")
            return
        try:
            pieces = chunks(compress(body, self._compression, self._level))
        except ValueError as exc:
            log.warning("%s: gelf: cannot send GELF message: %s", self.sender.name, exc)
            return
        for piece in pieces:
            self.sender.send(piece)

    def _shutdown(self) -> None:
        self.sender.close()

    async def wait_closed(self) -> None:
        await self.sender.wait_closed()
