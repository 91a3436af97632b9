"""IPv4 address management, pure (no I/O): pools, subnets and per-network address sets.

dockerd's defaults: the default bridge takes 172.17.0.0/16, user networks get the next free
/16 among 172.18-172.31, then /20s carved out of 192.168.0.0/16. A network's subnet never
overlaps another's; the gateway (first host unless given), the network and broadcast addresses
and `--aux-address`es are never handed to containers. The service persists what a network has
allocated; a Subnet is rebuilt from that on daemon start.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import errdefs

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address


@dataclass(frozen=True, slots=True)
class Pool:
    """A base network from which subnets of `size` prefix length are carved."""

    base: IPv4Network
    size: int


DEFAULT_POOLS: tuple[Pool, ...] = (
    Pool(IPv4Network("172.17.0.0/16"), 16),
    *(Pool(IPv4Network(f"172.{n}.0.0/16"), 16) for n in range(18, 32)),
    Pool(IPv4Network("192.168.0.0/16"), 20),
)


def parse_pools(value: object) -> tuple[Pool, ...]:
    """daemon.json's default-address-pools: [{"base": "10.10.0.0/16", "size": 24}, ...]."""
    if not value:
        return DEFAULT_POOLS
    if not isinstance(value, list):
        raise ValueError("default-address-pools must be a list")
    pools = []
    for item in value:
        if not isinstance(item, dict) or "base" not in item or "size" not in item:
            raise ValueError(f"invalid default address pool: {item!r}")
        base = IPv4Network(str(item["base"]), strict=False)
        size = int(item["size"])
        if not base.prefixlen <= size <= 30:
            raise ValueError(f"invalid pools size: {size} (base {base})")
        pools.append(Pool(base, size))
    return tuple(pools)


def _network(value: str, what: str) -> IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise errdefs.InvalidParameter(f"invalid {what}: {value}") from None
    if not isinstance(net, IPv4Network):
        raise errdefs.Unimplemented(f"IPv6 is not supported yet: {value}")
    return net


def _address(value: str, what: str) -> IPv4Address:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise errdefs.InvalidParameter(f"invalid {what} address: {value}") from None
    if not isinstance(addr, IPv4Address):
        raise errdefs.Unimplemented(f"IPv6 is not supported yet: {value}")
    return addr


def pick_subnet(pools: Iterable[Pool], taken: Iterable[IPv4Network]) -> IPv4Network:
    """The first subnet of the pools that overlaps none of `taken`."""
    used = list(taken)
    for pool in pools:
        for candidate in pool.base.subnets(new_prefix=pool.size):
            if not any(candidate.overlaps(other) for other in used):
                return candidate
    raise errdefs.Forbidden(
        "could not find an available, non-overlapping IPv4 address pool among the defaults "
        "to assign to the network"
    )


@dataclass(slots=True)
class Subnet:
    """One network's IPv4 configuration and the addresses it has handed out."""

    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network | None = None
    aux: dict[str, IPv4Address] = field(default_factory=dict)
    allocated: dict[IPv4Address, str] = field(default_factory=dict)  # address → owner

    @classmethod
    def from_config(cls, config: dict[str, object]) -> Subnet:
        """An IPAM.Config entry ({"Subnet", "IPRange", "Gateway", "AuxiliaryAddresses"})."""
        subnet = _network(str(config["Subnet"]), "subnet")
        ip_range = None
        if config.get("IPRange"):
            ip_range = _network(str(config["IPRange"]), "ip-range")
            if not ip_range.subnet_of(subnet):
                raise errdefs.Forbidden(
                    f"Invalid range {ip_range} for pool {subnet}: range is not a subset of pool"
                )
        if config.get("Gateway"):
            gateway = _address(str(config["Gateway"]), "gateway")
            if gateway not in subnet:
                raise errdefs.Forbidden(
                    f"Invalid gateway {gateway} for pool {subnet}: not in the subnet"
                )
        else:
            gateway = next(subnet.hosts())
        aux: dict[str, IPv4Address] = {}
        for name, value in dict(config.get("AuxiliaryAddresses") or {}).items():
            addr = _address(str(value), "auxiliary")
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

    def _reserved(self, addr: IPv4Address) -> bool:
        return (
            addr in (self.subnet.network_address, self.subnet.broadcast_address, self.gateway)
            or addr in self.aux.values()
            or addr in self.allocated
        )

    def allocate(self, owner: str, wanted: str = "") -> IPv4Address:
        """A static address when `wanted`, else the lowest free one in the range."""
        if wanted:
            addr = _address(wanted, "IPv4")
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
        raise errdefs.Forbidden("no available IPv4 addresses on this network's address pools")

    def release(self, addr: str | IPv4Address) -> None:
        self.allocated.pop(ipaddress.ip_address(str(addr)), None)  # type: ignore[arg-type]


def mac_for(addr: IPv4Address) -> str:
    """dockerd's generated MAC: 02:42 followed by the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)
