"""Links, addresses and routes through pyroute2. Every function blocks: call it in a thread.

All of it works in the daemon's own network namespace, except the container side of a veth
pair, which is configured through a netlink socket opened in the task's namespace
(/proc/<pid>/ns/net).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug output is per message

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

ENOENT = 2
EEXIST = 17
ENODEV = 19
IFA_F_NODAD = 0x02  # usable at once: no duplicate address detection delay (libnetwork's)
AF_INET6 = 10


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def entered(netns: str) -> Iterator[None]:
    """Run the block with this worker thread inside `netns` (setns is per thread), then
    switch back. Sockets made inside stay bound to that namespace. pyroute2's own netns
    support forks, which a threaded gRPC daemon must not do."""
    home = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def socket_in(netns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket created inside `netns` (for the embedded DNS)."""
    with entered(netns):
        return socket.socket(family, kind, proto)


@contextlib.contextmanager
def _ns_route(netns: str) -> Iterator[IPRoute]:
    with entered(netns), IPRoute() as ipr:
        yield ipr


def ensure_bridge(
    name: str, address: str, prefixlen: int, mtu: int = 0, address6: str = "", prefixlen6: int = 0
) -> None:
    """Create the bridge if missing, give it the gateway address (and the IPv6 one, with
    IPv6 enabled on it first), bring it up."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            try:
                ipr.link("add", ifname=name, kind="bridge")
            except NetlinkError as exc:
                if exc.code != EEXIST:
                    raise
            found = ipr.link_lookup(ifname=name)
        index = found[0]
        if mtu:
            ipr.link("set", index=index, mtu=mtu)
        _ensure_addr(ipr, index, address, prefixlen)
        if address6:
            enable_ipv6(name)
            _ensure_addr(ipr, index, address6, prefixlen6)
        ipr.link("set", index=index, state="up")


def _ensure_addr(ipr: IPRoute, index: int, address: str, prefixlen: int) -> None:
    """Add the address unless the link has it (IPv6 ones without DAD, as dockerd 28 does on
    its bridges)."""
    family = AF_INET6 if ":" in address else socket.AF_INET
    have = {
        (a.get_attr("IFA_ADDRESS"), a["prefixlen"])
        for a in ipr.get_addr(index=index, family=family)
    }
    if (address, prefixlen) in have:
        return
    flags = {"flags": IFA_F_NODAD} if family == AF_INET6 else {}
    try:
        ipr.addr("add", index=index, address=address, prefixlen=prefixlen, **flags)
    except NetlinkError as exc:
        if exc.code != EEXIST:
            raise


def delete_link(name: str) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            with contextlib.suppress(NetlinkError):
                ipr.link("del", index=found[0])


def link_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


@dataclass(frozen=True, slots=True)
class Addressing:
    """What the container side of a link gets: its name, MAC, addresses and, on the
    container's first network, the default routes."""

    ifname: str
    mac: str
    address: str
    prefixlen: int
    gateway: str
    default_route: bool
    address6: str = ""  # IPv6 networks only
    prefixlen6: int = 0
    gateway6: str = ""


def attach(bridge: str, host_name: str, netns: str, addressing: Addressing, mtu: int = 0) -> None:
    """A veth pair: `host_name` on the bridge, its peer moved into `netns` and configured
    there. Undone on any failure."""
    peer = host_name + "p"
    with IPRoute() as ipr:
        delete_stale = ipr.link_lookup(ifname=host_name)
        if delete_stale:
            ipr.link("del", index=delete_stale[0])
        ipr.link("add", ifname=host_name, kind="veth", peer={"ifname": peer})
        try:
            host_index = ipr.link_lookup(ifname=host_name)[0]
            peer_index = ipr.link_lookup(ifname=peer)[0]
            bridge_index = ipr.link_lookup(ifname=bridge)[0]
            if mtu:
                ipr.link("set", index=host_index, mtu=mtu)
                ipr.link("set", index=peer_index, mtu=mtu)
            ipr.link("set", index=host_index, master=bridge_index, state="up")
            _move(ipr, peer_index, netns)
            _configure_inside(netns, peer, addressing)
        except BaseException:
            with contextlib.suppress(NetlinkError, IndexError):
                ipr.link("del", index=ipr.link_lookup(ifname=host_name)[0])
            raise


