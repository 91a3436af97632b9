"""The Dockerfile parser: buildkit's `frontend/dockerfile/parser`, which dockerd builds with.

`parse_syntax` is buildkit's `parser.Parse`: parser directives, comments, line continuations,
heredocs and the per-instruction line parsers' checks (ENV/LABEL syntax, JSON arrays of
strings). Its errors carry buildkit's bare messages, which is what `docker commit --change`
reports. `parse` is what POST /build does with the Dockerfile it reads: an empty file is
refused, parser errors get dockerd's `failed to parse Dockerfile: ` prefix, and an unknown
instruction is reported as `dockerfile parse error on line N: unknown instruction: X`, the
wording dockerd uses for every instruction-level error found before the first step runs
(see `DockerfileError.on_line`).

Instructions keep their arguments as text: which words expand, split or stay JSON depends on
the instruction, and is decided by whoever executes it (`instructions.py`, the builder).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .shell_lex import SPACES, DockerfileError, ShellLex, is_space, split_name_values

__all__ = [
    "KEYWORDS",
    "Dockerfile",
    "DockerfileError",
    "Heredoc",
    "Instruction",
    "heredoc_name",
    "json_array",
    "parse",
    "parse_syntax",
    "split_command",
    "split_first_word",
    "whitespace_fields",
]

KEYWORDS = frozenset(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN "
    "SHELL STOPSIGNAL USER VOLUME WORKDIR".split()
)
_JSON_FORMS = frozenset({"ADD", "CMD", "COPY", "ENTRYPOINT", "RUN", "SHELL", "VOLUME"})
_HEREDOC_FORMS = frozenset({"ADD", "COPY", "RUN"})
_NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only"
_MAX_LINE = 65535  # bufio.MaxScanTokenSize - 1: Go's scanner refuses longer lines
_TOKEN_SPACE = re.compile(r"[\t\v\f\r ]+")
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_HEREDOC = re.compile(r"([0-9]*)<<(-?)([^<]*)\Z")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A `<<NAME` body attached to RUN, COPY or ADD."""

    name: str  # the delimiter word
    content: str  # the body (every line ends with "\n"), `<<-` tab-stripping applied
    expand: bool  # False when the delimiter was quoted: the body is taken literally
    chomp: bool  # `<<-`


@dataclass(frozen=True, slots=True)
class Instruction:
    """One logical line: the keyword, its leading `--flags` and the rest as text."""

    keyword: str  # upper-case: "RUN"
    args: str  # after the keyword and its flags, continuations joined as buildkit joins them
    flags: tuple[str, ...]  # the leading `--name=value` / `--name` words, quotes removed
    original: str  # what dockerd prints after "Step n/m : "
    line: int  # 1-based first line
    end_line: int  # last line, heredoc bodies included
    heredocs: tuple[Heredoc, ...] = ()

    def json_args(self) -> list[str] | None:
        """The exec form (a JSON array of strings), or None for the shell form."""
        return json_array(self.args)

    def flag_values(self, allowed: Mapping[str, str | bool | list[str] | None]) -> dict[str, Any]:
        """The flags parsed against `allowed` (buildkit's BFlags), defaults filled in.

        The type of a default says the kind of flag: a bool is a switch (`--x`, `--x=false`),
        a list a string flag that may repeat (values appended), a str or None a string flag.
        """
        values: dict[str, Any] = {
            name: list(default) if isinstance(default, list) else default
            for name, default in allowed.items()
        }
        seen: set[str] = set()
        for word in self.flags:
            flag, sep, value = word.partition("=")
            name = flag[2:]
            if name not in allowed:
                raise DockerfileError(
                    f"unknown flag: {flag}" + _did_you_mean(name, allowed, case_sensitive=True)
                )
            default = allowed[name]
            if name in seen and not isinstance(default, list):
                raise DockerfileError(f"duplicate flag specified: {flag}")
            seen.add(name)
            if isinstance(default, bool):
                values[name] = _bool_flag(flag, sep, value)
            elif not sep:
                raise DockerfileError(f"missing a value on flag: {flag}")
            elif isinstance(default, list):
                values[name].append(value)
            else:
                values[name] = value
        return values


