"""The help pages that list commands rather than flags, laid out as docker 28's cobra
templates do: `docker --help` (common, management and other commands, global options) and a
management command's own (`docker volume`), both built from the registered commands.
"""

from __future__ import annotations

import os

from cli import _command

__all__ = ["GROUPS", "global_help", "group_help", "group_usage_error"]

# The management commands: their one-line descriptions
GROUPS = {
    "builder": "Manage builds",
    "container": "Manage containers",
    "image": "Manage images",
    "network": "Manage networks",
    "system": "Manage Docker",
    "volume": "Manage volumes",
}
# docker's "Common Commands", in its order (those it has and we do)
_COMMON = ("run", "exec", "ps", "build", "pull", "push", "images", "login", "logout")
_COMMON_TAIL = ("version", "info")
_MIN_PADDING = 11  # cobra's minNamePadding


def _listing(entries: list[tuple[str, str]]) -> str:
    width = max([_MIN_PADDING, *(len(name) for name, _ in entries)])
    return "".join(f"  {name.ljust(width)} {short}\n" for name, short in entries)


def _commands_of(group: str) -> list[tuple[str, str]]:
    """A group's subcommands (each once, by its own name or the alias in that group)."""
    seen: dict[str, str] = {}
    for cmd in _command.registry():
        for path in (cmd.path, *cmd.aliases):
            if len(path) == 2 and path[0] == group:
                seen.setdefault(path[1], cmd.short)
                break
    return sorted(seen.items())


def group_help(group: str) -> str:
    return (
        f"Usage:  docker {group} COMMAND\n\n{GROUPS[group]}\n\nCommands:\n"
        + _listing(_commands_of(group))
        + f"\nRun 'docker {group} COMMAND --help' for more information on a command.\n"
    )


def group_usage_error(group: str, words: list[str]) -> str:
    """An unknown subcommand of a management command."""
    return (
        f"docker: unknown command: docker {' '.join([group, *words])}\n\n"
        f"Usage:  docker {group}\n\nRun 'docker {group} --help' for more information\n"
    )


def global_help(config_dir: str) -> str:
    """`docker --help`; the defaults shown are this user's config and certificate paths."""
    top = {
        cmd_path[0]: cmd.short
        for cmd in _command.registry()
        for cmd_path in (cmd.path, *cmd.aliases)
        if len(cmd_path) == 1
    }
    common = [(n, top[n]) for n in (*_COMMON, *_COMMON_TAIL) if n in top]
    others = sorted((n, s) for n, s in top.items() if n not in dict(common))
    certs = os.environ.get("DOCKER_CERT_PATH") or config_dir
    options = [
        ("config", "", "string", "Location of client config files", f'"{config_dir}"'),
        (
            "context",
            "c",
            "string",
            "Name of the context to use to connect to the daemon (overrides DOCKER_HOST env "
            'var and default context set with "docker context use")',
            None,
        ),
        ("debug", "D", "", "Enable debug mode", None),
        ("host", "H", "list", "Daemon socket to connect to", None),
        (
            "log-level",
            "l",
            "string",
            'Set the logging level ("debug", "info", "warn", "error", "fatal")',
            '"info"',
        ),
        ("tls", "", "", "Use TLS; implied by --tlsverify", None),
        ("tlscacert", "", "string", "Trust certs signed only by this CA", f'"{certs}/ca.pem"'),
        ("tlscert", "", "string", "Path to TLS certificate file", f'"{certs}/cert.pem"'),
        ("tlskey", "", "string", "Path to TLS key file", f'"{certs}/key.pem"'),
        ("tlsverify", "", "", "Use TLS and verify the remote", None),
        ("version", "v", "", "Print version information and quit", None),
    ]
    params = [
        _command._Param(
            long.replace("-", "_"),
            "bool" if not metavar else "str",
            None,
            _command.Opt(
                *([f"-{short}"] if short else []),
                f"--{long}",
                help=help,
                metavar=metavar,
                show_default=default,
            ),
            None,
        )
        for long, short, metavar, help, default in options
    ]
    return (
        "Usage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\n"
        "Common Commands:\n"
        + _listing(common)
        + "\nManagement Commands:\n"
        + _listing(sorted(GROUPS.items()))
        + "\nCommands:\n"
        + _listing(others)
        + "\nGlobal Options:\n"
        + _command.flag_usages(params, _command.terminal_columns() - 1)
        + "\nRun 'docker COMMAND --help' for more information on a command.\n\n"
        "For more help on how to use Docker, head to https://docs.docker.com/go/guides/\n"
    )
