"""NetworkService: networks (bridge, macvlan, host, none), container endpoints, published ports
and legacy links.

Networks and endpoints live in memory and are written through to store/networks.py. An
endpoint exists from create/connect until the container is removed or disconnected; it is
*live* (address, veth, rules, port listeners) only while its container runs. All netlink and
iptables work runs in worker threads; one lock serialises allocation.

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
import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import errdefs
from ..asyncutil import uninterruptible
from ..containers.etcfiles import read_host_resolv_conf
from ..containers.logs import parse_time
from ..containers.types import Container, now_rfc3339
from ..events import EventBus
from ..filters import labels_match, until_filter
from ..store import Database
from ..store.networks import NetworkRows
from . import dns, iptables, links, netlink, ports
from .ipam import IPNetwork, Pool, Subnet, mac_for, pick_subnet, version_of
from .types import (
    ADDRESSED,
    MACVLAN_MODES,
    OPT_HOST_IP,
    OPT_ICC,
    OPT_MASQ,
    OPT_MTU,
    OPT_NAME,
    OPT_PREFIX,
    PREDEFINED,
    Endpoint,
    Network,
    NetworkOptions,
)

log = logging.getLogger(__name__)


class NetworkService:
    """The only way into networking, for the API router and the container service."""

    def __init__(self, db: Database, events: EventBus, options: NetworkOptions) -> None:
        self._rows = NetworkRows(db)
        self._events = events
        self.options = options
        self._ipt = iptables.Iptables(options.iptables, hairpin=not options.userland_proxy)
        self._ip6t = iptables.Iptables(options.iptables and options.ip6tables, version=6)
        self._networks: dict[str, Network] = {}
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._proxies: dict[str, list[ports.PortProxy]] = {}
        self._allocator = ports.PortAllocator()
        self._lock = asyncio.Lock()
        self.dns = dns.EmbeddedDNS()
        self._container: Callable[[str], Container] | None = None

    def bind_containers(self, get: Callable[[str], Container]) -> None:
        """The container lookup legacy links need (by name or ID, raising NotFound)."""
        self._container = get

    # ------------------------------------------------------------------ start-up

    async def load(self) -> None:
        """Networks from the store, the predefined ones created, bridges and rules re-made
        idempotently, and IPAM state rebuilt from the endpoints that are still live."""
        for record in self._rows.load_networks():
            n = Network.from_record(record)
            self._networks[n.id] = n
        for record in self._rows.load_endpoints():
            ep = Endpoint.from_record(record)
            if ep.network_id in self._networks:
                self._endpoints[(ep.container_id, ep.network_id)] = ep
        if self.options.ip_forward:
            await asyncio.to_thread(netlink.enable_ip_forward)
        await asyncio.to_thread(self._ipt.setup)
        self._ensure_predefined()
        for n in list(self._networks.values()):
            if n.driver in ADDRESSED:
                n.load_subnets()
                await self._program(n)
        for ep in self._endpoints.values():
            n = self._networks[ep.network_id]
            if ep.ip and n.subnet is not None:
                n.subnet.allocated[ipaddress.IPv4Address(ep.ip)] = ep.container_id
            if ep.ip6 and n.subnet6 is not None:
                n.subnet6.allocated[ipaddress.IPv6Address(ep.ip6)] = ep.container_id

    def _ensure_predefined(self) -> None:
        by_name = {n.name: n for n in self._networks.values()}
        for name, driver in (("host", "host"), ("none", "null")):
            if name not in by_name:
                self._add(Network(secrets.token_hex(32), name, driver, now_rfc3339()))
        if self.options.bridge == "none":
            return
        bridge_options = {
            OPT_PREFIX + "default_bridge": "true",
            OPT_ICC: "true",
            OPT_MASQ: "true",
            OPT_HOST_IP: "0.0.0.0",
            OPT_NAME: self.options.bridge,
            OPT_MTU: "1500",
        }
        if self.options.bip:
            iface = ipaddress.IPv4Interface(self.options.bip)
            configs = [{"Subnet": str(iface.network), "Gateway": str(iface.ip)}]
        else:
            configs = [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
        if self.options.ipv6:
            configs.append(self._default_bridge_v6())
        existing = by_name.get("bridge")
        if existing is not None:
            if (existing.ipam_config, existing.options, existing.enable_ipv6) == (
                configs,
                bridge_options,
                self.options.ipv6,
            ):
                return
            existing.ipam_config = configs  # bip/bridge/ipv6 changed in daemon.json
            existing.options = bridge_options
            existing.enable_ipv6 = self.options.ipv6
            self._rows.save_network(existing.to_record())
            return
        n = Network(secrets.token_hex(32), "bridge", "bridge", now_rfc3339(),
                    enable_ipv6=self.options.ipv6, options=bridge_options,
                    ipam_config=configs)  # fmt: skip
        self._add(n)

    def _default_bridge_v6(self) -> dict[str, Any]:
        """The default bridge's IPv6 config: `fixed-cidr-v6`, else the first subnet of the
        IPv6 pools no other network's config has (dockerd 28, moby#47990)."""
        cidr = self.options.fixed_cidr_v6
        if not cidr:
            taken = [
                ipaddress.ip_network(str(c["Subnet"]), strict=False)
                for n in self._networks.values()
                if n.name != "bridge"
                for c in n.ipam_config
                if c.get("Subnet")
            ]
            cidr = str(pick_subnet(self.options.pools6, taken, 6))
        if version_of({"Subnet": cidr}) != 6:
            raise errdefs.InvalidParameter(f"fixed-cidr-v6 {cidr} is not an IPv6 subnet")
        return Subnet.from_config({"Subnet": cidr}).to_config()

    def _add(self, n: Network) -> None:
        self._networks[n.id] = n
        self._rows.save_network(n.to_record())

    async def _program(self, n: Network) -> None:
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
        if self.options.ip_forward:
            await asyncio.to_thread(netlink.enable_ipv6_forward)
        if self._ip6t.enabled:
            await asyncio.to_thread(self._ip6t.setup)
            if not n.flag(OPT_ICC):
                await asyncio.to_thread(netlink.enable_bridge_netfilter, 6)
            await asyncio.to_thread(self._ip6t.add_bridge, n.rules(False, 6))

    def forget_containers(self, known: Callable[[str], bool]) -> None:
        """Drop the endpoints of containers that do not exist (a daemon killed while it
        created or removed one); before `restore`, which only sees the rest."""
        for key, ep in list(self._endpoints.items()):
            if not known(ep.container_id):
                del self._endpoints[key]
                self._rows.delete_endpoint(*key)

    async def restore(self, running: Callable[[str], int]) -> None:
        """After the containers loaded: endpoints of containers that no longer run are
        released, and so are the ones a kill left half made or half torn down; live-restored
        containers get their port listeners and rules back, and any of their endpoints that
        is not live is attached again."""
        for ep in list(self._endpoints.values()):
            pid = running(ep.container_id)
            if ep.pending or (ep.endpoint_id and not pid):
                await self._release(ep)
            if not pid:
                continue
            if not ep.endpoint_id:
                assert self._container is not None, "bind_containers() was not called"
                try:
                    await self._attach_one(self._container(ep.container_id), ep, pid)
                except errdefs.EngineError as exc:
                    log.warning("network of %s not restored: %s", ep.container_id[:12], exc)
                continue
            if ep.ports:
                await self._restore_ports(ep)
            self._dns_add(ep)
        for cid in {ep.container_id for ep in self._endpoints.values() if ep.dns_names}:
            await self._dns_serve(cid, running(cid))

    async def _restore_ports(self, ep: Endpoint) -> None:
        n = self._networks[ep.network_id]
        bindings = ep.bindings()
        proxies = []
        for b in bindings:
            target = ep.ip6 if ports.is_v6(b.host_ip) else ep.ip
            proxy = ports.PortProxy(b, target, self.options.userland_proxy)
            try:
                await proxy.start()
            except OSError as exc:
                log.warning("port %s of %s: %s", b.host_port, ep.container_id[:12], exc)
                continue
            self._allocator.take(b.host_ip, b.proto, b.host_port, ep.container_id)
            proxies.append(proxy)
        self._proxies[ep.container_id] = proxies
        await self._port_rules(n, ep, True, bindings)

    # ------------------------------------------------------------------ lookup

    def get(self, ref: str) -> Network:
        if ref in self._networks:
            return self._networks[ref]
        for n in self._networks.values():
            if n.name == ref:
                return n
        matches = [n for n in self._networks.values() if ref and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise errdefs.InvalidParameter(f"network {ref} is ambiguous ({len(matches)} matches)")
        raise errdefs.NotFound(f"network {ref} not found")

    def _of(self, container_id: str) -> list[Endpoint]:
        eps = [ep for (cid, _), ep in self._endpoints.items() if cid == container_id]
        eps.sort(key=lambda ep: (not ep.primary, self._networks[ep.network_id].name))
        return eps

    @staticmethod
    def mode_network(network_mode: str) -> str | None:
        """The network a NetworkMode names, None for container:<id>."""
        if network_mode.startswith("container:"):
            return None
        return "bridge" if network_mode in ("", "default") else network_mode

    # ------------------------------------------------------------------ create/remove

    @uninterruptible
    async def create(self, body: dict[str, Any]) -> dict[str, str]:
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
        async with self._lock:
            if any(n.name == name for n in self._networks.values()):
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
            taken = [s.subnet for n in self._networks.values() for s in n.subnets()]
            subnet = _subnet_for(v4, self.options.pools, taken, 4)
            # without EnableIPv6 an IPv6 subnet is kept in the config but unused (dockerd 28)
            subnet6 = _subnet_for(v6, self.options.pools6, taken, 6) if enable_ipv6 else None
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
                await self._check_macvlan(n)
            else:
                self._check_bridge_name(n)
            # stored first: a daemon killed while it programs the bridge makes it at start
            self._rows.save_network(n.to_record())
            try:
                await self._program(n)
            except Exception as exc:
                await self._unprogram(n)
                self._rows.delete_network(n.id)
                raise errdefs.System(f"failed to create network {name}: {exc}") from None
            self._networks[n.id] = n
        self._events.publish("network", "create", n.id, {"name": name, "type": driver})
        return {"Id": n.id, "Warning": ""}

    def _check_bridge_name(self, n: Network) -> None:
        bridge = n.bridge
        if len(bridge) > 15:
            raise errdefs.InvalidParameter(f"bridge name {bridge} is too long")
        if any(o.bridge == bridge for o in self._networks.values() if o.driver == "bridge"):
            raise errdefs.Forbidden(f"bridge name {bridge} is already in use")

    async def _check_macvlan(self, n: Network) -> None:
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
                raise errdefs.InvalidParameter(
                    f"-o parent interface was not found on the host: {base}"
                )
            raise errdefs.Unimplemented(f"VLAN sub-interfaces are not supported yet: {parent}")
        for other in self._networks.values():
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

    async def _unprogram(self, n: Network) -> None:
        if n.driver == "macvlan":
            if "parent" not in n.options:
                await asyncio.to_thread(netlink.delete_link, n.parent)
            return
        if n.subnet is not None:
            await asyncio.to_thread(self._ipt.remove, n.rules(self._ipt.hairpin))
        if n.subnet6 is not None:
            await asyncio.to_thread(self._ip6t.remove, n.rules(False, 6))
        await asyncio.to_thread(netlink.delete_link, n.bridge)

    def _live(self, n: Network) -> list[Endpoint]:
        return [ep for (_, nid), ep in self._endpoints.items() if nid == n.id and ep.endpoint_id]

    @uninterruptible
    async def remove(self, ref: str) -> None:
        n = self.get(ref)
        if not n.user_defined:
            raise errdefs.Forbidden(f"{n.name} is a pre-defined network and cannot be removed")
        async with self._lock:
            if self._live(n):
                raise errdefs.Forbidden(
                    f"error while removing network: network {n.name} id {n.id} has active endpoints"
                )
            await self._unprogram(n)
            for key in [k for k in self._endpoints if k[1] == n.id]:
                del self._endpoints[key]
            self._rows.delete_network(n.id)
            self._networks.pop(n.id, None)
        self._events.publish("network", "destroy", n.id, {"name": n.name, "type": n.driver})

    async def prune(self, filters: dict[str, list[str]]) -> list[str]:
        """Unused user-defined networks, narrowed by `until`, `label` and `label!` (dockerd's)."""
        for key in filters:
            if key not in ("until", "label", "label!"):
                raise errdefs.InvalidParameter(f"invalid filter '{key}'")
        until = until_filter(filters)
        removed = []
        for n in list(self._networks.values()):
            if not n.user_defined or self._live(n):
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
        for key in filters:
            if key not in ("driver", "id", "label", "name", "scope", "type", "dangling"):
                raise errdefs.InvalidParameter(f"invalid filter '{key}'")
        out = []
        for n in sorted(self._networks.values(), key=lambda n: n.created):
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
            dangling = n.user_defined and not any(k[1] == n.id for k in self._endpoints)
            if dangling != (value in ("true", "1")):
                return False
        return labels_match(n.labels, f.get("label") or [])

    def inspect(self, ref: str, names: Callable[[str], str]) -> dict[str, Any]:
        n = self.get(ref)
        data = self.inspect_network(n, containers=True)
        for ep in self._live(n):
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
        n = self._networks[ep.network_id]
        aliases = list(ep.config.get("Aliases") or []) or None
        dns_names = _dns_names(c, ep) if n.user_defined and ep.endpoint_id else None
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
        eps = self._of(c.id)
        out["Networks"] = {
            self._networks[ep.network_id].name: self.endpoint_settings(c, ep) for ep in eps
        }
        live = [ep for ep in eps if ep.endpoint_id]
        if live and c.state.running:
            out["SandboxID"] = hashlib.sha256(f"sandbox:{c.id}".encode()).hexdigest()
            out["SandboxKey"] = live[0].netns
            keys = ports.exposed_ports(c.config, c.host_config)
            bindings = [b for ep in live for b in ep.bindings()]
            out["Ports"] = ports.inspect_ports(keys, bindings)
        default = next((ep for ep in eps if self._networks[ep.network_id].default_bridge), None)
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
        eps = self._of(c.id)
        row["NetworkSettings"] = {
            "Networks": {
                self._networks[ep.network_id].name: self.endpoint_settings(c, ep) for ep in eps
            }
        }
        if c.state.running:
            keys = ports.exposed_ports(c.config, c.host_config)
            bindings = [b for ep in eps if ep.endpoint_id for b in ep.bindings()]
            row["Ports"] = ports.summary_ports(keys, bindings)

    def port_bindings(self, c: Container) -> list[ports.Binding]:
        return [b for ep in self._of(c.id) if ep.endpoint_id for b in ep.bindings()]

    # ------------------------------------------------------------------ containers

    def on_create(self, c: Container, networking_config: dict[str, Any]) -> None:
        """Validate the container's networks and record its endpoints (not live yet)."""
        mode = c.host_config.get("NetworkMode") or "default"
        primary = self.mode_network(mode)
        ports.port_specs(c.config, c.host_config)  # raises on a bad port spec
        legacy_links = self._register_links(c, primary)
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
            self._check_endpoint_config(net, config)
        for net, config, is_primary in wanted:
            ep = Endpoint(c.id, net.id, config=_clean_config(config), primary=is_primary)
            if net.default_bridge:
                ep.links = legacy_links
            self._endpoints[(c.id, net.id)] = ep
            self._rows.save_endpoint(ep.to_record())

    def _register_links(self, c: Container, primary: str | None) -> list[list[str]]:
        """HostConfig.Links outside user-defined networks (dockerd's registerLinks): each
        child must exist (through `container:` modes) and not use the host's network; the
        links are shown as `/child:/parent/alias` from then on. Returns [child id, alias]."""
        values = list(c.host_config.get("Links") or [])
        if not values:
            return []
        if primary is not None and primary not in PREDEFINED:
            c.host_config["Links"] = None  # only the endpoint's aliases (EndpointSettings.Links)
            return []
        if primary == "host":
            raise errdefs.InvalidParameter(_HOST_AND_LINKS)
        assert self._container is not None, "bind_containers() was not called"
        found: list[list[str]] = []
        shown: list[str] = []
        for value in values:
            name, alias = links.parse_link(value)
            ref = name
            while True:
                try:
                    child = self._container(ref)
                except errdefs.NotFound as exc:
                    raise errdefs.InvalidParameter(
                        f"could not get container for {name}: {exc.message}"
                    ) from None
                child_mode = str(child.host_config.get("NetworkMode") or "")
                if not child_mode.startswith("container:"):
                    break
                ref = child_mode.split(":", 1)[1]
            if child_mode == "host":
                raise errdefs.InvalidParameter(_HOST_AND_LINKS)
            found.append([child.id, alias])
            shown.append(f"{child.name}:{c.name}/{alias}")
        c.host_config["Links"] = shown
        return found

    def _live_child(self, child_id: str) -> tuple[Container, Endpoint] | None:
        """A linked child and its live default-bridge endpoint; None once it was removed or
        while it has no address there."""
        assert self._container is not None
        try:
            child = self._container(child_id)
        except errdefs.NotFound:
            return None
        ep = next(
            (e for e in self._of(child_id) if self._networks[e.network_id].default_bridge), None
        )
        return (child, ep) if ep is not None and ep.ip else None

    def link_env(self, c: Container) -> list[str]:
        """The environment a starting container's legacy links give it (dockerd's
        setupLinkedContainers): every child must be running on the default bridge."""
        out: list[str] = []
        for ep in self._of(c.id):
            for child_id, alias in ep.links:
                assert self._container is not None
                try:
                    child = self._container(child_id)
                except errdefs.NotFound:
                    continue  # removed since: dockerd drops the link with it
                link_name = f"{c.name}/{alias}"
                if not child.state.running:
                    raise errdefs.System(
                        f"Cannot link to a non running container: {child.name} AS {link_name}"
                    )
                live = self._live_child(child_id)
                if live is None:
                    raise errdefs.System(
                        f"container {child_id} not attached to default bridge network"
                    )
                out += links.link_env(
                    link_name,
                    live[1].ip,
                    child.config.get("Env") or [],
                    child.config.get("ExposedPorts") or {},
                )
        return out

    async def _write_link_hosts(self, ep: Endpoint) -> None:
        """(Re)write a parent's /etc/hosts lines for its links, with the children's current
        addresses (dockerd updates them when a child comes back with another address)."""
        lines = []
        for child_id, alias in ep.links:
            live = self._live_child(child_id)
            if live is not None:
                child, child_ep = live
                hostname = str(child.config.get("Hostname") or child.id[:12])
                lines.append(links.hosts_line(child_ep.ip, alias, hostname, child.name.lstrip("/")))
        await asyncio.to_thread(_hosts_edit, ep.hosts_path, ep.link_lines, lines)
        ep.link_lines = lines

    def _check_endpoint_config(self, n: Network, config: dict[str, Any]) -> None:
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

    def on_remove(self, c: Container) -> None:
        for ep in self._of(c.id):
            self._endpoints.pop((ep.container_id, ep.network_id), None)
            self._rows.delete_endpoint(ep.container_id, ep.network_id)

    async def attach(self, c: Container, pid: int) -> None:
        """Make every endpoint of a created task live; on failure nothing is left behind."""
        done: list[Endpoint] = []
        try:
            for ep in self._of(c.id):
                await self._attach_one(c, ep, pid)
                done.append(ep)
        except BaseException:
            for ep in done:
                await self._release(ep)
            raise
        await self._dns_serve(c.id, pid)

    async def _attach_one(self, c: Container, ep: Endpoint, pid: int) -> None:
        n = self._networks.get(ep.network_id)
        if n is None:
            raise errdefs.NotFound(f"network {ep.network_id} not found")
        if ep.endpoint_id:  # stale (the daemon died before the exit was seen)
            await self._release(ep)
        ep.endpoint_id = secrets.token_hex(32)
        ep.netns = f"/proc/{pid}/ns/net"
        if n.driver not in ADDRESSED:
            self._rows.save_endpoint(ep.to_record())
            self._events.publish(
                "network", "connect", n.id, {"container": c.id, "name": n.name, "type": n.driver}
            )
            return
        assert n.subnet is not None
        try:
            await self._allocate(c, ep, n)
            index = len([e for e in self._of(c.id) if e.ifname])
            ep.ifname = f"eth{index}"
            suffix = hashlib.sha256((c.id + n.id).encode()).hexdigest()[:7]
            ep.host_ifname = ("mv" if n.driver == "macvlan" else "veth") + suffix
            if ep.primary and n.driver != "macvlan":  # no published ports on macvlan
                await self._publish(c, ep, n)
            ep.pending = True  # what a restart must undo if the daemon dies from here on
            self._rows.save_endpoint(ep.to_record())
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
                await self._port_rules(n, ep, True)
            if ep.primary:
                hostname = c.config.get("Hostname") or c.id[:12]
                ep.hosts_line = "".join(f"{ip}\t{hostname}\n" for ip in (ep.ip, ep.ip6) if ip)
                ep.hosts_path = c.hosts_path
                await asyncio.to_thread(_hosts_edit, c.hosts_path, ep.hosts_lines,
                                        ep.hosts_lines)  # fmt: skip
                if ep.links:
                    await self._write_link_hosts(ep)
            if n.default_bridge:
                for parent in self._live(n):
                    if parent.hosts_path and any(cid == c.id for cid, _ in parent.links):
                        await self._write_link_hosts(parent)
            if n.user_defined:
                ep.dns_names = _dns_names(c, ep)
                host = await asyncio.to_thread(read_host_resolv_conf)
                servers = c.host_config.get("Dns") or list(self.options.dns)
                ep.dns_servers = dns.forwarders(servers, host)
                self._dns_add(ep)
        except BaseException as exc:
            await self._release(ep)
            if isinstance(exc, errdefs.EngineError):
                raise
            if isinstance(exc, Exception):
                raise errdefs.System(f"failed to set up container networking: {exc}") from None
            raise
        ep.pending = False
        self._rows.save_endpoint(ep.to_record())
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
        async with self._lock:
            addr = n.subnet.allocate(c.id, str(wanted.get("IPv4Address") or ""))
            ep.ip, ep.prefixlen = str(addr), n.subnet.subnet.prefixlen
            if n.subnet6 is not None:
                ep.ip6 = str(n.subnet6.allocate(c.id, wanted6))
                ep.prefixlen6 = n.subnet6.subnet.prefixlen
        ep.gateway = "" if n.internal else str(n.subnet.gateway)
        ep.gateway6 = "" if n.internal or n.subnet6 is None else str(n.subnet6.gateway)
        ep.mac = str(ep.config.get("MacAddress") or "") or mac_for(addr)

    async def _publish(self, c: Container, ep: Endpoint, n: Network) -> None:
        specs = ports.port_specs(c.config, c.host_config)
        if not specs:
            return
        default_ip = n.options.get(OPT_HOST_IP, "")
        if default_ip not in ("", "0.0.0.0"):  # 0.0.0.0 is the default: IPv6 too
            specs = [
                s if s.host_ip else ports.PortSpec(s.container_port, s.proto, default_ip,
                                                   s.host_start, s.host_end)
                for s in specs
            ]  # fmt: skip
        try:
            bindings, proxies = await ports.publish(
                specs, self._allocator, c.id, ep.ip, self.options.userland_proxy, ep.ip6
            )
        except errdefs.EngineError as exc:
            raise errdefs.System(
                f"driver failed programming external connectivity on endpoint "
                f"{c.name.lstrip('/')} ({ep.endpoint_id}): {exc.message}"
            ) from None
        ep.ports = [b.to_record() for b in bindings]
        self._proxies[c.id] = proxies

    async def _port_rules(
        self, n: Network, ep: Endpoint, add: bool, bindings: list[ports.Binding] | None = None
    ) -> None:
        """Add (or remove) the rules of the endpoint's bindings: iptables ones for its IPv4
        bindings, ip6tables ones towards its IPv6 address for the [::] ones."""
        for ipt, address in ((self._ipt, ep.ip), (self._ip6t, ep.ip6)):
            rules: list[iptables.Rule] = []
            for b in bindings if bindings is not None else ep.bindings():
                if ports.is_v6(b.host_ip) == (ipt.version == 6):
                    rules += iptables.port_rules(
                        n.bridge, address, b.proto, b.host_ip, b.host_port, b.container_port
                    )
            if rules:
                await asyncio.to_thread(ipt.add_bridge if add else ipt.remove, rules)

    async def _release(self, ep: Endpoint) -> None:
        """Undo whatever of an endpoint is live (each step tolerates it never happened)."""
        n = self._networks.get(ep.network_id)
        stored = (ep.container_id, ep.network_id) in self._endpoints
        if stored and ep.endpoint_id and not ep.pending:
            ep.pending = True  # torn down from here on: a restart finishes the job
            self._rows.save_endpoint(ep.to_record())
        if ep.dns_names:
            self.dns.resolver.drop(ep.container_id, ep.network_id)
            if not self.dns.resolver.has(ep.container_id):
                await self.dns.stop(ep.container_id)
        for proxy in self._proxies.pop(ep.container_id, []) if ep.ports else []:
            await proxy.close()
        if ep.ports:
            self._allocator.release_owner(ep.container_id)
        if n is not None and ep.ports and ep.ip:
            with contextlib.suppress(Exception):
                await self._port_rules(n, ep, False)
        if ep.host_ifname and n is not None and n.driver == "macvlan":
            with contextlib.suppress(Exception):  # gone with the namespace if the task died
                await asyncio.to_thread(netlink.detach_in_netns, ep.netns, ep.ifname)
        if ep.host_ifname:  # a macvlan link too, if a kill caught it before it moved
            with contextlib.suppress(Exception):
                await asyncio.to_thread(netlink.delete_link, ep.host_ifname)
        if ep.hosts_path:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(
                    _hosts_edit, ep.hosts_path, [*ep.hosts_lines, *ep.link_lines], []
                )
        if n is not None and n.subnet is not None and ep.ip:
            n.subnet.release(ep.ip)
        if n is not None and n.subnet6 is not None and ep.ip6:
            n.subnet6.release(ep.ip6)
        had = bool(ep.endpoint_id)
        ep.clear_live()
        if stored:
            self._rows.save_endpoint(ep.to_record())
        if had and n is not None:
            self._events.publish(
                "network", "disconnect", n.id,
                {"container": ep.container_id, "name": n.name, "type": n.driver},
            )  # fmt: skip

    async def detach(self, c: Container) -> None:
        """The task is gone: release every live endpoint (addresses, ports, veths, rules)."""
        for ep in self._of(c.id):
            if ep.endpoint_id:
                await self._release(ep)
        await self.dns.stop(c.id)

    def _dns_add(self, ep: Endpoint) -> None:
        n = self._networks.get(ep.network_id)
        if n is None or not ep.dns_names or not ep.ip:
            return
        aliases = tuple(links.parse_link(v)[::-1] for v in ep.config.get("Links") or [])
        member = dns.Member(
            ep.container_id, n.id, n.name, ep.ip, tuple(ep.dns_names), n.internal, aliases, ep.ip6
        )
        self.dns.resolver.add(member)

    def rename(self, c: Container) -> None:
        """After `docker rename`: a running container's embedded-DNS names follow (libnetwork's
        sandbox Rename), so the new name resolves and the old one no longer does."""
        for ep in self._of(c.id):
            if ep.dns_names:
                ep.dns_names = _dns_names(c, ep)
                self._rows.save_endpoint(ep.to_record())
                self._dns_add(ep)

    async def _dns_serve(self, container_id: str, pid: int) -> None:
        """Start the container's embedded DNS server if it is on a user-defined network."""
        if not pid or not self.dns.resolver.has(container_id):
            return
        servers = next((ep.dns_servers for ep in self._of(container_id) if ep.dns_servers), [])
        try:
            await self.dns.serve(container_id, f"/proc/{pid}/ns/net", list(servers))
        except OSError as exc:
            log.warning("embedded DNS for %s: %s", container_id[:12], exc)

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
        if (c.id, n.id) in self._endpoints:
            raise errdefs.Forbidden(
                f"endpoint with name {c.name.lstrip('/')} already exists in network {n.name}"
            )
        self._check_endpoint_config(n, config or {})
        # a container left without its gateway endpoint (compose 1.x disconnects and connects
        # its network again to set aliases) takes the next network it joins as the gateway
        primary = not any(e.primary for e in self._of(c.id))
        ep = Endpoint(c.id, n.id, config=_clean_config(config or {}), primary=primary)
        self._endpoints[(c.id, n.id)] = ep
        self._rows.save_endpoint(ep.to_record())
        if pid:
            try:
                await self._attach_one(c, ep, pid)
            except BaseException:
                self._endpoints.pop((c.id, n.id), None)
                self._rows.delete_endpoint(c.id, n.id)
                raise
            await self._dns_serve(c.id, pid)

    @uninterruptible
    async def disconnect(self, c: Container, ref: str, force: bool) -> None:
        n = self.get(ref)
        if n.driver in ("host",):
            raise errdefs.Forbidden(
                "container cannot be disconnected from host network or connected to host network"
            )
        ep = self._endpoints.get((c.id, n.id))
        if ep is None:
            raise errdefs.Forbidden(f"container {c.id} is not connected to network {n.name}")
        if ep.endpoint_id:
            await self._release(ep)
        self._endpoints.pop((c.id, n.id), None)
        self._rows.delete_endpoint(c.id, n.id)
        rest = self._of(c.id)
        if ep.primary and rest:  # the gateway moves on, from the next start (by network name)
            rest[0].primary = True
            self._rows.save_endpoint(rest[0].to_record())


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


def _clean_config(config: dict[str, Any]) -> dict[str, Any]:
    keep = ("IPAMConfig", "Links", "Aliases", "DriverOpts", "MacAddress")
    return {k: config[k] for k in keep if config.get(k)}


_HOST_AND_LINKS = (
    "conflicting options: host type networking can't be used with links. "
    "This would result in undefined behavior"
)


def _dns_names(c: Container, ep: Endpoint) -> list[str]:
    aliases = list(ep.config.get("Aliases") or [])
    return dns.member_names(c.name, aliases, c.id, str(c.config.get("Hostname") or ""))


def _hosts_edit(path: str, drop: list[str], append: list[str]) -> None:
    """Remove these lines from a container's /etc/hosts, then append those (the container's
    own line, its links' lines)."""
    if not path:
        return
    p = Path(path)
    text = p.read_text() if p.exists() else ""
    kept = [x for x in text.splitlines(keepends=True) if x not in drop]
    p.write_text("".join(kept + append))
