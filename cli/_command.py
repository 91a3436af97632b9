"""Command declarations and docker's (cobra/pflag) command-line grammar.

A command is a plain function in `cli/commands/<resource>.py` whose parameters carry
`Annotated[type, Opt(...)]` or `Annotated[type, Arg(...)]`: the flags live in the signature
and nowhere else. From it this module derives

- the parser, with pflag's rules (`-aq` bundles, `-n5`/`-n=5`/`--last=5`, `--all=false`,
  `--` ends flags, flags after positionals unless the command stops at its first positional
  like `run`/`exec`), a value only for flags the user set when the default is None;
- docker's usage errors, word for word (`unknown flag: --foo`, `flag needs an argument`,
  `invalid argument "x" for "-n, --last" flag: ...`, `"docker rm" requires at least 1
  argument`), with their exit statuses (125 for flag errors, 1 for argument counts);
- docker's help page (`Usage:`, `Aliases:`, `Options:` wrapped as pflag wraps them);
- a Typer app built from the same declarations (`cli.main.typer_app()`), used for shell
  completion; the hot path never imports Typer, which alone costs more than a `docker ps`.

Neither third-party code nor `typing` is imported here: `typing` (and the `re` and
`collections` it pulls in) would cost about as much as a whole `docker ps`. Declarations use
this module's `Annotated`, which is `typing.Annotated` to a type checker.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Annotated as Annotated
    from typing import Any

__all__ = ["Annotated", "Arg", "Command", "Opt", "UsageError", "command", "find", "registry"]


if not TYPE_CHECKING:

    class Annotated:
        """`Annotated[T, Opt(...)]` at run time: the same `__origin__`/`__metadata__` shape as
        typing's, built without importing typing."""

        __slots__ = ("__metadata__", "__origin__")

        def __init__(self, origin: Any, metadata: tuple[Any, ...]) -> None:
            self.__origin__ = origin
            self.__metadata__ = metadata

        def __class_getitem__(cls, params: tuple[Any, ...]) -> Annotated:
            return cls(params[0], tuple(params[1:]))


class Opt:
    """A flag: its spellings (`-a`, `--all`), help text, and pflag's type name for the help
    column (`string`, `int`, `list`, `filter`, `bytes`...). `parse` validates a value and may
    raise ValueError(message) for `invalid argument "v" for "-x, --xx" flag: message`."""

    __slots__ = (
        "decls",
        "experimental",
        "help",
        "hidden",
        "long",
        "metavar",
        "os_type",
        "parse",
        "short",
        "show_default",
    )

    def __init__(
        self,
        *decls: str,
        help: str = "",
        metavar: str | None = None,
        hidden: bool = False,
        parse: Callable[[str], Any] | None = None,
        show_default: str | None = None,
        os_type: str = "",
        experimental: bool = False,
    ) -> None:
        self.decls = decls
        self.short = next((d[1:] for d in decls if len(d) == 2 and d[0] == "-"), "")
        self.long = next((d[2:] for d in decls if d.startswith("--")), "")
        self.help = help
        self.metavar = metavar
        self.hidden = hidden
        self.parse = parse
        self.show_default = show_default
        # docker's "ostype" annotation: help leaves the flag out when the daemon runs another OS
        self.os_type = os_type
        self.experimental = experimental  # shown only by a daemon with experimental features


class Arg:
    """A positional argument, shown in the usage line as `metavar`."""

    __slots__ = ("metavar",)

    def __init__(self, metavar: str) -> None:
        self.metavar = metavar


class UsageError(Exception):
    """A command-line error, printed as docker prints it; `status` is the exit code."""

    def __init__(self, message: str, status: int = 125, hint: str = "See") -> None:
        super().__init__(message)
        self.status = status
        self.hint = hint  # argument-count errors close with `<hint> 'docker x --help'...`


class _Param:
    """One parameter of a command function: its flag or argument and its default."""

    __slots__ = ("arg", "default", "kind", "name", "opt")

    def __init__(self, name: str, kind: str, default: Any, opt: Opt | None, arg: Arg | None):
        self.name = name
        self.kind = kind  # bool, int, float, str, list
        self.default = default
        self.opt = opt
        self.arg = arg


