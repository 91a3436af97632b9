"""The journald driver: each line to systemd's journal over its native protocol.

A message is one datagram to /run/systemd/journal/socket made of `KEY=value\\n` fields (a value
holding a newline is sent as `KEY\\n`, its length as a little-endian uint64, the value and
`\\n`): PRIORITY (6 stdout, 3 stderr), MESSAGE, CONTAINER_ID, CONTAINER_ID_FULL, CONTAINER_NAME,
CONTAINER_TAG, IMAGE_NAME, SYSLOG_IDENTIFIER (the tag, `{{.ID}}` by default),
CONTAINER_PARTIAL_MESSAGE for a piece of a long line, and the labels/env attributes with their
names upper-cased and sanitised as dockerd does. Without the journal's socket a container cannot
start with this driver: dockerd's "journald is not enabled on this host".
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Mapping

from ._base import BaseDriver, LogInfo, Message
from ._net import Endpoint, Sender
from ._options import ATTRIBUTE_KEYS, OptionError, extra_attributes, parse_tag, unknown_key

NAME = "journald"
KEYS = ATTRIBUTE_KEYS
SOCKET = "/run/systemd/journal/socket"


class JournalUnavailable(OSError):
    """No journal socket on this host."""


def validate(config: Mapping[str, str]) -> None:
    if key := unknown_key(config, KEYS):
        raise OptionError(f"unknown log opt '{key}' for journald log driver")


def enabled(path: str | None = None) -> bool:
    """go-systemd's journal.Enabled: the socket exists (and is a socket)."""
    try:
        return stat.S_ISSOCK(os.stat(path or SOCKET).st_mode)
    except OSError:
        return False


def sanitize_key(key: str) -> str:
    """dockerd's sanitizeKeyMod: upper case, anything else than A-Z0-9 becomes '_', and no
    leading '_'."""
    out = []
    for char in key:
        if "a" <= char <= "z":
            char = char.upper()
        elif not ("A" <= char <= "Z" or "0" <= char <= "9"):
            char = "_"
        if out or char != "_":
            out.append(char)
    return "".join(out)


def field(key: str, value: str) -> bytes:
    data = value.encode()
    if b"\n" in data:
        return key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return key.encode() + b"=" + data + b"\n"


class JournaldLog(BaseDriver):
    name = NAME

    def __init__(
        self, config: Mapping[str, str], info: LogInfo, limit: int, path: str | None = None
    ) -> None:
        super().__init__()
        socket_path = path or SOCKET
        if not enabled(socket_path):
            raise JournalUnavailable("journald is not enabled on this host")
        tag = parse_tag(config, info)
        fields = {
            "CONTAINER_ID": info.short_id,
            "CONTAINER_ID_FULL": info.container_id,
            "CONTAINER_NAME": info.short_name,
            "CONTAINER_TAG": tag,
            "IMAGE_NAME": info.image_name,
            "SYSLOG_IDENTIFIER": tag,
        }
        fields |= extra_attributes(config, info, sanitize_key)
        self._fields = b"".join(field(k, v) for k, v in fields.items())
        self.sender = Sender(
            Endpoint("unixgram", path=socket_path),
            f"journald log driver of container {info.short_id}",
            limit,
        )

    async def start(self, wait: bool) -> None:
        await self.sender.start(wait=False)

    def log(self, msg: Message) -> None:
        priority = "3" if msg.stream == "stderr" else "6"
        data = field("PRIORITY", priority) + field("MESSAGE", msg.line.decode("utf-8", "replace"))
        data += self._fields
        if msg.partial is not None and not msg.partial.last:
            data += field("CONTAINER_PARTIAL_MESSAGE", "true")
        self.sender.send(data)

    def _shutdown(self) -> None:
        self.sender.close()

    async def wait_closed(self) -> None:
        await self.sender.wait_closed()
