"""`--change` instructions of `docker import` and `docker commit`, applied to an image config.

dockerd runs these through its Dockerfile dispatcher (BuildFromConfig) with a whitelist of
instructions; anything else is refused with `<instr> is not a valid change command` (the
instruction lower-cased, as the Dockerfile parser stores it). Values go through the
Dockerfile word processing: quotes are removed and `$VAR`/`${VAR:-x}` expand from the
config's own Env, so `ENV PATH=$PATH:/opt/bin` works as in a Dockerfile.

The config is the Docker runtime config dict (`Cmd`, `Env`, `ExposedPorts`...), the
`config` member of an image config document.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
import signal
from collections.abc import Callable, Iterable
from typing import Any

from ..errdefs import InvalidParameter

VALID_CHANGE_COMMANDS = frozenset(
    {
        "cmd",
        "entrypoint",
        "healthcheck",
        "env",
        "expose",
        "label",
        "onbuild",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    }
)
DEFAULT_SHELL = ["/bin/sh", "-c"]
_WS = re.compile(r"[ \t\r\n\v\f]+")


class ChangeError(InvalidParameter):
    """A `--change` line dockerd would refuse (400)."""


def apply_changes(config: dict[str, Any] | None, changes: Iterable[str]) -> dict[str, Any]:
    """Return a copy of the runtime `config` with each Dockerfile-style change applied.

    Every line is parsed and checked first (like dockerd, which parses the whole text
    before dispatching), so a bad line changes nothing.
    """
    parsed = [_split(line) for line in _lines(changes)]
    for instruction, _ in parsed:
        if instruction not in VALID_CHANGE_COMMANDS:
            raise ChangeError(f"{instruction} is not a valid change command")
    state = _State(copy.deepcopy(config or {}))
    for instruction, rest in parsed:
        _DISPATCH[instruction](state, rest)
    return state.config


def _lines(changes: Iterable[str]) -> list[str]:
    """The changes joined as one Dockerfile, split back into logical lines."""
    lines: list[str] = []
    for raw in "\n".join(changes).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lines.append(line)
    return lines


def _split(line: str) -> tuple[str, str]:
    parts = _WS.split(line, maxsplit=1)
    return parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")


class _State:
    """The config being changed, and whether CMD was set (ENTRYPOINT resets CMD otherwise)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.cmd_set = False

    def env_map(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
        return env


# -- word processing (the Dockerfile shell lexer's subset that changes need) -----------


def _expand(text: str, env: dict[str, str], split: bool = False) -> list[str]:
    """Remove quotes and expand variables; with `split`, break on unquoted whitespace."""
    words: list[str] = []
    word: list[str] = []
    started = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if split and c in " \t\r\n":
            if started:
                words.append("".join(word))
                word, started = [], False
            i += 1
            continue
        started = True
        if c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ChangeError("unexpected end of statement while looking for matching '")
            word.append(text[i + 1 : end])
            i = end + 1
        elif c == '"':
            i = _double_quoted(text, i + 1, env, word)
        elif c == "\\":
            if i + 1 < n:
                word.append(text[i + 1])
            i += 2
        elif c == "$":
            value, i = _variable(text, i + 1, env)
            word.append(value)
        else:
            word.append(c)
            i += 1
    if started or not split:
        words.append("".join(word))
    return words


def _double_quoted(text: str, i: int, env: dict[str, str], word: list[str]) -> int:
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and text[i + 1] in '"\\$':
            word.append(text[i + 1])
            i += 2
        elif c == "$":
            value, i = _variable(text, i + 1, env)
            word.append(value)
        else:
            word.append(c)
            i += 1
    raise ChangeError("unexpected end of statement while looking for matching double-quote")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]")


def _variable(text: str, i: int, env: dict[str, str]) -> tuple[str, int]:
    """`$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`."""
    if i < len(text) and text[i] == "{":
        end = text.find("}", i)
        if end < 0:
            raise ChangeError("missing '}'")
        inner = text[i + 1 : end]
        match = _NAME.match(inner)
        if match is None:
            raise ChangeError(f"bad substitution: ${{{inner}}}")
        name, modifier = match.group(0), inner[match.end() :]
        value = env.get(name)
        if not modifier:
            return value or "", end + 1
        colon = modifier.startswith(":")
        op, word = (modifier[1:2], modifier[2:]) if colon else (modifier[:1], modifier[1:])
        unset = value is None or (colon and value == "")
        if op == "-":
            return (word if unset else value or ""), end + 1
        if op == "+":
            return ("" if unset else word), end + 1
        if op == "?":
            if unset:
                raise ChangeError(f"{name}: {word or 'is not allowed to be unset'}")
            return value or "", end + 1
        raise ChangeError(f"unsupported modifier ({op}) in substitution")
    match = _NAME.match(text, i)
    if match is None:
        return "$", i
    return env.get(match.group(0), ""), match.end()


