"""What the docker CLI's `parse()` checks and converts once all of create's or run's flags are
read: port specs (go-connections' nat.ParsePortSpecs), --expose ranges, -v specs (compose's
volumespec), --device specs, security and storage options, MAC addresses, namespace modes and
the network endpoints. Each raises ValueError with docker's text; create/run print it as
`docker: <text>` with status 125.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = [
    "capabilities",
    "check_mac",
    "check_modes",
    "devices",
    "endpoint_ipam",
    "endpoints",
    "exposed_ports",
    "port_bindings",
    "restart_policy",
    "security_options",
    "storage_options",
    "volume_specs",
]

# ---------------------------------------------------------------------------------------------
# Ports


def _port_range(text: str) -> tuple[int, int]:
    """nat.ParsePortRange: `80` or `8000-8010`; ValueError when not."""
    if not text:
        raise ValueError("empty string specified for ports")
    start, dash, end = text.partition("-")
    first = _port_number(start)
    last = _port_number(end.partition("-")[0]) if dash else first
    if last < first:
        raise ValueError(f"invalid range specified for port: {text}")
    return first, last


def _port_number(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    n = int(text)
    if n > 0xFFFF:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return n


def _split_proto(text: str) -> tuple[str, str]:
    """nat.SplitProtoPort: (proto, port), tcp when not given."""
    parts = text.split("/")
    if not text or not parts[0]:
        return "", ""
    if len(parts) == 1 or not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def _standard_notation(spec: str) -> str:
    """The long `--publish target=80,published=8080,protocol=udp` form as `8080:80/udp`."""
    if "=" not in spec:
        return spec
    params = {"protocol": "tcp"}
    for param in spec.split(","):
        key, sep, value = param.partition("=")
        if not sep or not key:
            raise ValueError(
                f"invalid publish opts format (should be name=value but got '{param}')"
            )
        params[key] = value
    return f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"


def _port_spec(raw: str) -> list[tuple[str, str, str]]:
    """nat.ParsePortSpec: [(port/proto, host IP, host port)] for `[ip:][host:]container[/p]`."""
    parts = raw.split(":")
    container = parts[-1]
    if len(parts) == 1:
        ip, host = "", ""
    elif len(parts) == 2:
        ip, host = "", parts[0]
    else:
        ip, host = ":".join(parts[:-2]), parts[-2]
    proto, container = _split_proto(container)
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise ValueError(f"invalid IP address {ip}: missing ']' in address")
        ip = ip[1:-1]
    if ip:
        import ipaddress

        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"invalid IP address: {ip}") from None
    if not container:
        raise ValueError(f"no port specified: {raw}<empty>")
    try:
        start, end = _port_range(container)
    except ValueError:
        raise ValueError(f"invalid containerPort: {container}") from None
    host_start = host_end = 0
    if host:
        try:
            host_start, host_end = _port_range(host)
        except ValueError:
            raise ValueError(f"invalid hostPort: {host}") from None
        if end - start != host_end - host_start and end != start:
            raise ValueError(
                f"invalid ranges specified for container and host Ports: {container} and {host}"
            )
    if proto.lower() not in ("tcp", "udp", "sctp"):
        raise ValueError(f"invalid proto: {proto}")
    out = []
    for i in range(end - start + 1):
        host_port = str(host_start + i) if host else ""
        if start == end and host_start != host_end:
            host_port = f"{host_port}-{host_end}"
        out.append((f"{start + i}/{proto.lower()}", ip, host_port))
    return out


def port_bindings(specs: Sequence[str]) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """-p/--publish: (ports to expose, bindings per port), both as Go maps (sorted keys)."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict]] = {}
    for spec in specs:
        for port, ip, host in _port_spec(_standard_notation(spec)):
            exposed[port] = {}
            bindings.setdefault(port, []).append({"HostIp": ip, "HostPort": host})
    return dict(sorted(exposed.items())), dict(sorted(bindings.items()))


