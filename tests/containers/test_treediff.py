"""The vfs driver's rootfs copy (vfs.py) and its diff (treediff.py through fsdiff.py): a
container's full tree compared with its image's layers must give what an overlay upper dir
holding the same writes gives."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from dockerpy_engine.containers import fsdiff, treediff
from dockerpy_engine.containers.vfs import make_tree

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="whiteouts, owners and trusted xattrs need root")
T0 = 1_704_067_200


def _touch(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (T0, T0))


def _settle(root: Path) -> None:
    """Every directory dated T0, as a layer unpacked from a tar is."""
    for directory, _, _ in os.walk(root):
        os.utime(directory, (T0, T0))


@pytest.fixture
def image(tmp_path: Path) -> list[Path]:
    """Two overlay-form layers, top-most first: the upper deletes and replaces things."""
    base, top = tmp_path / "base", tmp_path / "top"
    for name in ("bin/sh", "bin/cat", "etc/passwd", "etc/group", "usr/lib/x.so", "opt/a/old"):
        _touch(base / name, name)
    _touch(top / "etc" / "motd", "hi")
    if ROOT:
        (top / "opt" / "a").mkdir(parents=True)
        os.setxattr(top / "opt" / "a", fsdiff.OPAQUE_XATTR, b"y")  # opt/a/old is hidden
        _touch(top / "opt" / "a" / "new", "n")
        os.mknod(top / "etc" / "group", stat.S_IFCHR, os.makedev(0, 0))  # deleted
    _settle(base)
    _settle(top)
    return [top, base]


def _tree(tmp_path: Path, image: list[Path]) -> Path:
    tree = tmp_path / "vfs" / "dir" / "c1"
    make_tree(tree, image)
    return tree


def _changes(root: Path, lowers: list[Path], tree: bool) -> list[tuple[str, int]]:
    return [(c["Path"], c["Kind"]) for c in fsdiff.changes(root, lowers, tree=tree) or []]


def _tar_names(root: Path, lowers: list[Path], tree: bool) -> list[str]:
    out = io.BytesIO()
    fsdiff.layer_tar(root, lowers, out.write, tree=tree)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        return [m.name for m in tar.getmembers()]


@needs_root
def test_the_copy_is_the_merged_image(tmp_path: Path, image: list[Path]) -> None:
    os.chown(image[1] / "bin" / "sh", 1234, 5678)
    os.chmod(image[1] / "bin" / "sh", 0o4755)
    os.setxattr(image[1] / "bin" / "sh", "user.note", b"kept")
    os.link(image[0] / "etc" / "motd", image[0] / "etc" / "issue")
    tree = _tree(tmp_path, image)
    assert sorted(os.listdir(tree / "etc")) == ["issue", "motd", "passwd"]  # group whited out
    assert sorted(os.listdir(tree / "opt" / "a")) == ["new"]  # opaque: old is hidden
    sh = os.lstat(tree / "bin" / "sh")
    assert (sh.st_uid, sh.st_gid, stat.S_IMODE(sh.st_mode)) == (1234, 5678, 0o4755)
    assert os.getxattr(tree / "bin" / "sh", "user.note") == b"kept"
    assert os.lstat(tree / "etc" / "issue").st_ino == os.lstat(tree / "etc" / "motd").st_ino
    assert os.lstat(tree / "etc" / "passwd").st_mtime == T0
    assert fsdiff.changes(tree, image, tree=True) is None
    assert _tar_names(tree, image, tree=True) == []


def test_a_failed_copy_leaves_nothing(tmp_path: Path) -> None:
    layer = tmp_path / "l"
    deep = str(layer)
    while len(deep) < 4092:  # fits in PATH_MAX here, not under the longer vfs/dir/c1 prefix
        deep += "/" + "d" * min(200, 4092 - len(deep))
    os.makedirs(deep)
    target = tmp_path / "vfs" / "dir" / "c1"
    with pytest.raises(OSError):
        make_tree(target, [layer])
    assert not target.exists()


def _write_the_same_things(root: Path, upper_form: bool) -> None:
    """One set of writes, on a vfs tree or into an overlay upper dir (upper_form)."""
    if upper_form:  # what overlayfs would have copied up or created
        (root / "etc").mkdir()
        os.utime(root / "etc", (T0, T0))
        (root / "bin").mkdir()
        os.mknod(root / "bin" / "cat", stat.S_IFCHR, os.makedev(0, 0))
        (root / "usr" / "lib").mkdir(parents=True)
        os.utime(root / "usr", (T0, T0))
    else:
        (root / "bin" / "cat").unlink()
    (root / "etc" / "passwd").write_text("changed")
    (root / "newdir").mkdir()
    (root / "newdir" / "f").write_text("x")
    (root / "usr" / "lib" / "y.so").write_text("y")
    if upper_form:  # overlayfs gives a copied-up parent its lower's times back
        os.utime(root / "etc", (T0, T0))


@needs_root
def test_tree_diff_equals_the_overlay_diff(tmp_path: Path, image: list[Path]) -> None:
    tree = _tree(tmp_path, image)
    _write_the_same_things(tree, upper_form=False)
    upper = tmp_path / "upper"
    upper.mkdir()
    _write_the_same_things(upper, upper_form=True)
    expected = [
        ("/bin", 0),
        ("/bin/cat", 2),
        ("/etc/passwd", 0),
        ("/newdir", 1),
        ("/newdir/f", 1),
        ("/usr/lib", 0),
        ("/usr/lib/y.so", 1),
    ]
    assert _changes(upper, image, tree=False) == expected
    assert _changes(tree, image, tree=True) == expected
    names = _tar_names(tree, image, tree=True)
    assert names == _tar_names(upper, image, tree=False)
    assert names == ["bin", "bin/.wh.cat", "etc", "etc/passwd", "newdir", "newdir/f", "usr",
                     "usr/lib", "usr/lib/y.so"]  # fmt: skip


def test_replacing_a_directory_by_a_file_and_mode_changes(tmp_path: Path, image) -> None:
    tree = _tree(tmp_path, image)
    shutil.rmtree(tree / "usr" / "lib")
    (tree / "usr" / "lib").write_text("now a file")
    os.chmod(tree / "bin" / "sh", 0o700)
    assert _changes(tree, image, tree=True) == [
        ("/bin/sh", 0),
        ("/usr", 0),  # its mtime moved
        ("/usr/lib", 0),  # there in the image, as a directory: modified, as overlay2 says
    ]


def test_a_deleted_directory_is_one_whiteout(tmp_path: Path, image) -> None:
    tree = _tree(tmp_path, image)
    shutil.rmtree(tree / "usr")
    assert _changes(tree, image, tree=True) == [("/usr", 2)]
    out = io.BytesIO()
    fsdiff.layer_tar(tree, image, out.write, tree=True)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        (member,) = tar.getmembers()
    assert member.name == ".wh.usr" and member.isreg() and member.size == 0


def test_symlinks_in_the_tree_are_not_followed(tmp_path: Path, image) -> None:
    tree = _tree(tmp_path, image)
    outside = tmp_path / "outside"
    _touch(outside / "secret", "s")
    os.symlink(outside, tree / "link")
    assert _changes(tree, image, tree=True) == [("/link", 1)]
    assert _tar_names(tree, image, tree=True) == ["link"]


def test_changed_size_counts_new_and_changed_files_once(tmp_path: Path, image) -> None:
    tree = _tree(tmp_path, image)
    assert treediff.changed_size(tree, image) == 0
    (tree / "etc" / "passwd").write_text("12345")
    (tree / "newdir").mkdir()
    (tree / "newdir" / "f").write_text("abc")
    os.link(tree / "newdir" / "f", tree / "newdir" / "g")
    assert treediff.changed_size(tree, image) == 8
