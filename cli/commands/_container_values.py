"""Parsers for the values of create's and run's flags, as the docker CLI checks them while it
reads the command line (its opts.* validators and Value types): each returns what goes into
the API body, or raises ValueError with docker's text, which the parser turns into
`invalid argument "v" for "--flag" flag: <text>` (exit status 125).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "annotation",
    "attach",
    "bps_device",
    "device_cgroup_rule",
    "dns_search",
    "extra_host",
    "gpus",
    "iops_device",
    "ip_address",
    "link",
    "mount",
    "sysctl",
    "ulimit",
    "weight_device",
]


def attach(value: str) -> str:
    """validateAttach: a stream name, any case."""
    if value.lower() not in ("stdin", "stdout", "stderr"):
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return value.lower()


def ip_address(value: str) -> str:
    """opts.ValidateIPAddress: an IPv4 or IPv6 address, in its canonical form."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"IP address is not correctly formatted: {value}") from None


def dns_search(value: str) -> str:
    """opts.ValidateDNSSearch: a domain name (or `.`), at most 255 characters."""
    import re

    value = value.strip(" ")
    if value == ".":
        return value
    label = r"([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])"
    m = re.match(rf"^(:?{label}(:?\.{label})*)\.?\s*$", value)
    if m is None:
        raise ValueError(f"{value} is not a valid domain")
    if len(m.group(1)) > 255:
        raise ValueError(f"{m.group(1)} is not a valid domain (longer than 255 characters)")
    return value


def extra_host(value: str) -> str:
    """opts.ValidateExtraHost: `host:ip` or `host=ip` (the IP may be in brackets, or be
    `host-gateway`), sent as `host:ip`."""
    name, sep, ip = value.partition("=")
    if not sep:
        name, sep, ip = value.partition(":")
    if not sep or not name or ":" in name:
        raise ValueError(f'bad format for add-host: "{value}"')
    if ip != "host-gateway":
        if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]":
            ip = ip[1:-1]
        try:
            ip_address(ip)
        except ValueError:
            raise ValueError(f'invalid IP address in add-host: "{ip}"') from None
    return f"{name}:{ip}"


def link(value: str) -> str:
    """opts.ValidateLink: `name` or `name:alias`."""
    parts = value.split(":")
    if len(parts) > 2:
        raise ValueError(f"bad format for links: {value}")
    if not all(parts):
        raise ValueError(f"bad format for links: {value}")
    return value


def device_cgroup_rule(value: str) -> str:
    """`type major:minor access`, as `c 1:3 rwm` or `a *:* m`."""
    import re

    if re.match(r"^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$", value) is None:
        raise ValueError(f"invalid device cgroup format '{value}'")
    return value


_SYSCTLS = {
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
}


def sysctl(value: str) -> tuple[str, str]:
    """opts.ValidateSysctl: namespaced sysctls only (IPC ones, net.*, fs.mqueue.*)."""
    parts = value.split("=")
    if len(parts) < 2 or not (parts[0] in _SYSCTLS or parts[0].startswith(("net.", "fs.mqueue."))):
        raise ValueError(f"sysctl '{value}' is not allowed")
    key, _, v = value.partition("=")
    return key, v


def annotation(value: str) -> tuple[str, str]:
    """A map flag's `key=value` (a bare key maps to "")."""
    key, _, v = value.partition("=")
    return key, v


_ULIMITS = {
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
}


def _parse_int64(value: str) -> int:
    try:
        return int(value, 10)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def ulimit(value: str) -> dict[str, Any]:
    """units.ParseUlimit: `name=soft[:hard]`."""
    name, sep, limits = value.partition("=")
    if not sep:
        raise ValueError(f"invalid ulimit argument: {value}")
    if name not in _ULIMITS:
        raise ValueError(f"invalid ulimit type: {name}")
    soft_text, colon, hard_text = limits.partition(":")
    if colon and ":" in hard_text:
        raise ValueError(f"too many limit value arguments - {limits}, can only have up to two")
    soft = _parse_int64(soft_text)
    hard = _parse_int64(hard_text) if colon else soft
    if soft > hard:
        raise ValueError(
            f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )
    return {"Name": name, "Hard": hard, "Soft": soft}


def _device_path(value: str) -> tuple[str, str]:
    path, sep, rest = value.partition(":")
    if not sep or not path:
        raise ValueError(f"bad format: {value}")
    if not path.startswith("/dev/"):
        raise ValueError(f"bad format for device path: {value}")
    return path, rest


def bps_device(value: str) -> dict[str, Any]:
    """opts.ValidateThrottleBpsDevice: `/dev/x:rate` with a size unit (`1mb`)."""
    from cli.commands._parsers import ram_bytes

    path, rate = _device_path(value)
    try:
        n = ram_bytes(rate)
    except ValueError:
        n = -1
    if n < 0:
        raise ValueError(
            f"invalid rate for device: {value}. The correct format is "
            "<device-path>:<number>[<unit>]. Number must be a positive integer. Unit is "
            "optional and can be kb, mb, or gb"
        )
    return {"Path": path, "Rate": n}


