"""What a network is in the kernel, per driver: a bridge with its gateway addresses and
iptables/ip6tables rules, or, for macvlan, only the dummy parent link when no `-o parent` was
given. Making is idempotent (daemon start makes every network again); removing tolerates what
is already gone.
"""

from __future__ import annotations

import asyncio

from . import iptables, netlink
from .types import OPT_ICC, Network


class NetworkDrivers:
    """Makes and removes networks' kernel objects with the daemon's iptables and ip6tables."""

    def __init__(self, ipt: iptables.Iptables, ip6t: iptables.Iptables, ip_forward: bool) -> None:
        self._ipt = ipt
        self._ip6t = ip6t
        self._ip_forward = ip_forward

    async def program(self, n: Network) -> None:
        """Bridge: the bridge, its gateway address and rules (and br_netfilter for icc=false).
        Macvlan: only the dummy parent when no `-o parent` was given; no rules at all."""
        assert n.subnet is not None
        if n.driver == "macvlan":
            if "parent" not in n.options:
                await asyncio.to_thread(netlink.ensure_dummy, n.parent)
            return
        gateway, prefix = str(n.subnet.gateway), n.subnet.subnet.prefixlen
        v6 = n.subnet6
        gateway6, prefix6 = (str(v6.gateway), v6.subnet.prefixlen) if v6 else ("", 0)
        await asyncio.to_thread(
            netlink.ensure_bridge, n.bridge, gateway, prefix, n.mtu, gateway6, prefix6
        )
        if self._ipt.enabled and not n.flag(OPT_ICC):
            await asyncio.to_thread(netlink.enable_bridge_netfilter)
        if self._ipt.enabled and self._ipt.hairpin and not n.internal:
            await asyncio.to_thread(netlink.enable_route_localnet, n.bridge)
        await asyncio.to_thread(self._ipt.add_bridge, n.rules(self._ipt.hairpin))
        if v6 is None:
            return
        if self._ip_forward:
            await asyncio.to_thread(netlink.enable_ipv6_forward)
        if self._ip6t.enabled:
            await asyncio.to_thread(self._ip6t.setup)
            if not n.flag(OPT_ICC):
                await asyncio.to_thread(netlink.enable_bridge_netfilter, 6)
            await asyncio.to_thread(self._ip6t.add_bridge, n.rules(False, 6))

    async def unprogram(self, n: Network) -> None:
        if n.driver == "macvlan":
            if "parent" not in n.options:
                await asyncio.to_thread(netlink.delete_link, n.parent)
            return
        if n.subnet is not None:
            await asyncio.to_thread(self._ipt.remove, n.rules(self._ipt.hairpin))
        if n.subnet6 is not None:
            await asyncio.to_thread(self._ip6t.remove, n.rules(False, 6))
        await asyncio.to_thread(netlink.delete_link, n.bridge)
