"""Layer extraction: metadata fidelity, DiffIDs, whiteouts, and hostile tars that try to escape."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import hashlib
import io
import lzma
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockerpy_engine.idmap import IdentityMapping, IDMap, UnmappableID
from dockerpy_engine.images.layers import (
    ARCHIVE,
    LAYER,
    LayerError,
    clean_member_name,
    copy_file,
    extract,
    sha256_file,
)


def _member(name: str, kind: bytes = tarfile.REGTYPE, **attrs: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o644 if kind == tarfile.REGTYPE else 0o755
    info.mtime = 1_600_000_000
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def make_tar(*entries: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def reg(name: str, data: bytes = b"x", **attrs: object) -> tuple[tarfile.TarInfo, bytes]:
    return _member(name, **attrs), data


def node(name: str, kind: bytes, **attrs: object) -> tuple[tarfile.TarInfo, None]:
    return _member(name, kind, **attrs), None


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "layer"
    path.mkdir()
    return path


def run(data: bytes, dest: Path, **kwargs: object):
    return extract(io.BytesIO(data), dest, **kwargs)  # type: ignore[arg-type]


def test_metadata_is_preserved(dest: Path) -> None:
    data = make_tar(
        node("bin", tarfile.DIRTYPE, mode=0o750, uid=7, gid=8, mtime=1_500_000_000),
        reg("bin/su", b"#!/bin/sh\n", mode=0o4755, uid=0, gid=0),
        reg("bin/owned", b"abc", mode=0o640, uid=1000, gid=1001, mtime=1_234_567_890),
        node("bin/sh", tarfile.SYMTYPE, linkname="su", uid=5, gid=6),
        node("bin/su2", tarfile.LNKTYPE, linkname="bin/su"),
        node("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666),
        node("run/fifo", tarfile.FIFOTYPE, mode=0o600),
    )
    stats = run(data, dest)
    su = (dest / "bin/su").stat()
    assert stat.S_IMODE(su.st_mode) == 0o4755
    owned = (dest / "bin/owned").stat()
    assert (owned.st_uid, owned.st_gid, stat.S_IMODE(owned.st_mode)) == (1000, 1001, 0o640)
    assert owned.st_mtime == 1_234_567_890
    bindir = (dest / "bin").stat()
    assert (bindir.st_uid, bindir.st_gid, stat.S_IMODE(bindir.st_mode)) == (7, 8, 0o750)
    assert bindir.st_mtime == 1_500_000_000  # restored after children were created
    assert os.readlink(dest / "bin/sh") == "su"
    link = os.lstat(dest / "bin/sh")
    assert (link.st_uid, link.st_gid) == (5, 6)
    assert (dest / "bin/su2").stat().st_ino == su.st_ino
    null = os.lstat(dest / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1
    assert os.minor(null.st_rdev) == 3
    assert stat.S_ISFIFO(os.lstat(dest / "run/fifo").st_mode)
    assert stats.size == len(b"#!/bin/sh\n") + 3
    assert stats.tar_size == len(data)
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()


def test_xattrs_are_applied_but_overlay_ones_dropped(dest: Path) -> None:
    info, data = reg("f", b"x")
    info.pax_headers = {
        "SCHILY.xattr.user.comment": "hello",
        "SCHILY.xattr.trusted.overlay.opaque": "y",
    }
    run(make_tar((info, data)), dest)
    assert os.getxattr(dest / "f", "user.comment") == b"hello"
    with pytest.raises(OSError):
        os.getxattr(dest / "f", "trusted.overlay.opaque")


@pytest.mark.parametrize(
    "compress",
    [lambda b: b, gzip.compress, bz2.compress, lzma.compress],
    ids=["plain", "gzip", "bzip2", "xz"],
)
def test_diff_id_is_of_uncompressed_bytes_and_tar_is_kept(
    dest: Path, tmp_path: Path, compress
) -> None:
    data = make_tar(reg("a", b"hello" * 1000), reg("d/b", b"world"))
    kept = tmp_path / "layer.tar"
    stats = run(compress(data), dest, keep_tar=kept)
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert stats.tar_size == len(data)
    assert kept.read_bytes() == data
    assert sha256_file(kept) == stats.diff_id
    assert not kept.with_name("layer.tar.tmp").exists()
    out = io.BytesIO()
    assert copy_file(kept, out) == len(data)
    assert (dest / "d/b").read_bytes() == b"world"


def test_zstd_layers(dest: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    data = make_tar(reg("a", b"z"))
    stats = run(zstandard.ZstdCompressor().compress(data), dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()


def test_trailing_bytes_count_in_diff_id(dest: Path) -> None:
    data = make_tar(reg("a")) + b"\0" * 4096 + b"junk"
    stats = run(data, dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert stats.tar_size == len(data)


def test_empty_stream_is_an_empty_layer(dest: Path) -> None:
    stats = run(b"", dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert list(dest.iterdir()) == []


def test_corrupt_gzip_is_refused(dest: Path, tmp_path: Path) -> None:
    data = gzip.compress(make_tar(reg("a", b"x" * 100_000)))
    kept = tmp_path / "layer.tar"
    with pytest.raises(LayerError):
        run(data[: len(data) // 2], dest, keep_tar=kept)
    assert not kept.exists() and not kept.with_name("layer.tar.tmp").exists()


def test_garbage_is_refused(dest: Path) -> None:
    with pytest.raises(LayerError):
        run(b"this is not a tar archive at all" * 40, dest)


# -- hostile tars ---------------------------------------------------------------------


def test_absolute_names_are_made_relative(dest: Path) -> None:
    run(make_tar(reg("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"), reg("/../../x")), dest)
    assert (dest / "etc/passwd").read_text().startswith("root:")
    assert (dest / "x").exists()


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "./../evil", "../../../../evil"])
def test_dotdot_stops_at_the_root(dest: Path, name: str) -> None:
    """dockerd unpacks chrooted into the layer: `..` above the root is the root."""
    run(make_tar(reg(name, b"x")), dest)
    assert not (dest.parent / "evil").exists()
    assert (dest / "evil").read_bytes() == b"x"


def test_symlink_parent_to_absolute_outside_stays_in_scope(dest: Path, outside: Path) -> None:
    data = make_tar(
        node("link", tarfile.SYMTYPE, linkname=str(outside)),
        reg("link/victim", b"pwned"),
        reg("link/new", b"pwned"),
    )
    run(data, dest)
    assert (outside / "victim").read_text() == "original"
    assert not (outside / "new").exists()
    inside = dest / str(outside).lstrip("/")
    assert (inside / "victim").read_bytes() == b"pwned"
    assert (inside / "new").read_bytes() == b"pwned"


def test_symlink_parent_to_root_resolves_to_layer_root(dest: Path) -> None:
    run(make_tar(node("r", tarfile.SYMTYPE, linkname="/"), reg("r/etc/hosts", b"h")), dest)
    assert (dest / "etc/hosts").read_bytes() == b"h"


def test_chained_symlinks_with_dotdot_stay_in_scope(dest: Path, outside: Path) -> None:
    data = make_tar(
        node("a", tarfile.DIRTYPE),
        node("a/up", tarfile.SYMTYPE, linkname="/a/../.."),
        reg("a/up/victim", b"pwned"),
    )
    run(data, dest)
    assert (outside / "victim").read_text() == "original"
    assert (dest / "victim").read_bytes() == b"pwned"


@pytest.mark.parametrize(
    ("target", "lands"),
    [("../..", "victim"), ("../outside", "outside/victim"), ("a/../..", "victim")],
)
def test_relative_symlinks_climbing_out_are_kept_and_resolve_inside(
    dest: Path, outside: Path, target: str, lands: str
) -> None:
    """Real images have links that overshoot the root; dockerd keeps them, and writing
    through one lands inside, where `..` stops at the root."""
    run(make_tar(node("l", tarfile.SYMTYPE, linkname=target), reg("l/victim", b"pwned")), dest)
    assert os.readlink(dest / "l") == target
    assert (outside / "victim").read_text() == "original"
    assert (dest / lands).read_bytes() == b"pwned"


def test_final_component_symlink_is_replaced_not_followed(dest: Path, outside: Path) -> None:
    data = make_tar(
        node("f", tarfile.SYMTYPE, linkname=str(outside / "victim")),
        reg("f", b"replaced"),
    )
    run(data, dest)
    assert (outside / "victim").read_text() == "original"
    assert not os.path.islink(dest / "f")
    assert (dest / "f").read_bytes() == b"replaced"


def test_directory_replaced_by_symlink_then_written_through(dest: Path, outside: Path) -> None:
    data = make_tar(
        node("d", tarfile.DIRTYPE),
        reg("d/x", b"1"),
        node("d", tarfile.SYMTYPE, linkname=str(outside)),
        reg("d/victim", b"pwned"),
    )
    run(data, dest)
    assert (outside / "victim").read_text() == "original"


@pytest.mark.parametrize("target", ["/etc/passwd", "../../etc/passwd", "missing"])
def test_hardlink_outside_or_missing_is_refused(dest: Path, target: str) -> None:
    with pytest.raises(LayerError):
        run(make_tar(node("h", tarfile.LNKTYPE, linkname=target)), dest)
    assert not (dest / "h").exists()


def test_hardlink_through_symlink_parent_is_refused(dest: Path, outside: Path) -> None:
    data = make_tar(
        node("l", tarfile.SYMTYPE, linkname=str(outside)),
        node("h", tarfile.LNKTYPE, linkname="l/victim"),
    )
    with pytest.raises(LayerError, match="invalid hardlink"):
        run(data, dest)
    assert (outside / "victim").stat().st_nlink == 1


def test_hardlink_to_symlink_links_the_symlink_itself(dest: Path, outside: Path) -> None:
    data = make_tar(
        node("s", tarfile.SYMTYPE, linkname=str(outside / "victim")),
        node("h", tarfile.LNKTYPE, linkname="s"),
    )
    run(data, dest)
    assert os.path.islink(dest / "h")
    assert (outside / "victim").stat().st_nlink == 1


def test_whiteouts_become_overlay_char_devices(dest: Path) -> None:
    data = make_tar(
        reg("etc/.wh.motd", b"", uid=3, gid=4),
        node("var/cache", tarfile.DIRTYPE),
        reg("var/cache/.wh..wh..opq", b""),
        reg("var/cache/keep", b"k"),
        reg(".wh..wh.plnk", b""),
    )
    run(data, dest)
    motd = os.lstat(dest / "etc/motd")
    assert stat.S_ISCHR(motd.st_mode) and motd.st_rdev == os.makedev(0, 0)
    assert (motd.st_uid, motd.st_gid) == (3, 4)
    assert not (dest / "etc/.wh.motd").exists()
    assert os.getxattr(dest / "var/cache", "trusted.overlay.opaque") == b"y"
    assert not (dest / "var/cache/.wh..wh..opq").exists()
    assert not (dest / ".wh..wh.plnk").exists()


REMAP = IdentityMapping(uids=(IDMap(0, 100000, 65536),), gids=(IDMap(0, 200000, 65536),))


def test_a_remapped_layer_is_owned_in_the_range(dest: Path) -> None:
    """--userns-remap: the tar's owners move into the range, whiteouts' too; the kept tar and
    the DiffID stay the tar's own."""
    data = make_tar(
        node("bin", tarfile.DIRTYPE, uid=0, gid=0),
        reg("bin/owned", b"abc", mode=0o4750, uid=1000, gid=1001),
        node("bin/sh", tarfile.SYMTYPE, linkname="owned", uid=5, gid=6),
        reg("etc/.wh.motd", b"", uid=3, gid=4),
    )
    stats = run(data, dest, options=dataclasses.replace(LAYER, ids=REMAP))
    assert _owner(dest / "bin") == (100000, 200000)
    owned = (dest / "bin/owned").stat()
    assert _owner(dest / "bin/owned") == (101000, 201001)
    assert stat.S_IMODE(owned.st_mode) == 0o4750  # set after the chown, which clears setuid
    assert _owner(dest / "bin/sh") == (100005, 200006)
    assert _owner(dest / "etc/motd") == (100003, 200004)
    assert stats.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()


