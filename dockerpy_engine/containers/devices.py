"""The devices a container gets: host device nodes for `--device` (dockerd's DevicesFromPath
and WithDevices) and `--device-cgroup-rule` allow rules."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._fields import invalid

# (path on the host, path in the container, cgroup permissions) → (devices, allow rules)
DeviceLookup = Callable[[str, str, str], tuple[list[dict[str, Any]], list[dict[str, Any]]]]

_DEVICE_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")


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
    invalid(
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


def host_devices(
    hc: Mapping[str, Any], lookup: DeviceLookup
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """--device mappings, their nodes found by `lookup` (the Environment's); privileged
    containers have every host device already, so only mappings to another path are added,
    with full access (dockerd's WithDevices)."""
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
        found, allowed = lookup(on_host, in_container, permissions)
        devices += found
        rules += allowed
    return devices, ([] if privileged else rules)


def device_rules(rules: Iterable[str] | None) -> list[dict[str, Any]]:
    """--device-cgroup-rule 'TYPE MAJOR:MINOR ACCESS' → allow rules (`*` is any: -1)."""
    parsed = []
    for rule in rules or ():
        match = _DEVICE_RULE.match(rule)
        if match is None:
            invalid(f"invalid device cgroup rule format: '{rule}'")
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


def valid_device_mode(mode: str) -> bool:
    return bool(mode) and len(set(mode)) == len(mode) and set(mode) <= set("rwm")


def _go_error(exc: OSError) -> str:
    """An errno as Go prints it ("no such file or directory")."""
    message = os.strerror(exc.errno) if exc.errno else str(exc)
    return message[:1].lower() + message[1:]
