import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.networks import ports
from dockerpy_engine.networks.ports import Binding, PortAllocator, PortSpec


def test_port_specs_from_bindings_and_publish_all():
    hc = {
        "PortBindings": {
            "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5300-5302"}],
        },
        "PublishAllPorts": True,
    }
    cfg = {"ExposedPorts": {"80/tcp": {}, "443/tcp": {}}}
    specs = ports.port_specs(cfg, hc)
    assert PortSpec(80, "tcp", "", 8080, 8080) in specs
    assert PortSpec(53, "udp", "127.0.0.1", 5300, 5302) in specs
    assert PortSpec(443, "tcp", "", 0, 0) in specs
    assert ports.exposed_ports(cfg, hc) == ["53/udp", "80/tcp", "443/tcp"]


@pytest.mark.parametrize("key", ["x/tcp", "80/foo", "0/tcp", "70000"])
def test_bad_port_keys(key):
    with pytest.raises(errdefs.InvalidParameter):
        ports.port_specs({}, {"PortBindings": {key: [{}]}})


def test_bad_host_port():
    with pytest.raises(errdefs.InvalidParameter):
        ports.port_specs({}, {"PortBindings": {"80/tcp": [{"HostPort": "9-1"}]}})


def test_views():
    b = [Binding(80, "tcp", "0.0.0.0", 8080)]
    assert ports.inspect_ports(["443/tcp", "80/tcp"], b) == {
        "443/tcp": None,
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
    }
    assert ports.summary_ports(["443/tcp", "80/tcp"], b) == [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"},
    ]


def test_allocator_wildcard_clashes():
    a = PortAllocator()
    a.take("0.0.0.0", "tcp", 8080, "c1")
    assert a.in_use("127.0.0.1", "tcp", 8080)
    assert not a.in_use("127.0.0.1", "udp", 8080)
    a.release_owner("c1")
    assert not a.in_use("0.0.0.0", "tcp", 8080)


async def test_publish_clash_message_and_nothing_left():
    a = PortAllocator()
    spec = PortSpec(80, "tcp", "127.0.0.1", 0, 0)
    bindings, proxies = await ports.publish([spec], a, "c1", "127.0.0.1", forward=False)
    port = bindings[0].host_port
    clash = PortSpec(80, "tcp", "127.0.0.1", port, port)
    with pytest.raises(errdefs.System, match=f"Bind for 127.0.0.1:{port} failed: port is already"):
        await ports.publish([PortSpec(81, "tcp", "127.0.0.1", 0, 0), clash], a, "c2", "x", False)
    assert not any(owner == "c2" for owner in a._used.values())
    for proxy in proxies:
        await proxy.close()


def test_allocator_wildcards_stay_within_their_family():
    a = PortAllocator()
    a.take("0.0.0.0", "tcp", 8080, "c1")
    assert not a.in_use("::", "tcp", 8080) and not a.in_use("::1", "tcp", 8080)
    a.take("::", "tcp", 8080, "c1")
    assert a.in_use("::1", "tcp", 8080) and a.in_use("fd00::1", "tcp", 8080)
    a.release_owner("c1")
    a.take("::1", "tcp", 8080, "c2")
    assert a.in_use("::", "tcp", 8080) and not a.in_use("0.0.0.0", "tcp", 8080)


async def test_publish_on_an_ipv6_address_needs_one_in_the_container():
    a = PortAllocator()
    spec = PortSpec(80, "tcp", "::1", 0, 0)
    with pytest.raises(errdefs.InvalidParameter, match="no IPv6 address"):
        await ports.publish([spec], a, "c1", "127.0.0.1", False)
    bindings, proxies = await ports.publish([spec], a, "c1", "127.0.0.1", False, "fd00::2")
    assert [(b.host_ip, b.container_port) for b in bindings] == [("::1", 80)]
    port = bindings[0].host_port
    clash = PortSpec(80, "tcp", "::", port, port)
    with pytest.raises(errdefs.System, match=rf"Bind for \[::\]:{port} failed: port is already"):
        await ports.publish([clash], a, "c2", "127.0.0.1", False, "fd00::3")
    for proxy in proxies:
        await proxy.close()
