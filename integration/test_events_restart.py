"""docker events for container and image actions, and restart policies with their back-off."""

from __future__ import annotations

import json
import time

from .conftest import IMAGE


def _events(cli, since: float, *filters: str) -> list[dict]:
    args = ["events", "--since", f"{since:.9f}", "--until", f"{time.time():.9f}"]
    for f in filters:
        args += ["--filter", f]
    result = cli(*args, "--format", "{{json .}}")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_container_lifecycle_events(cli):
    since = time.time()
    cid = cli("run", "-d", "--name", "evented", "--label", "team=ev", IMAGE, "sleep", "60")
    cid = cid.stdout.decode().strip()
    assert cli("stop", "-t", "0", "evented").returncode == 0
    assert cli("rm", "evented").returncode == 0
    events = _events(cli, since, f"container={cid}")
    actions = [e["Action"] for e in events]
    assert actions == ["create", "start", "kill", "kill", "die", "stop", "destroy"]
    die = events[actions.index("die")]
    assert die["Actor"]["Attributes"]["exitCode"] == "137"
    assert die["Actor"]["Attributes"]["name"] == "evented"
    assert die["Actor"]["Attributes"]["team"] == "ev"
    assert die["Actor"]["Attributes"]["image"] == IMAGE
    assert die["Type"] == "container" and die["status"] == "die" and die["id"] == cid
    only_die = _events(cli, since, f"container={cid}", "event=die")
    assert [e["Action"] for e in only_die] == ["die"]
    by_label = _events(cli, since, "label=team=ev", "type=container")
    assert {e["Actor"]["ID"] for e in by_label} == {cid}


def test_image_events(cli):
    since = time.time()
    assert cli("tag", IMAGE, "evtag:1").returncode == 0
    assert cli("rmi", "evtag:1").returncode == 0
    actions = [e["Action"] for e in _events(cli, since, "type=image")]
    assert actions == ["tag", "untag"]


def test_events_stream_live(daemon):
    """A live `docker events` sees what happens after it started, then ends at --until."""
    import subprocess

    from .daemon import docker_cli

    since = time.time()
    until = since + 4  # (`--until` alone would replay the whole backlog first, as dockerd)
    proc = subprocess.Popen(
        [docker_cli(), "-H", daemon.host, "events", "--since", f"{since:.3f}",
         "--until", f"{until:.3f}", "--filter", "type=container", "--format", "{{.Action}}"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(0.5)
    assert daemon.cli("run", "--rm", IMAGE, "true").returncode == 0
    out, _ = proc.communicate(timeout=30)
    actions = out.decode().split()
    wanted = ["create", "start", "die", "destroy"]
    assert [a for a in actions if a in wanted] == wanted, actions


def test_restart_on_failure_with_retries(cli):
    cli("run", "-d", "--name", "flaky", "--restart", "on-failure:2", IMAGE, "sh", "-c", "exit 3")
    deadline = time.time() + 20
    while time.time() < deadline:
        state = json.loads(cli("inspect", "flaky").stdout)[0]
        if state["RestartCount"] == 2 and state["State"]["Status"] == "exited":
            break
        time.sleep(0.2)
    assert state["RestartCount"] == 2, state
    assert state["State"]["ExitCode"] == 3
    time.sleep(1)  # no third attempt comes
    assert json.loads(cli("inspect", "flaky").stdout)[0]["RestartCount"] == 2
    cli("rm", "-f", "flaky")


def test_restart_always_and_stop(cli):
    cli("run", "-d", "--name", "phoenix", "--restart", "always", IMAGE, "sh", "-c", "sleep 0.2")
    deadline = time.time() + 20
    while json.loads(cli("inspect", "phoenix").stdout)[0]["RestartCount"] < 2:
        assert time.time() < deadline
        time.sleep(0.2)
    assert cli("stop", "-t", "1", "phoenix").returncode == 0
    after = json.loads(cli("inspect", "phoenix").stdout)[0]
    assert after["State"]["Status"] == "exited"
    count = after["RestartCount"]
    time.sleep(1.5)
    assert json.loads(cli("inspect", "phoenix").stdout)[0]["RestartCount"] == count
    assert cli("rm", "phoenix").returncode == 0
    bad = cli("run", "-d", "--restart", "sometimes", IMAGE, "true")
    assert bad.returncode == 125
    assert "invalid restart policy" in bad.stderr.decode()
