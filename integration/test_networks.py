"""Networking end to end: a daemon of our own inside a private network namespace (its bridges,
veths and iptables rules never touch the host's), driven with the real docker CLI. Traffic goes
only between the test's containers and to 127.0.0.1 inside that namespace."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import docker
import pytest

from .conftest import IMAGE
from .daemon import Daemon
from .netutil import in_ns, inspect, netns_daemon, ok, wait_http

BUSYBOX = shutil.which("busybox") or "/bin/busybox"  # ping from the daemon's namespace


@pytest.fixture(scope="module")
def nd(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    yield from netns_daemon(netns, busybox_tar)


def _get(host: str, path: str = "/hostname") -> list[str]:
    """A busybox command fetching http://host:80/path (static busybox's wget crashes on
    name lookups inside containers; nc does plain HTTP/1.0 fine)."""
    request = f"GET {path} HTTP/1.0\\r\\n\\r\\n"
    return ["sh", "-c", f"set -o pipefail; printf '{request}' | nc -w 3 {host} 80 | tail -n 1"]


def test_default_networks_are_listed(nd: Daemon):
    names = ok(nd.cli("network", "ls", "--format", "{{.Name}} {{.Driver}}")).splitlines()
    assert sorted(names) == ["bridge bridge", "host host", "none null"]
    bridge = json.loads(ok(nd.cli("network", "inspect", "bridge")))[0]
    assert bridge["IPAM"]["Config"] == [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    refused = nd.cli("network", "rm", "bridge")
    assert refused.returncode != 0
    assert "bridge is a pre-defined network and cannot be removed" in refused.stderr.decode()


def test_default_bridge_gives_addresses_and_containers_reach_each_other(nd: Daemon, netns):
    server = ok(nd.cli("run", "-d", "--name", "srv", IMAGE, "httpd", "-f", "-p", "80",
                        "-h", "/etc"))  # fmt: skip
    try:
        info = inspect(nd, server)
        settings = info["NetworkSettings"]
        ip = settings["IPAddress"]
        assert ip.startswith("172.17.0.")
        assert settings["Gateway"] == "172.17.0.1"
        assert settings["IPPrefixLen"] == 16
        assert settings["MacAddress"] == "02:42:ac:11:" + ":".join(
            f"{int(x):02x}" for x in ip.split(".")[2:]
        )
        net = settings["Networks"]["bridge"]
        assert net["IPAddress"] == ip and net["EndpointID"] == settings["EndpointID"]
        assert net["NetworkID"] == json.loads(ok(nd.cli("network", "inspect", "bridge")))[0]["Id"]
        hosts = ok(nd.cli("exec", server, "cat", "/etc/hosts"))
        assert hosts.endswith(f"{ip}\t{server[:12]}")
        # another container reaches it by address (ping and http)
        assert ok(nd.cli("run", "--rm", IMAGE, "ping", "-c", "1", "-W", "3", ip))
        page = ok(nd.cli("run", "--rm", IMAGE, *_get(f"{ip}")))
        assert page == server[:12]
        # the daemon's namespace reaches it through the bridge
        assert in_ns(netns, BUSYBOX, "ping", "-c", "1", "-W", "3", ip).returncode == 0
        containers = json.loads(ok(nd.cli("network", "inspect", "bridge")))[0]["Containers"]
        assert containers[server]["Name"] == "srv"
        assert containers[server]["IPv4Address"] == f"{ip}/16"
    finally:
        nd.cli("rm", "-f", server)
    # the address went back to the pool, the veth is gone
    again = ok(nd.cli("run", "--rm", IMAGE, "sh", "-c", "ip -4 -o addr show eth0"))
    assert f"inet {ip}/16" in again


def test_stopped_container_keeps_its_network_but_no_address(nd: Daemon):
    cid = ok(nd.cli("create", IMAGE, "true"))
    try:
        net = inspect(nd, cid)["NetworkSettings"]["Networks"]["bridge"]
        assert net["IPAddress"] == "" and net["EndpointID"] == ""
        assert ok(nd.cli("start", "-a", cid)) == ""
        after = inspect(nd, cid)["NetworkSettings"]
        assert after["IPAddress"] == "" and after["Networks"]["bridge"]["IPAddress"] == ""
    finally:
        nd.cli("rm", "-f", cid)


def test_published_port_answers_on_loopback_and_clash_fails(nd: Daemon, netns):
    web = ok(nd.cli("run", "-d", "--name", "web", "-p", "18080:80", "-p", "127.0.0.1::81",
                     IMAGE, "httpd", "-f", "-p", "80", "-h", "/etc"))  # fmt: skip
    try:
        page = wait_http(netns, "http://127.0.0.1:18080/hostname")
        assert page.returncode == 0, page.stderr
        assert page.stdout.decode().strip() == web[:12]
        ports = ok(nd.cli("port", web)).splitlines()
        assert "80/tcp -> 0.0.0.0:18080" in ports
        random = [p for p in ports if p.startswith("81/tcp -> 127.0.0.1:")]
        assert random and int(random[0].rsplit(":", 1)[1]) >= 1024
        row = ok(nd.cli("ps", "--filter", f"id={web}", "--format", "{{.Ports}}"))
        assert "0.0.0.0:18080->80/tcp" in row
        clash = nd.cli("run", "-d", "--name", "web2", "-p", "18080:80", IMAGE, "sleep", "60")
        assert clash.returncode != 0
        message = clash.stderr.decode()
        assert "Bind for 0.0.0.0:18080 failed: port is already allocated" in message
        assert "driver failed programming external connectivity on endpoint web2" in message
        state = inspect(nd, "web2")["State"]
        assert state["Status"] in ("created", "exited")
        # nothing left behind: only web's own rules mention 18080
        rules = ok(in_ns(netns, "iptables", "-w", "-t", "nat", "-S", "DOCKERPY"))
        assert rules.count("--dport 18080") == 1
        nd.cli("rm", "-f", "web2")
    finally:
        nd.cli("rm", "-f", web)
    rules = ok(in_ns(netns, "iptables", "-w", "-t", "nat", "-S", "DOCKERPY"))
    assert "18080" not in rules
    # the port is free again
    again = ok(nd.cli("run", "-d", "-p", "18080:80", IMAGE, "httpd", "-f", "-p", "80"))
    nd.cli("rm", "-f", again)


def test_user_networks_are_isolated(nd: Daemon, netns):
    ok(nd.cli("network", "create", "--subnet", "10.231.0.0/24", "neta"))
    ok(nd.cli("network", "create", "netb"))
    a = b = a2 = ""
    try:
        a = ok(nd.cli("run", "-d", "--network", "neta", "--ip", "10.231.0.50",
                       "--network-alias", "alpha", IMAGE,
                       "httpd", "-f", "-p", "80", "-h", "/etc"))  # fmt: skip
        b = ok(nd.cli("run", "-d", "--network", "netb", IMAGE, "httpd", "-f", "-p", "80",
                       "-h", "/etc"))  # fmt: skip
        info_a = inspect(nd, a)["NetworkSettings"]
        assert info_a["IPAddress"] == ""  # top-level fields are the default bridge's
        net_a = info_a["Networks"]["neta"]
        assert net_a["IPAddress"] == "10.231.0.50" and net_a["Gateway"] == "10.231.0.1"
        assert net_a["IPAMConfig"] == {"IPv4Address": "10.231.0.50"}
        assert net_a["Aliases"] == ["alpha"]
        assert "alpha" in net_a["DNSNames"]
        ip_b = inspect(nd, b)["NetworkSettings"]["Networks"]["netb"]["IPAddress"]
        assert ip_b.startswith("172.18.")
        # same network: reachable
        a2 = ok(nd.cli("run", "--rm", "--network", "neta", IMAGE,
                        *_get("10.231.0.50")))  # fmt: skip
        assert a2 == a[:12]
        # other network: not reachable (dropped by the isolation chains)
        cross = nd.cli("run", "--rm", "--network", "neta", IMAGE,
                       *_get(f"{ip_b}"))  # fmt: skip
        assert cross.returncode != 0
        # connect b to neta too: now it reaches a
        ok(nd.cli("network", "connect", "--alias", "beta", "neta", b))
        page = ok(nd.cli("exec", b, *_get("10.231.0.50")))
        assert page == a[:12]
        nets = inspect(nd, b)["NetworkSettings"]["Networks"]
        assert set(nets) == {"neta", "netb"}
        assert nets["neta"]["IPAddress"].startswith("10.231.0.")
        again = nd.cli("network", "connect", "neta", b)
        assert "already exists in network neta" in again.stderr.decode()
        ok(nd.cli("network", "disconnect", "neta", b))
        assert set(inspect(nd, b)["NetworkSettings"]["Networks"]) == {"netb"}
        links = ok(nd.cli("exec", b, "ls", "/sys/class/net")).split()
        assert sorted(links) == ["eth0", "lo"]
        # static address in use
        taken = nd.cli("run", "--rm", "--network", "neta", "--ip", "10.231.0.50", IMAGE, "true")
        assert taken.returncode != 0 and "Address already in use" in taken.stderr.decode()
        # rm with active endpoints
        busy = nd.cli("network", "rm", "neta")
        assert busy.returncode != 0
        assert "has active endpoints" in busy.stderr.decode()
    finally:
        for c in (a, b):
            if c:
                nd.cli("rm", "-f", c)
        nd.cli("network", "rm", "neta", "netb")
    names = ok(nd.cli("network", "ls", "--format", "{{.Name}}")).split()
    assert "neta" not in names and "netb" not in names
    bridges = ok(in_ns(netns, "ip", "-o", "link", "show", "type", "bridge"))
    assert "br-" not in bridges


def test_network_create_errors_filters_and_prune(nd: Daemon):
    ok(nd.cli("network", "create", "--subnet", "10.232.0.0/24", "--label", "k=v", "pn1"))
    try:
        dup = nd.cli("network", "create", "pn1")
        assert dup.returncode != 0
        assert "network with name pn1 already exists" in dup.stderr.decode()
        overlap = nd.cli("network", "create", "--subnet", "10.232.0.128/25", "pn2")
        assert overlap.returncode != 0
        assert "Pool overlaps with other one on this address space" in overlap.stderr.decode()
        missing = nd.cli("network", "inspect", "nosuchnet")
        assert missing.returncode != 0 and "nosuchnet" in missing.stderr.decode()
        # a 404 at create, as dockerd's (the CLI would try a pull on it: --pull=never)
        unknown = nd.cli("run", "--rm", "--pull=never", "--network", "nosuchnet", IMAGE, "true")
        assert unknown.returncode != 0
        assert "network nosuchnet not found" in unknown.stderr.decode()
        labelled = ok(nd.cli("network", "ls", "-f", "label=k=v", "--format", "{{.Name}}"))
        assert labelled.split() == ["pn1"]
        custom = ok(nd.cli("network", "ls", "-f", "type=custom", "--format", "{{.Name}}"))
        assert custom.split() == ["pn1"]
        pruned = ok(nd.cli("network", "prune", "-f"))
        assert "pn1" in pruned
    finally:
        nd.cli("network", "rm", "pn1")
    assert "pn1" not in ok(nd.cli("network", "ls", "--format", "{{.Name}}")).split()


def test_restart_keeps_networks_and_live_addresses(nd: Daemon, netns):
    ok(nd.cli("network", "create", "--subnet", "10.233.0.0/24", "keep"))
    cid = ""
    try:
        cid = ok(nd.cli("run", "-d", "--network", "keep", "-p", "18181:80", IMAGE,
                         "httpd", "-f", "-p", "80", "-h", "/etc"))  # fmt: skip
        ip = inspect(nd, cid)["NetworkSettings"]["Networks"]["keep"]["IPAddress"]
        nd.stop()
        nd.start()
        assert inspect(nd, cid)["NetworkSettings"]["Networks"]["keep"]["IPAddress"] == ip
        page = wait_http(netns, "http://127.0.0.1:18181/hostname")
        assert page.returncode == 0 and page.stdout.decode().strip() == cid[:12]
        second = ok(nd.cli("run", "--rm", "--network", "keep", IMAGE,
                            *_get(f"{ip}")))  # fmt: skip
        assert second == cid[:12]
    finally:
        if cid:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "keep")


def test_the_gateway_moves_to_what_is_left_after_a_disconnect(nd: Daemon, netns):
    """docker's `connect n1` then `disconnect bridge`, and compose 1.x's disconnect and
    connect again of the network it created the container on (to set aliases): the next
    start routes and publishes through the network the container is left on."""
    ok(nd.cli("network", "create", "--subnet", "10.234.0.0/24", "gwnet"))
    made = []
    try:
        moved = ok(
            nd.cli("create", "-p", "18095:80", IMAGE, "httpd", "-f", "-p", "80", "-h", "/etc")
        )
        made.append(moved)
        ok(nd.cli("network", "connect", "gwnet", moved))
        ok(nd.cli("network", "disconnect", "bridge", moved))
        again = ok(nd.cli("create", "--network", "gwnet", "-p", "18096:80", IMAGE,
                          "httpd", "-f", "-p", "80", "-h", "/etc"))  # fmt: skip
        made.append(again)
        ok(nd.cli("network", "disconnect", "gwnet", again))
        ok(nd.cli("network", "connect", "--alias", again[:12], "--alias", "web", "gwnet", again))
        for cid, port in ((moved, 18095), (again, 18096)):
            ok(nd.cli("start", cid))
            page = wait_http(netns, f"http://127.0.0.1:{port}/hostname")
            assert page.returncode == 0 and page.stdout.decode().strip() == cid[:12]
            assert ok(nd.cli("port", cid)) == f"80/tcp -> 0.0.0.0:{port}"
            route = ok(nd.cli("exec", cid, "ip", "route", "show", "default"))
            assert route.startswith("default via 10.234.0.1 ")
        names = inspect(nd, again)["NetworkSettings"]["Networks"]["gwnet"]["DNSNames"]
        assert len(names) == len(set(names)) and again[:12] in names and "web" in names
    finally:
        for cid in made:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "gwnet")


def test_api_before_1_45_lists_the_short_id_and_hostname_as_aliases(nd: Daemon):
    ok(nd.cli("network", "create", "aliasnet"))
    cid = ""
    try:
        cid = ok(nd.cli("run", "-d", "--network", "aliasnet", "--network-alias", "svc",
                        "--hostname", "hn", IMAGE, "sleep", "60"))  # fmt: skip
        now = docker.APIClient(base_url=nd.host, version="1.51").inspect_container(cid)
        old = docker.APIClient(base_url=nd.host, version="1.44").inspect_container(cid)
        assert now["NetworkSettings"]["Networks"]["aliasnet"]["Aliases"] == ["svc"]
        assert old["NetworkSettings"]["Networks"]["aliasnet"]["Aliases"] == ["svc", cid[:12], "hn"]
    finally:
        if cid:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "aliasnet")


@pytest.mark.parametrize("version", ["1.43", "1.51"])
def test_a_container_wide_mac_address_reaches_the_endpoint(nd: Daemon, version: str):
    """docker-py's `mac_address=` is the container-wide field: dockerd moves it to the main
    network's endpoint (with a deprecation warning from API 1.44 on)."""
    api = docker.APIClient(base_url=nd.host, version=version)
    created = api.create_container(IMAGE, "sleep 60", mac_address="02:42:ac:11:00:99")
    try:
        assert bool(created["Warnings"]) == (version == "1.51")
        api.start(created["Id"])
        link = ok(nd.cli("exec", created["Id"], "cat", "/sys/class/net/eth0/address"))
        assert link == "02:42:ac:11:00:99"
        info = api.inspect_container(created["Id"])
        assert info["NetworkSettings"]["Networks"]["bridge"]["MacAddress"] == "02:42:ac:11:00:99"
    finally:
        api.remove_container(created["Id"], force=True)
