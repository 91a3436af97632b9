"""Daemon restarts, clean (SIGTERM) and crashed (SIGKILL), keep images, containers and logs;
running containers survive (live restore) and are watched again."""

from __future__ import annotations

import json
import time

import pytest

from .conftest import IMAGE
from .daemon import Daemon


@pytest.fixture(scope="module")
def own(busybox_tar):
    d = Daemon()
    d.start()
    assert d.cli("import", busybox_tar, IMAGE).returncode == 0
    try:
        yield d
    finally:
        d.cleanup()


def state(d: Daemon, name: str) -> dict:
    result = d.cli("inspect", name)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]["State"]


@pytest.mark.parametrize("how", ["stop", "kill9"])
def test_restart_keeps_state(own: Daemon, how: str):
    image_id = own.cli("images", "-q", "--no-trunc", IMAGE).stdout.strip()
    assert (
        own.cli("run", "--name", f"done-{how}", IMAGE, "sh", "-c", "echo kept; exit 5").returncode
        == 5
    )
    assert (
        own.cli(
            "run",
            "-d",
            "--name",
            f"live-{how}",
            IMAGE,
            "sh",
            "-c",
            "echo before; sleep 2; echo after; sleep 300",
        ).returncode
        == 0
    )
    own.stop() if how == "stop" else own.kill9()
    own.start()
    assert own.cli("images", "-q", "--no-trunc", IMAGE).stdout.strip() == image_id
    done = state(own, f"done-{how}")
    assert done["Status"] == "exited" and done["ExitCode"] == 5
    assert own.cli("logs", f"done-{how}").stdout == b"kept\n"
    live = state(own, f"live-{how}")
    assert live["Running"] is True, live
    # output written while the daemon was away is not lost, and the task is still ours
    deadline = time.monotonic() + 15
    while own.cli("logs", f"live-{how}").stdout != b"before\nafter\n":
        assert time.monotonic() < deadline, own.cli("logs", f"live-{how}").stdout
        time.sleep(0.2)
    assert own.cli("stop", "-t", "0", f"live-{how}").returncode == 0
    stopped = state(own, f"live-{how}")
    assert stopped["Status"] == "exited" and stopped["ExitCode"] == 137
    assert own.cli("rm", f"done-{how}", f"live-{how}").returncode == 0


def test_exit_while_daemon_down_is_reconciled(own: Daemon):
    assert (
        own.cli("run", "-d", "--name", "quick", IMAGE, "sh", "-c", "sleep 1; exit 7").returncode
        == 0
    )
    assert (
        own.cli("run", "-d", "--rm", "--name", "quick-rm", IMAGE, "sh", "-c", "sleep 1").returncode
        == 0
    )
    own.kill9()
    time.sleep(2)
    own.start()
    quick = state(own, "quick")
    assert quick["Status"] == "exited" and quick["ExitCode"] == 7
    assert own.cli("inspect", "quick-rm").returncode == 1  # --rm honoured across the restart
    own.cli("rm", "quick")


def test_live_restore_false_stops_containers_on_shutdown(busybox_tar):
    """dockerd's default behaviour, kept behind `"live-restore": false` in daemon.json."""
    d = Daemon()
    (d.base / "daemon.json").write_text('{"live-restore": false}\n')
    d.start()
    try:
        assert d.cli("import", busybox_tar, IMAGE).returncode == 0
        info = d.cli("info", "--format", "{{.LiveRestoreEnabled}}").stdout.strip()
        assert info == b"false"
        assert (
            d.cli(
                "run",
                "-d",
                "--stop-timeout",
                "1",
                "--name",
                "stopped-with-daemon",
                IMAGE,
                "sleep",
                "300",
            ).returncode
            == 0
        )
        d.stop()
        d.start()
        after = state(d, "stopped-with-daemon")
        assert after["Running"] is False and after["Status"] == "exited"
    finally:
        d.cleanup()
