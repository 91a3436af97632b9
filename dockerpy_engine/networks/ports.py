"""Published ports: the bindings a container asks for, host port allocation, and the userland
proxy that both reserves a host port and carries traffic to 127.0.0.1 (which DNAT can't).

The CLI turns `-p [ip:]host:container[/proto]` and its ranges into HostConfig.PortBindings
({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}); `-P` sets PublishAllPorts, which publishes
every exposed port on a random host port from the ephemeral range. A container with an IPv6
address is published on [::] as well as 0.0.0.0 (the same host port, as dockerd's), its IPv6
bindings forwarded to that address; a container without one has no IPv6 bindings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from typing import Any

from .. import errdefs

log = logging.getLogger(__name__)

EPHEMERAL_RANGE = (49153, 65535)  # dockerd's fallback when ip_local_port_range is unreadable
PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One requested binding: container port/proto → host ip and port range (0-0 = any)."""

    container_port: int
    proto: str
    host_ip: str
    host_start: int
    host_end: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


@dataclass(frozen=True, slots=True)
class Binding:
    """An allocated binding: what inspect and ps report and the rules are made of."""

    container_port: int
    proto: str
    host_ip: str
    host_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    def to_record(self) -> dict[str, Any]:
        return {
            "container_port": self.container_port,
            "proto": self.proto,
            "host_ip": self.host_ip,
            "host_port": self.host_port,
        }


def parse_port_key(key: str) -> tuple[int, str]:
    """'80/tcp' → (80, 'tcp'); a bare '80' is tcp."""
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise errdefs.InvalidParameter(f"invalid proto: {proto}")
    try:
        number = int(port)
    except ValueError:
        raise errdefs.InvalidParameter(f"invalid containerPort: {port}") from None
    if not 0 < number < 65536:
        raise errdefs.InvalidParameter(f"invalid containerPort: {port}")
    return number, proto


def _host_range(value: str) -> tuple[int, int]:
    if value in ("", "0"):
        return 0, 0
    start, _, end = value.partition("-")
    try:
        low, high = int(start), int(end or start)
    except ValueError:
        raise errdefs.InvalidParameter(f"invalid hostPort: {value}") from None
    if not 0 < low <= high < 65536:
        raise errdefs.InvalidParameter(f"invalid hostPort: {value}")
    return low, high


def port_specs(config: dict[str, Any], host_config: dict[str, Any]) -> list[PortSpec]:
    """The bindings asked for: PortBindings, plus every exposed port under PublishAllPorts."""
    bindings = dict(host_config.get("PortBindings") or {})
    if host_config.get("PublishAllPorts"):
        for key in config.get("ExposedPorts") or {}:
            bindings.setdefault(key, [{"HostIp": "", "HostPort": ""}])
    specs = []
    for key, entries in sorted(bindings.items()):
        port, proto = parse_port_key(key)
        for entry in entries or [{}]:
            low, high = _host_range(str((entry or {}).get("HostPort") or ""))
            host_ip = str((entry or {}).get("HostIp") or "")
            specs.append(PortSpec(port, proto, host_ip, low, high))
    return specs


def exposed_ports(config: dict[str, Any], host_config: dict[str, Any]) -> list[str]:
    """Every port key the container exposes or publishes, for inspect's Ports map."""
    keys = set(config.get("ExposedPorts") or {}) | set(host_config.get("PortBindings") or {})
    return sorted(keys, key=lambda k: parse_port_key(k))


def ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return EPHEMERAL_RANGE


def inspect_ports(keys: list[str], bindings: list[Binding]) -> dict[str, Any]:
    """NetworkSettings.Ports: each exposed port → its host bindings, or null."""
    ports: dict[str, Any] = {key: None for key in keys}
    for b in bindings:
        ports.setdefault(b.key, None)
        if ports[b.key] is None:
            ports[b.key] = []
        ports[b.key].append({"HostIp": b.host_ip, "HostPort": str(b.host_port)})
    return ports


def summary_ports(keys: list[str], bindings: list[Binding]) -> list[dict[str, Any]]:
    """`docker ps` Ports: published ones with IP/PublicPort, exposed-only ones without."""
    rows: list[dict[str, Any]] = []
    published = {b.key for b in bindings}
    for b in bindings:
        rows.append(
            {"IP": b.host_ip, "PrivatePort": b.container_port, "PublicPort": b.host_port,
             "Type": b.proto}
        )  # fmt: skip
    for key in keys:
        if key not in published:
            port, proto = parse_port_key(key)
            rows.append({"PrivatePort": port, "Type": proto})
    return rows


# ------------------------------------------------------------------ userland proxy


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


