"""Legacy `--link`, pure (no I/O): parsing, the linked container's environment variables and
its /etc/hosts line, as dockerd makes them.

On the default bridge a link is a parent → child relation fixed at create: the parent gets a
hosts line for the child (alias, hostname, name) and `<ALIAS>_...` variables describing the
child's address and exposed ports. On a user-defined network `--link name:alias` is only a
name the linking container's embedded DNS resolves as `name` (dns.Member.links).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .. import errdefs
from .ports import parse_port_key


def parse_link(value: str) -> tuple[str, str]:
    """`name[:alias]` → (name, alias); also reads dockerd's stored `/child:/parent/alias`."""
    if not value:
        raise errdefs.InvalidParameter("empty string specified for links")
    parts = value.split(":")
    if len(parts) > 2:
        raise errdefs.InvalidParameter(f"bad format for links: {value}")
    if len(parts) == 1:
        return value, value
    name, alias = parts
    if name.startswith("/"):
        return name[1:], alias.rsplit("/", 1)[-1]
    return name, alias


def _port_order(key: str) -> tuple[int, str, int]:
    """dockerd's withTCPPriority: tcp ports first, then by protocol, then by number."""
    port, proto = parse_port_key(key)
    return (0 if proto == "tcp" else 1, proto, port)


def link_env(
    link_name: str, child_ip: str, child_env: Sequence[str], exposed: Iterable[str]
) -> list[str]:
    """The variables a link gives its parent (dockerd's links.ToEnv): `<ALIAS>_PORT` for the
    first port, four per port, `_START`/`_END` for runs of consecutive ports, `<ALIAS>_NAME`
    and the child's own variables as `<ALIAS>_ENV_<NAME>` (but HOME and PATH)."""
    alias = link_name.rsplit("/", 1)[-1].upper().replace("-", "_")
    ports = [parse_port_key(k) for k in sorted(exposed, key=_port_order)]
    env: list[str] = []
    start = end = ports[0] if ports else (0, "")
    for i, (num, proto) in enumerate(ports):
        if i == 0:
            env.append(f"{alias}_PORT={proto}://{child_ip}:{num}")
        prefix = f"{alias}_PORT_{num}_{proto.upper()}"
        env += [
            f"{prefix}={proto}://{child_ip}:{num}",
            f"{prefix}_ADDR={child_ip}",
            f"{prefix}_PORT={num}",
            f"{prefix}_PROTO={proto}",
        ]
        if i > 0 and num == end[0] + 1 and proto == end[1]:
            end = (num, proto)
            if i < len(ports) - 1:
                continue
        if end != start:
            first = f"{alias}_PORT_{start[0]}_{start[1].upper()}"
            env += [
                f"{first}_START={start[1]}://{child_ip}:{start[0]}",
                f"{first}_PORT_START={start[0]}",
                f"{first}_END={end[1]}://{child_ip}:{end[0]}",
                f"{first}_PORT_END={end[0]}",
            ]
        start = end = (num, proto)
    env.append(f"{alias}_NAME={link_name}")
    for entry in child_env:
        key, has_value, value = entry.partition("=")
        if has_value and key not in ("HOME", "PATH"):
            env.append(f"{alias}_ENV_{key}={value}")
    return env


def hosts_line(ip: str, alias: str, hostname: str, child_name: str) -> str:
    """The parent's /etc/hosts line for a child: its alias, hostname and (when the alias is
    not already it) its name."""
    names = f"{alias} {hostname}"
    if alias != child_name:
        names += f" {child_name}"
    return f"{ip}\t{names}\n"
