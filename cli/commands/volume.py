"""Volume commands and their docker flags (`volume X`)."""

from cli._command import Annotated, Arg, Opt, command
from cli.commands import _parsers
from cli.env import Env

_MAP = {"metavar": "map", "show_default": "map[]"}


@command("volume create", "Create a volume", usage="[OPTIONS] [VOLUME]", max_args=1)
def volume_create(
    env: Env,
    name: Annotated[str, Arg("[VOLUME]")] = "",
    availability: Annotated[
        str,
        Opt("--availability", help='Cluster Volume availability ("active", "pause", "drain")'),
    ] = "active",
    driver: Annotated[str, Opt("-d", "--driver", help="Specify volume driver name")] = "local",
    group: Annotated[str, Opt("--group", help="Cluster Volume group (cluster volumes)")] = "",
    label: Annotated[
        list[str], Opt("--label", metavar="list", help="Set metadata for a volume")
    ] = [],  # noqa: B006
    limit_bytes: Annotated[
        int,
        Opt(
            "--limit-bytes",
            metavar="bytes",
            parse=_parsers.ram_bytes,
            help="Minimum size of the Cluster Volume in bytes",
        ),
    ] = 0,
    opt: Annotated[list[str], Opt("-o", "--opt", help="Set driver specific options", **_MAP)] = [],  # noqa: B006
    required_bytes: Annotated[
        int,
        Opt(
            "--required-bytes",
            metavar="bytes",
            parse=_parsers.ram_bytes,
            help="Maximum size of the Cluster Volume in bytes",
        ),
    ] = 0,
    scope: Annotated[
        str, Opt("--scope", help='Cluster Volume access scope ("single", "multi")')
    ] = "single",
    secret: Annotated[list[str], Opt("--secret", help="Cluster Volume secrets", **_MAP)] = [],  # noqa: B006
    sharing: Annotated[
        str,
        Opt(
            "--sharing",
            help='Cluster Volume access sharing ("none", "readonly", "onewriter", "all")',
        ),
    ] = "none",
    topology_preferred: Annotated[
        list[str],
        Opt(
            "--topology-preferred",
            metavar="list",
            help="A topology that the Cluster Volume would be preferred in",
        ),
    ] = [],  # noqa: B006
    topology_required: Annotated[
        list[str],
        Opt(
            "--topology-required",
            metavar="list",
            help="A topology that the Cluster Volume must be accessible from",
        ),
    ] = [],  # noqa: B006
    type: Annotated[
        str, Opt("--type", help='Cluster Volume access type ("mount", "block")')
    ] = "block",
) -> int:
    from cli.actions import volume as act

    return act.create(env, name, driver, opt, label)


@command(
    "volume ls",
    "List volumes",
    aliases=("volume list",),
    max_args=0,
)
def volume_ls(
    env: Env,
    cluster: Annotated[
        bool,
        Opt(
            "--cluster",
            help="Display only cluster volumes, and use cluster volume list formatting",
        ),
    ] = False,
    filter: Annotated[
        list[str],
        _parsers.filter_flag('Provide filter values (e.g. "dangling=true")'),
    ] = [],  # noqa: B006
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_TABLE_HELP)] = "",
    quiet: Annotated[bool, Opt("-q", "--quiet", help="Only display volume names")] = False,
) -> int:
    from cli.actions import volume as act

    return act.ls(env, quiet, filter, format)


@command(
    "volume inspect",
    "Display detailed information on one or more volumes",
    usage="[OPTIONS] VOLUME [VOLUME...]",
    min_args=1,
)
def volume_inspect(
    env: Env,
    volumes: Annotated[list[str], Arg("VOLUME")],
    format: Annotated[str, Opt("-f", "--format", help=_parsers.FORMAT_HELP)] = "",
) -> int:
    from cli.actions import inspect as act

    return act.inspect(env, act.InspectOptions(volumes, format, False, "volume"))


@command(
    "volume update",
    "Update a volume (cluster volumes only)",
    usage="[OPTIONS] [VOLUME]",
    min_args=1,
    max_args=1,
)
def volume_update(
    env: Env,
    volume: Annotated[str, Arg("[VOLUME]")],
    availability: Annotated[
        str,
        Opt(
            "--availability",
            help='Cluster Volume availability ("active", "pause", "drain")',
        ),
    ] = "active",
) -> int:
    from cli.actions import volume as act

    return act.update(env, volume, availability)


@command(
    "volume rm",
    "Remove one or more volumes",
    long="Remove one or more volumes. You cannot remove a volume that is in use by a container.",
    usage="[OPTIONS] VOLUME [VOLUME...]",
    aliases=("volume remove",),
    min_args=1,
)
def volume_rm(
    env: Env,
    volumes: Annotated[list[str], Arg("VOLUME")],
    force: Annotated[
        bool, Opt("-f", "--force", help="Force the removal of one or more volumes")
    ] = False,
) -> int:
    from cli.actions import volume as act

    return act.rm(env, volumes, force)


@command("volume prune", "Remove unused local volumes", max_args=0)
def volume_prune(
    env: Env,
    all: Annotated[
        bool, Opt("-a", "--all", help="Remove all unused volumes, not just anonymous ones")
    ] = False,
    filter: Annotated[
        list[str],
        _parsers.filter_opt("label=<label>"),
    ] = [],  # noqa: B006
    force: Annotated[bool, Opt("-f", "--force", help="Do not prompt for confirmation")] = False,
) -> int:
    from cli.actions import volume as act

    return act.prune(env, all, force, filter)
