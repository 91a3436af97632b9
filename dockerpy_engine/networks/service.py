"""NetworkService: networks (bridge, host, none), container endpoints, published ports.

Networks and endpoints live in memory and are written through to store/networks.py. An
endpoint exists from create/connect until the container is removed or disconnected; it is
*live* (address, veth, rules, port listeners) only while its container runs. All netlink and
iptables work runs in worker threads; one lock serialises allocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errdefs
from ..containers.hostconfig import read_host_resolv_conf
from ..containers.logs import parse_time
from ..containers.types import Container, now_rfc3339
from ..events import EventBus
from ..filters import labels_match, until_filter
from ..store import Database
from ..store.networks import NetworkRows
from . import dns, iptables, netlink, ports
from .ipam import DEFAULT_POOLS, Pool, Subnet, mac_for, pick_subnet

log = logging.getLogger(__name__)

OPT_PREFIX = "com.docker.network.bridge."
OPT_NAME = OPT_PREFIX + "name"
OPT_ICC = OPT_PREFIX + "enable_icc"
OPT_MASQ = OPT_PREFIX + "enable_ip_masquerade"
OPT_HOST_IP = OPT_PREFIX + "host_binding_ipv4"
OPT_MTU = "com.docker.network.driver.mtu"
PREDEFINED = ("bridge", "host", "none")


@dataclass(slots=True)
class NetworkOptions:
    """The daemon's networking settings (daemon.json keys of the same names)."""

    bridge: str = "dockerpy0"  # "none" disables the default bridge
    bip: str = ""
    iptables: bool = True
    ip_forward: bool = True
    pools: tuple[Pool, ...] = DEFAULT_POOLS
    userland_proxy: bool = True


@dataclass(slots=True)
class Network:
    id: str
    name: str
    driver: str  # bridge | host | null
    created: str
    internal: bool = False
    attachable: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] | None = None
    ipam_config: list[dict[str, Any]] = field(default_factory=list)
    user_subnet: bool = False  # --subnet given: static --ip allowed
    subnet: Subnet | None = None  # runtime IPAM state, rebuilt from the endpoints

    @property
    def bridge(self) -> str:
        return self.options.get(OPT_NAME) or f"br-{self.id[:12]}"

    @property
    def default_bridge(self) -> bool:
        return self.name == "bridge"

    @property
    def user_defined(self) -> bool:
        return self.name not in PREDEFINED

    def flag(self, key: str) -> bool:
        return str(self.options.get(key, "true")).lower() not in ("false", "0")

    @property
    def mtu(self) -> int:
        try:
            return int(self.options.get(OPT_MTU) or 0)
        except ValueError:
            return 0

    def rules(self) -> list[iptables.Rule]:
        assert self.subnet is not None
        return iptables.bridge_rules(
            iptables.BridgeRules(
                bridge=self.bridge,
                subnet=str(self.subnet.subnet),
                internal=self.internal,
                icc=self.flag(OPT_ICC),
                masquerade=self.flag(OPT_MASQ),
            )
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "driver": self.driver,
            "created": self.created,
            "internal": self.internal,
            "attachable": self.attachable,
            "options": self.options,
            "labels": self.labels,
            "ipam_options": self.ipam_options,
            "ipam_config": self.ipam_config,
            "user_subnet": self.user_subnet,
        }

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Network:
        return cls(**r)


@dataclass(slots=True)
class Endpoint:
    """One container's attachment to one network; the live fields are set while it runs."""

    container_id: str
    network_id: str
    config: dict[str, Any] = field(default_factory=dict)  # the client's EndpointSettings
    primary: bool = False
    endpoint_id: str = ""
    ip: str = ""
    prefixlen: int = 0
    gateway: str = ""
    mac: str = ""
    host_ifname: str = ""
    ifname: str = ""
    netns: str = ""
    hosts_line: str = ""
    hosts_path: str = ""
    ports: list[dict[str, Any]] = field(default_factory=list)
    dns_names: list[str] = field(default_factory=list)  # embedded DNS, user networks only
    dns_servers: list[str] = field(default_factory=list)  # its forwarders (ExtDNS)

    def to_record(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}  # type: ignore[attr-defined]

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Endpoint:
        return cls(**r)

    def clear_live(self) -> None:
        self.endpoint_id = self.ip = self.gateway = self.mac = ""
        self.host_ifname = self.ifname = self.netns = self.hosts_line = self.hosts_path = ""
        self.prefixlen = 0
        self.ports = []
        self.dns_names = []
        self.dns_servers = []

    def bindings(self) -> list[ports.Binding]:
        return [ports.Binding(**b) for b in self.ports]


