"""dockerignore.py: ignorefile.ReadAll, moby/patternmatcher and Go's filepath.Match, checked
against the expectations of moby's and Go's own test tables."""

from __future__ import annotations

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.build.dockerignore import (
    BadPattern,
    PatternMatcher,
    go_match,
    has_wildcards,
    read_dockerignore,
)

# -- read_dockerignore ------------------------------------------------------------------


def test_read_dockerignore_moby_table() -> None:
    content = (
        "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! "
    )
    assert read_dockerignore(content) == [
        "test1",
        "test2",
        "a/file/here",
        "lastfile",
        "!inverted/abs/path",
        "!",
        "!",
    ]


@pytest.mark.parametrize(
    ("content", "want"),
    [
        (b"\xef\xbb\xbfnode_modules\n", ["node_modules"]),  # BOM on the first line
        (b"a\r\nb\r\n", ["a", "b"]),  # CRLF
        (b"  # not a comment\n", ["# not a comment"]),  # only a leading `#` comments
        (b"#comment\n*.go\n", ["*.go"]),
        (b"dir/../other//x/\n", ["other/x"]),  # filepath.Clean
        (b"./a\n", ["a"]),
        (b"/\n", ["/"]),  # a lone "/" stays
        (b"!  ./keep/\n", ["!keep"]),
        (b"", []),
        (b"\n\n   \n", []),
    ],
)
def test_read_dockerignore_lines(content: bytes, want: list[str]) -> None:
    assert read_dockerignore(content) == want


# -- PatternMatcher ---------------------------------------------------------------------

# patternmatcher_test.go TestMatches: (pattern, path, matches with parents)
MATCHES = [
    ("**", "file", True),
    ("**", "file/", True),
    ("**/", "file", True),
    ("**/", "file/", True),
    ("**", "/", True),
    ("**/", "/", True),
    ("**", "dir/file", True),
    ("**/", "dir/file", True),
    ("**", "dir/file/", True),
    ("**/", "dir/file/", True),
    ("**/**", "dir/file", True),
    ("**/**", "dir/file/", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/file/", True),
    ("dir/**", "dir/dir2/file", True),
    ("dir/**", "dir/dir2/file/", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),  # through the parent
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/*", "dir/dir2/file/", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file/", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\\\", "a\\", True),
    ("a\\*b", "a*b", True),
    # what a .dockerignore usually holds
    ("*.go", "main.go", True),
    ("*.go", "cmd/main.go", False),  # `*` stays in one directory
    ("**/*.go", "cmd/main.go", True),
    ("node_modules", "node_modules/a/b.js", True),  # a directory excludes what it holds
    ("docs/", "docs/README.md", True),
    ("docs/*", "docs/sub/README.md", True),
    ("*/tmp", "a/tmp/x", True),
    ("*/tmp", "a/b/tmp", False),
    ("*.go", "a.go\n", False),  # Go's `$` is the end of the text
]


@pytest.mark.parametrize(("pattern", "path", "want"), MATCHES)
def test_single_pattern(pattern: str, path: str, want: bool) -> None:
    assert PatternMatcher([pattern]).matches(path) is want


@pytest.mark.parametrize(
    ("patterns", "path", "want"),
    [
        (["**", "!util/docker/web"], "util/docker/web/foo", False),
        (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
        (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3-py3-none-any.whl", False),
        (["!fileutils.go", "*.go"], "fileutils.go", True),  # an exception before: no effect
        (["*.go", "!fileutils.go"], "fileutils.go", False),  # the last match wins
        (["docs", "!docs/README.md"], "docs/README.md", False),
        (["docs/", "!docs/README.md"], "docs/README.md", False),
        (["docs/*", "!docs/README.md"], "docs/README.md", False),
        (["docs", "!docs/README.md"], "docs/other.md", True),
        (["*", "!keep", "keep/secret"], "keep/secret", True),
        (["*", "!keep", "keep/secret"], "keep/public", False),
        ([], "anything", False),
        (["*.go"], ".", False),  # never the whole context
        (["", "  ", "*.md"], "README.md", True),  # blank patterns are skipped
        (["  !docs/README.md", "docs"], "docs/README.md", True),
    ],
)
def test_pattern_lists(patterns: list[str], path: str, want: bool) -> None:
    assert PatternMatcher(patterns).matches(path) is want


def test_leading_slash_from_the_file_is_relative() -> None:
    matcher = PatternMatcher(read_dockerignore("/secret\n/build/**\n"))
    assert matcher.matches("secret")
    assert matcher.matches("build/out/x.o")
    assert not matcher.matches("src/secret")


def test_paths_are_cleaned_before_matching() -> None:
    matcher = PatternMatcher(["Dockerfile"])
    assert matcher.matches("./Dockerfile")
    assert matcher.matches("sub/../Dockerfile")


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        (["!"], 'illegal exclusion pattern: "!"'),
        (["!/"], 'illegal exclusion pattern: "!"'),
        (["["], "syntax error in pattern"),
        (["[]a]"], "syntax error in pattern"),
        (["\\"], "syntax error in pattern"),
        (["ok", "a[", "*.go"], "syntax error in pattern"),
    ],
)
def test_invalid_patterns(patterns: list[str], message: str) -> None:
    with pytest.raises(errdefs.InvalidParameter) as info:
        PatternMatcher(patterns)
    assert info.value.message == message


# -- go_match: Go's filepath.Match ------------------------------------------------------

GO_MATCH = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "\u03b1", True),  # alpha
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("*x", "xxx", True),
    ("[!a]", "!", True),  # Go negates with `^` only
]


@pytest.mark.parametrize(("pattern", "name", "want"), GO_MATCH)
def test_go_match(pattern: str, name: str, want: bool) -> None:
    assert go_match(pattern, name) is want


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("[]a]", "]"),
        ("[-]", "-"),
        ("[x-]", "x"),
        ("[x-]", "z"),
        ("[-x]", "a"),
        ("\\", "a"),
        ("[a-b-c]", "a"),
        ("[", "a"),
        ("[^", "a"),
        ("[^bc", "a"),
        ("a[", "a"),
        ("a[", "ab"),
        ("*[", "x"),
        ("x*[", "y"),  # a mismatch still reports a malformed rest
    ],
)
def test_go_match_bad_patterns(pattern: str, name: str) -> None:
    with pytest.raises(BadPattern, match="syntax error in pattern"):
        go_match(pattern, name)


@pytest.mark.parametrize(
    ("path", "want"),
    [("a.txt", False), ("*.txt", True), ("a?", True), ("[ab]", True), ("a\\*", False)],
)
def test_has_wildcards(path: str, want: bool) -> None:
    assert has_wildcards(path) is want
