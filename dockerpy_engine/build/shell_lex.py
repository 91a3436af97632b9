"""dockerd's Dockerfile word processing: buildkit's shell lexer and the name=value forms.

moby's classic builder expands `$VAR` in ENV, LABEL, WORKDIR... with buildkit's
`frontend/dockerfile/shell` lexer, not with a real shell: quotes are removed, `$VAR`,
`${VAR}` and the `${VAR:-word}` family expand from the instruction's environment, unknown
variables are empty, and errors read `failed to process "<text>": <reason>`. This module is
that lexer, plus the word splitting of ENV/LABEL/ARG (buildkit's `parseWords`, which keeps
quotes for the lexer to remove later).

It also holds `DockerfileError` and Go's notion of whitespace, because it is the lowest layer:
the Dockerfile parser uses this lexer to find heredoc delimiters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errdefs import InvalidParameter
from ..gofmt import go_quote

# Go's unicode.IsSpace; str.isspace() would also accept \x1c-\x1f, which Go does not.
SPACES = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_EOF = ""  # what the scanner returns past the end; never test it with `in <str>`
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_TOKEN_SPACE = re.compile(r"[\t\v\f\r ]+")  # buildkit's reWhitespace


class DockerfileError(InvalidParameter):
    """A Dockerfile (or a `--change` line) dockerd would refuse (400).

    `line` is the 1-based line the error belongs to, when the parser knows it; the message
    itself carries a line number only where dockerd's does (see `on_line`).
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line

    def on_line(self, line: int) -> DockerfileError:
        """The error as dockerd reports a bad instruction found before the first step runs."""
        return DockerfileError(f"dockerfile parse error on line {line}: {self.message}", line)


def is_space(ch: str) -> bool:
    """Go's unicode.IsSpace for one character (False for the end-of-input marker)."""
    return ch != _EOF and ch in SPACES


class _LexError(Exception):
    """A reason the lexer gives up; `ShellLex` wraps it with the text being processed."""


