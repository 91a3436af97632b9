"""The OCI runtime spec for a container, with dockerd's defaults.

`build_spec(SpecInput(...))` returns the JSON-able dict that goes to containerd as the container's
spec. It follows dockerd 20.10 (`oci/defaults.go`, `oci/caps`, `daemon/oci_linux.go`), the
dockerd whose seccomp profile we load: what a container may do is what it may do under dockerd.

    process    args, env (PATH, HOSTNAME, TERM=xterm with a tty, then the container's Env),
               cwd, user, terminal, capabilities, rlimits, noNewPrivileges, oomScoreAdj
    root       {"path": "rootfs"}: containerd mounts the rootfs given to Tasks.Create there
    mounts     dockerd's defaults, then the per-container /etc files, then the caller's mounts
    linux      namespaces, masked/readonly paths, devices and the device cgroup, cgroupsPath,
               resources, sysctls, seccomp

Everything that depends on the host (the daemon's bounding capability set, /dev for privileged
containers, which sysctls exist, arch and kernel for seccomp) comes in one `HostInfo`, probed once
by `probe_host()` when the caller passes none, so that the rest is a pure function and tests can
pin the host. Errors are `errdefs` kinds with dockerd's messages.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import errdefs
from ..idmap import NO_MAPPING, IdentityMapping
from .seccomp import host_arch, host_kernel, seccomp_for

OCI_VERSION = "1.0.2-dev"  # runtime-spec of runc 1.1 and dockerd 20.10
DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024  # dockerd's DefaultShmSize
DEFAULT_CGROUP_PARENT = "/dockerpy"

# Linux capabilities by bit number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE (40),
# the last one runc 1.1 knows. Bit n of /proc/<pid>/status CapBnd is CAPABILITIES[n].
CAPABILITIES: tuple[str, ...] = tuple(
    "CAP_" + name
    for name in (
        "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
        "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
        "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
        "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
        "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF "
        "CHECKPOINT_RESTORE"
    ).split()
)

# dockerd's default set (oci/caps/defaults.go), in its order.
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
)

DEFAULT_READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

# Set for containers with their own network namespace, when the kernel has them: ping without
# CAP_NET_RAW and ports below 1024 without CAP_NET_BIND_SERVICE. The user's sysctls win.
DEFAULT_NETWORK_SYSCTLS: Mapping[str, str] = {
    "net.ipv4.ping_group_range": "0 2147483647",
    "net.ipv4.ip_unprivileged_port_start": "0",
}

NAMESPACE_TYPES = frozenset({"mount", "network", "uts", "pid", "ipc", "cgroup", "user"})

# Default mounts a read-only rootfs leaves writable (they are the container's own scratch space).
_RW_WITH_READONLY_ROOT = frozenset({"/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"})

# Directories under /dev that never hold devices to copy into a privileged container (runc).
_SKIPPED_DEV_DIRS = frozenset({"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"})


class UnknownCapability(errdefs.InvalidParameter):
    """--cap-add/--cap-drop names a capability the daemon does not know."""

    def __init__(self, name: str) -> None:
        super().__init__(f'unknown capability: "{name}"')


# ------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Namespace:
    """One linux.namespaces entry: a new namespace, or, with `path`, joining an existing one
    (`/proc/<pid>/ns/net` for `--network container:x`, a netns file for a bridge network)."""

    type: str
    path: str = ""

    def to_oci(self) -> dict[str, str]:
        return {"type": self.type, "path": self.path} if self.path else {"type": self.type}


DEFAULT_NAMESPACES: tuple[Namespace, ...] = tuple(
    Namespace(t) for t in ("mount", "network", "uts", "pid", "ipc")
)


def namespaces(
    *,
    host: Iterable[str] = (),
    join: Mapping[str, str] | None = None,
    cgroup: bool = False,
    user: bool = False,
) -> tuple[Namespace, ...]:
    """dockerd's namespace list, adjusted: `host` types are shared with the host (left out),
    `join` maps a type to the namespace path to enter, `cgroup` adds a private cgroup ns and
    `user` a private user ns (a remapped daemon's; `join` may name another's instead)."""
    wanted = set(host) | set(join or {})
    unknown = wanted - NAMESPACE_TYPES
    if unknown:
        raise ValueError(f"unknown namespace types: {sorted(unknown)}")
    result = [ns for ns in DEFAULT_NAMESPACES if ns.type not in set(host)]
    if cgroup:
        result.append(Namespace("cgroup"))
    if user:
        result.append(Namespace("user"))
    for ns_type, path in (join or {}).items():
        entry = Namespace(ns_type, path)
        index = next((i for i, ns in enumerate(result) if ns.type == ns_type), None)
        if index is None:
            result.append(entry)
        else:
            result[index] = entry
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Rlimit:
    """A ulimit: name as docker spells it ("nofile") or as OCI does ("RLIMIT_NOFILE")."""

    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Resources:
    """cgroup limits in dockerd's HostConfig units; 0 / None / "" means unset (left out).

    Values are taken as given: dockerd's create-time adjustments (MemorySwap = 2 x Memory when
    only Memory is set, swappiness -1 → unset) belong to the create path, not here.
    """

    memory: int = 0  # bytes
    memory_reservation: int = 0
    memory_swap: int = 0  # memory + swap, bytes; -1 (unlimited) is left out, as dockerd
    memory_swappiness: int | None = None  # 0..100; None or -1 → unset
    oom_kill_disable: bool | None = None
    cpu_shares: int = 0
    cpu_period: int = 0  # microseconds
    cpu_quota: int = 0
    nano_cpus: int = 0  # --cpus x 1e9 → quota over a 100 ms period
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int | None = None  # <= 0 means unlimited (-1), as the API allows
    blkio_weight: int = 0


@dataclass(frozen=True, slots=True)
class SpecInput:
    """Everything a container's spec depends on; set what you have, the rest is dockerd's."""

    id: str
    args: Sequence[str]
    env: Sequence[str] = ()  # the container's Env (image env merged); overrides the defaults
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: Sequence[int] = ()  # users.ExecUser.additional_gids: primary gid first
    tty: bool = False
    console_size: tuple[int, int] = (0, 0)  # HostConfig.ConsoleSize: the TTY's first rows, cols
    hostname: str = ""
    domainname: str = ""
    privileged: bool = False
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()
    no_new_privileges: bool = False
    oom_score_adj: int = 0
    rlimits: Sequence[Rlimit] = ()
    read_only: bool = False  # the rootfs, and the default mounts that are not scratch space
    # Per-container files bind-mounted over the image's, destination → host path ("" = none):
    # /etc/resolv.conf, /etc/hostname, /etc/hosts.
    etc_files: Mapping[str, str] = field(default_factory=dict)
    extra_mounts: Sequence[Mapping[str, Any]] = ()  # volumes, binds, tmpfs: already OCI mounts
    shm_size: int | None = DEFAULT_SHM_SIZE  # bytes (0 → default); None: no /dev/shm (ipc none)
    namespaces: Sequence[Namespace] = DEFAULT_NAMESPACES
    cgroup_parent: str = DEFAULT_CGROUP_PARENT
    resources: Resources = Resources()
    sysctls: Mapping[str, str] = field(default_factory=dict)
    seccomp: str = ""  # "" default profile, "unconfined", or a profile's JSON text
    masked_paths: Sequence[str] | None = None  # None: dockerd's (none when privileged)
    readonly_paths: Sequence[str] | None = None
    devices: Sequence[Mapping[str, Any]] = ()  # --device nodes, OCI linux.devices entries
    device_cgroup_rules: Sequence[Mapping[str, Any]] = ()  # their cgroup allow rules
    # The daemon's --userns-remap maps: a user namespace in `namespaces` gets them, and, as
    # dockerd's on a remapped daemon (whatever the container's own mode), the cgroup mount is
    # left writable and bind mounts keep the flags locked on their source's mount.
    id_mappings: IdentityMapping = NO_MAPPING


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What the spec takes from the machine the daemon runs on."""

    bounding_caps: tuple[str, ...]  # the daemon's own CapBnd: the most a container can get
    arch: str  # GOARCH, for the seccomp profile's arch filters
    kernel: tuple[int, int]  # (version, major), for its minKernel filters
    sysctls: frozenset[str] = frozenset()  # which DEFAULT_NETWORK_SYSCTLS exist here
    devices: tuple[Mapping[str, Any], ...] | None = None  # host /dev; None: scan when needed
    # the flags of the mount a path is on that a user namespace cannot clear (remapped binds)
    locked_flags: Callable[[str], tuple[str, ...]] = field(default=lambda p: locked_flags(p))


