"""Embedded DNS end to end: a daemon of our own in a private network namespace, containers
asking 127.0.0.11 with busybox nslookup. Names the embedded server doesn't know go only to a
tiny DNS server this test runs on an address of lo inside that namespace (via `--dns`);
nothing is ever sent to a real resolver."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import IMAGE
from .daemon import Daemon
from .netutil import netns_daemon, ok

UPSTREAM = "10.253.77.1"  # the tiny server, on lo of the test namespace (no dummy module here)

_SERVER = """
import socket, sys
from dnslib import DNSRecord, RR, QTYPE, A, RCODE
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
log = open(sys.argv[2], "a", buffering=1)
while True:
    data, addr = s.recvfrom(4096)
    q = DNSRecord.parse(data)
    log.write(str(q.q.qname) + "\\n")
    r = q.reply()
    if str(q.q.qname).rstrip(".") == "outside.test":
        if q.q.qtype == QTYPE.A:
            r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("192.0.2.77"), ttl=5))
    else:
        r.header.rcode = RCODE.NXDOMAIN
    s.sendto(r.pack(), addr)
"""


@pytest.fixture(scope="module")
def upstream(netns: str, tmp_path_factory) -> Iterator[Path]:
    """The tiny DNS server; yields the file it logs every query name to."""
    subprocess.run(["ip", "-n", netns, "addr", "add", f"{UPSTREAM}/32", "dev", "lo"], check=True)
    queries = tmp_path_factory.mktemp("dns") / "queries"
    queries.touch()
    proc = subprocess.Popen(
        ["nsenter", f"--net=/var/run/netns/{netns}", sys.executable, "-c", _SERVER, UPSTREAM,
         str(queries)],
    )  # fmt: skip
    time.sleep(0.5)
    try:
        yield queries
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def nd(netns: str, upstream: Path, busybox_tar: str) -> Iterator[Daemon]:
    yield from netns_daemon(netns, busybox_tar)


def _ip(nd: Daemon, ref: str, network: str) -> str:
    info = json.loads(ok(nd.cli("inspect", ref)))[0]
    return info["NetworkSettings"]["Networks"][network]["IPAddress"]


def _lookup(nd: Daemon, network: str, name: str, *extra: str):
    return nd.cli("run", "--rm", "--network", network, *extra, IMAGE, "nslookup", name)


@pytest.fixture(scope="module")
def pair(nd: Daemon) -> Iterator[tuple[str, str]]:
    """Two containers on network `dnsa` sharing the alias `svc`."""
    ok(nd.cli("network", "create", "--subnet", "10.241.0.0/24", "dnsa"))
    ids = []
    try:
        for name in ("alpha", "beta"):
            ids.append(ok(nd.cli("run", "-d", "--name", name, "--network", "dnsa",
                                  "--network-alias", "svc", "--dns", UPSTREAM,
                                  IMAGE, "sleep", "600")))  # fmt: skip
        yield ids[0], ids[1]
    finally:
        for cid in ids:
            nd.cli("rm", "-f", cid)
        nd.cli("network", "rm", "dnsa")


def test_containers_resolve_each_other_by_name_alias_and_id(nd: Daemon, pair):
    alpha, beta = pair
    ip_a, ip_b = _ip(nd, alpha, "dnsa"), _ip(nd, beta, "dnsa")
    resolv = ok(nd.cli("exec", alpha, "cat", "/etc/resolv.conf"))
    assert "nameserver 127.0.0.11" in resolv and UPSTREAM not in resolv
    out = ok(nd.cli("exec", alpha, "nslookup", "beta"))
    assert ip_b in out
    assert ip_a in ok(nd.cli("exec", beta, "nslookup", "alpha"))
    assert ip_a in ok(nd.cli("exec", beta, "nslookup", alpha[:12]))
    both = ok(_lookup(nd, "dnsa", "svc"))
    assert ip_a in both and ip_b in both
    reverse = ok(nd.cli("exec", alpha, "nslookup", ip_b))
    assert "beta.dnsa" in reverse
    ping = ok(nd.cli("exec", alpha, "ping", "-c", "1", "-W", "3", "beta"))
    assert ip_b in ping


def test_network_alias_on_connect(nd: Daemon, pair):
    alpha, _ = pair
    ok(nd.cli("network", "create", "--subnet", "10.242.0.0/24", "dnsc"))
    other = ""
    try:
        other = ok(nd.cli("run", "-d", "--network", "dnsc", IMAGE, "sleep", "600"))
        ok(nd.cli("network", "connect", "--alias", "gamma", "dnsa", other))
        ip = _ip(nd, other, "dnsa")
        assert ip in ok(nd.cli("exec", alpha, "nslookup", "gamma"))
        ok(nd.cli("network", "disconnect", "dnsa", other))
        assert nd.cli("exec", alpha, "nslookup", "gamma").returncode != 0
    finally:
        if other:
            nd.cli("rm", "-f", other)
        nd.cli("network", "rm", "dnsc")


def test_other_network_cannot_resolve_them_and_forwards_the_rest(nd: Daemon, pair, upstream):
    ok(nd.cli("network", "create", "--subnet", "10.243.0.0/24", "dnsb"))
    try:
        assert _lookup(nd, "dnsb", "alpha", "--dns", UPSTREAM).returncode != 0
        forwarded = ok(_lookup(nd, "dnsb", "outside.test", "--dns", UPSTREAM))
        assert "192.0.2.77" in forwarded
        assert "outside.test." in upstream.read_text().split()
    finally:
        nd.cli("network", "rm", "dnsb")


def test_internal_network_never_forwards(nd: Daemon, upstream: Path):
    ok(nd.cli("network", "create", "--internal", "--subnet", "10.244.0.0/24", "dnsi"))
    try:
        name = f"secret-{secrets.token_hex(3)}.test"
        assert _lookup(nd, "dnsi", name, "--dns", UPSTREAM).returncode != 0
        assert name + "." not in upstream.read_text().split()
    finally:
        nd.cli("network", "rm", "dnsi")


def test_default_bridge_has_no_embedded_dns(nd: Daemon):
    resolv = ok(nd.cli("run", "--rm", "--dns", UPSTREAM, IMAGE, "cat", "/etc/resolv.conf"))
    assert "127.0.0.11" not in resolv and UPSTREAM in resolv


def test_live_restored_container_keeps_its_dns(nd: Daemon, pair):
    alpha, beta = pair
    nd.stop()
    nd.start()
    assert _ip(nd, beta, "dnsa") in ok(nd.cli("exec", alpha, "nslookup", "beta"))


def test_dns_search_and_options_are_honoured(nd: Daemon, pair):
    resolv = ok(nd.cli("run", "--rm", "--network", "dnsa", "--dns-search", "corp.test",
                        "--dns-option", "ndots:3", "--dns", UPSTREAM,
                        IMAGE, "cat", "/etc/resolv.conf"))  # fmt: skip
    lines = resolv.splitlines()
    assert "nameserver 127.0.0.11" in lines and "search corp.test" in lines
    assert "options ndots:3" in lines and UPSTREAM not in resolv
