"""Volumes and mounts end to end, with the real docker CLI and docker-py: named and anonymous
volumes, copy-up, `-v`/`--mount` binds and their options, --volumes-from, in-use protection,
prune per API version, local driver options, and data surviving a daemon kill -9."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import docker
import pytest

from .conftest import IMAGE
from .daemon import Daemon, docker_cli


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ok(result) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def fails(result, message: str) -> None:
    assert result.returncode != 0
    assert message in result.stderr.decode(), result.stderr.decode()


def volume_names(cli) -> set[str]:
    return set(ok(cli("volume", "ls", "-q")).split())


def mounts(cli, container: str) -> list[dict]:
    return json.loads(ok(cli("inspect", "-f", "{{json .Mounts}}", container)))


# ------------------------------------------------------------------------- named volumes


def test_named_volume_survives_container_removal(cli):
    vol = _name("keep")
    ok(cli("run", "--rm", "-v", f"{vol}:/data", IMAGE, "sh", "-c", "echo kept > /data/f"))
    assert vol in volume_names(cli)
    assert ok(cli("run", "--rm", "-v", f"{vol}:/data", IMAGE, "cat", "/data/f")) == "kept\n"
    info = json.loads(ok(cli("volume", "inspect", vol)))[0]
    assert info["Driver"] == "local" and info["Scope"] == "local"
    assert info["Mountpoint"].endswith(f"/volumes/{vol}/_data")
    ok(cli("volume", "rm", vol))


def test_volume_api_with_docker_py(client):
    vol = client.volumes.create(_name("py"), labels={"team": "a"})
    assert vol.attrs["Labels"] == {"team": "a"}
    assert vol.name in [v.name for v in client.volumes.list(filters={"label": "team=a"})]
    assert vol.name in [v.name for v in client.volumes.list(filters={"dangling": True})]
    assert vol.name not in [v.name for v in client.volumes.list(filters={"driver": "nope"})]
    vol.remove()
    with pytest.raises(docker.errors.NotFound, match="no such volume"):
        client.volumes.get(vol.name)


def test_volume_in_use_cannot_be_removed(cli):
    vol, ctr = _name("busy"), _name("user")
    ok(cli("create", "--name", ctr, "-v", f"{vol}:/d", IMAGE, "true"))
    cid = ok(cli("inspect", "-f", "{{.Id}}", ctr)).strip()
    fails(cli("volume", "rm", vol), f"remove {vol}: volume is in use - [{cid}]")
    ok(cli("rm", "-v", ctr))
    assert vol in volume_names(cli)  # rm -v keeps named volumes
    ok(cli("volume", "rm", vol))


def test_invalid_volume_name(cli):
    fails(cli("volume", "create", "a/b"), "includes invalid characters for a local volume name")


# ---------------------------------------------------------------------- anonymous volumes


def test_anonymous_volumes_go_with_rm_v_and_rm_only(cli):
    keep, drop = _name("anon-keep"), _name("anon-drop")
    for ctr in (keep, drop):
        ok(cli("run", "--name", ctr, "-v", "/anon", "--mount", "type=volume,dst=/m", IMAGE, "true"))
    names = {ctr: [m["Name"] for m in mounts(cli, ctr)] for ctr in (keep, drop)}
    for ctr in (keep, drop):
        assert len(names[ctr]) == 2 and all(len(n) == 64 for n in names[ctr])
    labels = json.loads(ok(cli("volume", "inspect", names[keep][0])))[0]["Labels"]
    assert labels == {"com.docker.volume.anonymous": ""}
    ok(cli("rm", keep))
    ok(cli("rm", "-v", drop))
    existing = volume_names(cli)
    assert set(names[keep]) <= existing
    assert not set(names[drop]) & existing
    for name in names[keep]:
        ok(cli("volume", "rm", name))


def test_run_rm_removes_anonymous_but_not_named(cli):
    vol = _name("named")
    before = volume_names(cli)
    ok(cli("run", "--rm", "-v", "/scratch", "-v", f"{vol}:/n", IMAGE, "true"))
    assert volume_names(cli) - before == {vol}
    ok(cli("volume", "rm", vol))


def test_image_volumes_become_anonymous_volumes_with_copy_up(cli):
    image = _name("volimg")
    ctr = _name("base")
    ok(cli("run", "--name", ctr, IMAGE, "sh", "-c", "mkdir -p /srv && echo from-image > /srv/f"))
    ok(cli("commit", "--change", "VOLUME /srv", ctr, image))
    ok(cli("rm", ctr))
    user = _name("img-user")
    out = ok(cli("run", "--name", user, image, "cat", "/srv/f"))
    assert out == "from-image\n"
    (point,) = mounts(cli, user)
    assert point["Type"] == "volume" and point["Destination"] == "/srv" and point["Mode"] == ""
    ok(cli("rm", "-v", user))
    assert point["Name"] not in volume_names(cli)
    ok(cli("rmi", image))


# ----------------------------------------------------------------------------- copy-up


def test_copy_up_of_busybox_etc_keeps_modes_and_owners(cli):
    vol = _name("etc")
    listing = ok(cli("run", "--rm", IMAGE, "ls", "-ln", "/etc"))
    copied = ok(cli("run", "--rm", "-v", f"{vol}:/etc", IMAGE, "ls", "-ln", "/etc"))
    # the daemon's own hosts/hostname/resolv.conf are mounted over both listings
    assert sorted(listing.splitlines()) == sorted(copied.splitlines())
    ok(cli("run", "--rm", "-v", f"{vol}:/etc", IMAGE, "sh", "-c", "echo new > /etc/extra"))
    # a volume with content is not copied into again
    assert "extra" in ok(cli("run", "--rm", "-v", f"{vol}:/etc", IMAGE, "ls", "/etc"))
    ok(cli("volume", "rm", vol))


def test_volume_nocopy(cli):
    vol = _name("nocopy")
    out = ok(
        cli("run", "--rm", "--mount", f"src={vol},dst=/etc,volume-nocopy", IMAGE, "ls", "/etc")
    )
    assert "passwd" not in out
    vol2 = _name("nocopy-v")
    out = ok(cli("run", "--rm", "-v", f"{vol2}:/etc:nocopy", IMAGE, "ls", "/etc"))
    assert "passwd" not in out
    ok(cli("volume", "rm", vol, vol2))


# ------------------------------------------------------------------------------- binds


def test_bind_mounts_ro_rw_and_created_source(cli, tmp_path):
    host = tmp_path / "rw"
    host.mkdir()
    ok(cli("run", "--rm", "-v", f"{host}:/b", IMAGE, "sh", "-c", "echo hi > /b/f"))
    assert (host / "f").read_text() == "hi\n"
    fails(
        cli("run", "--rm", "-v", f"{host}:/b:ro", IMAGE, "touch", "/b/g"), "Read-only file system"
    )
    created = tmp_path / "made" / "by" / "v"
    ok(cli("run", "--rm", "-v", f"{created}:/c", IMAGE, "true"))
    assert created.is_dir()


def test_mount_bind_errors_as_dockerd(cli, tmp_path):
    missing = tmp_path / "missing"
    fails(
        cli("run", "--rm", "--mount", f"type=bind,src={missing},dst=/x", IMAGE, "true"),
        f'invalid mount config for type "bind": bind source path does not exist: {missing}',
    )
    assert not missing.exists()
    fails(cli("run", "--rm", "-v", "/a:/b:bogus", IMAGE, "true"), "invalid mode: bogus")
    fails(
        cli("run", "--rm", "-v", f"{tmp_path}:/x", "-v", "/tmp:/x", IMAGE, "true"),
        "Duplicate mount point: /x",
    )


def test_mount_readonly_and_propagation(cli, tmp_path):
    ctr = _name("prop")
    ok(
        cli(
            "run",
            "--name",
            ctr,
            "--mount",
            f"type=bind,src={tmp_path},dst=/p,readonly,bind-propagation=rslave",
            IMAGE,
            "sh",
            "-c",
            "touch /p/x 2>/dev/null && exit 1; grep ' /p ' /proc/self/mountinfo",
        )
    )
    (point,) = mounts(cli, ctr)
    assert point == {
        "Type": "bind",
        "Source": str(tmp_path),
        "Destination": "/p",
        "Mode": "",
        "RW": False,
        "Propagation": "rslave",
    }
    ok(cli("rm", ctr))


def test_readonly_bind_is_recursive(cli, tmp_path):
    """A read-only bind of a tree with a mount inside is read-only all the way down (rro)."""
    out = ok(
        cli(
            "run",
            "--rm",
            "-v",
            "/run:/r:ro",
            IMAGE,
            "sh",
            "-c",
            "awk '$2 ~ \"^/r/\" {print $4}' /proc/mounts | cut -d, -f1 | sort -u",
        )
    )
    assert out.split() in ([], ["ro"])


# ------------------------------------------------------------------------------- tmpfs


def test_tmpfs_mount_options(cli):
    out = ok(
        cli(
            "run",
            "--rm",
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=2m,tmpfs-mode=1770",
            IMAGE,
            "sh",
            "-c",
            "grep ' /t ' /proc/mounts; stat -c %a /t",
        )
    )
    assert "size=2048k" in out and "mode=1770" in out and out.split()[-1] == "1770"


def test_local_driver_tmpfs_options(cli):
    vol = _name("tmpfs")
    ok(
        cli(
            "volume",
            "create",
            "--opt",
            "type=tmpfs",
            "--opt",
            "device=tmpfs",
            "--opt",
            "o=size=3m,uid=1000",
            vol,
        )
    )
    out = ok(cli("run", "--rm", "-v", f"{vol}:/v", IMAGE, "sh", "-c", "grep ' /v ' /proc/mounts"))
    assert "tmpfs" in out and "size=3072k" in out and "uid=1000" in out
    info = json.loads(ok(cli("volume", "inspect", vol)))[0]
    assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=3m,uid=1000"}
    # unmounted again once the last container is gone
    with open("/proc/self/mountinfo") as f:
        assert info["Mountpoint"] not in f.read()
    ok(cli("volume", "rm", vol))
    fails(
        cli("volume", "create", "--opt", "type=tmpfs", _name("bad")),
        'missing required option: "device"',
    )


# -------------------------------------------------------------------------- subpath, from


def test_volume_subpath(cli):
    vol = _name("sub")
    ok(
        cli(
            "run",
            "--rm",
            "-v",
            f"{vol}:/v",
            IMAGE,
            "sh",
            "-c",
            "mkdir -p /v/a && echo s > /v/a/f && ln -s ../../.. /v/up",
        )
    )
    out = ok(
        cli("run", "--rm", "--mount", f"src={vol},dst=/s,volume-subpath=a", IMAGE, "cat", "/s/f")
    )
    assert out == "s\n"
    fails(
        cli("run", "--rm", "--mount", f"src={vol},dst=/s,volume-subpath=up", IMAGE, "true"),
        "escapes the volume",
    )
    fails(
        cli("run", "--rm", "--mount", f"src={vol},dst=/s,volume-subpath=../x", IMAGE, "true"),
        "subpath must be a relative path within the volume",
    )
    ok(cli("volume", "rm", vol))


def test_volumes_from(cli, tmp_path):
    donor, vol = _name("donor"), _name("shared")
    ok(
        cli(
            "create",
            "--name",
            donor,
            "-v",
            f"{vol}:/shared",
            "-v",
            f"{tmp_path}:/host",
            IMAGE,
            "true",
        )
    )
    ok(cli("run", "--rm", "--volumes-from", donor, IMAGE, "sh", "-c", "echo x > /shared/f"))
    out = ok(
        cli(
            "run",
            "--rm",
            "--volumes-from",
            f"{donor}:ro",
            IMAGE,
            "sh",
            "-c",
            "cat /shared/f; touch /shared/g || echo ro",
        )
    )
    assert out == "x\nro\n"
    fails(
        cli("run", "--rm", "--volumes-from", "no-such-donor", IMAGE, "true"),
        "No such container: no-such-donor",
    )
    ok(cli("rm", donor))
    ok(cli("volume", "rm", vol))


# -------------------------------------------------------------------------------- prune


def test_prune_per_api_version(daemon: Daemon, cli):
    named, ctr = _name("prune-named"), _name("prune-anon")
    ok(cli("volume", "create", named))
    ok(cli("create", "--name", ctr, "-v", "/a", IMAGE, "true"))
    anon = mounts(cli, ctr)[0]["Name"]
    ok(cli("rm", ctr))
    out = ok(cli("volume", "prune", "-f"))
    assert anon in out and named not in out
    assert named in volume_names(cli)
    result = subprocess.run(
        [docker_cli(), "volume", "prune", "-f"],
        env={
            **os.environ,
            "DOCKER_API_VERSION": "1.41",
            "DOCKER_HOST": daemon.host,
            "DOCKER_CONFIG": str(daemon.base / "cfg"),
        },
        capture_output=True,
        timeout=60,
    )
    assert named in ok(result)
    assert named not in volume_names(cli)


def test_prune_all_filter(cli):
    named = _name("prune-all")
    ok(cli("volume", "create", named))
    assert named in ok(cli("volume", "prune", "-f", "--all"))


# -------------------------------------------------------------------------- kill -9


def test_named_volume_survives_daemon_kill9(busybox_tar):
    d = Daemon()
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        ok(
            d.cli(
                "run",
                "--name",
                "writer",
                "-v",
                "persist:/data",
                IMAGE,
                "sh",
                "-c",
                "echo survived > /data/f",
            )
        )
        d.kill9()
        d.start()
        assert "persist" in ok(d.cli("volume", "ls", "-q")).split()
        fails(d.cli("volume", "rm", "persist"), "volume is in use")
        ok(d.cli("rm", "writer"))
        assert (
            ok(d.cli("run", "--rm", "-v", "persist:/data", IMAGE, "cat", "/data/f")) == "survived\n"
        )
    finally:
        d.cleanup()