# ------------------------------------------------------------------------------------- host


def capabilities_from_mask(mask: int) -> tuple[str, ...]:
    """Capability names for the bits of a /proc status mask (bits runc cannot name are left)."""
    return tuple(name for bit, name in enumerate(CAPABILITIES) if mask >> bit & 1)


def bounding_set(status: str) -> tuple[str, ...]:
    """The CapBnd line of a /proc/<pid>/status text, as capability names."""
    for line in status.splitlines():
        if line.startswith("CapBnd:"):
            return capabilities_from_mask(int(line.split(":", 1)[1].strip(), 16))
    raise errdefs.System("no CapBnd line in /proc/self/status")


@lru_cache(maxsize=1)
def probe_host() -> HostInfo:
    """Read once: the daemon's bounding set, arch, kernel and sysctls do not change while it runs.

    The bounding set is what a privileged container gets instead of "every capability": on a
    machine whose own bounding set lacks one (CAP_SYS_RESOURCE here), runc refuses a spec that
    asks for it, and dockerd 20.10 fails the same way.
    """
    status = Path("/proc/self/status").read_text()
    present = frozenset(
        name
        for name in DEFAULT_NETWORK_SYSCTLS
        if os.path.exists("/proc/sys/" + name.replace(".", "/"))
    )
    return HostInfo(
        bounding_caps=bounding_set(status),
        arch=host_arch(),
        kernel=host_kernel(),
        sysctls=present,
    )


