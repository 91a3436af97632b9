"""IPv6 on bridge networks end to end, with the real docker CLI against a daemon of our own in a
private network namespace (its bridges, sysctls and ip6tables rules never touch the host's).
Traffic stays between the test's containers and the daemon's namespace; the networks whose
tests look names up are `--internal`, so unknown names are never forwarded."""

from __future__ import annotations

import ipaddress
import json
import shutil
from collections.abc import Iterator

import pytest

from .conftest import IMAGE
from .daemon import Daemon
from .netutil import in_ns, inspect, netns_daemon, ok, wait_http

BUSYBOX = shutil.which("busybox") or "/bin/busybox"  # ping from the daemon's namespace
SUBNET6 = "fd00:dead:beef::/64"
GATEWAY6 = "fd00:dead:beef::1"


@pytest.fixture(scope="module")
def nd(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    yield from netns_daemon(netns, busybox_tar)


def _net(nd: Daemon, ref: str) -> dict:
    return json.loads(ok(nd.cli("network", "inspect", ref)))[0]


def _sleeper(nd: Daemon, *args: str) -> str:
    return ok(nd.cli("run", "-d", *args, IMAGE, "sleep", "600"))


def _ep(nd: Daemon, ref: str, network: str) -> dict:
    return inspect(nd, ref)["NetworkSettings"]["Networks"][network]


def _ping6(nd: Daemon, container: str, target: str):
    return nd.cli("exec", container, "ping", "-6", "-c", "1", "-W", "2", target)


def _ping6_from_ns(netns: str, target: str):
    return in_ns(netns, BUSYBOX, "ping", "-6", "-c", "1", "-W", "3", target)


def _ip6tables(netns: str, *args: str) -> str:
    return ok(in_ns(netns, "ip6tables", "-w", *args))


def _sysctl(netns: str, path: str) -> str:
    return ok(in_ns(netns, "cat", f"/proc/sys/net/{path}"))


@pytest.fixture
def dual(nd: Daemon) -> Iterator[str]:
    """An internal dual-stack network, `net6`."""
    ok(nd.cli("network", "create", "--internal", "--ipv6", "--subnet", SUBNET6,
              "--subnet", "172.30.0.0/16", "net6"))  # fmt: skip
    try:
        yield "net6"
    finally:
        for cid in nd.cli("ps", "-aq", "--filter", "network=net6").stdout.split():
            nd.cli("rm", "-f", cid.decode())
        nd.cli("network", "rm", "net6")


def test_dual_stack_network_inspect_addresses_and_routes(nd: Daemon, netns: str, dual: str):
    info = _net(nd, dual)
    assert info["EnableIPv6"] is True and info["EnableIPv4"] is True
    assert info["IPAM"]["Config"] == [
        {"Subnet": "172.30.0.0/16", "Gateway": "172.30.0.1"},
        {"Subnet": SUBNET6, "Gateway": GATEWAY6},
    ]
    bridge = "br-" + info["Id"][:12]
    assert f"inet6 {GATEWAY6}/64" in ok(in_ns(netns, "ip", "-6", "addr", "show", "dev", bridge))
    assert _sysctl(netns, f"ipv6/conf/{bridge}/disable_ipv6") == "0"
    assert _sysctl(netns, "ipv6/conf/all/forwarding") == "1"
    assert _sysctl(netns, "ipv6/conf/default/forwarding") == "1"

    a = _sleeper(nd, "--name", "six-a", "--network", dual, "--ip6", "fd00:dead:beef::50")
    b = _sleeper(nd, "--name", "six-b", "--network", dual)
    ep_a, ep_b = _ep(nd, a, dual), _ep(nd, b, dual)
    assert ep_a["IPAMConfig"] == {"IPv6Address": "fd00:dead:beef::50"}
    assert ep_a["GlobalIPv6Address"] == "fd00:dead:beef::50"
    assert ep_b["GlobalIPv6Address"] == "fd00:dead:beef::2"  # the first free after the gateway
    assert ep_b["GlobalIPv6PrefixLen"] == 64
    assert ep_b["IPAddress"].startswith("172.30.0.") and ep_b["IPPrefixLen"] == 16
    # internal: no gateway shown, no default route (as for IPv4)
    assert ep_b["IPv6Gateway"] == "" and ep_b["Gateway"] == ""
    top = inspect(nd, b)["NetworkSettings"]
    assert top["GlobalIPv6Address"] == ""  # the top-level fields are the default bridge's
    members = _net(nd, dual)["Containers"]
    assert members[a]["IPv6Address"] == "fd00:dead:beef::50/64"
    assert members[b]["IPv4Address"] == ep_b["IPAddress"] + "/16"
    # the container side: the address (usable at once: no DAD), and its own line in hosts
    addrs = ok(nd.cli("exec", b, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope",
                      "global"))  # fmt: skip
    assert "inet6 fd00:dead:beef::2/64" in addrs and "tentative" not in addrs
    hosts = ok(nd.cli("exec", b, "cat", "/etc/hosts")).splitlines()
    assert f"fd00:dead:beef::2\t{b[:12]}" in hosts

    # by address, and by name through the embedded DNS's AAAA records
    assert "0% packet loss" in ok(_ping6(nd, b, "fd00:dead:beef::50"))
    assert "fd00:dead:beef::50" in ok(_ping6(nd, b, "six-a"))
    aaaa = ok(nd.cli("exec", b, "nslookup", "-type=aaaa", "six-a", "127.0.0.11"))
    assert "fd00:dead:beef::50" in aaaa
    a_only = ok(nd.cli("exec", b, "nslookup", "-type=a", "six-a", "127.0.0.11"))
    assert ep_a["IPAddress"] in a_only and "fd00:dead:beef::50" not in a_only
    assert "six-a.net6" in ok(nd.cli("exec", b, "nslookup", "fd00:dead:beef::50"))  # PTR


def test_non_internal_network_routes_and_ip6tables_rules(nd: Daemon, netns: str):
    ok(nd.cli("network", "create", "--ipv6", "--subnet", "fd00:1:2::/64", "routed6"))
    try:
        bridge = "br-" + _net(nd, "routed6")["Id"][:12]
        cid = _sleeper(nd, "--network", "routed6")
        ep = _ep(nd, cid, "routed6")
        assert ep["IPv6Gateway"] == "fd00:1:2::1"
        routes = ok(nd.cli("exec", cid, "ip", "-6", "route", "show", "default"))
        assert "default via fd00:1:2::1 dev eth0" in routes
        # the daemon's namespace reaches the container over the bridge
        ping = _ping6_from_ns(netns, ep["GlobalIPv6Address"])
        assert ping.returncode == 0, ping.stdout.decode() + ping.stderr.decode()
        # the IPv4 rules' twins, in our own chains of ip6tables
        nat = _ip6tables(netns, "-t", "nat", "-S").splitlines()
        assert f"-A DOCKERPY-POSTROUTING -s fd00:1:2::/64 ! -o {bridge} -j MASQUERADE" in nat
        assert "-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKERPY" in nat
        assert f"-A DOCKERPY -i {bridge} -j RETURN" in nat
        filt = _ip6tables(netns, "-S").splitlines()
        assert "-A FORWARD -j DOCKERPY-FORWARD" in filt
        assert f"-A DOCKERPY-ISOLATION-STAGE-2 -o {bridge} -j DROP" in filt
        assert f"-A DOCKERPY-FORWARD -i {bridge} ! -o {bridge} -j ACCEPT" in filt
        nd.cli("rm", "-f", cid)
    finally:
        nd.cli("network", "rm", "routed6")
    # gone with the network, everywhere
    for table in ("filter", "nat"):
        rules = _ip6tables(netns, "-t", table, "-S")
        assert bridge not in rules and "fd00:1:2::" not in rules
    assert bridge not in ok(in_ns(netns, "ip", "-o", "link", "show"))


def test_published_ports_on_ipv6(nd: Daemon, netns: str):
    ok(nd.cli("network", "create", "--ipv6", "--subnet", "fd00:1:3::/64", "pub6"))
    web = ""
    try:
        web = ok(nd.cli("run", "-d", "--network", "pub6", "-p", "18086:80",
                         "-p", "0.0.0.0:18087:81", IMAGE,
                         "httpd", "-f", "-p", "80", "-h", "/etc"))  # fmt: skip
        ip6 = _ep(nd, web, "pub6")["GlobalIPv6Address"]
        ports = ok(nd.cli("port", web)).splitlines()
        assert sorted(ports) == [
            "80/tcp -> 0.0.0.0:18086",
            "80/tcp -> [::]:18086",
            "81/tcp -> 0.0.0.0:18087",  # an explicit 0.0.0.0 is IPv4 only
        ]
        bound = inspect(nd, web)["NetworkSettings"]["Ports"]["80/tcp"]
        assert {"HostIp": "::", "HostPort": "18086"} in bound
        # ::1 through the proxy to the container's IPv6 address, 127.0.0.1 to its IPv4 one
        for host in ("[::1]", "127.0.0.1"):
            page = wait_http(netns, f"http://{host}:18086/hostname")
            assert page.returncode == 0, page.stderr
            assert page.stdout.decode().strip() == web[:12]
        nat = _ip6tables(netns, "-t", "nat", "-S", "DOCKERPY")
        assert f"--dport 18086 -j DNAT --to-destination [{ip6}]:80" in nat
        assert "18087" not in nat
    finally:
        if web:
            nd.cli("rm", "-f", web)
        nd.cli("network", "rm", "pub6")
    assert "18086" not in _ip6tables(netns, "-t", "nat", "-S")
    assert "18086" not in _ip6tables(netns, "-S")


def test_two_ipv6_networks_are_isolated(nd: Daemon, netns: str):
    ok(nd.cli("network", "create", "--ipv6", "--subnet", "fd00:aa::/64", "iso6a"))
    ok(nd.cli("network", "create", "--ipv6", "--subnet", "fd00:bb::/64", "iso6b"))
    made: list[str] = []
    try:
        made += [_sleeper(nd, "--network", "iso6a"), _sleeper(nd, "--network", "iso6b")]
        a, b = made
        ip_a = _ep(nd, a, "iso6a")["GlobalIPv6Address"]
        ip_b = _ep(nd, b, "iso6b")["GlobalIPv6Address"]
        # both are routed from the daemon's namespace: only the isolation rules stand between
        for ip in (ip_a, ip_b):
            assert _ping6_from_ns(netns, ip).returncode == 0
        bridge_b = "br-" + _net(nd, "iso6b")["Id"][:12]
        before = _drops(netns, bridge_b)
        assert _ping6(nd, a, ip_b).returncode != 0
        assert _drops(netns, bridge_b) > before  # dropped by our rule, not lost on the way
        # connected to both, a container reaches each
        ok(nd.cli("network", "connect", "iso6b", a))
        ok(_ping6(nd, a, ip_b))
    finally:
        for cid in made:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "iso6a", "iso6b")


