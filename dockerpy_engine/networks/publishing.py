"""Published ports of a container's primary endpoint: host ports taken from the allocator,
their listeners (the userland proxy, or placeholders that only hold the port), and their
iptables/ip6tables DNAT rules; given back when the endpoint is released, and taken again for a
container that ran on through a daemon restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .. import errdefs
from ..containers.types import Container
from . import iptables, ports
from .types import OPT_HOST_IP, Endpoint, Network

log = logging.getLogger(__name__)


class PortPublisher:
    """Owns the host-port allocator and each container's listeners."""

    def __init__(
        self, ipt: iptables.Iptables, ip6t: iptables.Iptables, userland_proxy: bool
    ) -> None:
        self._ipt = ipt
        self._ip6t = ip6t
        self._userland_proxy = userland_proxy
        self._proxies: dict[str, list[ports.PortProxy]] = {}
        self._allocator = ports.PortAllocator()

    async def publish(self, c: Container, ep: Endpoint, n: Network) -> None:
        specs = ports.port_specs(c.config, c.host_config)
        if not specs:
            return
        default_ip = n.options.get(OPT_HOST_IP, "")
        if default_ip not in ("", "0.0.0.0"):  # 0.0.0.0 is the default: IPv6 too
            specs = [
                s if s.host_ip else ports.PortSpec(s.container_port, s.proto, default_ip,
                                                   s.host_start, s.host_end)
                for s in specs
            ]  # fmt: skip
        try:
            bindings, proxies = await ports.publish(
                specs, self._allocator, c.id, ep.ip, self._userland_proxy, ep.ip6
            )
        except errdefs.EngineError as exc:
            raise errdefs.System(
                f"driver failed programming external connectivity on endpoint "
                f"{c.name.lstrip('/')} ({ep.endpoint_id}): {exc.message}"
            ) from None
        ep.ports = [b.to_record() for b in bindings]
        self._proxies[c.id] = proxies

    async def rules(
        self, n: Network, ep: Endpoint, add: bool, bindings: list[ports.Binding] | None = None
    ) -> None:
        """Add (or remove) the rules of the endpoint's bindings: iptables ones for its IPv4
        bindings, ip6tables ones towards its IPv6 address for the [::] ones."""
        for ipt, address in ((self._ipt, ep.ip), (self._ip6t, ep.ip6)):
            rules: list[iptables.Rule] = []
            for b in bindings if bindings is not None else ep.bindings():
                if ports.is_v6(b.host_ip) == (ipt.version == 6):
                    rules += iptables.port_rules(
                        n.bridge, address, b.proto, b.host_ip, b.host_port, b.container_port
                    )
            if rules:
                await asyncio.to_thread(ipt.add_bridge if add else ipt.remove, rules)

    async def restore(self, n: Network, ep: Endpoint) -> None:
        """A container that ran on through a daemon restart: its listeners and rules again (a
        port taken by someone else meanwhile is logged and left out)."""
        bindings = ep.bindings()
        proxies = []
        for b in bindings:
            target = ep.ip6 if ports.is_v6(b.host_ip) else ep.ip
            proxy = ports.PortProxy(b, target, self._userland_proxy)
            try:
                await proxy.start()
            except OSError as exc:
                log.warning("port %s of %s: %s", b.host_port, ep.container_id[:12], exc)
                continue
            self._allocator.take(b.host_ip, b.proto, b.host_port, ep.container_id)
            proxies.append(proxy)
        self._proxies[ep.container_id] = proxies
        await self.rules(n, ep, True, bindings)

    async def unpublish(self, n: Network | None, ep: Endpoint) -> None:
        """Close the listeners, give the host ports back and remove the rules (which may be
        gone already)."""
        for proxy in self._proxies.pop(ep.container_id, []):
            await proxy.close()
        self._allocator.release_owner(ep.container_id)
        if n is not None and ep.ip:
            with contextlib.suppress(Exception):
                await self.rules(n, ep, False)
