"""The instructions that only change an image's runtime config, as dockerd dispatches them.

CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME, ONBUILD, STOPSIGNAL, HEALTHCHECK,
SHELL and MAINTAINER, shared by the builder and by `docker commit/import --change`.

Each instruction is handled in two steps, because dockerd does too: `validate_instruction`
makes the checks buildkit's `instructions.Parse` makes for the whole Dockerfile before the
first step runs (argument counts, flags, JSON form, ONBUILD triggers), and
`apply_instruction` then expands variables and changes the config. Variables expand only where
dockerd expands them: ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME and STOPSIGNAL; CMD,
ENTRYPOINT, HEALTHCHECK, ONBUILD and SHELL are stored as written.

The config is the Docker runtime config dict (`Cmd`, `Env`, `ExposedPorts`...). Errors carry
dockerd's bare messages; the builder adds `dockerfile parse error on line N: ` to those of
`validate_instruction`, as dockerd does.
"""

from __future__ import annotations

import posixpath
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from ..gofmt import go_quote
from .dockerfile import (
    DockerfileError,
    Instruction,
    json_array,
    split_command,
    split_first_word,
    whitespace_fields,
)
from .shell_lex import SPACES, ShellLex, name_values

DEFAULT_SHELL = ["/bin/sh", "-c"]
_MIN_INTERVAL = 1_000_000  # container.MinimumDuration, 1ms in nanoseconds
_HEALTH_DURATIONS = {
    "interval": "Interval",
    "timeout": "Timeout",
    "start-period": "StartPeriod",
    "start-interval": "StartInterval",
}
_ONBUILD_PREFIX = re.compile(r"^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*", re.IGNORECASE | re.ASCII)


@dataclass(slots=True)
class ConfigState:
    """The runtime config being changed, and what dockerd tracks beside it."""

    config: dict[str, Any]
    cmd_set: bool = False  # ENTRYPOINT after a CMD of the same build/change set keeps that CMD
    maintainer: str = ""  # MAINTAINER: the builder writes it as the image's author


def validate_instruction(instr: Instruction, lex: ShellLex) -> None:
    """The checks dockerd makes on the instruction before running any step."""
    _HANDLERS[instr.keyword].check(instr, lex.escape)


def apply_instruction(
    state: ConfigState, instr: Instruction, lex: ShellLex, env: Mapping[str, str]
) -> None:
    """Validate the instruction, then apply it to `state`, expanding from `env` where dockerd does.

    `env` is the expansion environment: the config's Env, plus build args in scope in a build.
    """
    handler = _HANDLERS[instr.keyword]
    handler.apply(state, handler.check(instr, lex.escape), lex, env)


def command_line(state: ConfigState, instr: Instruction) -> list[str]:
    """The argv of CMD, ENTRYPOINT or RUN: the exec form as is, else the SHELL and the text."""
    words, shell_form = _words(instr.args)
    return [*(state.config.get("Shell") or DEFAULT_SHELL), *words] if shell_form else words


def config_env(config: Mapping[str, Any]) -> dict[str, str]:
    """The config's Env as a mapping (a later duplicate wins), to expand variables from."""
    return dict(item.partition("=")[::2] for item in config.get("Env") or [])


def _words(text: str) -> tuple[list[str], bool]:
    """buildkit's handleJSONArgs: the exec-form words, or the text as one shell-form word."""
    words = json_array(text)
    if words is not None:
        return words, False
    return ([text] if text else []), True


def _no_flags(instr: Instruction) -> None:
    instr.flag_values({})


def _one_argument(instr: Instruction, *, flags: bool = True) -> str:
    """USER, WORKDIR, STOPSIGNAL, MAINTAINER: the whole text is the one argument."""
    if not instr.args:
        raise DockerfileError(f"{instr.keyword} requires exactly one argument")
    if flags:
        _no_flags(instr)
    return instr.args


# -- CMD, ENTRYPOINT, SHELL ---------------------------------------------------------------


def _check_command(instr: Instruction, escape: str) -> Instruction:
    _no_flags(instr)
    return instr


def _apply_cmd(
    state: ConfigState, instr: Instruction, lex: ShellLex, env: Mapping[str, str]
) -> None:
    state.config["Cmd"] = command_line(state, instr)
    if _words(instr.args)[0]:
        state.cmd_set = True


