"""A container's Config + HostConfig → the `SpecInput` keyword arguments for its OCI spec, as
dockerd's createSpec (`daemon/oci_linux.go`) builds them at start: process, namespaces,
mounts, resources, devices, security."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import errdefs
from ._fields import go_clean, int_field
from .devices import device_rules, host_devices
from .hostenv import Environment, probe_environment
from .limits import resources, rlimit
from .namespace_modes import Lookup, namespace_options
from .security_opts import parse_security_opts
from .tmpfs import tmpfs_mount

INIT_PATH_IN_CONTAINER = "/sbin/docker-init"  # dockerd's inContainerInitPath


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
    ns_options, ipc_mounts = namespace_options(hc, shm_dir, lookup, env, userns_remap)
    devices, device_permissions = host_devices(hc, env.devices)
    tmpfs = [tmpfs_mount(dest, data) for dest, data in (hc.get("Tmpfs") or {}).items()]
    options: dict[str, Any] = {
        "args": args,
        "env": list(config.get("Env") or []),
        "cwd": go_clean(config.get("WorkingDir") or "/"),
        "hostname": config.get("Hostname") or "",
        "domainname": config.get("Domainname") or "",
        "privileged": privileged,
        "cap_add": list(hc.get("CapAdd") or []),
        "cap_drop": list(hc.get("CapDrop") or []),
        "no_new_privileges": security.no_new_privileges,
        "oom_score_adj": int_field(hc, "OomScoreAdj"),
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
