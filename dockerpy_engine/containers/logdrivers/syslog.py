"""The syslog driver: each line to a syslog collector, formatted as dockerd's srslog writer does.

Addresses: `udp://host[:514]`, `tcp://host[:514]`, `tcp+tls://host[:514]` (syslog-tls-ca-cert,
-cert, -key, -skip-verify), `unix:///path`, `unixgram:///path`; none means the local syslog socket
(/dev/log, /var/run/syslog, /var/run/log), which always gets the plain unix format.

`syslog-format`: "" (default) `<30>Jan  2 15:04:05 tag[pid]: line`; rfc3164
`<30>Jan  2 15:04:05 host tag[pid]: line`; rfc5424 `<30>1 2006-01-02T15:04:05Z host tag pid tag
- line` (rfc5424micro: microseconds); every message ends with "\\n", and over tcp+tls the
rfc5424 ones are octet-counted (`len msg`, RFC 5425). The priority is syslog-facility (daemon by
default) with severity info for stdout, err for stderr; `pid` is the daemon's; the tag defaults to
`{{.ID}}`. As dockerd's lazy writer, the connection is made in the background: an unreachable
collector never fails a start, and its lines are buffered up to the bound, then dropped.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from ._base import BaseDriver, LogInfo, Message
from ._net import Endpoint, Sender
from ._options import ATTRIBUTE_KEYS, OptionError, parse_tag, unknown_key

NAME = "syslog"
KEYS = (
    *ATTRIBUTE_KEYS,
    "syslog-address",
    "syslog-facility",
    "syslog-tls-ca-cert",
    "syslog-tls-cert",
    "syslog-tls-key",
    "syslog-tls-skip-verify",
    "syslog-format",
)
FACILITIES = {
    name: number << 3
    for number, name in enumerate(
        "kern user mail daemon auth syslog lpr news uucp cron authpriv ftp".split()
    )
} | {f"local{i}": (16 + i) << 3 for i in range(8)}
FORMATS = ("", "rfc3164", "rfc5424", "rfc5424micro")
LOCAL_SOCKETS = ("/dev/log", "/var/run/syslog", "/var/run/log")
SEVERITY = {"stdout": 6, "stderr": 3}  # LOG_INFO, LOG_ERR
TRANSPORTS = ("tcp", "tcp+tls", "udp", "unix", "unixgram")


def is_transport_url(address: str) -> bool:
    """dockerd's urlutil.IsTransportURL."""
    return any(address.startswith(f"{scheme}://") for scheme in TRANSPORTS)


def split_host_port(hostport: str, default_port: int | None) -> tuple[str, int]:
    """Go's net.SplitHostPort, with a default port when it is missing (as dockerd adds :514)."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise OptionError(f"address {hostport}: missing ']' in address")
        host, rest = hostport[1:end], hostport[end + 1 :]
        if not rest:
            port = None
        elif rest.startswith(":"):
            port = rest[1:]
        else:
            raise OptionError(f"address {hostport}: missing port in address")
    elif hostport.count(":") > 1:
        raise OptionError(f"address {hostport}: too many colons in address")
    elif ":" in hostport:
        host, port = hostport.split(":")
    else:
        host, port = hostport, None
    if port is None:
        if default_port is None:
            raise OptionError(f"address {hostport}: missing port in address")
        return host, default_port
    if not port.isdigit() or int(port) > 65535:
        raise OptionError(f'strconv.ParseUint: parsing "{port}": invalid syntax')
    return host, int(port)


def parse_address(address: str) -> tuple[str, str, int, str]:
    """(network, host, port, path); network "" is the local syslog socket."""
    if not address:
        return "", "", 0, ""
    if not is_transport_url(address):
        raise OptionError(f"syslog-address should be in form proto://address, got {address}")
    url = urlsplit(address)
    if url.scheme in ("unix", "unixgram"):
        try:
            os.stat(url.path)
        except OSError as exc:
            raise OptionError(f"stat {url.path}: {os.strerror(exc.errno or 0).lower()}") from None
        return url.scheme, "", 0, url.path
    host, port = split_host_port(url.netloc, 514)
    return url.scheme, host, port, ""


def parse_facility(value: str) -> int:
    if not value:
        return FACILITIES["daemon"]
    if value in FACILITIES:
        return FACILITIES[value]
    if value.lstrip("+-").isdigit() and 0 <= int(value) <= 23:
        return int(value) << 3
    raise OptionError("invalid syslog facility")


def validate(config: Mapping[str, str]) -> None:
    if key := unknown_key(config, KEYS):
        raise OptionError(f"unknown log opt '{key}' for syslog log driver")
    parse_address(config.get("syslog-address", ""))
    parse_facility(config.get("syslog-facility", ""))
    if config.get("syslog-format", "") not in FORMATS:
        raise OptionError("Invalid syslog format")


def _tls_context(config: Mapping[str, str]) -> ssl.SSLContext:
    """go-connections tlsconfig.Client: the CA to trust, an optional client pair, skip-verify
    when the option is present at all (dockerd checks only its presence)."""
    context = ssl.create_default_context(cafile=config.get("syslog-tls-ca-cert") or None)
    if config.get("syslog-tls-cert"):
        context.load_cert_chain(config["syslog-tls-cert"], config.get("syslog-tls-key") or None)
    if "syslog-tls-skip-verify" in config:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _stamp(ns: int) -> str:
    """Go's time.Stamp in local time: 'Jan _2 15:04:05'."""
    moment = datetime.fromtimestamp(ns / 1e9).astimezone()
    return f"{moment:%b} {moment.day:>2} {moment:%H:%M:%S}"


