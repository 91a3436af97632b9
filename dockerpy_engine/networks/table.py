"""The networks and endpoints the daemon knows, shared by the service and its collaborators
(drivers, attachment, DNS members, links, views): the records in memory, written through to
store/networks.py, and the one lock that serialises allocation.
"""

from __future__ import annotations

import asyncio

from .. import errdefs
from ..store.networks import NetworkRows
from .types import Endpoint, Network


class NetworkTable:
    """Networks by ID and endpoints by (container ID, network ID)."""

    def __init__(self, rows: NetworkRows) -> None:
        self.rows = rows
        self.networks: dict[str, Network] = {}
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        self.lock = asyncio.Lock()

    def load(self) -> None:
        """The records as the database holds them; endpoints of unknown networks are left out."""
        for record in self.rows.load_networks():
            n = Network.from_record(record)
            self.networks[n.id] = n
        for record in self.rows.load_endpoints():
            ep = Endpoint.from_record(record)
            if ep.network_id in self.networks:
                self.endpoints[(ep.container_id, ep.network_id)] = ep

    def add(self, n: Network) -> None:
        self.networks[n.id] = n
        self.rows.save_network(n.to_record())

    def save(self, ep: Endpoint) -> None:
        self.rows.save_endpoint(ep.to_record())

    def remove(self, container_id: str, network_id: str) -> None:
        self.endpoints.pop((container_id, network_id), None)
        self.rows.delete_endpoint(container_id, network_id)

    def get(self, ref: str) -> Network:
        if ref in self.networks:
            return self.networks[ref]
        for n in self.networks.values():
            if n.name == ref:
                return n
        matches = [n for n in self.networks.values() if ref and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise errdefs.InvalidParameter(f"network {ref} is ambiguous ({len(matches)} matches)")
        raise errdefs.NotFound(f"network {ref} not found")

    def of(self, container_id: str) -> list[Endpoint]:
        """A container's endpoints, the primary one first, then by network name."""
        eps = [ep for (cid, _), ep in self.endpoints.items() if cid == container_id]
        eps.sort(key=lambda ep: (not ep.primary, self.networks[ep.network_id].name))
        return eps

    def live(self, n: Network) -> list[Endpoint]:
        return [ep for (_, nid), ep in self.endpoints.items() if nid == n.id and ep.endpoint_id]
