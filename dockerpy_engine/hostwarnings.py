"""docker info's limit fields and Warnings, from what the cgroups here can enforce.

dockerd's fillPlatformInfo (daemon/info_unix.go): the cgroup v1-only warnings (kernel memory
TCP, oom-kill-disable) and the v2-only ones (io.weight) are printed only where a user could act
on them; the throttle ones name the v2 io.max keys or the v1 blkio files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .containers.hostenv import CgroupSupport, probe_cgroups

_THROTTLE = (
    ("rbps", "read_bps_device"),
    ("wbps", "write_bps_device"),
    ("riops", "read_iops_device"),
    ("wiops", "write_iops_device"),
)


def ipv4_forwarding(path: str = "/proc/sys/net/ipv4/ip_forward") -> bool:
    try:
        return Path(path).read_text().strip() == "1"
    except OSError:
        return False


def limits(support: CgroupSupport, cgroup_version: str) -> dict[str, Any]:
    """Info's MemoryLimit, SwapLimit, … as sysinfo found them."""
    return {
        "MemoryLimit": support.memory,
        "SwapLimit": support.swap,
        "CpuCfsPeriod": support.cpu_cfs,
        "CpuCfsQuota": support.cpu_cfs,
        "CPUShares": support.cpu_shares,
        "CPUSet": support.cpuset,
        "PidsLimit": support.pids,
        "OomKillDisable": support.oom_kill_disable and cgroup_version == "1",
    }


def warnings(support: CgroupSupport, cgroup_version: str, ip_forward: bool) -> list[str]:
    """Info's Warnings, in dockerd's order and words."""
    v2 = cgroup_version == "2"
    out: list[str] = []
    if not support.memory:
        out.append("WARNING: No memory limit support")
    if not support.swap:
        out.append("WARNING: No swap limit support")
    if not support.oom_kill_disable and not v2:
        out.append("WARNING: No oom kill disable support")
    if not support.cpu_cfs:
        out.append("WARNING: No cpu cfs quota support")
        out.append("WARNING: No cpu cfs period support")
    if not support.cpu_shares:
        out.append("WARNING: No cpu shares support")
    if not support.cpuset:
        out.append("WARNING: No cpuset support")
    if not support.blkio_weight and v2:
        out.append("WARNING: No io.weight support")
    if not support.blkio_weight_device and v2:
        out.append("WARNING: No io.weight (per device) support")
    if not support.blkio_throttle:
        for key, name in _THROTTLE:
            out.append(
                f"WARNING: No io.max ({key}) support"
                if v2
                else f"WARNING: No blkio throttle.{name} support"
            )
    if not ip_forward:
        out.append("WARNING: IPv4 forwarding is disabled")
    return out


def host_info(cgroup_version: str) -> dict[str, Any]:
    """The /info fields this module owns (blocking reads of /sys and /proc: call in a thread)."""
    support = probe_cgroups()
    forwarding = ipv4_forwarding()
    return {
        **limits(support, cgroup_version),
        "IPv4Forwarding": forwarding,
        "Warnings": warnings(support, cgroup_version, forwarding) or None,
    }