def _drops(netns: str, bridge: str) -> int:
    """Packets dropped so far by the isolation rule for traffic into `bridge` (`-S -v` shows
    a rule's counters as `-c PACKETS BYTES`)."""
    for line in _ip6tables(netns, "-v", "-S", "DOCKERPY-ISOLATION-STAGE-2").splitlines():
        if line.startswith(f"-A DOCKERPY-ISOLATION-STAGE-2 -o {bridge} -c ") and "DROP" in line:
            return int(line.split(" -c ")[1].split()[0])
    raise AssertionError(f"no isolation rule for {bridge}")


def test_ipv6_without_subnet_gets_ula_64s(nd: Daemon):
    ok(nd.cli("network", "create", "--ipv6", "auto6a"))
    ok(nd.cli("network", "create", "--ipv6", "auto6b"))
    try:
        first, second = (_net(nd, n)["IPAM"]["Config"] for n in ("auto6a", "auto6b"))
        assert [ipaddress.ip_network(c["Subnet"]).version for c in first] == [4, 6]
        net_a, net_b = (ipaddress.IPv6Network(c[1]["Subnet"]) for c in (first, second))
        # dockerd 27+: /64s from a ULA /48 of this engine, taken in order
        assert net_a.prefixlen == net_b.prefixlen == 64
        assert net_a.subnet_of(ipaddress.IPv6Network("fd00::/8"))
        assert net_a.supernet(new_prefix=48) == net_b.supernet(new_prefix=48)
        assert int(net_b.network_address) - int(net_a.network_address) == 1 << 64
        assert first[1]["Gateway"] == str(net_a.network_address + 1)
    finally:
        nd.cli("network", "rm", "auto6a", "auto6b")


