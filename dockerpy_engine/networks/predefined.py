"""The predefined networks (host, none and the default bridge), made at daemon start and
brought in line with daemon.json (`bridge`, `bip`, `ipv6`, `fixed-cidr-v6`) when it changed.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any

from .. import errdefs
from ..containers.types import now_rfc3339
from .ipam import Subnet, pick_subnet, version_of
from .table import NetworkTable
from .types import (
    OPT_HOST_IP,
    OPT_ICC,
    OPT_MASQ,
    OPT_MTU,
    OPT_NAME,
    OPT_PREFIX,
    Network,
    NetworkOptions,
)


def ensure_predefined(table: NetworkTable, options: NetworkOptions) -> None:
    by_name = {n.name: n for n in table.networks.values()}
    for name, driver in (("host", "host"), ("none", "null")):
        if name not in by_name:
            table.add(Network(secrets.token_hex(32), name, driver, now_rfc3339()))
    if options.bridge == "none":
        return
    bridge_options = {
        OPT_PREFIX + "default_bridge": "true",
        OPT_ICC: "true",
        OPT_MASQ: "true",
        OPT_HOST_IP: "0.0.0.0",
        OPT_NAME: options.bridge,
        OPT_MTU: "1500",
    }
    if options.bip:
        iface = ipaddress.IPv4Interface(options.bip)
        configs = [{"Subnet": str(iface.network), "Gateway": str(iface.ip)}]
    else:
        configs = [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    if options.ipv6:
        configs.append(_default_bridge_v6(table, options))
    existing = by_name.get("bridge")
    if existing is not None:
        if (existing.ipam_config, existing.options, existing.enable_ipv6) == (
            configs,
            bridge_options,
            options.ipv6,
        ):
            return
        existing.ipam_config = configs  # bip/bridge/ipv6 changed in daemon.json
        existing.options = bridge_options
        existing.enable_ipv6 = options.ipv6
        table.rows.save_network(existing.to_record())
        return
    n = Network(secrets.token_hex(32), "bridge", "bridge", now_rfc3339(),
                enable_ipv6=options.ipv6, options=bridge_options,
                ipam_config=configs)  # fmt: skip
    table.add(n)


def _default_bridge_v6(table: NetworkTable, options: NetworkOptions) -> dict[str, Any]:
    """The default bridge's IPv6 config: `fixed-cidr-v6`, else the first subnet of the
    IPv6 pools no other network's config has (dockerd 28, moby#47990)."""
    cidr = options.fixed_cidr_v6
    if not cidr:
        taken = [
            ipaddress.ip_network(str(c["Subnet"]), strict=False)
            for n in table.networks.values()
            if n.name != "bridge"
            for c in n.ipam_config
            if c.get("Subnet")
        ]
        cidr = str(pick_subnet(options.pools6, taken, 6))
    if version_of({"Subnet": cidr}) != 6:
        raise errdefs.InvalidParameter(f"fixed-cidr-v6 {cidr} is not an IPv6 subnet")
    return Subnet.from_config({"Subnet": cidr}).to_config()
