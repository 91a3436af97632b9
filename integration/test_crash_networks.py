"""kill -9 of a daemon (in a private network namespace) while networks are created, connected
to and removed and containers publishing ports come and go on them: the restart leaves no
bridge, veth, iptables/ip6tables rule or address that nothing owns.

One daemon takes several kills in a row (crashcheck.KillPoint: after N operations, some time
into the next). After each restart, besides crashcheck's container, file and network checks:
- a container running through the kill still answers on its published port;
- the embedded DNS answers, both in a container that lived through the kill and in a new one;
- IPAM holds only live endpoints: with the work's containers gone, new containers on the
  long-lived network get its first addresses again.
At the end the namespace's links and rules are what they were before the first kill, and
once the long-lived network goes too, its links are what a fresh daemon had.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import crashcheck as cc
from .conftest import IMAGE
from .daemon import Daemon
from .netutil import inspect, netns_daemon, ok, wait_http

KEEP = "keep"  # an internal network that lives through every kill: names resolve, no egress
KEEP_SUBNET = "10.99.0.0/24"  # IPv6 too, from the daemon's ULA pool
POINTS = (cc.KillPoint(1), cc.KillPoint(3, 0.05), cc.KillPoint(5, 0.2), cc.KillPoint(8, 0.1),
          cc.KillPoint(2, 0.4), cc.KillPoint(6))  # fmt: skip


@pytest.fixture(scope="module")
def nd(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    yield from netns_daemon(netns, busybox_tar)


def _steps(round_no: int) -> Iterator[tuple[str, ...]]:
    """Per turn: a network (IPv6 every other one), a server publishing a port on it, connect
    and disconnect to the long-lived network, a second container, removals."""
    i = 0
    while True:
        net, web = f"n{round_no}-{i}", f"web{round_no}-{i}"
        v6 = ["--ipv6", "--subnet", f"fd00:{round_no}:{i}::/64"] if i % 2 else []
        port = str(20000 + round_no * 100 + i)
        yield ("network", "create", "--subnet", f"10.{100 + round_no}.{i}.0/24", *v6, net)
        yield ("run", "-d", "--name", web, "--network", net, "-p", f"{port}:80", IMAGE,
               "httpd", "-f", "-p", "80", "-h", "/etc")  # fmt: skip
        yield ("network", "connect", KEEP, web)
        yield ("run", "-d", "--network", net, "--name", f"{web}-b", IMAGE, "sleep", "600")
        yield ("network", "disconnect", KEEP, web)
        yield ("rm", "-f", web, f"{web}-b")
        yield ("network", "rm", net)
        i += 1


def _published(nd: Daemon) -> dict[str, str]:
    """Running containers' published host ports → the container's hostname."""
    ports = {}
    for cid in cc.ids(nd, "ps", "-q", "--no-trunc"):
        info = inspect(nd, cid)
        for bindings in (info["NetworkSettings"]["Ports"] or {}).values():
            for b in bindings or []:
                ports[b["HostPort"]] = info["Config"]["Hostname"]
    return ports


def _resolves(nd: Daemon, container: str, name: str) -> None:
    answer = ok(nd.cli("exec", container, "nslookup", name))
    assert inspect(nd, name)["NetworkSettings"]["Networks"][KEEP]["IPAddress"] in answer


def _addresses(nd: Daemon, count: int) -> list[str]:
    made = [ok(nd.cli("run", "-d", "--network", KEEP, IMAGE, "sleep", "60")) for _ in range(count)]
    try:
        return [inspect(nd, c)["NetworkSettings"]["Networks"][KEEP]["IPAddress"] for c in made]
    finally:
        ok(nd.cli("rm", "-f", *made))


def test_kill_9_mid_network_work_restarts_clean(nd: Daemon, netns: str) -> None:
    fresh_links = cc.netns_links(netns)
    ok(nd.cli("network", "create", "--internal", "--subnet", KEEP_SUBNET, "--ipv6", KEEP))
    ok(nd.cli("run", "-d", "--name", "keeper", "--network", KEEP, IMAGE, "sleep", "3600"))
    kept_links, kept_rules = cc.netns_links(netns), cc.netns_rules(netns)
    first = [f"10.99.0.{n}" for n in range(3, 6)]  # .2 is the keeper's
    for round_no, point in enumerate(POINTS):
        cc.kill_during(nd, _steps(round_no), point)
        nd.start()
        cc.check_all(nd)
        cc.check_networks(nd, netns)
        for port, hostname in _published(nd).items():
            page = wait_http(netns, f"http://127.0.0.1:{port}/hostname")
            assert page.returncode == 0 and page.stdout.decode().strip() == hostname, port
        probe = ok(nd.cli("run", "-d", "--name", "probe", "--network", KEEP, IMAGE, "sleep", "60"))
        _resolves(nd, "keeper", "probe")
        _resolves(nd, probe, "keeper")
        ok(nd.cli("rm", "-f", probe))
        for cid in cc.ids(nd, "ps", "-aq", "--no-trunc"):
            if cid != inspect(nd, "keeper")["Id"]:
                ok(nd.cli("rm", "-f", cid))
        assert _addresses(nd, 3) == first, f"addresses leaked at {point}"
        for net in cc.inspect(nd, "network", "inspect", *cc.ids(nd, "network", "ls", "-q")):
            if net["Name"] not in ("bridge", "host", "none", KEEP):
                ok(nd.cli("network", "rm", net["Id"]))
        cc.check_networks(nd, netns)
    assert (cc.netns_links(netns), cc.netns_rules(netns)) == (kept_links, kept_rules)
    cc.remove_containers(nd)
    ok(nd.cli("network", "rm", KEEP))
    assert cc.netns_links(netns) == fresh_links
