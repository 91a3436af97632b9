"""A container's API `Config` + `HostConfig` → its OCI spec inputs, with dockerd's checks.

The documents are dicts in dockerd's JSON shape, as `Container.config` / `host_config` keep
them. Four steps, each a function, all following dockerd (`daemon/container.go`
verifyContainerSettings, `daemon/daemon_unix.go` verifyPlatformContainerSettings and
adaptContainerSettings, `runconfig`, `daemon/oci_linux.go`):

    validate_host_config   at create: InvalidParameter with dockerd's message for bad input,
                           else the warnings the create response carries
    adapt_host_config      at create: the HostConfig as dockerd stores it (defaults filled,
                           settings the kernel cannot honour discarded, container:<name> → ID)
    spec_options           at start: the `SpecInput` keyword arguments (process, namespaces,
                           mounts, resources, devices, security)
    hosts_file, resolv_conf  the contents of the container's /etc/hosts and /etc/resolv.conf

Everything the machine decides (cgroup controllers, CPUs, the init binary, device nodes) comes in
one `Environment`, probed once by `probe_environment()` when the caller passes none, so the rest
is pure and tests pin the machine. Other containers are seen only through a `Lookup` callable.

Not here: networking (the network namespace is left as `spec.namespaces` makes it), volumes and
binds, health checks. Two security options are accepted and have no effect, as with a dockerd on
a host without the facility: `apparmor=<profile>` (this host runs no AppArmor, and dockerd only
sets a profile when AppArmor is enabled) and `label=…` (no SELinux here).
"""

from __future__ import annotations

import ipaddress
import json
import os
import posixpath
import re
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from .. import errdefs
from .restart import RestartPolicy
from .seccomp import host_arch, host_kernel, parse_profile, resolve_profile
from .spec import DEFAULT_SHM_SIZE, Resources, Rlimit, namespaces, normalize_capabilities

INIT_PATH_IN_CONTAINER = "/sbin/docker-init"  # dockerd's inContainerInitPath
HOST_GATEWAY_NAME = "host-gateway"
MIN_MEMORY = 6 * 1024 * 1024  # dockerd's linuxMinMemory
RLIM_INFINITY = 2**64 - 1  # a ulimit of -1, as dockerd's uint64 conversion makes it
DEFAULT_IPC_MODE = "private"  # dockerd's DefaultIpcMode
# dockerd's (oci/defaults.go) propagation for binds it makes itself, and tmpfs defaults.
_DEFAULT_PROPAGATION = "rprivate"
_TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev", _DEFAULT_PROPAGATION)

# go-units' ulimit names (`as` is left out there too).
ULIMIT_NAMES = frozenset(
    "core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime "
    "sigpending stack".split()
)

_DEVICE_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_IPC_SYSCTLS = frozenset(
    "kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem kernel.shmall kernel.shmmax "
    "kernel.shmmni kernel.shm_rmid_forced".split()
)
_RESTARTING = "Container {} is restarting, wait until the container is running"


# ------------------------------------------------------------------------------- environment


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


DeviceLookup = Callable[[str, str, str], tuple[list[dict[str, Any]], list[dict[str, Any]]]]


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


# -------------------------------------------------------------------------------- validation


def validate_host_config(
    host_config: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    env: Environment | None = None,
    *,
    userns_remap: bool = False,
) -> list[str]:
    """dockerd's create-time checks, in its order, on the request as the client sent it.

    Raises InvalidParameter with dockerd's message for the first problem; returns the warnings
    (settings the kernel cannot honour, which `adapt_host_config` then discards). A few checks
    dockerd only makes when the container starts (device paths, device cgroup rules, tmpfs
    options, seccomp profiles, ulimits, sysctls, CPU shares) are made here too, with the same
    message, so that `docker create` already refuses what `docker start` would.
    `userns_remap`: the daemon remaps (--userns-remap), which some host modes conflict with.
    """
    env = env or probe_environment()
    hc: Mapping[str, Any] = host_config or {}
    cfg: Mapping[str, Any] = config or {}
    _check_runconfig(cfg, hc)
    _check_config(cfg)
    _check_common(hc)
    warnings = _check_resources(hc, env)
    _check_platform(hc, userns_remap)
    _check_start_time(hc, env)
    return warnings


def _check_runconfig(cfg: Mapping[str, Any], hc: Mapping[str, Any]) -> None:
    """runconfig's decode-time checks (the network-mode ones belong to networking)."""
    if hc.get("UTSMode") == "host" and cfg.get("Hostname"):
        _invalid("conflicting options: hostname and the UTS mode")
    if _int(hc, "IOMaximumBandwidth"):
        _invalid("Invalid QoS settings: linux does not support configuration of maximum bandwidth")
    if _int(hc, "IOMaximumIOps"):
        _invalid("Invalid QoS settings: linux does not support configuration of maximum IOPs")


