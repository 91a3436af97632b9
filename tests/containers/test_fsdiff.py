"""fsdiff.py (docker diff and the commit layer), commit.py's config rules, rootfs.py's mount
bookkeeping: on directories laid out as overlay uppers and image layers."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest

from dockerpy_engine import fsutil
from dockerpy_engine.containers import fsdiff, rootfs
from dockerpy_engine.containers.commit import (
    ChildImage,
    child_image_config,
    commit_runtime_config,
    merge_commit_config,
)

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="whiteouts and trusted xattrs need root")
T0 = 1_704_067_200


def _touch(path: Path, text: str = "", mtime: int | None = T0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _settle(*dirs: Path, mtime: int = T0) -> None:
    for d in dirs:
        os.utime(d, (mtime, mtime))


@pytest.fixture
def layers(tmp_path: Path) -> tuple[Path, list[Path]]:
    lower = tmp_path / "lower"
    for name in ("bin/sh", "bin/cat", "etc/passwd", "etc/group", "usr/lib/x.so"):
        _touch(lower / name, name)
    for d in ("bin", "etc", "usr/lib", "usr"):
        _settle(lower / d)
    upper = tmp_path / "upper"
    upper.mkdir()
    return upper, [lower]


def _whiteout(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, 0o020000, os.makedev(0, 0))


def _runc_stubs(upper: Path) -> None:
    """What runc leaves in an upper dir when it mounts /etc/hosts & co over a busybox rootfs."""
    (upper / "etc").mkdir(exist_ok=True)
    os.utime(upper / "etc", (T0, T0))  # copy-up keeps the lower's times...
    for name in ("hostname", "hosts", "resolv.conf"):
        (upper / "etc" / name).write_text("")  # ...then each new mount point bumps them
    (upper / "proc").mkdir()


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def _changes(upper: Path, lowers: list[Path]) -> list[tuple[str, int]]:
    return [(c["Path"], c["Kind"]) for c in fsdiff.changes(upper, lowers) or []]


def test_no_changes_is_null(layers) -> None:
    upper, lowers = layers
    assert fsdiff.changes(upper, lowers) is None


def test_mount_points_are_not_changes(layers) -> None:
    upper, lowers = layers
    _runc_stubs(upper)
    assert fsdiff.changes(upper, lowers) is None


def test_added_and_modified_with_parents_first(layers) -> None:
    upper, lowers = layers
    _runc_stubs(upper)
    _touch(upper / "etc" / "passwd", "changed", mtime=None)
    _touch(upper / "newdir" / "f", "x")
    _touch(upper / "usr" / "lib" / "y.so", "y")
    _settle(upper / "usr")
    assert _changes(upper, lowers) == [
        ("/etc/passwd", 0),
        ("/newdir", 1),
        ("/newdir/f", 1),
        ("/usr/lib", 0),
        ("/usr/lib/y.so", 1),
    ]


def test_a_directory_changed_after_its_mount_points_is_modified(layers) -> None:
    upper, lowers = layers
    _runc_stubs(upper)
    _touch(upper / "etc" / "group", "g", mtime=None)
    later = time.time() + 60
    os.utime(upper / "etc", (later, later))  # e.g. sed -i renamed a file in /etc, later
    assert _changes(upper, lowers) == [("/etc", 0), ("/etc/group", 0)]


@needs_root
def test_whiteouts_and_opaque_directories_are_deletions(layers) -> None:
    upper, lowers = layers
    _whiteout(upper / "bin" / "cat")
    _settle(upper / "bin")
    (upper / "usr").mkdir()
    os.setxattr(upper / "usr", fsdiff.OPAQUE_XATTR, b"y")
    _touch(upper / "usr" / "new", "n")
    assert _changes(upper, lowers) == [
        ("/bin", 0),  # unchanged itself, recorded as the parent of a deletion
        ("/bin/cat", 2),
        ("/usr", 2),  # dockerd's overlay2 reports an opaque directory as deleted
        ("/usr/new", 1),
    ]


@needs_root
def test_layer_tar_in_oci_form(layers) -> None:
    upper, lowers = layers
    _runc_stubs(upper)
    _whiteout(upper / "bin" / "cat")
    (upper / "usr").mkdir()
    os.setxattr(upper / "usr", fsdiff.OPAQUE_XATTR, b"y")
    _touch(upper / "usr" / "new", "n")
    out = io.BytesIO()
    fsdiff.layer_tar(upper, lowers, out.write)
    members = _members(out.getvalue())
    names = [m.name for m in members]
    assert names == ["bin", "bin/.wh.cat", "usr", "usr/.wh..wh..opq", "usr/new"]
    whiteout = members[1]
    assert whiteout.isreg() and whiteout.size == 0 and whiteout.mode == 0o600
    assert out.getvalue().endswith(b"\0" * 1024)


def test_commit_of_nothing_is_the_empty_layer(layers) -> None:
    upper, lowers = layers
    _runc_stubs(upper)
    out = io.BytesIO()
    fsdiff.layer_tar(upper, lowers, out.write)
    digest = "sha256:" + hashlib.sha256(out.getvalue()).hexdigest()
    assert digest == fsdiff.EMPTY_LAYER_DIFF_ID


def test_the_walk_never_follows_symlinks(layers, tmp_path: Path) -> None:
    upper, lowers = layers
    outside = tmp_path / "outside"
    _touch(outside / "secret", "s")
    os.symlink(outside, upper / "link")
    assert _changes(upper, lowers) == [("/link", 1)]
    out = io.BytesIO()
    fsdiff.layer_tar(upper, lowers, out.write)
    members = _members(out.getvalue())
    assert [(m.name, m.issym()) for m in members] == [("link", True)]


# -- commit config ---------------------------------------------------------------------


def test_commit_config_applies_changes_over_the_container_config() -> None:
    container = {
        "Hostname": "abc",
        "Env": ["PATH=/bin", "A=1"],
        "Cmd": ["sh"],
        "Labels": {"x": "1"},
        "Image": "busybox",
    }
    config = commit_runtime_config(container, None, ("ENV A=2", 'CMD ["echo", "hi"]'))
    assert config["Env"] == ["PATH=/bin", "A=2"]
    assert config["Cmd"] == ["echo", "hi"]
    assert config["Hostname"] == "abc" and config["Labels"] == {"x": "1"}
    body = commit_runtime_config(container, {"Env": ["B=3"]}, ())
    assert body["Env"] == ["B=3", "PATH=/bin", "A=1"]
    assert body["Cmd"] == ["sh"]


def test_merge_keeps_user_entrypoint_and_fills_the_rest() -> None:
    merged = merge_commit_config(
        {"Entrypoint": ["/run"], "ExposedPorts": {"80/tcp": {}}},
        {"Cmd": ["sh"], "Entrypoint": ["/old"], "ExposedPorts": {"22/tcp": {}}, "User": "u"},
    )
    assert merged["Entrypoint"] == ["/run"] and "Cmd" not in merged
    assert merged["ExposedPorts"] == {"80/tcp": {}, "22/tcp": {}}
    assert merged["User"] == "u"


def test_child_image_config() -> None:
    parent = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
        "history": [{"created": "2024-01-01T00:00:00Z"}],
    }
    child = ChildImage(
        container_id="c" * 64,
        container_config={"Cmd": ["sh", "-c", "make"]},
        config={"Cmd": ["sh"]},
        diff_id="sha256:bb",
        author="me",
        comment="msg",
        created="2024-02-02T00:00:00Z",
    )
    doc = json.loads(child_image_config(parent, child))
    assert doc["rootfs"]["diff_ids"] == ["sha256:aa", "sha256:bb"]
    assert doc["container"] == "c" * 64
    assert doc["container_config"] == {"Cmd": ["sh", "-c", "make"]}
    assert doc["history"][-1] == {
        "created": "2024-02-02T00:00:00Z",
        "author": "me",
        "created_by": "sh -c make",
        "comment": "msg",
    }
    child.diff_id = fsdiff.EMPTY_LAYER_DIFF_ID
    empty = json.loads(child_image_config(parent, child))
    assert empty["rootfs"]["diff_ids"] == ["sha256:aa"]
    assert empty["history"][-1]["empty_layer"] is True


# -- rootfs ----------------------------------------------------------------------------

MOUNTINFO = (
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "107 27 0:72 / /run/c/task/ns/abc/rootfs rw,relatime - overlay overlay "
    "rw,lowerdir=/d/layers/1/diff,upperdir=/d/containers/abc/upper,workdir=/d/containers/abc/work\n"
    "108 27 0:73 / /d/containers/x\\040y/merged ro - overlay overlay ro,lowerdir=/a:/b\n"
)


def test_mountinfo() -> None:
    entry = rootfs.find_task_rootfs(Path("/d/containers/abc/upper"), MOUNTINFO)
    assert entry is not None
    assert entry.mount_point == "/run/c/task/ns/abc/rootfs" and entry.dev == (0, 72)
    assert rootfs.find_task_rootfs(Path("/d/containers/ab/upper"), MOUNTINFO) is None
    assert rootfs.is_mount_point(Path("/d/containers/x y/merged"), MOUNTINFO)


def test_overlay_options() -> None:
    assert rootfs.overlay_options([Path("/u"), Path("/l")]) == "lowerdir=/u:/l"
    assert (
        rootfs.overlay_options([Path("/l")], Path("/u"), Path("/w"))
        == "lowerdir=/l,upperdir=/u,workdir=/w"
    )


def _can_mount_overlay(tmp_path: Path) -> bool:
    if not ROOT:
        return False
    probe = tmp_path / "probe"
    for d in ("l1", "l2", "m"):
        (probe / d).mkdir(parents=True)
    try:
        rootfs.mount_overlay(probe / "m", [probe / "l1", probe / "l2"])
    except Exception:
        return False
    fsutil.unmount(probe / "m")
    return True


def test_views_are_shared_and_unmounted(tmp_path: Path) -> None:
    if not _can_mount_overlay(tmp_path):
        pytest.skip("overlay mounts need root")
    directory = tmp_path / "containers" / "abc"
    for d in ("upper", "work"):
        (directory / d).mkdir(parents=True)
    lower = tmp_path / "layer"
    _touch(lower / "image-file", "i")
    _touch(directory / "upper" / "mine", "m")
    mounts = rootfs.RootfsMounts()

    async def scenario() -> None:
        async with mounts.view(directory, [lower], writable=False) as merged:
            assert sorted(os.listdir(merged)) == ["image-file", "mine"]
            async with mounts.view(directory, [lower], writable=False) as again:
                assert again == merged and len(mounts.active()) == 1
            with pytest.raises(OSError):
                (merged / "new").write_text("x")  # read-only
            writer = asyncio.ensure_future(_write(mounts, directory, lower))
            await asyncio.sleep(0.05)
            assert not writer.done()  # waits for the readers
        await writer
        assert not rootfs.is_mount_point(directory / "merged")
        assert (directory / "upper" / "new").read_text() == "x"
        assert mounts.active() == []

    asyncio.run(scenario())
    assert rootfs.cleanup_stale(tmp_path / "containers") == []


async def _write(mounts: rootfs.RootfsMounts, directory: Path, lower: Path) -> None:
    async with mounts.view(directory, [lower], writable=True) as merged:
        (merged / "new").write_text("x")


def test_cleanup_stale_unmounts_leftovers(tmp_path: Path) -> None:
    if not _can_mount_overlay(tmp_path):
        pytest.skip("overlay mounts need root")
    directory = tmp_path / "containers" / "abc"
    (directory / "merged").mkdir(parents=True)
    for d in ("l1", "l2"):
        (tmp_path / d).mkdir()
    rootfs.mount_overlay(directory / "merged", [tmp_path / "l1", tmp_path / "l2"])
    assert rootfs.cleanup_stale(tmp_path / "containers") == [directory / "merged"]
    assert not rootfs.is_mount_point(directory / "merged")
