"""archive.py: in-scope path resolution (hostile symlinks included), the stat header, the tar
it writes and the extraction rules of PUT /containers/{id}/archive."""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers import archive
from dockerpy_engine.containers.archive import (
    ExtractOptions,
    RequestPath,
    ScopedRoot,
    TarWriter,
    absolute_request_path,
    go_clean,
    go_file_mode,
    go_time,
    path_stat,
    write_tree,
)
from dockerpy_engine.idmap import IdentityMapping, IDMap, UnmappableID

EMPTY_TAR_SHA = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A small container root, with an outside world next to it that must stay unreachable."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host secret\n")
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:\n")
    (r / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (r / "data").mkdir()
    (r / "data" / "b.txt").write_text("b\n")
    (r / "data" / "a.txt").write_text("a\n")
    (r / "data" / "sub").mkdir()
    (r / "data" / "sub" / "c.txt").write_text("c\n")
    os.symlink("/", r / "to_root")
    os.symlink("../../../..", r / "up")
    os.symlink("../" * 8 + "outside/secret", r / "escape")
    os.symlink(str(outside), r / "abs_outside")
    os.symlink("data", r / "datalink")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.symlink("/nowhere/else", r / "dangling")
    return r


@pytest.fixture
def scope(root: Path):
    with ScopedRoot.open(root) as s:
        yield s


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def _tar_names(data: bytes) -> list[str]:
    return [m.name for m in _members(data)]


def _tar_of(scope: ScopedRoot, path: str) -> bytes:
    request = RequestPath.parse(path)
    out = io.BytesIO()
    with scope.resolve_request(request) as node:
        tar = TarWriter(out.write)
        write_tree(scope, node, request.name, tar)
        tar.close()
    return out.getvalue()


# -- paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "."),
        ("/", "/"),
        ("a//b/./c/..", "a/b"),
        ("/../x", "/x"),
        ("../x", "../x"),
        ("a/../..", ".."),
    ],
)
def test_go_clean(path: str, expected: str) -> None:
    assert go_clean(path) == expected


@pytest.mark.parametrize(
    ("path", "absolute", "name"),
    [
        ("etc/passwd", "/etc/passwd", "passwd"),
        ("/etc/", "/etc/", "etc"),
        ("/etc/.", "/etc/.", "."),
        (".", "/.", "."),
        ("/", "/", "/"),
        ("/a/../../etc", "/etc", "etc"),
    ],
)
def test_request_path(path: str, absolute: str, name: str) -> None:
    assert absolute_request_path(path) == absolute
    assert RequestPath.parse(path).name == name


# -- stat --------------------------------------------------------------------------------


def test_go_file_mode_bits() -> None:
    assert go_file_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    assert go_file_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert go_file_mode(stat.S_IFCHR | 0o600) == (1 << 26) | (1 << 21) | 0o600
    assert go_file_mode(stat.S_IFREG | stat.S_ISUID | 0o755) == (1 << 23) | 0o755
    assert go_file_mode(stat.S_IFDIR | stat.S_ISVTX | 0o777) == (1 << 31) | (1 << 20) | 0o777


def test_go_time() -> None:
    assert go_time(1_704_067_200_000_000_000) == "2024-01-01T00:00:00Z"
    assert go_time(1_704_067_200_120_000_000) == "2024-01-01T00:00:00.12Z"


def test_stat_header_is_base64_json(scope: ScopedRoot) -> None:
    st = path_stat(scope, RequestPath.parse("/etc/passwd"))
    decoded = json.loads(base64.b64decode(archive.stat_header(st)))
    assert list(decoded) == ["name", "size", "mode", "mtime", "linkTarget"]
    assert decoded["name"] == "passwd"
    assert decoded["mode"] == 0o644
    assert decoded["linkTarget"] == ""