class NetworkService:
    """The only way into networking, for the API router and the container service."""

    def __init__(self, db: Database, events: EventBus, options: NetworkOptions) -> None:
        self._rows = NetworkRows(db)
        self._events = events
        self.options = options
        self._ipt = iptables.Iptables(enabled=options.iptables)
        self._networks: dict[str, Network] = {}
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._proxies: dict[str, list[ports.PortProxy]] = {}
        self._allocator = ports.PortAllocator()
        self._lock = asyncio.Lock()
        self.dns = dns.EmbeddedDNS()

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
            if n.driver == "bridge":
                n.subnet = Subnet.from_config(n.ipam_config[0])
                await self._program_bridge(n)
        for ep in self._endpoints.values():
            n = self._networks[ep.network_id]
            if ep.ip and n.subnet is not None:
                n.subnet.allocated[ipaddress.IPv4Address(ep.ip)] = ep.container_id

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
            config = {"Subnet": str(iface.network), "Gateway": str(iface.ip)}
        else:
            config = {"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}
        existing = by_name.get("bridge")
        if existing is not None:
            if existing.ipam_config == [config] and existing.options == bridge_options:
                return
            existing.ipam_config = [config]  # bip/bridge changed in daemon.json
            existing.options = bridge_options
            self._rows.save_network(existing.to_record())
            return
        n = Network(secrets.token_hex(32), "bridge", "bridge", now_rfc3339(),
                    options=bridge_options, ipam_config=[config])  # fmt: skip
        self._add(n)

    def _add(self, n: Network) -> None:
        self._networks[n.id] = n
        self._rows.save_network(n.to_record())

    async def _program_bridge(self, n: Network) -> None:
        assert n.subnet is not None
        gateway, prefix = str(n.subnet.gateway), n.subnet.subnet.prefixlen
        await asyncio.to_thread(netlink.ensure_bridge, n.bridge, gateway, prefix, n.mtu)
        await asyncio.to_thread(self._ipt.add_bridge, n.rules())

    async def restore(self, running: Callable[[str], int]) -> None:
        """After the containers loaded: endpoints of containers that no longer run are
        released; live-restored ones get their port listeners and rules back."""
        for ep in list(self._endpoints.values()):
            if not ep.endpoint_id:
                continue
            pid = running(ep.container_id)
            if not pid:
                await self._release(ep)
                continue
            await self._restore_ports(ep)
            self._dns_add(ep)
        for cid in {ep.container_id for ep in self._endpoints.values() if ep.dns_names}:
            await self._dns_serve(cid, running(cid))

    async def _restore_ports(self, ep: Endpoint) -> None:
        n = self._networks[ep.network_id]
        bindings = ep.bindings()
        proxies = []
        for b in bindings:
            proxy = ports.PortProxy(b, ep.ip, self.options.userland_proxy)
            try:
                await proxy.start()
            except OSError as exc:
                log.warning("port %s of %s: %s", b.host_port, ep.container_id[:12], exc)
                continue
            self._allocator.take(b.host_ip, b.proto, b.host_port, ep.container_id)
            proxies.append(proxy)
        self._proxies[ep.container_id] = proxies
        await asyncio.to_thread(self._ipt.add_bridge, self._port_rules(n, ep, bindings))

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

    async def create(self, body: dict[str, Any]) -> dict[str, str]:
        name = str(body.get("Name") or "")
        if not name:
            raise errdefs.InvalidParameter("network name cannot be empty")
        driver = str(body.get("Driver") or "bridge")
        if driver in ("host", "null"):
            raise errdefs.Forbidden(f'only one instance of "{driver}" network is allowed')
        if driver != "bridge":
            raise errdefs.NotFound(f'plugin "{driver}" not found')
        if body.get("EnableIPv6") or body.get("EnableIPv4") is False:
            raise errdefs.Unimplemented("IPv6 networks are not supported yet")
        async with self._lock:
            if any(n.name == name for n in self._networks.values()):
                raise errdefs.Conflict(f"network with name {name} already exists")
            ipam = body.get("IPAM") or {}
            if (ipam.get("Driver") or "default") != "default":
                raise errdefs.NotFound(f'plugin "{ipam["Driver"]}" not found')
            configs = [c for c in ipam.get("Config") or [] if c]
            if len(configs) > 1:
                raise errdefs.Unimplemented("more than one IPv4 subnet is not supported yet")
            taken = [n.subnet.subnet for n in self._networks.values() if n.subnet is not None]
            if configs and configs[0].get("Subnet"):
                subnet = Subnet.from_config(configs[0])
                if any(subnet.subnet.overlaps(t) for t in taken):
                    raise errdefs.Forbidden("Pool overlaps with other one on this address space")
                user_subnet = True
            else:
                if configs and (configs[0].get("IPRange") or configs[0].get("Gateway")):
                    raise errdefs.InvalidParameter(
                        "invalid pool request: ip-range or gateway requires a subnet"
                    )
                auto = pick_subnet(self.options.pools, taken)
                subnet = Subnet.from_config({"Subnet": str(auto)})
                user_subnet = False
            options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
            n = Network(
                id=secrets.token_hex(32),
                name=name,
                driver="bridge",
                created=now_rfc3339(),
                internal=bool(body.get("Internal")),
                attachable=bool(body.get("Attachable")),
                options=options,
                labels=dict(body.get("Labels") or {}),
                ipam_options=dict(ipam.get("Options") or {}),
                ipam_config=[subnet.to_config()],
                user_subnet=user_subnet,
                subnet=subnet,
            )
            bridge = n.bridge
            if len(bridge) > 15:
                raise errdefs.InvalidParameter(f"bridge name {bridge} is too long")
            if any(o.bridge == bridge for o in self._networks.values() if o.driver == "bridge"):
                raise errdefs.Forbidden(f"bridge name {bridge} is already in use")
            try:
                await self._program_bridge(n)
            except Exception as exc:
                await self._unprogram_bridge(n)
                raise errdefs.System(f"failed to create network {name}: {exc}") from None
            self._add(n)
        self._events.publish("network", "create", n.id, {"name": name, "type": "bridge"})
        return {"Id": n.id, "Warning": ""}

    async def _unprogram_bridge(self, n: Network) -> None:
        if n.subnet is not None:
            await asyncio.to_thread(self._ipt.remove, n.rules())
        await asyncio.to_thread(netlink.delete_link, n.bridge)

    def _live(self, n: Network) -> list[Endpoint]:
        return [ep for (_, nid), ep in self._endpoints.items() if nid == n.id and ep.endpoint_id]

    async def remove(self, ref: str) -> None:
        n = self.get(ref)
        if not n.user_defined:
            raise errdefs.Forbidden(f"{n.name} is a pre-defined network and cannot be removed")
        async with self._lock:
            if self._live(n):
                raise errdefs.Forbidden(
                    f"error while removing network: network {n.name} id {n.id} has active endpoints"
                )
            await self._unprogram_bridge(n)
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
                "IPv6Address": "",
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
            "EnableIPv6": False,
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
        dns_names = None
        if n.user_defined and ep.endpoint_id:
            dns_names = [c.name.lstrip("/"), *(aliases or []), c.id[:12]]
            hostname = c.config.get("Hostname")
            if hostname and hostname not in dns_names:
                dns_names.append(hostname)
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
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
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
            self._endpoints[(c.id, net.id)] = ep
            self._rows.save_endpoint(ep.to_record())

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
        if n.driver != "bridge":
            self._rows.save_endpoint(ep.to_record())
            self._events.publish(
                "network", "connect", n.id, {"container": c.id, "name": n.name, "type": n.driver}
            )
            return
        assert n.subnet is not None
        try:
            async with self._lock:
                wanted = str((ep.config.get("IPAMConfig") or {}).get("IPv4Address") or "")
                addr = n.subnet.allocate(c.id, wanted)
            ep.ip, ep.prefixlen = str(addr), n.subnet.subnet.prefixlen
            ep.gateway = "" if n.internal else str(n.subnet.gateway)
            ep.mac = str(ep.config.get("MacAddress") or "") or mac_for(addr)
            index = len([e for e in self._of(c.id) if e.ifname])
            ep.ifname = f"eth{index}"
            ep.host_ifname = "veth" + hashlib.sha256((c.id + n.id).encode()).hexdigest()[:7]
            if ep.primary:
                await self._publish(c, ep, n)
            await asyncio.to_thread(
                netlink.attach,
                n.bridge,
                ep.host_ifname,
                ep.netns,
                ep.ifname,
                ep.ip,
                ep.prefixlen,
                ep.mac,
                str(n.subnet.gateway),
                ep.primary and not n.internal,
                n.mtu,
            )
            if ep.ports:
                await asyncio.to_thread(self._ipt.add_bridge, self._port_rules(n, ep))
            if ep.primary:
                ep.hosts_line = f"{ep.ip}\t{c.config.get('Hostname') or c.id[:12]}\n"
                ep.hosts_path = c.hosts_path
                await asyncio.to_thread(_hosts_add, c.hosts_path, ep.hosts_line)
            if n.user_defined:
                aliases = list(ep.config.get("Aliases") or [])
                hostname = str(c.config.get("Hostname") or "")
                ep.dns_names = dns.member_names(c.name, aliases, c.id, hostname)
                host = await asyncio.to_thread(read_host_resolv_conf)
                ep.dns_servers = dns.forwarders(c.host_config.get("Dns") or [], host)
                self._dns_add(ep)
        except BaseException as exc:
            await self._release(ep)
            if isinstance(exc, errdefs.EngineError):
                raise
            if isinstance(exc, Exception):
                raise errdefs.System(f"failed to set up container networking: {exc}") from None
            raise
        self._rows.save_endpoint(ep.to_record())
        self._events.publish(
            "network", "connect", n.id, {"container": c.id, "name": n.name, "type": n.driver}
        )

    async def _publish(self, c: Container, ep: Endpoint, n: Network) -> None:
        specs = ports.port_specs(c.config, c.host_config)
        if not specs:
            return
        default_ip = n.options.get(OPT_HOST_IP, "")
        if default_ip:
            specs = [
                s if s.host_ip else ports.PortSpec(s.container_port, s.proto, default_ip,
                                                   s.host_start, s.host_end)
                for s in specs
            ]  # fmt: skip
        try:
            bindings, proxies = await ports.publish(
                specs, self._allocator, c.id, ep.ip, self.options.userland_proxy
            )
        except errdefs.EngineError as exc:
            raise errdefs.System(
                f"driver failed programming external connectivity on endpoint "
                f"{c.name.lstrip('/')} ({ep.endpoint_id}): {exc.message}"
            ) from None
        ep.ports = [b.to_record() for b in bindings]
        self._proxies[c.id] = proxies

    def _port_rules(
        self, n: Network, ep: Endpoint, bindings: list[ports.Binding] | None = None
    ) -> list[iptables.Rule]:
        rules: list[iptables.Rule] = []
        for b in bindings if bindings is not None else ep.bindings():
            rules += iptables.port_rules(
                n.bridge, ep.ip, b.proto, b.host_ip, b.host_port, b.container_port
            )
        return rules

    async def _release(self, ep: Endpoint) -> None:
        """Undo whatever of an endpoint is live (each step tolerates it never happened)."""
        n = self._networks.get(ep.network_id)
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
                await asyncio.to_thread(self._ipt.remove, self._port_rules(n, ep))
        if ep.host_ifname:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(netlink.delete_link, ep.host_ifname)
        if ep.hosts_line:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(_hosts_remove_for, ep)
        if n is not None and n.subnet is not None and ep.ip:
            n.subnet.release(ep.ip)
        had = bool(ep.endpoint_id)
        ep.clear_live()
        if (ep.container_id, ep.network_id) in self._endpoints:
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
        member = dns.Member(
            ep.container_id, n.id, n.name, ep.ip, tuple(ep.dns_names), internal=n.internal
        )
        self.dns.resolver.add(member)

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
        ep = Endpoint(c.id, n.id, config=_clean_config(config or {}))
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


def _clean_config(config: dict[str, Any]) -> dict[str, Any]:
    keep = ("IPAMConfig", "Links", "Aliases", "DriverOpts", "MacAddress")
    return {k: config[k] for k in keep if config.get(k)}


def _hosts_add(path: str, line: str) -> None:
    if not path:
        return
    p = Path(path)
    text = p.read_text() if p.exists() else ""
    lines = [x for x in text.splitlines(keepends=True) if x != line]
    p.write_text("".join(lines) + line)


def _hosts_remove_for(ep: Endpoint) -> None:
    p = Path(ep.hosts_path)
    if ep.hosts_path and p.exists():
        text = p.read_text()
        p.write_text("".join(x for x in text.splitlines(keepends=True) if x != ep.hosts_line))
