import ipaddress

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.networks.ipam import (
    DEFAULT_POOLS,
    Pool,
    Subnet,
    mac_for,
    parse_pools,
    pick_subnet,
    ula_pool,
    version_of,
)

N = ipaddress.IPv4Network


def test_default_pools_follow_dockerd():
    assert pick_subnet(DEFAULT_POOLS, []) == N("172.17.0.0/16")
    assert pick_subnet(DEFAULT_POOLS, [N("172.17.0.0/16")]) == N("172.18.0.0/16")
    taken = [N(f"172.{n}.0.0/16") for n in range(17, 32)]
    assert pick_subnet(DEFAULT_POOLS, taken) == N("192.168.0.0/20")
    assert pick_subnet(DEFAULT_POOLS, [*taken, N("192.168.0.0/24")]) == N("192.168.16.0/20")


def test_pools_exhausted_and_custom_pools():
    pools = parse_pools([{"base": "10.10.0.0/23", "size": 24}])
    assert pick_subnet(pools, [N("10.10.0.0/24")]) == N("10.10.1.0/24")
    with pytest.raises(errdefs.Forbidden, match="non-overlapping"):
        pick_subnet(pools, [N("10.10.0.0/23")])
    with pytest.raises(ValueError):
        parse_pools([{"base": "10.0.0.0/16"}])


def test_allocation_skips_gateway_aux_and_releases():
    s = Subnet.from_config({"Subnet": "10.1.0.0/29", "AuxiliaryAddresses": {"r": "10.1.0.2"}})
    assert str(s.gateway) == "10.1.0.1"
    got = [str(s.allocate(f"c{i}")) for i in range(4)]
    assert got == ["10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]
    with pytest.raises(errdefs.Forbidden, match="no available IPv4"):
        s.allocate("c9")
    s.release("10.1.0.4")
    assert str(s.allocate("c9")) == "10.1.0.4"


def test_static_address_and_range():
    s = Subnet.from_config(
        {"Subnet": "10.2.0.0/24", "IPRange": "10.2.0.128/25", "Gateway": "10.2.0.254"}
    )
    assert str(s.allocate("a")) == "10.2.0.129"
    assert str(s.allocate("b", "10.2.0.5")) == "10.2.0.5"
    assert str(s.allocate("b", "10.2.0.5")) == "10.2.0.5"  # same owner: idempotent
    with pytest.raises(errdefs.Forbidden, match="Address already in use"):
        s.allocate("c", "10.2.0.5")
    with pytest.raises(errdefs.Forbidden, match="Address already in use"):
        s.allocate("c", "10.2.0.254")
    with pytest.raises(errdefs.InvalidParameter):
        s.allocate("c", "10.3.0.1")
    assert s.to_config() == {
        "Subnet": "10.2.0.0/24",
        "Gateway": "10.2.0.254",
        "IPRange": "10.2.0.128/25",
    }


def test_bad_configs():
    with pytest.raises(errdefs.Forbidden):
        Subnet.from_config({"Subnet": "10.2.0.0/24", "Gateway": "10.9.0.1"})
    with pytest.raises(errdefs.Forbidden):
        Subnet.from_config({"Subnet": "10.2.0.0/24", "IPRange": "10.3.0.0/25"})
    with pytest.raises(errdefs.InvalidParameter):
        Subnet.from_config({"Subnet": "nonsense"})


def test_mac_is_02_42_and_the_address():
    assert mac_for(ipaddress.IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"


def test_ipv6_subnet_allocation_has_no_broadcast_and_checks_family():
    s = Subnet.from_config({"Subnet": "fd00:1::/126", "AuxiliaryAddresses": {"r": "fd00:1::2"}})
    assert s.version == 6 and str(s.gateway) == "fd00:1::1"
    assert str(s.allocate("a")) == "fd00:1::3"  # the last one too: IPv6 has no broadcast
    with pytest.raises(errdefs.Forbidden, match="no available IPv6"):
        s.allocate("b")
    assert str(s.allocate("a", "fd00:1::3")) == "fd00:1::3"
    with pytest.raises(errdefs.InvalidParameter, match="not an IPv6 address"):
        s.allocate("b", "10.0.0.1")
    with pytest.raises(errdefs.InvalidParameter, match="no configured subnet"):
        s.allocate("b", "fd00:2::1")
    with pytest.raises(errdefs.InvalidParameter, match="not an IPv4 address"):
        Subnet.from_config({"Subnet": "10.0.0.0/24", "Gateway": "fd00::1"})
    with pytest.raises(errdefs.InvalidParameter, match="parent subnet is an IPv6 block"):
        Subnet.from_config({"Subnet": "fd00::/64", "IPRange": "10.0.0.0/25"})


def test_ula_pool_is_dockerds_derivation():
    # the low 40 bits of sha256("engine")[:8] are 0x25068608ef: fd + those, as a /48 of /64s
    pool = ula_pool("engine")
    assert pool == Pool(ipaddress.IPv6Network("fd25:686:8ef::/48"), 64)
    assert ula_pool("other") != pool
    first = pick_subnet([pool], [], 6)
    assert first == ipaddress.IPv6Network("fd25:686:8ef::/64")
    assert pick_subnet([pool], [first], 6) == ipaddress.IPv6Network("fd25:686:8ef:1::/64")


def test_pools_keep_their_families_apart():
    pools = parse_pools([{"base": "10.10.0.0/24", "size": 24}, {"base": "fd00:9::/63", "size": 64}])
    v6 = ipaddress.IPv6Network
    assert pick_subnet(pools, [v6("fd00:9::/64")], 6) == v6("fd00:9:0:1::/64")
    assert pick_subnet(pools, [v6("fd00:9::/64")], 4) == N("10.10.0.0/24")  # no false overlap
    with pytest.raises(errdefs.Forbidden, match="non-overlapping IPv6 address pool"):
        pick_subnet(DEFAULT_POOLS, [], 6)
    assert version_of({"Subnet": "fd00::/64"}) == 6 and version_of({"Gateway": "10.0.0.1"}) == 4
