"""docker cp (both ways, running and stopped, escapes), export, diff and commit, through the
real docker CLI and docker-py."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import docker
import pytest

from .conftest import IMAGE, ok, out


def _running(cli, name: str, script: str = "sleep 300") -> None:
    ok(cli("run", "-d", "--name", name, IMAGE, "sh", "-c", script))


def _wait_for(cli, name: str, path: str) -> None:
    """The container's setup script has written `path` (exec, no sleeping on time)."""
    ok(cli("exec", name, "sh", "-c", f"while [ ! -e {path} ]; do usleep 10000; done"))


def _tar_names(data: bytes) -> list[str]:
    return [m.name for m in _members(data)]


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def _views_mounted(daemon) -> list[str]:
    """Our `<data-root>/containers/<id>/merged` mounts: none once an operation is over."""
    prefix = f" {daemon.data_root}/containers/"
    with open("/proc/self/mountinfo") as mounts:
        return [line for line in mounts if prefix in line and "/merged " in line]


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_cp_both_ways(cli, daemon, names, tmp_path: Path, state: str) -> None:
    name = names("cp")
    _running(
        cli,
        name,
        "mkdir -p /data/sub && echo inside > /data/sub/f && ln -s sub/f /data/l;"
        " touch /ready; sleep 300",
    )
    _wait_for(cli, name, "/ready")
    if state == "stopped":
        ok(cli("stop", "-t", "0", name))
    # container -> host: a file, a directory, a symlink kept as a link and followed with -L
    ok(cli("cp", f"{name}:/data/sub/f", str(tmp_path / "f")))
    assert (tmp_path / "f").read_text() == "inside\n"
    ok(cli("cp", f"{name}:/data", str(tmp_path / "data")))
    assert (tmp_path / "data" / "sub" / "f").read_text() == "inside\n"
    assert os.readlink(tmp_path / "data" / "l") == "sub/f"
    ok(cli("cp", "-L", f"{name}:/data/l", str(tmp_path / "followed")))
    assert (tmp_path / "followed").read_text() == "inside\n"
    ok(cli("cp", f"{name}:/data/.", str(tmp_path / "contents")))
    assert sorted(os.listdir(tmp_path / "contents")) == ["l", "sub"]
    # host -> container: a file into a directory, a directory under a new name
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "g").write_text("from host\n")
    ok(cli("cp", str(tmp_path / "up" / "g"), f"{name}:/data/"))
    ok(cli("cp", str(tmp_path / "up"), f"{name}:/uploaded"))
    ok(cli("cp", f"{name}:/data/g", str(tmp_path / "g-back")))
    assert (tmp_path / "g-back").read_text() == "from host\n"
    stream = ok(cli("cp", f"{name}:/uploaded", "-")).stdout
    assert _tar_names(stream) == ["uploaded", "uploaded/g"]
    missing = cli("cp", f"{name}:/no/such", str(tmp_path / "x"))
    assert missing.returncode != 0
    assert f"Could not find the file /no/such in container {name}" in missing.stderr.decode()
    assert _views_mounted(daemon) == []
    if state == "stopped":
        ok(cli("start", name))
    assert out(ok(cli("exec", name, "cat", "/uploaded/g"))) == "from host\n"


def test_cp_archive_mode_owners(cli, names, tmp_path: Path) -> None:
    src = tmp_path / "owned"
    src.mkdir()
    (src / "f").write_text("x")
    for path in (src, src / "f"):
        os.chown(path, 1234, 5678)
    plain, user = names("own"), names("ownuser")
    ok(cli("create", "--name", plain, IMAGE, "true"))
    ok(cli("create", "--name", user, "--user", "nobody", IMAGE, "true"))
    ok(cli("cp", str(src), f"{plain}:/kept"))
    ok(cli("cp", "-a", str(src), f"{plain}:/archived"))
    ok(cli("cp", "-a", str(src), f"{user}:/mine"))
    for container, path, owner in (
        (plain, "/kept/f", (1234, 5678)),
        (plain, "/archived/f", (1234, 5678)),
        (user, "/mine/f", (65534, 65534)),  # -a with a container user: that user's ids
    ):
        info = _members(ok(cli("cp", f"{container}:{path}", "-")).stdout)[0]
        assert (info.uid, info.gid) == owner, (container, path)