def host_devices(root: str = "/dev") -> list[dict[str, Any]]:
    """Every char/block device under /dev as OCI linux.devices entries, as runc's HostDevices:
    what a privileged container sees. Scanned per container (devices come and go)."""
    found: list[dict[str, Any]] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise errdefs.System(f"cannot list host devices in {root}: {exc.strerror}") from None
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in _SKIPPED_DEV_DIRS:
                found.extend(host_devices(entry.path))
            continue
        if entry.name == "console":
            continue
        try:
            st = os.lstat(entry.path)
        except FileNotFoundError:
            continue
        if stat.S_ISCHR(st.st_mode):
            kind = "c"
        elif stat.S_ISBLK(st.st_mode):
            kind = "b"
        else:
            continue
        found.append(
            {
                "path": entry.path,
                "type": kind,
                "major": os.major(st.st_rdev),
                "minor": os.minor(st.st_rdev),
                "fileMode": stat.S_IMODE(st.st_mode),
                "uid": st.st_uid,
                "gid": st.st_gid,
            }
        )
    return found


# statfs flags a mount made in a user namespace cannot drop (fs/namespace.c's locked flags),
# as dockerd's getUnprivilegedMountFlags names them.
_LOCKED_FLAGS: tuple[tuple[int, str], ...] = (
    (os.ST_RDONLY, "ro"),
    (os.ST_NODEV, "nodev"),
    (os.ST_NOEXEC, "noexec"),
    (os.ST_NOSUID, "nosuid"),
    (os.ST_NOATIME, "noatime"),
    (os.ST_RELATIME, "relatime"),
    (os.ST_NODIRATIME, "nodiratime"),
)


def locked_flags(path: str) -> tuple[str, ...]:
    """The options a bind of `path` must repeat when runc makes it inside a user namespace:
    its mount's flags there are locked, and a bind that leaves one out fails with EPERM."""
    try:
        flags = os.statvfs(path).f_flag
    except OSError:
        return ()  # runc reports the missing source
    return tuple(name for bit, name in _LOCKED_FLAGS if flags & bit)


# ------------------------------------------------------------------------------ capabilities


def normalize_capabilities(names: Iterable[str]) -> list[str]:
    """--cap-add/--cap-drop values → "CAP_X" names: any case, with or without the prefix, and
    the magic "ALL". Unknown names are InvalidParameter with dockerd's message (checked at
    create too, so a bad name fails `docker create`, not the later start)."""
    normalized = []
    for raw in names:
        name = raw.upper()
        if name != "ALL" and not name.startswith("CAP_"):
            name = "CAP_" + name
        if name != "ALL" and name not in CAPABILITIES:
            raise UnknownCapability(name)
        normalized.append(name)
    return normalized


