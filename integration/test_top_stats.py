"""docker top and docker stats through the real docker CLI and docker-py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from .conftest import IMAGE, out

MiB = 1 << 20


@pytest.fixture
def running(cli) -> Iterator[tuple[str, int]]:
    """A running `sleep` container: (ID, host pid of its init)."""
    result = cli("run", "-d", IMAGE, "sleep", "1000")
    assert result.returncode == 0, result.stderr
    cid = out(result).strip()
    pid = json.loads(out(cli("inspect", cid)))[0]["State"]["Pid"]
    yield cid, pid
    cli("rm", "-f", cid)


def test_top_default_and_custom_columns(cli, running):
    cid, pid = running
    lines = out(cli("top", cid)).splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert len(lines) == 2
    row = lines[1].split()
    assert row[0] == "root" and row[1] == str(pid) and row[-2:] == ["sleep", "1000"]
    custom = out(cli("top", cid, "-o", "pid,comm")).splitlines()
    assert [line.split() for line in custom] == [["PID", "COMMAND"], [str(pid), "sleep"]]


def test_top_lists_every_process_of_the_container(cli):
    cid = out(cli("run", "-d", IMAGE, "sh", "-c", "sleep 1000 & exec sleep 999")).strip()
    try:
        result = cli("top", cid, "-o", "pid,args")
        assert result.returncode == 0, result.stderr
        commands = sorted(line.split(None, 1)[1] for line in out(result).splitlines()[1:])
        assert commands == ["sleep 1000", "sleep 999"]
    finally:
        cli("rm", "-f", cid)


def test_top_errors(cli, running):
    cid, _ = running
    bad = cli("top", cid, "-zzz")
    assert bad.returncode == 1
    assert "Error response from daemon: ps: error:" in bad.stderr.decode()
    no_pid = cli("top", cid, "-o", "comm")
    assert "Couldn't find PID field in ps output" in no_pid.stderr.decode()
    created = out(cli("create", IMAGE, "true")).strip()
    try:
        stopped = cli("top", created)
        assert stopped.returncode == 1
        assert f"Container {created} is not running" in stopped.stderr.decode()
    finally:
        cli("rm", created)
    assert "No such container: nope" in cli("top", "nope").stderr.decode()


def test_stats_no_stream_table_and_json(cli, running):
    cid, _ = running
    table = out(cli("stats", "--no-stream", cid)).splitlines()
    assert table[0].split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"]
    assert table[1].startswith(cid[:12])
    assert table[1].split()[-1] == "1"  # PIDS
    result = cli("stats", "--no-stream", "--format", "{{json .}}", cid)
    assert result.returncode == 0, result.stderr
    row = json.loads(out(result))
    assert row["ID"] == cid[:12] and row["PIDs"] == "1"
    used, limit = row["MemUsage"].split(" / ")
    assert used.endswith(("B", "KiB", "MiB")) and used != "0B"
    assert limit.endswith(("MiB", "GiB", "TiB"))
    assert row["CPUPerc"].endswith("%") and row["MemPerc"].endswith("%")
    assert row["NetIO"] == "0B / 0B"  # only lo in its netns, which dockerd leaves out too


def test_stats_of_a_created_container_are_zero(cli):
    cid = out(cli("create", IMAGE, "true")).strip()
    try:
        row = json.loads(out(cli("stats", "--no-stream", "--format", "{{json .}}", cid)))
        assert row["MemUsage"] == "0B / 0B" and row["PIDs"] == "0"
    finally:
        cli("rm", cid)


def _memory_limit_file(pid: int) -> Path | None:
    """The container's memory limit file in its cgroup, v1 or v2."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory" + path, "memory.limit_in_bytes")
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return Path("/sys/fs/cgroup" + line[3:], "memory.max")
    return None


def test_stats_memory_limit_is_the_cgroups(cli, running):
    """The limit comes from the container's cgroup (set here directly: this test is about
    stats, not about how `--memory` gets into the spec)."""
    cid, pid = running
    limit_file = _memory_limit_file(pid)
    if limit_file is None or not limit_file.exists():
        pytest.skip("no memory cgroup for the container")
    limit_file.write_text(str(64 * MiB))
    row = json.loads(out(cli("stats", "--no-stream", "--format", "{{json .}}", cid)))
    assert row["MemUsage"].endswith(" / 64MiB")


def test_stats_shows_the_memory_option(cli):
    cid = out(cli("run", "-d", "--memory", "64m", IMAGE, "sleep", "1000")).strip()
    try:
        row = json.loads(out(cli("stats", "--no-stream", "--format", "{{json .}}", cid)))
        assert row["MemUsage"].endswith(" / 64MiB")
    finally:
        cli("rm", "-f", cid)


def test_docker_py_stats(client, running):
    cid, _ = running
    container = client.containers.get(cid)
    sample = container.stats(stream=False)
    assert sample["id"] == cid and sample["name"] == container.attrs["Name"]
    assert sample["pids_stats"]["current"] == 1
    assert sample["memory_stats"]["usage"] > 0
    assert sample["memory_stats"]["limit"] > 0
    cpu = sample["cpu_stats"]
    assert cpu["online_cpus"] >= 1 and cpu["system_cpu_usage"] > 0
    assert cpu["cpu_usage"]["total_usage"] > 0
    # not one-shot: the first reading primed precpu_stats
    assert sample["precpu_stats"]["system_cpu_usage"] < cpu["system_cpu_usage"]
    assert sample["preread"] < sample["read"]
    one = container.stats(stream=False, one_shot=True)
    assert one["preread"] == "0001-01-01T00:00:00Z"
    assert "system_cpu_usage" not in one["precpu_stats"]


def test_docker_py_stream_of_two_samples(client, running):
    cid, _ = running
    stream = client.containers.get(cid).stats(decode=True)
    try:
        first, second = next(stream), next(stream)
    finally:
        stream.close()
    assert first["preread"] == "0001-01-01T00:00:00Z"
    assert second["preread"] == first["read"]
    assert second["precpu_stats"] == first["cpu_stats"]


def test_docker_py_stopped_container(client, cli):
    cid = out(cli("run", "-d", IMAGE, "true")).strip()
    cli("wait", cid)
    try:
        container = client.containers.get(cid)
        sample = container.stats(stream=False)
        assert sample["id"] == cid and sample["read"] == "0001-01-01T00:00:00Z"
        assert sample["memory_stats"] == {} and sample["pids_stats"] == {}
        with pytest.raises(docker.errors.APIError) as info:
            container.top()
        assert info.value.response.status_code == 409
        assert f"Container {cid} is not running" in str(info.value)
    finally:
        cli("rm", cid)


def test_stream_ends_when_the_container_is_removed(client, cli):
    cid = out(cli("run", "-d", IMAGE, "sleep", "1000")).strip()
    stream = client.containers.get(cid).stats(decode=True)
    assert next(stream)["id"] == cid
    rest: list[dict] = []
    reader = threading.Thread(target=lambda: rest.extend(stream), daemon=True)
    reader.start()
    assert cli("rm", "-f", cid).returncode == 0
    reader.join(timeout=60)
    assert not reader.is_alive(), "the stats stream outlived its container"
    # after the kill the stream went on with empty samples, as dockerd's does
    assert all(s["id"] == cid for s in rest)
