"""copier.py: COPY/ADD sources (wildcards, dockerd's errors), the cache checksum, destination
rules, and the builder's round trip into a root: ensure_dest_dir, write_copy_tar, extract."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.build.copier import (
    CopyError,
    CopySource,
    ensure_dest_dir,
    normalize_dest,
    plan_copy,
    resolve_sources,
    sources_checksum,
    write_copy_tar,
)
from dockerpy_engine.containers import archive
from tests.images.test_layers import make_tar, node, reg

OWNER = (1234, 4321)  # who owns the context's files: never what COPY writes


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "context"
    (root / "src/util").mkdir(parents=True)
    (root / "src/main.go").write_text("package main\n")
    (root / "src/util/x.go").write_text("package util\n")
    (root / "a.txt").write_text("a\n")
    (root / "b.txt").write_text("b\n")
    (root / "src/run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "src/run.sh", 0o755)
    os.chmod(root / "a.txt", 0o640)
    os.symlink("main.go", root / "src/main.link")
    os.link(root / "src/main.go", root / "src/main.hard")
    os.symlink("a.txt", root / "alias")
    os.utime(root / "a.txt", (1_500_000_000, 1_500_000_000))
    for path in [root, *root.rglob("*")]:
        os.chown(path, *OWNER, follow_symlinks=False)
    return root


@pytest.fixture
def rootfs(tmp_path: Path) -> Iterator[archive.ScopedRoot]:
    """An image's root, as the builder opens it."""
    path = tmp_path / "rootfs"
    (path / "etc").mkdir(parents=True)
    with archive.ScopedRoot.open(path) as scope:
        yield scope


def _root(scope: archive.ScopedRoot) -> Path:
    return Path(f"/proc/self/fd/{scope.fd}").resolve()


def copy(
    scope: archive.ScopedRoot,
    ctx: Path,
    patterns: list[str],
    dest: str,
    *,
    workdir: str = "/",
    chown: tuple[int, int] | None = None,
    chmod: int | None = None,
    add: bool = False,
) -> None:
    """What the builder does for one COPY/ADD, in the same order."""
    keyword = "ADD" if add else "COPY"
    sources = resolve_sources(ctx, patterns, keyword=keyword)
    plan = plan_copy(sources, dest, workdir, keyword=keyword, scope=scope)
    ensure_dest_dir(scope, plan.dest_dir, chown)
    with tempfile.TemporaryFile() as spool:
        write_copy_tar(plan, spool, chown=chown, chmod=chmod, extract_archives=add)
        spool.seek(0)
        archive.extract(scope, plan.dest_dir, spool, archive.ExtractOptions(False, None))