def container_capabilities(inp: SpecInput, host: HostInfo) -> list[str]:
    """dockerd's TweakCapabilities, except that "every capability" (privileged, --cap-add ALL)
    means the daemon's own bounding set, the most runc can grant here."""
    if inp.privileged:
        return list(host.bounding_caps)
    if not inp.cap_add and not inp.cap_drop:
        return list(DEFAULT_CAPABILITIES)
    drops = normalize_capabilities(inp.cap_drop)
    adds = normalize_capabilities(inp.cap_add)
    if "ALL" in adds:
        caps = [c for c in host.bounding_caps if c not in drops]
    elif "ALL" in drops:
        caps = adds
    else:
        caps = [c for c in DEFAULT_CAPABILITIES if c not in drops] + adds
    return list(dict.fromkeys(caps))  # a re-added default appears once


# ------------------------------------------------------------------------------------- spec


def build_spec(inp: SpecInput, host: HostInfo | None = None) -> dict[str, Any]:
    """The OCI runtime spec for one container, as a JSON-able dict."""
    host = host or probe_host()
    caps = container_capabilities(inp, host)
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": _process(inp, caps),
        "root": {"path": "rootfs", "readonly": inp.read_only},
    }
    if _has_own_uts(inp):
        spec["hostname"] = inp.hostname
        if inp.domainname:
            spec["domainname"] = inp.domainname
    spec["mounts"] = _mounts(inp, host)
    spec["linux"] = _linux(inp, host, caps)
    return spec


def container_env(hostname: str, tty: bool, env: Sequence[str]) -> list[str]:
    """dockerd's CreateDaemonEnvironment: PATH and HOSTNAME (and TERM=xterm with a tty), then
    the container's Env replacing same-named entries or appended; a bare "NAME" unsets NAME."""
    defaults = [f"PATH={DEFAULT_PATH_ENV}", f"HOSTNAME={hostname}"]
    if tty:
        defaults.append("TERM=xterm")
    index = {entry.split("=", 1)[0]: i for i, entry in enumerate(defaults)}
    result: list[str | None] = list(defaults)
    for entry in env:
        key, has_value, _ = entry.partition("=")
        if not has_value:
            if key in index:
                result[index[key]] = None
        elif key in index:
            result[index[key]] = entry
        else:
            result.append(entry)
    return [e for e in result if e]


def _process(inp: SpecInput, caps: list[str]) -> dict[str, Any]:
    user: dict[str, Any] = {"uid": inp.uid, "gid": inp.gid}
    if inp.additional_gids:
        user["additionalGids"] = list(inp.additional_gids)
    process: dict[str, Any] = {
        "terminal": inp.tty,
        "user": user,
        "args": list(inp.args),
        "env": container_env(inp.hostname, inp.tty, inp.env),
        "cwd": inp.cwd or "/",
        "capabilities": _capabilities(caps, inp.uid),
    }
    if inp.tty and any(inp.console_size):  # dockerd's WithConsoleSize
        process["consoleSize"] = {"height": inp.console_size[0], "width": inp.console_size[1]}
    if inp.rlimits:
        process["rlimits"] = [_rlimit(r) for r in inp.rlimits]
    if inp.no_new_privileges:
        process["noNewPrivileges"] = True
    process["oomScoreAdj"] = inp.oom_score_adj
    return process


def _capabilities(caps: list[str], uid: int) -> dict[str, list[str]]:
    """Root gets the set as bounding, effective and permitted. Any other user gets only the
    bounding set, as execve would give it nothing (dockerd's SetCapabilities). No inheritable
    set: dockerd dropped it in 20.10.14 (CVE-2022-24769)."""
    if uid == 0:
        return {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)}
    return {"bounding": list(caps)}


def _rlimit(limit: Rlimit) -> dict[str, Any]:
    name = limit.name.upper()
    if not name.startswith("RLIMIT_"):
        name = "RLIMIT_" + name
    return {"type": name, "hard": limit.hard, "soft": limit.soft}