def _apply_entrypoint(
    state: ConfigState, instr: Instruction, lex: ShellLex, env: Mapping[str, str]
) -> None:
    state.config["Entrypoint"] = command_line(state, instr) if _words(instr.args)[0] else None
    if not state.cmd_set:
        state.config["Cmd"] = None  # a new ENTRYPOINT drops the inherited CMD


def _check_shell(instr: Instruction, escape: str) -> list[str]:
    _no_flags(instr)
    words, shell_form = _words(instr.args)
    if not words:
        raise DockerfileError("SHELL requires at least one argument")
    if shell_form:
        raise DockerfileError("SHELL requires the arguments to be in JSON form")
    return words


def _apply_shell(
    state: ConfigState, words: list[str], lex: ShellLex, env: Mapping[str, str]
) -> None:
    state.config["Shell"] = words


# -- ENV, LABEL ---------------------------------------------------------------------------


def _check_pairs(instr: Instruction, escape: str) -> list[tuple[str, str]]:
    _no_flags(instr)
    return name_values(instr.args, instr.keyword, escape)


def _apply_env(
    state: ConfigState, pairs: list[tuple[str, str]], lex: ShellLex, env: Mapping[str, str]
) -> None:
    entries = state.config.get("Env") or []
    for name, value in _expand_pairs(pairs, lex, env):
        entry = f"{name}={value}"
        index = next((i for i, e in enumerate(entries) if e.partition("=")[0] == name), None)
        if index is None:
            entries.append(entry)
        else:
            entries[index] = entry
    state.config["Env"] = entries


def _apply_label(
    state: ConfigState, pairs: list[tuple[str, str]], lex: ShellLex, env: Mapping[str, str]
) -> None:
    labels = state.config.get("Labels") or {}
    labels.update(_expand_pairs(pairs, lex, env))
    state.config["Labels"] = labels


