"""NetworkService: networks (bridge, macvlan, host, none), container endpoints, published ports
and legacy links.

Networks and endpoints live in memory (table.py) and are written through to store/networks.py.
An endpoint exists from create/connect until the container is removed or disconnected; it is
*live* (address, veth, rules, port listeners) only while its container runs. All netlink and
iptables work runs in worker threads; one lock serialises allocation.

The service keeps the verbs and their order; its collaborators, each given the state it needs,
do the work: predefined.py and create.py make networks, drivers.py their kernel objects,
attachment.py makes endpoints live (with publishing.py, dnsmembers.py and linking.py) and
undoes them, views.py shapes what the API shows.

Crash safety: a record is written before the kernel objects it names are made, and kept
until they are gone. A network is stored, then its bridge and rules are made (and `load`
makes them again); an endpoint is stored *pending* with the addresses, link names and ports
it is about to take before any veth or rule exists, and marked pending again before they are
torn down. A daemon killed in between finds the pending endpoint on restart and undoes it
(`restore`), then makes it live again if its container still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from .. import errdefs
from ..asyncutil import uninterruptible
from ..containers.logs import parse_time
from ..containers.types import Container
from ..events import EventBus
from ..filters import labels_match, until_filter
from ..store import Database
from ..store.networks import NetworkRows
from . import dns, iptables, netlink, ports
from .attachment import Attacher
from .create import create_network
from .dnsmembers import DNSMembers
from .drivers import NetworkDrivers
from .endpointconfig import check_endpoint_config, clean_config
from .linking import LegacyLinks
from .predefined import ensure_predefined
from .publishing import PortPublisher
from .table import NetworkTable
from .types import ADDRESSED, Endpoint, Network, NetworkOptions
from .views import NetworkViews

log = logging.getLogger(__name__)


class NetworkService:
    """The only way into networking, for the API router and the container service."""

    def __init__(self, db: Database, events: EventBus, options: NetworkOptions) -> None:
        self._events = events
        self.options = options
        self._ipt = iptables.Iptables(options.iptables, hairpin=not options.userland_proxy)
        ip6t = iptables.Iptables(options.iptables and options.ip6tables, version=6)
        self._table = NetworkTable(NetworkRows(db))
        self._drivers = NetworkDrivers(self._ipt, ip6t, options.ip_forward)
        self._ports = PortPublisher(self._ipt, ip6t, options.userland_proxy)
        self.dns = dns.EmbeddedDNS()
        self._dns = DNSMembers(self._table, self.dns, options.dns)
        self._links = LegacyLinks(self._table, self._lookup)
        self._attacher = Attacher(self._table, events, self._ports, self._dns, self._links)
        self._views = NetworkViews(self._table)
        self._container: Callable[[str], Container] | None = None

    def bind_containers(self, get: Callable[[str], Container]) -> None:
        """The container lookup legacy links need (by name or ID, raising NotFound)."""
        self._container = get

    def _lookup(self, ref: str) -> Container:
        assert self._container is not None, "bind_containers() was not called"
        return self._container(ref)

    # ------------------------------------------------------------------ start-up

    async def load(self) -> None:
        """Networks from the store, the predefined ones created, bridges and rules re-made
        idempotently, and IPAM state rebuilt from the endpoints that are still live."""
        self._table.load()
        if self.options.ip_forward:
            await asyncio.to_thread(netlink.enable_ip_forward)
        await asyncio.to_thread(self._ipt.setup)
        self._ensure_predefined()
        for n in list(self._table.networks.values()):
            if n.driver in ADDRESSED:
                n.load_subnets()
                await self._drivers.program(n)
        for ep in self._table.endpoints.values():
            n = self._table.networks[ep.network_id]
            if ep.ip and n.subnet is not None:
                n.subnet.allocated[ipaddress.IPv4Address(ep.ip)] = ep.container_id
            if ep.ip6 and n.subnet6 is not None:
                n.subnet6.allocated[ipaddress.IPv6Address(ep.ip6)] = ep.container_id

    def _ensure_predefined(self) -> None:
        ensure_predefined(self._table, self.options)

    def forget_containers(self, known: Callable[[str], bool]) -> None:
        """Drop the endpoints of containers that do not exist (a daemon killed while it
        created or removed one); before `restore`, which only sees the rest."""
        for key, ep in list(self._table.endpoints.items()):
            if not known(ep.container_id):
                self._table.remove(*key)

    async def restore(self, running: Callable[[str], int]) -> None:
        """After the containers loaded: endpoints of containers that no longer run are
        released, and so are the ones a kill left half made or half torn down; live-restored
        containers get their port listeners and rules back, and any of their endpoints that
        is not live is attached again."""
        for ep in list(self._table.endpoints.values()):
            pid = running(ep.container_id)
            if ep.pending or (ep.endpoint_id and not pid):
                await self._attacher.release(ep)
            if not pid:
                continue
            if not ep.endpoint_id:
                try:
                    await self._attacher.attach(self._lookup(ep.container_id), ep, pid)
                except errdefs.EngineError as exc:
                    log.warning("network of %s not restored: %s", ep.container_id[:12], exc)
                continue
            if ep.ports:
                await self._ports.restore(self._table.networks[ep.network_id], ep)
            self._dns.add(ep)
        for cid in {ep.container_id for ep in self._table.endpoints.values() if ep.dns_names}:
            await self._dns.serve(cid, running(cid))

    # ------------------------------------------------------------------ lookup

    def get(self, ref: str) -> Network:
        return self._table.get(ref)

    @staticmethod
    def mode_network(network_mode: str) -> str | None:
        """The network a NetworkMode names, None for container:<id>."""
        if network_mode.startswith("container:"):
            return None
        return "bridge" if network_mode in ("", "default") else network_mode

    # ------------------------------------------------------------------ create/remove

    @uninterruptible
    async def create(self, body: dict[str, Any]) -> dict[str, str]:
        n = await create_network(body, self._table, self.options, self._drivers)
        self._events.publish("network", "create", n.id, {"name": n.name, "type": n.driver})
        return {"Id": n.id, "Warning": ""}

    @uninterruptible
    async def remove(self, ref: str) -> None:
        n = self.get(ref)
        if not n.user_defined:
            raise errdefs.Forbidden(f"{n.name} is a pre-defined network and cannot be removed")
        async with self._table.lock:
            if self._table.live(n):
                raise errdefs.Forbidden(
                    f"error while removing network: network {n.name} id {n.id} has active endpoints"
                )
            await self._drivers.unprogram(n)
            for key in [k for k in self._table.endpoints if k[1] == n.id]:
                del self._table.endpoints[key]
            self._table.rows.delete_network(n.id)
            self._table.networks.pop(n.id, None)
        self._events.publish("network", "destroy", n.id, {"name": n.name, "type": n.driver})

    async def prune(self, filters: dict[str, list[str]]) -> list[str]:
        """Unused user-defined networks, narrowed by `until`, `label` and `label!` (dockerd's)."""
        for key in filters:
            if key not in ("until", "label", "label!"):
                raise errdefs.InvalidParameter(f"invalid filter '{key}'")
        until = until_filter(filters)
        removed = []
        for n in list(self._table.networks.values()):
            if not n.user_defined or self._table.live(n):
                continue
            if not labels_match(n.labels, filters.get("label") or []):
                continue
            if any(labels_match(n.labels, [e]) for e in filters.get("label!") or []):
                continue
            if until is not None and parse_time(n.created) > until:
                continue
            with contextlib.suppress(errdefs.EngineError):
                await self.remove(n.id)
                removed.append(n.name)
        return removed

    # ------------------------------------------------------------------ views

    def list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return self._views.list(filters)

    def inspect(self, ref: str, names: Callable[[str], str]) -> dict[str, Any]:
        return self._views.inspect(ref, names)

    def inspect_network(self, n: Network, containers: bool) -> dict[str, Any]:
        return self._views.inspect_network(n, containers)

    def endpoint_settings(self, c: Container, ep: Endpoint) -> dict[str, Any]:
        return self._views.endpoint_settings(c, ep)

    def settings(self, c: Container, base: dict[str, Any]) -> dict[str, Any]:
        """Container inspect's NetworkSettings, filled in over `base` (views.inspect's)."""
        return self._views.settings(c, base)

    def summary(self, c: Container, row: dict[str, Any]) -> None:
        """`docker ps`: the Networks map and, while running, the Ports."""
        self._views.summary(c, row)

    def port_bindings(self, c: Container) -> list[ports.Binding]:
        return self._views.port_bindings(c)

    # ------------------------------------------------------------------ containers

    def on_create(self, c: Container, networking_config: dict[str, Any]) -> None:
        """Validate the container's networks and record its endpoints (not live yet)."""
        mode = c.host_config.get("NetworkMode") or "default"
        primary = self.mode_network(mode)
        ports.port_specs(c.config, c.host_config)  # raises on a bad port spec
        legacy_links = self._links.register(c, primary)
        if primary == "bridge" and self.options.bridge == "none" and mode == "default":
            primary = "none"  # `bridge: none`: containers get a loopback-only namespace
        if primary is None:
            return
        configs = dict((networking_config or {}).get("EndpointsConfig") or {})
        n = self.get(primary)
        wanted = [(n, configs.pop(mode, None) or configs.pop(n.name, None) or {}, True)]
        for ref, config in configs.items():
            if n.driver in ("host", "null"):
                raise errdefs.InvalidParameter("Container cannot be connected to network endpoints")
            wanted.append((self.get(ref), config or {}, False))
        for net, config, _ in wanted:
            check_endpoint_config(net, config)
        for net, config, is_primary in wanted:
            ep = Endpoint(c.id, net.id, config=clean_config(config), primary=is_primary)
            if net.default_bridge:
                ep.links = legacy_links
            self._table.endpoints[(c.id, net.id)] = ep
            self._table.save(ep)

    def link_env(self, c: Container) -> list[str]:
        """The environment a starting container's legacy links give it (dockerd's
        setupLinkedContainers): every child must be running on the default bridge."""
        return self._links.link_env(c)

    def on_remove(self, c: Container) -> None:
        for ep in self._table.of(c.id):
            self._table.remove(ep.container_id, ep.network_id)

    async def attach(self, c: Container, pid: int) -> None:
        """Make every endpoint of a created task live; on failure nothing is left behind."""
        done: list[Endpoint] = []
        try:
            for ep in self._table.of(c.id):
                await self._attacher.attach(c, ep, pid)
                done.append(ep)
        except BaseException:
            for ep in done:
                await self._attacher.release(ep)
            raise
        await self._dns.serve(c.id, pid)

    async def detach(self, c: Container) -> None:
        """The task is gone: release every live endpoint (addresses, ports, veths, rules)."""
        for ep in self._table.of(c.id):
            if ep.endpoint_id:
                await self._attacher.release(ep)
        await self.dns.stop(c.id)

    def rename(self, c: Container) -> None:
        """After `docker rename`: a running container's embedded-DNS names follow (libnetwork's
        sandbox Rename), so the new name resolves and the old one no longer does."""
        self._dns.rename(c)

    def embedded_dns(self, network_mode: str) -> bool:
        """Whether a container in this mode gets the embedded DNS (user-defined networks)."""
        name = self.mode_network(network_mode or "default")
        if name is None:
            return False
        try:
            return self.get(name).user_defined
        except errdefs.NotFound:
            return False

    @uninterruptible
    async def connect(self, c: Container, ref: str, config: dict[str, Any], pid: int) -> None:
        n = self.get(ref)
        mode = c.host_config.get("NetworkMode") or "default"
        if mode.startswith("container:"):
            raise errdefs.Forbidden("container sharing network namespace with another container "
                                    "or host cannot be connected to any other network")  # fmt: skip
        if n.driver in ("host", "null") or mode in ("host", "none"):
            raise errdefs.Forbidden(
                "container cannot be disconnected from host network or connected to host network"
            )
        if (c.id, n.id) in self._table.endpoints:
            raise errdefs.Forbidden(
                f"endpoint with name {c.name.lstrip('/')} already exists in network {n.name}"
            )
        check_endpoint_config(n, config or {})
        # a container left without its gateway endpoint (compose 1.x disconnects and connects
        # its network again to set aliases) takes the next network it joins as the gateway
        primary = not any(e.primary for e in self._table.of(c.id))
        ep = Endpoint(c.id, n.id, config=clean_config(config or {}), primary=primary)
        self._table.endpoints[(c.id, n.id)] = ep
        self._table.save(ep)
        if pid:
            try:
                await self._attacher.attach(c, ep, pid)
            except BaseException:
                self._table.remove(c.id, n.id)
                raise
            await self._dns.serve(c.id, pid)

    @uninterruptible
    async def disconnect(self, c: Container, ref: str, force: bool) -> None:
        n = self.get(ref)
        if n.driver in ("host",):
            raise errdefs.Forbidden(
                "container cannot be disconnected from host network or connected to host network"
            )
        ep = self._table.endpoints.get((c.id, n.id))
        if ep is None:
            raise errdefs.Forbidden(f"container {c.id} is not connected to network {n.name}")
        if ep.endpoint_id:
            await self._attacher.release(ep)
        self._table.remove(c.id, n.id)
        rest = self._table.of(c.id)
        if ep.primary and rest:  # the gateway moves on, from the next start (by network name)
            rest[0].primary = True
            self._table.save(rest[0])
