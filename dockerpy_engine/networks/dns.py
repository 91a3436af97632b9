"""The embedded DNS server: 127.0.0.11:53 inside each container on a user-defined network.

One UDP and one TCP socket per container, created inside its network namespace (setns in a
worker thread; a socket keeps the namespace it was made in) and served from the daemon's
event loop, so there is no process per container. dockerd binds random ports and DNATs 53 to
them; 127.0.0.0/8 is local on `lo`, so binding 127.0.0.11:53 directly is enough here.

`Resolver` is the answer logic and knows only *members* (a container's names and addresses on
one network: A and AAAA records, PTR for both). A container sees the names on the networks it
shares with them; names it does not know go to its forwarders (its `--dns` servers, dockerd's
ExtDNS, else the host's non-loopback resolvers), never from a container on an `internal`
network.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord

from . import netlink

log = logging.getLogger(__name__)

RESOLVER_IP = "127.0.0.11"
TTL = 600  # dockerd's respTTL
FORWARD_TIMEOUT = 4.0


@dataclass(frozen=True, slots=True)
class Member:
    """One container's presence on one network, as the resolver sees it."""

    container_id: str
    network_id: str
    network_name: str
    ip: str
    names: tuple[str, ...]  # name, aliases, short ID, hostname
    internal: bool = False
    # `--link name:alias` on a user network: `alias` means `name` on this network, for this
    # container's own queries only (libnetwork's endpoint aliases)
    links: tuple[tuple[str, str], ...] = ()
    ip6: str = ""  # on networks with IPv6

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(ip for ip in (self.ip, self.ip6) if ip)

    @property
    def ptr_name(self) -> str:
        return f"{self.names[0]}.{self.network_name}."


def member_names(name: str, aliases: Sequence[str], container_id: str, hostname: str) -> list[str]:
    """A container's DNS names on one network, in dockerd's DNSNames order, each once
    (compose 1.x gives the short ID as an alias too)."""
    names = [name.lstrip("/"), *aliases, container_id[:12], *([hostname] if hostname else [])]
    return list(dict.fromkeys(names))


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


