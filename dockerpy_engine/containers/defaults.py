"""What the daemon's configuration gives every container that does not say otherwise:
dockerd's `default-shm-size`, `default-ulimits`, `dns`, `dns-opts` and `dns-search`.

dockerd applies them at different moments, and so do we: the shm size is written into the
HostConfig at create (inspect shows it), the ulimits are merged into the spec at each start
(the container's own win, by name; inspect shows only its own), and the DNS settings are
read when resolv.conf is written, wherever the container gave none of its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errdefs import InvalidParameter
from .limits import rlimit
from .logdrivers._options import OptionError, ram_in_bytes
from .spec import DEFAULT_SHM_SIZE


class DefaultsError(ValueError):
    """A default the configuration gives is malformed (the daemon refuses to start)."""


@dataclass(frozen=True, slots=True)
class ContainerDefaults:
    shm_size: int = DEFAULT_SHM_SIZE
    ulimits: tuple[dict[str, Any], ...] = ()  # HostConfig.Ulimits entries, by name
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()

    def merged_ulimits(self, own: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
        """dockerd's mergeUlimits: the container's entries, then the defaults it lacks."""
        mine = [dict(u) for u in own or ()]
        names = {u.get("Name") for u in mine}
        return mine + [dict(u) for u in self.ulimits if u["Name"] not in names]

    def dns_settings(self, hc: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
        """The HostConfig's Dns, DnsSearch and DnsOptions, each the daemon's where empty."""
        return (
            list(hc.get("Dns") or self.dns),
            list(hc.get("DnsSearch") or self.dns_search),
            list(hc.get("DnsOptions") or self.dns_options),
        )


def shm_size(value: object) -> int:
    """`default-shm-size`: bytes, or a go-units RAM size ("64M", as opts.MemBytes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        try:
            size = ram_in_bytes(value)
        except OptionError as exc:
            raise DefaultsError(f"invalid default-shm-size: {exc}") from None
    else:
        raise DefaultsError(f"invalid default-shm-size: {value!r}")
    if size <= 0:
        raise DefaultsError(f"invalid default-shm-size: {value!r}")
    return size


def ulimits(value: object) -> tuple[dict[str, Any], ...]:
    """`default-ulimits`: daemon.json's {"nofile": {"Name": "nofile", "Hard": 64000, "Soft":
    64000}} map, or the flag's `nofile=1024[:2048]` strings."""
    entries: list[dict[str, Any]] = []
    if isinstance(value, Mapping):
        for name, limit in value.items():
            if not isinstance(limit, Mapping):
                raise DefaultsError(f"invalid default-ulimits entry for {name}: {limit!r}")
            soft, hard = limit.get("Soft"), limit.get("Hard")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (soft, hard)):
                raise DefaultsError(f"invalid default-ulimits entry for {name}: {limit!r}")
            entries.append({"Name": limit.get("Name") or name, "Hard": hard, "Soft": soft})
    elif isinstance(value, list):
        entries = [_ulimit_flag(str(item)) for item in value]
    else:
        raise DefaultsError(f"invalid default-ulimits: {value!r}")
    for entry in entries:
        try:
            rlimit(entry)  # a container's own Ulimits entry's checks
        except InvalidParameter as exc:
            raise DefaultsError(exc.message) from None
    return tuple(entries)


def _ulimit_flag(text: str) -> dict[str, Any]:
    """go-units ParseUlimit: `name=soft[:hard]`."""
    name, sep, limits = text.partition("=")
    if not sep:
        raise DefaultsError(f"invalid ulimit argument: {text}")
    soft_text, _, hard_text = limits.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if hard_text else soft
    except ValueError:
        raise DefaultsError(f"invalid ulimit argument: {text}") from None
    return {"Name": name, "Hard": hard, "Soft": soft}


def dns_servers(value: object) -> tuple[str, ...]:
    """`dns`: IP addresses only (opts.ValidateIPAddress)."""
    servers = _strings("dns", value)
    for server in servers:
        try:
            ipaddress.ip_address(server.strip())
        except ValueError:
            raise DefaultsError(f"{server} is not an ip address") from None
    return tuple(s.strip() for s in servers)


def strings(key: str, value: object) -> tuple[str, ...]:
    return tuple(_strings(key, value))


def _strings(key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DefaultsError(f"invalid {key}: must be a list of strings")
    return list(value)
