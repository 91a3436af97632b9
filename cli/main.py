"""`dockerpy`: the entry point. Parses docker's global options, finds the command (management
form `container ls`, shortcut `ps`, or alias), parses its flags with docker's grammar and runs
it; prints errors the way the docker CLI does and exits with its statuses.

Start-up matters (`dockerpy ps` should cost about what `docker ps` does), so only the command's
own modules are imported: no Typer, rich, asyncio or daemon code on the path. `typer_app()`
builds the same commands as a Typer app for shell completion (`_DOCKERPY_COMPLETE`).
"""

from __future__ import annotations

import os
import sys

from cli import _command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["app", "main", "typer_app"]

# In registration order, the most used first.
_COMMAND_MODULES = ("container", "system", "image", "registry", "build", "volume", "network")
# The module declaring the commands a first word starts (container's when not listed), so
# that `version` or `images` imports one module of declarations rather than two or seven;
# tests/cli/test_command.py checks it against what the modules register.
_FIRST_WORDS = {
    "version": "system",
    "info": "system",
    "events": "system",
    "system": "system",
    "image": "image",
    "images": "image",
    "history": "image",
    "import": "image",
    "load": "image",
    "pull": "image",
    "push": "image",
    "rmi": "image",
    "save": "image",
    "tag": "image",
    "login": "registry",
    "logout": "registry",
    "search": "registry",
    "build": "build",
    "builder": "build",
    "volume": "volume",
    "network": "network",
}


def _global_help(g: _Globals, out: Any) -> int:
    from cli import _help
    from cli.env import config_dir

    _load_commands()
    out.write(_help.global_help(config_dir(g.config)))
    return 0


def _group(group: str, rest: list[str], out: Any, err: Any) -> int:
    """A management command without a known subcommand: its help (on stderr when nothing
    followed it, as docker does), or docker's errors."""
    from cli import _help

    _load_commands()
    if group == "builder":
        from cli.commands.build import LEGACY_NOTICE

        err.write(LEGACY_NOTICE)
    if not rest:
        err.write(_help.group_help(group))
        return 0
    if rest[0] in ("-h", "--help"):
        if rest[0] == "-h":
            out.write(_command.HELP_SHORTHAND_NOTICE)
        out.write(_help.group_help(group))
        return 0
    if rest[0].startswith("-"):
        flag = rest[0].partition("=")[0]
        what = (
            f"unknown flag: {flag}"
            if flag.startswith("--")
            else (f"unknown shorthand flag: '{flag[1:2]}' in {flag}")
        )
        err.write(
            f"{what}\n\nUsage:  docker {group} COMMAND\n\n"
            f"Run 'docker {group} --help' for more information\n"
        )
        return 125
    err.write(_help.group_usage_error(group, rest))
    return 1


def _load_commands(words: list[str] | None = None) -> None:
    """Import the command modules; given argv's words, the one its first word names first,
    and stop as soon as they name a command (no module's one-word command is another's group
    name, so the first match is the one; `image build` lives in the build module)."""
    order = _COMMAND_MODULES
    if words:
        first = _FIRST_WORDS.get(words[0], "container")
        order = (first, *(m for m in _COMMAND_MODULES if m != first))
    for name in order:
        __import__(f"cli.commands.{name}")
        if words is not None and _command.find(words)[0] is not None:
            return


class _Globals:
    __slots__ = (
        "config",
        "debug",
        "hosts",
        "log_level",
        "tls",
        "tlscacert",
        "tlscert",
        "tlskey",
        "tlsverify",
        "version",
    )

    def __init__(self) -> None:
        self.config: str | None = None
        self.debug = False
        self.hosts: list[str] = []
        self.log_level = "info"
        self.tls = False
        self.tlsverify = False
        self.tlscacert = ""
        self.tlscert = ""
        self.tlskey = ""
        self.version = False