class Resolver:
    """Query → answer for the names of containers; None means "forward it"."""

    def __init__(self) -> None:
        self._members: dict[tuple[str, str], Member] = {}
        self._rr = itertools.count()

    def add(self, m: Member) -> None:
        self._members[(m.container_id, m.network_id)] = m

    def drop(self, container_id: str, network_id: str) -> None:
        self._members.pop((container_id, network_id), None)

    def has(self, container_id: str) -> bool:
        return any(cid == container_id for cid, _ in self._members)

    def _scope(self, asker: str) -> list[Member]:
        nets = {nid for cid, nid in self._members if cid == asker}
        return [m for m in self._members.values() if m.network_id in nets]

    def may_forward(self, asker: str) -> bool:
        """Never from a container on an internal network (no queries leak out of it)."""
        own = [m for m in self._members.values() if m.container_id == asker]
        return bool(own) and not any(m.internal for m in own)

    def _link_target(self, asker: str, wanted: str) -> tuple[str, str] | None:
        """(container name, network id) when `wanted` is one of the asker's link aliases, bare
        or followed by `.<network>`: dockerd tries these before any other name."""
        for m in self._members.values():
            if m.container_id != asker:
                continue
            net = m.network_name.lower()
            for alias, target in m.links:
                if wanted in (alias.lower(), f"{alias.lower()}.{net}"):
                    return target.lower(), m.network_id
        return None

    def lookup(self, asker: str, name: str, version: int = 4) -> list[str] | None:
        """The IPv4 (or IPv6) addresses of `name` (container name, alias, short ID, hostname,
        or any of them followed by `.<network>`; or a link alias of the asker's) seen from
        `asker`, rotated round-robin; None if unknown, empty if it has none of that version."""
        wanted = _norm(name)
        scope = self._scope(asker)
        link = self._link_target(asker, wanted)
        if link is not None:
            wanted = link[0]
            scope = [m for m in scope if m.network_id == link[1]]
        known = False
        found: list[str] = []
        for m in scope:
            net = m.network_name.lower()
            for n in m.names:
                n = n.lower()
                if wanted in (n, f"{n}.{net}"):
                    known = True
                    ips = (ip for ip in m.addresses if ipaddress.ip_address(ip).version == version)
                    found += [ip for ip in ips if ip not in found]
                    break
        if not known:
            return None
        if len(found) > 1:
            shift = next(self._rr) % len(found)
            found = found[shift:] + found[:shift]
        return found

    def reverse(self, asker: str, name: str) -> str | None:
        try:
            ip = str(ipaddress.ip_address(_reverse_to_ip(_norm(name))))
        except ValueError:
            return None
        for m in self._scope(asker):
            if ip in m.addresses:
                return m.ptr_name
        return None

    def answer(self, asker: str, request: DNSRecord) -> DNSRecord | None:
        """The reply for a query, or None when it should be forwarded."""
        reply = request.reply()
        reply.header.ra = 1
        q = request.q
        qname = str(q.qname)
        if q.qtype in (QTYPE.A, QTYPE.AAAA):
            version = 4 if q.qtype == QTYPE.A else 6
            ips = self.lookup(asker, qname, version)
            if ips is not None:
                for ip in ips:
                    data = A(ip) if version == 4 else AAAA(ip)
                    reply.add_answer(RR(qname, q.qtype, rdata=data, ttl=TTL))
                return reply  # a known name with no address of that family: NOERROR, empty
        elif q.qtype == QTYPE.PTR:
            target = self.reverse(asker, qname)
            if target is not None:
                reply.add_answer(RR(qname, QTYPE.PTR, rdata=PTR(target), ttl=TTL))
                return reply
        if not self.may_forward(asker):
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        return None


def _reverse_to_ip(name: str) -> str:
    if name.endswith(".in-addr.arpa"):
        return ".".join(reversed(name[: -len(".in-addr.arpa")].split(".")))
    if name.endswith(".ip6.arpa"):
        nibbles = "".join(reversed(name[: -len(".ip6.arpa")].split(".")))
        if len(nibbles) == 32:
            return ":".join(nibbles[i : i + 4] for i in range(0, 32, 4))
    raise ValueError(name)


def forwarders(container_dns: Sequence[str], host_resolv_conf: str) -> list[str]:
    """dockerd's ExtDNS: the container's --dns servers, else the host's nameservers without
    the loopback ones (unreachable from where dockerd forwards)."""
    if container_dns:
        return list(container_dns)
    out = []
    for line in host_resolv_conf.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                addr = ipaddress.ip_address(parts[1].split("%")[0])
            except ValueError:
                continue
            if not addr.is_loopback:
                out.append(parts[1])
    return out


def resolv_conf(host: str, dns_search: Sequence[str] = (), dns_options: Sequence[str] = ()) -> str:
    """A container's /etc/resolv.conf on a user-defined network: the embedded server, with
    --dns-search/--dns-option (else the host's search and options lines), as dockerd's."""
    search: list[str] = list(dns_search)
    options: list[str] = list(dns_options)
    for line in host.splitlines():
        parts = line.split()
        if parts and parts[0] == "search" and not dns_search:
            search = parts[1:]
        elif parts and parts[0] == "options" and not dns_options:
            options = parts[1:]
    if not any(o.startswith("ndots:") for o in options):
        options.append("ndots:0")
    out = ["# Generated by dockerpyd (embedded DNS)\n"]
    out.append(f"nameserver {RESOLVER_IP}\n")
    if search and " ".join(search).strip(" ") != ".":
        out.append("search " + " ".join(search) + "\n")
    out.append("options " + " ".join(options) + "\n")
    return "".join(out)


