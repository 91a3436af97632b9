"""Network commands: network create, ls, rm, prune, connect, disconnect (network inspect
shares cli.actions.inspect)."""

from __future__ import annotations

from cli._options import Options
from cli.actions._common import confirm, filters_param, natural_key, render
from cli.api import APIError, CLIError
from cli.env import Env
from cli.gotemplate import GoJSON, GoStruct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["NETWORK_HEADERS", "CreateOptions", "connect", "create", "disconnect", "ls", "prune"]

NETWORK_HEADERS = {
    "ID": "NETWORK ID",
    "Name": "NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "IPv4": "IPV4",
    "IPv6": "IPV6",
    "Internal": "INTERNAL",
    "Labels": "LABELS",
    "CreatedAt": "CREATED AT",
}


def _created(value: str) -> str:
    """Go's time.Time.String() of the API's RFC 3339 `Created` (fraction without trailing
    zeros): `2025-01-02 03:04:05.12345 +0000 UTC`."""
    import datetime as dt

    head, _, frac = value.rstrip("Z").partition(".")
    frac = frac.split("+")[0].split("-")[0].rstrip("0")
    try:
        t = dt.datetime.fromisoformat(head).replace(tzinfo=dt.UTC).astimezone()
    except ValueError:
        return value
    zone = t.strftime("%z")
    name = t.tzname() or zone
    return f"{t:%Y-%m-%d %H:%M:%S}{'.' + frac if frac else ''} {zone} {name}"


class NetworkContext(GoStruct, GoJSON):
    """formatter.networkContext over one /networks item."""

    _go_type = "*network.networkContext"
    _go_fields = (*NETWORK_HEADERS, "Label")

    def __init__(self, n: dict[str, Any], trunc: bool) -> None:
        self.n = n
        self.trunc = trunc

    @property
    def ID(self) -> str:
        ident = self.n.get("Id") or ""
        return ident[:12] if self.trunc else ident

    Name = property(lambda self: self.n.get("Name") or "")
    Driver = property(lambda self: self.n.get("Driver") or "")
    Scope = property(lambda self: self.n.get("Scope") or "")
    IPv4 = property(lambda self: "true" if self.n.get("EnableIPv4", True) else "false")
    IPv6 = property(lambda self: "true" if self.n.get("EnableIPv6") else "false")
    Internal = property(lambda self: "true" if self.n.get("Internal") else "false")
    CreatedAt = property(lambda self: _created(self.n.get("Created") or ""))

    @property
    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in (self.n.get("Labels") or {}).items())

    def Label(self, name: str) -> str:
        return (self.n.get("Labels") or {}).get(name, "")

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        doc = {k: getattr(self, k) for k in sorted(NETWORK_HEADERS)}
        return go_json(doc, escape_html=True)


class CreateOptions(Options):
    name: str
    driver: str = "bridge"
    options: Sequence[str] = ()
    labels: Sequence[str] = ()
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    ipv4: bool | None = None
    ipv6: bool | None = None
    subnets: Sequence[str] = ()
    gateways: Sequence[str] = ()
    ip_ranges: Sequence[str] = ()
    aux_addresses: Sequence[str] = ()
    ipam_driver: str = "default"
    ipam_opts: Sequence[str] = ()
    scope: str = ""
    config_only: bool = False
    config_from: str = ""


def _kv(items: Sequence[str]) -> dict[str, str]:
    return {i.partition("=")[0]: i.partition("=")[2] for i in items}


def _ipam_configs(opts: CreateOptions) -> list[dict[str, Any]]:
    """consolidateIpam: each gateway/range/aux address goes with the subnet holding it."""
    import ipaddress

    if len(opts.subnets) < len(opts.gateways) or len(opts.subnets) < len(opts.ip_ranges):
        raise CLIError("every ip-range or gateway must have a corresponding subnet")
    try:
        nets = [(s, ipaddress.ip_network(s, strict=False)) for s in opts.subnets]
    except ValueError as e:
        raise CLIError(f"invalid CIDR address: {e}") from None
    configs: dict[str, dict[str, Any]] = {s: {"Subnet": s} for s, _ in nets}

    def owner(what: str, value: str, contains: Callable[[Any], bool]) -> dict[str, Any]:
        for subnet, net in nets:
            if contains(net):
                return configs[subnet]
        raise CLIError(f"no matching subnet for {what} {value}")

    for rng in opts.ip_ranges:
        r = ipaddress.ip_network(rng, strict=False)
        cfg = owner("range", rng, lambda n, r=r: r.version == n.version and r.subnet_of(n))
        cfg["IPRange"] = rng
    for gw in opts.gateways:
        ip = ipaddress.ip_address(gw)
        owner("gateway", gw, lambda n, ip=ip: ip in n)["Gateway"] = gw
    for key, value in _kv(opts.aux_addresses).items():
        ip = ipaddress.ip_address(value)
        cfg = owner("aux-address", value, lambda n, ip=ip: ip in n)
        cfg.setdefault("AuxiliaryAddresses", {})[key] = value
    return list(configs.values())


