"""Choosing the storage driver at start (graphdriver.py) and its `storage-driver` setting."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from dockerpy_engine import config as daemon_config
from dockerpy_engine import fsutil, graphdriver
from dockerpy_engine.containers.rootfs import mount_overlay


def test_flag_and_file_key(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text("{}")
    parsed, _ = daemon_config.parse(["-s", "vfs", "--config-file", str(path)])
    assert parsed.storage_driver == "vfs"
    path.write_text('{"storage-driver": "vfs"}')
    parsed, _ = daemon_config.parse(["--config-file", str(path)])
    assert parsed.storage_driver == "vfs"
    with pytest.raises(daemon_config.ConfigError, match="storage-driver"):
        daemon_config.parse(["--config-file", str(path), "--storage-driver", "overlay2"])


def test_a_name_we_do_not_have_is_dockerds_error(tmp_path: Path) -> None:
    with pytest.raises(graphdriver.DriverError) as caught:
        graphdriver.select("devicemapper", tmp_path)
    assert str(caught.value) == "error initializing graphdriver: driver not supported: devicemapper"


def test_a_configured_driver_is_used_as_is(tmp_path: Path) -> None:
    assert graphdriver.select("vfs", tmp_path) == "vfs"
    assert graphdriver.select("overlay2", tmp_path) == "overlay2"


@pytest.mark.skipif(os.geteuid() != 0, reason="overlay mounts need root")
def test_the_default_falls_back_to_vfs_where_overlay_cannot_mount(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert graphdriver.select("", tmp_path / "plain") == "overlay2"
    # an overlay cannot be the upper dir of another: a data root inside one gets vfs
    for name in ("lower", "upper", "work", "merged"):
        (tmp_path / name).mkdir()
    mount_overlay(tmp_path / "merged", [tmp_path / "lower"], tmp_path / "upper", tmp_path / "work")
    try:
        with caplog.at_level(logging.WARNING, logger="dockerpy_engine.graphdriver"):
            assert graphdriver.select("", tmp_path / "merged" / "root") == "vfs"
        assert "using the vfs storage driver" in caplog.text
        assert os.listdir(tmp_path / "merged" / "root" / "tmp") == []  # the probe is gone
    finally:
        fsutil.unmount(tmp_path / "merged")


def test_driver_status() -> None:
    assert graphdriver.status("vfs") is None
    assert graphdriver.status("overlay2") == [
        ["Backing Filesystem", "extfs"],
        ["Supports d_type", "true"],
    ]