def test_stat_of_symlinks_resolves_targets_inside(scope: ScopedRoot, root: Path) -> None:
    link = path_stat(scope, RequestPath.parse("/datalink"))
    assert link["mode"] & archive.MODE_SYMLINK
    assert link["linkTarget"] == "/data"
    assert path_stat(scope, RequestPath.parse("/up"))["linkTarget"] == "/"
    outside = str(root.parent / "outside")  # taken as a path inside the container
    assert path_stat(scope, RequestPath.parse("/abs_outside"))["linkTarget"] == outside
    escape = path_stat(scope, RequestPath.parse("/escape"))
    assert escape["linkTarget"] == "/outside/secret"  # clamped at the root, then lexical
    assert path_stat(scope, RequestPath.parse("/dangling"))["linkTarget"] == "/nowhere/else"
    followed = path_stat(scope, RequestPath.parse("/datalink/"))
    assert followed["mode"] & archive.MODE_DIR and followed["name"] == "datalink"


def test_trailing_slash_needs_a_directory(scope: ScopedRoot) -> None:
    with pytest.raises(NotADirectoryError):
        path_stat(scope, RequestPath.parse("/etc/passwd/"))
    with pytest.raises(FileNotFoundError):
        path_stat(scope, RequestPath.parse("/nope"))


# -- confinement -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/to_root/etc/passwd",
        "/up/etc/passwd",
        "/up/up/up/../../etc/passwd",
        "/../../../etc/passwd",
        "/datalink/../to_root/../etc/passwd",
    ],
)
def test_every_route_to_passwd_stays_inside(scope: ScopedRoot, root: Path, path: str) -> None:
    with scope.resolve(path, follow=True) as node:
        assert node.parts == ("etc", "passwd")
        fd = os.open(node.name, os.O_RDONLY, dir_fd=node.parent)
        with os.fdopen(fd) as f:
            assert f.read().startswith("root:x:0:0")


@pytest.mark.parametrize("path", ["/escape", "/up/outside/secret", "/abs_outside/secret"])
def test_symlinks_out_of_the_root_find_nothing(scope: ScopedRoot, path: str) -> None:
    with pytest.raises(FileNotFoundError), scope.resolve(path, follow=True) as node:
        node.lstat()
    assert scope.read_file(path) is None


def test_symlink_loops_and_files_in_the_middle(scope: ScopedRoot) -> None:
    with pytest.raises(OSError) as info:
        scope.resolve("/loop1/x", follow=True)
    assert info.value.errno == errno.ELOOP
    with pytest.raises(NotADirectoryError):
        scope.resolve("/etc/passwd/x", follow=True)


def test_final_symlink_kept_unless_followed(scope: ScopedRoot) -> None:
    with scope.resolve("/to_root", follow=False) as node:
        assert stat.S_ISLNK(node.lstat().st_mode)
    with scope.resolve("/to_root", follow=True) as node:
        assert node.parts == () and node.name == ""


