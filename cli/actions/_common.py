"""Helpers shared by the actions: docker's `--format` contexts, JSON re-indenting for inspect,
per-object error collection, and jsonmessage display."""

from __future__ import annotations

from cli import _json
from cli.api import APIError, CLIError
from cli.env import Env
from cli.format import FormatError, Formatter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TextIO

__all__ = [
    "confirm",
    "filters_param",
    "for_each",
    "indent_json",
    "is_terminal",
    "natural_key",
    "platform_param",
    "print_json_messages",
    "print_reclaimed",
    "render",
]


def filters_param(filters: list[str]) -> str | None:
    """`--filter k=v` flags as the API's JSON (`{"k":{"v":true}}`); None when there are none."""
    if not filters:
        return None
    doc: dict[str, dict[str, bool]] = {}
    for f in filters:
        key, eq, value = f.partition("=")
        if not eq:
            raise CLIError("bad format of filter (expected name=value)", 125)
        doc.setdefault(key.strip().lower(), {})[value.strip()] = True
    return _json.dumps(doc, compact=True)


def platform_param(value: str) -> str | None:
    """`os[/arch[/variant]]` as the API's `platform` parameter: an OCI platform in JSON, as
    the docker client encodes it (None when not given)."""
    if not value:
        return None
    parts = value.split("/")
    doc = {}
    if len(parts) > 1:
        doc["architecture"] = parts[1]
    doc["os"] = parts[0]
    if len(parts) > 2:
        doc["variant"] = parts[2]
    return _json.dumps(doc, compact=True)


def render(env: Env, fmt: str, headers: dict[str, str], contexts: Iterable[Any]) -> None:
    """Print contexts through a docker format string (table/json/template)."""
    try:
        formatter = Formatter(fmt, headers)
        formatter.render(contexts, env.out.write)
    except FormatError as e:
        raise CLIError(str(e)) from None


def for_each(env: Env, refs: list[str], fn: Callable[[str], str | None], summary: str = "") -> int:
    """Apply fn to each ref; print what it returns (the ref, usually) on stdout and errors on
    stderr as they come; exit 1 if any failed. `summary` (e.g. `failed to start containers`)
    adds docker's closing `Error: <summary>: a, b` line."""
    failed: list[str] = []
    for ref in refs:
        try:
            line = fn(ref)
        except APIError as e:
            env.err.write(f"{e}\n")
            failed.append(ref)
            continue
        if line is not None:
            env.out.write(line + "\n")
            env.out.flush()
    if failed:
        if summary:
            env.err.write(f"Error: {summary}: {', '.join(failed)}\n")
        return 1
    return 0


def indent_json(raw: bytes | str, indent: str = "    ") -> str:
    """Go's json.Indent(dst, src, "", indent): re-indent raw JSON text keeping its key order,
    number literals and string escapes exactly; empty objects and arrays stay `{}`/`[]`."""
    s = raw.decode() if isinstance(raw, bytes) else raw
    out: list[str] = []
    depth = 0
    i = 0
    n = len(s)
    need_indent = False  # an opening bracket was written; next value goes on a new line
    while i < n:
        c = s[i]
        if c in " \t\r\n":
            i += 1
            continue
        if need_indent and c not in "]}":
            out.append("\n" + indent * depth)
            need_indent = False
        if c == '"':
            j = i + 1
            while True:
                k = s.find('"', j)
                if k < 0:
                    k = n - 1
                    break
                b = k - 1
                slashes = 0
                while s[b] == "\\":
                    slashes += 1
                    b -= 1
                if slashes % 2 == 0:
                    break
                j = k + 1
            out.append(s[i : k + 1])
            i = k + 1
            continue
        if c in "{[":
            out.append(c)
            depth += 1
            need_indent = True
        elif c in "}]":
            depth -= 1
            if need_indent:  # empty
                need_indent = False
            else:
                out.append("\n" + indent * depth)
            out.append(c)
        elif c == ",":
            out.append(",\n" + indent * depth)
        elif c == ":":
            out.append(": ")
        else:
            j = i
            while j < n and s[j] not in ' \t\r\n,:]}"{[':
                j += 1
            out.append(s[i:j])
            i = j
            continue
        i += 1
    return "".join(out)


def print_json_messages(
    env: Env,
    lines: Iterable[bytes],
    out: TextIO | None = None,
    aux: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """jsonmessage.DisplayJSONMessagesToStream on env.out (or `out`): progress drawn in place
    when it is a terminal, plain lines otherwise; an `error` message becomes a CLIError."""
    from cli.jsonmessage import JSONMessageError, display_stream

    stream = env.out if out is None else out
    try:
        display_stream(lines, stream, is_terminal(stream), aux)
    except JSONMessageError as e:
        raise CLIError(str(e)) from None


def is_terminal(stream: Any) -> bool:
    """Whether a text stream is a terminal (False for StringIO and closed streams)."""
    import os

    try:
        return os.isatty(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def confirm(env: Env, warning: str, sep: str = "\n") -> bool:
    """command.PromptForConfirmation: the warning, `Are you sure...? [y/N] ` (on the next line,
    or after `sep`), then a line of stdin; only `y`/`yes` agree."""
    env.out.write(f"{warning}{sep}Are you sure you want to continue? [y/N] ")
    env.out.flush()
    answer = env.stdin.readline().decode(errors="replace").strip().lower()
    return answer in ("y", "yes")


def print_reclaimed(env: Env, sections: list[tuple[str, list[str]]], space: int) -> None:
    """A prune report: each non-empty `Deleted X:` section then `Total reclaimed space:`."""
    from cli.format import human_size

    for title, lines in sections:
        if lines:
            env.out.write(f"{title}:\n" + "".join(line + "\n" for line in lines) + "\n")
    env.out.write(f"Total reclaimed space: {human_size(space)}\n")


def natural_key(text: str) -> list[Any]:
    """sortorder.NaturalLess as a sort key: digit runs compare as numbers (`v2` < `v10`)."""
    import re

    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", text)]