def test_cp_cannot_escape_the_container(cli, names, tmp_path: Path) -> None:
    marker = tmp_path / "host-marker"
    marker.write_text("host only\n")
    name = names("esc")
    _running(
        cli,
        name,
        "ln -s / /rootlink; ln -s ../../../../../.. /uplink; echo mine > /tmp/own; touch /ready;"
        " sleep 300",
    )
    _wait_for(cli, name, "/ready")
    for path in (
        f"{marker}",
        f"../../../../{marker}",
        f"/uplink{marker}",
        f"/rootlink/..{marker}",
    ):
        result = cli("cp", f"{name}:{path}", "-")
        assert result.returncode != 0, path
        assert "Could not find the file" in result.stderr.decode()
    # through the links we only ever reach the container's own files
    assert _members(ok(cli("cp", f"{name}:/uplink/tmp/own", "-")).stdout)[0].name == "own"
    assert b"mine" in ok(cli("cp", f"{name}:/rootlink/../../tmp/own", "-")).stdout
    # writing through them lands inside too
    src = tmp_path / "planted"
    src.write_text("planted\n")
    target_dir = tmp_path / "victim"
    target_dir.mkdir()
    ok(cli("exec", name, "mkdir", "-p", str(target_dir)))
    ok(cli("cp", str(src), f"{name}:/uplink{target_dir}/"))
    ok(cli("cp", str(src), f"{name}:../../..{target_dir}/"))
    assert os.listdir(target_dir) == []
    assert out(ok(cli("exec", name, "cat", f"{target_dir}/planted"))) == "planted\n"
    ok(cli("stop", "-t", "0", name))
    ok(cli("cp", str(src), f"{name}:/rootlink{target_dir}/again"))
    assert os.listdir(target_dir) == []
    assert b"planted" in ok(cli("cp", f"{name}:{target_dir}/again", "-")).stdout


def test_cp_errors(cli, names, tmp_path: Path, client) -> None:
    name, ro = names("err"), names("ro")
    ok(cli("create", "--name", name, IMAGE, "true"))
    ok(cli("create", "--name", ro, "--read-only", IMAGE, "true"))
    f = tmp_path / "f"
    f.write_text("x")
    denied = cli("cp", str(f), f"{ro}:/tmp/")
    assert denied.returncode != 0
    assert "container rootfs is marked read-only" in denied.stderr.decode()
    api = client.api
    with pytest.raises(docker.errors.APIError) as info:
        api.put_archive(name, "/etc/passwd", b"\0" * 1024)
    assert info.value.status_code == 400
    assert "extraction point is not a directory" in str(info.value)
    with pytest.raises(docker.errors.NotFound):
        api.put_archive(name, "/nope", b"\0" * 1024)
    with pytest.raises(docker.errors.APIError) as info:
        api.get_archive(name, "")
    assert info.value.status_code == 400