def _bool_flag(flag: str, sep: str, value: str) -> bool:
    if sep and not value:
        raise DockerfileError(f"missing a value on flag: {flag}")
    if value.lower() in ("", "true"):
        return True
    if value.lower() == "false":
        return False
    raise DockerfileError(f"expecting boolean value for flag {flag}, not: {value}")


@dataclass(slots=True)
class Dockerfile:
    """A parsed Dockerfile."""

    instructions: list[Instruction]
    escape: str  # "\\" or "`"
    syntax: str | None  # the `# syntax=` directive, which the classic builder ignores
    warnings: list[str]  # the lines dockerd prints on the build's stderr before the first step


def parse(data: bytes | str, *, name: str = "Dockerfile") -> Dockerfile:
    """The Dockerfile of a build, checked as dockerd checks it before the first step.

    `name` is the Dockerfile's path in the context, as dockerd names it in its messages.
    """
    if not data:
        raise DockerfileError(f"the Dockerfile ({name}) cannot be empty")
    try:
        dockerfile = parse_syntax(data)
    except DockerfileError as err:
        raise DockerfileError(f"failed to parse {name}: {err.message}", err.line) from None
    for instr in dockerfile.instructions:
        if instr.keyword not in KEYWORDS:
            written = _TOKEN_SPACE.split(instr.original, maxsplit=1)[0]
            suggestion = _did_you_mean(written, KEYWORDS, case_sensitive=False)
            error = DockerfileError(f"unknown instruction: {written}{suggestion}")
            raise error.on_line(instr.line)
    return dockerfile


def parse_syntax(data: bytes | str) -> Dockerfile:
    """buildkit's parser.Parse: the instructions of a text, unknown keywords included."""
    return _Parser(data).run()


def json_array(text: str) -> list[str] | None:
    """A leading JSON array of strings (anything after it is ignored, as Go's decoder does).

    Text that is not JSON is the shell form (None), but a JSON array holding anything other
    than strings is an error, not a shell command.
    """
    text = text.lstrip(SPACES)
    if not text.startswith("["):
        return None
    try:
        value, _ = json.JSONDecoder(parse_constant=_no_constant).raw_decode(text)
    except ValueError:
        return None
    if not all(isinstance(item, str) for item in value):
        raise DockerfileError(_NOT_STRINGS)
    return value


def _no_constant(name: str) -> None:
    """Go's JSON has no NaN or Infinity: such text is the shell form."""
    raise ValueError(name)


def split_command(line: str) -> tuple[str, tuple[str, ...], str]:
    """A logical line as (keyword as written, flags, arguments), buildkit's splitCommand."""
    parts = _TOKEN_SPACE.split(line.strip(SPACES), maxsplit=1)
    if len(parts) == 1:
        return parts[0], (), ""
    args, flags = _extract_flags(parts[1])
    return parts[0], tuple(flags), args.strip(SPACES)


def _extract_flags(text: str) -> tuple[str, list[str]]:
    """Leading `--` words (quotes and `\\` escapes removed) and the text after them.

    A bare `--` ends the flags. The escape is always `\\` here, whatever the directive says.
    """
    flags: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if is_space(text[i]):
            i += 1
            continue
        if not text.startswith("--", i):
            return text[i:], flags
        word, blank_ok, i = _flag_word(text, i)
        if word == "--":
            return text[i:], flags
        if word or blank_ok:
            flags.append(word)
    return "", flags


def _flag_word(text: str, i: int) -> tuple[str, bool, int]:
    """One flag word from `i`: its unquoted text, whether it had quotes, where it ended."""
    word: list[str] = []
    quote = ""
    blank_ok = False
    n = len(text)
    while i < n:
        ch = text[i]
        i += 1
        if not quote and is_space(ch):
            return "".join(word), blank_ok, i - 1
        if not quote and ch in ("'", '"'):
            quote, blank_ok = ch, True
            continue
        if ch == quote:
            quote = ""
            continue
        if ch == "\\":
            if i == n:
                break
            ch = text[i]
            i += 1
        word.append(ch)
    return "".join(word), blank_ok, n


def split_first_word(text: str) -> tuple[str, str]:
    """The first whitespace-separated word and the rest (HEALTHCHECK's type and command)."""
    end = next((i for i, ch in enumerate(text) if is_space(ch)), len(text))
    return text[:end], text[end:].lstrip(SPACES)