def test_bind_mounted_files_stand_in(root: Path, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    with ScopedRoot.open(root, {"/etc/hosts": hosts}) as scope:
        assert scope.read_file("/to_root/etc/hosts") == b"127.0.0.1 localhost\n"
        names = _tar_names(_tar_of(scope, "/etc"))
        assert names == ["etc", "etc/group", "etc/hosts", "etc/passwd"]
        with pytest.raises(NotADirectoryError):
            scope.resolve("/etc/hosts/x", follow=True)


# -- tars --------------------------------------------------------------------------------


def test_tar_of_a_directory_is_rebased_and_sorted(scope: ScopedRoot) -> None:
    data = _tar_of(scope, "/data")
    assert _tar_names(data) == ["data", "data/a.txt", "data/b.txt", "data/sub", "data/sub/c.txt"]
    raw = _members(data)
    assert raw[0].isdir() and raw[1].size == 2
    assert len(data) % 512 == 0 and data.endswith(b"\0" * 1024)


def test_tar_names_for_dot_root_and_followed_links(scope: ScopedRoot) -> None:
    assert _tar_names(_tar_of(scope, "/data/."))[:2] == [".", "./a.txt"]
    assert _tar_names(_tar_of(scope, "/datalink/"))[:2] == ["datalink", "datalink/a.txt"]
    data = _tar_of(scope, "/")
    assert data[:2] == b"/\0"  # the root entry is named "/" (tarfile strips the slash)
    assert "/etc/passwd" in _tar_names(data)


def test_tar_of_a_symlink_is_the_link(scope: ScopedRoot) -> None:
    members = _members(_tar_of(scope, "/to_root"))
    assert len(members) == 1
    assert members[0].issym() and members[0].linkname == "/"


def test_hard_links_become_links(scope: ScopedRoot, root: Path) -> None:
    os.link(root / "data" / "a.txt", root / "data" / "z.txt")
    members = _members(_tar_of(scope, "/data"))
    z = next(m for m in members if m.name == "data/z.txt")
    assert z.islnk() and z.linkname == "data/a.txt"


def test_empty_tar_is_go_s_empty_layer() -> None:
    out = io.BytesIO()
    TarWriter(out.write).close()
    assert hashlib.sha256(out.getvalue()).hexdigest() == EMPTY_TAR_SHA


# -- extraction --------------------------------------------------------------------------


def _tar(*entries: tuple[str, str, bytes | str]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_704_067_200
            info.uid = info.gid = 4321
            if kind == "file":
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                info.mode = 0o640
                tar.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o750
                tar.addfile(info)
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = str(payload)
                tar.addfile(info)
            elif kind == "link":
                info.type = tarfile.LNKTYPE
                info.linkname = str(payload)
                tar.addfile(info)
    buf.seek(0)
    return buf


def _extract(scope: ScopedRoot, dest: str, buf: io.BytesIO, **options) -> None:
    with scope.resolve(dest, follow=True) as node:
        archive.extract(scope, node.parts, buf, ExtractOptions(**options))


def test_extract_files_dirs_and_owners(scope: ScopedRoot, root: Path) -> None:
    _extract(
        scope,
        "/data",
        _tar(("new", "dir", ""), ("new/f.txt", "file", "hello"), ("deep/er/g.txt", "file", "g")),
    )
    f = root / "data" / "new" / "f.txt"
    assert f.read_text() == "hello"
    st = f.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4321, 4321, 0o640)
    assert int(st.st_mtime) == 1_704_067_200
    assert stat.S_IMODE((root / "data" / "new").stat().st_mode) == 0o750
    assert (root / "data" / "deep" / "er" / "g.txt").read_text() == "g"


def test_extract_with_copy_uid_gid(scope: ScopedRoot, root: Path) -> None:
    _extract(scope, "/data", _tar(("f", "file", "x")), chown=(65534, 65534))
    assert (root / "data" / "f").stat().st_uid == 65534


REMAP = IdentityMapping(uids=(IDMap(0, 100000, 65536),), gids=(IDMap(0, 200000, 65536),))


def test_extract_into_a_remapped_container_moves_owners(scope: ScopedRoot, root: Path) -> None:
    _extract(scope, "/data", _tar(("f", "file", "x")), ids=REMAP)
    st = (root / "data" / "f").stat()
    assert (st.st_uid, st.st_gid) == (104321, 204321)
    _extract(scope, "/data", _tar(("g", "file", "x")), chown=(101000, 201000), ids=REMAP)
    assert (root / "data" / "g").stat().st_uid == 101000  # copyUIDGID: already the host's


def test_a_remapped_tar_writer_writes_container_ids() -> None:
    out = io.BytesIO()
    tar = TarWriter(out.write, REMAP)
    info = tarfile.TarInfo("f")
    info.uid, info.gid = 101000, 200000
    tar.add(info)
    tar.close()
    (member,) = _members(out.getvalue())
    assert (member.uid, member.gid) == (1000, 0)
    info = tarfile.TarInfo("root-owned")
    with pytest.raises(UnmappableID):
        TarWriter(io.BytesIO().write, REMAP).add(info)  # host uid 0 has no container id


def test_extract_through_a_symlink_to_root_stays_inside(scope: ScopedRoot, root: Path) -> None:
    _extract(scope, "/", _tar(("up/planted", "file", "x"), ("to_root/etc/planted", "file", "y")))
    assert (root / "planted").read_text() == "x"
    assert (root / "etc" / "planted").read_text() == "y"
    assert not (root.parent.parent / "planted").exists()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ((("../evil", "file", "x"),), "is outside of"),
        ((("evil", "sym", "../../../outside"),), "invalid symlink"),
        ((("evil", "link", "../etc/passwd"),), "invalid hardlink"),
    ],
)
def test_extract_refuses_breakouts(scope: ScopedRoot, entries, message: str) -> None:
    with pytest.raises(errdefs.EngineError) as info:
        _extract(scope, "/data", _tar(*entries))
    assert message in info.value.message


