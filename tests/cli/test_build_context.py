"""The client's .dockerignore rules and the build context tar they shape."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from cli.actions.build import context_tar
from dockerpy_engine.build.dockerignore import BadPattern, PatternMatcher, read_dockerignore
from dockerpy_engine.gopath import go_clean as clean


def test_read_dockerignore_comments_exceptions_and_cleaning() -> None:
    text = "\ufeff# comment\n/abs\n  spaced  \n! keep\na/../b/\n\n"
    assert read_dockerignore(text) == ["abs", "spaced", "!keep", "b"]
    assert clean("./a//b/../c") == "a/c" and clean("") == "."


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.md"], "README.md", True),
        (["*.md"], "docs/README.md", False),  # `*` does not cross `/`
        (["**/*.md"], "docs/deep/README.md", True),
        (["docs"], "docs/a/b.txt", True),  # a parent matches
        (["docs", "!docs/keep.txt"], "docs/keep.txt", False),
        (["docs", "!docs/keep.txt"], "docs/other.txt", True),
        (["a?c"], "abc", True),
        (["dir/**"], "dir/x/y", True),
        (["[a-c].txt"], "b.txt", True),
        (["*", "!important", "important/secret"], "important/secret", True),
        (["*"], ".", False),
    ],
)
def test_pattern_matcher(patterns: list[str], path: str, excluded: bool) -> None:
    assert PatternMatcher(patterns).matches(path) is excluded


def test_bad_patterns() -> None:
    with pytest.raises(BadPattern):
        PatternMatcher(["!"])
    with pytest.raises(BadPattern):
        PatternMatcher(["[a-"])


def _members(tmp: Path, excludes: list[str], extra: dict[str, bytes] | None = None) -> dict:
    data = b"".join(context_tar(str(tmp), excludes, extra))
    assert len(data) % 512 == 0 and data.endswith(b"\0" * 1024)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_context_tar_honours_excludes_and_exceptions(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("a")
    (tmp_path / "logs" / "keep.log").write_text("k")
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "i.js").write_text("i")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "link").symlink_to("Dockerfile")
    members = _members(tmp_path, ["logs", "!logs/keep.log", "node_modules"])
    # an excluded directory with an exception inside is walked, but not itself sent
    assert sorted(members) == ["Dockerfile", "link", "logs/keep.log"]
    assert members["link"].issym() and members["link"].linkname == "Dockerfile"
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())


def test_context_tar_directories_and_extra_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print(1)\n")
    (tmp_path / ".dockerignore").write_text("old\n")
    members = _members(tmp_path, [], {".dockerignore": b"new\n", ".dockerfile.x": b"FROM a\n"})
    assert list(members) == ["src", "src/main.py", ".dockerignore", ".dockerfile.x"]
    assert members["src"].isdir()
    assert members[".dockerfile.x"].size == 7 and members[".dockerfile.x"].mode == 0o600


def test_long_names_fall_back_to_pax(tmp_path: Path) -> None:
    name = "n" * 150
    (tmp_path / name).write_text("x")
    assert list(_members(tmp_path, [])) == [name]
