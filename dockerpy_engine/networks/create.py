"""A new network from a NetworkCreateRequest: dockerd's checks of the request and of the
driver's options, its subnets (the ones asked for, else the first free ones of the pools),
then its record stored before its kernel objects are made (a daemon killed in between makes
them at start).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from .. import errdefs
from ..containers.types import now_rfc3339
from . import netlink
from .drivers import NetworkDrivers
from .ipam import IPNetwork, Pool, Subnet, pick_subnet, version_of
from .table import NetworkTable
from .types import ADDRESSED, MACVLAN_MODES, Network, NetworkOptions


async def create_network(
    body: dict[str, Any], table: NetworkTable, daemon: NetworkOptions, drivers: NetworkDrivers
) -> Network:
    """The network checked, stored and made in the kernel; the caller publishes the event."""
    name = str(body.get("Name") or "")
    if not name:
        raise errdefs.InvalidParameter("network name cannot be empty")
    driver = str(body.get("Driver") or "bridge")
    if driver in ("host", "null"):
        raise errdefs.Forbidden(f'only one instance of "{driver}" network is allowed')
    if driver not in ADDRESSED:
        raise errdefs.NotFound(f'plugin "{driver}" not found')
    if body.get("EnableIPv4") is False:
        raise errdefs.Unimplemented("IPv6-only networks are not supported yet")
    enable_ipv6 = bool(body.get("EnableIPv6"))
    async with table.lock:
        if any(n.name == name for n in table.networks.values()):
            raise errdefs.Conflict(f"network with name {name} already exists")
        ipam = body.get("IPAM") or {}
        if (ipam.get("Driver") or "default") != "default":
            raise errdefs.NotFound(f'plugin "{ipam["Driver"]}" not found')
        configs = [c for c in ipam.get("Config") or [] if c]
        v4 = [c for c in configs if version_of(c) == 4]
        v6 = [c for c in configs if version_of(c) == 6]
        for version, given in ((4, v4), (6, v6)):
            if len(given) > 1:
                raise errdefs.Unimplemented(
                    f"more than one IPv{version} subnet is not supported yet"
                )
        taken = [s.subnet for n in table.networks.values() for s in n.subnets()]
        subnet = _subnet_for(v4, daemon.pools, taken, 4)
        # without EnableIPv6 an IPv6 subnet is kept in the config but unused (dockerd 28)
        subnet6 = _subnet_for(v6, daemon.pools6, taken, 6) if enable_ipv6 else None
        ipam_config = [s.to_config() for s in (subnet, subnet6) if s is not None]
        if not enable_ipv6:
            ipam_config += [dict(c) for c in v6]
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        n = Network(
            id=secrets.token_hex(32),
            name=name,
            driver=driver,
            created=now_rfc3339(),
            internal=bool(body.get("Internal")),
            attachable=bool(body.get("Attachable")),
            enable_ipv6=enable_ipv6,
            options=options,
            labels=dict(body.get("Labels") or {}),
            ipam_options=dict(ipam.get("Options") or {}),
            ipam_config=ipam_config,
            user_subnet=any(c.get("Subnet") for c in configs),
            subnet=subnet,
            subnet6=subnet6,
        )
        if driver == "macvlan":
            await _check_macvlan(n, table)
        else:
            _check_bridge_name(n, table)
        # stored first: a daemon killed while it programs the bridge makes it at start
        table.rows.save_network(n.to_record())
        try:
            await drivers.program(n)
        except Exception as exc:
            await drivers.unprogram(n)
            table.rows.delete_network(n.id)
            raise errdefs.System(f"failed to create network {name}: {exc}") from None
        table.networks[n.id] = n
    return n


def _subnet_for(
    configs: list[dict[str, Any]], pools: tuple[Pool, ...], taken: list[IPNetwork], version: int
) -> Subnet:
    """A new network's subnet of one IP version: the one asked for (not overlapping any other
    network's), else the first free one of the pools."""
    if configs and configs[0].get("Subnet"):
        subnet = Subnet.from_config(configs[0])
        if any(subnet.subnet.overlaps(t) for t in taken if t.version == version):  # type: ignore[arg-type]
            raise errdefs.Forbidden("Pool overlaps with other one on this address space")
        return subnet
    if configs and (configs[0].get("IPRange") or configs[0].get("Gateway")):
        raise errdefs.InvalidParameter(
            "invalid pool request: ip-range or gateway requires a subnet"
        )
    return Subnet.from_config({"Subnet": str(pick_subnet(pools, taken, version))})


def _check_bridge_name(n: Network, table: NetworkTable) -> None:
    bridge = n.bridge
    if len(bridge) > 15:
        raise errdefs.InvalidParameter(f"bridge name {bridge} is too long")
    if any(o.bridge == bridge for o in table.networks.values() if o.driver == "bridge"):
        raise errdefs.Forbidden(f"bridge name {bridge} is already in use")


async def _check_macvlan(n: Network, table: NetworkTable) -> None:
    """dockerd's macvlan checks: a valid mode, a parent that exists (VLAN sub-interfaces
    are not made here) and is not loopback, passthru only on a parent of its own."""
    mode = n.macvlan_mode
    if mode not in MACVLAN_MODES:
        raise errdefs.InvalidParameter(
            f"requested macvlan mode '{mode}' is not valid, 'bridge' mode is the macvlan "
            "driver default"
        )
    parent = n.parent
    if parent == "lo":
        raise errdefs.InvalidParameter("loopback interface is not a valid macvlan parent link")
    if "parent" in n.options and not await asyncio.to_thread(netlink.link_exists, parent):
        base, dot, _ = parent.partition(".")
        if not dot:
            raise errdefs.InvalidParameter(
                f"invalid subinterface vlan name {parent}, example formatting is eth0.10"
            )
        if not await asyncio.to_thread(netlink.link_exists, base):
            raise errdefs.InvalidParameter(f"-o parent interface was not found on the host: {base}")
        raise errdefs.Unimplemented(f"VLAN sub-interfaces are not supported yet: {parent}")
    for other in table.networks.values():
        if other.driver != "macvlan" or other.parent != parent:
            continue
        if mode == "passthru":
            raise errdefs.Forbidden(
                f"cannot use mode passthru, macvlan network {other.id} is already using "
                f"parent interface {parent}"
            )
        if other.macvlan_mode == "passthru":
            raise errdefs.Forbidden(
                f"macvlan network {other.id} is already using parent interface {parent} "
                "in mode passthru"
            )
