"""rootfs.py's overlay options: containerd's option list, and long layer chains mounted by
their short links with paths relative to the links' directory, under mount(2)'s page."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dockerpy_engine import errdefs, fsutil
from dockerpy_engine.containers import rootfs

LAYERS = 127  # the most an image may have for a container (overlay2's maxDepth, init layer)


def _chain(root: Path, count: int) -> tuple[list[Path], list[Path]]:
    """`count` layer dirs laid out as the image store does, and their short links (top first)."""
    diffs, links = [], []
    (root / "layer-links").mkdir(parents=True)
    for index in range(count):
        hex_id = f"{index:064x}"
        diff = root / "layers" / hex_id / "diff"
        diff.mkdir(parents=True)
        (diff / f"f{index:03d}").write_text(f"{index}\n")
        link = root / "layer-links" / f"{index:026d}"
        os.symlink(f"../layers/{hex_id}/diff", link)
        diffs.append(diff)
        links.append(link)
    return diffs[::-1], links[::-1]


def test_options_as_containerd_takes_them() -> None:
    assert rootfs.overlay_mount_options(["/l2", "/l1"]) == ["lowerdir=/l2:/l1"]
    assert rootfs.overlay_mount_options([Path("/l")], Path("/u"), Path("/w")) == [
        "lowerdir=/l",
        "upperdir=/u",
        "workdir=/w",
    ]
    with pytest.raises(errdefs.System):
        rootfs.overlay_mount_options([])


def test_a_long_chain_is_relative_to_its_links(tmp_path: Path) -> None:
    root = tmp_path / "a-data-root-with-a-name-as-long-as-real-ones-get"
    diffs, links = _chain(root, LAYERS)
    upper, work = root / "containers" / ("c" * 64) / "upper", root / "containers" / "w"
    assert len(rootfs.overlay_options(diffs, upper, work)) > rootfs.MAX_MOUNT_DATA
    assert len(rootfs.overlay_options(links, upper, work)) > rootfs.MAX_MOUNT_DATA
    for lower, top in (([upper, *links], None), (links, upper)):  # read-only view, read-write
        base, data = rootfs.relative_overlay_options(lower, top, work if top else None)
        assert base == root / "layer-links"
        assert len(data) <= rootfs.MAX_MOUNT_DATA
        options = dict(option.split("=", 1) for option in data.split(","))
        resolved = [os.path.normpath(base / p) for p in options["lowerdir"].split(":")]
        assert resolved == [str(p) for p in lower]
        if top is not None:
            assert os.path.normpath(base / options["upperdir"]) == str(upper)
            assert os.path.normpath(base / options["workdir"]) == str(work)
        else:
            assert set(options) == {"lowerdir"}


def _can_mount_overlay(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    for name in ("l1", "l2", "m"):
        (probe / name).mkdir(parents=True)
    try:
        rootfs.mount_overlay(probe / "m", [probe / "l1", probe / "l2"])
    except errdefs.EngineError:
        return False
    fsutil.unmount(probe / "m")
    return True


def test_mounting_a_long_chain(tmp_path: Path) -> None:
    if not _can_mount_overlay(tmp_path):
        pytest.skip("overlay mounts need root")
    root = tmp_path / "a-data-root-with-a-name-as-long-as-real-ones-get"
    diffs, links = _chain(root, LAYERS)
    merged, upper, work = (root / "containers" / name for name in ("merged", "upper", "work"))
    for path in (merged, upper, work):
        path.mkdir(parents=True)
    rootfs.mount_overlay(merged, links, upper, work)
    try:
        assert sorted(os.listdir(merged)) == [f"f{i:03d}" for i in range(LAYERS)]
        (merged / "new").write_text("written\n")
    finally:
        fsutil.unmount(merged)
    assert (upper / "new").read_text() == "written\n"
    with pytest.raises(errdefs.System, match="do not fit in the mount options"):
        rootfs.mount_overlay(merged, diffs)  # the plain paths: too long even relative
    assert subprocess.run(["mountpoint", "-q", str(merged)], check=False).returncode != 0
