"""Health checks from --health-* flags: State.Health, ps status, health_status events."""

from __future__ import annotations

import json
import time

from .conftest import IMAGE


def _health(cli, name: str) -> dict:
    return json.loads(cli("inspect", name).stdout)[0]["State"].get("Health")


def _wait_status(cli, name: str, status: str, limit: float = 20) -> dict:
    deadline = time.monotonic() + limit
    while True:
        health = _health(cli, name)
        if health and health["Status"] == status:
            return health
        assert time.monotonic() < deadline, health
        time.sleep(0.2)


def test_healthy_then_unhealthy(cli):
    since = time.time()
    cli(
        "run", "-d", "--name", "checked",
        "--health-cmd", "cat /tmp/ok && echo fine",
        "--health-interval", "300ms", "--health-retries", "2", "--health-timeout", "2s",
        IMAGE, "sh", "-c", "touch /tmp/ok; sleep 300",
    )  # fmt: skip
    healthy = _wait_status(cli, "checked", "healthy")
    assert healthy["FailingStreak"] == 0
    assert healthy["Log"][-1]["ExitCode"] == 0 and healthy["Log"][-1]["Output"] == "fine\n"
    status = cli("ps", "--filter", "name=checked", "--format", "{{.Status}}").stdout.decode()
    assert status.strip().endswith("(healthy)")
    assert cli("ps", "-q", "--filter", "health=healthy").stdout.strip()
    assert cli("exec", "checked", "rm", "/tmp/ok").returncode == 0
    unhealthy = _wait_status(cli, "checked", "unhealthy")
    assert unhealthy["FailingStreak"] >= 2
    assert len(unhealthy["Log"]) <= 5
    events = cli(
        "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
        "--filter", "container=checked", "--format", "{{.Action}}",
    ).stdout.decode().split("\n")  # fmt: skip
    assert "health_status: healthy" in events and "health_status: unhealthy" in events
    cli("rm", "-f", "checked")


def test_probe_timeout_and_start_period(cli):
    cli(
        "run", "-d", "--name", "slowcheck",
        "--health-cmd", "sleep 5", "--health-timeout", "300ms",
        "--health-interval", "300ms", "--health-retries", "1",
        IMAGE, "sleep", "300",
    )  # fmt: skip
    health = _wait_status(cli, "slowcheck", "unhealthy")
    assert health["Log"][-1]["ExitCode"] == -1
    assert "exceeded timeout" in health["Log"][-1]["Output"]
    cli("rm", "-f", "slowcheck")
    cli(
        "run", "-d", "--name", "startcheck", "--health-cmd", "false",
        "--health-interval", "200ms", "--health-retries", "1",
        "--health-start-period", "30s", "--health-start-interval", "200ms",
        IMAGE, "sleep", "300",
    )  # fmt: skip
    time.sleep(1.5)
    health = _health(cli, "startcheck")
    assert health["Status"] == "starting" and len(health["Log"]) >= 2  # failures don't count yet
    status = cli("ps", "--filter", "name=startcheck", "--format", "{{.Status}}").stdout.decode()
    assert status.strip().endswith("(health: starting)")
    cli("rm", "-f", "startcheck")