def _has_own_uts(inp: SpecInput) -> bool:
    """runc sets the hostname only in a new UTS namespace (dockerd clears it for --uts host)."""
    return any(ns.type == "uts" and not ns.path for ns in inp.namespaces)


# ----------------------------------------------------------------------------------- mounts


def _default_mounts(shm_size: int | None) -> list[dict[str, Any]]:
    """oci/defaults.go's mounts; /dev/shm gets the container's size (dockerd's WithMounts)."""
    mounts = [
        _mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
        _mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
        _mount(
            "/dev/pts",
            "devpts",
            "devpts",
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ),
        _mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
        _mount("/sys/fs/cgroup", "cgroup", "cgroup", "ro", "nosuid", "noexec", "nodev"),
        _mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
    ]
    if shm_size is not None:
        size = shm_size or DEFAULT_SHM_SIZE
        mounts.append(
            _mount(
                "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", f"size={size}"
            )
        )
    return mounts


def _mount(destination: str, type_: str, source: str, *options: str) -> dict[str, Any]:
    return {"destination": destination, "type": type_, "source": source, "options": list(options)}


def _etc_mounts(inp: SpecInput, taken: set[str]) -> list[dict[str, Any]]:
    """The daemon's resolv.conf/hostname/hosts for this container, unless a user mount covers
    the destination. Read-only with the rootfs; rprivate, as dockerd's NetworkMounts."""
    mounts = []
    for destination, source in inp.etc_files.items():
        if not source or destination in taken:
            continue
        options = ["rbind", "ro", "rprivate"] if inp.read_only else ["rbind", "rprivate"]
        mounts.append(
            {"destination": destination, "type": "bind", "source": source, "options": options}
        )
    return mounts


def _depth(mount: Mapping[str, Any]) -> int:
    return posixpath.normpath(mount["destination"]).count("/")


def _mounts(inp: SpecInput, host: HostInfo) -> list[dict[str, Any]]:
    """dockerd's WithMounts: defaults (minus those the container's own mounts replace, and all
    of /dev/* when it mounts /dev), then its own mounts, parents before children."""
    remapped = not inp.id_mappings.empty
    user = [dict(m) for m in inp.extra_mounts]
    user_destinations = {posixpath.normpath(m["destination"]) for m in user}
    own = _etc_mounts(inp, user_destinations) + user
    # Stable, by path depth: a volume on /etc must go under /etc/resolv.conf, not over it.
    own.sort(key=_depth)
    own_destinations = {posixpath.normpath(m["destination"]) for m in own}

    mounts = []
    for m in _default_mounts(inp.shm_size):
        dest = m["destination"]
        if dest in own_destinations:
            continue
        if "/dev" in own_destinations and dest.startswith("/dev/"):
            continue
        if inp.read_only and dest not in _RW_WITH_READONLY_ROOT and "ro" not in m["options"]:
            m["options"].append("ro")
        if (inp.privileged and dest == "/sys") or (
            (inp.privileged or remapped) and m["type"] == "cgroup"
        ):
            m["options"] = [o for o in m["options"] if o != "ro"]
        mounts.append(m)
    if remapped:
        for m in own:
            if m["type"] == "bind":
                m["options"] = [*m["options"], *host.locked_flags(m["source"])]
    return mounts + own


# ------------------------------------------------------------------------------------ linux


def _linux(inp: SpecInput, host: HostInfo, caps: list[str]) -> dict[str, Any]:
    devices, device_rules = _devices(inp, host)
    resources: dict[str, Any] = {"devices": device_rules, **linux_resources(inp.resources)}
    linux: dict[str, Any] = {
        "namespaces": [ns.to_oci() for ns in inp.namespaces],
        **_user_mappings(inp),
        "devices": devices,
        "resources": resources,
        "cgroupsPath": posixpath.join(inp.cgroup_parent, inp.id),
    }
    masked, readonly = _protected_paths(inp)
    if masked:
        linux["maskedPaths"] = masked
    if readonly:
        linux["readonlyPaths"] = readonly
    sysctls = _sysctls(inp, host)
    if sysctls:
        linux["sysctl"] = sysctls
    seccomp = seccomp_for(
        inp.seccomp, caps, privileged=inp.privileged, arch=host.arch, kernel=host.kernel
    )
    if seccomp is not None:
        linux["seccomp"] = seccomp
    return linux


