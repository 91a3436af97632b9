"""Network commands and their docker flags (`network X`)."""

from cli._command import Annotated, Arg, Opt, command
from cli.commands import _parsers
from cli.env import Env


def _bool_or_none(value: str) -> bool:
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


@command("network create", "Create a network", usage="[OPTIONS] NETWORK", min_args=1, max_args=1)
def network_create(
    env: Env,
    name: Annotated[str, Arg("NETWORK")],
    attachable: Annotated[
        bool, Opt("--attachable", help="Enable manual container attachment")
    ] = False,
    aux_address: Annotated[
        list[str],
        Opt(
            "--aux-address",
            metavar="map",
            show_default="map[]",
            help="Auxiliary IPv4 or IPv6 addresses used by Network driver",
        ),
    ] = [],  # noqa: B006
    config_from: Annotated[
        str, Opt("--config-from", help="The network from which to copy the configuration")
    ] = "",
    config_only: Annotated[
        bool, Opt("--config-only", help="Create a configuration only network")
    ] = False,
    driver: Annotated[str, Opt("-d", "--driver", help="Driver to manage the Network")] = "bridge",
    gateway: Annotated[
        list[str],
        Opt("--gateway", metavar="strings", help="IPv4 or IPv6 Gateway for the master subnet"),
    ] = [],  # noqa: B006
    ingress: Annotated[bool, Opt("--ingress", help="Create swarm routing-mesh network")] = False,
    internal: Annotated[
        bool, Opt("--internal", help="Restrict external access to the network")
    ] = False,
    ip_range: Annotated[
        list[str],
        Opt("--ip-range", metavar="strings", help="Allocate container ip from a sub-range"),
    ] = [],  # noqa: B006
    ipam_driver: Annotated[
        str, Opt("--ipam-driver", help="IP Address Management Driver")
    ] = "default",
    ipam_opt: Annotated[
        list[str],
        Opt(
            "--ipam-opt",
            metavar="map",
            show_default="map[]",
            help="Set IPAM driver specific options",
        ),
    ] = [],  # noqa: B006
    ipv4: Annotated[
        bool | None,
        Opt(
            "--ipv4",
            metavar="",
            parse=_bool_or_none,
            show_default="true",
            help="Enable or disable IPv4 address assignment",
        ),
    ] = None,
    ipv6: Annotated[
        bool | None,
        Opt(
            "--ipv6",
            metavar="",
            parse=_bool_or_none,
            help="Enable or disable IPv6 address assignment",
        ),
    ] = None,
    label: Annotated[
        list[str], Opt("--label", metavar="list", help="Set metadata on a network")
    ] = [],  # noqa: B006
    opt: Annotated[
        list[str],
        Opt(
            "-o",
            "--opt",
            metavar="map",
            show_default="map[]",
            help="Set driver specific options",
        ),
    ] = [],  # noqa: B006
    scope: Annotated[str, Opt("--scope", help="Control the network's scope")] = "",
    subnet: Annotated[
        list[str],
        Opt(
            "--subnet",
            metavar="strings",
            help="Subnet in CIDR format that represents a network segment",
        ),
    ] = [],  # noqa: B006
) -> int:
    from cli.actions import network as act

    return act.create(
        env,
        act.CreateOptions(
            name=name,
            driver=driver,
            options=opt,
            labels=label,
            internal=internal,
            attachable=attachable,
            ingress=ingress,
            ipv4=ipv4,
            ipv6=ipv6,
            subnets=subnet,
            gateways=gateway,
            ip_ranges=ip_range,
            aux_addresses=aux_address,
            ipam_driver=ipam_driver,
            ipam_opts=ipam_opt,
            scope=scope,
            config_only=config_only,
            config_from=config_from,
        ),
    )


