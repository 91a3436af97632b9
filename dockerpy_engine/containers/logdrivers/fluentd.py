"""The fluentd driver: fluentd's forward protocol, each line one MessagePack event.

An event is what fluent-logger-golang sends for dockerd: `[tag, time, record, option]`, where
time is integer seconds (an EventTime, ext type 0, with fluentd-sub-second-precision), option is
`{}` (or `{"chunk": id}` with fluentd-request-ack; acks are read and discarded, so delivery stays
at most once) and record is `{"container_id", "container_name" (with its "/"), "source", "log"}`
plus the labels/env attributes and, for a piece of a long line, partial_message, partial_id,
partial_ordinal and partial_last. The tag defaults to `{{.ID}}`.

`fluentd-address`: `host[:24224]`, `tcp://host:port` or `unix:///path` (127.0.0.1:24224 by
default). Without fluentd-async the collector must accept the connection when the container
starts (dockerd's synchronous fluent.New dials); with it, connecting happens in the background.
"""

from __future__ import annotations

import base64
import re
import secrets
import struct
from collections.abc import Mapping
from urllib.parse import urlsplit

import msgpack

from ._base import BaseDriver, LogInfo, Message
from ._net import Endpoint, Sender, dial_error
from ._options import (
    ATTRIBUTE_KEYS,
    OptionError,
    extra_attributes,
    parse_bool,
    parse_tag,
    ram_in_bytes,
    unknown_key,
)
from .syslog import is_transport_url

NAME = "fluentd"
KEYS = (
    *ATTRIBUTE_KEYS,
    "fluentd-address",
    "fluentd-async",
    "fluentd-async-connect",
    "fluentd-buffer-limit",
    "fluentd-max-retries",
    "fluentd-request-ack",
    "fluentd-retry-wait",
    "fluentd-sub-second-precision",
)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 24224
DEFAULT_BUFFER_LIMIT = 1024 * 1024

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}  # fmt: skip


_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)([^\d.]*)")


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds."""
    body = text[1:] if text[:1] in ("+", "-") else text
    sign = -1.0 if text.startswith("-") else 1.0
    if body == "0":
        return 0.0
    if not body:
        raise OptionError(f'time: invalid duration "{text}"')
    total = 0.0
    pos = 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise OptionError(f'time: invalid duration "{text}"')
        number, unit = match.groups()
        if not unit:
            raise OptionError(f'time: missing unit in duration "{text}"')
        if unit not in _DURATION_UNITS:
            raise OptionError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(number) * _DURATION_UNITS[unit]
        pos = match.end()
    return sign * total


def parse_address(address: str) -> Endpoint:
    if not address:
        return Endpoint("tcp", DEFAULT_HOST, DEFAULT_PORT)
    network, given = "tcp", address
    if is_transport_url(address):
        url = urlsplit(address)
        if url.scheme in ("unix", "unixgram"):
            return Endpoint(url.scheme, path=url.path)
        network, address = url.scheme, url.netloc
    host, sep, port = address.rpartition(":") if ":" in address else (address, "", "")
    if not sep:
        return Endpoint(network, host, DEFAULT_PORT)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise OptionError(
            f"invalid fluentd-address {given}: address {address}: too many colons in address"
        )
    if not port.isdigit():
        raise OptionError(
            f'invalid fluentd-address {given}: strconv.Atoi: parsing "{port}": invalid syntax'
        )
    return Endpoint(network, host, int(port))


def parse_config(config: Mapping[str, str]) -> dict[str, object]:
    """dockerd's fluentd parseConfig, with its messages."""
    endpoint = parse_address(config.get("fluentd-address", ""))
    limit = DEFAULT_BUFFER_LIMIT
    if config.get("fluentd-buffer-limit"):
        limit = ram_in_bytes(config["fluentd-buffer-limit"])
    retry_wait = 1.0
    if config.get("fluentd-retry-wait"):
        retry_wait = parse_duration(config["fluentd-retry-wait"])
    if config.get("fluentd-max-retries"):
        value = config["fluentd-max-retries"]
        if not value.isdigit():
            raise OptionError(f'strconv.ParseUint: parsing "{value}": invalid syntax')
    if config.get("fluentd-async") and config.get("fluentd-async-connect"):
        raise OptionError(
            "conflicting options: cannot specify both 'fluentd-async' and "
            "'fluentd-async-connect"  # sic: dockerd's message lacks the closing quote
        )
    flags = {}
    for key in ("fluentd-async", "fluentd-async-connect", "fluentd-sub-second-precision",
                "fluentd-request-ack"):  # fmt: skip
        flags[key] = parse_bool(config[key]) if config.get(key) else False
    return {
        "endpoint": endpoint,
        "limit": limit,
        "retry_wait": retry_wait,
        "async": flags["fluentd-async"] or flags["fluentd-async-connect"],
        "sub_second": flags["fluentd-sub-second-precision"],
        "request_ack": flags["fluentd-request-ack"],
    }


