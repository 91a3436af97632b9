"""dockerd's checks on a create or update body's `Config` + `HostConfig`, with its messages.

The documents are dicts in dockerd's JSON shape, as `Container.config` / `host_config` keep
them. This is the first of the steps that turn them into a container, each in its own module
and all following dockerd (`daemon/container.go` verifyContainerSettings,
`daemon/daemon_unix.go` verifyPlatformContainerSettings and adaptContainerSettings,
`runconfig`, `daemon/oci_linux.go`):

    hostconfig.validate_host_config  at create and update: InvalidParameter with dockerd's
                                     message for bad input, else the warnings the create
                                     response carries
    adapt.adapt_host_config          at create: the HostConfig as dockerd stores it
    spec_inputs.spec_options         at start: the `SpecInput` keyword arguments
    etcfiles.hosts_file, resolv_conf the contents of the container's /etc/hosts and resolv.conf

What the machine decides comes in one `hostenv.Environment`. Not in these modules: networking
(the network namespace is left as `spec.namespaces` makes it), volumes and binds, health checks.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .. import errdefs
from ._fields import container_ref, go_clean, int_field, invalid, memory_swappiness
from .devices import device_rules, valid_device_mode
from .etcfiles import HOST_GATEWAY_NAME
from .hostenv import CgroupSupport, Environment, probe_environment
from .limits import rlimit
from .restart import RestartPolicy
from .seccomp import parse_profile, resolve_profile
from .security_opts import parse_security_opts
from .spec import normalize_capabilities
from .tmpfs import tmpfs_mount

MIN_MEMORY = 6 * 1024 * 1024  # dockerd's linuxMinMemory
_IPC_SYSCTLS = frozenset(
    "kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem kernel.shmall kernel.shmmax "
    "kernel.shmmni kernel.shm_rmid_forced".split()
)


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
        invalid("conflicting options: hostname and the UTS mode")
    if int_field(hc, "IOMaximumBandwidth"):
        invalid("Invalid QoS settings: linux does not support configuration of maximum bandwidth")
    if int_field(hc, "IOMaximumIOps"):
        invalid("Invalid QoS settings: linux does not support configuration of maximum IOPs")


def _check_config(cfg: Mapping[str, Any]) -> None:
    """validateContainerConfig: working dir, stop signal, environment."""
    workdir = cfg.get("WorkingDir") or ""
    if workdir and not workdir.startswith("/"):
        invalid(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    stop_signal = cfg.get("StopSignal")
    if stop_signal:
        check_signal(str(stop_signal))
    for entry in cfg.get("Env") or ():
        if not str(entry).split("=", 1)[0]:
            invalid(f"invalid environment variable: {entry}")
    _check_healthcheck(cfg.get("Healthcheck") or {})


_MINIMUM_DURATION_NS = 1_000_000  # containertypes.MinimumDuration, 1ms


def _check_healthcheck(health: Mapping[str, Any]) -> None:
    """validateHealthCheck: the durations unset (0) or at least 1ms, retries not negative."""
    for key in ("Interval", "Timeout"):
        if int_field(health, key) and int_field(health, key) < _MINIMUM_DURATION_NS:
            invalid(f"{key} in Healthcheck cannot be less than 1ms")
    if int_field(health, "Retries") < 0:
        invalid("Retries in Healthcheck cannot be negative")
    for key in ("StartPeriod", "StartInterval"):
        if int_field(health, key) and int_field(health, key) < _MINIMUM_DURATION_NS:
            invalid(f"{key} in Healthcheck cannot be less than 1ms")


# The runtimes a container may name: runc, by its name or its containerd shim's (dockerd's
# Runtimes.Get; there is no `runtimes` setting to add others)
RUNTIMES = ("", "runc", "io.containerd.runc.v2")


def _check_common(hc: Mapping[str, Any]) -> None:
    """validateHostConfig: auto-remove vs restart, extra hosts, restart policy, capabilities,
    isolation, annotations; and the runtime (verifyPlatformContainerSettings)."""
    policy = hc.get("RestartPolicy") or {}
    if hc.get("AutoRemove") and (policy.get("Name") or "no") != "no":
        invalid("can't create 'AutoRemove' container with restart policy")
    for entry in hc.get("ExtraHosts") or ():
        validate_extra_host(str(entry))
    RestartPolicy.from_api(dict(policy))
    for key in ("CapAdd", "CapDrop"):
        try:
            normalize_capabilities(hc.get(key) or ())
        except errdefs.InvalidParameter as exc:
            invalid(f"invalid {key}: {exc.message}")
    isolation = str(hc.get("Isolation") or "")
    if isolation and isolation.lower() != "default":
        invalid(f"invalid isolation '{isolation}' on linux")
    if "" in (hc.get("Annotations") or {}):
        invalid("invalid Annotations: the empty string is not permitted as an annotation key")
    runtime = hc.get("Runtime") or ""
    if runtime not in RUNTIMES:
        invalid(f"unknown or invalid runtime name: {runtime}")


def _check_resources(hc: Mapping[str, Any], env: Environment) -> list[str]:
    """verifyPlatformContainerResources: limits in range and consistent; unsupported ones warn."""
    cg = env.cgroups
    warnings: list[str] = []
    memory = int_field(hc, "Memory")
    swap = int_field(hc, "MemorySwap")
    if memory and memory < MIN_MEMORY:
        invalid("Minimum memory limit allowed is 6MB")
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
        invalid("Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory == 0 and swap > 0:
        invalid("You should always set the Memory limit when using Memoryswap limit, see usage")
    swappiness = memory_swappiness(hc)
    if swappiness is not None and not cg.swappiness:
        warnings.append(
            "Your kernel does not support memory swappiness capabilities or the cgroup is not "
            "mounted. Memory swappiness discarded."
        )
        swappiness = None
    if swappiness is not None and not 0 <= swappiness <= 100:
        invalid(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    reservation = int_field(hc, "MemoryReservation")
    if reservation > 0 and not cg.reservation:
        warnings.append(
            "Your kernel does not support memory soft limit capabilities or the cgroup is not "
            "mounted. Limitation discarded."
        )
        reservation = 0
    if 0 < reservation < MIN_MEMORY:
        invalid("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        invalid("Minimum memory limit can not be less than memory reservation limit, see usage")
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
    nano = int_field(hc, "NanoCpus")
    period = int_field(hc, "CpuPeriod")
    quota = int_field(hc, "CpuQuota")
    if nano > 0 and period > 0:
        invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if nano > 0 and not cg.cpu_cfs:
        invalid(
            "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the "
            "cgroup is not mounted"
        )
    if nano < 0 or nano > env.ncpu * 1_000_000_000:
        invalid(
            f"Range of CPUs is from 0.01 to {env.ncpu}.00, as there are only {env.ncpu} CPUs "
            "available"
        )
    if int_field(hc, "CpuShares") > 0 and not cg.cpu_shares:
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
        invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        )
    if 0 < quota < 1000:
        invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if int_field(hc, "CpuPercent") > 0:
        warnings.append("linux does not support CPU percent. Percent discarded.")
    cpus = hc.get("CpusetCpus") or ""
    mems = hc.get("CpusetMems") or ""
    if (cpus or mems) and not cg.cpuset:
        warnings.append(
            "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded."
        )
        cpus = mems = ""
    if not _cpuset_available(cpus, cg.cpus, "cpus"):
        invalid(f"Requested CPUs are not available - requested {cpus}, available: {cg.cpus}")
    if not _cpuset_available(mems, cg.mems, "mems"):
        invalid(
            f"Requested memory nodes are not available - requested {mems}, available: {cg.mems}"
        )
    return warnings


def _check_blkio(hc: Mapping[str, Any], cg: CgroupSupport) -> list[str]:
    warnings: list[str] = []
    weight = int_field(hc, "BlkioWeight")
    if weight > 0 and not cg.blkio_weight:
        warnings.append(
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. "
            "Weight discarded."
        )
        weight = 0
    if weight > 0 and not 10 <= weight <= 1000:
        invalid("Range of blkio weight is from 10 to 1000")
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
        invalid(f"invalid IPC mode: {ipc}")
    pid = hc.get("PidMode") or ""
    if not (pid in ("", "host") or container_ref(pid)):
        invalid(f"invalid PID mode: {pid}")
    if int_field(hc, "ShmSize") < 0:
        invalid("SHM size can not be less than 0")
    uts = hc.get("UTSMode") or ""
    if uts not in ("", "host"):
        invalid(f"invalid UTS mode: {uts}")
    score = int_field(hc, "OomScoreAdj")
    if not -1000 <= score <= 1000:
        invalid(f"Invalid value {score}, range for oom score adj is [-1000, 1000]")
    if userns_remap and hc.get("UsernsMode") != "host":
        if hc.get("Privileged"):
            invalid(
                "privileged mode is incompatible with user namespaces.  You must run the "
                "container in the host namespace when running privileged mode"
            )
        if hc.get("NetworkMode") == "host":
            invalid("cannot share the host's network namespace when user namespaces are enabled")
        if hc.get("PidMode") == "host":
            invalid("cannot share the host PID namespace when user namespaces are enabled")
    for destination in hc.get("Tmpfs") or {}:
        if go_clean(destination) == "/":
            invalid("invalid specification: destination can't be '/'")
        if not destination.startswith("/"):
            invalid(f"invalid mount path: '{destination}' mount path must be absolute")
    cgroupns = hc.get("CgroupnsMode") or ""
    if cgroupns not in ("", "host", "private"):
        invalid(f"invalid cgroup namespace mode: {cgroupns}")


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
    if int_field(hc, "CpuShares") < 0:
        invalid("shares: invalid argument")
    device_rules(hc.get("DeviceCgroupRules") or ())
    for mapping in hc.get("Devices") or ():
        on_host = mapping.get("PathOnHost") or ""
        in_container = mapping.get("PathInContainer") or on_host
        if privileged and on_host == in_container:
            continue
        if not in_container.startswith("/"):
            invalid(f"{in_container} is not an absolute path")
        permissions = mapping.get("CgroupPermissions") or "rwm"
        if not valid_device_mode(permissions):
            invalid(f"bad mode specified: {permissions}")
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
    invalid(f"Invalid signal: {value}")


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
        invalid(f"bad format for add-host: {json.dumps(entry)}")
    if address != HOST_GATEWAY_NAME and not _is_ip(address):
        invalid(f"invalid IP address in add-host: {json.dumps(address)}")


def check_sysctls(hc: Mapping[str, Any]) -> None:
    """runc's sysctl validation against the container's namespaces, with runc's messages."""
    ipc_private = (hc.get("IpcMode") or "") != "host"
    uts_private = (hc.get("UTSMode") or "") != "host"
    host_network = (hc.get("NetworkMode") or "") == "host"
    for raw in hc.get("Sysctls") or {}:
        name = _dotted_sysctl(raw)
        if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if not ipc_private:
                invalid(f"sysctl {json.dumps(name)} is not allowed in the hosts ipc namespace")
            continue
        if name.startswith("net."):
            if host_network:
                invalid(f"sysctl {json.dumps(name)} not allowed in host network namespace")
            continue
        if uts_private and name == "kernel.domainname":
            continue
        if uts_private and name == "kernel.hostname":
            invalid(
                'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI '
                '"hostname" field'
            )
        invalid(f"sysctl {json.dumps(name)} is not in a separate kernel namespace")


def _dotted_sysctl(name: str) -> str:
    """runc accepts `net/ipv4/ip_forward` too: slashes and dots swap places."""
    if "/" not in name:
        return name
    return name.translate(str.maketrans("./", "/."))


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
        invalid(f"Invalid value {requested} for cpuset {what}: {exc}")
    return wanted <= have


def _parse_uint_list(value: str, maximum: int) -> set[int]:
    """dockerd's parsers.ParseUintList: "0-3,5"."""
    if not value:
        return set()
    malformed = ValueError(f"invalid format: {value}")
    result: set[int] = set()
    for part in value.split(","):
        low_text, dash, high_text = part.partition("-")
        if not _GO_INT.fullmatch(low_text) or (dash and not _GO_INT.fullmatch(high_text)):
            raise malformed
        low = int(low_text)
        high = int(high_text) if dash else low
        if high < low:
            raise malformed
        if maximum and high > maximum:
            raise ValueError(f"value of out range, maximum is {maximum}")
        result.update(range(low, high + 1))
    return result


_GO_INT = re.compile(r"[+-]?[0-9]+")