_GLOBAL_VALUED = {
    "--config": "config",
    "-c": "context",
    "--context": "context",
    "-H": "hosts",
    "--host": "hosts",
    "-l": "log_level",
    "--log-level": "log_level",
    "--tlscacert": "tlscacert",
    "--tlscert": "tlscert",
    "--tlskey": "tlskey",
}
_GLOBAL_BOOL = {
    "-D": "debug",
    "--debug": "debug",
    "--tls": "tls",
    "--tlsverify": "tlsverify",
    "-v": "version",
    "--version": "version",
}


def _parse_globals(argv: list[str]) -> tuple[_Globals, list[str], bool]:
    """docker's persistent flags before the command word; returns (globals, rest, help)."""
    g = _Globals()
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or a == "-":
            break
        if a == "--":
            i += 1
            break
        name, eq, val = a.partition("=")
        if name in ("-h", "--help"):
            if name == "-h":  # docker 28 says so on stderr here, on stdout after a command
                sys.stderr.write(_command.HELP_SHORTHAND_NOTICE)
            return g, argv[i + 1 :], True
        if name in _GLOBAL_BOOL:
            setattr(g, _GLOBAL_BOOL[name], val.lower() not in ("false", "0") if eq else True)
            i += 1
            continue
        if name in _GLOBAL_VALUED:
            if not eq:
                if i + 1 >= len(argv):
                    raise _command.UsageError(f"flag needs an argument: {_flag_desc(name)}")
                val = argv[i + 1]
                i += 1
            attr = _GLOBAL_VALUED[name]
            if attr == "hosts":
                g.hosts.append(val)
            elif attr != "context":
                setattr(g, attr, val)
            i += 1
            continue
        if len(name) > 2 and name[1] != "-":  # -DH x style bundles: rare, handle -D
            raise _command.UsageError(f"unknown shorthand flag: '{name[1]}' in {name}")
        raise _command.UsageError(
            f"unknown flag: {name}"
            if name.startswith("--")
            else f"unknown shorthand flag: '{name[1:2]}' in {name}"
        )
    return g, argv[i:], False


def _flag_desc(name: str) -> str:
    return f"'{name[1]}' in {name}" if not name.startswith("--") else name


def _host(g: _Globals) -> str:
    from cli.api import DEFAULT_HOST, CLIError

    if len(g.hosts) > 1:
        raise CLIError("Specify only one -H")
    host = g.hosts[0] if g.hosts else os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    if host.startswith("/"):
        host = "unix://" + host
    return host


def _client_factory(g: _Globals) -> Any:
    def make() -> Any:
        from cli.api import Client, TLSOptions

        tls = None
        verify = g.tlsverify or os.environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
        if g.tls or verify:
            certs = os.environ.get("DOCKER_CERT_PATH") or os.path.join(
                os.path.expanduser("~"), ".docker"
            )

            def pick(flag: str, name: str) -> str:
                if flag:
                    return flag
                path = os.path.join(certs, name)
                return path if os.path.exists(path) else ""

            tls = TLSOptions(
                verify,
                pick(g.tlscacert, "ca.pem"),
                pick(g.tlscert, "cert.pem"),
                pick(g.tlskey, "key.pem"),
            )
        return Client(_host(g), tls=tls)

    return make


def _server(g: _Globals) -> Any:
    """The daemon's ping headers (OSType, Docker-Experimental...), {} when it does not answer."""

    def ask() -> dict[str, str]:
        from cli.api import CLIError

        client = _client_factory(g)()
        try:
            client.negotiate()
        except CLIError:
            return {}
        return client.server_headers

    return ask