class ShellLex:
    """buildkit's shell.Lex: quote removal and variable expansion, never command execution.

    The options exist for the parser's heredoc detection, which lexes with quotes and escapes
    kept and unknown variables left alone, exactly as buildkit does.
    """

    def __init__(
        self,
        escape: str = "\\",
        *,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_unset: bool = False,
    ) -> None:
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset

    def process_word(self, text: str, env: Mapping[str, str]) -> str:
        """One word: quotes removed and variables expanded, inner whitespace kept."""
        return self._process(text, env)[0]

    def process_words(self, text: str, env: Mapping[str, str]) -> list[str]:
        """Like `process_word`, then split on whitespace that was neither quoted nor escaped."""
        return self._process(text, env)[1]

    def _process(self, text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
        try:
            return _Scan(self, text, env).stop_on(_EOF, self.raw_escapes)
        except _LexError as err:
            raise DockerfileError(f"failed to process {go_quote(text)}: {err}") from None


class _Words:
    """buildkit's wordsStruct: collects words, where empty quotes make no word of their own."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.buf = ""
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if not is_space(ch):
            self.add_raw(ch)
        elif self.in_word and self.buf:
            self.words.append(self.buf)
            self.buf, self.in_word = "", False

    def add_raw(self, text: str) -> None:
        self.buf += text
        self.in_word = True

    def add_expansion(self, text: str) -> None:
        """A variable's value splits into words like unquoted text does."""
        for ch in text:
            self.add_char(ch)

    def done(self) -> list[str]:
        if self.buf:
            self.words.append(self.buf)
        return self.words


class _Scan:
    """One pass of the lexer over one text (buildkit's shellWord)."""

    def __init__(self, lex: ShellLex, text: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.text = text
        self.pos = 0
        self.env = env
        self.raw_escapes = lex.raw_escapes

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        ch = self.peek()
        self.pos += len(ch)
        return ch

    def stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        """Process up to `stop` (consumed) or the end; `raw_escapes` keeps escape characters."""
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while (ch := self.peek()) != _EOF:
            if stop != _EOF and ch == stop:
                self.next()
                return "".join(result), words.done()
            if ch == "$":
                value = self.dollar()
                result.append(value)
                words.add_expansion(value)
                continue
            if ch in ("'", '"'):
                value = self.single_quoted() if ch == "'" else self.double_quoted()
                result.append(value)
                words.add_raw(value)
                continue
            ch = self.next()
            if ch == self.lex.escape:
                if self.raw_escapes:
                    words.add_raw(ch)
                    result.append(ch)
                ch = self.next()
                if ch == _EOF:
                    break
                words.add_raw(ch)
            else:
                words.add_char(ch)
            result.append(ch)
        if stop != _EOF:
            raise _LexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.done()

    def single_quoted(self) -> str:
        """Everything up to the next `'` as-is: nothing escapes inside single quotes."""
        quote = self.next()
        out = [quote] if self.lex.raw_quotes else []
        while True:
            ch = self.next()
            if ch == _EOF:
                raise _LexError(
                    "unexpected end of statement while looking for matching single-quote"
                )
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quoted(self) -> str:
        """`$` expands; the escape character escapes only `"`, `$` and itself."""
        quote = self.next()
        out = [quote] if self.lex.raw_quotes else []
        escapable = ('"', "$", self.lex.escape)
        while True:
            ch = self.peek()
            if ch == _EOF:
                raise _LexError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if ch == '"':
                self.next()
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.lex.escape:
                if self.raw_escapes:
                    out.append(ch)
                if self.peek() == _EOF:
                    continue  # a trailing escape is dropped, then the quote is missing
                if self.peek() in escapable:
                    ch = self.next()
            out.append(ch)

    def dollar(self) -> str:
        """`$NAME`, `${NAME}` and `${NAME<modifier>word}`."""
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value = self.env.get(name)
            if value is None:
                return "$" + name if self.lex.skip_unset else ""
            return value
        self.next()
        if self.peek() == _EOF:
            raise _LexError("syntax error: missing '}'")
        if self.peek() in ("{", "}", ":"):
            raise _LexError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        modifier = ch or "\ufffd"  # Go prints the end-of-input rune as U+FFFD
        if ch == "}":
            value = self.env.get(name)
            if value is None:
                return f"${{{name}}}" if self.lex.skip_unset else ""
            return value
        if ch == "/":
            return self.replace(name)
        null_is_unset = ch == ":"
        if null_is_unset:
            ch = self.next()
            modifier += ch or "\ufffd"
        if null_is_unset or ch in ("+", "-", "?", "#", "%"):
            return self.modify(name, ch, modifier, null_is_unset)
        raise _LexError(f"unsupported modifier ({modifier}) in substitution")

    def modify(self, name: str, ch: str, modifier: str, null_is_unset: bool) -> str:
        """`-` default, `+` alternative, `?` error, `#`/`%` (and doubled) pattern trimming."""
        pattern = ch in ("#", "%")
        if null_is_unset and pattern:
            raise _LexError(f"unsupported modifier ({modifier}) in substitution")
        word = self.nested("}", pattern)
        value = self.env.get(name)
        if value is None and self.lex.skip_unset:
            return f"${{{name}{modifier}{word}}}"
        unset = value is None or (null_is_unset and value == "")
        if ch == "-":
            return word if unset else value or ""
        if ch == "+":
            return "" if unset else word
        if ch == "?":
            if value is None:
                raise _LexError(f"{name}: {word or 'is not allowed to be unset'}")
            if unset:
                raise _LexError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if pattern:
            greedy = word.startswith(ch)
            word = word[1:] if greedy else word
            trim = _trim_suffix if ch == "%" else _trim_prefix
            return trim(word, value or "", greedy)
        raise _LexError(f"unsupported modifier ({modifier}) in substitution")

    def replace(self, name: str) -> str:
        """`${NAME/pattern/replacement}`, or every match with `${NAME//pattern/replacement}`."""
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        pattern = self.nested("/", True, missing="syntax error: missing '/' in ${}")
        replacement = self.nested("}", True)
        value = self.env.get(name)
        if value is None and self.lex.skip_unset:
            return f"${{{name}/{pattern}/{replacement}}}"
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        value = value or ""
        if replace_all:
            return regex.sub(lambda _: replacement, value)
        match = regex.search(value)
        if match is None:
            return value
        return value[: match.start()] + replacement + value[match.end() :]

    def nested(
        self, stop: str, raw_escapes: bool, missing: str = "syntax error: missing '}'"
    ) -> str:
        """The word inside `${...}`; running off the end reports the missing delimiter."""
        try:
            return self.stop_on(stop, raw_escapes)[0]
        except _LexError:
            if self.peek() == _EOF:
                raise _LexError(missing) from None
            raise

    def name(self) -> str:
        """A variable name, a run of digits (positional), or one special parameter."""
        chars: list[str] = []
        while (ch := self.peek()) != _EOF:
            if not chars and ch.isdecimal():
                while self.peek().isdecimal():
                    chars.append(self.next())
                return "".join(chars)
            if not chars and ch in _SPECIAL_PARAMS:
                return self.next()
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            chars.append(self.next())
        return "".join(chars)


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell wildcard (`*`, `?`, `\\` escapes; no brackets) as a regular expression."""
    out = ["^"] if anchored else []
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(".*" if greedy else ".*?")
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            following = pattern[i] if i < len(pattern) else _EOF
            if following in ("}", "/"):
                continue  # escaped only to get past the ${} parser
            tok, i = following, i + 1
            if tok not in ("*", "?", "\\"):
                raise _LexError(
                    f"invalid pattern ({pattern}) in substitution: "
                    f"invalid escape '\\{tok or chr(0xFFFD)}'"
                )
            out.append("\\")
        elif tok in "[]{}.+()|^$":
            out.append("\\")
        out.append(tok)
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value if match is None else value[match.end() :]


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    """Reversed pattern on the reversed value: regexes cannot find a shortest rightmost match."""
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each escape in front of the character it escapes."""
    out = [""] * len(pattern)
    last = len(pattern) - 1
    i = 0
    while i <= last:
        j = last - i
        if pattern[i] == "\\" and i != last:
            out[j - 1], out[j] = "\\", pattern[i + 1]
            i += 2
        else:
            out[j] = pattern[i]
            i += 1
    return "".join(out)


# -- the name=value forms (buildkit's line parsers parseWords/parseNameVal and parseKvps) -----


def parse_words(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace keeping quotes and escapes, for the lexer to remove later.

    `""` makes an (empty) word of its own; an escape character at the very end is dropped.
    """
    words: list[str] = []
    word: list[str] = []
    quote = ""
    in_quote = blank_ok = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_quote:
            if ch == quote:
                in_quote = False
            if ch == escape and quote != "'":
                if i + 1 == n:
                    break
                word.append(ch)
                i += 1
                ch = text[i]
        elif is_space(ch):
            if blank_ok or word:
                words.append("".join(word))
            word, blank_ok = [], False
            i += 1
            continue
        else:
            if ch in ("'", '"'):
                quote, in_quote, blank_ok = ch, True, True
            if ch == escape:
                if i + 1 == n:
                    break
                word.append(ch)
                i += 1
                ch = text[i]
        word.append(ch)
        i += 1
    if blank_ok or word:
        words.append("".join(word))
    return words


def split_name_values(args: str, keyword: str, escape: str = "\\") -> list[tuple[str, str]]:
    """`KEY a=b c="d e"` or the legacy `KEY name the value`, unexpanded (the parser's check)."""
    words = parse_words(args, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _TOKEN_SPACE.split(args, maxsplit=1)
        if len(parts) < 2:
            raise DockerfileError(f"{keyword} must have two arguments")
        return [(parts[0], parts[1])]
    pairs: list[tuple[str, str]] = []
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            raise DockerfileError(
                f"Syntax error - can't find = in {go_quote(word)}. Must be of the form: name=value"
            )
        pairs.append((name, value))
    return pairs


def name_values(args: str, keyword: str, escape: str = "\\") -> list[tuple[str, str]]:
    """`split_name_values` plus the instruction's own checks, still unexpanded."""
    pairs = split_name_values(args, keyword, escape)
    if not pairs:
        raise DockerfileError(f"{keyword} requires at least one argument")
    if any(not name for name, _ in pairs):
        raise DockerfileError(f"{keyword} names can not be blank")
    return pairs


def parse_name_values(
    args: str, keyword: str, lex: ShellLex, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    """ENV/LABEL pairs, names and values expanded in order against `env`."""
    return [
        (lex.process_word(name, env), lex.process_word(value, env))
        for name, value in name_values(args, keyword, lex.escape)
    ]


def arg_pairs(args: str, escape: str = "\\") -> list[tuple[str, str | None]]:
    """`ARG name[=default] ...`, unexpanded; a name without `=` has no default (None)."""
    words = parse_words(args, escape)
    if not words:
        raise DockerfileError("ARG requires at least one argument")
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, sep, value = word.partition("=")
        if sep and not name:
            raise DockerfileError("ARG names can not be blank")
        pairs.append((name, value if sep else None))
    return pairs


def parse_arg(args: str, lex: ShellLex, env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """ARG's names and defaults, expanded against `env`."""
    return [
        (lex.process_word(name, env), None if value is None else lex.process_word(value, env))
        for name, value in arg_pairs(args, lex.escape)
    ]