def test_docker_py_archive(client, names, cli) -> None:
    name = names("py")
    container = client.containers.run(IMAGE, ["sleep", "300"], name=name, detach=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    assert container.put_archive("/tmp", buf.getvalue())
    chunks, stat = container.get_archive("/tmp/hello.txt")
    assert stat["name"] == "hello.txt" and stat["size"] == 3
    assert stat["mode"] == 0o644
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as member:
        assert member.extractfile("hello.txt").read() == b"abc"
    _, link = container.get_archive("/bin/sh")
    assert link["mode"] & (1 << 27) and link["linkTarget"] == "/bin/busybox"
    _, root = container.get_archive("/")
    assert root["name"] == "/" and root["mode"] & (1 << 31)


def test_export(cli, names) -> None:
    name = names("exp")
    ok(cli("run", "--name", name, IMAGE, "sh", "-c", "echo e > /exported"))
    tar = subprocess.run(
        ["tar", "t"], input=ok(cli("export", name)).stdout, capture_output=True, check=True
    )
    listed = tar.stdout.decode().split()
    assert {"bin/busybox", "etc/passwd", "exported"} <= set(listed)
    assert not any(n.startswith("/") or n.startswith("./") for n in listed)


def test_diff(cli, names, client) -> None:
    name = names("diff")
    ok(
        cli(
            "run", "--name", name, IMAGE, "sh", "-c", "mkdir /new && echo x > /new/f && rm /bin/cat"
        )
    )
    assert out(ok(cli("diff", name))).splitlines() == ["C /bin", "D /bin/cat", "A /new", "A /new/f"]
    clean = names("clean")
    ok(cli("run", "--name", clean, IMAGE, "true"))
    assert out(ok(cli("diff", clean))) == ""  # the /etc/hosts & co mount points are not changes
    assert client.api.diff(clean) is None


def test_commit_with_changes(cli, names) -> None:
    name, image = names("commit"), names("committed")
    ok(cli("run", "--name", name, IMAGE, "sh", "-c", "echo made > /made && rm /bin/cat"))
    commit = ok(
        cli(
            "commit",
            "-m",
            "a message",
            "-a",
            "Some Author <a@example.com>",
            "-c",
            "ENV GREETING=hello",
            "-c",
            'CMD ["sh", "-c", "echo $GREETING; cat /made; pwd; test -e /bin/cat || echo gone"]',
            "-c",
            "WORKDIR /tmp",
            name,
            f"{image}:1",
        )
    )
    image_id = out(commit).strip()
    assert image_id.startswith("sha256:")
    inspect = json.loads(out(ok(cli("image", "inspect", f"{image}:1"))))[0]
    assert inspect["Id"] == image_id
    assert inspect["Comment"] == "a message"
    assert inspect["Author"] == "Some Author <a@example.com>"
    assert "GREETING=hello" in inspect["Config"]["Env"]
    assert inspect["Config"]["WorkingDir"] == "/tmp"
    assert len(inspect["RootFS"]["Layers"]) == 2
    run = ok(cli("run", "--rm", f"{image}:1"))
    assert out(run).splitlines() == ["hello", "made", "/tmp", "gone"]  # the deletion too
    # bad change lines are the client's error
    bad = cli("commit", "-c", "RUN true", name, f"{image}:2")
    assert bad.returncode != 0 and "run is not a valid change command" in bad.stderr.decode()


def test_commit_running_container_pauses_it(cli, names, client) -> None:
    name, image = names("live"), names("livecommit")
    _running(cli, name, "echo state > /state; touch /ready; sleep 300")
    _wait_for(cli, name, "/ready")
    since = time.time()
    ok(cli("commit", name, f"{image}:1"))
    assert out(ok(cli("inspect", "-f", "{{.State.Status}}", name))).strip() == "running"
    assert out(ok(cli("run", "--rm", f"{image}:1", "cat", "/state"))) == "state\n"
    events = client.events(
        since=since, until=time.time() + 1, filters={"container": name}, decode=True
    )
    actions = [e["Action"] for e in events]
    assert actions == ["pause", "unpause", "commit"]
    # --pause=false leaves it running throughout, and a no-change commit adds no layer
    nochange = names("nochange")
    ok(cli("create", "--name", nochange, IMAGE, "true"))
    ok(cli("commit", "--pause=false", nochange, f"{image}:2"))
    layers = json.loads(out(ok(cli("image", "inspect", f"{image}:2"))))[0]["RootFS"]["Layers"]
    base = json.loads(out(ok(cli("image", "inspect", IMAGE))))[0]["RootFS"]["Layers"]
    assert layers == base
    cli("rmi", f"{image}:2")


def test_concurrent_and_abandoned_copies_leave_no_mount(cli, daemon, names, client) -> None:
    """Copies from a stopped container share one view; clients that hang up mid-tar (or
    right after it) never leave it mounted."""
    from concurrent.futures import ThreadPoolExecutor

    name = names("many")
    ok(cli("create", "--name", name, IMAGE, "true"))

    def copy(i: int) -> int:
        if i % 3 == 0:  # docker-py, abandoning the stream after its first chunk
            api = docker.APIClient(base_url=daemon.host, timeout=60)
            try:
                stream, _ = api.get_archive(name, "/bin", chunk_size=512)
                next(iter(stream))
            finally:
                api.close()
            return 0
        return len(ok(cli("cp", f"{name}:/bin", "-")).stdout)

    with ThreadPoolExecutor(max_workers=6) as pool:
        sizes = list(pool.map(copy, range(18)))
    assert len({s for s in sizes if s}) == 1  # every complete copy is the same tar
    ok(cli("start", name))  # the daemon is still fine with this container...
    assert out(ok(cli("diff", name))) == ""
    ok(cli("rm", "-f", name))
    for _ in range(100):  # ...and the abandoned requests' views are gone once they end
        if not _views_mounted(daemon):
            break
        time.sleep(0.05)
    assert _views_mounted(daemon) == []