def main(argv: list[str] | None = None) -> int:
    """Run one CLI invocation; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    out, err = sys.stdout, sys.stderr
    if os.environ.get("_DOCKERPY_COMPLETE"):
        return typer_app()()  # type: ignore[no-any-return]
    try:
        g, rest, want_help = _parse_globals(argv)
    except _command.UsageError as e:
        err.write(f"{e}\nSee 'docker --help'.\n")
        return 125
    if g.version:
        from cli.actions.system import client_version_line

        out.write(client_version_line() + "\n")
        return 0
    if want_help or not rest:
        return _global_help(g, out)
    _load_commands(rest)
    cmd, invoked, args = _command.find(rest)
    if cmd is None:
        from cli import _help

        word = rest[0]
        if word == "help":
            if len(rest) > 1:
                cmd, invoked, _ = _command.find(rest[1:])
                if cmd is not None:
                    out.write(_command.help_text(cmd, invoked, _server(g)))
                    return 0
                if rest[1] in _help.GROUPS:
                    out.write(_help.group_help(rest[1]))
                    return 0
            return _global_help(g, out)
        if word in _help.GROUPS:
            return _group(word, rest[1:], out, err)
        err.write(
            f"docker: unknown command: docker {word}\n\nRun 'docker --help' for more information\n"
        )
        return 1
    if cmd.notice:
        err.write(cmd.notice)
    try:
        values, positionals, help_req = _command.parse_args(cmd, args)
        if help_req:
            if help_req == "-h":
                out.write(_command.HELP_SHORTHAND_NOTICE)
            out.write(_command.help_text(cmd, invoked, _server(g)))
            return 0
        _command.check_args(cmd, invoked, positionals)
    except _command.UsageError as e:
        err.write(_command.usage_error_text(e, cmd, invoked))
        return e.status
    from cli.env import Env, config_dir

    env = Env(_client_factory(g), out=out, err=err, config_path=config_dir(g.config))
    kwargs = _command.bind(cmd, values, positionals)
    from cli.api import CLIError

    try:
        status = cmd.fn(env, **kwargs)
    except CLIError as e:
        msg = str(e)
        if msg:
            err.write(msg + ("" if msg.endswith("\n") else "\n"))
        return e.status
    except _command.UsageError as e:
        err.write(_command.usage_error_text(e, cmd, invoked))
        return e.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    finally:
        try:  # noqa: SIM105 - not contextlib: its import is a start-up cost
            out.flush()
        except BrokenPipeError:
            pass
    return int(status or 0)


def app() -> None:
    """Console-script entry point (`dockerpy = "cli.main:app"`)."""
    try:
        code = main()
    except BrokenPipeError:
        code = 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # stdout went away (`dockerpy ps | head -1`); don't let the interpreter complain
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)


def typer_app() -> Any:
    """The same commands as a Typer app (slow to import; used for shell completion only).
    Flags become typer.Option with the same spellings and help; actions are unchanged."""
    import inspect

    import typer

    _load_commands()
    root = typer.Typer(name="dockerpy", add_completion=True, no_args_is_help=True)
    groups: dict[str, typer.Typer] = {}
    for cmd in _command.registry():
        params = []
        for p in cmd.params():
            default = p.default if p.default is not _command._EMPTY else None
            if p.opt is not None:
                info = typer.Option(default, *p.opt.decls, help=p.opt.help, hidden=p.opt.hidden)
                ann: Any = {"bool": bool, "int": int, "float": float, "list": list[str]}.get(
                    p.kind, str
                )
                if default is None:
                    ann = ann | None
            else:
                info = typer.Argument(default, metavar=p.arg.metavar if p.arg else None)
                ann = list[str] if p.kind == "list" else str
            params.append(
                inspect.Parameter(
                    p.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=ann
                )
            )

        def make(c: _command.Command, params: list[Any]) -> Any:
            def run(**kwargs: Any) -> None:
                from cli.env import Env

                g = _Globals()
                raise typer.Exit(int(c.fn(Env(_client_factory(g)), **kwargs) or 0))

            run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
            # Typer reads the hints too: the real ones (this module's are strings naming
            # typing's names, which it does not import at run time)
            run.__annotations__ = {p.name: p.annotation for p in params}
            run.__name__ = c.fn.__name__
            return run

        fn = make(cmd, params)
        for path in (cmd.path, *cmd.aliases):
            if len(path) == 1:
                root.command(path[0], help=cmd.short)(fn)
            else:
                grp = groups.get(path[0])
                if grp is None:
                    grp = groups[path[0]] = typer.Typer(name=path[0])
                    root.add_typer(grp, name=path[0])
                grp.command(path[1], help=cmd.short)(fn)
    return root


if __name__ == "__main__":
    app()