def _expand_pairs(
    pairs: list[tuple[str, str]], lex: ShellLex, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Every name and value expanded against the environment from before the instruction."""
    return [(lex.process_word(k, env), lex.process_word(v, env)) for k, v in pairs]


# -- EXPOSE, VOLUME -----------------------------------------------------------------------


def _check_expose(instr: Instruction, escape: str) -> list[str]:
    words = whitespace_fields(instr.args)
    if not words:
        raise DockerfileError("EXPOSE requires at least one argument")
    _no_flags(instr)
    return words


def _apply_expose(
    state: ConfigState, words: list[str], lex: ShellLex, env: Mapping[str, str]
) -> None:
    # EXPOSE alone splits expanded values into words: FOO="80 443" exposes both ports.
    specs = [spec for word in words for spec in lex.process_words(word, env)]
    ports = [port for spec in specs for port in parse_port_spec(spec)]
    exposed = state.config.get("ExposedPorts") or {}
    exposed.update((port, {}) for port in ports)
    state.config["ExposedPorts"] = exposed


def parse_port_spec(spec: str) -> list[str]:
    """`80`, `80/udp`, `8000-8002/tcp` -> ["80/tcp"...] (nat.ParsePortSpecs' wording)."""
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise DockerfileError(f"invalid proto: {proto}")
    start_text, _, end_text = port.partition("-")
    if ":" in port or not all(_is_uint(t) for t in (start_text, end_text or start_text)):
        raise DockerfileError(f"invalid containerPort: {port}")
    start = int(start_text)
    end = int(end_text) if end_text else start
    if end > 65535 or end < start:
        raise DockerfileError(f"invalid containerPort: {port}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def _is_uint(text: str) -> bool:
    """strconv.ParseUint's digits (int() would also take `+`, `_` and non-ASCII digits)."""
    return text.isascii() and text.isdigit()


def _check_volume(instr: Instruction, escape: str) -> list[str]:
    words = instr.json_args()
    words = whitespace_fields(instr.args) if words is None else words
    if not words:
        raise DockerfileError("VOLUME requires at least one argument")
    _no_flags(instr)
    return [_volume(word.strip(SPACES)) for word in words]


def _volume(path: str) -> str:
    if not path:
        raise DockerfileError("VOLUME specified can not be an empty string")
    return path


def _apply_volume(
    state: ConfigState, paths: list[str], lex: ShellLex, env: Mapping[str, str]
) -> None:
    volumes = state.config.get("Volumes") or {}
    volumes.update((_volume(lex.process_word(path, env)), {}) for path in paths)
    state.config["Volumes"] = volumes


# -- USER, WORKDIR, STOPSIGNAL, MAINTAINER ------------------------------------------------


def _check_one(instr: Instruction, escape: str) -> str:
    return _one_argument(instr)


def _check_stopsignal(instr: Instruction, escape: str) -> str:
    return _one_argument(instr, flags=False)  # buildkit never parses STOPSIGNAL's flags


def _apply_user(state: ConfigState, text: str, lex: ShellLex, env: Mapping[str, str]) -> None:
    state.config["User"] = lex.process_word(text, env)


def _apply_workdir(state: ConfigState, text: str, lex: ShellLex, env: Mapping[str, str]) -> None:
    requested = lex.process_word(text, env)
    if not requested:
        raise DockerfileError("cannot normalize nothing")
    if not requested.startswith("/"):
        requested = f"/{state.config.get('WorkingDir') or ''}/{requested}"
    cleaned = posixpath.normpath(requested)
    state.config["WorkingDir"] = "/" + cleaned.lstrip("/")  # Go's Clean keeps no leading //


def _apply_stopsignal(state: ConfigState, text: str, lex: ShellLex, env: Mapping[str, str]) -> None:
    value = lex.process_word(text, env)
    parse_signal(value)
    state.config["StopSignal"] = value


def _apply_maintainer(state: ConfigState, text: str, lex: ShellLex, env: Mapping[str, str]) -> None:
    state.maintainer = text


def parse_signal(text: str) -> int:
    """moby's signal.ParseSignal: a non-zero number, or a name with or without `SIG`."""
    if re.fullmatch(r"[+-]?[0-9]+", text) and -(2**63) <= int(text) < 2**63:
        if int(text) != 0:
            return int(text)
    elif (number := _signal_numbers().get(text.upper().removeprefix("SIG"))) is not None:
        return number
    raise DockerfileError(f"Invalid signal: {text}")


@cache
def _signal_numbers() -> dict[str, int]:
    """Go's Linux SignalMap: the named signals plus RTMIN+1..+15 and RTMAX-14..-1."""
    names = {name.removeprefix("SIG"): int(sig) for name, sig in signal.Signals.__members__.items()}
    names.update({f"RTMIN+{n}": signal.SIGRTMIN + n for n in range(1, 16)})
    names.update({f"RTMAX-{n}": signal.SIGRTMAX - n for n in range(1, 15)})
    return names


# -- ONBUILD ------------------------------------------------------------------------------


def _check_onbuild(instr: Instruction, escape: str) -> str:
    if not instr.args:
        raise DockerfileError("ONBUILD requires at least one argument")
    _no_flags(instr)
    trigger = split_command(instr.args)[0].upper()
    if trigger == "ONBUILD":
        raise DockerfileError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise DockerfileError(f"{trigger} isn't allowed as an ONBUILD trigger")
    # The trigger is kept as written (not re-cased), its heredoc bodies after it.
    expression = _ONBUILD_PREFIX.sub("", instr.original)
    return expression + "".join(f"\n{doc.content}{doc.name}" for doc in instr.heredocs)


def _apply_onbuild(
    state: ConfigState, expression: str, lex: ShellLex, env: Mapping[str, str]
) -> None:
    state.config["OnBuild"] = [*(state.config.get("OnBuild") or []), expression]


# -- HEALTHCHECK --------------------------------------------------------------------------


def _check_healthcheck(instr: Instruction, escape: str) -> dict[str, Any]:
    if not instr.args:
        raise DockerfileError("HEALTHCHECK requires at least one argument")
    kind_word, command = split_first_word(instr.args)
    kind = kind_word.upper()
    words, shell_form = _words(command)
    if kind == "NONE":
        if words:
            raise DockerfileError("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}  # buildkit does not even look at the flags here
    flags = instr.flag_values({name: "" for name in (*_HEALTH_DURATIONS, "retries")})
    if kind != "CMD":
        raise DockerfileError(f"Unknown type {go_quote(kind)} in HEALTHCHECK (try CMD)")
    if not words:
        raise DockerfileError("Missing command after HEALTHCHECK CMD")
    health: dict[str, Any] = {"Test": ["CMD-SHELL" if shell_form else "CMD", *words]}
    for flag, field in _HEALTH_DURATIONS.items():
        if duration := _interval(flag, flags[flag]):
            health[field] = duration
    if retries := _retries(flags["retries"]):
        health["Retries"] = retries
    return health


def _interval(flag: str, text: str) -> int:
    """A HEALTHCHECK duration in nanoseconds; 0 (unset) is fine, below 1ms is not."""
    duration = parse_duration(text) if text else 0
    if duration != 0 and duration < _MIN_INTERVAL:
        raise DockerfileError(f'Interval "{flag}" cannot be less than 1ms')
    return duration


def _retries(text: str) -> int:
    """strconv.ParseInt(text, 10, 32) with its messages, then the sign check."""
    if not text:
        return 0
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise DockerfileError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")
    retries = int(text)
    if not -(2**31) <= retries < 2**31:
        raise DockerfileError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    if retries < 0:
        raise DockerfileError(f"--retries cannot be negative ({retries})")
    return retries


def _apply_healthcheck(
    state: ConfigState, health: dict[str, Any], lex: ShellLex, env: Mapping[str, str]
) -> None:
    state.config["Healthcheck"] = health


_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9}
_UNIT_NS |= {"m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds (the unit HEALTHCHECK options are kept in)."""
    negative = text.startswith("-")
    rest = text[1:] if text[:1] in ("+", "-") else text
    if rest == "0":
        return 0
    invalid = DockerfileError(f"time: invalid duration {_time_quote(text)}")
    if not rest:
        raise invalid
    total = 0
    for part in _DURATION_PART.finditer(rest):
        if not part[0]:
            continue  # the empty match at the end
        whole, fraction, unit = part[1], part[2] or "", part[3]
        if not whole and not fraction:
            raise invalid
        if not unit:
            raise DockerfileError(f"time: missing unit in duration {_time_quote(text)}")
        if unit not in _UNIT_NS:
            raise DockerfileError(
                f"time: unknown unit {_time_quote(unit)} in duration {_time_quote(text)}"
            )
        scale = _UNIT_NS[unit]
        total += int(whole or 0) * scale
        if fraction := fraction[:18]:  # Go stops reading digits before its integer overflows
            total += int(int(fraction) * (scale / 10 ** len(fraction)))
    if total > 2**63 - (not negative):
        raise invalid
    return -total if negative else total


def _time_quote(text: str) -> str:
    """Go's time.quote: non-ASCII and control bytes as \\x escapes."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch < "\x80":
            out.append(ch)
        else:
            out.extend(f"\\x{byte:02x}" for byte in ch.encode())
    return '"' + "".join(out) + '"'


# -- dispatch -----------------------------------------------------------------------------


class _Handler(NamedTuple):
    check: Callable[[Instruction, str], Any]  # the static checks; returns what `apply` needs
    apply: Callable[[ConfigState, Any, ShellLex, Mapping[str, str]], None]


_HANDLERS: dict[str, _Handler] = {
    "CMD": _Handler(_check_command, _apply_cmd),
    "ENTRYPOINT": _Handler(_check_command, _apply_entrypoint),
    "ENV": _Handler(_check_pairs, _apply_env),
    "EXPOSE": _Handler(_check_expose, _apply_expose),
    "HEALTHCHECK": _Handler(_check_healthcheck, _apply_healthcheck),
    "LABEL": _Handler(_check_pairs, _apply_label),
    "MAINTAINER": _Handler(_check_one, _apply_maintainer),
    "ONBUILD": _Handler(_check_onbuild, _apply_onbuild),
    "SHELL": _Handler(_check_shell, _apply_shell),
    "STOPSIGNAL": _Handler(_check_stopsignal, _apply_stopsignal),
    "USER": _Handler(_check_one, _apply_user),
    "VOLUME": _Handler(_check_volume, _apply_volume),
    "WORKDIR": _Handler(_check_one, _apply_workdir),
}
CONFIG_INSTRUCTIONS = frozenset(_HANDLERS)