def whitespace_fields(text: str) -> list[str]:
    """The words of EXPOSE, FROM and shell-form VOLUME/COPY/ADD: split on blanks, no quoting."""
    return _TOKEN_SPACE.split(text) if text else []


def heredoc_name(word: str) -> str | None:
    """The delimiter a COPY/ADD source word like `<<EOF` names, or None for a plain path."""
    try:
        spec = _heredoc_spec(word)
    except DockerfileError:
        return None
    return None if spec is None else spec[0]


def _heredoc_spec(word: str) -> tuple[str, bool, bool] | None:
    """(name, expand, chomp) for a `[n]<<[-]NAME` word; quoting any part of NAME stops expansion."""
    match = _HEREDOC.match(word)
    if match is None or not match[3]:
        return None
    rest = match[3]
    words = ShellLex(skip_unset=True).process_words(rest, {})
    if len(words) != 1:
        return None
    raw = ShellLex(raw_quotes=True, skip_unset=True).process_words(rest, {})
    if len(raw) != 1:
        raise DockerfileError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = sum(words[0].count(q) for q in "'\"")
    raw_quotes = sum(raw[0].count(q) for q in "'\"")
    return words[0], quotes == raw_quotes, match[2] == "-"


def _heredoc_words(line: str) -> list[str]:
    """The line's words as buildkit looks for heredocs in them; unlexable text has none."""
    lex = ShellLex(raw_quotes=True, raw_escapes=True, skip_unset=True)
    try:
        return lex.process_words(line, {})
    except DockerfileError:
        return []


def _check_line(keyword: str, args: str, escape: str) -> None:
    """The checks buildkit's line parsers make while parsing (before any instruction runs)."""
    if keyword in ("ENV", "LABEL"):
        split_name_values(args, keyword, escape)
    elif keyword in _JSON_FORMS:
        json_array(args)
    elif keyword == "HEALTHCHECK":
        json_array(split_first_word(args)[1])
    elif keyword == "ONBUILD" and args:
        written, _, sub_args = split_command(args)
        _check_line(written.upper(), sub_args, escape)


def _takes_heredocs(keyword: str, args: str) -> bool:
    """RUN, COPY and ADD in shell form, also as an ONBUILD trigger."""
    if keyword == "ONBUILD" and args:
        written, _, args = split_command(args)
        keyword = written.upper()
    return keyword in _HEREDOC_FORMS and json_array(args) is None


def _is_comment(text: str) -> bool:
    return text.lstrip(SPACES).startswith("#")


def _did_you_mean(value: str, options: Any, *, case_sensitive: bool) -> str:
    """buildkit's suggest.WrapError: the closest option within an edit distance of 2."""
    wanted = value if case_sensitive else value.lower()
    match, best = "", 3
    for option in sorted(options):
        candidate = option if case_sensitive else option.lower()
        if candidate == wanted:
            return ""
        distance = _levenshtein(wanted, candidate)
        if distance < best:
            match, best = candidate, distance
    if not match:
        return ""
    if not case_sensitive and value != value.lower() and value == value.upper():
        match = match.upper()  # else lower-case: the options were compared lower-cased
    return f" (did you mean {match}?)"


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


class _Directives:
    """The `# escape=` / `# syntax=` lines, honoured only before anything else."""

    def __init__(self) -> None:
        self.done = False
        self.seen: set[str] = set()
        self.syntax: str | None = None
        self.escape = "\\"
        self.continuation = self._continuation("\\")

    @staticmethod
    def _continuation(escape: str) -> re.Pattern[str]:
        # The escape last on the line (blanks after it tolerated) continues the line, unless
        # it is itself escaped; a line holding only the escape continues too.
        e = re.escape(escape)
        return re.compile(rf"([^{e}]){e}[ \t]*\Z|^{e}[ \t]*\Z")

    def check(self, text: str) -> None:
        if self.done:
            return
        match = _DIRECTIVE.match(text[1:].lstrip(SPACES)) if text.startswith("#") else None
        key = match[1].lower() if match else ""
        if match is None or key not in ("syntax", "escape", "check"):
            self.done = True
            return
        if key in self.seen:
            raise DockerfileError(f"only one {key} parser directive can be used")
        self.seen.add(key)
        if key == "syntax":
            self.syntax = match[2]
        elif key == "escape":
            if match[2] not in ("\\", "`"):
                raise DockerfileError(f"invalid escape token '{match[2]}' does not match ` or \\")
            self.escape = match[2]
            self.continuation = self._continuation(match[2])

    def trim_continuation(self, text: str) -> tuple[str, bool]:
        """The line without its continuation escape, and whether the logical line ends here."""
        if self.continuation.search(text) is None:
            return text, True
        return self.continuation.sub(lambda m: m[1] or "", text, count=1), False