def _maybe_json(rest: str) -> list[str] | None:
    """The exec form: a JSON array of strings; anything else is the shell form."""
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _command(state: _State, rest: str) -> list[str]:
    exec_form = _maybe_json(rest)
    if exec_form is not None:
        return exec_form
    shell = state.config.get("Shell") or DEFAULT_SHELL
    return [*shell, rest]


def _name_values(rest: str, key: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """`KEY a=b c="d e"` (new form) or `KEY a b c` (old form: value is the rest)."""
    if not rest:
        raise ChangeError(f"{key} requires at least one argument")
    words = _raw_words(rest)
    if "=" not in words[0]:
        parts = _WS.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ChangeError(f"{key} must have two arguments")
        return [(parts[0], _expand(parts[1], env)[0])]
    pairs: list[tuple[str, str]] = []
    for word in words:
        if "=" not in word:
            raise ChangeError(
                f"Syntax error - can't find = in {json.dumps(word)}. "
                "Must be of the form: name=value"
            )
        name, value = word.split("=", 1)
        name = _expand(name, env)[0]
        if not name:
            raise ChangeError(f"{key} names can not be blank")
        pairs.append((name, _expand(value, env)[0]))
    return pairs


def _raw_words(rest: str) -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes for later expansion."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    i = 0
    while i < len(rest):
        c = rest[i]
        if not quote and c in " \t\r\n":
            if word:
                words.append("".join(word))
                word = []
        elif c == "\\" and quote != "'" and i + 1 < len(rest):
            word.append(rest[i : i + 2])
            i += 1
        else:
            if quote and c == quote:
                quote = ""
            elif not quote and c in "'\"":
                quote = c
            word.append(c)
        i += 1
    if word:
        words.append("".join(word))
    return words


# -- instructions ----------------------------------------------------------------------


def _cmd(state: _State, rest: str) -> None:
    state.config["Cmd"] = _command(state, rest)
    state.cmd_set = True


def _entrypoint(state: _State, rest: str) -> None:
    state.config["Entrypoint"] = _command(state, rest)
    if not state.cmd_set:
        state.config["Cmd"] = None  # a new ENTRYPOINT drops the old CMD, as in a Dockerfile


def _env(state: _State, rest: str) -> None:
    env = state.config.get("Env") or []
    for name, value in _name_values(rest, "ENV", state.env_map()):
        entry = f"{name}={value}"
        for index, item in enumerate(env):
            if item.partition("=")[0] == name:
                env[index] = entry
                break
        else:
            env.append(entry)
    state.config["Env"] = env


def _label(state: _State, rest: str) -> None:
    labels = state.config.get("Labels") or {}
    for name, value in _name_values(rest, "LABEL", state.env_map()):
        labels[name] = value
    state.config["Labels"] = labels


def _expose(state: _State, rest: str) -> None:
    words = _expand(rest, state.env_map(), split=True)
    if not words:
        raise ChangeError("EXPOSE requires at least one argument")
    ports = state.config.get("ExposedPorts") or {}
    for spec in words:
        for port in parse_port_spec(spec):
            ports[port] = {}
    state.config["ExposedPorts"] = ports


def parse_port_spec(spec: str) -> list[str]:
    """`80`, `80/udp`, `8000-8002/tcp` -> ["80/tcp"...] (nat.ParsePortSpecs' wording)."""
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise ChangeError(f"invalid proto: {proto}")
    if ":" in port:
        raise ChangeError(f"invalid containerPort: {port}")
    start_text, _, end_text = port.partition("-")
    try:
        start = int(start_text)
        end = int(end_text) if end_text else start
    except ValueError:
        raise ChangeError(f"invalid containerPort: {port}") from None
    if not (0 <= start <= 65535 and 0 <= end <= 65535) or end < start:
        raise ChangeError(f"invalid containerPort: {port}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def _user(state: _State, rest: str) -> None:
    if not rest:
        raise ChangeError("USER requires exactly one argument")
    state.config["User"] = _expand(rest, state.env_map())[0]


def _workdir(state: _State, rest: str) -> None:
    if not rest:
        raise ChangeError("WORKDIR requires exactly one argument")
    requested = _expand(rest, state.env_map())[0]
    current = state.config.get("WorkingDir") or "/"
    if not requested.startswith("/"):
        requested = posixpath.join(current, requested)
    state.config["WorkingDir"] = posixpath.normpath(requested).replace("//", "/")


def _volume(state: _State, rest: str) -> None:
    exec_form = _maybe_json(rest)
    env = state.env_map()
    paths = (
        [_expand(p, env)[0] for p in exec_form]
        if exec_form is not None
        else _expand(rest, env, split=True)
    )
    if not paths:
        raise ChangeError("VOLUME requires at least one argument")
    volumes = state.config.get("Volumes") or {}
    for path in paths:
        path = path.strip()
        if not path:
            raise ChangeError("VOLUME specified can not be an empty string")
        volumes[path] = {}
    state.config["Volumes"] = volumes


def _onbuild(state: _State, rest: str) -> None:
    if not rest:
        raise ChangeError("ONBUILD requires at least one argument")
    trigger = _WS.split(rest, maxsplit=1)[0].upper()
    if trigger == "ONBUILD":
        raise ChangeError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise ChangeError(f"{trigger} isn't allowed as an ONBUILD trigger")
    state.config["OnBuild"] = [*(state.config.get("OnBuild") or []), rest]


def _stopsignal(state: _State, rest: str) -> None:
    value = _expand(rest, state.env_map())[0]
    if not value:
        raise ChangeError("STOPSIGNAL requires exactly one argument")
    parse_signal(value)
    state.config["StopSignal"] = value


def parse_signal(text: str) -> int:
    """signal.ParseSignal: a number or a name with or without `SIG`."""
    if text.isdigit():
        number = int(text)
        if number == 0:
            raise ChangeError(f"Invalid signal: {text}")
        return number
    name = text.upper().removeprefix("SIG")
    try:
        return int(getattr(signal, f"SIG{name}"))
    except AttributeError:
        raise ChangeError(f"Invalid signal: {text}") from None


_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9}
_UNIT_NS["h"] = 3600 * 10**9


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds (the unit HEALTHCHECK options are kept in)."""
    body = text.lstrip("+-")
    negative = text.startswith("-")
    if body == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(body):
        match = _DURATION.match(body, pos)
        if match is None:
            raise ChangeError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNIT_NS[match.group(2)]
        pos = match.end()
    if not body:
        raise ChangeError(f'time: invalid duration "{text}"')
    return -int(total) if negative else int(total)


_HEALTH_FLAGS = {
    "interval": "Interval",
    "timeout": "Timeout",
    "start-period": "StartPeriod",
    "start-interval": "StartInterval",
}


def _healthcheck(state: _State, rest: str) -> None:
    words = _raw_words(rest)
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        if name not in (*_HEALTH_FLAGS, "retries"):
            raise ChangeError(f"Unknown flag: {name}")
        flags[name] = value
    if not words:
        raise ChangeError("HEALTHCHECK requires at least one argument")
    kind = words[0].upper()
    if kind == "NONE":
        if len(words) > 1 or flags:
            raise ChangeError("HEALTHCHECK NONE takes no arguments")
        state.config["Healthcheck"] = {"Test": ["NONE"]}
        return
    if kind != "CMD":
        raise ChangeError(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    after_flags = re.sub(r"^(?:--\S*\s+)*", "", rest)
    parts = _WS.split(after_flags, maxsplit=1)
    command = parts[1].strip() if len(parts) > 1 else ""
    if not command:
        raise ChangeError("Missing command after HEALTHCHECK CMD")
    exec_form = _maybe_json(command)
    test = ["CMD", *exec_form] if exec_form is not None else ["CMD-SHELL", command]
    health: dict[str, Any] = {"Test": test}
    for flag, field in _HEALTH_FLAGS.items():
        if flag in flags:
            duration = parse_duration(flags[flag])
            if duration < 0 or (0 < duration < 1_000_000):
                raise ChangeError(f'Interval "{flag}" cannot be less than 1ms')
            health[field] = duration
    if "retries" in flags:
        try:
            retries = int(flags["retries"])
        except ValueError:
            raise ChangeError(f'strconv.ParseInt: parsing "{flags["retries"]}"') from None
        if retries < 0:
            raise ChangeError("--retries cannot be negative")
        health["Retries"] = retries
    state.config["Healthcheck"] = health


_DISPATCH: dict[str, Callable[[_State, str], None]] = {
    "cmd": _cmd,
    "entrypoint": _entrypoint,
    "env": _env,
    "expose": _expose,
    "healthcheck": _healthcheck,
    "label": _label,
    "onbuild": _onbuild,
    "stopsignal": _stopsignal,
    "user": _user,
    "volume": _volume,
    "workdir": _workdir,
}
