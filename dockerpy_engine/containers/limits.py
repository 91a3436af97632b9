"""A container's cgroup resources and rlimits, from its HostConfig (dockerd's WithResources
and WithRlimits)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._fields import int_field, invalid, memory_swappiness
from .spec import Resources, Rlimit

RLIM_INFINITY = 2**64 - 1  # a ulimit of -1, as dockerd's uint64 conversion makes it

# go-units' ulimit names (`as` is left out there too).
ULIMIT_NAMES = frozenset(
    "core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime "
    "sigpending stack".split()
)


def resources(hc: Mapping[str, Any]) -> Resources:
    """The cgroup limits, in HostConfig units (the spec builder converts, as WithResources)."""
    return Resources(
        memory=int_field(hc, "Memory"),
        memory_reservation=int_field(hc, "MemoryReservation"),
        memory_swap=int_field(hc, "MemorySwap"),
        memory_swappiness=memory_swappiness(hc),
        oom_kill_disable=hc.get("OomKillDisable"),
        cpu_shares=int_field(hc, "CpuShares"),
        cpu_period=int_field(hc, "CpuPeriod"),
        cpu_quota=int_field(hc, "CpuQuota"),
        nano_cpus=int_field(hc, "NanoCpus"),
        cpuset_cpus=hc.get("CpusetCpus") or "",
        cpuset_mems=hc.get("CpusetMems") or "",
        pids_limit=hc.get("PidsLimit"),
        blkio_weight=int_field(hc, "BlkioWeight"),
    )


def rlimit(ulimit: Mapping[str, Any]) -> Rlimit:
    """A HostConfig.Ulimits entry (or a default-ulimits one); -1 is unlimited (RLIM_INFINITY)."""
    name = str(ulimit.get("Name") or "")
    if name not in ULIMIT_NAMES:
        invalid(f"invalid ulimit type: {name}")
    soft, hard = int(ulimit.get("Soft") or 0), int(ulimit.get("Hard") or 0)
    if hard != -1:
        if soft == -1:
            invalid(
                "ulimit soft limit must be less than or equal to hard limit: "
                f"soft: -1 (unlimited), hard: {hard}"
            )
        if soft > hard:
            invalid(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Rlimit(
        name=name,
        soft=RLIM_INFINITY if soft == -1 else soft,
        hard=RLIM_INFINITY if hard == -1 else hard,
    )