def _check_config(cfg: Mapping[str, Any]) -> None:
    """validateContainerConfig: working dir, stop signal, environment."""
    workdir = cfg.get("WorkingDir") or ""
    if workdir and not workdir.startswith("/"):
        _invalid(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    stop_signal = cfg.get("StopSignal")
    if stop_signal:
        check_signal(str(stop_signal))
    for entry in cfg.get("Env") or ():
        if not str(entry).split("=", 1)[0]:
            _invalid(f"invalid environment variable: {entry}")
    _check_healthcheck(cfg.get("Healthcheck") or {})


_MINIMUM_DURATION_NS = 1_000_000  # containertypes.MinimumDuration, 1ms


def _check_healthcheck(health: Mapping[str, Any]) -> None:
    """validateHealthCheck: the durations unset (0) or at least 1ms, retries not negative."""
    for key in ("Interval", "Timeout"):
        if _int(health, key) and _int(health, key) < _MINIMUM_DURATION_NS:
            _invalid(f"{key} in Healthcheck cannot be less than 1ms")
    if _int(health, "Retries") < 0:
        _invalid("Retries in Healthcheck cannot be negative")
    for key in ("StartPeriod", "StartInterval"):
        if _int(health, key) and _int(health, key) < _MINIMUM_DURATION_NS:
            _invalid(f"{key} in Healthcheck cannot be less than 1ms")


# The runtimes a container may name: runc, by its name or its containerd shim's (dockerd's
# Runtimes.Get; there is no `runtimes` setting to add others)
RUNTIMES = ("", "runc", "io.containerd.runc.v2")


def _check_common(hc: Mapping[str, Any]) -> None:
    """validateHostConfig: auto-remove vs restart, extra hosts, restart policy, capabilities,
    isolation, annotations; and the runtime (verifyPlatformContainerSettings)."""
    policy = hc.get("RestartPolicy") or {}
    if hc.get("AutoRemove") and (policy.get("Name") or "no") != "no":
        _invalid("can't create 'AutoRemove' container with restart policy")
    for entry in hc.get("ExtraHosts") or ():
        validate_extra_host(str(entry))
    RestartPolicy.from_api(dict(policy))
    for key in ("CapAdd", "CapDrop"):
        try:
            normalize_capabilities(hc.get(key) or ())
        except errdefs.InvalidParameter as exc:
            _invalid(f"invalid {key}: {exc.message}")
    isolation = str(hc.get("Isolation") or "")
    if isolation and isolation.lower() != "default":
        _invalid(f"invalid isolation '{isolation}' on linux")
    if "" in (hc.get("Annotations") or {}):
        _invalid("invalid Annotations: the empty string is not permitted as an annotation key")
    runtime = hc.get("Runtime") or ""
    if runtime not in RUNTIMES:
        _invalid(f"unknown or invalid runtime name: {runtime}")


def _check_resources(hc: Mapping[str, Any], env: Environment) -> list[str]:
    """verifyPlatformContainerResources: limits in range and consistent; unsupported ones warn."""
    cg = env.cgroups
    warnings: list[str] = []
    memory = _int(hc, "Memory")
    swap = _int(hc, "MemorySwap")
    if memory and memory < MIN_MEMORY:
        _invalid("Minimum memory limit allowed is 6MB")
    if memory > 0 and not cg.memory:
        warnings.append(
            "Your kernel does not support memory limit capabilities or the cgroup is not "
            "mounted. Limitation discarded."
        )
        memory, swap = 0, -1
    if memory > 0 and swap != -1 and not cg.swap:
        warnings.append(
            "Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
            "Memory limited without swap."
        )
        swap = -1
    if memory > 0 and swap > 0 and swap < memory:
        _invalid("Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory == 0 and swap > 0:
        _invalid("You should always set the Memory limit when using Memoryswap limit, see usage")
    swappiness = _swappiness(hc)
    if swappiness is not None and not cg.swappiness:
        warnings.append(
            "Your kernel does not support memory swappiness capabilities or the cgroup is not "
            "mounted. Memory swappiness discarded."
        )
        swappiness = None
    if swappiness is not None and not 0 <= swappiness <= 100:
        _invalid(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    reservation = _int(hc, "MemoryReservation")
    if reservation > 0 and not cg.reservation:
        warnings.append(
            "Your kernel does not support memory soft limit capabilities or the cgroup is not "
            "mounted. Limitation discarded."
        )
        reservation = 0
    if 0 < reservation < MIN_MEMORY:
        _invalid("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        _invalid("Minimum memory limit can not be less than memory reservation limit, see usage")
    oom_kill_disable = hc.get("OomKillDisable")
    if oom_kill_disable is not None and not cg.oom_kill_disable:
        if oom_kill_disable:
            warnings.append(
                "Your kernel does not support OomKillDisable. OomKillDisable discarded."
            )
        oom_kill_disable = None
    if oom_kill_disable and memory == 0:
        warnings.append(
            "OOM killer is disabled for the container, but no memory limit is set, this can "
            "result in the system running out of resources."
        )
    pids = hc.get("PidsLimit")
    if pids is not None and pids > 0 and not cg.pids:
        warnings.append(
            "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
            "PIDs limit discarded."
        )
    warnings += _check_cpu(hc, env)
    warnings += _check_blkio(hc, cg)
    return warnings


def _check_cpu(hc: Mapping[str, Any], env: Environment) -> list[str]:
    cg = env.cgroups
    warnings: list[str] = []
    nano = _int(hc, "NanoCpus")
    period = _int(hc, "CpuPeriod")
    quota = _int(hc, "CpuQuota")
    if nano > 0 and period > 0:
        _invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        _invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if nano > 0 and not cg.cpu_cfs:
        _invalid(
            "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the "
            "cgroup is not mounted"
        )
    if nano < 0 or nano > env.ncpu * 1_000_000_000:
        _invalid(
            f"Range of CPUs is from 0.01 to {env.ncpu}.00, as there are only {env.ncpu} CPUs "
            "available"
        )
    if _int(hc, "CpuShares") > 0 and not cg.cpu_shares:
        warnings.append(
            "Your kernel does not support CPU shares or the cgroup is not mounted. Shares "
            "discarded."
        )
    if (period or quota) and not cg.cpu_cfs:
        warnings.append(
            "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded."
        )
        period = quota = 0
    if period and not 1000 <= period <= 1_000_000:
        _invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        )
    if 0 < quota < 1000:
        _invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if _int(hc, "CpuPercent") > 0:
        warnings.append("linux does not support CPU percent. Percent discarded.")
    cpus = hc.get("CpusetCpus") or ""
    mems = hc.get("CpusetMems") or ""
    if (cpus or mems) and not cg.cpuset:
        warnings.append(
            "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded."
        )
        cpus = mems = ""
    if not _cpuset_available(cpus, cg.cpus, "cpus"):
        _invalid(f"Requested CPUs are not available - requested {cpus}, available: {cg.cpus}")
    if not _cpuset_available(mems, cg.mems, "mems"):
        _invalid(
            f"Requested memory nodes are not available - requested {mems}, available: {cg.mems}"
        )
    return warnings


def _check_blkio(hc: Mapping[str, Any], cg: CgroupSupport) -> list[str]:
    warnings: list[str] = []
    weight = _int(hc, "BlkioWeight")
    if weight > 0 and not cg.blkio_weight:
        warnings.append(
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. "
            "Weight discarded."
        )
        weight = 0
    if weight > 0 and not 10 <= weight <= 1000:
        _invalid("Range of blkio weight is from 10 to 1000")
    if hc.get("BlkioWeightDevice") and not cg.blkio_weight_device:
        warnings.append(
            "Your kernel does not support Block I/O weight_device or the cgroup is not "
            "mounted. Weight-device discarded."
        )
    throttles = (
        ("BlkioDeviceReadBps", "BPS Block I/O read limit", "Block I/O BPS read limit"),
        ("BlkioDeviceWriteBps", "BPS Block I/O write limit", "Block I/O BPS write limit"),
        ("BlkioDeviceReadIOps", "IOPS Block read limit", "Block I/O IOPS read limit"),
        ("BlkioDeviceWriteIOps", "IOPS Block write limit", "Block I/O IOPS write limit"),
    )
    for key, what, discarded in throttles:
        if hc.get(key) and not cg.blkio_throttle:
            warnings.append(
                f"Your kernel does not support {what} or the cgroup is not mounted. "
                f"{discarded} discarded."
            )
    return warnings


def _check_platform(hc: Mapping[str, Any], userns_remap: bool) -> None:
    """verifyPlatformContainerSettings after the resources: namespace modes, shm, OOM score,
    what a remapped daemon's user namespace cannot share, tmpfs destinations."""
    ipc = hc.get("IpcMode") or ""
    if not _valid_ipc_mode(ipc):
        _invalid(f"invalid IPC mode: {ipc}")
    pid = hc.get("PidMode") or ""
    if not (pid in ("", "host") or _container_ref(pid)):
        _invalid(f"invalid PID mode: {pid}")
    if _int(hc, "ShmSize") < 0:
        _invalid("SHM size can not be less than 0")
    uts = hc.get("UTSMode") or ""
    if uts not in ("", "host"):
        _invalid(f"invalid UTS mode: {uts}")
    score = _int(hc, "OomScoreAdj")
    if not -1000 <= score <= 1000:
        _invalid(f"Invalid value {score}, range for oom score adj is [-1000, 1000]")
    if userns_remap and hc.get("UsernsMode") != "host":
        if hc.get("Privileged"):
            _invalid(
                "privileged mode is incompatible with user namespaces.  You must run the "
                "container in the host namespace when running privileged mode"
            )
        if hc.get("NetworkMode") == "host":
            _invalid("cannot share the host's network namespace when user namespaces are enabled")
        if hc.get("PidMode") == "host":
            _invalid("cannot share the host PID namespace when user namespaces are enabled")
    for destination in hc.get("Tmpfs") or {}:
        if _clean(destination) == "/":
            _invalid("invalid specification: destination can't be '/'")
        if not destination.startswith("/"):
            _invalid(f"invalid mount path: '{destination}' mount path must be absolute")
    cgroupns = hc.get("CgroupnsMode") or ""
    if cgroupns not in ("", "host", "private"):
        _invalid(f"invalid cgroup namespace mode: {cgroupns}")


def _check_start_time(hc: Mapping[str, Any], env: Environment) -> None:
    """What dockerd only finds when it builds the spec, found at create instead."""
    security = parse_security_opts(hc.get("SecurityOpt") or ())
    privileged = bool(hc.get("Privileged"))
    if security.seccomp not in ("", "unconfined", "builtin") and not privileged:
        profile = parse_profile(security.seccomp)
        resolve_profile(profile, [], arch=env.arch, kernel=env.kernel)
    for ulimit in hc.get("Ulimits") or ():
        rlimit(ulimit)
    for destination, data in (hc.get("Tmpfs") or {}).items():
        tmpfs_mount(destination, data)
    if _int(hc, "CpuShares") < 0:
        _invalid("shares: invalid argument")
    device_rules(hc.get("DeviceCgroupRules") or ())
    for mapping in hc.get("Devices") or ():
        on_host = mapping.get("PathOnHost") or ""
        in_container = mapping.get("PathInContainer") or on_host
        if privileged and on_host == in_container:
            continue
        if not in_container.startswith("/"):
            _invalid(f"{in_container} is not an absolute path")
        permissions = mapping.get("CgroupPermissions") or "rwm"
        if not _valid_device_mode(permissions):
            _invalid(f"bad mode specified: {permissions}")
        env.devices(on_host, in_container, permissions)
    check_sysctls(hc)


def check_signal(value: str) -> None:
    """dockerd's signal.ParseSignal: a number other than 0, or a name with or without SIG."""
    if re.fullmatch(r"[+-]?[0-9]+", value):
        if int(value) != 0:
            return
    else:
        name = value.upper().removeprefix("SIG")
        if name in _signal_names():
            return
    _invalid(f"Invalid signal: {value}")


@lru_cache(maxsize=1)
def _signal_names() -> frozenset[str]:
    import signal

    names = {name.removeprefix("SIG") for name in signal.Signals.__members__}
    names |= {f"RTMIN+{n}" for n in range(1, 16)}  # Go's SignalMap: RTMIN+1..+15
    names |= {f"RTMAX-{n}" for n in range(1, 15)}  # and RTMAX-14..-1
    return frozenset(names)


def validate_extra_host(entry: str) -> None:
    """dockerd's opts.ValidateExtraHost: `name:ip` (split at the first colon, so IPv6 works),
    where ip may be the special `host-gateway`."""
    name, sep, address = entry.partition(":")
    if not sep or not name:
        _invalid(f"bad format for add-host: {json.dumps(entry)}")
    if address != HOST_GATEWAY_NAME and not _is_ip(address):
        _invalid(f"invalid IP address in add-host: {json.dumps(address)}")


def check_sysctls(hc: Mapping[str, Any]) -> None:
    """runc's sysctl validation against the container's namespaces, with runc's messages."""
    ipc_private = (hc.get("IpcMode") or "") != "host"
    uts_private = (hc.get("UTSMode") or "") != "host"
    host_network = (hc.get("NetworkMode") or "") == "host"
    for raw in hc.get("Sysctls") or {}:
        name = _dotted_sysctl(raw)
        if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if not ipc_private:
                _invalid(f"sysctl {json.dumps(name)} is not allowed in the hosts ipc namespace")
            continue
        if name.startswith("net."):
            if host_network:
                _invalid(f"sysctl {json.dumps(name)} not allowed in host network namespace")
            continue
        if uts_private and name == "kernel.domainname":
            continue
        if uts_private and name == "kernel.hostname":
            _invalid(
                'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI '
                '"hostname" field'
            )
        _invalid(f"sysctl {json.dumps(name)} is not in a separate kernel namespace")


def _dotted_sysctl(name: str) -> str:
    """runc accepts `net/ipv4/ip_forward` too: slashes and dots swap places."""
    if "/" not in name:
        return name
    return name.translate(str.maketrans("./", "/."))


# -------------------------------------------------------------------------------- adaptation


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
    if _int(hc, "Memory") > 0 and not cg.memory:
        hc["Memory"], hc["MemorySwap"] = 0, -1
    if _int(hc, "Memory") > 0 and _int(hc, "MemorySwap") != -1 and not cg.swap:
        hc["MemorySwap"] = -1
    if hc.get("MemorySwappiness") is not None and not cg.swappiness:
        hc["MemorySwappiness"] = None
    if _int(hc, "MemoryReservation") > 0 and not cg.reservation:
        hc["MemoryReservation"] = 0
    if hc.get("OomKillDisable") is not None and not cg.oom_kill_disable:
        hc["OomKillDisable"] = None
    pids = hc.get("PidsLimit")
    if pids is not None and (pids <= 0 or not cg.pids):
        hc["PidsLimit"] = None
    if _int(hc, "CpuShares") > 0 and not cg.cpu_shares:
        hc["CpuShares"] = 0
    if (_int(hc, "CpuPeriod") or _int(hc, "CpuQuota")) and not cg.cpu_cfs:
        hc["CpuPeriod"] = hc["CpuQuota"] = 0
    if _int(hc, "CpuPercent") > 0:
        hc["CpuPercent"] = 0
    if (hc.get("CpusetCpus") or hc.get("CpusetMems")) and not cg.cpuset:
        hc["CpusetCpus"] = hc["CpusetMems"] = ""
    if _int(hc, "BlkioWeight") > 0 and not cg.blkio_weight:
        hc["BlkioWeight"] = 0
    if hc.get("BlkioWeightDevice") and not cg.blkio_weight_device:
        hc["BlkioWeightDevice"] = []
    for key in ("BlkioDeviceReadBps", "BlkioDeviceWriteBps"):
        if hc.get(key) and not cg.blkio_throttle:
            hc[key] = []
    for key in ("BlkioDeviceReadIOps", "BlkioDeviceWriteIOps"):
        if hc.get(key) and not cg.blkio_throttle:
            hc[key] = []

    if _int(hc, "Memory") > 0 and _int(hc, "MemorySwap") == 0:
        hc["MemorySwap"] = 2 * _int(hc, "Memory")
    if not _int(hc, "ShmSize"):
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
        hc["NetworkMode"] = "container:" + resolve_id(_container_ref(network))
    for key, mode in (("IpcMode", ipc), ("PidMode", pid)):
        ref = _container_ref(mode)
        if not ref:
            continue
        try:
            hc[key] = "container:" + resolve_id(ref)
        except errdefs.NotFound as exc:
            if not labelled and not host_like:
                raise errdefs.InvalidParameter(exc.message) from None
    if not labelled and host_like:
        hc["SecurityOpt"] = [*security, "label=disable"]


# -------------------------------------------------------------------------------------- spec


@dataclass(frozen=True, slots=True)
class SecurityOptions:
    """`--security-opt` as dockerd's parseSecurityOpt reads it."""

    no_new_privileges: bool = False
    seccomp: str = ""  # "" default, "unconfined", "builtin", or a profile's JSON text
    apparmor: str = ""  # kept for inspect; no AppArmor on this host, so never applied
    labels: tuple[str, ...] = ()  # SELinux label options; no SELinux here, so ignored


def parse_security_opts(options: Iterable[str]) -> SecurityOptions:
    """`no-new-privileges[:|=bool]`, `seccomp=…`, `apparmor=…`, `label=…`/`label:…`,
    `disable`; anything else is dockerd's "invalid --security-opt" error."""
    nnp, seccomp, apparmor, labels = False, "", "", []
    for opt in options:
        if opt == "no-new-privileges":
            nnp = True
            continue
        if opt == "disable":
            labels.append("disable")
            continue
        if "=" in opt:
            key, _, value = opt.partition("=")
        elif ":" in opt:
            key, _, value = opt.partition(":")
        else:
            _invalid(f"invalid --security-opt 1: {json.dumps(opt)}")
        if key == "label":
            labels.append(value)
        elif key == "apparmor":
            apparmor = value
        elif key == "seccomp":
            seccomp = value
        elif key == "no-new-privileges" and value in _GO_TRUE | _GO_FALSE:
            nnp = value in _GO_TRUE
        else:
            _invalid(f"invalid --security-opt 2: {json.dumps(opt)}")
    return SecurityOptions(nnp, seccomp, apparmor, tuple(labels))


def spec_options(
    config: Mapping[str, Any],
    host_config: Mapping[str, Any],
    process: Sequence[str],
    *,
    shm_dir: str,
    lookup: Lookup | None,
    env: Environment | None = None,
    userns_remap: bool = False,
) -> dict[str, Any]:
    """The `SpecInput` keyword arguments for a container, as dockerd's createSpec builds them,
    except its id, user, tty and /etc files, which the service knows.

    `process` is Path + Args; `shm_dir` is where the container's shm tmpfs is mounted when its
    IPC is shareable. `lookup` resolves `--pid/--ipc container:<ref>`; errors joining are
    System errors, as dockerd makes every spec failure at start. With `lookup` None the spec is
    wanted only for its process (an exec after a daemon restart): joins are not resolved.
    `userns_remap`: the daemon remaps, so the container gets a user namespace unless its
    UsernsMode is "host".
    """
    env = env or probe_environment()
    hc = host_config
    privileged = bool(hc.get("Privileged"))
    security = parse_security_opts(hc.get("SecurityOpt") or ())
    args, init_mounts = _init(hc, list(process), env)
    ns_options, ipc_mounts = _namespaces(hc, shm_dir, lookup, env, userns_remap)
    devices, device_permissions = _devices(hc, env)
    tmpfs = [tmpfs_mount(dest, data) for dest, data in (hc.get("Tmpfs") or {}).items()]
    options: dict[str, Any] = {
        "args": args,
        "env": list(config.get("Env") or []),
        "cwd": _clean(config.get("WorkingDir") or "/"),
        "hostname": config.get("Hostname") or "",
        "domainname": config.get("Domainname") or "",
        "privileged": privileged,
        "cap_add": list(hc.get("CapAdd") or []),
        "cap_drop": list(hc.get("CapDrop") or []),
        "no_new_privileges": security.no_new_privileges,
        "oom_score_adj": _int(hc, "OomScoreAdj"),
        "console_size": tuple(hc.get("ConsoleSize") or (0, 0)),
        "rlimits": [rlimit(u) for u in hc.get("Ulimits") or ()],
        "read_only": bool(hc.get("ReadonlyRootfs")),
        "extra_mounts": [*init_mounts, *ipc_mounts, *tmpfs],
        "cgroup_parent": hc.get("CgroupParent") or "",
        "resources": resources(hc),
        "sysctls": _sysctls(config, hc),
        "seccomp": "" if security.seccomp == "builtin" else security.seccomp,
        "masked_paths": _paths(hc.get("MaskedPaths")),
        "readonly_paths": _paths(hc.get("ReadonlyPaths")),
        "devices": devices,
        "device_cgroup_rules": [*device_permissions, *device_rules(hc.get("DeviceCgroupRules"))],
        **ns_options,
    }
    if not options["cgroup_parent"]:
        del options["cgroup_parent"]  # the spec builder's default parent
    return options


def _sysctls(config: Mapping[str, Any], hc: Mapping[str, Any]) -> dict[str, str]:
    """The user's sysctls over dockerd's: runc 1.1 has no use for the spec's domainname, so
    dockerd sets the NIS domain name through the equivalent kernel.domainname sysctl."""
    sysctls = {}
    if config.get("Domainname"):
        sysctls["kernel.domainname"] = str(config["Domainname"])
    sysctls.update(hc.get("Sysctls") or {})
    return sysctls


def _paths(value: Any) -> list[str] | None:
    return None if value is None else list(value)


def _init(
    hc: Mapping[str, Any], args: list[str], env: Environment
) -> tuple[list[str], list[dict[str, Any]]]:
    """--init: tini bind-mounted read-only at /sbin/docker-init as PID 1, in front of the
    command, only when the container has its own PID namespace (elsewhere there is an init)."""
    if not hc.get("Init") or (hc.get("PidMode") or "") not in ("", "private"):
        return args, []
    if not env.init_path:
        raise errdefs.System('exec: "docker-init": executable file not found in $PATH')
    mount = {
        "destination": INIT_PATH_IN_CONTAINER,
        "type": "bind",
        "source": env.init_path,
        "options": ["bind", "ro"],
    }
    return [INIT_PATH_IN_CONTAINER, "--", *args], [mount]


def _namespaces(
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
    shm_size: int | None = _int(hc, "ShmSize") or DEFAULT_SHM_SIZE
    if ipc.startswith("container:"):
        if lookup is not None:
            donor = _ipc_donor(_container_ref(ipc), lookup)
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
            donors["pid"] = _pid_donor(_container_ref(pid), lookup).pid
            join["pid"] = f"/proc/{donors['pid']}/ns/pid"
    elif pid == "host":
        host.append("pid")
    if hc.get("UTSMode") == "host":
        host.append("uts")
    network = hc.get("NetworkMode") or ""
    if network == "host":
        host.append("network")
    elif network.startswith("container:") and lookup is not None:
        donors["network"] = _network_donor(_container_ref(network), lookup).pid
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
        "options": ["rbind", _DEFAULT_PROPAGATION],
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
    ref = _container_ref(ipc)
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
    shareable = ipc == "host" or _container_ref(ipc) or needs_shm_mount(donor.host_config)
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


def resources(hc: Mapping[str, Any]) -> Resources:
    """The cgroup limits, in HostConfig units (the spec builder converts, as WithResources)."""
    return Resources(
        memory=_int(hc, "Memory"),
        memory_reservation=_int(hc, "MemoryReservation"),
        memory_swap=_int(hc, "MemorySwap"),
        memory_swappiness=_swappiness(hc),
        oom_kill_disable=hc.get("OomKillDisable"),
        cpu_shares=_int(hc, "CpuShares"),
        cpu_period=_int(hc, "CpuPeriod"),
        cpu_quota=_int(hc, "CpuQuota"),
        nano_cpus=_int(hc, "NanoCpus"),
        cpuset_cpus=hc.get("CpusetCpus") or "",
        cpuset_mems=hc.get("CpusetMems") or "",
        pids_limit=hc.get("PidsLimit"),
        blkio_weight=_int(hc, "BlkioWeight"),
    )


def rlimit(ulimit: Mapping[str, Any]) -> Rlimit:
    """A HostConfig.Ulimits entry (or a default-ulimits one); -1 is unlimited (RLIM_INFINITY)."""
    name = str(ulimit.get("Name") or "")
    if name not in ULIMIT_NAMES:
        _invalid(f"invalid ulimit type: {name}")
    soft, hard = int(ulimit.get("Soft") or 0), int(ulimit.get("Hard") or 0)
    if hard != -1:
        if soft == -1:
            _invalid(
                "ulimit soft limit must be less than or equal to hard limit: "
                f"soft: -1 (unlimited), hard: {hard}"
            )
        if soft > hard:
            _invalid(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Rlimit(
        name=name,
        soft=RLIM_INFINITY if soft == -1 else soft,
        hard=RLIM_INFINITY if hard == -1 else hard,
    )


# ------------------------------------------------------------------------------------- tmpfs

# moby/sys/mount's flags: option → (flag key). Options sharing a key override each other.
_MOUNT_FLAGS = {
    "ro": "rdonly",
    "rw": "rdonly",
    "suid": "nosuid",
    "nosuid": "nosuid",
    "dev": "nodev",
    "nodev": "nodev",
    "exec": "noexec",
    "noexec": "noexec",
    "sync": "sync",
    "async": "sync",
    "dirsync": "dirsync",
    "remount": "remount",
    "mand": "mand",
    "nomand": "mand",
    "atime": "noatime",
    "noatime": "noatime",
    "diratime": "nodiratime",
    "nodiratime": "nodiratime",
    "relatime": "relatime",
    "norelatime": "relatime",
    "strictatime": "strictatime",
    "nostrictatime": "strictatime",
}
_PROPAGATION = frozenset(
    "bind rbind unbindable runbindable private rprivate shared rshared slave rslave".split()
)
_TMPFS_DATA = frozenset({"", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})


def merge_tmpfs_options(options: Sequence[str]) -> list[str]:
    """moby's MergeTmpfsOptions: the last of clashing options wins, the order is kept."""
    seen_flags: set[str] = set()
    seen_data: set[str] = set()
    merged: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        if option in _PROPAGATION or option in _MOUNT_FLAGS:
            key = "propagation" if option in _PROPAGATION else _MOUNT_FLAGS[option]
            if key not in seen_flags:
                merged.insert(0, option)
                seen_flags.add(key)
            continue
        parts = option.split("=", 1)
        if len(parts) != 2 or parts[0] not in _TMPFS_DATA:
            quoted = " ".join(json.dumps(p) for p in parts)
            _invalid(f"invalid tmpfs option [{quoted}]")
        if parts[0] not in seen_data:
            merged.insert(0, option)
            seen_data.add(parts[0])
    return merged


def tmpfs_mount(destination: str, data: str) -> dict[str, Any]:
    """`--tmpfs DEST[:OPTIONS]`: dockerd's noexec,nosuid,nodev (and rprivate) unless the
    options say otherwise."""
    options = list(_TMPFS_DEFAULTS) + (data.split(",") if data else [])
    return {
        "destination": destination,
        "type": "tmpfs",
        "source": "tmpfs",
        "options": merge_tmpfs_options(options),
    }


# ----------------------------------------------------------------------------------- devices


class _NotADevice(Exception):
    pass


def devices_from_path(
    on_host: str, in_container: str, permissions: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """dockerd's DevicesFromPath: (linux.devices entries, their cgroup allow rules) for a device
    node, or for every node under a directory; symlinks on the host are followed."""
    resolved = on_host
    if os.path.islink(on_host):
        resolved = os.path.realpath(on_host)
    try:
        return [_oci_device(resolved, in_container)], [_allow(resolved, permissions)]
    except _NotADevice:
        reason = "not a device node"
    except OSError as exc:
        reason = _go_error(exc)
    devices: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    if reason == "not a device node" and os.path.isdir(resolved):
        for directory, dirs, files in os.walk(resolved):
            for name in sorted(dirs + files):
                path = os.path.join(directory, name)
                try:
                    device = _oci_device(path, path.replace(resolved, in_container, 1))
                except (_NotADevice, OSError):
                    continue
                devices.append(device)
                rules.append(_allow(path, permissions))
    if devices:
        return devices, rules
    _invalid(
        f"error gathering device information while adding custom device "
        f"{json.dumps(on_host)}: {reason}"
    )


def _node(path: str) -> tuple[os.stat_result, str]:
    st = os.lstat(path)
    if stat.S_ISCHR(st.st_mode):
        return st, "c"
    if stat.S_ISBLK(st.st_mode):
        return st, "b"
    raise _NotADevice(path)


def _oci_device(path: str, in_container: str) -> dict[str, Any]:
    st, kind = _node(path)
    return {
        "path": in_container,
        "type": kind,
        "major": os.major(st.st_rdev),
        "minor": os.minor(st.st_rdev),
        "fileMode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
    }


def _allow(path: str, permissions: str) -> dict[str, Any]:
    st, kind = _node(path)
    return {
        "allow": True,
        "type": kind,
        "major": os.major(st.st_rdev),
        "minor": os.minor(st.st_rdev),
        "access": permissions,
    }


def _devices(
    hc: Mapping[str, Any], env: Environment
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """--device mappings; privileged containers have every host device already, so only
    mappings to another path are added, with full access (dockerd's WithDevices)."""
    privileged = bool(hc.get("Privileged"))
    devices: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    for mapping in hc.get("Devices") or ():
        on_host = mapping.get("PathOnHost") or ""
        in_container = mapping.get("PathInContainer") or on_host
        permissions = mapping.get("CgroupPermissions") or "rwm"
        if privileged:
            if on_host == in_container:
                continue
            permissions = "rwm"
        found, allowed = env.devices(on_host, in_container, permissions)
        devices += found
        rules += allowed
    return devices, ([] if privileged else rules)


def device_rules(rules: Iterable[str] | None) -> list[dict[str, Any]]:
    """--device-cgroup-rule 'TYPE MAJOR:MINOR ACCESS' → allow rules (`*` is any: -1)."""
    parsed = []
    for rule in rules or ():
        match = _DEVICE_RULE.match(rule)
        if match is None:
            _invalid(f"invalid device cgroup rule format: '{rule}'")
        kind, major, minor, access = match.groups()
        parsed.append(
            {
                "allow": True,
                "type": kind,
                "major": -1 if major == "*" else int(major),
                "minor": -1 if minor == "*" else int(minor),
                "access": access,
            }
        )
    return parsed


def _valid_device_mode(mode: str) -> bool:
    return bool(mode) and len(set(mode)) == len(mode) and set(mode) <= set("rwm")


# ------------------------------------------------------------------------ /etc/hosts, resolv

DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def hosts_file(
    extra_hosts: Iterable[str] | None, host_gateway_ip: str, base: str = DEFAULT_HOSTS
) -> str:
    """libnetwork's etchosts.Build without a main record (a container without a network
    address has none): the default entries (the host's own file for `--network host`), then
    each `--add-host` as "IP<TAB>NAME"."""
    lines = [base if base.endswith("\n") or not base else base + "\n"]
    for entry in extra_hosts or ():
        name, _, address = entry.partition(":")
        if address == HOST_GATEWAY_NAME:
            address = host_gateway_ip
        lines.append(f"{address}\t{name}\n")
    return "".join(lines)


_IPV4 = r"((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IPV6 = r"([0-9A-Fa-f]{0,4}:){2,7}([0-9A-Fa-f]{0,4})(%\w+)?"
_LOCALHOST_NS = re.compile(
    r"^nameserver\s+((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1)$)\s*\n*", re.MULTILINE
)
_NAMESERVER = re.compile(rf"^\s*nameserver\s*(({_IPV4})|({_IPV6}))\s*$")
_SEARCH = re.compile(r"^\s*search\s*(([^\s]+\s*)*)$")
_OPTIONS = re.compile(r"^\s*options\s*(([^\s]+\s*)*)$")
DEFAULT_DNS = (
    "nameserver 8.8.8.8",
    "nameserver 8.8.4.4",
    "nameserver 2001:4860:4860::8888",
    "nameserver 2001:4860:4860::8844",
)


def resolv_conf(
    host: str,
    dns: Sequence[str] | None = None,
    dns_search: Sequence[str] | None = None,
    dns_options: Sequence[str] | None = None,
) -> str:
    """The container's resolv.conf from the host's, as libnetwork's setupDNS writes it.

    With any of --dns, --dns-search, --dns-option, the file is built anew: search, nameserver
    and options lines, each taken from the flags or else from the host's file. Otherwise it is
    the host's file without its loopback nameservers (unreachable from the container), and
    Google's public resolvers when none is left.
    """
    if dns or dns_search or dns_options:
        servers = list(dns or ()) or nameservers(host)
        search = list(dns_search or ()) or _last_match(host, _SEARCH)
        options = list(dns_options or ()) or _last_match(host, _OPTIONS)
        out = []
        if search and " ".join(search).strip(" ") != ".":
            out.append("search " + " ".join(search) + "\n")
        out += [f"nameserver {server}\n" for server in servers]
        if options and " ".join(options).strip(" "):
            out.append("options " + " ".join(options) + "\n")
        return "".join(out)
    cleaned = _LOCALHOST_NS.sub("", host)
    if not nameservers(cleaned):
        cleaned += "\n" + "\n".join(DEFAULT_DNS)
    return cleaned


def nameservers(content: str) -> list[str]:
    """The nameserver addresses of a resolv.conf (comments stripped)."""
    found = []
    for line in _lines(content):
        match = _NAMESERVER.match(line)
        if match:
            found.append(match.group(1))
    return found


def _last_match(content: str, pattern: re.Pattern[str]) -> list[str]:
    """The words of the last search/options line, as libnetwork reads them."""
    words: list[str] = []
    for line in _lines(content):
        match = pattern.match(line)
        if match:
            words = match.group(1).split()
    return words


def _lines(content: str) -> list[str]:
    return [line.split("#", 1)[0] for line in content.split("\n")]


def read_host_resolv_conf(path: str = "/etc/resolv.conf") -> str:
    """The host's resolv.conf; systemd-resolved's real one when the stub is the only server."""
    try:
        content = Path(path).read_text()
    except OSError:
        return ""
    if nameservers(content) == ["127.0.0.53"]:
        try:
            return Path("/run/systemd/resolve/resolv.conf").read_text()
        except OSError:
            pass
    return content


# ----------------------------------------------------------------------------------- helpers


def _invalid(message: str) -> NoReturn:
    raise errdefs.InvalidParameter(message)


def _int(hc: Mapping[str, Any], key: str) -> int:
    value = hc.get(key)
    return int(value) if value else 0


def _swappiness(hc: Mapping[str, Any]) -> int | None:
    """MemorySwappiness; -1 (what the CLI sends when unset) means unset (fixMemorySwappiness)."""
    value = hc.get("MemorySwappiness")
    return None if value is None or value == -1 else int(value)


def _clean(path: str) -> str:
    """Go's path.Clean: like normpath, but a leading "//" is "/"."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("/") else cleaned


def _container_ref(mode: str) -> str:
    """`container:<ref>` → ref ("" for any other mode)."""
    kind, sep, ref = mode.partition(":")
    return ref if sep and kind == "container" else ""


def _valid_ipc_mode(mode: str) -> bool:
    return mode in ("", "none", "private", "host", "shareable") or mode.startswith("container:")


def _is_ip(text: str) -> bool:
    """Go's net.ParseIP after trimming spaces: IPv4 or IPv6, no zone."""
    value = text.strip()
    if "%" in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _go_error(exc: OSError) -> str:
    """An errno as Go prints it ("no such file or directory")."""
    message = os.strerror(exc.errno) if exc.errno else str(exc)
    return message[:1].lower() + message[1:]


def _cpuset_available(requested: str, available: str, what: str) -> bool:
    """sysinfo's isCpusetListAvailable, with dockerd's errors for a malformed list."""
    try:
        have = _parse_uint_list(available, 0)
    except ValueError:
        have = set()
    maximum = max([8192, *have])
    try:
        wanted = _parse_uint_list(requested, maximum)
    except ValueError as exc:
        _invalid(f"Invalid value {requested} for cpuset {what}: {exc}")
    return wanted <= have


def _parse_uint_list(value: str, maximum: int) -> set[int]:
    """dockerd's parsers.ParseUintList: "0-3,5"."""
    if not value:
        return set()
    invalid = ValueError(f"invalid format: {value}")
    result: set[int] = set()
    for part in value.split(","):
        low_text, dash, high_text = part.partition("-")
        if not _GO_INT.fullmatch(low_text) or (dash and not _GO_INT.fullmatch(high_text)):
            raise invalid
        low = int(low_text)
        high = int(high_text) if dash else low
        if high < low:
            raise invalid
        if maximum and high > maximum:
            raise ValueError(f"value of out range, maximum is {maximum}")
        result.update(range(low, high + 1))
    return result


_GO_INT = re.compile(r"[+-]?[0-9]+")


def shm_size(hc: Mapping[str, Any]) -> int:
    """The container's /dev/shm size in bytes (dockerd's default when unset)."""
    return _int(hc, "ShmSize") or DEFAULT_SHM_SIZE
