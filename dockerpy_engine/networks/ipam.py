"""Address management, pure (no I/O): pools, subnets and per-network address sets.

dockerd's defaults: the default bridge takes 172.17.0.0/16, user networks get the next free
/16 among 172.18-172.31, then /20s carved out of 192.168.0.0/16. IPv6 subnets come from the
IPv6 entries of `default-address-pools`, else (dockerd 27+) from a ULA /48 derived from the
engine ID, cut into /64s. A network's subnet never overlaps another's; the gateway (first host
unless given), the IPv4 network and broadcast addresses and `--aux-address`es are never handed
to containers. The service persists what a network has allocated; a Subnet is rebuilt from
that on daemon start.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import errdefs

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Pool:
    """A base network from which subnets of `size` prefix length are carved."""

    base: IPNetwork
    size: int


DEFAULT_POOLS: tuple[Pool, ...] = (
    Pool(IPv4Network("172.17.0.0/16"), 16),
    *(Pool(IPv4Network(f"172.{n}.0.0/16"), 16) for n in range(18, 32)),
    Pool(IPv4Network("192.168.0.0/16"), 20),
)


def parse_pools(value: object) -> tuple[Pool, ...]:
    """daemon.json's default-address-pools: [{"base": "10.10.0.0/16", "size": 24}, ...];
    IPv6 bases are allowed (`{"base": "fd00:1::/48", "size": 64}`)."""
    if not value:
        return DEFAULT_POOLS
    if not isinstance(value, list):
        raise ValueError("default-address-pools must be a list")
    pools = []
    for item in value:
        if not isinstance(item, dict) or "base" not in item or "size" not in item:
            raise ValueError(f"invalid default address pool: {item!r}")
        base = ipaddress.ip_network(str(item["base"]), strict=False)
        size = int(item["size"])
        if not base.prefixlen <= size <= base.max_prefixlen - 2:
            raise ValueError(f"invalid pools size: {size} (base {base})")
        pools.append(Pool(base, size))
    return tuple(pools)


def ula_pool(host_id: str) -> Pool:
    """dockerd's default IPv6 pool (deriveULABaseNetwork): fd00::/8 plus a 40-bit global ID,
    the low 40 bits of the first 8 bytes of sha256(engine ID), as a /48 cut into /64s. Stable
    for one engine ID, different between hosts."""
    digest = hashlib.sha256(host_id.encode()).digest()
    global_id = int.from_bytes(digest[:8], "big") & ((1 << 40) - 1)
    base = int(ipaddress.IPv6Address("fd00::")) + (global_id << 80)
    return Pool(ipaddress.IPv6Network((base, 48)), 64)


def version_of(config: dict[str, object]) -> int:
    """The IP version of an IPAM.Config entry, by its subnet (dockerd's getIpamConfig); an
    entry without a subnet counts as IPv4."""
    try:
        return ipaddress.ip_network(str(config.get("Subnet") or ""), strict=False).version
    except ValueError:
        return 4


def _network(value: str, what: str, version: int) -> IPNetwork:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise errdefs.InvalidParameter(f"invalid {what}: {value}") from None
    if net.version != version:
        raise errdefs.InvalidParameter(
            f"invalid {what} {value}: parent subnet is an IPv{version} block"
        )
    return net


def _address(value: str, what: str, version: int) -> IPAddress:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise errdefs.InvalidParameter(f"invalid {what} address: {value}") from None
    if addr.version != version:
        raise errdefs.InvalidParameter(
            f"invalid {what} address {value}: not an IPv{version} address"
        )
    return addr


def pick_subnet(pools: Iterable[Pool], taken: Iterable[IPNetwork], version: int = 4) -> IPNetwork:
    """The first subnet of the pools of this IP version that overlaps none of `taken`."""
    used = [t for t in taken if t.version == version]
    for pool in pools:
        if pool.base.version != version:
            continue
        for candidate in pool.base.subnets(new_prefix=pool.size):
            if not any(candidate.overlaps(other) for other in used):  # type: ignore[arg-type]
                return candidate
    raise errdefs.Forbidden(
        f"could not find an available, non-overlapping IPv{version} address pool among the "
        "defaults to assign to the network"
    )


@dataclass(slots=True)
class Subnet:
    """One network's IPv4 or IPv6 configuration and the addresses it has handed out."""

    subnet: IPNetwork
    gateway: IPAddress
    ip_range: IPNetwork | None = None
    aux: dict[str, IPAddress] = field(default_factory=dict)
    allocated: dict[IPAddress, str] = field(default_factory=dict)  # address → owner

    @property
    def version(self) -> int:
        return self.subnet.version

    @classmethod
    def from_config(cls, config: dict[str, object]) -> Subnet:
        """An IPAM.Config entry ({"Subnet", "IPRange", "Gateway", "AuxiliaryAddresses"});
        its subnet decides the IP version the other fields must have."""
        subnet = _network(str(config["Subnet"]), "subnet", version_of(config))
        version = subnet.version
        ip_range = None
        if config.get("IPRange"):
            ip_range = _network(str(config["IPRange"]), "ip-range", version)
            if not ip_range.subnet_of(subnet):  # type: ignore[arg-type]
                raise errdefs.Forbidden(
                    f"Invalid range {ip_range} for pool {subnet}: range is not a subset of pool"
                )
        if config.get("Gateway"):
            gateway = _address(str(config["Gateway"]), "gateway", version)
            if gateway not in subnet:
                raise errdefs.Forbidden(
                    f"Invalid gateway {gateway} for pool {subnet}: not in the subnet"
                )
        else:
            gateway = next(subnet.hosts())
        aux: dict[str, IPAddress] = {}
        for name, value in dict(config.get("AuxiliaryAddresses") or {}).items():
            addr = _address(str(value), "auxiliary", version)
            if addr not in subnet:
                raise errdefs.Forbidden(
                    f"invalid auxiliary address {name}={addr}: not in the subnet {subnet}"
                )
            aux[name] = addr
        return cls(subnet=subnet, gateway=gateway, ip_range=ip_range, aux=aux)

    def to_config(self) -> dict[str, object]:
        config: dict[str, object] = {"Subnet": str(self.subnet), "Gateway": str(self.gateway)}
        if self.ip_range is not None:
            config["IPRange"] = str(self.ip_range)
        if self.aux:
            config["AuxiliaryAddresses"] = {k: str(v) for k, v in self.aux.items()}
        return config

    def _reserved(self, addr: IPAddress) -> bool:
        """IPv6 has no broadcast address; its first (subnet-router anycast) one is kept."""
        edges = (self.subnet.network_address, self.gateway)
        if self.version == 4:
            edges += (self.subnet.broadcast_address,)
        return addr in edges or addr in self.aux.values() or addr in self.allocated

    def allocate(self, owner: str, wanted: str = "") -> IPAddress:
        """A static address when `wanted`, else the lowest free one in the range."""
        if wanted:
            addr = _address(wanted, f"IPv{self.version}", self.version)
            if addr not in self.subnet:
                raise errdefs.InvalidParameter(
                    f"no configured subnet or ip-range contain the IP address {addr}"
                )
            if self.allocated.get(addr) == owner:
                return addr
            if self._reserved(addr):
                raise errdefs.Forbidden("Address already in use")
            self.allocated[addr] = owner
            return addr
        for addr in (self.ip_range or self.subnet).hosts():
            if not self._reserved(addr):
                self.allocated[addr] = owner
                return addr
        raise errdefs.Forbidden(
            f"no available IPv{self.version} addresses on this network's address pools"
        )

    def release(self, addr: str | IPAddress) -> None:
        self.allocated.pop(ipaddress.ip_address(str(addr)), None)


def mac_for(addr: IPv4Address) -> str:
    """dockerd's generated MAC: 02:42 followed by the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)