class Command:
    """A registered command: its canonical path, function, help and argument rules."""

    __slots__ = (
        "_params",
        "aliases",
        "fn",
        "interspersed",
        "long",
        "max_args",
        "min_args",
        "notice",
        "path",
        "shared",
        "short",
        "usage",
    )

    def __init__(
        self,
        path: tuple[str, ...],  # canonical, e.g. ("container", "ls")
        fn: Callable[..., Any],
        short: str,
        usage: str,  # after the command path: "[OPTIONS] CONTAINER [CONTAINER...]"
        aliases: tuple[tuple[str, ...], ...] = (),  # other paths: ("ps",), ("container", "list")
        min_args: int = 0,
        max_args: int | None = None,  # None: unlimited
        interspersed: bool = True,  # False: flags end at the first positional (run, exec)
        long: str = "",
        notice: str = "",
        shared: str = "",
    ) -> None:
        self.path = path
        self.fn = fn
        self.short = short
        self.usage = usage
        self.aliases = aliases
        self.min_args = min_args
        self.max_args = max_args
        self.interspersed = interspersed
        self.long = long
        self.notice = notice  # printed on stderr before anything else (deprecations)
        # "module:function" whose keyword parameters are more flags of this command (a group
        # several commands share, like create's and run's); fn takes them as **kwargs. Named,
        # not imported, so that only a command that is run imports its group.
        self.shared = shared
        self._params: list[_Param] | None = None

    def params(self) -> list[_Param]:
        if self._params is None:
            params = _params_of(self.fn)
            if self.shared:
                module, _, name = self.shared.partition(":")
                __import__(module)
                params += _params_of(getattr(sys.modules[module], name))
            self._params = params
        return self._params

    def display(self, invoked: tuple[str, ...]) -> str:
        """The path shown in Usage: top-level shortcuts keep their own name, and so does the
        same command in another group (`builder build` is docker's own command)."""
        if invoked in self.aliases and (len(invoked) == 1 or invoked[0] != self.path[0]):
            return " ".join(invoked)
        return " ".join(self.path)


_REGISTRY: dict[tuple[str, ...], Command] = {}
_ORDER: list[Command] = []


