"""The embedded DNS: answers from the members a container shares networks with, round robin,
PTR, NXDOMAIN, forwarding (to a tiny server on 127.0.0.1 of this test) and never from internal
networks; plus the resolv.conf and forwarder lists."""

import asyncio

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from dockerpy_engine.networks import dns

WEB = "a" * 64
DB = "b" * 64
OTHER = "c" * 64
SECRET = "d" * 64


def _resolver() -> dns.Resolver:
    r = dns.Resolver()
    r.add(dns.Member(WEB, "n1", "front", "172.30.0.2", ("web", "www", WEB[:12], "webhost")))
    r.add(dns.Member(DB, "n1", "front", "172.30.0.3", ("db", "www", DB[:12])))
    r.add(dns.Member(OTHER, "n2", "back", "172.31.0.2", ("other", OTHER[:12])))
    r.add(dns.Member(SECRET, "n3", "vault", "172.32.0.2", ("secret",), internal=True))
    return r


def _ask(r: dns.Resolver, asker: str, name: str, qtype: str = "A") -> DNSRecord | None:
    return r.answer(asker, DNSRecord.question(name, qtype))


def _ips(reply: DNSRecord) -> list[str]:
    return [str(rr.rdata) for rr in reply.rr]


@pytest.mark.parametrize("name", ["db", "DB.", DB[:12], "db.front", "db.front."])
def test_names_on_a_shared_network(name):
    reply = _ask(_resolver(), WEB, name)
    assert reply is not None and reply.header.rcode == RCODE.NOERROR
    assert _ips(reply) == ["172.30.0.3"]
    assert reply.rr[0].ttl == dns.TTL


def test_hostname_and_alias():
    r = _resolver()
    assert _ips(_ask(r, DB, "webhost")) == ["172.30.0.2"]
    assert sorted(_ips(_ask(r, OTHER, "other"))) == ["172.31.0.2"]


def test_round_robin_over_a_shared_alias():
    r = _resolver()
    seen = [_ips(_ask(r, WEB, "www")) for _ in range(4)]
    assert all(sorted(s) == ["172.30.0.2", "172.30.0.3"] for s in seen)
    assert {s[0] for s in seen} == {"172.30.0.2", "172.30.0.3"}


def test_names_on_other_networks_are_not_visible():
    r = _resolver()
    assert _ask(r, OTHER, "web") is None  # not ours: forwarded, like any unknown name
    reply = _ask(r, SECRET, "web")
    assert reply is not None and reply.header.rcode == RCODE.NXDOMAIN


def test_aaaa_for_a_known_name_is_empty_noerror():
    reply = _ask(_resolver(), WEB, "db", "AAAA")
    assert reply is not None and reply.header.rcode == RCODE.NOERROR and reply.rr == []


def test_ptr():
    r = _resolver()
    reply = _ask(r, WEB, "3.0.30.172.in-addr.arpa", "PTR")
    assert reply is not None and str(reply.rr[0].rdata) == "db.front."
    assert _ask(r, WEB, "2.0.31.172.in-addr.arpa", "PTR") is None  # another network's


def _dual_stack() -> dns.Resolver:
    r = dns.Resolver()
    r.add(dns.Member(WEB, "n6", "six", "172.33.0.2", ("web",), ip6="fd00:6::2"))
    r.add(dns.Member(DB, "n6", "six", "172.33.0.3", ("db", "svc"), ip6="fd00:6::3"))
    r.add(dns.Member(OTHER, "n6", "six", "172.33.0.4", ("other", "svc"), ip6="fd00:6::4"))
    return r


def test_aaaa_and_a_answer_each_family_only():
    r = _dual_stack()
    assert _ips(_ask(r, WEB, "db", "AAAA")) == ["fd00:6::3"]
    assert _ips(_ask(r, WEB, "db.six", "A")) == ["172.33.0.3"]
    seen = [_ips(_ask(r, WEB, "svc", "AAAA")) for _ in range(4)]
    assert all(sorted(s) == ["fd00:6::3", "fd00:6::4"] for s in seen)
    assert {s[0] for s in seen} == {"fd00:6::3", "fd00:6::4"}  # round robin within AAAA


def test_ipv6_ptr():
    r = _dual_stack()
    name = ".".join(reversed("fd000006000000000000000000000003")) + ".ip6.arpa"
    reply = _ask(r, WEB, name, "PTR")
    assert reply is not None and str(reply.rr[0].rdata) == "db.six."


