"""What the machine decides for a container's settings: cgroup controllers, CPUs, the init
binary, the seccomp arch and kernel, device nodes.

It comes in one `Environment`, probed once by `probe_environment()` when the caller passes
none, so the checks and mappings that take it stay pure and tests pin the machine.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .devices import DeviceLookup, devices_from_path
from .seccomp import host_arch, host_kernel


@dataclass(frozen=True, slots=True)
class CgroupSupport:
    """What the cgroup controllers here can enforce (dockerd's sysinfo.SysInfo)."""

    memory: bool = True
    swap: bool = True
    swappiness: bool = True
    reservation: bool = True
    oom_kill_disable: bool = True
    pids: bool = True
    cpu_shares: bool = True
    cpu_cfs: bool = True
    cpuset: bool = True
    cpus: str = ""  # the cpuset.cpus / cpuset.mems a container may ask for
    mems: str = ""
    blkio_weight: bool = True
    blkio_weight_device: bool = True
    blkio_throttle: bool = True
    cgroup_namespaces: bool = True
    unified: bool = False  # cgroup v2


@dataclass(frozen=True, slots=True)
class Environment:
    """Everything the mapping takes from the machine the daemon runs on."""

    ncpu: int
    cgroups: CgroupSupport
    init_path: str  # the tini binary for --init; "" when none is installed
    arch: str  # GOARCH and (version, major): checking a seccomp profile resolves it
    kernel: tuple[int, int]
    # --add-host NAME:host-gateway. dockerd uses its bridge's address; until this daemon has
    # networking, the fallback is the loopback address (the container's own loopback).
    host_gateway_ip: str = "127.0.0.1"
    devices: DeviceLookup = field(default=lambda h, c, p: devices_from_path(h, c, p))


@lru_cache(maxsize=1)
def probe_environment() -> Environment:
    """Read once: controllers, CPUs and installed binaries do not change while the daemon runs."""
    return Environment(
        ncpu=len(os.sched_getaffinity(0)),
        cgroups=probe_cgroups(),
        init_path=find_init(),
        arch=host_arch(),
        kernel=host_kernel(),
    )


def find_init() -> str:
    """Debian's tini: the static build first (an image need not have a libc), else the
    dynamic one, else a `docker-init` on PATH as dockerd looks for it."""
    for candidate in ("/usr/bin/tini-static", "/usr/bin/tini"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("docker-init") or ""


def probe_cgroups(root: str = "/sys/fs/cgroup") -> CgroupSupport:
    """dockerd's sysinfo checks: which control files exist (v1) or controllers are on (v2)."""
    base = Path(root)
    if (base / "cgroup.controllers").exists():
        controllers = set((base / "cgroup.controllers").read_text().split())
        return CgroupSupport(
            memory="memory" in controllers,
            swap="memory" in controllers,
            swappiness=False,
            reservation="memory" in controllers,
            oom_kill_disable=False,
            pids="pids" in controllers,
            cpu_shares="cpu" in controllers,
            cpu_cfs="cpu" in controllers,
            cpuset="cpuset" in controllers,
            cpus=_read(base / "cpuset.cpus.effective"),
            mems=_read(base / "cpuset.mems.effective"),
            blkio_weight="io" in controllers,
            blkio_weight_device="io" in controllers,
            blkio_throttle="io" in controllers,
            cgroup_namespaces=os.path.exists("/proc/self/ns/cgroup"),
            unified=True,
        )

    def has(controller: str, name: str = "") -> bool:
        return (base / controller / name).exists() if name else (base / controller).is_dir()

    return CgroupSupport(
        memory=has("memory"),
        swap=has("memory", "memory.memsw.limit_in_bytes"),
        swappiness=has("memory", "memory.swappiness"),
        reservation=has("memory", "memory.soft_limit_in_bytes"),
        oom_kill_disable=has("memory", "memory.oom_control"),
        pids=has("pids"),
        cpu_shares=has("cpu", "cpu.shares"),
        cpu_cfs=has("cpu", "cpu.cfs_quota_us"),
        cpuset=has("cpuset"),
        cpus=_read(base / "cpuset" / "cpuset.cpus"),
        mems=_read(base / "cpuset" / "cpuset.mems"),
        blkio_weight=has("blkio", "blkio.weight") or has("blkio", "blkio.bfq.weight"),
        blkio_weight_device=has("blkio", "blkio.weight_device"),
        blkio_throttle=has("blkio", "blkio.throttle.read_bps_device"),
        cgroup_namespaces=os.path.exists("/proc/self/ns/cgroup"),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