@command("network ls", "List networks", aliases=("network list",), max_args=0)
def network_ls(
    env: Env,
    filter: Annotated[
        list[str],
        _parsers.filter_flag('Provide filter values (e.g. "driver=bridge")'),
    ] = [],  # noqa: B006
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_TABLE_HELP)] = "",
    no_trunc: Annotated[bool, Opt("--no-trunc", help="Do not truncate the output")] = False,
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Only display network IDs")] = False,
) -> int:
    from cli.actions import network as act

    return act.ls(env, quiet, no_trunc, filter, format)


@command(
    "network inspect",
    "Display detailed information on one or more networks",
    usage="[OPTIONS] NETWORK [NETWORK...]",
    min_args=1,
)
def network_inspect(
    env: Env,
    networks: Annotated[list[str], Arg("NETWORK")],
    format: Annotated[str, Opt("-f", "--format", help=_parsers.FORMAT_HELP)] = "",
    verbose: Annotated[bool, Opt("-v", "--verbose", help="Verbose output for diagnostics")] = False,
) -> int:
    from cli.actions import inspect as act

    return act.inspect(env, act.InspectOptions(networks, format, False, "network"))


@command(
    "network rm",
    "Remove one or more networks",
    usage="NETWORK [NETWORK...]",
    aliases=("network remove",),
    min_args=1,
)
def network_rm(
    env: Env,
    networks: Annotated[list[str], Arg("NETWORK")],
    force: Annotated[
        bool, Opt("-f", "--force", help="Do not error if the network does not exist")
    ] = False,
) -> int:
    from cli.actions import network as act

    return act.rm(env, networks, force)


@command("network prune", "Remove all unused networks", max_args=0)
def network_prune(
    env: Env,
    filter: Annotated[
        list[str],
        _parsers.filter_opt("until=<timestamp>"),
    ] = [],  # noqa: B006
    force: Annotated[bool, Opt("-f", "--force", help="Do not prompt for confirmation")] = False,
) -> int:
    from cli.actions import network as act

    return act.prune(env, force, filter)


@command(
    "network connect",
    "Connect a container to a network",
    usage="[OPTIONS] NETWORK CONTAINER",
    min_args=2,
    max_args=2,
)
def network_connect(
    env: Env,
    network: Annotated[str, Arg("NETWORK")],
    container: Annotated[str, Arg("CONTAINER")],
    alias: Annotated[
        list[str],
        Opt("--alias", metavar="strings", help="Add network-scoped alias for the container"),
    ] = [],  # noqa: B006
    driver_opt: Annotated[
        list[str],
        Opt("--driver-opt", metavar="strings", help="driver options for the network"),
    ] = [],  # noqa: B006
    gw_priority: Annotated[
        int,
        Opt(
            "--gw-priority",
            help="Highest gw-priority provides the default gateway. Accepts positive and "
            "negative values.",
        ),
    ] = 0,
    ip: Annotated[str, Opt("--ip", help='IPv4 address (e.g., "172.30.100.104")')] = "",
    ip6: Annotated[str, Opt("--ip6", help='IPv6 address (e.g., "2001:db8::33")')] = "",
    link: Annotated[
        list[str], Opt("--link", metavar="list", help="Add link to another container")
    ] = [],  # noqa: B006
    link_local_ip: Annotated[
        list[str],
        Opt(
            "--link-local-ip", metavar="strings", help="Add a link-local address for the container"
        ),
    ] = [],  # noqa: B006
) -> int:
    from cli.actions import network as act

    return act.connect(
        env, network, container, alias, ip, ip6, link, link_local_ip, driver_opt, gw_priority
    )


@command(
    "network disconnect",
    "Disconnect a container from a network",
    usage="[OPTIONS] NETWORK CONTAINER",
    min_args=2,
    max_args=2,
)
def network_disconnect(
    env: Env,
    network: Annotated[str, Arg("NETWORK")],
    container: Annotated[str, Arg("CONTAINER")],
    force: Annotated[
        bool, Opt("-f", "--force", help="Force the container to disconnect from a network")
    ] = False,
) -> int:
    from cli.actions import network as act

    return act.disconnect(env, network, container, force)
