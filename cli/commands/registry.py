"""login and logout: flags only."""

from cli._command import Annotated, Arg, Opt, command
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