def _owner_mode(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


# -- sources ----------------------------------------------------------------------------


def _rels(sources: list[CopySource]) -> list[tuple[str, bool]]:
    return [(s.rel, s.is_dir) for s in sources]


def test_plain_sources(ctx: Path) -> None:
    sources = resolve_sources(ctx, ["a.txt", "./src", "/src/util/", "."])
    assert _rels(sources) == [("a.txt", False), ("src", True), ("src/util", True), (".", True)]
    assert sources[0].path == ctx / "a.txt"
    assert sources[3].path == ctx


@pytest.mark.parametrize(
    ("pattern", "want"),
    [
        ("*.txt", ["a.txt", "b.txt"]),
        ("[ab].txt", ["a.txt", "b.txt"]),
        ("?.txt", ["a.txt", "b.txt"]),
        ("src/*", ["src/main.go", "src/main.hard", "src/main.link", "src/run.sh", "src/util"]),
        ("s?c/*.go", ["src/main.go"]),
        ("*/*/*.go", ["src/util/x.go"]),
        ("/src/m*.go", ["src/main.go"]),
        ("*", ["a.txt", "alias", "b.txt", "src"]),
    ],
)
def test_wildcards_match_the_walk(ctx: Path, pattern: str, want: list[str]) -> None:
    assert [s.rel for s in resolve_sources(ctx, [pattern])] == want


def test_wildcard_symlink_match_is_followed(ctx: Path) -> None:
    (source,) = resolve_sources(ctx, ["ali*"])
    assert (source.rel, source.path, source.is_dir) == ("alias", ctx / "a.txt", False)


def test_escaped_wildcards_are_not_patterns(ctx: Path) -> None:
    (ctx / "a*b").write_text("star")
    (ctx / "aXb").write_text("x")
    assert [s.rel for s in resolve_sources(ctx, ["a*b"])] == ["a*b", "aXb"]
    with pytest.raises(CopyError, match=r"stat a\\\*b: file does not exist$"):
        resolve_sources(ctx, ["a\\*b"])  # dockerd then stats the name as written


@pytest.mark.parametrize(
    ("patterns", "keyword", "message"),
    [
        (["*.none"], "COPY", "COPY failed: no source files were specified"),
        (["[", "*.none"], "ADD", "ADD failed: no source files were specified"),
        (
            ["nope"],
            "COPY",
            "COPY failed: file not found in build context or excluded by .dockerignore: "
            "stat nope: file does not exist",
        ),
        (
            ["/./nope/x"],
            "ADD",
            "ADD failed: file not found in build context or excluded by .dockerignore: "
            "stat nope/x: file does not exist",
        ),
        (["a.txt/x"], "COPY", "COPY failed: stat a.txt/x: not a directory"),
        (
            ["../outside/victim"],
            "COPY",
            "COPY failed: forbidden path outside the build context: ../outside/victim ()",
        ),
    ],
)
def test_source_errors(ctx: Path, patterns: list[str], keyword: str, message: str) -> None:
    with pytest.raises(CopyError) as info:
        resolve_sources(ctx, patterns, keyword=keyword)
    assert info.value.message == message
    assert isinstance(info.value, errdefs.InvalidParameter)


def test_missing_in_another_stage_has_no_context_hint(ctx: Path) -> None:
    with pytest.raises(CopyError) as info:
        resolve_sources(ctx, ["usr/bin/nope"], in_context=False)
    assert info.value.message == "COPY failed: stat usr/bin/nope: file does not exist"


def test_symlinked_sources_resolve_inside_the_root(ctx: Path, outside: Path) -> None:
    os.symlink(str(outside / "victim"), ctx / "abs")
    os.symlink("../../outside/victim", ctx / "rel")
    os.symlink("nowhere", ctx / "dangling")
    for name in ("abs", "rel", "dangling"):
        with pytest.raises(CopyError, match="file not found in build context"):
            resolve_sources(ctx, [name])
    (ctx / "outside").mkdir()
    (ctx / "outside/victim").write_text("inside")  # `..` stops at the root
    (source,) = resolve_sources(ctx, ["rel"])
    assert (source.path, source.rel) == (ctx / "outside/victim", "rel")


# -- checksum ---------------------------------------------------------------------------


def _key(ctx: Path, *patterns: str) -> str:
    return sources_checksum(resolve_sources(ctx, list(patterns)))


def test_checksum_kinds_and_stability(ctx: Path) -> None:
    assert _key(ctx, "a.txt").startswith("file:")
    assert _key(ctx, "src").startswith("dir:")
    assert _key(ctx, "a.txt", "src").startswith("multi:")
    assert _key(ctx, "*.txt").startswith("multi:")
    assert _key(ctx, "src") == _key(ctx, "src")
    assert _key(ctx, "a.txt", "b.txt") != _key(ctx, "b.txt", "a.txt")
    assert len(_key(ctx, "src").split(":")[1]) == 64


def test_checksum_ignores_mtime_and_owner(ctx: Path) -> None:
    before = (_key(ctx, "src"), _key(ctx, "a.txt"))
    for path in [ctx / "a.txt", *(ctx / "src").rglob("*")]:
        os.chown(path, 0, 0, follow_symlinks=False)
        os.utime(path, (1, 1), follow_symlinks=False)
    assert (_key(ctx, "src"), _key(ctx, "a.txt")) == before


def test_checksum_does_not_depend_on_where_the_dir_is(ctx: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    (twin / "nested/src/util").mkdir(parents=True)
    for rel in ("src/main.go", "src/util/x.go", "src/run.sh"):
        (twin / "nested" / rel).write_bytes((ctx / rel).read_bytes())
        os.chmod(twin / "nested" / rel, stat.S_IMODE((ctx / rel).stat().st_mode))
    os.symlink("main.go", twin / "nested/src/main.link")
    os.link(twin / "nested/src/main.go", twin / "nested/src/main.hard")
    assert _key(twin, "nested/src") == _key(ctx, "src")


@pytest.mark.parametrize(
    "change",
    [
        lambda c: (c / "src/util/x.go").write_text("package util // changed\n"),
        lambda c: (c / "src/util/x.go").write_text("package utiL\n"),  # same size
        lambda c: os.chmod(c / "src/run.sh", 0o700),
        lambda c: os.chmod(c / "src/util", 0o700),
        lambda c: os.rename(c / "src/util/x.go", c / "src/util/y.go"),
        lambda c: (c / "src/new").write_bytes(b""),
        lambda c: (c / "src/util/x.go").unlink(),
        lambda c: (c / "src/empty").mkdir(),
        lambda c: os.symlink("elsewhere", c / "src/util/l"),
    ],
)
def test_checksum_sees_content_names_modes_and_entries(
    ctx: Path, change: Callable[[Path], object]
) -> None:
    before = _key(ctx, "src")
    change(ctx)
    assert _key(ctx, "src") != before


def test_file_checksum_sees_bytes_mode_and_name(ctx: Path) -> None:
    before = _key(ctx, "a.txt")
    (ctx / "c.txt").write_bytes((ctx / "a.txt").read_bytes())
    os.chmod(ctx / "c.txt", 0o640)
    assert _key(ctx, "c.txt") != before  # the name lands at the destination
    os.chmod(ctx / "a.txt", 0o644)
    assert _key(ctx, "a.txt") != before
    os.chmod(ctx / "a.txt", 0o640)
    assert _key(ctx, "a.txt") == before
    (ctx / "a.txt").write_bytes(b"b\n")
    assert _key(ctx, "a.txt") != before


def test_large_files_are_hashed_in_chunks(ctx: Path) -> None:
    (ctx / "big").write_bytes(b"\0" * (3 << 20) + b"x")
    before = _key(ctx, "big")
    (ctx / "big").write_bytes(b"\0" * (3 << 20) + b"y")
    assert _key(ctx, "big") != before


# -- destination rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workdir", "dest", "want"),
    [
        ("/", "/x", "/x"),
        ("/app", "x", "/app/x"),
        ("/app", "x/", "/app/x/"),
        ("/app", ".", "/app"),
        ("/app", "./", "/app/"),
        ("app", "../etc/", "/etc/"),
        ("/app", "/abs/../kept/", "/abs/../kept/"),
    ],
)
def test_normalize_dest(workdir: str, dest: str, want: str) -> None:
    assert normalize_dest(workdir, dest) == want


def _plan(ctx: Path, patterns: list[str], dest: str, workdir: str = "/", **kw: object):
    plan = plan_copy(resolve_sources(ctx, patterns), dest, workdir, **kw)  # type: ignore[arg-type]
    return plan.dest_dir, [(t.source.rel, t.name, t.unpack_to) for t in plan.targets]


@pytest.mark.parametrize(
    ("patterns", "dest", "workdir", "want"),
    [
        (["a.txt"], "/x", "/", ("/", [("a.txt", "x", "x")])),
        (["a.txt"], "/x/", "/", ("/x", [("a.txt", "a.txt", "")])),
        (["a.txt"], "x", "/app", ("/app", [("a.txt", "x", "x")])),
        (["a.txt"], "/", "/", ("/", [("a.txt", "a.txt", "")])),
        (["alias"], "/d/", "/", ("/d", [("alias", "alias", "")])),  # a symlink's own name
        (["src"], "/opt/src", "/", ("/opt/src", [("src", "", "")])),
        (["src"], ".", "/w", ("/w", [("src", "", "")])),
        (
            ["a.txt", "src"],
            "out/",
            "/w",
            ("/w/out", [("a.txt", "a.txt", ""), ("src", "", "")]),
        ),
        (["*.txt"], "/t/", "/", ("/t", [("a.txt", "a.txt", ""), ("b.txt", "b.txt", "")])),
    ],
)
def test_plan_copy(
    ctx: Path, patterns: list[str], dest: str, workdir: str, want: tuple[str, list]
) -> None:
    assert _plan(ctx, patterns, dest, workdir) == want


def test_existing_directory_takes_a_single_file(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    assert _plan(ctx, ["a.txt"], "/etc") == ("/", [("a.txt", "etc", "etc")])
    assert _plan(ctx, ["a.txt"], "/etc", scope=rootfs) == ("/etc", [("a.txt", "a.txt", "")])
    assert _plan(ctx, ["a.txt"], ".", "/etc", scope=rootfs) == ("/etc", [("a.txt", "a.txt", "")])


@pytest.mark.parametrize("keyword", ["COPY", "ADD"])
def test_several_sources_need_a_slash(ctx: Path, keyword: str) -> None:
    for patterns, dest in ((["a.txt", "b.txt"], "/x"), (["*.txt"], "."), (["a.txt", "src"], "d")):
        with pytest.raises(CopyError) as info:
            plan_copy(resolve_sources(ctx, patterns), dest, "/", keyword=keyword)
        assert info.value.message == (
            f"When using {keyword} with more than one source file, the destination must be a "
            "directory and end with a /"
        )


# -- the round trip ---------------------------------------------------------------------


def test_copy_dir_contents_owned_by_root(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    copy(rootfs, ctx, ["src"], "/app/src")
    root = _root(rootfs)
    app = root / "app/src"
    assert sorted(p.name for p in app.iterdir()) == [
        "main.go",
        "main.hard",
        "main.link",
        "run.sh",
        "util",
    ]
    assert _owner_mode(root / "app") == (0, 0, 0o755)
    assert _owner_mode(app) == (0, 0, 0o755)
    assert _owner_mode(app / "run.sh") == (0, 0, 0o755)
    assert _owner_mode(app / "util/x.go")[:2] == (0, 0)
    assert (app / "util/x.go").read_text() == "package util\n"
    assert os.readlink(app / "main.link") == "main.go"
    assert os.lstat(app / "main.link")[4:6] == (0, 0)
    assert (app / "main.hard").stat().st_ino == (app / "main.go").stat().st_ino


def test_copy_single_file_keeps_mode_and_mtime(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    copy(rootfs, ctx, ["a.txt"], "/etc/renamed")
    copy(rootfs, ctx, ["a.txt", "b.txt"], "/etc/")
    copy(rootfs, ctx, ["alias"], "docs/", workdir="/usr/share")
    root = _root(rootfs)
    assert (root / "etc/renamed").read_text() == "a\n"
    assert _owner_mode(root / "etc/renamed") == (0, 0, 0o640)
    assert (root / "etc/renamed").stat().st_mtime == 1_500_000_000
    assert (root / "etc/a.txt").read_text() == "a\n"
    assert (root / "etc/b.txt").read_text() == "b\n"
    assert (root / "usr/share/docs/alias").read_text() == "a\n"  # followed, named as written
    assert not (root / "usr/share/docs/alias").is_symlink()


def test_copy_into_an_existing_directory(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    root = _root(rootfs)
    os.chown(root / "etc", 7, 7)
    os.chmod(root / "etc", 0o700)
    copy(rootfs, ctx, ["a.txt"], "/etc")
    assert (root / "etc/a.txt").read_text() == "a\n"
    assert _owner_mode(root / "etc") == (7, 7, 0o700)  # not ours: untouched


def test_copy_chown_and_chmod(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    copy(rootfs, ctx, ["src"], "/srv/app/", chown=(1000, 1001), chmod=0o750)
    root = _root(rootfs)
    for rel in ("srv", "srv/app"):
        assert _owner_mode(root / rel) == (1000, 1001, 0o755)
    for rel in ("main.go", "run.sh", "util", "util/x.go"):
        assert _owner_mode(root / "srv/app" / rel) == (1000, 1001, 0o750)
    link = os.lstat(root / "srv/app/main.link")
    assert (link.st_uid, link.st_gid) == (1000, 1001)


def test_hard_links_are_not_shared_across_sources(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    copy(rootfs, ctx, ["src/main.go", "src/main.hard"], "/h/")
    root = _root(rootfs)
    assert (root / "h/main.go").stat().st_ino != (root / "h/main.hard").stat().st_ino
    assert (root / "h/main.hard").read_text() == "package main\n"


def test_copy_of_a_tar_is_not_unpacked(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    data = gzip.compress(make_tar(reg("inner", b"x")))
    (ctx / "app.tar.gz").write_bytes(data)
    copy(rootfs, ctx, ["app.tar.gz"], "/")
    assert (_root(rootfs) / "app.tar.gz").read_bytes() == data


# -- ADD archives -----------------------------------------------------------------------


def _archive(ctx: Path, name: str, data: bytes) -> None:
    (ctx / name).write_bytes(data)


ARCHIVE = make_tar(
    node("./", tarfile.DIRTYPE),
    node("pkg", tarfile.DIRTYPE, mode=0o700, uid=42, gid=43),
    reg("pkg/bin", b"#!/bin/sh\n", mode=0o4755, uid=42, gid=43, mtime=1_234_567_890),
    node("pkg/sh", tarfile.SYMTYPE, linkname="bin", uid=42, gid=43),
    node("pkg/bin2", tarfile.LNKTYPE, linkname="./pkg/bin"),
    node("/etc/abs", tarfile.DIRTYPE, uid=5, gid=6),  # absolute names are made relative
)


@pytest.mark.parametrize(
    "compress",
    [lambda b: b, gzip.compress, bz2.compress, lzma.compress],
    ids=["plain", "gzip", "bzip2", "xz"],
)
def test_add_unpacks_local_archives(
    ctx: Path, rootfs: archive.ScopedRoot, compress: Callable[[bytes], bytes]
) -> None:
    _archive(ctx, "app.bin", compress(ARCHIVE))  # sniffed, never by name
    copy(rootfs, ctx, ["app.bin"], "/opt/", add=True, chown=(1000, 1000))
    opt = _root(rootfs) / "opt"
    assert not (opt / "app.bin").exists()
    assert _owner_mode(opt / "pkg") == (42, 43, 0o700)  # the archive's owners, not --chown
    assert _owner_mode(opt / "pkg/bin") == (42, 43, 0o4755)
    assert (opt / "pkg/bin").stat().st_mtime == 1_234_567_890
    assert os.readlink(opt / "pkg/sh") == "bin"
    assert (opt / "pkg/bin2").stat().st_ino == (opt / "pkg/bin").stat().st_ino
    assert _owner_mode(opt / "etc/abs")[:2] == (5, 6)


def test_add_archive_to_a_new_name_unpacks_into_it(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    _archive(ctx, "app.tgz", gzip.compress(ARCHIVE))
    copy(rootfs, ctx, ["app.tgz"], "/opt/app", add=True)
    app = _root(rootfs) / "opt/app"
    assert _owner_mode(app) == (0, 0, 0o755)
    assert (app / "pkg/bin").read_bytes() == b"#!/bin/sh\n"
    assert (app / "pkg/bin2").stat().st_ino == (app / "pkg/bin").stat().st_ino


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.tar.gz", b"just text, whatever the name says\n"),
        ("empty.tar", b"\0" * 1024),  # no first header: dockerd copies it
        ("zero.tar", b""),
        ("broken.tgz", b"\x1f\x8b\x08garbage"),
    ],
)
def test_add_copies_what_is_no_archive(
    ctx: Path, rootfs: archive.ScopedRoot, name: str, data: bytes
) -> None:
    _archive(ctx, name, data)
    copy(rootfs, ctx, [name], "/in/", add=True)
    assert (_root(rootfs) / "in" / name).read_bytes() == data


def test_add_never_unpacks_downloads(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    data = make_tar(reg("inner", b"x"))
    _archive(ctx, "download", data)
    source = CopySource(ctx / "download", "download", False, no_decompress=True)
    plan = plan_copy([source], "/d/", "/")
    ensure_dest_dir(rootfs, plan.dest_dir, None)
    spool = io.BytesIO()
    write_copy_tar(plan, spool, chown=None, chmod=None, extract_archives=True)
    spool.seek(0)
    archive.extract(rootfs, plan.dest_dir, spool, archive.ExtractOptions(False, None))
    assert (_root(rootfs) / "d/download").read_bytes() == data


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([reg("../evil", b"x")], '"../evil" is outside of "/opt"'),
        ([reg("a/../../evil", b"x")], '"../evil" is outside of "/opt"'),
        (
            [node("up", tarfile.SYMTYPE, linkname="../../etc")],
            'invalid symlink "/etc" -> "../../etc"',
        ),
        (
            [node("stolen", tarfile.LNKTYPE, linkname="../outside/victim")],
            '"../outside/victim" is outside of "/opt"',
        ),
    ],
)
def test_add_refuses_hostile_archives(
    ctx: Path, rootfs: archive.ScopedRoot, outside: Path, entries: list, message: str
) -> None:
    _archive(ctx, "evil.tar", make_tar(*entries))
    with pytest.raises(CopyError) as info:
        copy(rootfs, ctx, ["evil.tar"], "/opt/", add=True)
    assert info.value.message == message
    assert (outside / "victim").read_text() == "original"
    assert not (_root(rootfs).parent / "evil").exists()


def test_add_archive_cannot_link_host_files(ctx: Path, rootfs: archive.ScopedRoot) -> None:
    _archive(ctx, "evil.tar", make_tar(node("passwd", tarfile.LNKTYPE, linkname="/etc/passwd")))
    with pytest.raises(errdefs.EngineError):  # resolved under /opt, where it does not exist
        copy(rootfs, ctx, ["evil.tar"], "/opt/", add=True)
    assert not (_root(rootfs) / "opt/passwd").exists()


def test_add_archive_through_a_symlinked_dir_stays_in_the_root(
    ctx: Path, rootfs: archive.ScopedRoot, outside: Path
) -> None:
    os.symlink(str(outside), _root(rootfs) / "escape")
    _archive(ctx, "a.tar", make_tar(reg("victim", b"pwned"), reg("sub/new", b"n")))
    copy(rootfs, ctx, ["a.tar"], "/escape/", add=True)
    assert (outside / "victim").read_text() == "original"
    inside = _root(rootfs) / outside.relative_to("/")
    assert (inside / "victim").read_bytes() == b"pwned"
    assert (inside / "sub/new").read_bytes() == b"n"


# -- ensure_dest_dir --------------------------------------------------------------------


def test_ensure_dest_dir_creates_only_what_is_missing(rootfs: archive.ScopedRoot) -> None:
    root = _root(rootfs)
    os.chmod(root / "etc", 0o711)
    old = os.umask(0o077)
    try:
        ensure_dest_dir(rootfs, "/etc/app/conf.d", (1000, 1001))
        ensure_dest_dir(rootfs, "/etc/app/conf.d", (5, 5))  # all there: nothing changes
    finally:
        os.umask(old)
    assert _owner_mode(root / "etc") == (0, 0, 0o711)
    assert _owner_mode(root / "etc/app") == (1000, 1001, 0o755)
    assert _owner_mode(root / "etc/app/conf.d") == (1000, 1001, 0o755)
    ensure_dest_dir(rootfs, "/", None)
    ensure_dest_dir(rootfs, "var//lib/./x/", None)
    assert _owner_mode(root / "var/lib/x") == (0, 0, 0o755)


@pytest.mark.parametrize("target", ["abs", "rel"])
def test_ensure_dest_dir_follows_symlinks_inside_only(
    rootfs: archive.ScopedRoot, outside: Path, target: str
) -> None:
    root = _root(rootfs)
    link = str(outside) if target == "abs" else "../" * 12 + str(outside).lstrip("/")
    os.symlink(link, root / "escape")
    ensure_dest_dir(rootfs, "/escape/new/deeper", None)
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (root / outside.relative_to("/") / "new/deeper").is_dir()
    assert os.readlink(root / "escape") == link


def test_ensure_dest_dir_not_a_directory(rootfs: archive.ScopedRoot) -> None:
    (_root(rootfs) / "etc/hosts").write_text("x")
    with pytest.raises(CopyError) as info:
        ensure_dest_dir(rootfs, "/etc/hosts/x", None)
    assert info.value.message == "mkdir /etc/hosts: not a directory"