class _Parser:
    """One pass over the physical lines, as buildkit's Parse loop walks them."""

    def __init__(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        chunks = raw.split(b"\n")
        lines = [chunk + b"\n" for chunk in chunks[:-1]] + ([chunks[-1]] if chunks[-1] else [])
        self.too_long = next(
            (i for i, line in enumerate(lines) if len(line.rstrip(b"\n")) > _MAX_LINE), None
        )
        if self.too_long is not None:
            lines = lines[: self.too_long]  # Go's scanner stops there
        if lines:
            lines[0] = lines[0].removeprefix(b"\xef\xbb\xbf")
        self.lines = [line.decode("utf-8", errors="replace") for line in lines]
        self.pos = 0  # physical lines consumed so far, so also the current 1-based line
        self.directives = _Directives()

    def scan(self) -> str | None:
        if self.pos == len(self.lines):
            return None
        self.pos += 1
        return self.lines[self.pos - 1]

    def process(self, raw: str, *, strip_left: bool) -> str:
        """A physical line without its newline (and left blanks); comments become empty."""
        text = raw.rstrip("\r\n")
        if strip_left:
            text = text.lstrip(SPACES)
        try:
            self.directives.check(text)
        except DockerfileError as err:
            raise DockerfileError(err.message, self.pos) from None
        return "" if _is_comment(text) else text

    def run(self) -> Dockerfile:
        instructions: list[Instruction] = []
        warnings: list[str] = []
        while (raw := self.scan()) is not None:
            start = self.pos
            line, ended = self.directives.trim_continuation(self.process(raw, strip_left=True))
            if ended and not line:
                continue
            parts = [line]
            empty_continuation = False
            while not ended and (raw := self.scan()) is not None:
                text = self.process(raw, strip_left=False)
                if _is_comment(raw):
                    continue
                if not text.lstrip(SPACES):
                    empty_continuation = True
                    continue
                text, ended = self.directives.trim_continuation(text)
                parts.append(text)
            logical = "".join(parts)
            if empty_continuation:
                warnings.append(f"[WARNING]: Empty continuation line found in: {logical}")
            try:
                instructions.append(self.instruction(logical, start))
            except DockerfileError as err:
                raise DockerfileError(err.message, start) from None
        if warnings:
            warnings.append(
                "[WARNING]: Empty continuation lines will become errors in a future release."
            )
        if not instructions:
            raise DockerfileError("file with no instructions", self.pos)
        if self.too_long is not None:
            raise DockerfileError(
                f"dockerfile line greater than max allowed size of {_MAX_LINE}", self.too_long + 1
            )
        return Dockerfile(instructions, self.directives.escape, self.directives.syntax, warnings)

    def instruction(self, logical: str, start: int) -> Instruction:
        written, flags, args = split_command(logical)
        keyword = written.upper() if written.isascii() else written
        _check_line(keyword, args, self.directives.escape)
        heredocs: tuple[Heredoc, ...] = ()
        if "<<" in logical and _takes_heredocs(keyword, args):
            specs = [spec for word in _heredoc_words(logical) if (spec := _heredoc_spec(word))]
            heredocs = tuple(self.heredoc(*spec) for spec in specs)
        original = logical.strip(SPACES)
        return Instruction(keyword, args, flags, original, start, self.pos, heredocs)

    def heredoc(self, name: str, expand: bool, chomp: bool) -> Heredoc:
        body: list[str] = []
        while (raw := self.scan()) is not None:
            candidate = raw.rstrip("\r\n")
            if (candidate.lstrip("\t") if chomp else candidate) == name:
                content = "".join(body)
                return Heredoc(
                    name, _LEADING_TABS.sub("", content) if chomp else content, expand, chomp
                )
            body.append(raw)
        raise DockerfileError("unterminated heredoc")
