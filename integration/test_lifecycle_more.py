"""pause/unpause, rename, container prune, run -t, and attach to a running container."""

from __future__ import annotations

import json
import subprocess
import time

from .conftest import IMAGE
from .daemon import docker_cli


def test_pause_unpause(cli):
    cid = cli("run", "-d", IMAGE, "sleep", "300").stdout.decode().strip()
    assert cli("pause", cid).returncode == 0
    assert json.loads(cli("inspect", cid).stdout)[0]["State"]["Status"] == "paused"
    status = cli("ps", "--filter", f"id={cid}", "--format", "{{.Status}}").stdout.decode()
    assert status.strip().endswith("(Paused)")
    again = cli("pause", cid)
    assert again.returncode == 1 and "is already paused" in again.stderr.decode()
    busy = cli("exec", cid, "true")
    assert "is paused, unpause the container before exec" in busy.stderr.decode()
    assert cli("unpause", cid).returncode == 0
    assert cli("exec", cid, "true").returncode == 0
    assert "is not paused" in cli("unpause", cid).stderr.decode()
    assert cli("pause", cid).returncode == 0
    assert cli("stop", "-t", "1", cid).returncode == 0  # a paused container can be stopped
    assert json.loads(cli("inspect", cid).stdout)[0]["State"]["Status"] == "exited"
    cli("rm", cid)


def test_rename(cli):
    cli("create", "--name", "before", IMAGE, "true")
    cli("create", "--name", "taken", IMAGE, "true")
    assert cli("rename", "before", "after").returncode == 0
    assert json.loads(cli("inspect", "after").stdout)[0]["Name"] == "/after"
    assert cli("inspect", "before").returncode == 1
    clash = cli("rename", "after", "taken")
    assert clash.returncode == 1 and "is already in use" in clash.stderr.decode()
    bad = cli("rename", "after", "no/slashes")
    assert bad.returncode == 1 and "Invalid container name" in bad.stderr.decode()
    cli("rm", "after", "taken")


def test_container_prune(cli):
    keep = cli("run", "-d", "--label", "prune=me", IMAGE, "sleep", "60").stdout.decode().strip()
    gone = cli("create", "--label", "prune=me", IMAGE, "true").stdout.decode().strip()
    other = cli("create", "--label", "prune=no", IMAGE, "true").stdout.decode().strip()
    result = cli("container", "prune", "-f", "--filter", "label=prune=me")
    assert result.returncode == 0, result.stderr
    assert gone in result.stdout.decode()
    assert cli("inspect", gone).returncode == 1
    assert cli("inspect", keep).returncode == 0  # running: never pruned
    assert cli("inspect", other).returncode == 0
    cli("rm", "-f", keep, other)


def test_run_with_tty(daemon):
    """`docker run -t` needs a terminal on the client side: give it one with `script`."""
    result = subprocess.run(
        ["script", "-qec", f"{docker_cli()} -H {daemon.host} run --rm -t {IMAGE} sh -c 'tty'",
         "/dev/null"],
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    assert b"/dev/pts/0" in result.stdout, result.stdout + result.stderr


def test_attach_to_running_container(daemon, cli):
    cid = cli("run", "-d", IMAGE, "sh", "-c", "sleep 1; echo late; exit 4").stdout.decode().strip()
    started = time.monotonic()
    attached = daemon.cli("attach", cid)
    assert attached.stdout == b"late\n"
    assert attached.returncode == 4
    assert time.monotonic() - started < 30
    cli("rm", cid)


def _drive_tty(argv: list[str], keystrokes: list[bytes]) -> tuple[bytes, int]:
    """Run a command on a real pseudo-terminal, typing each keystroke group after a pause (a
    person types ctrl-p and ctrl-q as two key presses); return its output and exit status."""
    import os
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    output = b""

    def read_for(seconds: float) -> None:
        nonlocal output
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    return

    read_for(1.5)
    for keys in keystrokes:
        os.write(fd, keys)
        read_for(0.5)
    deadline = time.monotonic() + 20
    while (status := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        assert time.monotonic() < deadline, output
        read_for(0.1)
    os.close(fd)
    return output, os.waitstatus_to_exitcode(status[1])


def test_detach_keys_leave_the_container_running(daemon, cli):
    """ctrl-p ctrl-q typed into `docker run -it` detaches; the container keeps running."""
    argv = [docker_cli(), "-H", daemon.host, "run", "-it", "--name", "detachme", IMAGE, "sh"]
    output, code = _drive_tty(argv, [b"echo typed-in\n", b"\x10", b"\x11"])
    assert code == 0, output
    assert b"typed-in" in output
    assert json.loads(cli("inspect", "detachme").stdout)[0]["State"]["Running"] is True
    cli("rm", "-f", "detachme")