def exposed_ports(specs: Sequence[str], published: dict[str, dict]) -> dict[str, dict]:
    """--expose `port[/proto]` or `start-end[/proto]`, merged with the published ports."""
    exposed = dict(published)
    for spec in specs:
        if ":" in spec:
            raise ValueError(f"invalid port format for --expose: {spec}")
        proto, port = _split_proto(spec)
        try:
            start, end = _port_range(port)
        except ValueError as e:
            raise ValueError(f"invalid range format for --expose: {spec}, error: {e}") from None
        for n in range(start, end + 1):
            exposed[f"{n}/{proto}"] = {}
    return dict(sorted(exposed.items()))


# ---------------------------------------------------------------------------------------------
# Volumes and devices


def _volume_source(spec: str) -> str:
    """compose's volumespec.Parse, as far as create needs it: the source ("" for an
    anonymous volume); ValueError with its texts for the malformed ones. As there, a single
    letter before a colon is a Windows drive (`c:\\dir`), so `a::b` has the source `a:`."""
    if len(spec) <= 2:
        return ""
    source = target = ""
    buf = ""
    for ch in spec + "\0":
        if ch == ":" and len(buf) == 1 and buf.isalpha():
            buf += ch
        elif ch in (":", "\0"):
            if not buf:
                raise ValueError(f"invalid spec: {spec}: empty section between colons")
            if not source and ch == "\0":
                return ""  # anonymous: the whole spec is the target
            if not source:
                source = buf
            elif not target:
                target = buf
            elif ch == ":":
                raise ValueError(f"invalid spec: {spec}: too many colons")
            buf = ""
        else:
            buf += ch
    return source


def volume_specs(specs: Sequence[str]) -> tuple[list[str], dict[str, dict]]:
    """-v: (HostConfig.Binds, Config.Volumes). A spec with a source is a bind (or a named
    volume), a relative `./dir` source made absolute; one without is an anonymous volume."""
    binds: list[str] = []
    anonymous: dict[str, dict] = {}
    for spec in specs:
        source = _volume_source(spec)
        if not source:
            anonymous[spec] = {}
            continue
        host, _, target = spec.partition(":")
        if host.startswith(".") and not os.path.isabs(host):
            host = os.path.abspath(host)
        binds.append(f"{host}:{target}")
    return binds, anonymous


def _device_mode(mode: str) -> bool:
    return bool(mode) and len(set(mode)) == len(mode) and set(mode) <= set("rwm")


def _check_device_path(spec: str) -> None:
    """validateLinuxPath: `[host:]container[:mode]`, the container path absolute."""
    if spec.count(":") > 2:
        raise ValueError(f"bad format for path: {spec}")
    parts = spec.split(":")
    if not parts[0]:
        raise ValueError(f"bad format for path: {spec}")
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) == 2:
        target = parts[0] if _device_mode(parts[1]) else parts[1]
    else:
        target = parts[1]
        if not _device_mode(parts[2]):
            raise ValueError(f"bad mode specified: {parts[2]}")
    if not target.startswith("/"):
        raise ValueError(f"{target} is not an absolute path")


