"""Networking features beyond plain bridges, end to end with the real docker CLI against a
daemon of our own in a private network namespace: rename seen by the embedded DNS,
`enable_icc=false`, legacy `--link` (default bridge and user networks) and macvlan on a veth
parent made inside that namespace. Traffic stays between the test's containers; the networks
whose tests look names up are `--internal`, so unknown names are never forwarded."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .conftest import IMAGE
from .daemon import Daemon
from .netutil import in_ns, inspect, netns_daemon, ok


@pytest.fixture(scope="module")
def nd(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    yield from netns_daemon(netns, busybox_tar)


def _ip(nd: Daemon, ref: str, network: str) -> str:
    return inspect(nd, ref)["NetworkSettings"]["Networks"][network]["IPAddress"]


def _net(nd: Daemon, ref: str) -> dict:
    return json.loads(ok(nd.cli("network", "inspect", ref)))[0]


def _sleeper(nd: Daemon, *args: str) -> str:
    return ok(nd.cli("run", "-d", *args, IMAGE, "sleep", "600"))


def _ping(nd: Daemon, container: str, target: str):
    return nd.cli("exec", container, "ping", "-c", "1", "-W", "2", target)


def test_rename_is_seen_by_the_embedded_dns_and_network_inspect(nd: Daemon):
    ok(nd.cli("network", "create", "--internal", "--subnet", "10.251.0.0/24", "rnet"))
    made: list[str] = []
    try:
        made += [_sleeper(nd, "--name", "rn-old", "--network", "rnet")]
        made += [_sleeper(nd, "--network", "rnet")]
        target, asker = made
        ip = _ip(nd, target, "rnet")
        assert ip in ok(nd.cli("exec", asker, "nslookup", "rn-old"))
        ok(nd.cli("rename", "rn-old", "rn-new"))
        assert ip in ok(nd.cli("exec", asker, "nslookup", "rn-new"))
        assert ip in ok(nd.cli("exec", asker, "nslookup", "rn-new.rnet"))
        assert nd.cli("exec", asker, "nslookup", "rn-old").returncode != 0
        assert "rn-new.rnet" in ok(nd.cli("exec", asker, "nslookup", ip))  # PTR too
        assert _net(nd, "rnet")["Containers"][target]["Name"] == "rn-new"
        names = inspect(nd, target)["NetworkSettings"]["Networks"]["rnet"]["DNSNames"]
        assert "rn-new" in names and "rn-old" not in names
        nd.stop()  # the new names were stored: a live-restored container keeps them
        nd.start()
        assert ip in ok(nd.cli("exec", asker, "nslookup", "rn-new"))
        assert nd.cli("exec", asker, "nslookup", "rn-old").returncode != 0
    finally:
        for cid in made:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "rnet")


def test_icc_false_drops_traffic_between_containers_of_the_network(nd: Daemon, netns: str):
    icc = "com.docker.network.bridge.enable_icc"
    ok(nd.cli("network", "create", "-o", f"{icc}=false", "--subnet", "10.252.0.0/24", "noicc"))
    ok(nd.cli("network", "create", "--subnet", "10.252.1.0/24", "withicc"))
    made: list[str] = []
    try:
        for net in ("noicc", "withicc"):
            made += [_sleeper(nd, "--network", net), _sleeper(nd, "--network", net)]
        quiet_a, quiet_b, chatty_a, chatty_b = made
        info = _net(nd, "noicc")
        assert info["Options"] == {icc: "false"}
        bridge = "br-" + info["Id"][:12]
        rules = ok(in_ns(netns, "iptables", "-w", "-S", "DOCKERPY-FORWARD")).splitlines()
        assert f"-A DOCKERPY-FORWARD -i {bridge} -o {bridge} -j DROP" in rules
        assert _ping(nd, quiet_b, _ip(nd, quiet_a, "noicc")).returncode != 0
        # what icc does not cover still works: the gateway and the embedded DNS
        assert _ping(nd, quiet_b, "10.252.0.1").returncode == 0
        name_a = inspect(nd, quiet_a)["Name"].lstrip("/")
        assert _ip(nd, quiet_a, "noicc") in ok(nd.cli("exec", quiet_b, "nslookup", name_a))
        # the same two containers on a network with icc reach each other
        ok(_ping(nd, chatty_b, _ip(nd, chatty_a, "withicc")))
    finally:
        for cid in made:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "noicc", "withicc")


def test_legacy_links_on_the_default_bridge(nd: Daemon):
    child = _sleeper(nd, "--name", "lk-child", "-e", "FOO=bar", "--expose", "80",
                     "--expose", "81", "--expose", "53/udp")  # fmt: skip
    try:
        ip = _ip(nd, child, "bridge")
        parent = _sleeper(nd, "--name", "lk-parent", "--link", "lk-child:db")
        assert inspect(nd, parent)["HostConfig"]["Links"] == ["/lk-child:/lk-parent/db"]
        env = ok(nd.cli("exec", parent, "env")).splitlines()
        link_env = sorted(e for e in env if e.startswith("DB_"))
        assert link_env == sorted([
            f"DB_PORT=tcp://{ip}:80",
            *(f"DB_PORT_{p}_TCP{suffix}" for p in (80, 81) for suffix in (
                f"=tcp://{ip}:{p}", f"_ADDR={ip}", f"_PORT={p}", "_PROTO=tcp")),
            f"DB_PORT_80_TCP_START=tcp://{ip}:80",
            "DB_PORT_80_TCP_PORT_START=80",
            f"DB_PORT_80_TCP_END=tcp://{ip}:81",
            "DB_PORT_80_TCP_PORT_END=81",
            f"DB_PORT_53_UDP=udp://{ip}:53",
            f"DB_PORT_53_UDP_ADDR={ip}",
            "DB_PORT_53_UDP_PORT=53",
            "DB_PORT_53_UDP_PROTO=udp",
            "DB_NAME=/lk-parent/db",
            "DB_ENV_FOO=bar",
        ])  # fmt: skip
        hosts = ok(nd.cli("exec", parent, "cat", "/etc/hosts")).splitlines()
        assert f"{ip}\tdb {child[:12]} lk-child" in hosts
        assert ip in ok(_ping(nd, parent, "db"))
        plain = ok(nd.cli("run", "--rm", "--link", "lk-child", IMAGE, "cat", "/etc/hosts"))
        assert f"{ip}\tlk-child {child[:12]}" in plain.splitlines()  # alias = name: once
        # the child comes back with another address: the parent's line follows it
        ok(nd.cli("stop", "-t", "0", child))
        filler = _sleeper(nd)
        assert _ip(nd, filler, "bridge") == ip
        ok(nd.cli("start", child))
        moved = _ip(nd, child, "bridge")
        assert moved != ip
        hosts = ok(nd.cli("exec", parent, "cat", "/etc/hosts")).splitlines()
        assert f"{moved}\tdb {child[:12]} lk-child" in hosts
        assert f"{ip}\tdb {child[:12]} lk-child" not in hosts
        nd.cli("rm", "-f", filler)
    finally:
        nd.cli("rm", "-f", "lk-parent", "lk-child")


def test_legacy_link_errors(nd: Daemon):
    missing = nd.cli("run", "--rm", "--link", "nosuch:x", IMAGE, "true")
    assert missing.returncode != 0
    assert "could not get container for nosuch" in missing.stderr.decode()
    host = nd.cli("create", "--network", "host", "--link", "nosuch:x", IMAGE, "true")
    assert host.returncode != 0
    assert "host type networking can't be used with links" in host.stderr.decode()
    ok(nd.cli("create", "--name", "lk-stopped", IMAGE, "true"))
    try:
        ok(nd.cli("create", "--name", "lk-p2", "--link", "lk-stopped:s", IMAGE, "true"))
        refused = nd.cli("start", "lk-p2")
        assert refused.returncode != 0
        message = "Cannot link to a non running container: /lk-stopped AS /lk-p2/s"
        assert message in refused.stderr.decode()
    finally:
        nd.cli("rm", "-f", "lk-p2", "lk-stopped")


def test_links_on_a_user_network_are_aliases_of_the_linking_container(nd: Daemon):
    ok(nd.cli("network", "create", "--internal", "--subnet", "10.254.0.0/24", "lknet"))
    try:
        target = _sleeper(nd, "--name", "lk-u1", "--network", "lknet")
        # a link to a container that does not exist yet is accepted there (dockerd's)
        linker = _sleeper(nd, "--name", "lk-u2", "--network", "lknet",
                          "--link", "lk-u1:foo", "--link", "lk-later:bar")  # fmt: skip
        info = inspect(nd, linker)
        assert info["HostConfig"]["Links"] is None
        assert info["NetworkSettings"]["Networks"]["lknet"]["Links"] == [
            "lk-u1:foo",
            "lk-later:bar",
        ]
        ip = _ip(nd, target, "lknet")
        assert ip in ok(nd.cli("exec", linker, "nslookup", "foo"))
        assert ip in ok(nd.cli("exec", linker, "nslookup", "foo.lknet"))
        other = nd.cli("run", "--rm", "--network", "lknet", IMAGE, "nslookup", "foo")
        assert other.returncode != 0  # the alias is the linking container's alone
        assert nd.cli("exec", linker, "nslookup", "bar").returncode != 0
        later = _sleeper(nd, "--name", "lk-later", "--network", "lknet")
        assert _ip(nd, later, "lknet") in ok(nd.cli("exec", linker, "nslookup", "bar"))
    finally:
        nd.cli("rm", "-f", "lk-u1", "lk-u2", "lk-later")
        nd.cli("network", "rm", "lknet")


@pytest.fixture
def veth_parent(netns: str) -> Iterator[str]:
    """A veth pair inside the test namespace, both ends up: the parent for macvlan links."""
    ok(in_ns(netns, "ip", "link", "add", "mvp0", "type", "veth", "peer", "name", "mvp1"))
    try:
        for end in ("mvp0", "mvp1"):
            ok(in_ns(netns, "ip", "link", "set", end, "up"))
        yield "mvp0"
    finally:
        in_ns(netns, "ip", "link", "del", "mvp0")


def test_macvlan_network(nd: Daemon, netns: str, veth_parent: str):
    ok(nd.cli("network", "create", "-d", "macvlan", "-o", f"parent={veth_parent}",
              "--subnet", "10.250.0.0/24", "--gateway", "10.250.0.1", "mvnet"))  # fmt: skip
    made: list[str] = []
    try:
        info = _net(nd, "mvnet")
        assert info["Driver"] == "macvlan" and info["Scope"] == "local"
        assert info["Options"] == {"parent": veth_parent}
        assert info["IPAM"]["Config"] == [{"Subnet": "10.250.0.0/24", "Gateway": "10.250.0.1"}]
        made.append(_sleeper(nd, "--name", "mv-a", "--network", "mvnet", "--ip", "10.250.0.10"))
        made.append(_sleeper(nd, "--name", "mv-b", "--network", "mvnet"))
        settings = inspect(nd, "mv-b")["NetworkSettings"]["Networks"]["mvnet"]
        ip_b = settings["IPAddress"]
        assert ip_b.startswith("10.250.0.") and settings["Gateway"] == "10.250.0.1"
        assert settings["IPPrefixLen"] == 24 and settings["MacAddress"]
        containers = _net(nd, "mvnet")["Containers"]
        assert {c["Name"] for c in containers.values()} == {"mv-a", "mv-b"}
        assert containers[made[0]]["IPv4Address"] == "10.250.0.10/24"
        # eth0 is a bridge-mode macvlan link of the parent; nothing is left on the host side
        pid = str(inspect(nd, "mv-a")["State"]["Pid"])
        link = ok(in_ns(f"/proc/{pid}/ns/net", "ip", "-d", "link", "show", "eth0"))
        assert "macvlan mode bridge" in link
        assert ok(in_ns(netns, "ip", "-o", "link", "show", "type", "macvlan")) == ""
        # the two containers reach each other over it, by address and by name
        assert "10.250.0.10" in ok(_ping(nd, "mv-b", "mv-a"))
        ok(_ping(nd, "mv-a", ip_b))
        ok(nd.cli("network", "disconnect", "mvnet", "mv-b"))
        links = ok(nd.cli("exec", "mv-b", "ls", "/sys/class/net")).split()
        assert links == ["lo"]
        assert _ping(nd, "mv-a", ip_b).returncode != 0
    finally:
        for cid in made:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "mvnet")
    assert "mvnet" not in ok(nd.cli("network", "ls", "--format", "{{.Name}}")).split()


def test_macvlan_create_errors(nd: Daemon, veth_parent: str):
    def create(*args: str) -> str:
        result = nd.cli("network", "create", "-d", "macvlan", *args)
        assert result.returncode != 0
        return result.stderr.decode()

    assert "invalid subinterface vlan name nosuch, example formatting is eth0.10" in create(
        "-o", "parent=nosuch", "bad1"
    )
    assert "-o parent interface was not found on the host: nosuch" in create(
        "-o", "parent=nosuch.10", "bad2"
    )
    assert "loopback interface is not a valid macvlan parent link" in create(
        "-o", "parent=lo", "bad3"
    )
    assert "requested macvlan mode 'weird' is not valid" in create(
        "-o", f"parent={veth_parent}", "-o", "macvlan_mode=weird", "bad4"
    )
    ok(nd.cli("network", "create", "-d", "macvlan", "-o", f"parent={veth_parent}",
                      "--subnet", "10.250.1.0/24", "mv1"))  # fmt: skip
    try:
        # two networks may share a parent, but not with passthru
        ok(nd.cli("network", "create", "-d", "macvlan", "-o", f"parent={veth_parent}",
                  "--subnet", "10.250.2.0/24", "mv2"))  # fmt: skip
        message = create("-o", f"parent={veth_parent}", "-o", "macvlan_mode=passthru", "mv3")
        assert "cannot use mode passthru, macvlan network " in message
        assert f"is already using parent interface {veth_parent}" in message
    finally:
        nd.cli("network", "rm", "mv1", "mv2")
