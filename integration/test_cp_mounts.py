"""docker cp through a container's mounts, as dockerd's container view shows them: named
volumes and bind mounts are there (both directions, running or stopped, with the volume
mount/unmount events), a read-only mount refuses writes, tmpfs mounts are not there (cp sees
the rootfs underneath, moby#22020), and export leaves every mount out."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import IMAGE, ok, out


@pytest.fixture
def volumes(cli) -> Iterator[Callable[[str], str]]:
    """Named volumes made for the test (and removed after it, once its containers are gone)."""
    made: list[str] = []

    def make(name: str) -> str:
        ok(cli("volume", "create", name))
        made.append(name)
        return name

    yield make
    for name in made:
        cli("volume", "rm", "-f", name)


def _data(cli, volume: str) -> Path:
    """The volume's directory on the host (the test runs beside the daemon, as root)."""
    return Path(out(ok(cli("volume", "inspect", "-f", "{{.Mountpoint}}", volume))).strip())


def _tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()


def _fails(result, message: str) -> None:
    assert result.returncode != 0
    assert message in result.stderr.decode(), result.stderr.decode()


def _events_through(client, since: float, last: Callable[[dict], bool]) -> list[dict]:
    """The events since `since`, streamed up to the first one `last` accepts: a view's
    unmounts come after the response has ended (as dockerd's, at the reader's close)."""
    stream = client.events(since=since, until=since + 60, decode=True)
    seen: list[dict] = []
    try:
        for event in stream:
            seen.append(event)
            if last(event):
                break
    finally:
        stream.close()
    return seen


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_cp_in_and_out_of_a_volume_and_a_bind_mount(
    cli, names, volumes, tmp_path: Path, state: str
) -> None:
    vol = volumes(names("cpvol"))
    bind = tmp_path / "bind"
    bind.mkdir()
    (bind / "host.txt").write_text("from the host\n")
    name = names("cpm")
    ok(cli("run", "-d", "--name", name, "-v", f"{vol}:/data", "-v", f"{bind}:/srv/bind",
           IMAGE, "sh", "-c", "echo inside > /data/made; touch /ready; sleep 300"))  # fmt: skip
    ok(cli("exec", name, "sh", "-c", "while [ ! -e /ready ]; do usleep 10000; done"))
    if state == "stopped":
        ok(cli("stop", "-t", "0", name))
    # container -> host, through both mounts
    ok(cli("cp", f"{name}:/data/made", str(tmp_path / "made")))
    assert (tmp_path / "made").read_text() == "inside\n"
    ok(cli("cp", f"{name}:/srv/bind/host.txt", str(tmp_path / "host-back")))
    assert (tmp_path / "host-back").read_text() == "from the host\n"
    assert _tar_names(ok(cli("cp", f"{name}:/data", "-")).stdout) == ["data", "data/made"]
    # host -> container: the files land in the volume and in the bound directory
    upload = tmp_path / "up.txt"
    upload.write_text("uploaded\n")
    ok(cli("cp", str(upload), f"{name}:/data/"))
    ok(cli("cp", str(upload), f"{name}:/srv/bind/sub.txt"))
    assert (_data(cli, vol) / "up.txt").read_text() == "uploaded\n"
    assert (bind / "sub.txt").read_text() == "uploaded\n"
    if state == "stopped":
        ok(cli("start", name))
    assert out(ok(cli("exec", name, "cat", "/data/up.txt", "/srv/bind/sub.txt"))) == (
        "uploaded\nuploaded\n"
    )
    # the rootfs under the mount points got nothing
    ok(cli("stop", "-t", "0", name))
    exported = _tar_names(ok(cli("export", name)).stdout)
    assert {"data", "srv/bind"} <= set(exported)  # the mount points runc made
    assert not [n for n in exported if n.startswith(("data/", "srv/bind/"))]


def test_volume_events_frame_each_copy(cli, client, names, volumes) -> None:
    """dockerd's view mounts the volumes for each request: mount, archive-path, unmount."""
    vol = volumes(names("evvol"))
    name = names("cpev")
    ok(cli("create", "--name", name, "-v", f"{vol}:/data", IMAGE, "true"))
    cid = out(ok(cli("inspect", "-f", "{{.Id}}", name))).strip()
    since = time.time()
    chunks, stat = client.containers.get(name).get_archive("/data")
    assert _tar_names(b"".join(chunks)) == ["data"]
    assert stat["name"] == "data" and stat["mode"] & (1 << 31)
    events = _events_through(client, since, lambda e: e["Action"] == "unmount")
    events = [e for e in events if e["Actor"]["ID"] in (vol, cid)]
    assert [(e["Type"], e["Action"]) for e in events] == [
        ("volume", "mount"),
        ("container", "archive-path"),
        ("volume", "unmount"),
    ]
    mount, unmount = events[0]["Actor"]["Attributes"], events[2]["Actor"]["Attributes"]
    assert mount == {"container": cid, "destination": "/data", "driver": "local",
                     "propagation": "", "read/write": "true"}  # fmt: skip
    assert unmount == {"container": cid, "driver": "local"}


