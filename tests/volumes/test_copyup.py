"""Copy-up from a synthetic overlay layer stack (whiteouts, opaque dirs, links, metadata)."""

from __future__ import annotations

import os
import stat

import pytest

from dockerpy_engine.volumes._copyup import MergedView, copy_up


def _whiteout(path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


@pytest.fixture
def layers(tmp_path):
    lower, middle, upper = (tmp_path / n for n in ("lower", "middle", "upper"))
    (lower / "etc" / "gone").mkdir(parents=True)
    (lower / "etc" / "keep.conf").write_text("lower")
    (lower / "etc" / "deleted.conf").write_text("x")
    (lower / "etc" / "gone" / "inside").write_text("x")
    (lower / "etc" / "opaque").mkdir()
    (lower / "etc" / "opaque" / "old").write_text("x")
    (lower / "link").symlink_to("etc")
    (middle / "etc" / "opaque").mkdir(parents=True)
    (middle / "etc" / "opaque" / "new").write_text("new")
    os.setxattr(middle / "etc" / "opaque", "trusted.overlay.opaque", b"y")
    _whiteout(middle / "etc" / "deleted.conf")
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "keep.conf").write_text("upper")
    _whiteout(upper / "etc" / "gone")
    (upper / "etc" / "data").write_text("d")
    os.chmod(upper / "etc" / "data", 0o640)
    os.chown(upper / "etc" / "data", 1234, 5678)
    os.link(upper / "etc" / "data", upper / "etc" / "hard")
    (upper / "etc" / "sym").symlink_to("keep.conf")
    return [upper, middle, lower]


def test_merged_listing_honours_whiteouts_and_opaque_dirs(layers):
    view = MergedView(layers)
    assert sorted(view.listdir("etc")) == ["data", "hard", "keep.conf", "opaque", "sym"]
    assert sorted(view.listdir("etc/opaque")) == ["new"]
    assert view.lookup("etc/gone/inside") is None
    assert view.resolve("/link/keep.conf") == "etc/keep.conf"


def test_copy_up_into_an_empty_volume(layers, tmp_path):
    target = tmp_path / "vol"
    target.mkdir()
    assert copy_up(layers, "/etc", target)
    assert sorted(os.listdir(target)) == ["data", "hard", "keep.conf", "opaque", "sym"]
    assert (target / "keep.conf").read_text() == "upper"
    st = os.lstat(target / "data")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o640)
    assert st.st_ino == os.lstat(target / "hard").st_ino
    assert os.readlink(target / "sym") == "keep.conf"
    assert os.listdir(target / "opaque") == ["new"]


def test_copy_up_through_a_symlinked_destination(layers, tmp_path):
    target = tmp_path / "vol"
    target.mkdir()
    assert copy_up(layers, "/link", target)
    assert (target / "keep.conf").exists()


def test_no_copy_into_a_volume_with_content_or_from_a_missing_path(layers, tmp_path):
    target = tmp_path / "vol"
    target.mkdir()
    (target / "mine").write_text("x")
    assert not copy_up(layers, "/etc", target)
    assert os.listdir(target) == ["mine"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not copy_up(layers, "/nowhere", empty)
    assert not copy_up(layers, "/etc/gone", empty)
    assert not copy_up(layers, "/etc/keep.conf", empty)
