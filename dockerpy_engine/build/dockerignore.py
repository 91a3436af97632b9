""".dockerignore: reading the file and matching paths against it, as dockerd does.

Two matchers live here because dockerd uses two:

- `go_match` is Go's filepath.Match (shell patterns: `*`, `?`, `[...]`, `\\` escapes, never
  crossing a `/`). COPY/ADD source wildcards use it, and patternmatcher uses it to validate.
- `PatternMatcher` is moby/patternmatcher: each pattern compiled to a regular expression where
  `**` crosses directories, exclusions start with `!`, the last matching pattern wins, and a
  path also matches when one of its parent directories does (MatchesOrParentMatches).

Both are ported rather than approximated with fnmatch/glob, whose rules differ (fnmatch's `*`
crosses `/`, its `[!x]` negates where Go's needs `[^x]`), so a context behaves the same here
as under dockerd.
"""

from __future__ import annotations

import posixpath
import re
import warnings
from dataclasses import dataclass
from enum import Enum

from ..errdefs import InvalidParameter
from ..gopath import go_clean

BAD_PATTERN = "syntax error in pattern"  # Go's filepath.ErrBadPattern
_UTF8_BOM = "\ufeff"
# Go's unicode.IsSpace (strings.TrimSpace): unlike str.strip(), \x1c-\x1f are not spaces.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    map(chr, range(0x2000, 0x200B))
)
# Characters patternmatcher escapes: regexp metacharacters with no meaning in a shell pattern.
_REGEXP_ESCAPED = frozenset(".+()|{}$")


class BadPattern(InvalidParameter):
    """A pattern Go's filepath.Match (or patternmatcher) rejects."""


def go_trim_space(text: str) -> str:
    """Go's strings.TrimSpace."""
    return text.strip(_GO_SPACE)


# -- Go's filepath.Match ----------------------------------------------------------------


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    """Split off leading stars and the literal/class/`?` run after them (Go's scanChunk)."""
    stripped = pattern.lstrip("*")
    star = len(stripped) != len(pattern)
    in_range = False
    i = 0
    while i < len(stripped):
        ch = stripped[i]
        if ch == "\\":
            if i + 1 < len(stripped):
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return star, stripped[:i], stripped[i:]


def _class_char(chunk: str) -> tuple[str, str]:
    """One possibly escaped character of a `[...]` class (Go's getEsc)."""
    if not chunk or chunk[0] in "-]":
        raise BadPattern(BAD_PATTERN)
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern(BAD_PATTERN)
    ch, rest = chunk[0], chunk[1:]
    if "\udc80" <= ch <= "\udcff" or not rest:  # invalid UTF-8 byte, or no closing `]`
        raise BadPattern(BAD_PATTERN)
    return ch, rest


def _match_chunk(chunk: str, name: str) -> str | None:
    """Match `chunk` at the start of `name`: the rest of `name`, or None.

    After a mismatch the chunk is still parsed to the end, so a malformed pattern is reported
    whatever the name (Go 1.16+).
    """
    failed = False
    while chunk:
        if not failed and not name:
            failed = True
        ch = chunk[0]
        if ch == "[":
            current = None
            if not failed:
                current, name = name[0], name[1:]
            chunk = chunk[1:]
            negated = chunk.startswith("^")
            if negated:
                chunk = chunk[1:]
            matched = False
            ranges = 0
            while True:
                if chunk.startswith("]") and ranges:
                    chunk = chunk[1:]
                    break
                low, chunk = _class_char(chunk)
                high = low
                if chunk[0] == "-":
                    high, chunk = _class_char(chunk[1:])
                if current is not None and low <= current <= high:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif ch == "?":
            if not failed:
                failed = name[0] == "/"
                name = name[1:]
            chunk = chunk[1:]
        else:
            if ch == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern(BAD_PATTERN)
            if not failed:
                failed = chunk[0] != name[0]
                name = name[1:]
            chunk = chunk[1:]
    return None if failed else name


def go_match(pattern: str, name: str) -> bool:
    """Go's filepath.Match on a `/`-separated name; BadPattern when the pattern is malformed."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name  # a trailing `*` matches the rest unless it has a `/`
        rest = _match_chunk(chunk, name)
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if star:
            found = None
            for i, ch in enumerate(name):
                if ch == "/":
                    break
                rest = _match_chunk(chunk, name[i + 1 :])
                if rest is not None and (pattern or not rest):
                    found = rest
                    break
            if found is not None:
                name = found
                continue
        while pattern:  # a mismatch still reports a malformed remainder
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def has_wildcards(path: str) -> bool:
    """dockerd's containsWildcards: an unescaped `*`, `?` or `[` makes a COPY source a pattern."""
    escaped = False
    for ch in path:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "*?[":
            return True
    return False