def test_read_only_mounts_refuse_copies_in(cli, names, volumes, tmp_path: Path) -> None:
    vol, rw = volumes(names("rovol")), volumes(names("rwvol"))
    bind = tmp_path / "robind"
    bind.mkdir()
    name = names("cpro")
    ok(cli("create", "--name", name, "--read-only", "-v", f"{vol}:/ro:ro",
           "-v", f"{rw}:/rw", "-v", f"{bind}:/robind:ro", IMAGE, "true"))  # fmt: skip
    f = tmp_path / "f"
    f.write_text("x\n")
    for target in (f"{name}:/ro/", f"{name}:/robind/"):
        _fails(cli("cp", str(f), target), "mounted volume is marked read-only")
    _fails(cli("cp", str(f), f"{name}:/tmp/"), "container rootfs is marked read-only")
    ok(cli("cp", str(f), f"{name}:/rw/"))  # a volume is writable on a read-only rootfs
    assert (_data(cli, rw) / "f").read_text() == "x\n"
    assert list(_data(cli, vol).iterdir()) == [] and list(bind.iterdir()) == []
    assert _tar_names(ok(cli("cp", f"{name}:/rw", "-")).stdout) == ["rw", "rw/f"]


def test_mount_points_missing_from_the_image(cli, names, volumes, tmp_path: Path) -> None:
    """A never-started container: dockerd's view creates /a/b for a volume at /a/b/c."""
    vol = volumes(names("deepvol"))
    (_data(cli, vol) / "seed").write_text("seeded\n")
    name = names("cpdeep")
    ok(cli("create", "--name", name, "-v", f"{vol}:/a/b/c", IMAGE, "true"))
    assert _tar_names(ok(cli("cp", f"{name}:/a", "-")).stdout) == [
        "a",
        "a/b",
        "a/b/c",
        "a/b/c/seed",
    ]
    ok(cli("cp", f"{name}:/a/b/c/seed", str(tmp_path / "seed")))
    assert (tmp_path / "seed").read_text() == "seeded\n"
    up = tmp_path / "up"
    up.write_text("up\n")
    ok(cli("cp", str(up), f"{name}:/a/b/c/"))
    assert (_data(cli, vol) / "up").read_text() == "up\n"


def test_tmpfs_is_not_in_the_copy_view(cli, names, tmp_path: Path) -> None:
    """cp reaches the rootfs directory under a tmpfs, running or not (as dockerd)."""
    name = names("cptmpfs")
    ok(cli("run", "-d", "--name", name, "--tmpfs", "/scratch", IMAGE,
           "sh", "-c", "echo volatile > /scratch/mem; touch /ready; sleep 300"))  # fmt: skip
    ok(cli("exec", name, "sh", "-c", "while [ ! -e /ready ]; do usleep 10000; done"))
    _fails(cli("cp", f"{name}:/scratch/mem", str(tmp_path / "mem")), "Could not find the file")
    f = tmp_path / "under"
    f.write_text("underneath\n")
    ok(cli("cp", str(f), f"{name}:/scratch/"))
    assert out(ok(cli("exec", name, "ls", "/scratch"))).split() == ["mem"]
    ok(cli("stop", "-t", "0", name))
    ok(cli("cp", f"{name}:/scratch/under", str(tmp_path / "back")))
    assert (tmp_path / "back").read_text() == "underneath\n"


def test_export_leaves_the_mounts_out(cli, names, volumes, tmp_path: Path) -> None:
    vol = volumes(names("expvol"))
    (_data(cli, vol) / "in-volume").write_text("v\n")
    name = names("cpexp")
    ok(cli("create", "--name", name, "-v", f"{vol}:/data", IMAGE, "true"))
    listed = subprocess.run(["tar", "t"], input=ok(cli("export", name)).stdout,
                            capture_output=True, check=True).stdout.decode().split()  # fmt: skip
    assert "etc/passwd" in listed
    assert not any("in-volume" in n for n in listed)
    assert "in-volume" in out(ok(cli("cp", f"{name}:/data/in-volume", "-")))