def command(
    path: str,
    short: str,
    usage: str = "[OPTIONS]",
    aliases: tuple[str, ...] = (),
    min_args: int = 0,
    max_args: int | None = None,
    interspersed: bool = True,
    notice: str = "",
    long: str = "",
    shared: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register fn under `path` ("container ls") and its aliases ("container list", "ps");
    `shared` names a function declaring more of its flags (see Command.shared)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        canon = tuple(path.split())
        alias_paths = tuple(tuple(a.split()) for a in aliases)
        cmd = Command(
            canon,
            fn,
            short,
            usage,
            alias_paths,
            min_args,
            max_args,
            interspersed,
            long=long,
            notice=notice,
            shared=shared,
        )
        for p in (canon, *alias_paths):
            _REGISTRY[p] = cmd
        _ORDER.append(cmd)
        return fn

    return register


def registry() -> list[Command]:
    return list(_ORDER)


def find(words: list[str]) -> tuple[Command | None, tuple[str, ...], list[str]]:
    """The command named by the leading words of argv (longest match), the words it used,
    and the rest."""
    for n in (2, 1):
        key = tuple(words[:n])
        if len(key) == n and key in _REGISTRY:
            return _REGISTRY[key], key, words[n:]
    return None, (), words


_EMPTY = object()


def _params_of(fn: Callable[..., Any]) -> list[_Param]:
    """The Opt/Arg parameters of fn, read from its code object and annotations (the inspect
    module costs more to import than the whole parse)."""
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    defaults = fn.__defaults__ or ()
    first_default = code.co_argcount - len(defaults)
    kwdefaults = fn.__kwdefaults__ or {}
    hints = fn.__annotations__
    out = []
    for idx, name in enumerate(names):
        hint = hints.get(name)
        if isinstance(hint, str):
            raise TypeError(
                f"{fn.__qualname__}: command modules must not use `from __future__ import "
                "annotations` (the flags are read from evaluated annotations)"
            )
        meta = getattr(hint, "__metadata__", ())
        opt = next((m for m in meta if isinstance(m, Opt)), None)
        arg = next((m for m in meta if isinstance(m, Arg)), None)
        if opt is None and arg is None:
            continue
        if idx < code.co_argcount:
            default = defaults[idx - first_default] if idx >= first_default else _EMPTY
        else:
            default = kwdefaults.get(name, _EMPTY)
        out.append(_Param(name, _kind(hint.__origin__), default, opt, arg))
    return out


def _kind(tp: Any) -> str:
    """The parser's kind for a parameter's type: `list[str]`, `int | None`, `bool`..."""
    if getattr(tp, "__origin__", None) in (list, tuple):
        return "list"
    args = [a for a in getattr(tp, "__args__", ()) if a is not type(None)]
    if args:  # X | None
        return _kind(args[0])
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    return "str"


# ---------------------------------------------------------------------------------------------
# Parsing


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _flag_name(opt: Opt) -> str:
    return (
        f"-{opt.short}, --{opt.long}"
        if opt.short and opt.long
        else (f"--{opt.long}" if opt.long else f"-{opt.short}")
    )


def _convert(p: _Param, raw: str) -> Any:
    opt = p.opt
    assert opt is not None
    if opt.parse is not None:
        try:
            return opt.parse(raw)
        except ValueError as e:
            raise UsageError(
                f'invalid argument "{raw}" for "{_flag_name(opt)}" flag: {e}'
            ) from None
    if p.kind == "bool":
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise UsageError(
            f'invalid argument "{raw}" for "{_flag_name(opt)}" flag: '
            f'strconv.ParseBool: parsing "{raw}": invalid syntax'
        )
    if p.kind == "int":
        try:
            return int(raw, 10)
        except ValueError:
            raise UsageError(
                f'invalid argument "{raw}" for "{_flag_name(opt)}" flag: '
                f'strconv.ParseInt: parsing "{raw}": invalid syntax'
            ) from None
    if p.kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise UsageError(
                f'invalid argument "{raw}" for "{_flag_name(opt)}" flag: '
                f'strconv.ParseFloat: parsing "{raw}": invalid syntax'
            ) from None
    return raw


HELP_SHORTHAND_NOTICE = "Flag shorthand -h has been deprecated, use --help\n"


def parse_args(cmd: Command, argv: list[str]) -> tuple[dict[str, Any], list[str], str]:
    """pflag over argv: (keyword values for the flags, positionals, the help flag given:
    "--help", "-h" (which docker 28 answers with HELP_SHORTHAND_NOTICE first) or "")."""
    params = cmd.params()
    # every long spelling: `--net` is a hidden second name of `--network`
    by_long = {d[2:]: p for p in params if p.opt for d in p.opt.decls if d.startswith("--")}
    by_short = {p.opt.short: p for p in params if p.opt and p.opt.short}
    values: dict[str, Any] = {}
    positionals: list[str] = []
    help_req = ""

    def assign(p: _Param, raw: str) -> None:
        v = _convert(p, raw)
        if p.kind == "list":
            values.setdefault(p.name, []).append(v)
        else:
            values[p.name] = v

    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            positionals.extend(argv[i:])
            break
        if a.startswith("--") and len(a) > 2:
            name, eq, val = a[2:].partition("=")
            if name == "help":  # even where `--help` is declared (run's, as -h is --hostname)
                help_req = help_req or "--help"
                continue
            p = by_long.get(name)
            if p is None:
                raise UsageError(f"unknown flag: --{name}")
            if p.kind == "bool":
                assign(p, val if eq else "true")
            elif eq:
                assign(p, val)
            elif i < len(argv):
                assign(p, argv[i])
                i += 1
            else:
                raise UsageError(f"flag needs an argument: --{name}")
            continue
        if a.startswith("-") and len(a) > 1:
            shorts = a[1:]
            j = 0
            while j < len(shorts):
                c = shorts[j]
                p = by_short.get(c)
                if p is None:
                    if c == "h" and "h" not in by_short:
                        help_req = help_req or "-h"
                        j += 1
                        continue
                    raise UsageError(f"unknown shorthand flag: '{c}' in -{shorts}")
                rest = shorts[j + 1 :]
                if p.kind == "bool":
                    if rest.startswith("="):
                        assign(p, rest[1:])
                        break
                    assign(p, "true")
                    j += 1
                    continue
                if rest.startswith("="):
                    assign(p, rest[1:])
                elif rest:
                    assign(p, rest)
                elif i < len(argv):
                    assign(p, argv[i])
                    i += 1
                else:
                    raise UsageError(f"flag needs an argument: '{c}' in -{shorts}")
                break
            continue
        positionals.append(a)
        if not cmd.interspersed:
            positionals.extend(argv[i:])
            break
    return values, positionals, help_req


def check_args(cmd: Command, invoked: tuple[str, ...], positionals: list[str]) -> None:
    """cobra's argument-count rules in docker's words (exit status 1), each with the closing
    hint docker 28 gives it: `See` for at-least, `Run` for exact, range and none, and, as
    docker prints it, `SRun` for at-most."""
    n = len(positionals)
    name = f"docker {cmd.display(invoked)}"

    def plural(k: int) -> str:
        return "argument" if k == 1 else "arguments"

    lo, hi = cmd.min_args, cmd.max_args
    if hi == 0 and n > 0:
        raise UsageError(f"'{name}' accepts no arguments", 1, "Run")
    if hi is not None and hi == lo and n != lo:
        raise UsageError(f"'{name}' requires {lo} {plural(lo)}", 1, "Run")
    if hi is not None and lo and not lo <= n <= hi:
        raise UsageError(f"'{name}' requires at least {lo} and at most {hi} {plural(hi)}", 1, "Run")
    if n < lo:
        raise UsageError(f"'{name}' requires at least {lo} {plural(lo)}", 1)
    if hi is not None and n > hi:
        raise UsageError(f"'{name}' requires at most {hi} {plural(hi)}", 1, "SRun")


def bind(cmd: Command, values: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Keyword arguments for cmd.fn: flags as parsed (defaults for unset ones), positionals
    to the Arg parameters in order, the last list-typed one taking the rest."""
    kwargs: dict[str, Any] = {}
    args = [p for p in cmd.params() if p.arg is not None]
    rest = list(positionals)
    for idx, p in enumerate(args):
        if p.kind == "list":
            tail = len(args) - idx - 1
            take = rest[: len(rest) - tail] if tail else rest
            kwargs[p.name] = list(take)
            rest = rest[len(take) :]
        elif rest:
            kwargs[p.name] = rest.pop(0)
    for p in cmd.params():
        if p.opt is not None:
            if p.name in values:
                kwargs[p.name] = values[p.name]
            elif p.kind == "list":
                kwargs[p.name] = list(p.default) if p.default not in (None, _EMPTY) else []
    return kwargs


# ---------------------------------------------------------------------------------------------
# Help, as docker's cobra templates print it


def _wrap_n(i: int, slop: int, s: str) -> tuple[str, str]:
    if i + slop > len(s):
        return s, ""
    w = max(s.rfind(" ", 0, i), s.rfind("\t", 0, i), s.rfind("\n", 0, i))
    if w <= 0:
        return s, ""
    nl = s.rfind("\n", 0, i)
    if 0 < nl < w:
        return s[:nl], s[nl + 1 :]
    return s[:w], s[w + 1 :]


def _wrap(i: int, w: int, s: str) -> str:
    """pflag's wrap(): usage text from column i, lines of at most w."""
    if w == 0:
        return s.replace("\n", "\n" + " " * i)
    width = w - i
    r = ""
    if width < 24:
        i = 16
        width = w - i
        r += "\n" + " " * i
    if width < 24:
        return s.replace("\n", r)
    slop = 5
    width -= slop
    line, s = _wrap_n(width, slop, s)
    r += line.replace("\n", "\n" + " " * i)
    while s:
        t, s = _wrap_n(width, slop, s)
        r += "\n" + " " * i + t.replace("\n", "\n" + " " * i)
    return r


def flag_usages(params: list[_Param], cols: int) -> str:
    """pflag's FlagUsagesWrapped(cols): sorted by long name, aligned, wrapped."""
    lines = []
    maxlen = 0
    opts = [p for p in params if p.opt is not None and not p.opt.hidden]
    opts.sort(key=lambda p: p.opt.long or p.opt.short)  # type: ignore[union-attr]
    for p in opts:
        opt = p.opt
        assert opt is not None
        line = f"  -{opt.short}, --{opt.long}" if opt.short else f"      --{opt.long}"
        varname = (
            opt.metavar
            if opt.metavar is not None
            else {
                "bool": "",
                "int": "int",
                "float": "float",
                "str": "string",
                "list": "list",
            }[p.kind]
        )
        if varname:
            line += " " + varname
        line += "\0"
        maxlen = max(maxlen, len(line))
        line += opt.help
        if opt.show_default is not None:
            line += f" (default {opt.show_default})"
        elif p.kind == "int" and p.default not in (None, 0):
            line += f" (default {p.default})"
        elif p.kind == "str" and p.default not in (None, ""):
            line += f' (default "{p.default}")'
        lines.append(line)
    out = []
    for line in lines:
        sidx = line.index("\0")
        spacing = " " * (maxlen - sidx)
        out.append(f"{line[:sidx]} {spacing} {_wrap(maxlen + 2, cols, line[sidx + 1 :])}\n")
    return "".join(out)


def terminal_columns() -> int:
    """The width help is wrapped to: the terminal's when stdin is one, else 80 (cobra's)."""
    if sys.stdin.isatty():
        import shutil

        return shutil.get_terminal_size((80, 24)).columns
    return 80


def help_text(
    cmd: Command,
    invoked: tuple[str, ...],
    server: Callable[[], dict[str, str]] | None = None,
) -> str:
    """The help page; `server` (asked only when a flag depends on the daemon) gives the
    daemon's ping headers, {} when it does not answer. As docker's, the page leaves out the
    flags for another OS than the daemon's (when known) and the experimental ones unless
    the daemon has experimental features."""
    cols = terminal_columns()
    usage = f"Usage:  docker {cmd.display(invoked)} {cmd.usage}".rstrip()
    out = [f"{usage}\n\n{cmd.long or cmd.short}\n"]
    if cmd.aliases:
        names = [cmd.path, *cmd.aliases]
        out.append("\nAliases:\n  " + ", ".join("docker " + " ".join(n) for n in names) + "\n")
    params = cmd.params()
    if server is not None and any(p.opt and (p.opt.os_type or p.opt.experimental) for p in params):
        headers = server()
        os_name = headers.get("ostype", "")
        experimental = headers.get("docker-experimental") == "true"
        params = [
            p
            for p in params
            if not p.opt
            or not (
                (os_name and p.opt.os_type not in ("", os_name))
                or (p.opt.experimental and not experimental)
            )
        ]
    usages = flag_usages(params, cols - 1)
    if usages:
        out.append("\nOptions:\n" + usages)
    return "".join(out)


def usage_error_text(err: UsageError, cmd: Command, invoked: tuple[str, ...]) -> str:
    """docker 28's layout: flag errors say `Run '...' for more information`, argument-count
    errors are prefixed `docker:` and say `See '...'`."""
    name = f"docker {cmd.display(invoked)}"
    usage = f"Usage:  {name} {cmd.usage}".rstrip()
    if err.status == 1:
        return f"docker: {err}\n\n{usage}\n\n{err.hint} '{name} --help' for more information\n"
    return f"{err}\n\n{usage}\n\nRun '{name} --help' for more information\n"