def test_internal_networks_never_forward():
    r = _resolver()
    assert not r.may_forward(SECRET)
    reply = _ask(r, SECRET, "example.com")
    assert reply is not None and reply.header.rcode == RCODE.NXDOMAIN
    assert _ask(r, WEB, "example.com") is None
    r.add(dns.Member(WEB, "n3", "vault", "172.32.0.3", ("web",), internal=True))
    assert not r.may_forward(WEB)  # on an internal network too: nothing leaves


def test_forwarders():
    host = "nameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nnameserver fd00::1\n"
    assert dns.forwarders([], host) == ["10.0.0.2", "fd00::1"]
    assert dns.forwarders(["192.0.2.9"], host) == ["192.0.2.9"]
    assert dns.forwarders([], "nameserver 127.0.0.1\n") == []


def test_resolv_conf():
    host = "search corp.example\noptions rotate\nnameserver 10.0.0.2\n"
    text = dns.resolv_conf(host)
    assert "nameserver 127.0.0.11\n" in text and "10.0.0.2" not in text
    assert "search corp.example\n" in text and "options rotate ndots:0\n" in text
    text = dns.resolv_conf(host, ["a.example"], ["ndots:2"])
    assert "search a.example\n" in text and "options ndots:2\n" in text


def test_member_names():
    assert dns.member_names("/web", ["www"], WEB, "web") == ["web", "www", WEB[:12]]
    assert dns.member_names("/web", [], WEB, "h") == ["web", WEB[:12], "h"]
    # an alias repeating the short ID (compose 1.x) is listed once, where it first came
    assert dns.member_names("/web", [WEB[:12], "www"], WEB, "") == ["web", WEB[:12], "www"]


class _Upstream(asyncio.DatagramProtocol):
    """A tiny DNS server answering every A query with 192.0.2.1."""

    def connection_made(self, transport):
        self.transport = transport
        self.queries = []

    def datagram_received(self, data, addr):
        q = DNSRecord.parse(data)
        self.queries.append(str(q.q.qname))
        reply = q.reply()
        reply.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("192.0.2.1"), ttl=5))
        self.transport.sendto(reply.pack(), addr)


async def test_forwarding_and_servfail():
    loop = asyncio.get_running_loop()
    transport, upstream = await loop.create_datagram_endpoint(
        _Upstream, local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        e = dns.EmbeddedDNS(port=port)
        e.resolver = _resolver()
        # serving normally opens sockets in the container's netns; register forwarders only
        e._servers[WEB] = dns._Server(_Closed(), _Closed(), ["127.0.0.1"])  # type: ignore[arg-type]
        e._servers[SECRET] = dns._Server(_Closed(), _Closed(), ["127.0.0.1"])  # type: ignore[arg-type]
        reply = DNSRecord.parse(await e.handle(WEB, DNSRecord.question("example.com").pack()))
        assert _ips(reply) == ["192.0.2.1"]
        reply = DNSRecord.parse(await e.handle(WEB, DNSRecord.question("db").pack()))
        assert _ips(reply) == ["172.30.0.3"]
        reply = DNSRecord.parse(await e.handle(SECRET, DNSRecord.question("example.org").pack()))
        assert reply.header.rcode == RCODE.NXDOMAIN
        assert upstream.queries == ["example.com."]
        e._servers[WEB].servers = []
        reply = DNSRecord.parse(await e.handle(WEB, DNSRecord.question("example.net").pack()))
        assert reply.header.rcode == RCODE.SERVFAIL
        assert await e.handle(WEB, b"\x00junk") == b""
    finally:
        transport.close()


class _Closed:
    def close(self):
        pass

    async def wait_closed(self):
        pass


async def test_tcp_queries_are_length_prefixed():
    e = dns.EmbeddedDNS()
    e.resolver = _resolver()
    server = await asyncio.start_server(
        lambda r, w: e._tcp_client(WEB, r, w), host="127.0.0.1", port=0
    )
    try:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        query = DNSRecord.question("db").pack()
        for _ in range(2):  # several queries on one connection
            writer.write(len(query).to_bytes(2, "big") + query)
            length = int.from_bytes(await reader.readexactly(2), "big")
            assert _ips(DNSRecord.parse(await reader.readexactly(length))) == ["172.30.0.3"]
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_link_alias_is_the_linking_containers_own():
    r = _resolver()
    r.add(dns.Member(OTHER, "n1", "front", "172.30.0.9", ("other",), links=(("cache", "db"),)))
    assert _ips(_ask(r, OTHER, "cache")) == ["172.30.0.3"]
    assert _ips(_ask(r, OTHER, "cache.front")) == ["172.30.0.3"]
    assert _ask(r, WEB, "cache") is None  # nobody else's name: forwarded
    assert _ask(r, OTHER, "cache.back") is None  # the alias is on front only