def iops_device(value: str) -> dict[str, Any]:
    """opts.ValidateThrottleIOpsDevice: `/dev/x:count`."""
    from cli.commands._parsers import uint64

    path, rate = _device_path(value)
    try:
        n = uint64(rate)
    except ValueError:
        raise ValueError(
            f"invalid rate for device: {value}. The correct format is "
            "<device-path>:<number>. Number must be a positive integer"
        ) from None
    return {"Path": path, "Rate": n}


def weight_device(value: str) -> dict[str, Any]:
    """opts.ValidateWeightDevice: `/dev/x:weight`, the weight 10 to 1000 (0 disables)."""
    from cli.commands._parsers import uint16

    path, text = _device_path(value)
    try:
        weight = uint16(text)
    except ValueError:
        weight = -1
    if weight != 0 and not 10 <= weight <= 1000:
        raise ValueError(f"invalid weight for device: {value}")
    return {"Path": path, "Weight": weight}


def _csv_fields(value: str) -> list[str]:
    import csv

    try:
        return next(csv.reader([value]))
    except (csv.Error, StopIteration) as e:
        raise ValueError(str(e)) from None


def _go_bool(key: str, value: str) -> bool:
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"invalid value for {key}: {value}")


def mount(value: str) -> dict[str, Any]:
    """opts.MountOpt: `type=bind|volume|tmpfs,source=...,target=...,readonly,...` (CSV)."""
    import os

    from cli.commands._parsers import ram_bytes

    m: dict[str, Any] = {"Type": "volume"}
    volume: dict[str, Any] = {}
    driver: dict[str, Any] = {}
    bind: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    for field in _csv_fields(value):
        key, sep, val = field.partition("=")
        if not sep:
            if key in ("readonly", "ro"):
                m["ReadOnly"] = True
            elif key == "volume-nocopy":
                volume["NoCopy"] = True
            elif key == "bind-nonrecursive":
                bind["NonRecursive"] = True
            else:
                raise ValueError(f"invalid field '{field}' must be a key=value pair")
            continue
        if key == "type":
            m["Type"] = val.lower()
        elif key in ("source", "src"):
            m["Source"] = os.path.abspath(val) if val == "." or val.startswith("./") else val
        elif key in ("target", "dst", "destination"):
            m["Target"] = val
        elif key in ("readonly", "ro"):
            m["ReadOnly"] = _go_bool(key, val)
        elif key == "consistency":
            m["Consistency"] = val.lower()
        elif key == "bind-propagation":
            bind["Propagation"] = val.lower()
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _go_bool(key, val)
        elif key == "volume-nocopy":
            try:
                volume["NoCopy"] = _go_bool(key, val)
            except ValueError:
                raise ValueError(f"invalid value for volume-nocopy: {val}") from None
        elif key == "volume-label":
            k, _, v = val.partition("=")
            if k:
                volume.setdefault("Labels", {})[k] = v
        elif key == "volume-driver":
            driver["Name"] = val
        elif key == "volume-opt":
            k, _, v = val.partition("=")
            options = driver.setdefault("Options", {})
            if k:
                options[k] = v
        elif key == "volume-subpath":
            volume["Subpath"] = val
        elif key == "tmpfs-size":
            try:
                tmpfs["SizeBytes"] = ram_bytes(val)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(val, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if driver:
        volume["DriverConfig"] = driver
    if not m.get("Type"):
        raise ValueError("type is required")
    if not m.get("Target"):
        raise ValueError("target is required")
    for options, kind in ((volume, "volume"), (bind, "bind"), (tmpfs, "tmpfs")):
        if options and m["Type"] != kind:
            raise ValueError(f"cannot mix '{kind}-*' options with mount type '{m['Type']}'")
    if volume:
        m["VolumeOptions"] = volume
    if bind:
        m["BindOptions"] = bind
    if tmpfs:
        m["TmpfsOptions"] = tmpfs
    return m


def _gpu_count(text: str) -> int:
    if text == "all":
        return -1
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f'invalid count ({text}): value must be either "all" or an integer: invalid syntax'
        ) from None


def gpus(value: str) -> dict[str, Any]:
    """opts.GpuOpts: `all`, a count, or `count=..,driver=..,device=..,capabilities=..`."""
    request: dict[str, Any] = {"Driver": "", "Count": 0, "DeviceIDs": None}
    seen: set[str] = set()
    for field in _csv_fields(value):
        key, sep, val = field.partition("=")
        if key in seen:
            raise ValueError(f"gpu request key '{key}' can be specified only once")
        seen.add(key)
        if not sep:
            seen.add("count")
            request["Count"] = _gpu_count(key)
        elif key == "driver":
            request["Driver"] = val
        elif key == "count":
            request["Count"] = _gpu_count(val)
        elif key == "device":
            request["DeviceIDs"] = val.split(",")
        elif key == "capabilities":
            request["Capabilities"] = [[*val.split(","), "gpu"]]
        elif key == "options":
            request["Options"] = dict(f.partition("=")[::2] for f in _csv_fields(val))
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if "count" not in seen and request["DeviceIDs"] is None:
        request["Count"] = 1
    request.setdefault("Capabilities", [["gpu"]])
    request.setdefault("Options", {})
    return request
