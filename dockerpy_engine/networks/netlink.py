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

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug output is per message

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

ENOENT = 2
EEXIST = 17
ENODEV = 19


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


def ensure_bridge(name: str, address: str, prefixlen: int, mtu: int = 0) -> None:
    """Create the bridge if missing, give it the gateway address, bring it up."""
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
        have = {
            (a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index, family=2)
        }
        if (address, prefixlen) not in have:
            try:
                ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
            except NetlinkError as exc:
                if exc.code != EEXIST:
                    raise
        ipr.link("set", index=index, state="up")


def delete_link(name: str) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            with contextlib.suppress(NetlinkError):
                ipr.link("del", index=found[0])


def link_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


def attach(
    bridge: str,
    host_name: str,
    netns: str,
    ifname: str,
    address: str,
    prefixlen: int,
    mac: str,
    gateway: str,
    default_route: bool,
    mtu: int = 0,
) -> None:
    """A veth pair: `host_name` on the bridge, its peer moved into `netns` as `ifname` with the
    address, MAC and (for the first network) the default route. Undone on any failure."""
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
            fd = os.open(netns, os.O_RDONLY)
            try:
                ipr.link("set", index=peer_index, net_ns_fd=fd)
            finally:
                os.close(fd)
            with _ns_route(netns) as inner:
                index = inner.link_lookup(ifname=peer)[0]
                inner.link("set", index=index, ifname=ifname, address=mac)
                inner.addr("add", index=index, address=address, prefixlen=prefixlen)
                inner.link("set", index=index, state="up")
                lo = inner.link_lookup(ifname="lo")
                if lo:
                    inner.link("set", index=lo[0], state="up")
                if default_route:
                    inner.route("add", dst="0.0.0.0/0", gateway=gateway)
        except BaseException:
            with contextlib.suppress(NetlinkError, IndexError):
                ipr.link("del", index=ipr.link_lookup(ifname=host_name)[0])
            raise


def detach_in_netns(netns: str, ifname: str) -> None:
    """Remove the container side (`docker network disconnect` of a running container)."""
    with _ns_route(netns) as inner:
        found = inner.link_lookup(ifname=ifname)
        if found:
            inner.link("del", index=found[0])


def container_ifnames(netns: str) -> set[str]:
    with _ns_route(netns) as inner:
        return {link.get_attr("IFLA_IFNAME") for link in inner.get_links()}


def enable_ip_forward() -> None:
    """net.ipv4.ip_forward in the daemon's namespace (dockerd's `ip-forward: true`)."""
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write("1\n")
