"""`userland-proxy: false`: published ports reached from the daemon's own loopback by DNAT
alone ("hairpin NAT": the OUTPUT jump takes 127.0.0.0/8 too, the bridge gets route_localnet
and locally sourced packets leaving through it are masqueraded). The port's listener then
only reserves the port and never carries a byte, so an answer proves the NAT path. Runs a
daemon of its own in a private network namespace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import IMAGE
from .daemon import Daemon
from .netutil import in_ns, netns_daemon, ok, wait_http


@pytest.fixture(scope="module")
def nd(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    yield from netns_daemon(netns, busybox_tar, "--userland-proxy=false")


def test_loopback_reaches_a_published_port_by_nat(nd: Daemon, netns: str):
    web = ok(nd.cli("run", "-d", "-p", "18280:80", IMAGE,
                    "httpd", "-f", "-p", "80", "-h", "/etc"))  # fmt: skip
    try:
        page = wait_http(netns, "http://127.0.0.1:18280/hostname")
        assert page.returncode == 0, page.stderr
        assert page.stdout.decode().strip() == web[:12]
        output = ok(in_ns(netns, "iptables", "-w", "-t", "nat", "-S", "OUTPUT"))
        assert "-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKERPY" in output.splitlines()
        assert "127.0.0.0/8" not in output
        localnet = ok(in_ns(netns, "cat", "/proc/sys/net/ipv4/conf/dockerpy0/route_localnet"))
        assert localnet == "1"
    finally:
        nd.cli("rm", "-f", web)


def test_switching_back_to_the_proxy_restores_the_loopback_exclusion(nd: Daemon, netns: str):
    nd.stop()
    nd.start("--userland-proxy=true")
    try:
        output = ok(in_ns(netns, "iptables", "-w", "-t", "nat", "-S", "OUTPUT")).splitlines()
        jumps = [rule for rule in output if rule.endswith("-j DOCKERPY")]
        assert jumps == ["-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKERPY"]
    finally:
        nd.stop()
        nd.start("--userland-proxy=false")
