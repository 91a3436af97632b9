"""The vfs storage driver (`--storage-driver vfs`): containers on full copies of their image,
with the real docker CLI: run, volumes, diff, commit, export, cp, a classic build, what info
and inspect report, a driver name dockerd does not have, and a driver switch."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import IMAGE, ok, out
from .daemon import DOCKERPYD, Daemon


@pytest.fixture(scope="module")
def vfs(busybox_tar: str) -> Iterator[Daemon]:
    d = Daemon()
    d.start("--storage-driver", "vfs")
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        yield d
    finally:
        d.cleanup()


def _inspect(d: Daemon, *args: str) -> dict:
    return json.loads(out(ok(d.cli("inspect", *args))))[0]


def _changed(d: Daemon, name: str) -> str:
    """A stopped container that added /new.txt, changed /etc/passwd and deleted /etc/group."""
    script = "echo data > /new.txt && echo extra >> /etc/passwd && rm /etc/group"
    ok(d.cli("run", "--name", name, IMAGE, "sh", "-c", script))
    return name


def test_info_and_inspect_name_the_driver(vfs: Daemon) -> None:
    info = json.loads(out(ok(vfs.cli("info", "--format", "{{json .}}"))))
    assert info["Driver"] == "vfs"
    assert info["DriverStatus"] is None  # vfs reports nothing, as dockerd's
    ok(vfs.cli("create", "--name", "inspected", IMAGE, "true"))
    container = _inspect(vfs, "inspected")
    assert container["Driver"] == "vfs"
    assert container["GraphDriver"] == {"Name": "vfs", "Data": None}
    assert _inspect(vfs, "--type", "image", IMAGE)["GraphDriver"] == {"Name": "vfs", "Data": None}
    tree = vfs.data_root / "vfs" / "dir" / container["Id"]
    assert (tree / "etc" / "passwd").is_file()  # the image's copy, made at create
    ok(vfs.cli("rm", "inspected"))
    assert not tree.exists()


def test_run_writes_into_the_containers_own_copy(vfs: Daemon) -> None:
    name = _changed(vfs, "writer")
    tree = vfs.data_root / "vfs" / "dir" / _inspect(vfs, name)["Id"]
    assert (tree / "new.txt").read_text() == "data\n"
    assert not (tree / "etc" / "group").exists()
    again = ok(vfs.cli("run", "--rm", IMAGE, "sh", "-c", "cat /etc/group | head -1"))
    assert out(again) == "root:x:0:\n"  # the image and other containers are untouched
    ok(vfs.cli("rm", name))
    refused = vfs.cli("run", "--rm", "--read-only", IMAGE, "touch", "/x")
    assert refused.returncode != 0 and b"Read-only file system" in refused.stderr


def test_diff_lists_what_the_container_changed(vfs: Daemon) -> None:
    name = _changed(vfs, "differ")
    lines = out(ok(vfs.cli("diff", name))).splitlines()
    assert lines == ["C /etc", "D /etc/group", "C /etc/passwd", "A /new.txt"]
    ok(vfs.cli("rm", name))


def test_commit_makes_an_image_of_the_changes(vfs: Daemon) -> None:
    name = _changed(vfs, "committer")
    ok(vfs.cli("commit", name, "vfs-committed:1"))
    check = "cat /new.txt; test -e /etc/group || echo no-group; tail -1 /etc/passwd"
    result = ok(vfs.cli("run", "--rm", "vfs-committed:1", "sh", "-c", check))
    assert out(result) == "data\nno-group\nextra\n"
    layers = _inspect(vfs, "--type", "image", "vfs-committed:1")["RootFS"]["Layers"]
    assert len(layers) == 2
    ok(vfs.cli("rm", name))
    ok(vfs.cli("rmi", "vfs-committed:1"))


def test_export_is_the_containers_tree(vfs: Daemon) -> None:
    name = _changed(vfs, "exporter")
    data = ok(vfs.cli("export", name)).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = set(tar.getnames())
        new = tar.extractfile("new.txt")
        assert new is not None and new.read() == b"data\n"
    assert "etc/passwd" in names and "etc/group" not in names and "bin/busybox" in names
    ok(vfs.cli("rm", name))


def test_cp_into_and_out_of_stopped_and_running_containers(vfs: Daemon, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("copied\n")
    ok(vfs.cli("create", "--name", "cp-target", IMAGE, "sleep", "60"))
    ok(vfs.cli("cp", str(source), "cp-target:/in.txt"))
    ok(vfs.cli("start", "cp-target"))
    assert out(ok(vfs.cli("exec", "cp-target", "cat", "/in.txt"))) == "copied\n"
    ok(vfs.cli("exec", "cp-target", "sh", "-c", "echo live > /live.txt"))
    ok(vfs.cli("cp", "cp-target:/live.txt", str(tmp_path / "live.txt")))
    assert (tmp_path / "live.txt").read_text() == "live\n"
    ok(vfs.cli("cp", str(source), "cp-target:/tmp/"))
    assert out(ok(vfs.cli("exec", "cp-target", "cat", "/tmp/in.txt"))) == "copied\n"
    ok(vfs.cli("rm", "-f", "cp-target"))


def test_volumes_are_filled_from_the_image_and_kept(vfs: Daemon) -> None:
    listing = ok(vfs.cli("run", "--rm", "-v", "vfs-vol:/etc", IMAGE, "ls", "/etc"))
    assert "passwd" in out(listing).split()  # copy-up from the image into the new volume
    ok(vfs.cli("run", "--rm", "-v", "vfs-vol:/etc", IMAGE, "sh", "-c", "echo v > /etc/mine"))
    kept = ok(vfs.cli("run", "--rm", "-v", "vfs-vol:/data", IMAGE, "cat", "/data/mine"))
    assert out(kept) == "v\n"
    ok(vfs.cli("volume", "rm", "vfs-vol"))


def test_a_classic_build(vfs: Daemon, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {IMAGE}\nCOPY hello.txt /app/\nWORKDIR /work\nRUN cat /app/hello.txt > out.txt\n"
        "RUN rm /etc/group\n"
    )
    (tmp_path / "hello.txt").write_text("hello vfs\n")
    ok(vfs.cli("build", "-q", "-t", "vfs-built:1", str(tmp_path), timeout=180))
    check = "pwd; cat out.txt /app/hello.txt; test -e /etc/group || echo no-group"
    result = ok(vfs.cli("run", "--rm", "vfs-built:1", "sh", "-c", check))
    assert out(result) == "/work\nhello vfs\nhello vfs\nno-group\n"
    ok(vfs.cli("rmi", "vfs-built:1"))


def _failed_start(tmp_path: Path, *flags: str, config: dict | None = None) -> str:
    (tmp_path / "daemon.json").write_text(json.dumps(config or {}))
    result = subprocess.run(
        [
            str(DOCKERPYD),
            *("--config-file", str(tmp_path / "daemon.json")),
            *("--data-root", str(tmp_path / "root"), "--exec-root", str(tmp_path / "run")),
            *("--pidfile", str(tmp_path / "pid"), "-H", f"unix://{tmp_path}/d.sock"),
            "--bridge=none", "--iptables=false", "--ip-forward=false",
            *flags,
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    return result.stderr


def test_a_driver_dockerd_does_not_have_is_a_start_error(tmp_path: Path) -> None:
    stderr = _failed_start(tmp_path, "--storage-driver", "aufs")
    assert "error initializing graphdriver: driver not supported: aufs" in stderr
    stderr = _failed_start(tmp_path, config={"storage-driver": "zfs"})
    assert "error initializing graphdriver: driver not supported: zfs" in stderr


def test_containers_of_the_other_driver_are_refused_at_start(busybox_tar: str) -> None:
    d = Daemon()
    try:
        d.start("--storage-driver", "vfs")
        ok(d.cli("import", busybox_tar, IMAGE))
        ok(d.cli("run", "--name", "made-on-vfs", IMAGE, "sh", "-c", "echo kept > /kept.txt"))
        d.stop()
        d.start("--storage-driver", "overlay2")
        result = d.cli("start", "made-on-vfs")
        assert result.returncode != 0
        message = result.stderr.decode()
        assert "created with the vfs storage driver and the daemon runs overlay2" in message
        assert _inspect(d, "made-on-vfs")["GraphDriver"]["Name"] == "vfs"
        kept = ok(d.cli("cp", "made-on-vfs:/kept.txt", "-")).stdout  # its files stay readable
        with tarfile.open(fileobj=io.BytesIO(kept)) as tar:
            member = tar.extractfile("kept.txt")
            assert member is not None and member.read() == b"kept\n"
        ok(d.cli("run", "--rm", IMAGE, "true"))  # new containers use overlay2
        ok(d.cli("rm", "made-on-vfs"))
        assert not (d.data_root / "vfs" / "dir").exists() or not any(
            (d.data_root / "vfs" / "dir").iterdir()
        )
    finally:
        d.cleanup()