# ---------------------------------------------------------------------- serving


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, handle: Callable[[bytes, Callable[[bytes], None]], None]) -> None:
        self._handle = handle
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        def send(reply: bytes) -> None:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.sendto(reply, addr)

        self._handle(data, send)


class _OneShot(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not self.reply.done():
            self.reply.set_result(data)


@dataclass(slots=True)
class _Server:
    udp: asyncio.DatagramTransport
    tcp: asyncio.Server
    servers: list[str]


def _open_sockets(netns: str) -> tuple[socket.socket, socket.socket]:
    """UDP and TCP sockets bound to 127.0.0.11:53 inside `netns` (blocking: run in a thread)."""
    with netlink.entered(netns):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            for s in (udp, tcp):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((RESOLVER_IP, 53))
                s.setblocking(False)
            tcp.listen(16)
        except BaseException:
            udp.close()
            tcp.close()
            raise
    return udp, tcp


class EmbeddedDNS:
    """Per-container servers over one `Resolver`; owned by the network service."""

    def __init__(self, port: int = 53) -> None:
        self.resolver = Resolver()
        self.port = port  # the forwarders' port (53; tests use their own)
        self._servers: dict[str, _Server] = {}
        self._tasks: set[asyncio.Task] = set()

    def serving(self, container_id: str) -> bool:
        return container_id in self._servers

    async def serve(self, container_id: str, netns: str, servers: list[str]) -> None:
        """Start answering inside the container's namespace (idempotent)."""
        if container_id in self._servers:
            self._servers[container_id].servers = servers
            return
        udp_sock, tcp_sock = await asyncio.to_thread(_open_sockets, netns)
        loop = asyncio.get_running_loop()
        try:
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _UDP(lambda data, send: self._spawn(container_id, data, send)),
                sock=udp_sock,
            )
        except BaseException:
            udp_sock.close()
            tcp_sock.close()
            raise
        try:
            tcp = await asyncio.start_server(
                lambda r, w: self._tcp_client(container_id, r, w), sock=tcp_sock
            )
        except BaseException:
            udp.close()
            tcp_sock.close()
            raise
        self._servers[container_id] = _Server(udp, tcp, servers)

    async def stop(self, container_id: str) -> None:
        server = self._servers.pop(container_id, None)
        if server is None:
            return
        server.udp.close()
        server.tcp.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.tcp.wait_closed(), 1)

    async def close(self) -> None:
        for cid in list(self._servers):
            await self.stop(cid)
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, container_id: str, data: bytes, send: Callable[[bytes], None]) -> None:
        async def run() -> None:
            reply = await self.handle(container_id, data)
            if reply:
                send(reply)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tcp_client(
        self, container_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                reply = await self.handle(container_id, await reader.readexactly(length))
                if not reply:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, struct.error):
            pass
        finally:
            writer.close()

    async def handle(self, container_id: str, data: bytes) -> bytes:
        """One wire-format query → one wire-format reply (b"" for garbage)."""
        try:
            request = DNSRecord.parse(data)
        except Exception:  # dnslib raises several kinds on bad packets
            return b""
        if request.header.qr or not request.questions:
            return b""
        reply = self.resolver.answer(container_id, request)
        if reply is not None:
            return reply.pack()
        server = self._servers.get(container_id)
        for upstream in server.servers if server is not None else []:
            answer = await self._forward(upstream, data)
            if answer:
                return answer
        failed = request.reply()
        failed.header.ra = 1
        failed.header.rcode = RCODE.SERVFAIL
        return failed.pack()

    async def _forward(self, upstream: str, data: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in upstream else socket.AF_INET
        try:
            transport, proto = await loop.create_datagram_endpoint(
                _OneShot, remote_addr=(upstream, self.port), family=family
            )
        except OSError as exc:
            log.debug("dns forward to %s: %s", upstream, exc)
            return b""
        try:
            transport.sendto(data)
            return await asyncio.wait_for(proto.reply, FORWARD_TIMEOUT)
        except (TimeoutError, OSError):
            return b""
        finally:
            transport.close()
