"""Log option values, parsed as dockerd parses them (go-units sizes, strconv booleans and
integers, the `labels`/`env` extra attributes and the `tag` template), with Go's error wording."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ._base import LogInfo
from ._template import TemplateError, render

DEFAULT_TAG = "{{.ID}}"

# Options every driver takes (dockerd's builtInLogOpts): filtered out before a driver's own checks.
MODE_KEYS = ("mode", "max-buffer-size")
# The dual-logging cache's options (the local driver's, prefixed): accepted with every driver.
CACHE_PREFIX = "cache-"
CACHE_KEYS = ("cache-disabled", "cache-max-file", "cache-max-size", "cache-compress")
# The keys ExtraAttributes and ParseLogTag read (AttrLabels… in dockerd's logger package).
ATTRIBUTE_KEYS = ("labels", "labels-regex", "env", "env-regex", "tag")

_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
_BINARY = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


class OptionError(ValueError):
    """A log option's value is invalid; str() is dockerd's message."""


def parse_bool(value: str) -> bool:
    """Go's strconv.ParseBool."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise OptionError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def parse_int(value: str) -> int:
    """Go's strconv.Atoi."""
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    raise OptionError(f'strconv.Atoi: parsing "{value}": invalid syntax')


def _parse_size(text: str, units: Mapping[str, int]) -> int:
    """go-units parseSize: a number, an optional space, an optional k/m/g/t/p[i][b] suffix."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise OptionError(f"invalid size: '{text}'")
    if text[sep] == " ":
        number, suffix = text[:sep], text[sep + 1 :]
    else:
        number, suffix = text[: sep + 1], text[sep + 1 :]
    try:
        size = float(number)
    except ValueError:
        raise OptionError(f'strconv.ParseFloat: parsing "{number}": invalid syntax') from None
    if size < 0:
        raise OptionError(f"invalid size: '{text}'")
    if not suffix:
        return int(size)
    lowered = suffix.lower()
    if len(lowered) > 3:
        raise OptionError(f"invalid suffix: '{lowered}'")
    if lowered[0] == "b":
        if len(lowered) > 1:
            raise OptionError(f"invalid suffix: '{lowered}'")
        return int(size)
    if lowered[0] not in units:
        raise OptionError(f"invalid suffix: '{lowered}'")
    if (len(lowered) == 2 and lowered[1] != "b") or (len(lowered) == 3 and lowered[1:] != "ib"):
        raise OptionError(f"invalid suffix: '{lowered}'")
    return int(size * units[lowered[0]])


def from_human_size(text: str) -> int:
    """go-units FromHumanSize: decimal units (10m = 10,000,000 bytes), as json-file and local."""
    return _parse_size(text, _DECIMAL)


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: binary units (1m = 1 MiB), as max-buffer-size and fluentd."""
    return _parse_size(text, _BINARY)


def extra_attributes(
    config: Mapping[str, str], info: LogInfo, key_mod: Callable[[str], str] | None = None
) -> dict[str, str]:
    """dockerd's Info.ExtraAttributes: the labels and env variables the options name."""
    extra: dict[str, str] = {}
    mod = key_mod or (lambda key: key)
    for name in filter(None, config.get("labels", "").split(",")):
        if name in info.labels:
            extra[mod(name)] = info.labels[name]
    if pattern := config.get("labels-regex", ""):
        regex = _compile(pattern)
        for key, value in info.labels.items():
            if regex.search(key):
                extra[mod(key)] = value
    env: dict[str, str] = {}
    for item in info.env:
        key, sep, value = item.partition("=")
        if sep:
            env[key] = value
    for name in filter(None, config.get("env", "").split(",")):
        if name in env:
            extra[mod(name)] = env[name]
    if pattern := config.get("env-regex", ""):
        regex = _compile(pattern)
        for key, value in env.items():
            if regex.search(key):
                extra[mod(key)] = value
    return extra


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise OptionError(f"error parsing regexp: {exc}: `{pattern}`") from None


def parse_tag(config: Mapping[str, str], info: LogInfo, default: str = DEFAULT_TAG) -> str:
    """dockerd's loggerutils.ParseLogTag: the `tag` option (or `default`) rendered."""
    template = config.get("tag") or default
    if not template:
        return ""
    try:
        return render(template, info.template_fields() | {"Config": dict(config)} | _lists(info))
    except TemplateError as exc:
        raise OptionError(str(exc)) from None


def _lists(info: LogInfo) -> dict[str, object]:
    return {
        "ContainerArgs": list(info.args),
        "ContainerEnv": list(info.env),
        "ContainerLabels": dict(info.labels),
    }


def unknown_key(keys: object, allowed: tuple[str, ...]) -> str | None:
    """The first option key (in sorted order, so errors are stable) not in `allowed`."""
    for key in sorted(keys):  # type: ignore[call-overload]
        if key not in allowed:
            return key
    return None
