"""Making a container's endpoint live and undoing it: its addresses from IPAM, its veth (or
macvlan link) into the task's network namespace, its published ports, its /etc/hosts lines,
its legacy links and its embedded-DNS names.

Crash safety: the endpoint is stored *pending*, with the addresses, link names and ports it is
about to take, before any veth or rule exists, and marked pending again before they are torn
down; a restart undoes a pending endpoint (NetworkService.restore).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets

from .. import errdefs
from ..containers.types import Container
from ..events import EventBus
from . import netlink
from .dnsmembers import DNSMembers
from .etchosts import edit_hosts
from .ipam import mac_for
from .linking import LegacyLinks
from .publishing import PortPublisher
from .table import NetworkTable
from .types import ADDRESSED, Endpoint, Network


class Attacher:
    """Every step of `attach` is recorded on the endpoint as it is taken, so `release` undoes
    exactly what is there, whether `attach` finished, failed half way or a kill cut it short."""

    def __init__(
        self,
        table: NetworkTable,
        events: EventBus,
        ports: PortPublisher,
        dns: DNSMembers,
        links: LegacyLinks,
    ) -> None:
        self._table = table
        self._events = events
        self._ports = ports
        self._dns = dns
        self._links = links

    async def attach(self, c: Container, ep: Endpoint, pid: int) -> None:
        n = self._table.networks.get(ep.network_id)
        if n is None:
            raise errdefs.NotFound(f"network {ep.network_id} not found")
        if ep.endpoint_id:  # stale (the daemon died before the exit was seen)
            await self.release(ep)
        ep.endpoint_id = secrets.token_hex(32)
        ep.netns = f"/proc/{pid}/ns/net"
        if n.driver not in ADDRESSED:
            self._table.save(ep)
            self._events.publish(
                "network", "connect", n.id, {"container": c.id, "name": n.name, "type": n.driver}
            )
            return
        assert n.subnet is not None
        try:
            await self._allocate(c, ep, n)
            index = len([e for e in self._table.of(c.id) if e.ifname])
            ep.ifname = f"eth{index}"
            suffix = hashlib.sha256((c.id + n.id).encode()).hexdigest()[:7]
            ep.host_ifname = ("mv" if n.driver == "macvlan" else "veth") + suffix
            if ep.primary and n.driver != "macvlan":  # no published ports on macvlan
                await self._ports.publish(c, ep, n)
            ep.pending = True  # what a restart must undo if the daemon dies from here on
            self._table.save(ep)
            addressing = netlink.Addressing(
                ifname=ep.ifname,
                mac=ep.mac,
                address=ep.ip,
                prefixlen=ep.prefixlen,
                gateway=str(n.subnet.gateway),
                default_route=ep.primary and not n.internal,
                address6=ep.ip6,
                prefixlen6=ep.prefixlen6,
                gateway6=str(n.subnet6.gateway) if n.subnet6 is not None else "",
            )
            if n.driver == "macvlan":  # no host side and no published ports (dockerd's)
                await asyncio.to_thread(
                    netlink.attach_macvlan, n.parent, ep.host_ifname, n.macvlan_mode, ep.netns,
                    addressing,
                )  # fmt: skip
            else:
                await asyncio.to_thread(
                    netlink.attach, n.bridge, ep.host_ifname, ep.netns, addressing, n.mtu
                )
            if ep.ports:
                await self._ports.rules(n, ep, True)
            if ep.primary:
                hostname = c.config.get("Hostname") or c.id[:12]
                ep.hosts_line = "".join(f"{ip}\t{hostname}\n" for ip in (ep.ip, ep.ip6) if ip)
                ep.hosts_path = c.hosts_path
                await asyncio.to_thread(edit_hosts, c.hosts_path, ep.hosts_lines,
                                        ep.hosts_lines)  # fmt: skip
                if ep.links:
                    await self._links.write_hosts(ep)
            if n.default_bridge:
                await self._links.child_attached(c.id, n)
            if n.user_defined:
                await self._dns.join(c, ep)
        except BaseException as exc:
            await self.release(ep)
            if isinstance(exc, errdefs.EngineError):
                raise
            if isinstance(exc, Exception):
                raise errdefs.System(f"failed to set up container networking: {exc}") from None
            raise
        ep.pending = False
        self._table.save(ep)
        self._events.publish(
            "network", "connect", n.id, {"container": c.id, "name": n.name, "type": n.driver}
        )

    async def _allocate(self, c: Container, ep: Endpoint, n: Network) -> None:
        """The endpoint's addresses (static ones from its IPAMConfig) and what follows from
        them; each is recorded on the endpoint as soon as it is taken, so a failure later on
        releases it."""
        assert n.subnet is not None
        wanted = ep.config.get("IPAMConfig") or {}
        wanted6 = str(wanted.get("IPv6Address") or "")
        if wanted6 and n.subnet6 is None:
            raise errdefs.InvalidParameter(
                f"no configured subnet or ip-range contain the IP address {wanted6}"
            )
        async with self._table.lock:
            addr = n.subnet.allocate(c.id, str(wanted.get("IPv4Address") or ""))
            ep.ip, ep.prefixlen = str(addr), n.subnet.subnet.prefixlen
            if n.subnet6 is not None:
                ep.ip6 = str(n.subnet6.allocate(c.id, wanted6))
                ep.prefixlen6 = n.subnet6.subnet.prefixlen
        ep.gateway = "" if n.internal else str(n.subnet.gateway)
        ep.gateway6 = "" if n.internal or n.subnet6 is None else str(n.subnet6.gateway)
        ep.mac = str(ep.config.get("MacAddress") or "") or mac_for(addr)

    async def release(self, ep: Endpoint) -> None:
        """Undo whatever of an endpoint is live (each step tolerates it never happened)."""
        n = self._table.networks.get(ep.network_id)
        stored = (ep.container_id, ep.network_id) in self._table.endpoints
        if stored and ep.endpoint_id and not ep.pending:
            ep.pending = True  # torn down from here on: a restart finishes the job
            self._table.save(ep)
        if ep.dns_names:
            await self._dns.drop(ep)
        if ep.ports:
            await self._ports.unpublish(n, ep)
        if ep.host_ifname and n is not None and n.driver == "macvlan":
            with contextlib.suppress(Exception):  # gone with the namespace if the task died
                await asyncio.to_thread(netlink.detach_in_netns, ep.netns, ep.ifname)
        if ep.host_ifname:  # a macvlan link too, if a kill caught it before it moved
            with contextlib.suppress(Exception):
                await asyncio.to_thread(netlink.delete_link, ep.host_ifname)
        if ep.hosts_path:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(
                    edit_hosts, ep.hosts_path, [*ep.hosts_lines, *ep.link_lines], []
                )
        if n is not None and n.subnet is not None and ep.ip:
            n.subnet.release(ep.ip)
        if n is not None and n.subnet6 is not None and ep.ip6:
            n.subnet6.release(ep.ip6)
        had = bool(ep.endpoint_id)
        ep.clear_live()
        if stored:
            self._table.save(ep)
        if had and n is not None:
            self._events.publish(
                "network", "disconnect", n.id,
                {"container": ep.container_id, "name": n.name, "type": n.driver},
            )  # fmt: skip
