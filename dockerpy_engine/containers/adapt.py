"""The HostConfig as dockerd stores it at create (`daemon/daemon_unix.go`
adaptContainerSettings): what the kernel cannot honour discarded, defaults filled,
`container:<name>` turned into the container's ID."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import errdefs
from ._fields import container_ref, int_field
from .hostenv import Environment, probe_environment
from .spec import DEFAULT_SHM_SIZE

DEFAULT_IPC_MODE = "private"  # dockerd's DefaultIpcMode


def adapt_host_config(
    host_config: Mapping[str, Any],
    resolve_id: Callable[[str], str],
    env: Environment | None = None,
) -> dict[str, Any]:
    """The HostConfig dockerd stores after its checks: what the kernel cannot honour discarded
    (verifyPlatformContainerResources), then adaptContainerSettings' defaults (MemorySwap twice
    Memory, ShmSize, IpcMode private, CgroupnsMode, OomKillDisable false, `label=disable` next
    to host namespaces and privileged) and `container:<name>` turned into the container's ID.

    `resolve_id(ref)` raises errdefs.NotFound for unknown containers; joining one is refused
    here (InvalidParameter, as dockerd's generateSecurityOpt does) unless dockerd would not
    have looked.
    """
    env = env or probe_environment()
    cg = env.cgroups
    hc = dict(host_config)
    if hc.get("MemorySwappiness") == -1:
        hc["MemorySwappiness"] = None
    if int_field(hc, "Memory") > 0 and not cg.memory:
        hc["Memory"], hc["MemorySwap"] = 0, -1
    if int_field(hc, "Memory") > 0 and int_field(hc, "MemorySwap") != -1 and not cg.swap:
        hc["MemorySwap"] = -1
    if hc.get("MemorySwappiness") is not None and not cg.swappiness:
        hc["MemorySwappiness"] = None
    if int_field(hc, "MemoryReservation") > 0 and not cg.reservation:
        hc["MemoryReservation"] = 0
    if hc.get("OomKillDisable") is not None and not cg.oom_kill_disable:
        hc["OomKillDisable"] = None
    pids = hc.get("PidsLimit")
    if pids is not None and (pids <= 0 or not cg.pids):
        hc["PidsLimit"] = None
    if int_field(hc, "CpuShares") > 0 and not cg.cpu_shares:
        hc["CpuShares"] = 0
    if (int_field(hc, "CpuPeriod") or int_field(hc, "CpuQuota")) and not cg.cpu_cfs:
        hc["CpuPeriod"] = hc["CpuQuota"] = 0
    if int_field(hc, "CpuPercent") > 0:
        hc["CpuPercent"] = 0
    if (hc.get("CpusetCpus") or hc.get("CpusetMems")) and not cg.cpuset:
        hc["CpusetCpus"] = hc["CpusetMems"] = ""
    if int_field(hc, "BlkioWeight") > 0 and not cg.blkio_weight:
        hc["BlkioWeight"] = 0
    if hc.get("BlkioWeightDevice") and not cg.blkio_weight_device:
        hc["BlkioWeightDevice"] = []
    for key in ("BlkioDeviceReadBps", "BlkioDeviceWriteBps"):
        if hc.get(key) and not cg.blkio_throttle:
            hc[key] = []
    for key in ("BlkioDeviceReadIOps", "BlkioDeviceWriteIOps"):
        if hc.get(key) and not cg.blkio_throttle:
            hc[key] = []

    if int_field(hc, "Memory") > 0 and int_field(hc, "MemorySwap") == 0:
        hc["MemorySwap"] = 2 * int_field(hc, "Memory")
    if not int_field(hc, "ShmSize"):
        hc["ShmSize"] = DEFAULT_SHM_SIZE
    if not hc.get("IpcMode"):
        hc["IpcMode"] = DEFAULT_IPC_MODE
    if not hc.get("CgroupnsMode"):
        private = cg.unified
        hc["CgroupnsMode"] = "private" if private else "host"
    if hc.get("OomKillDisable") is None:
        hc["OomKillDisable"] = False
    _join_by_id(hc, resolve_id)
    return hc


def _join_by_id(hc: dict[str, Any], resolve_id: Callable[[str], str]) -> None:
    """adaptSharedNamespaceContainer and generateSecurityOpt on a host without SELinux."""
    security = list(hc.get("SecurityOpt") or [])
    labelled = any(opt.split("=")[0] == "label" for opt in security)
    ipc, pid = hc.get("IpcMode") or "", hc.get("PidMode") or ""
    host_like = ipc == "host" or pid == "host" or bool(hc.get("Privileged"))
    network = hc.get("NetworkMode") or ""
    if network.startswith("container:"):
        hc["NetworkMode"] = "container:" + resolve_id(container_ref(network))
    for key, mode in (("IpcMode", ipc), ("PidMode", pid)):
        ref = container_ref(mode)
        if not ref:
            continue
        try:
            hc[key] = "container:" + resolve_id(ref)
        except errdefs.NotFound as exc:
            if not labelled and not host_like:
                raise errdefs.InvalidParameter(exc.message) from None
    if not labelled and host_like:
        hc["SecurityOpt"] = [*security, "label=disable"]
