"""docker update: limits applied live to a running container, restart policy changed."""

from __future__ import annotations

import json
import time

from .conftest import IMAGE


def test_update_limits_live(cli):
    cid = cli("run", "-d", "--memory", "64m", IMAGE, "sleep", "300").stdout.decode().strip()
    read = ["exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
    assert cli(*read).stdout.strip() == str(64 * 1024 * 1024).encode()
    result = cli("update", "--memory", "96m", "--memory-swap", "200m", "--pids-limit", "50", cid)
    assert result.returncode == 0, result.stderr
    assert cli(*read).stdout.strip() == str(96 * 1024 * 1024).encode()
    pids = cli("exec", cid, "cat", "/sys/fs/cgroup/pids/pids.max").stdout.strip()
    assert pids == b"50"
    host_config = json.loads(cli("inspect", cid).stdout)[0]["HostConfig"]
    assert host_config["Memory"] == 96 * 1024 * 1024 and host_config["PidsLimit"] == 50
    too_big = cli("update", "--memory", "300m", cid)
    assert too_big.returncode == 1
    assert "update the memoryswap at the same time" in too_big.stderr.decode()
    cli("rm", "-f", cid)


def test_update_restart_policy(cli):
    cid = cli("create", IMAGE, "true").stdout.decode().strip()
    assert cli("update", "--restart", "on-failure:3", cid).returncode == 0
    policy = json.loads(cli("inspect", cid).stdout)[0]["HostConfig"]["RestartPolicy"]
    assert policy == {"Name": "on-failure", "MaximumRetryCount": 3}
    cli("rm", cid)
    auto = cli("create", "--rm", IMAGE, "true").stdout.decode().strip()
    refused = cli("update", "--restart", "always", auto)
    assert refused.returncode == 1 and "AutoRemove is enabled" in refused.stderr.decode()
    cli("rm", auto)


def test_oom_kill_is_reported(cli):
    result = cli(
        "run", "--name", "oomer", "--memory", "16m", "--memory-swap", "16m", IMAGE,
        "sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1",
    )  # fmt: skip
    assert result.returncode == 137, result.stderr
    state = json.loads(cli("inspect", "oomer").stdout)[0]["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    actions = cli(
        "events", "--since", f"{time.time() - 60:.3f}", "--until", f"{time.time():.3f}",
        "--filter", "container=oomer", "--format", "{{.Action}}",
    ).stdout.decode().split()  # fmt: skip
    assert "oom" in actions and actions.index("oom") < actions.index("die")
    cli("rm", "oomer")