def test_extract_allows_absolute_symlinks_and_links_inside(scope: ScopedRoot, root: Path) -> None:
    _extract(
        scope,
        "/data",
        _tar(("abs", "sym", "/etc/passwd"), ("hard", "link", "a.txt"), ("rel", "sym", "sub/c.txt")),
    )
    assert os.readlink(root / "data" / "abs") == "/etc/passwd"
    assert (root / "data" / "hard").stat().st_ino == (root / "data" / "a.txt").stat().st_ino


def test_no_overwrite_dir_non_dir(scope: ScopedRoot, root: Path) -> None:
    with pytest.raises(errdefs.EngineError) as info:
        _extract(scope, "/data", _tar(("sub", "file", "x")), no_overwrite_dir_non_dir=True)
    assert info.value.message == 'cannot overwrite directory "/data/sub" with non-directory "/data"'
    with pytest.raises(errdefs.EngineError) as info:
        _extract(scope, "/data", _tar(("a.txt", "dir", "")), no_overwrite_dir_non_dir=True)
    assert "cannot overwrite non-directory" in info.value.message
    _extract(scope, "/data", _tar(("sub", "file", "now a file")))
    assert (root / "data" / "sub").read_text() == "now a file"


def test_existing_symlink_is_replaced_not_followed(scope: ScopedRoot, root: Path) -> None:
    _extract(scope, "/", _tar(("escape", "file", "replaced")))
    assert (root / "escape").read_text() == "replaced"
    assert (root.parent / "outside" / "secret").read_text() == "host secret\n"


