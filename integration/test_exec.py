"""docker exec: attached and detached, stdin, tty, env/workdir/user, privileged, exit codes."""

from __future__ import annotations

import json

import pytest

from .conftest import IMAGE


@pytest.fixture
def box(cli):
    name = "execbox"
    assert cli("run", "-d", "--name", name, "-e", "BASE=1", IMAGE, "sleep", "300").returncode == 0
    yield name
    cli("rm", "-f", name)


def test_exec_output_and_exit_codes(cli, box):
    result = cli("exec", box, "sh", "-c", "echo out; echo err >&2; exit 5")
    assert result.returncode == 5
    assert result.stdout == b"out\n" and result.stderr == b"err\n"
    missing = cli("exec", box, "no-such-command")
    assert missing.returncode == 127
    assert b"executable file not found" in missing.stdout + missing.stderr
    denied = cli("exec", box, "/etc/passwd")
    assert denied.returncode == 126


def test_exec_env_workdir_user(cli, box):
    result = cli(
        "exec", "-e", "EXTRA=2", "-w", "/tmp", "-u", "nobody", box,
        "sh", "-c", "echo $BASE $EXTRA $(pwd) $(id -u)",
    )  # fmt: skip
    assert result.stdout == b"1 2 /tmp 65534\n", result.stderr


def test_exec_stdin_and_tty(cli, box):
    piped = cli("exec", "-i", box, "sh", "-c", "cat; echo end", input=b"a\nb\n")
    assert piped.stdout == b"a\nb\nend\n"
    tty = cli("exec", "-t", box, "sh", "-c", "tty; echo $TERM")
    assert tty.returncode == 0
    lines = tty.stdout.decode().replace("\r", "").splitlines()
    assert lines[0].startswith("/dev/pts/") and lines[1] == "xterm"


def test_exec_privileged_and_detached(cli, box):
    caps = cli("exec", "--privileged", box, "grep", "CapEff", "/proc/self/status")
    assert b"a80425fb" not in caps.stdout
    assert cli("exec", "-d", box, "sh", "-c", "echo detached > /tmp/marker").returncode == 0
    for _ in range(50):
        done = cli("exec", box, "cat", "/tmp/marker")
        if done.returncode == 0:
            break
    assert done.stdout == b"detached\n"


def test_exec_inspect_and_errors(client, cli, box):
    container = client.containers.get(box)
    exec_id = client.api.exec_create(container.id, ["sh", "-c", "exit 9"])["Id"]
    assert client.api.exec_start(exec_id) == b""
    info = client.api.exec_inspect(exec_id)
    assert info["ExitCode"] == 9 and info["Running"] is False
    assert info["ContainerID"] == container.id
    assert info["ProcessConfig"]["entrypoint"] == "sh"
    code, output = container.exec_run("echo hi")
    assert code == 0 and output == b"hi\n"
    assert json.loads(cli("inspect", box).stdout)[0]["ExecIDs"]
    stopped = cli("create", IMAGE, "true").stdout.decode().strip()
    refused = cli("exec", stopped, "true")
    assert refused.returncode != 0
    assert "is not running" in refused.stderr.decode()
    cli("rm", stopped)
    assert client.api.inspect_container(container.id)["State"]["Running"]