class _UdpForward(asyncio.DatagramProtocol):
    """One upstream flow per client address, replies sent back from the listening socket."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.flows: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self.pending: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        flow = self.flows.get(addr)
        if flow is not None:
            flow.sendto(data)
            return
        task = asyncio.ensure_future(self._open(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _open(self, data: bytes, addr: tuple[str, int]) -> None:
        outer = self

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, _: tuple[str, int]) -> None:
                if outer.transport is not None:
                    outer.transport.sendto(reply, addr)

        loop = asyncio.get_running_loop()
        flow, _ = await loop.create_datagram_endpoint(Back, remote_addr=self.target)
        self.flows[addr] = flow
        flow.sendto(data)

    def close(self) -> None:
        for flow in self.flows.values():
            flow.close()
        self.flows.clear()


class PortProxy:
    """The listener for one host port: it holds the port, and forwards when `forward` is set."""

    def __init__(self, binding: Binding, target_ip: str, forward: bool) -> None:
        self.binding = binding
        self.target = (target_ip, binding.container_port)
        self.forward = forward
        self._server: asyncio.base_events.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_proto: _UdpForward | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        host = self.binding.host_ip or "0.0.0.0"
        port = self.binding.host_port
        loop = asyncio.get_running_loop()
        if self.binding.proto == "udp":
            proto = _UdpForward(self.target)
            sock = _bound(host, port, socket.SOCK_DGRAM)
            transport, _ = await loop.create_datagram_endpoint(lambda: proto, sock=sock)
            self._udp, self._udp_proto = transport, proto
            return
        sock = _bound(host, port, socket.SOCK_STREAM)
        self._server = await asyncio.start_server(self._serve, sock=sock)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            if not self.forward:
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError as exc:
                log.debug("proxy %s: %s", self.target, exc)
                return
            try:
                await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
            finally:
                up_writer.close()
        finally:
            writer.close()
            self._conns.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._conns):
                task.cancel()
            self._server = None
        if self._udp is not None:
            self._udp.close()
            if self._udp_proto is not None:
                self._udp_proto.close()
            self._udp = None


def _bound(host: str, port: int, kind: int) -> socket.socket:
    """A socket bound to host:port; an IPv6 one is IPv6-only, so [::] and 0.0.0.0 listeners
    of the same port coexist."""
    family = socket.AF_INET6 if is_v6(host) else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def is_v6(host_ip: str) -> bool:
    return ":" in host_ip


def shown(host_ip: str) -> str:
    """host:port's host as dockerd writes it in messages ([::] for IPv6)."""
    return f"[{host_ip}]" if is_v6(host_ip) else host_ip


class PortAllocator:
    """Host ports handed out by this daemon, per (host ip, proto)."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, str, int], str] = {}

    def in_use(self, host_ip: str, proto: str, port: int) -> bool:
        """Whether the port is taken on this address or, for a wildcard (0.0.0.0, ::), on any
        address of its family."""
        ip = host_ip or "0.0.0.0"
        for used_ip, used_proto, used_port in self._used:
            if used_proto != proto or used_port != port or is_v6(used_ip) != is_v6(ip):
                continue
            if ip == used_ip or {ip, used_ip} & {"0.0.0.0", "::"}:
                return True
        return False

    def candidates(self, spec: PortSpec) -> list[int]:
        if spec.host_start:
            return list(range(spec.host_start, spec.host_end + 1))
        low, high = ephemeral_range()
        return list(range(low, high + 1))

    def take(self, host_ip: str, proto: str, port: int, owner: str) -> None:
        self._used[(host_ip or "0.0.0.0", proto, port)] = owner

    def release_owner(self, owner: str) -> None:
        for key in [k for k, v in self._used.items() if v == owner]:
            del self._used[key]


async def publish(
    specs: list[PortSpec],
    allocator: PortAllocator,
    owner: str,
    target_ip: str,
    forward: bool,
    target_ip6: str = "",
) -> tuple[list[Binding], list[PortProxy]]:
    """Allocate and bind every spec (on 0.0.0.0 and [::] when the container has an IPv6
    address and no host address was given); on any failure, close what was opened and raise
    with dockerd's wording."""
    bindings: list[Binding] = []
    proxies: list[PortProxy] = []
    try:
        for spec in specs:
            hosts = [spec.host_ip or "0.0.0.0"]
            if is_v6(hosts[0]) and not target_ip6:
                raise errdefs.InvalidParameter(
                    f"cannot publish on {hosts[0]}: the container has no IPv6 address"
                )
            if not spec.host_ip and target_ip6:  # an explicit 0.0.0.0 is IPv4 only (dockerd 28)
                hosts.append("::")
            last_error = ""
            for port in allocator.candidates(spec):
                opened, last_error = await _bind_all(
                    spec, hosts, port, allocator, target_ip, target_ip6, forward
                )
                if opened:
                    for proxy in opened:
                        allocator.take(proxy.binding.host_ip, spec.proto, port, owner)
                        bindings.append(proxy.binding)
                    proxies += opened
                    break
            else:
                raise errdefs.System(last_error or "no free host port")
    except BaseException:
        for proxy in proxies:
            await proxy.close()
        allocator.release_owner(owner)
        raise
    return bindings, proxies


async def _bind_all(
    spec: PortSpec,
    hosts: list[str],
    port: int,
    allocator: PortAllocator,
    target_ip: str,
    target_ip6: str,
    forward: bool,
) -> tuple[list[PortProxy], str]:
    """One listener per host address on `port`, all or none; else the reason, dockerd's."""
    opened: list[PortProxy] = []
    for host in hosts:
        error = ""
        if allocator.in_use(host, spec.proto, port):
            error = f"Bind for {shown(host)}:{port} failed: port is already allocated"
        else:
            binding = Binding(spec.container_port, spec.proto, host, port)
            proxy = PortProxy(binding, target_ip6 if is_v6(host) else target_ip, forward)
            try:
                await proxy.start()
                opened.append(proxy)
                continue
            except OSError as exc:
                family = "6" if is_v6(host) else "4"
                error = (
                    f"Error starting userland proxy: listen {spec.proto}{family} "
                    f"{shown(host)}:{port}: bind: {(exc.strerror or str(exc)).lower()}"
                )
        for proxy in opened:
            await proxy.close()
        return [], error
    return opened, ""
