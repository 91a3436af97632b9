"""docker port: a container's published ports, from its NetworkSettings.Ports."""

from __future__ import annotations

from cli.actions._common import natural_key
from cli.api import CLIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cli.env import Env

__all__ = ["port"]


def _join_host_port(binding: dict[str, Any]) -> str:
    """net.JoinHostPort: IPv6 addresses in brackets."""
    ip = binding.get("HostIp") or ""
    host = f"[{ip}]" if ":" in ip else ip
    return f"{host}:{binding.get('HostPort', '')}"


def port(env: Env, container: str, private_port: str = "") -> int:
    """docker port: every published mapping (`80/tcp -> 0.0.0.0:8080`), or the host addresses
    of one private port (tcp unless `/PROTO` says otherwise), naturally sorted."""
    info = env.api.get(f"/containers/{quote(container)}/json")
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    if private_port:
        number, _, proto = private_port.partition("/")
        if not number.isdigit() or int(number) >= 1 << 16:
            reason = "value out of range" if number.isdigit() else "invalid syntax"
            raise CLIError(
                f'Error: invalid port ({number}): strconv.ParseUint: parsing "{number}": {reason}'
            )
        bindings = ports.get(f"{number}/{proto or 'tcp'}") or []
        if not bindings:
            raise CLIError(f"Error: No public port '{private_port}' published for {container}")
        lines = [_join_host_port(b) for b in bindings]
    else:
        lines = [
            f"{key} -> {_join_host_port(b)}"
            for key, bindings in ports.items()
            for b in bindings or []
        ]
    if lines:
        env.out.write("\n".join(sorted(lines, key=natural_key)) + "\n")
    return 0
