"""The networking records: the daemon's network options, a network (its stored record and the
IPAM state rebuilt from it) and a container's endpoint on one network (its stored record, with
the fields that are set only while the container runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import iptables, ports
from .ipam import DEFAULT_POOLS, Pool, Subnet, ula_pool, version_of

OPT_PREFIX = "com.docker.network.bridge."
OPT_NAME = OPT_PREFIX + "name"
OPT_ICC = OPT_PREFIX + "enable_icc"
OPT_MASQ = OPT_PREFIX + "enable_ip_masquerade"
OPT_HOST_IP = OPT_PREFIX + "host_binding_ipv4"
OPT_MTU = "com.docker.network.driver.mtu"
PREDEFINED = ("bridge", "host", "none")
MACVLAN_MODES = ("bridge", "private", "vepa", "passthru")
ADDRESSED = ("bridge", "macvlan")  # the drivers whose networks have IPAM and endpoints


@dataclass(slots=True)
class NetworkOptions:
    """The daemon's networking settings (daemon.json keys of the same names)."""

    bridge: str = "dockerpy0"  # "none" disables the default bridge
    bip: str = ""
    iptables: bool = True
    ip6tables: bool = True  # dockerd 27+'s default; only ever applied along with `iptables`
    ip_forward: bool = True
    pools: tuple[Pool, ...] = DEFAULT_POOLS  # IPv6 bases too; without any, the ULA pool
    userland_proxy: bool = True
    ipv6: bool = False  # IPv6 on the default bridge, from fixed_cidr_v6 else the ULA pool
    fixed_cidr_v6: str = ""
    host_id: str = ""  # the engine ID, which dockerd derives its ULA pool from
    dns: tuple[str, ...] = ()  # daemon.json `dns`: the forwarders of containers without --dns

    @property
    def pools6(self) -> tuple[Pool, ...]:
        """Where IPv6 subnets come from: the IPv6 default-address-pools, else dockerd's ULA
        /48 of this engine."""
        return tuple(p for p in self.pools if p.base.version == 6) or (ula_pool(self.host_id),)


@dataclass(slots=True)
class Network:
    id: str
    name: str
    driver: str  # bridge | macvlan | host | null
    created: str
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] | None = None
    ipam_config: list[dict[str, Any]] = field(default_factory=list)
    user_subnet: bool = False  # --subnet given: static --ip/--ip6 allowed
    subnet: Subnet | None = None  # runtime IPAM state, rebuilt from the endpoints
    subnet6: Subnet | None = None  # the same for IPv6, with EnableIPv6 only

    @property
    def bridge(self) -> str:
        return self.options.get(OPT_NAME) or f"br-{self.id[:12]}"

    @property
    def parent(self) -> str:
        """A macvlan network's parent link: `-o parent`, else a dummy link of its own."""
        return self.options.get("parent") or f"dm-{self.id[:12]}"

    @property
    def macvlan_mode(self) -> str:
        return self.options.get("macvlan_mode") or "bridge"

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

    def subnets(self) -> list[Subnet]:
        return [s for s in (self.subnet, self.subnet6) if s is not None]

    def load_subnets(self) -> None:
        """The runtime IPAM state from the stored IPAM config (IPv6 only when enabled)."""
        for config in self.ipam_config:
            if version_of(config) == 4:
                self.subnet = Subnet.from_config(config)
            elif self.enable_ipv6:
                self.subnet6 = Subnet.from_config(config)

    def rules(self, hairpin: bool, version: int = 4) -> list[iptables.Rule]:
        """The bridge's iptables rules, or its ip6tables ones for version 6."""
        subnet = self.subnet if version == 4 else self.subnet6
        assert subnet is not None
        return iptables.bridge_rules(
            iptables.BridgeRules(
                bridge=self.bridge,
                subnet=str(subnet.subnet),
                internal=self.internal,
                icc=self.flag(OPT_ICC),
                masquerade=self.flag(OPT_MASQ),
                hairpin=hairpin,
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
            "enable_ipv6": self.enable_ipv6,
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
    ip6: str = ""  # on networks with IPv6
    prefixlen6: int = 0
    gateway6: str = ""
    mac: str = ""
    host_ifname: str = ""
    ifname: str = ""
    netns: str = ""
    hosts_line: str = ""  # the container's own /etc/hosts lines (IPv4, then IPv6)
    hosts_path: str = ""
    ports: list[dict[str, Any]] = field(default_factory=list)
    dns_names: list[str] = field(default_factory=list)  # embedded DNS, user networks only
    dns_servers: list[str] = field(default_factory=list)  # its forwarders (ExtDNS)
    links: list[list[str]] = field(default_factory=list)  # default bridge: [child id, alias]
    link_lines: list[str] = field(default_factory=list)  # the hosts lines written for them
    pending: bool = False  # being made live or torn down: a restart undoes what is there

    def to_record(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}  # type: ignore[attr-defined]

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Endpoint:
        return cls(**r)

    def clear_live(self) -> None:
        self.endpoint_id = self.ip = self.gateway = self.ip6 = self.gateway6 = self.mac = ""
        self.host_ifname = self.ifname = self.netns = self.hosts_line = self.hosts_path = ""
        self.prefixlen = self.prefixlen6 = 0
        self.ports = []
        self.dns_names = []
        self.dns_servers = []
        self.link_lines = []
        self.pending = False

    def bindings(self) -> list[ports.Binding]:
        return [ports.Binding(**b) for b in self.ports]

    @property
    def hosts_lines(self) -> list[str]:
        return self.hosts_line.splitlines(keepends=True)