def _configure_inside(netns: str, temp_name: str, a: Addressing) -> None:
    """The container side of a link already moved into `netns`: name, MAC, addresses (IPv6
    enabled on the link first, its address without DAD as libnetwork's), up, lo up, and the
    default routes for the first network."""
    with _ns_route(netns) as inner:
        index = inner.link_lookup(ifname=temp_name)[0]
        inner.link("set", index=index, ifname=a.ifname, address=a.mac)
        inner.addr("add", index=index, address=a.address, prefixlen=a.prefixlen)
        if a.address6:
            enable_ipv6(a.ifname)  # this thread is inside `netns`: its sysctls
            inner.addr(
                "add", index=index, address=a.address6, prefixlen=a.prefixlen6, flags=IFA_F_NODAD
            )
        inner.link("set", index=index, state="up")
        lo = inner.link_lookup(ifname="lo")
        if lo:
            inner.link("set", index=lo[0], state="up")
        if a.default_route:
            inner.route("add", dst="0.0.0.0/0", gateway=a.gateway)
            if a.address6 and a.gateway6:
                inner.route("add", dst="::/0", gateway=a.gateway6)


def _move(ipr: IPRoute, index: int, netns: str) -> None:
    fd = os.open(netns, os.O_RDONLY)
    try:
        ipr.link("set", index=index, net_ns_fd=fd)
    finally:
        os.close(fd)


def attach_macvlan(
    parent: str, temp_name: str, mode: str, netns: str, addressing: Addressing
) -> None:
    """A macvlan sub-interface of `parent` in `mode`, created here as `temp_name`, moved into
    `netns` and configured there. Undone on any failure before the move."""
    with IPRoute() as ipr:
        stale = ipr.link_lookup(ifname=temp_name)
        if stale:
            ipr.link("del", index=stale[0])
        parent_index = ipr.link_lookup(ifname=parent)[0]
        ipr.link("add", ifname=temp_name, kind="macvlan", link=parent_index, macvlan_mode=mode)
        try:
            _move(ipr, ipr.link_lookup(ifname=temp_name)[0], netns)
        except BaseException:
            with contextlib.suppress(NetlinkError, IndexError):
                ipr.link("del", index=ipr.link_lookup(ifname=temp_name)[0])
            raise
    try:
        _configure_inside(netns, temp_name, addressing)
    except BaseException:
        with contextlib.suppress(NetlinkError, OSError):
            detach_in_netns(netns, temp_name)
        raise


def ensure_dummy(name: str) -> None:
    """A dummy link (dockerd's `dm-<id>` parent for a macvlan network without `-o parent`)."""
    with IPRoute() as ipr:
        if not ipr.link_lookup(ifname=name):
            ipr.link("add", ifname=name, kind="dummy")
        ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")


def detach_in_netns(netns: str, ifname: str) -> None:
    """Remove the container side (`docker network disconnect` of a running container)."""
    with _ns_route(netns) as inner:
        found = inner.link_lookup(ifname=ifname)
        if found:
            inner.link("del", index=found[0])


def container_ifnames(netns: str) -> set[str]:
    with _ns_route(netns) as inner:
        return {link.get_attr("IFLA_IFNAME") for link in inner.get_links()}


def enable_bridge_netfilter(version: int = 4) -> None:
    """net.bridge.bridge-nf-call-iptables=1 (ip6tables for an IPv6 network), so traffic
    between two ports of one bridge goes through FORWARD, where `enable_icc=false` drops it
    (dockerd's setupBridgeNetFiltering)."""
    name = "ip6tables" if version == 6 else "iptables"
    try:
        _write_sysctl(f"/proc/sys/net/bridge/bridge-nf-call-{name}")
    except FileNotFoundError:
        raise RuntimeError(
            "cannot restrict inter-container communication: br_netfilter is not loaded"
        ) from None


def enable_ipv6(ifname: str) -> None:
    """net.ipv6.conf.<link>.disable_ipv6=0 in the calling thread's namespace (dockerd's
    setupBridgeIPv6 on the bridge, osl's on the container side)."""
    _write_sysctl(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6", "0")


def enable_ipv6_forward() -> None:
    """net.ipv6.conf.{default,all}.forwarding in the daemon's namespace, when an IPv6 network
    is set up (dockerd's setupIPv6Forwarding, under `ip-forward: true`)."""
    for which in ("default", "all"):
        _write_sysctl(f"/proc/sys/net/ipv6/conf/{which}/forwarding")


def _write_sysctl(path: str, value: str = "1") -> None:
    with open(path, "w") as f:
        f.write(value + "\n")


def enable_route_localnet(bridge: str) -> None:
    """net.ipv4.conf.<bridge>.route_localnet=1: packets to 127.0.0.1 DNATed to a container
    may leave through the bridge (dockerd's hairpin mode, without the userland proxy)."""
    _write_sysctl(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet")


def enable_ip_forward() -> None:
    """net.ipv4.ip_forward in the daemon's namespace (dockerd's `ip-forward: true`)."""
    _write_sysctl("/proc/sys/net/ipv4/ip_forward")
