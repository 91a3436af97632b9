"""version, info (system info), events (system events): flags only."""

from cli._command import Annotated, Opt, command
from cli.commands import _parsers
from cli.env import Env


@command("version", "Show the Docker version information", max_args=0)
def version(
    env: Env,
    format: Annotated[str, Opt("-f", "--format", help=_parsers.FORMAT_HELP)] = "",
) -> int:
    from cli.actions import system

    return system.version(env, system.VersionOptions(format=format))


@command("system info", "Display system-wide information", aliases=("info",), max_args=0)
def info(
    env: Env,
    format: Annotated[str, Opt("-f", "--format", help=_parsers.FORMAT_HELP)] = "",
) -> int:
    from cli.actions import system

    return system.info(env, system.InfoOptions(format=format))


@command("system events", "Get real time events from the server", aliases=("events",), max_args=0)
def events(
    env: Env,
    filter: Annotated[
        list[str],
        _parsers.filter_flag(),
    ] = [],  # noqa: B006 - never mutated; the parser builds a new list
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_HELP)] = "",
    since: Annotated[str, Opt("--since", help="Show all events created since timestamp")] = "",
    until: Annotated[str, Opt("--until", help="Stream events until this timestamp")] = "",
) -> int:
    from cli.actions import system

    return system.events(
        env, system.EventsOptions(since=since, until=until, filters=filter, format=format)
    )


@command("system df", "Show docker disk usage", max_args=0)
def df(
    env: Env,
    format: Annotated[str, Opt("--format", help=_parsers.FORMAT_TABLE_HELP)] = "",
    verbose: Annotated[
        bool, Opt("-v", "--verbose", help="Show detailed information on space usage")
    ] = False,
) -> int:
    from cli.actions import disk

    return disk.df(env, format, verbose)


@command("system prune", "Remove unused data", max_args=0)
def system_prune(
    env: Env,
    all: Annotated[
        bool, Opt("-a", "--all", help="Remove all unused images not just dangling ones")
    ] = False,
    filter: Annotated[
        list[str],
        _parsers.filter_opt("label=<key>=<value>"),
    ] = [],  # noqa: B006
    force: Annotated[bool, Opt("-f", "--force", help="Do not prompt for confirmation")] = False,
    volumes: Annotated[bool, Opt("--volumes", help="Prune anonymous volumes")] = False,
) -> int:
    from cli.actions import disk

    return disk.system_prune(env, all, volumes, force, filter)