def create(env: Env, opts: CreateOptions) -> int:
    body: dict[str, Any] = {
        "Name": opts.name,
        "Driver": opts.driver,
        "Options": _kv(opts.options),
        "IPAM": {
            "Driver": opts.ipam_driver,
            "Config": _ipam_configs(opts),
            "Options": _kv(opts.ipam_opts),
        },
        "Internal": opts.internal,
        "Attachable": opts.attachable,
        "Ingress": opts.ingress,
        "Scope": opts.scope,
        "ConfigOnly": opts.config_only,
        "Labels": _kv(opts.labels),
    }
    if opts.ipv4 is not None:
        body["EnableIPv4"] = opts.ipv4
    if opts.ipv6 is not None:
        body["EnableIPv6"] = opts.ipv6
    if opts.config_from:
        body["ConfigFrom"] = {"Network": opts.config_from}
    resp = env.api.post("/networks/create", json_body=body) or {}
    env.out.write(f"{resp.get('Id', '')}\n")
    return 0


def ls(env: Env, quiet: bool, no_trunc: bool, filters: list[str], fmt: str) -> int:
    nets = env.api.get("/networks", {"filters": filters_param(filters)}) or []
    nets.sort(key=lambda n: natural_key(n.get("Name") or ""))
    fmt = fmt or env.config.get("networksFormat", "")
    if quiet:
        fmt = "{{.ID}}"
    elif fmt in ("", "table"):
        fmt = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
    render(env, fmt, NETWORK_HEADERS, [NetworkContext(n, not no_trunc) for n in nets])
    return 0


def rm(env: Env, networks: list[str], force: bool) -> int:
    """docker network rm: each name on success; a missing network is no error with -f."""
    from urllib.parse import quote

    failed = False
    for name in networks:
        try:
            env.api.delete(f"/networks/{quote(name, safe='')}")
        except APIError as e:
            if force and e.not_found:
                continue
            env.err.write(f"{e}\n")
            failed = True
            continue
        env.out.write(f"{name}\n")
    if failed:
        raise CLIError("exit status 1")
    return 0


def connect(
    env: Env,
    network: str,
    container: str,
    aliases: list[str],
    ip: str,
    ip6: str,
    links: list[str],
    link_local_ips: list[str],
    driver_opts: list[str],
    gw_priority: int,
) -> int:
    from urllib.parse import quote

    from cli.actions._specs import endpoint_ipam

    endpoint: dict[str, Any] = {
        "IPAMConfig": endpoint_ipam(ip, ip6, link_local_ips),
        "Links": links or None,
        "Aliases": aliases or None,
        "DriverOpts": _kv(driver_opts) or None,
        "GwPriority": gw_priority,
    }
    env.api.post(
        f"/networks/{quote(network, safe='')}/connect",
        json_body={"Container": container, "EndpointConfig": endpoint},
    )
    return 0


def disconnect(env: Env, network: str, container: str, force: bool) -> int:
    from urllib.parse import quote

    env.api.post(
        f"/networks/{quote(network, safe='')}/disconnect",
        json_body={"Container": container, "Force": force},
    )
    return 0


def prune(env: Env, force: bool, filters: list[str]) -> int:
    warning = "WARNING! This will remove all custom networks not used by at least one container."
    if not force and not confirm(env, warning):
        return 0
    deleted = prune_networks(env, filters)
    if deleted:
        env.out.write("Deleted Networks:\n" + "".join(d + "\n" for d in deleted))
    return 0


def prune_networks(env: Env, filters: list[str]) -> list[str]:
    report = env.api.post("/networks/prune", {"filters": filters_param(filters)}) or {}
    return list(report.get("NetworksDeleted") or [])