def devices(specs: Sequence[str]) -> list[dict[str, str]]:
    """--device `host[:container][:permissions]` as DeviceMappings."""
    out = []
    for spec in specs:
        _check_device_path(spec)
        parts = spec.split(":", 3)
        source, target, permissions = parts[0], "", "rwm"
        if len(parts) > 3:
            raise ValueError(f"invalid device specification: {spec}")
        if len(parts) == 3:
            permissions = parts[2]
        if len(parts) >= 2:
            if _device_mode(parts[1]):
                permissions = parts[1]
            else:
                target = parts[1]
        out.append(
            {
                "PathOnHost": source,
                "PathInContainer": target or source,
                "CgroupPermissions": permissions,
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Security, storage, modes, MAC


def _compact_json(text: str) -> str:
    """json.Compact: the document without insignificant whitespace, otherwise as written."""
    from cli import _json

    _json.loads(text)  # ValueError when it is not JSON
    out = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out)


def security_options(opts: Sequence[str]) -> tuple[list[str], list[str] | None, list[str] | None]:
    """parseSecurityOpts then parseSystemPaths: (the options, seccomp profiles read from their
    files; MaskedPaths and ReadonlyPaths, both [] when `systempaths=unconfined` was given)."""
    out = []
    masked = readonly = None
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, value = opt.partition(":")
        if (not sep or not value) and key != "no-new-privileges":
            raise ValueError(f'Invalid --security-opt: "{opt}"')
        if key == "seccomp" and value not in ("builtin", "unconfined"):
            try:
                with open(value, encoding="utf-8") as f:
                    profile = _compact_json(f.read())
            except OSError as e:
                raise ValueError(
                    f"opening seccomp profile ({value}) failed: open {value}: "
                    f"{(e.strerror or str(e)).lower()}"
                ) from None
            except ValueError as e:
                raise ValueError(
                    f"compacting json for seccomp profile ({value}) failed: {e}"
                ) from None
            opt = f"seccomp={profile}"
        if opt == "systempaths=unconfined":
            masked, readonly = [], []
            continue
        out.append(opt)
    return out, masked, readonly


def _capability(name: str) -> str:
    name = name.strip().upper()
    return name if name in ("ALL", "RESET") or name.startswith("CAP_") else "CAP_" + name


def capabilities(add: Sequence[str], drop: Sequence[str]) -> tuple[list[str], list[str]]:
    """opts.EffectiveCapAddCapDrop: names as CAP_X, ALL standing for every other one, an
    added capability not dropped; both sorted."""
    adds = {_capability(c) for c in add}
    drops = {_capability(c) for c in drop}
    adds = {"ALL"} if "ALL" in adds else adds
    drops = {"ALL"} if "ALL" in drops else drops
    return sorted(adds), sorted(drops - adds)


def restart_policy(value: str) -> dict[str, Any]:
    """opts.ParseRestartPolicy: `name[:max-retries]`; the daemon judges the name."""
    name, colon, count = value.partition(":")
    if colon and not name:
        raise ValueError("invalid restart policy format: no policy provided before colon")
    if count and not count.lstrip("+-").isdigit():
        raise ValueError("invalid restart policy format: maximum retry count must be an integer")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


def storage_options(opts: Sequence[str]) -> dict[str, str]:
    out = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep:
            raise ValueError("invalid storage option")
        out[key] = value
    return out


def check_modes(pid: str, uts: str, userns: str, cgroupns: str) -> None:
    """The namespace modes docker checks before sending them."""
    kind, sep, ref = pid.partition(":")
    if pid not in ("", "host") and not (sep and kind == "container" and ref):
        raise ValueError("--pid: invalid PID mode")
    if uts not in ("", "host"):
        raise ValueError("--uts: invalid UTS mode")
    if userns not in ("", "host"):
        raise ValueError("--userns: invalid USER mode")
    if cgroupns not in ("", "host", "private"):
        raise ValueError("--cgroupns: invalid CGROUP mode")


def check_mac(address: str) -> None:
    """net.ParseMAC: 6, 8 or 20 octets, as `xx:xx..`, `xx-xx..` or `xxxx.xxxx..`."""
    text = address.strip()
    hexdigits = set("0123456789abcdefABCDEF")
    for sep, width, counts in ((":", 2, (6, 8, 20)), ("-", 2, (6, 8, 20)), (".", 4, (3, 4, 10))):
        groups = text.split(sep)
        if len(groups) in counts and all(len(g) == width and set(g) <= hexdigits for g in groups):
            return
    raise ValueError(f"{address} is not a valid mac address")


# ---------------------------------------------------------------------------------------------
# Networks


_NOT_USER_DEFINED = ("default", "bridge", "host", "none")


def _user_defined(mode: str) -> bool:
    return mode not in _NOT_USER_DEFINED and not mode.startswith("container:")


def _attachment(spec: str) -> dict[str, Any]:
    """--network `name` or the advanced `name=n,alias=a,ip=...,driver-opt=k=v` form."""
    if "=" not in spec:
        return {"target": spec}
    from cli.commands._container_values import _csv_fields

    out: dict[str, Any] = {}
    for field in _csv_fields(spec):
        key, _, value = field.partition("=")
        key = key.strip().lower()
        if key == "name":
            out["target"] = value
        elif key == "alias":
            out.setdefault("aliases", []).append(value)
        elif key == "link":
            out.setdefault("links", []).append(value)
        elif key == "ip":
            out["ip"] = value
        elif key == "ip6":
            out["ip6"] = value
        elif key == "mac-address":
            out["mac"] = value
        elif key == "link-local-ip":
            out.setdefault("link_local", []).append(value)
        elif key == "driver-opt":
            k, _, v = value.partition("=")
            out.setdefault("driver_opts", {})[k] = v
        elif key == "gw-priority":
            out["gw_priority"] = int(value)
        else:
            raise ValueError(f"invalid field key {key}")
    return out


def endpoint_ipam(ip: str, ip6: str, link_local: Sequence[str]) -> dict[str, Any] | None:
    """EndpointIPAMConfig (its fields omitempty); None when no address is asked for."""
    ipam: dict[str, Any] = {}
    if ip:
        ipam["IPv4Address"] = ip
    if ip6:
        ipam["IPv6Address"] = ip6
    if link_local:
        ipam["LinkLocalIPs"] = list(link_local)
    return ipam or None


def _endpoint(n: dict[str, Any]) -> dict[str, Any]:
    """network.EndpointSettings as the docker CLI sends it (its Go zero values included)."""
    target = n.get("target", "")
    if not target.strip():
        raise ValueError("no name set for network")
    if not _user_defined(target):
        if n.get("aliases"):
            raise ValueError("network-scoped aliases are only supported for user-defined networks")
        if n.get("links"):
            raise ValueError("links are only supported for user-defined networks")
    ipam = endpoint_ipam(n.get("ip", ""), n.get("ip6", ""), n.get("link_local", ()))
    if n.get("mac"):
        check_mac(n["mac"])
    return {
        "IPAMConfig": ipam,
        "Links": n.get("links") or None,
        "Aliases": n.get("aliases") or None,
        "MacAddress": n.get("mac", ""),
        "DriverOpts": n.get("driver_opts") or None,
        "GwPriority": n.get("gw_priority", 0),
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": None,
    }


def endpoints(
    networks: Sequence[str],
    aliases: Sequence[str],
    links: Sequence[str],
    ip: str,
    ip6: str,
    mac: str,
    link_local: Sequence[str],
) -> tuple[str, dict[str, dict]]:
    """parseNetworkOpts: (NetworkMode, EndpointsConfig). The old single-network flags apply to
    the first network (or to "default"); a lone network without options sends no endpoint."""
    attachments = [_attachment(n) for n in networks] or [{"target": "default"}]
    first = attachments[0]
    for mine, flag, theirs in (
        ("aliases", "--network-alias", aliases),
        ("links", "--link", links),
        ("link_local", "--link-local-ip", link_local),
    ):
        if first.get(mine) and theirs:
            what = {"aliases": "alias", "links": "links", "link_local": "link-local IP addresses"}
            raise ValueError(
                f"conflicting options: cannot specify both {flag} and per-network {what[mine]}"
            )
    if aliases:
        first["aliases"] = list(aliases)
    if links and _user_defined(first["target"]):
        first["links"] = list(links)
    for key, value in (("ip", ip), ("ip6", ip6), ("mac", mac)):
        if value:
            first[key] = value
    if link_local:
        first["link_local"] = list(link_local)
    result: dict[str, dict] = {}
    user = non_user = False
    for i, n in enumerate(attachments):
        if _user_defined(n["target"]):
            user = True
        else:
            non_user = True
        ep = _endpoint(n)
        if n["target"] in result:
            raise ValueError(f'network "{n["target"]}" is specified multiple times')
        alone = networks and len(attachments) == 1
        if i == 0 and alone and ep == _endpoint({"target": n["target"]}):
            continue
        result[n["target"]] = ep
    if user and non_user:
        raise ValueError(
            "conflicting options: cannot attach both user-defined and non-user-defined "
            "network-modes"
        )
    return (attachments[0]["target"] if networks else "default"), result