def _rfc3339(ns: int, micro: bool) -> str:
    moment = datetime.fromtimestamp(ns / 1e9).astimezone()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        digits = f"{moment.microsecond:06d}".rstrip("0")
        text += f".{digits}" if digits else ""
    offset = moment.strftime("%z")
    return text + ("Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}")


def format_message(
    fmt: str, priority: int, hostname: str, tag: str, pid: int, content: str, ns: int
) -> str:
    """dockerd's formatters (srslog's Unix and RFC 3164 ones, its own RFC 5424 ones)."""
    if not content.endswith("\n"):
        content += "\n"
    if fmt == "rfc3164":
        return f"<{priority}>{_stamp(ns)} {hostname} {tag}[{pid}]: {content}"
    if fmt in ("rfc5424", "rfc5424micro"):
        stamp = _rfc3339(ns, micro=fmt == "rfc5424micro")
        return f"<{priority}>1 {stamp} {hostname} {tag} {pid} {tag} - {content}"
    return f"<{priority}>{_stamp(ns)} {tag}[{pid}]: {content}"


class SyslogLog(BaseDriver):
    name = NAME

    def __init__(self, config: Mapping[str, str], info: LogInfo, limit: int) -> None:
        super().__init__()
        self._tag = parse_tag(config, info)
        network, host, port, path = parse_address(config.get("syslog-address", ""))
        self._facility = parse_facility(config.get("syslog-facility", ""))
        self._format = config.get("syslog-format", "")
        if self._format not in FORMATS:
            raise OptionError("Invalid syslog format")
        self._octet_counted = network == "tcp+tls" and self._format.startswith("rfc5424")
        if not network:  # the local syslog: srslog's unix formatter, whatever syslog-format says
            self._format = ""
            path = next((p for p in LOCAL_SOCKETS if os.path.exists(p)), LOCAL_SOCKETS[0])
            network = "unixgram"
        tls = _tls_context(config) if network == "tcp+tls" else None
        endpoint = Endpoint("tcp" if tls else network, host, port, path, tls)
        self._hostname = socket.gethostname()
        self._pid = os.getpid()
        self.sender = Sender(endpoint, f"syslog log driver of container {info.short_id}", limit)

    async def start(self, wait: bool) -> None:
        await self.sender.start(wait=False)  # lazy, as dockerd's syslog writer

    def log(self, msg: Message) -> None:
        self.sender.send(self.encode(msg))

    def log_many(self, msgs: list[Message]) -> None:
        self.sender.send_many([self.encode(m) for m in msgs])

    def encode(self, msg: Message) -> bytes:
        priority = self._facility | SEVERITY.get(msg.stream, 6)
        text = format_message(
            self._format,
            priority,
            self._hostname,
            self._tag,
            self._pid,
            msg.line.decode("utf-8", "replace"),
            msg.time_ns,
        )
        data = text.encode()
        if self._octet_counted:
            data = str(len(data)).encode() + b" " + data
        return data

    def _shutdown(self) -> None:
        self.sender.close()

    async def wait_closed(self) -> None:
        await self.sender.wait_closed()