def validate(config: Mapping[str, str]) -> None:
    if key := unknown_key(config, KEYS):
        raise OptionError(f"unknown log opt '{key}' for fluentd log driver")
    parse_config(config)


def event_time(ns: int) -> msgpack.ExtType:
    """fluentd's EventTime: ext type 0, seconds and nanoseconds as big-endian uint32s."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanos))


def chunk_id(seconds: int) -> str:
    """fluent-logger-golang's ack id: base64 of the time and a random number, little-endian."""
    return base64.b64encode(struct.pack("<qQ", seconds, secrets.randbits(64))).decode()


class FluentdLog(BaseDriver):
    name = NAME

    def __init__(self, config: Mapping[str, str], info: LogInfo, limit: int | None) -> None:
        super().__init__()
        parsed = parse_config(config)
        self._tag = parse_tag(config, info)
        self._extra = extra_attributes(config, info)
        self._container_id = info.container_id
        self._container_name = info.name
        self._async = bool(parsed["async"])
        self._sub_second = bool(parsed["sub_second"])
        self._request_ack = bool(parsed["request_ack"])
        self._packer = msgpack.Packer(use_bin_type=True)
        self.sender = Sender(
            parsed["endpoint"],  # type: ignore[arg-type]
            f"fluentd log driver of container {info.short_id}",
            limit if limit else int(parsed["limit"]),  # type: ignore[call-overload]
            retry_delay=max(float(parsed["retry_wait"]), 0.1),  # type: ignore[arg-type]
            on_data=lambda data: None,  # acks (fluentd-request-ack) are not waited for
        )

    async def start(self, wait: bool) -> None:
        try:
            await self.sender.start(wait=wait and not self._async)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(dial_error(self.sender.endpoint, exc)) from None

    def encode(self, msg: Message) -> bytes:
        record: dict[str, str] = {
            "container_id": self._container_id,
            "container_name": self._container_name,
            "source": msg.stream,
            "log": msg.line.decode("utf-8", "replace"),
        }
        record.update(self._extra)
        if msg.partial is not None:
            record["partial_message"] = "true"
            record["partial_id"] = msg.partial.id
            record["partial_ordinal"] = str(msg.partial.ordinal)
            record["partial_last"] = "true" if msg.partial.last else "false"
        seconds = msg.time_ns // 1_000_000_000
        when: object = event_time(msg.time_ns) if self._sub_second else seconds
        option = {"chunk": chunk_id(seconds)} if self._request_ack else {}
        return self._packer.pack([self._tag, when, record, option])

    def log(self, msg: Message) -> None:
        self.sender.send(self.encode(msg))

    def log_many(self, msgs: list[Message]) -> None:
        self.sender.send_many([self.encode(m) for m in msgs])

    def _shutdown(self) -> None:
        self.sender.close()

    async def wait_closed(self) -> None:
        await self.sender.wait_closed()