def test_ipv6_create_and_address_errors(nd: Daemon, dual: str):
    overlap = nd.cli("network", "create", "--ipv6", "--subnet", "fd00:dead:beef::/48", "ov6")
    assert overlap.returncode != 0
    assert "Pool overlaps with other one on this address space" in overlap.stderr.decode()
    taken = nd.cli("run", "--rm", "--network", dual, "--ip6", GATEWAY6, IMAGE, "true")
    assert taken.returncode != 0 and "Address already in use" in taken.stderr.decode()
    outside = nd.cli("run", "--rm", "--network", dual, "--ip6", "fd00:1::5", IMAGE, "true")
    assert outside.returncode != 0
    message = "no configured subnet or ip-range contain the IP address fd00:1::5"
    assert message in outside.stderr.decode()
    ok(nd.cli("network", "create", "--subnet", "10.240.0.0/24", "only4"))
    try:
        inspected = _net(nd, "only4")
        assert inspected["EnableIPv6"] is False
        four = _sleeper(nd, "--network", "only4")
        assert _ep(nd, four, "only4")["GlobalIPv6Address"] == ""
        assert ok(nd.cli("exec", four, "ip", "-6", "-o", "addr", "show", "scope", "global")) == ""
        nd.cli("rm", "-f", four)
        no6 = nd.cli("run", "--rm", "--network", "only4", "--ip6", "fd00:1::5", IMAGE, "true")
        assert no6.returncode != 0 and message in no6.stderr.decode()
    finally:
        nd.cli("network", "rm", "only4")


def test_restart_keeps_ipv6_addresses_and_names(nd: Daemon, dual: str):
    a = _sleeper(nd, "--name", "keep6", "--network", dual)
    ip6 = _ep(nd, a, dual)["GlobalIPv6Address"]
    nd.stop()
    nd.start()
    assert _ep(nd, a, dual)["GlobalIPv6Address"] == ip6
    b = _sleeper(nd, "--network", dual)
    assert _ep(nd, b, dual)["GlobalIPv6Address"] not in ("", ip6)  # still allocated
    assert ip6 in ok(nd.cli("exec", b, "nslookup", "-type=aaaa", "keep6", "127.0.0.11"))
