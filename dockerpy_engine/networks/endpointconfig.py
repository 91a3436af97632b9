"""A client's EndpointSettings for one network: what the network accepts (static addresses
and aliases only on user-defined networks) and what an endpoint keeps of them.
"""

from __future__ import annotations

from typing import Any

from .. import errdefs
from . import links
from .types import Network


def check_endpoint_config(n: Network, config: dict[str, Any]) -> None:
    """dockerd's checks of EndpointSettings against the network they are for."""
    ipam = config.get("IPAMConfig") or {}
    if ipam.get("IPv4Address") or ipam.get("IPv6Address"):
        if not n.user_defined:
            raise errdefs.InvalidParameter(
                "user specified IP address is supported on user defined networks only"
            )
        if not n.user_subnet:
            raise errdefs.InvalidParameter(
                "user specified IP address is supported only when connecting to networks "
                "with user configured subnets"
            )
    if config.get("Aliases") and not n.user_defined:
        raise errdefs.InvalidParameter(
            "network-scoped alias is supported only for containers in user defined networks"
        )
    for value in config.get("Links") or []:
        links.parse_link(value)


def clean_config(config: dict[str, Any]) -> dict[str, Any]:
    """The EndpointSettings fields an endpoint keeps (the rest is state, not config)."""
    keep = ("IPAMConfig", "Links", "Aliases", "DriverOpts", "MacAddress")
    return {k: config[k] for k in keep if config.get(k)}
