"""daemon.json's container defaults as dockerd applies them: default-shm-size (in the
HostConfig), default-ulimits (merged into the spec, the container's own winning), dns,
dns-search and dns-opts (where the container gave none); and the file's keys checked as
dockerd checks them (an unknown one is refused, one of dockerd's we do not act on is logged).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from .conftest import IMAGE, ok, out
from .daemon import DOCKERPYD, Daemon

SETTINGS = {
    "default-shm-size": "32M",
    "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 2048, "Soft": 1536}},
    "dns": ["192.0.2.53"],
    "dns-search": ["corp.test"],
    "dns-opts": ["ndots:3"],
    "exec-opts": ["native.cgroupdriver=cgroupfs"],
}


@pytest.fixture(scope="module")
def own(busybox_tar: str) -> Iterator[Daemon]:
    d = Daemon()
    (d.base / "daemon.json").write_text(json.dumps(SETTINGS))
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        yield d
    finally:
        d.cleanup()


def test_containers_get_the_daemons_defaults(own: Daemon) -> None:
    script = "ulimit -Sn; ulimit -Hn; df -k /dev/shm | tail -1; cat /etc/resolv.conf"
    lines = out(ok(own.cli("run", "--rm", IMAGE, "sh", "-c", script))).splitlines()
    assert lines[:2] == ["1536", "2048"]
    assert lines[2].split()[1] == str(32 * 1024)
    resolv = "\n".join(lines[3:])
    assert "nameserver 192.0.2.53" in resolv
    assert "search corp.test" in resolv
    assert "options ndots:3" in resolv


def test_the_containers_own_settings_win(own: Daemon) -> None:
    cid = out(
        ok(
            own.cli(
                "create", "--ulimit", "nofile=100:200", "--shm-size", "8m", "--dns", "192.0.2.1",
                IMAGE, "sh", "-c", "ulimit -Sn; df -k /dev/shm | tail -1; cat /etc/resolv.conf",
            )
        )
    ).strip()  # fmt: skip
    try:
        host_config = json.loads(out(ok(own.cli("inspect", cid))))[0]["HostConfig"]
        assert host_config["ShmSize"] == 8 * 1024 * 1024
        assert host_config["Ulimits"] == [{"Name": "nofile", "Hard": 200, "Soft": 100}]
        lines = out(ok(own.cli("start", "-a", cid))).splitlines()
        assert lines[0] == "100"
        assert lines[1].split()[1] == str(8 * 1024)
        assert "nameserver 192.0.2.1" in lines and "nameserver 192.0.2.53" not in lines
        assert "search corp.test" in lines  # only what it gave is its own
    finally:
        own.cli("rm", "-f", cid)


def test_inspect_shows_the_default_shm_size_but_not_the_default_ulimits(own: Daemon) -> None:
    cid = out(ok(own.cli("create", IMAGE, "true"))).strip()
    try:
        host_config = json.loads(out(ok(own.cli("inspect", cid))))[0]["HostConfig"]
        assert host_config["ShmSize"] == 32 * 1024 * 1024
        assert not host_config.get("Ulimits")
    finally:
        own.cli("rm", cid)


def test_dockerds_other_keys_are_logged_as_ignored(own: Daemon) -> None:
    assert "'exec-opts' is a dockerd setting dockerpyd ignores" in own.log_path.read_text()


def test_validate_refuses_unknown_keys(tmp_path) -> None:
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps({"debug": True, "shm-size": "1g", "dns": ["10.0.0.1"]}))
    result = subprocess.run(
        [str(DOCKERPYD), "--config-file", str(config), "--validate"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        "the following directives don't match any configuration option: shm-size"
        in result.stderr.decode()
    )
