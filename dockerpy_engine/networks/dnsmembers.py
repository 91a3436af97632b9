"""What the embedded DNS knows of the endpoints on user-defined networks: each live one's names
(container name, aliases, short ID, hostname), addresses and links as a resolver member, its
forwarders, and each container's server, started once its task has a network namespace.
"""

from __future__ import annotations

import asyncio
import logging

from ..containers.etcfiles import read_host_resolv_conf
from ..containers.types import Container
from . import dns, links
from .table import NetworkTable
from .types import Endpoint

log = logging.getLogger(__name__)


def endpoint_dns_names(c: Container, ep: Endpoint) -> list[str]:
    aliases = list(ep.config.get("Aliases") or [])
    return dns.member_names(c.name, aliases, c.id, str(c.config.get("Hostname") or ""))


class DNSMembers:
    """`default_servers` are daemon.json's `dns`: the forwarders of containers without --dns."""

    def __init__(
        self, table: NetworkTable, server: dns.EmbeddedDNS, default_servers: tuple[str, ...]
    ) -> None:
        self._table = table
        self._dns = server
        self._default_servers = default_servers

    async def join(self, c: Container, ep: Endpoint) -> None:
        """A new live endpoint on a user-defined network: its names and forwarders."""
        ep.dns_names = endpoint_dns_names(c, ep)
        host = await asyncio.to_thread(read_host_resolv_conf)
        servers = c.host_config.get("Dns") or list(self._default_servers)
        ep.dns_servers = dns.forwarders(servers, host)
        self.add(ep)

    def add(self, ep: Endpoint) -> None:
        n = self._table.networks.get(ep.network_id)
        if n is None or not ep.dns_names or not ep.ip:
            return
        aliases = tuple(links.parse_link(v)[::-1] for v in ep.config.get("Links") or [])
        member = dns.Member(
            ep.container_id, n.id, n.name, ep.ip, tuple(ep.dns_names), n.internal, aliases, ep.ip6
        )
        self._dns.resolver.add(member)

    async def drop(self, ep: Endpoint) -> None:
        """The endpoint's names go; so does the container's server with its last member."""
        self._dns.resolver.drop(ep.container_id, ep.network_id)
        if not self._dns.resolver.has(ep.container_id):
            await self._dns.stop(ep.container_id)

    def rename(self, c: Container) -> None:
        """After `docker rename`: a running container's embedded-DNS names follow (libnetwork's
        sandbox Rename), so the new name resolves and the old one no longer does."""
        for ep in self._table.of(c.id):
            if ep.dns_names:
                ep.dns_names = endpoint_dns_names(c, ep)
                self._table.save(ep)
                self.add(ep)

    async def serve(self, container_id: str, pid: int) -> None:
        """Start the container's embedded DNS server if it is on a user-defined network."""
        if not pid or not self._dns.resolver.has(container_id):
            return
        servers = next(
            (ep.dns_servers for ep in self._table.of(container_id) if ep.dns_servers), []
        )
        try:
            await self._dns.serve(container_id, f"/proc/{pid}/ns/net", list(servers))
        except OSError as exc:
            log.warning("embedded DNS for %s: %s", container_id[:12], exc)
