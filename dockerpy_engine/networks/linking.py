"""Legacy links on the default bridge, where they need the containers: a parent's links
checked and recorded at create (the children found by name, through `container:` modes), the
environment they give it at start, and its /etc/hosts lines for them, rewritten whenever a child
comes back with another address. links.py holds the pure parts (parsing, variables, lines).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .. import errdefs
from ..containers.types import Container
from . import links
from .etchosts import edit_hosts
from .table import NetworkTable
from .types import PREDEFINED, Endpoint, Network

_HOST_AND_LINKS = (
    "conflicting options: host type networking can't be used with links. "
    "This would result in undefined behavior"
)


class LegacyLinks:
    """`containers` looks a container up by name or ID, raising NotFound."""

    def __init__(self, table: NetworkTable, containers: Callable[[str], Container]) -> None:
        self._table = table
        self._containers = containers

    def register(self, c: Container, primary: str | None) -> list[list[str]]:
        """HostConfig.Links outside user-defined networks (dockerd's registerLinks): each
        child must exist (through `container:` modes) and not use the host's network; the
        links are shown as `/child:/parent/alias` from then on. Returns [child id, alias]."""
        values = list(c.host_config.get("Links") or [])
        if not values:
            return []
        if primary is not None and primary not in PREDEFINED:
            c.host_config["Links"] = None  # only the endpoint's aliases (EndpointSettings.Links)
            return []
        if primary == "host":
            raise errdefs.InvalidParameter(_HOST_AND_LINKS)
        found: list[list[str]] = []
        shown: list[str] = []
        for value in values:
            name, alias = links.parse_link(value)
            ref = name
            while True:
                try:
                    child = self._containers(ref)
                except errdefs.NotFound as exc:
                    raise errdefs.InvalidParameter(
                        f"could not get container for {name}: {exc.message}"
                    ) from None
                child_mode = str(child.host_config.get("NetworkMode") or "")
                if not child_mode.startswith("container:"):
                    break
                ref = child_mode.split(":", 1)[1]
            if child_mode == "host":
                raise errdefs.InvalidParameter(_HOST_AND_LINKS)
            found.append([child.id, alias])
            shown.append(f"{child.name}:{c.name}/{alias}")
        c.host_config["Links"] = shown
        return found

    def _live_child(self, child_id: str) -> tuple[Container, Endpoint] | None:
        """A linked child and its live default-bridge endpoint; None once it was removed or
        while it has no address there."""
        try:
            child = self._containers(child_id)
        except errdefs.NotFound:
            return None
        ep = next(
            (
                e
                for e in self._table.of(child_id)
                if self._table.networks[e.network_id].default_bridge
            ),
            None,
        )
        return (child, ep) if ep is not None and ep.ip else None

    def link_env(self, c: Container) -> list[str]:
        """The environment a starting container's legacy links give it (dockerd's
        setupLinkedContainers): every child must be running on the default bridge."""
        out: list[str] = []
        for ep in self._table.of(c.id):
            for child_id, alias in ep.links:
                try:
                    child = self._containers(child_id)
                except errdefs.NotFound:
                    continue  # removed since: dockerd drops the link with it
                link_name = f"{c.name}/{alias}"
                if not child.state.running:
                    raise errdefs.System(
                        f"Cannot link to a non running container: {child.name} AS {link_name}"
                    )
                live = self._live_child(child_id)
                if live is None:
                    raise errdefs.System(
                        f"container {child_id} not attached to default bridge network"
                    )
                out += links.link_env(
                    link_name,
                    live[1].ip,
                    child.config.get("Env") or [],
                    child.config.get("ExposedPorts") or {},
                )
        return out

    async def write_hosts(self, ep: Endpoint) -> None:
        """(Re)write a parent's /etc/hosts lines for its links, with the children's current
        addresses (dockerd updates them when a child comes back with another address)."""
        lines = []
        for child_id, alias in ep.links:
            live = self._live_child(child_id)
            if live is not None:
                child, child_ep = live
                hostname = str(child.config.get("Hostname") or child.id[:12])
                lines.append(links.hosts_line(child_ep.ip, alias, hostname, child.name.lstrip("/")))
        await asyncio.to_thread(edit_hosts, ep.hosts_path, ep.link_lines, lines)
        ep.link_lines = lines

    async def child_attached(self, child_id: str, n: Network) -> None:
        """A container came up on the default bridge: the parents linking to it write its
        new address into their /etc/hosts."""
        for parent in self._table.live(n):
            if parent.hosts_path and any(cid == child_id for cid, _ in parent.links):
                await self.write_hosts(parent)