# -- .dockerignore --------------------------------------------------------------------


def read_dockerignore(data: bytes | str) -> list[str]:
    """moby's ignorefile.ReadAll: one pattern a line, cleaned, `/`-leading made relative.

    Lines starting with `#` are comments (only there: `a # b` is a pattern); a UTF-8 BOM on
    the first line is dropped; `!` marks an exception and may be followed by spaces.
    """
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # bufio.ScanLines: a final newline does not start another line
    patterns: list[str] = []
    for number, raw in enumerate(lines):
        line = raw.removesuffix("\r")
        if number == 0:
            line = line.removeprefix(_UTF8_BOM)
        if line.startswith("#"):
            continue
        pattern = go_trim_space(line)
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = go_trim_space(pattern[1:])
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


class _Kind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    REGEXP = "regexp"


@dataclass(frozen=True, slots=True)
class _Pattern:
    text: str  # cleaned, without the leading `!`
    exclusion: bool
    kind: _Kind
    regexp: re.Pattern[str] | None

    @classmethod
    def compile(cls, text: str, exclusion: bool) -> _Pattern:
        """patternmatcher's compile: a literal, a prefix (`a/**`), a suffix (`**/a`) or a regexp."""
        out = ["^"]
        kind = _Kind.EXACT
        i = 0
        n = len(text)
        step = 0
        while i < n:
            ch = text[i]
            i += 1
            if ch == "*":
                if i < n and text[i] == "*":
                    i += 1
                    if i < n and text[i] == "/":
                        i += 1  # `**/` is `**`
                    if i == n:  # a trailing `**` matches everything below
                        if kind is _Kind.EXACT:
                            kind = _Kind.PREFIX
                        else:
                            out.append(".*")
                            kind = _Kind.REGEXP
                    else:
                        out.append("(.*/)?")  # any number of directories, even none
                        kind = _Kind.REGEXP
                    if step == 0:  # a leading `**`
                        kind = _Kind.SUFFIX
                else:
                    out.append("[^/]*")
                    kind = _Kind.REGEXP
            elif ch == "?":
                out.append("[^/]")
                kind = _Kind.REGEXP
            elif ch in _REGEXP_ESCAPED:
                out.append("\\" + ch)
            elif ch == "\\":
                if i < n:
                    out.append("\\" + text[i])
                    i += 1
                    kind = _Kind.REGEXP
                else:
                    out.append("\\")  # as Go: a dangling escape, which fails to compile
            else:
                out.append(ch)
                if ch in "[]":
                    kind = _Kind.REGEXP
            step += 1
        regexp = None
        if kind is _Kind.REGEXP:
            out.append(r"\Z")  # Go's `$`: the end of the text, not before a final newline
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "possible nested set" for `[[`
                    regexp = re.compile("".join(out))
            except re.error:
                raise BadPattern(BAD_PATTERN) from None
        return cls(text, exclusion, kind, regexp)

    def match(self, path: str) -> bool:
        if self.kind is _Kind.EXACT:
            return path == self.text
        if self.kind is _Kind.PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind is _Kind.SUFFIX:
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return self.regexp is not None and self.regexp.match(path) is not None


class PatternMatcher:
    """moby/patternmatcher over a .dockerignore's patterns."""

    def __init__(self, patterns: list[str]) -> None:
        self._patterns: list[_Pattern] = []
        for raw in patterns:
            text = go_trim_space(raw)
            if not text:
                continue
            text = go_clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise BadPattern('illegal exclusion pattern: "!"')
                text = text[1:]
            go_match(text, ".")  # patternmatcher validates with filepath.Match
            self._patterns.append(_Pattern.compile(text, exclusion))

    @property
    def exceptions(self) -> list[str]:
        """The `!` patterns (without the `!`): the CLI still walks an excluded directory
        that one of them may re-include something from."""
        return [p.text for p in self._patterns if p.exclusion]

    def matches(self, rel_path: str) -> bool:
        """MatchesOrParentMatches: excluded when the path or one of its parents matches.

        Patterns are read in order and the last one that applies wins; an exclusion (`!`) is
        only tried once something matched, an inclusion only while nothing does.
        """
        path = go_clean(rel_path)
        if path == ".":
            return False  # "don't let them exclude everything"
        parent = go_clean(posixpath.dirname(path))  # Go's filepath.Dir
        parents = [] if parent == "." else parent.split("/")
        matched = False
        for pattern in self._patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path) or any(
                pattern.match("/".join(parents[: i + 1])) for i in range(len(parents))
            )
            if hit:
                matched = not pattern.exclusion
        return matched
