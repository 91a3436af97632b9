"""`docker update`: the HostConfig fields it may change, and dockerd's checks on a change
before it is validated as a whole and applied."""

from __future__ import annotations

from typing import Any

from .. import errdefs
from .restart import RestartPolicy
from .types import Container

UPDATABLE_RESOURCES = (
    "BlkioWeight",
    "CpuShares",
    "CpuPeriod",
    "CpuQuota",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetCpus",
    "CpusetMems",
    "Memory",
    "MemoryReservation",
    "MemorySwap",
    "NanoCpus",
    "PidsLimit",
)


def updated_host_config(c: Container, changes: dict[str, Any]) -> dict[str, Any]:
    """The container's HostConfig with the changes; zero values mean "unchanged", as dockerd."""
    updated = dict(c.host_config)
    for key in UPDATABLE_RESOURCES:
        if changes.get(key):
            updated[key] = changes[key]
    if changes.get("RestartPolicy"):
        policy = RestartPolicy.from_api(changes["RestartPolicy"])
        if policy.name not in ("", "no") and c.auto_remove:
            raise errdefs.InvalidParameter(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
            )
        updated["RestartPolicy"] = changes["RestartPolicy"]
    memory, swap = _hc_int(updated, "Memory"), _hc_int(updated, "MemorySwap")
    if changes.get("Memory") and not changes.get("MemorySwap") and 0 < swap < memory:
        raise errdefs.InvalidParameter(
            "Memory limit should be smaller than already set memoryswap limit, update the "
            "memoryswap at the same time"
        )
    return updated


def _hc_int(hc: dict[str, Any], key: str) -> int:
    return int(hc.get(key) or 0)
