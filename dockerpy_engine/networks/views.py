"""What the API shows of networks: GET /networks (with its filters) and inspect, and the
network parts of a container's inspect (NetworkSettings) and of `docker ps` rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from .. import errdefs
from ..containers.types import Container
from ..filters import labels_match
from . import ports
from .dnsmembers import endpoint_dns_names
from .table import NetworkTable
from .types import Endpoint, Network


class NetworkViews:
    """Reads the table only."""

    def __init__(self, table: NetworkTable) -> None:
        self._table = table

    def list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        for key in filters:
            if key not in ("driver", "id", "label", "name", "scope", "type", "dangling"):
                raise errdefs.InvalidParameter(f"invalid filter '{key}'")
        out = []
        for n in sorted(self._table.networks.values(), key=lambda n: n.created):
            if self._matches(n, filters):
                out.append(self.inspect_network(n, containers=False))
        return out

    def _matches(self, n: Network, filters: dict[str, list[str]]) -> bool:
        f = filters
        if f.get("driver") and n.driver not in f["driver"]:
            return False
        if f.get("id") and not any(v in n.id for v in f["id"]):
            return False
        if f.get("name") and not any(v in n.name for v in f["name"]):
            return False
        if f.get("scope") and "local" not in f["scope"]:
            return False
        if f.get("type"):
            kind = "custom" if n.user_defined else "builtin"
            for v in f["type"]:
                if v not in ("custom", "builtin"):
                    raise errdefs.InvalidParameter(f"invalid filter: 'type'='{v}'")
            if kind not in f["type"]:
                return False
        if f.get("dangling"):
            value = f["dangling"][0].lower()
            if value not in ("true", "false", "1", "0"):
                raise errdefs.InvalidParameter(f"invalid filter 'dangling={value}'")
            dangling = n.user_defined and not any(k[1] == n.id for k in self._table.endpoints)
            if dangling != (value in ("true", "1")):
                return False
        return labels_match(n.labels, f.get("label") or [])

    def inspect(self, ref: str, names: Callable[[str], str]) -> dict[str, Any]:
        n = self._table.get(ref)
        data = self.inspect_network(n, containers=True)
        for ep in self._table.live(n):
            data["Containers"][ep.container_id] = {
                "Name": names(ep.container_id),
                "EndpointID": ep.endpoint_id,
                "MacAddress": ep.mac,
                "IPv4Address": f"{ep.ip}/{ep.prefixlen}" if ep.ip else "",
                "IPv6Address": f"{ep.ip6}/{ep.prefixlen6}" if ep.ip6 else "",
            }
        return data

    def inspect_network(self, n: Network, containers: bool) -> dict[str, Any]:
        return {
            "Name": n.name,
            "Id": n.id,
            "Created": n.created,
            "Scope": "local",
            "Driver": n.driver,
            "EnableIPv4": True,
            "EnableIPv6": n.enable_ipv6,
            "IPAM": {
                "Driver": "default",
                "Options": n.ipam_options,
                "Config": [dict(c) for c in n.ipam_config],
            },
            "Internal": n.internal,
            "Attachable": n.attachable,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": {},
            "Options": dict(n.options),
            "Labels": dict(n.labels),
        }

    def endpoint_settings(self, c: Container, ep: Endpoint) -> dict[str, Any]:
        n = self._table.networks[ep.network_id]
        aliases = list(ep.config.get("Aliases") or []) or None
        dns_names = endpoint_dns_names(c, ep) if n.user_defined and ep.endpoint_id else None
        return {
            "IPAMConfig": ep.config.get("IPAMConfig") or None,
            "Links": ep.config.get("Links") or None,
            "Aliases": aliases,
            "MacAddress": ep.mac,
            "DriverOpts": ep.config.get("DriverOpts") or None,
            "GwPriority": 0,
            "NetworkID": n.id,
            "EndpointID": ep.endpoint_id,
            "Gateway": ep.gateway,
            "IPAddress": ep.ip,
            "IPPrefixLen": ep.prefixlen,
            "IPv6Gateway": ep.gateway6,
            "GlobalIPv6Address": ep.ip6,
            "GlobalIPv6PrefixLen": ep.prefixlen6,
            "DNSNames": dns_names,
        }

    def settings(self, c: Container, base: dict[str, Any]) -> dict[str, Any]:
        """Container inspect's NetworkSettings, filled in over `base` (views.inspect's)."""
        out = dict(base)
        eps = self._table.of(c.id)
        out["Networks"] = {
            self._table.networks[ep.network_id].name: self.endpoint_settings(c, ep) for ep in eps
        }
        live = [ep for ep in eps if ep.endpoint_id]
        if live and c.state.running:
            out["SandboxID"] = hashlib.sha256(f"sandbox:{c.id}".encode()).hexdigest()
            out["SandboxKey"] = live[0].netns
            keys = ports.exposed_ports(c.config, c.host_config)
            bindings = [b for ep in live for b in ep.bindings()]
            out["Ports"] = ports.inspect_ports(keys, bindings)
        default = next(
            (ep for ep in eps if self._table.networks[ep.network_id].default_bridge), None
        )
        if default is not None and default.endpoint_id:
            out.update(
                EndpointID=default.endpoint_id,
                Gateway=default.gateway,
                IPAddress=default.ip,
                IPPrefixLen=default.prefixlen,
                MacAddress=default.mac,
                GlobalIPv6Address=default.ip6,
                GlobalIPv6PrefixLen=default.prefixlen6,
                IPv6Gateway=default.gateway6,
            )
        return out

    def summary(self, c: Container, row: dict[str, Any]) -> None:
        """`docker ps`: the Networks map and, while running, the Ports."""
        eps = self._table.of(c.id)
        row["NetworkSettings"] = {
            "Networks": {
                self._table.networks[ep.network_id].name: self.endpoint_settings(c, ep)
                for ep in eps
            }
        }
        if c.state.running:
            keys = ports.exposed_ports(c.config, c.host_config)
            bindings = [b for ep in eps if ep.endpoint_id for b in ep.bindings()]
            row["Ports"] = ports.summary_ports(keys, bindings)

    def port_bindings(self, c: Container) -> list[ports.Binding]:
        return [b for ep in self._table.of(c.id) if ep.endpoint_id for b in ep.bindings()]