def _user_mappings(inp: SpecInput) -> dict[str, Any]:
    """linux.uidMappings/gidMappings for a user namespace, made or joined (runc wants them
    either way, as dockerd gives them)."""
    if inp.id_mappings.empty or not any(ns.type == "user" for ns in inp.namespaces):
        return {}
    return inp.id_mappings.to_oci()


def _protected_paths(inp: SpecInput) -> tuple[list[str], list[str]]:
    """dockerd's masked and read-only /proc and /sys paths; a privileged container has none,
    and paths the caller gives (HostConfig.MaskedPaths/ReadonlyPaths) replace them."""
    if inp.masked_paths is not None:
        masked = list(inp.masked_paths)
    else:
        masked = [] if inp.privileged else list(DEFAULT_MASKED_PATHS)
    if inp.readonly_paths is not None:
        readonly = list(inp.readonly_paths)
    else:
        readonly = [] if inp.privileged else list(DEFAULT_READONLY_PATHS)
    return masked, readonly


def _devices(inp: SpecInput, host: HostInfo) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, linux.resources.devices).

    Unprivileged: deny everything, then allow dockerd's list (zero, null, urandom, random,
    tty, console) and deny /dev/fuse; runc itself adds full, ptmx, /dev/pts/* and tun, and mknod
    for any node. Privileged: every host device node, and the cgroup allows all.
    """
    devices = [dict(d) for d in inp.devices]
    if inp.privileged:
        scanned = host.devices if host.devices is not None else host_devices()
        return [dict(d) for d in scanned] + devices, [{"allow": True, "access": "rwm"}]
    rules: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
    rules += [
        _allow_char(major, minor)
        for major, minor in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1))
    ]
    rules.append({"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
    rules += [dict(r) for r in inp.device_cgroup_rules]
    return devices, rules


def _allow_char(major: int, minor: int) -> dict[str, Any]:
    return {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}


def linux_resources(r: Resources) -> dict[str, Any]:
    """dockerd's WithResources, leaving out what is unset instead of sending zeros."""
    out: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    if r.memory > 0:
        memory["limit"] = r.memory
    if r.memory_reservation > 0:
        memory["reservation"] = r.memory_reservation
    if r.memory_swap > 0:
        memory["swap"] = r.memory_swap
    if r.memory_swappiness is not None and r.memory_swappiness >= 0:
        memory["swappiness"] = r.memory_swappiness
    if r.oom_kill_disable is not None:
        memory["disableOOMKiller"] = r.oom_kill_disable
    if memory:
        out["memory"] = memory

    cpu: dict[str, Any] = {}
    if r.cpu_shares > 0:
        cpu["shares"] = r.cpu_shares
    if r.nano_cpus > 0:
        period = 100_000  # 100 ms in µs, the kernel's CFS default
        cpu["period"] = period
        cpu["quota"] = r.nano_cpus * period // 1_000_000_000
    if r.cpu_period:
        cpu["period"] = r.cpu_period
    if r.cpu_quota:
        cpu["quota"] = r.cpu_quota
    if r.cpuset_cpus:
        cpu["cpus"] = r.cpuset_cpus
    if r.cpuset_mems:
        cpu["mems"] = r.cpuset_mems
    if cpu:
        out["cpu"] = cpu

    if r.pids_limit is not None:
        out["pids"] = {"limit": r.pids_limit if r.pids_limit > 0 else -1}
    if r.blkio_weight > 0:
        out["blockIO"] = {"weight": r.blkio_weight}
    return out


def _sysctls(inp: SpecInput, host: HostInfo) -> dict[str, str]:
    """Defaults for a new network namespace (never for a joined or the host's), then the user's.
    No ping_group_range in a user namespace: dockerd leaves it out, its range is not mapped."""
    own_net = any(ns.type == "network" and not ns.path for ns in inp.namespaces)
    userns = any(ns.type == "user" for ns in inp.namespaces)
    sysctls = {
        k: v
        for k, v in DEFAULT_NETWORK_SYSCTLS.items()
        if own_net and k in host.sysctls and not (userns and k == "net.ipv4.ping_group_range")
    }
    sysctls.update(inp.sysctls)
    return sysctls
