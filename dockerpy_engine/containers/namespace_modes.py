"""A container's namespace modes (IpcMode, PidMode, UTSMode, NetworkMode, CgroupnsMode,
UsernsMode) → the spec's namespaces and its /dev/shm.

`host` shares the host's namespace; `container:<ref>` joins another container's, which must
run (dockerd's getIpcContainer, getPidContainer, getNetworkedContainer) and which is seen only
through a `Lookup` callable; a shareable IPC has its own shm tmpfs on the host (`_shm.py`) that
joiners bind over their /dev/shm.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import errdefs
from ._fields import container_ref, int_field
from .hostenv import Environment
from .spec import DEFAULT_SHM_SIZE, namespaces
from .tmpfs import DEFAULT_PROPAGATION

_RESTARTING = "Container {} is restarting, wait until the container is running"


@dataclass(frozen=True, slots=True)
class Donor:
    """Another container whose namespace a container joins (`--pid/--ipc container:<ref>`)."""

    id: str
    status: str  # its State.Status
    pid: int  # its task's PID while it runs
    host_config: Mapping[str, Any]
    shm_dir: str  # where its shm tmpfs is mounted when it is shareable


# Resolves a container reference; raises errdefs.NotFound (NoSuchContainer) for unknown ones.
Lookup = Callable[[str], Donor]


def namespace_options(
    hc: Mapping[str, Any], shm_dir: str, lookup: Lookup | None, env: Environment, remap: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(namespaces and shm_size for the spec, the /dev/shm bind mount if any). With a remap,
    a private user namespace, or the one of the container whose network, IPC or PID
    namespace it joins (the kernel wants both from the same owner; the last join wins, as in
    dockerd's WithNamespaces)."""
    host: list[str] = []
    join: dict[str, str] = {}
    donors: dict[str, int] = {}  # namespace type → the PID of the container it is joined from
    shm_mounts: list[dict[str, Any]] = []
    ipc = hc.get("IpcMode") or ""
    shm_size: int | None = int_field(hc, "ShmSize") or DEFAULT_SHM_SIZE
    if ipc.startswith("container:"):
        if lookup is not None:
            donor = _ipc_donor(container_ref(ipc), lookup)
            join["ipc"] = f"/proc/{donor.pid}/ns/ipc"
            donors["ipc"] = donor.pid
            if not has_mount_for(hc, "/dev/shm"):
                shm_mounts.append(_shm_bind(shm_source(donor, lookup)))
    elif ipc == "host":
        host.append("ipc")
        if not has_mount_for(hc, "/dev/shm"):
            shm_mounts.append(_shm_bind("/dev/shm"))
    elif ipc == "none":
        shm_size = None
    elif needs_shm_mount(hc):
        shm_mounts.append(_shm_bind(shm_dir))
    pid = hc.get("PidMode") or ""
    if pid.startswith("container:"):
        if lookup is not None:
            donors["pid"] = _pid_donor(container_ref(pid), lookup).pid
            join["pid"] = f"/proc/{donors['pid']}/ns/pid"
    elif pid == "host":
        host.append("pid")
    if hc.get("UTSMode") == "host":
        host.append("uts")
    network = hc.get("NetworkMode") or ""
    if network == "host":
        host.append("network")
    elif network.startswith("container:") and lookup is not None:
        donors["network"] = _network_donor(container_ref(network), lookup).pid
        join["network"] = f"/proc/{donors['network']}/ns/net"
    cgroup = hc.get("CgroupnsMode") == "private" and env.cgroups.cgroup_namespaces
    user = remap and hc.get("UsernsMode") != "host"
    joined = next((donors[k] for k in ("pid", "ipc", "network") if k in donors), 0)
    if user and joined:
        join["user"] = f"/proc/{joined}/ns/user"
    spec_ns = namespaces(host=host, join=join, cgroup=cgroup, user=user)
    return {"namespaces": spec_ns, "shm_size": shm_size}, shm_mounts


def _shm_bind(source: str) -> dict[str, Any]:
    """dockerd's IpcMounts: a writable, rprivate bind over /dev/shm."""
    return {
        "destination": "/dev/shm",
        "type": "bind",
        "source": source,
        "options": ["rbind", DEFAULT_PROPAGATION],
    }


def needs_shm_mount(hc: Mapping[str, Any]) -> bool:
    """Whether the container's own shm tmpfs is mounted on the host (dockerd's setupIpcDirs):
    a shareable IPC (or an old container's empty mode) with no mount of its own on /dev/shm."""
    return (hc.get("IpcMode") or "") in ("", "shareable") and not has_mount_for(hc, "/dev/shm")


def has_mount_for(hc: Mapping[str, Any], destination: str) -> bool:
    """A tmpfs, bind or mount of the container's own on `destination` (HasMountFor)."""
    target = posixpath.normpath(destination)
    candidates = list(hc.get("Tmpfs") or {})
    candidates += [m.get("Target") or "" for m in hc.get("Mounts") or ()]
    candidates += [_bind_destination(b) for b in hc.get("Binds") or ()]
    return any(c and posixpath.normpath(c) == target for c in candidates)


def _bind_destination(bind: str) -> str:
    parts = bind.split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def shm_source(donor: Donor, lookup: Lookup, depth: int = 0) -> str:
    """The directory a joiner binds over /dev/shm: the donor's ShmPath (its own shm tmpfs,
    the host's /dev/shm, or what it joined itself)."""
    ipc = donor.host_config.get("IpcMode") or ""
    if ipc == "host":
        return "/dev/shm"
    ref = container_ref(ipc)
    if ref and depth < 8:
        return shm_source(lookup(ref), lookup, depth + 1)
    return donor.shm_dir


def _ipc_donor(ref: str, lookup: Lookup) -> Donor:
    """dockerd's getIpcContainer: running, not restarting, and shareable."""
    prefix = f"can't join IPC of container {ref}"
    try:
        donor = lookup(ref)
    except errdefs.NotFound as exc:
        raise errdefs.System(f"{prefix}: {exc.message}") from None
    _check_running(donor, prefix + ": ")
    ipc = donor.host_config.get("IpcMode") or ""
    shareable = ipc == "host" or container_ref(ipc) or needs_shm_mount(donor.host_config)
    if not shareable:
        raise errdefs.System(
            f"{prefix}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
        )
    return donor


def _pid_donor(ref: str, lookup: Lookup) -> Donor:
    """dockerd's getPidContainer."""
    try:
        donor = lookup(ref)
    except errdefs.NotFound as exc:
        raise errdefs.System(
            f"cannot join PID of a non running container: {ref}: {exc.message}"
        ) from None
    _check_running(donor, "")
    return donor


def _network_donor(ref: str, lookup: Lookup) -> Donor:
    """dockerd's getNetworkedContainer."""
    try:
        donor = lookup(ref)
    except errdefs.NotFound as exc:
        raise errdefs.System(exc.message) from None
    if donor.status not in ("running", "paused") or donor.pid <= 0:
        raise errdefs.System(f"cannot join network of a non running container: {ref}")
    return donor


def _check_running(donor: Donor, prefix: str) -> None:
    if donor.status == "restarting":
        raise errdefs.System(prefix + _RESTARTING.format(donor.id))
    if donor.status not in ("running", "paused") or donor.pid <= 0:
        raise errdefs.System(f"{prefix}container {donor.id} is not running")


def shm_size(hc: Mapping[str, Any]) -> int:
    """The container's /dev/shm size in bytes (dockerd's default when unset)."""
    return int_field(hc, "ShmSize") or DEFAULT_SHM_SIZE
