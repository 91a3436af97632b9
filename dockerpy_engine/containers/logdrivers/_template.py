"""The `tag` log option: the subset of Go's text/template that dockerd's tag templates use.

Actions are `{{.Field}}`, `{{func arg…}}` and pipelines `{{.Field | func arg}}`, with `{{-`/`-}}`
trimming; the functions are those of dockerd's templates package (json, split, join, title, lower,
upper, pad, truncate) plus Go's `index`. Values print as Go prints them (`map[k:v]`, `[a b]`).
Errors read as Go's do, prefixed with the template name `log-tag`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from typing import Any

NAME = "log-tag"

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


class TemplateError(ValueError):
    """The template does not parse or does not execute; the message is Go's."""


def _go_str(value: Any) -> str:
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_str(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_go_str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _go_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _title(text: str) -> str:
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), text)


def _truncate(text: str, length: int) -> str:
    return text[:length] if len(text) > length else text


def _pad(text: str, prefix: int, suffix: int) -> str:
    return " " * prefix + text + " " * suffix


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return "" if isinstance(value, dict) else _fail(f"error calling index: {key!r}")
    return value


def _fail(message: str) -> Any:
    raise TemplateError(message)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": _go_json,
    "split": lambda text, sep: text.split(sep),
    "join": lambda items, sep: sep.join(_go_str(i) for i in items),
    "title": _title,
    "lower": str.lower,
    "upper": str.upper,
    "pad": _pad,
    "truncate": _truncate,
    "index": _index,
}


def render(template: str, fields: dict[str, Any]) -> str:
    """Execute `template` against `fields` (dockerd's logger.Info, as a name → value map)."""
    out: list[str] = []
    pos = 0
    line = 1
    for match in _ACTION.finditer(template):
        text = template[pos : match.start()]
        if match.group(1):
            text = text.rstrip()
        out.append(text)
        line += text.count("\n")
        pos = match.end()
        if match.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
        body = match.group(2).strip()
        if body.startswith("/*"):
            continue
        column = match.start() + 2 - (template.rfind("\n", 0, match.start()) + 1)
        out.append(_go_str(_pipeline(body, fields, line, column)))
    rest = template[pos:]
    if "{{" in rest:
        raise TemplateError(
            f"template: {NAME}:{line + rest[: rest.index('{{')].count(chr(10))}: unclosed action"
        )
    out.append(rest)
    return "".join(out)


def _pipeline(body: str, fields: dict[str, Any], line: int, column: int) -> Any:
    if not body:
        raise TemplateError(f"template: {NAME}:{line}: missing value for command")
    value: Any = None
    for index, command in enumerate(part.strip() for part in body.split("|")):
        try:
            words = shlex.split(command, posix=True)
        except ValueError as exc:
            raise TemplateError(f"template: {NAME}:{line}: {exc}") from None
        if not words:
            raise TemplateError(f"template: {NAME}:{line}: missing value for command")
        head, args = words[0], [_argument(w, fields, line, column) for w in words[1:]]
        if index:
            args.append(value)
        if head.startswith("."):
            if args:
                raise TemplateError(
                    f'template: {NAME}:{line}:{column}: executing "{NAME}" at <{head}>: '
                    f"{head[1:]} has arguments but cannot be invoked as function"
                )
            value = _field(head, fields, line, column)
            continue
        function = FUNCTIONS.get(head)
        if function is None:
            raise TemplateError(f'template: {NAME}:{line}: function "{head}" not defined')
        try:
            value = function(*args)
        except TemplateError:
            raise
        except (TypeError, ValueError, AttributeError) as exc:
            raise TemplateError(
                f'template: {NAME}:{line}:{column}: executing "{NAME}" at <{head}>: '
                f"error calling {head}: {exc}"
            ) from None
    return value


def _argument(word: str, fields: dict[str, Any], line: int, column: int) -> Any:
    if word.startswith("."):
        return _field(word, fields, line, column)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    return word


def _field(path: str, fields: dict[str, Any], line: int, column: int) -> Any:
    value: Any = fields
    for name in path[1:].split("."):
        if not name:
            continue
        if isinstance(value, dict) and value is not fields:
            value = value.get(name, "")
            continue
        if not isinstance(value, dict) or name not in value:
            raise TemplateError(
                f'template: {NAME}:{line}:{column}: executing "{NAME}" at <{path}>: '
                f"can't evaluate field {name} in type *logger.Info"
            )
        value = value[name]
    return value