def test_bind_mounted_file_is_busy(root: Path, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("x\n")
    with ScopedRoot.open(root, {"/etc/hosts": hosts}) as scope, pytest.raises(errdefs.System):
        _extract(scope, "/etc", _tar(("hosts", "file", "y")))
    assert hosts.read_text() == "x\n"


# -- mounted directories -----------------------------------------------------------------


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    """A host directory to mount into the root: a file, a subdirectory, links that climb."""
    v = tmp_path / "volume"
    (v / "sub").mkdir(parents=True)
    (v / "x").write_text("in volume\n")
    (v / "sub" / "y").write_text("deeper\n")
    os.symlink("/etc/passwd", v / "abs")
    os.symlink("../../../../../../outside/secret", v / "climb")
    v.chmod(0o710)
    return v


def test_a_mounted_directory_is_walked_in_place(root: Path, volume: Path, tmp_path: Path) -> None:
    mounts = {"/data/vol": archive.ViewMount(volume), "/srv/deep/mnt": volume}
    with ScopedRoot.open(root, mounts, placeholder=_empty(tmp_path)) as scope:
        assert scope.read_file("/data/vol/x") == b"in volume\n"
        assert scope.read_file("/datalink/vol/sub/y") == b"deeper\n"
        # `..` at the mount's top and absolute links inside it stay in the container
        assert scope.read_file("/data/vol/../a.txt") == b"a\n"
        assert scope.read_file("/data/vol/abs") == (root / "etc" / "passwd").read_bytes()
        assert scope.read_file("/data/vol/climb") is None
        with scope.resolve("/data/vol", follow=True) as node:
            assert node.name == "" and node.parts == ("data", "vol")
            assert stat.S_IMODE(node.lstat().st_mode) == 0o710  # the source's own directory
        assert _tar_names(_tar_of(scope, "/data")) == [
            "data", "data/a.txt", "data/b.txt", "data/sub", "data/sub/c.txt",
            "data/vol", "data/vol/abs", "data/vol/climb", "data/vol/sub", "data/vol/sub/y",
            "data/vol/x",
        ]  # fmt: skip
        # directories missing from the rootfs on the way to a mount read as empty ones
        assert _tar_names(_tar_of(scope, "/srv"))[:4] == [
            "srv", "srv/deep", "srv/deep/mnt", "srv/deep/mnt/abs",
        ]  # fmt: skip
        assert scope.read_file("/srv/deep/mnt/x") == b"in volume\n"
        stat_of = path_stat(scope, RequestPath.parse("/srv/deep/mnt"))
        assert stat_of["mode"] == (1 << 31) | 0o710
    assert not (root / "srv").exists()


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty"
    path.mkdir(exist_ok=True)
    return path


def test_mount_destinations_resolve_through_the_roots_symlinks(root: Path, volume: Path) -> None:
    """dockerd mounts at GetResourcePath(destination): /datalink/vol lands on /data/vol."""
    with ScopedRoot.open(root, {"/datalink/vol": volume}) as scope:
        assert scope.read_file("/data/vol/x") == b"in volume\n"
        assert "data/vol/x" in _tar_names(_tar_of(scope, "/data"))


def test_extract_into_a_mounted_directory(root: Path, volume: Path, tmp_path: Path) -> None:
    mounts = {"/data/vol": volume, "/srv/mnt": volume}
    with ScopedRoot.open(root, mounts, placeholder=_empty(tmp_path)) as scope:
        _extract(scope, "/data/vol", _tar(("new/f", "file", "put")))
        _extract(scope, "/srv", _tar(("g", "file", "beside")))
        # a directory entry on the mount's top: Untar finds a directory there and re-owns it
        _extract(scope, "/data", _tar(("vol", "dir", ""), ("vol/h", "file", "h")))
        with pytest.raises(archive.ArchiveError, match="device or resource busy"):
            _extract(scope, "/data", _tar(("vol", "file", "not a dir")))
    assert (volume / "new" / "f").read_text() == "put"
    assert (volume / "h").read_text() == "h"
    assert stat.S_IMODE(volume.stat().st_mode) == 0o750
    assert (volume.stat().st_uid, volume.stat().st_gid) == (4321, 4321)
    assert not (root / "data" / "vol" / "new").exists()
    assert (root / "srv" / "g").read_text() == "beside"  # a real directory, made as MkdirAll
    assert os.listdir(tmp_path / "empty") == []


def test_a_read_only_mount_refuses_writes(root: Path, volume: Path) -> None:
    mounts = {"/data/ro": archive.ViewMount(volume, read_only=True)}
    with ScopedRoot.open(root, mounts) as scope:
        assert scope.read_only_at(("data", "ro", "x")) and not scope.read_only_at(("data",))
        for dest, entries in (
            ("/data/ro", [("x", "file", "overwrite")]),
            ("/data/ro", [("made/deep/f", "file", "f")]),
            ("/data", [("ro", "dir", "")]),
        ):
            with pytest.raises(OSError) as caught:
                _extract(scope, dest, _tar(*entries))
            assert caught.value.errno == errno.EROFS
    assert (volume / "x").read_text() == "in volume\n"
    assert sorted(os.listdir(volume)) == ["abs", "climb", "sub", "x"]
