"""login, logout and search: flags only."""

from cli._command import Annotated, Arg, Opt, command
from cli.commands import _parsers
from cli.env import Env


@command(
    "login",
    "Authenticate to a registry",
    long="Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
    usage="[OPTIONS] [SERVER]",
    max_args=1,
)
def login(
    env: Env,
    server: Annotated[str, Arg("[SERVER]")] = "",
    password: Annotated[
        str | None,
        Opt("-p", "--password", metavar="string", help="Password or Personal Access Token (PAT)"),
    ] = None,
    password_stdin: Annotated[
        bool,
        Opt("--password-stdin", help="Take the Password or Personal Access Token (PAT) from stdin"),
    ] = False,
    username: Annotated[str, Opt("-u", "--username", help="Username")] = "",
) -> int:
    from cli.actions import registry

    return registry.login(env, server, username, password, password_stdin)


@command(
    "logout",
    "Log out from a registry",
    long="Log out from a registry.\n"
    "If no server is specified, the default is defined by the daemon.",
    usage="[SERVER]",
    max_args=1,
)
def logout(env: Env, server: Annotated[str, Arg("[SERVER]")] = "") -> int:
    from cli.actions import registry

    return registry.logout(env, server)


@command("search", "Search Docker Hub for images", usage="[OPTIONS] TERM", min_args=1, max_args=1)
def search(
    env: Env,
    term: Annotated[str, Arg("TERM")],
    filter: Annotated[
        list[str],
        _parsers.filter_flag(),
    ] = [],  # noqa: B006 - the parser builds new lists
    format: Annotated[str, Opt("--format", help="Pretty-print search using a Go template")] = "",
    limit: Annotated[int, Opt("--limit", help="Max number of search results")] = 0,
    no_trunc: Annotated[bool, Opt("--no-trunc", help="Don't truncate output")] = False,
) -> int:
    from cli.actions import registry

    return registry.search(env, term, filter, format, limit, no_trunc)