def test_a_remapped_layer_refuses_ids_outside_the_range(dest: Path) -> None:
    with pytest.raises(UnmappableID) as caught:
        run(make_tar(reg("big", uid=70000)), dest, options=dataclasses.replace(LAYER, ids=REMAP))
    assert caught.value.message == "Container ID 70000 cannot be mapped to a host ID"


def _owner(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def test_whiteout_through_symlink_parent_stays_in_scope(dest: Path, outside: Path) -> None:
    data = make_tar(
        node("l", tarfile.SYMTYPE, linkname=str(outside)),
        reg("l/.wh.victim", b""),
        reg("l/.wh..wh..opq", b""),
    )
    run(data, dest)
    assert (outside / "victim").read_text() == "original"
    with pytest.raises(OSError):
        os.getxattr(outside, "trusted.overlay.opaque")


def test_archive_mode_keeps_whiteout_names_and_skips_devices(dest: Path) -> None:
    data = make_tar(reg(".wh.x", b""), node("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3))
    run(data, dest, options=ARCHIVE, digest=False)
    assert (dest / ".wh.x").exists()
    assert not (dest / "dev/null").exists()


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("./a/b", "a/b"),
        ("/a//b/", "a/b"),
        (".", ""),
        ("./", ""),
        ("/..", ""),
        ("a/../b", "b"),
        ("../../x", "x"),
        ("..", ""),
    ],
)
def test_clean_member_name(name: str, want: str) -> None:
    assert clean_member_name(name) == want
