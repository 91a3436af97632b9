"""The foundation slice through the real docker CLI: run, exit codes, ps, logs, rm, images."""

from __future__ import annotations

import json

from .conftest import IMAGE, out


def test_version_and_info(cli):
    version = cli("version", "--format", "{{json .}}")
    assert version.returncode == 0, version.stderr
    server = json.loads(out(version))["Server"]
    assert server["ApiVersion"] == "1.51"
    assert {c["Name"] for c in server["Components"]} >= {"Engine", "containerd", "runc"}
    info = cli("info", "--format", "{{json .}}")
    assert info.returncode == 0, info.stderr
    data = json.loads(out(info))
    assert data["Driver"] == "overlay2"
    assert data["NCPU"] >= 1 and data["MemTotal"] > 0
    assert data["CgroupDriver"] == "cgroupfs"
    assert data["Images"] >= 1
    assert data["OSType"] == "linux"


def test_run_rm_echo(cli):
    result = cli("run", "--rm", IMAGE, "echo", "hi")
    assert result.returncode == 0, result.stderr
    assert out(result) == "hi\n"
    assert out(cli("ps", "-aq", "--filter", "ancestor=" + IMAGE, "--filter", "status=exited")) == ""


def test_run_exit_code_and_ps(cli):
    result = cli("run", "--name", "exit3", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert out(result) == "out\n"
    assert result.stderr.decode() == "err\n"
    ps = out(cli("ps", "-a", "--filter", "name=exit3", "--format", "{{.Names}} {{.Status}}"))
    assert ps.startswith("exit3 Exited (3) ")
    logs = cli("logs", "exit3")
    assert out(logs) == "out\n" and logs.stderr.decode() == "err\n"
    inspect = json.loads(out(cli("inspect", "exit3")))[0]
    assert inspect["State"]["ExitCode"] == 3 and inspect["State"]["Status"] == "exited"
    assert inspect["Name"] == "/exit3"
    assert cli("rm", "exit3").returncode == 0
    missing = cli("inspect", "exit3")
    assert missing.returncode == 1
    assert "No such object: exit3" in missing.stderr.decode()


def test_missing_and_unrunnable_commands(cli):
    missing = cli("run", "--rm", IMAGE, "no-such-binary")
    assert missing.returncode == 127, missing.stderr
    assert "executable file not found" in missing.stderr.decode()
    denied = cli("run", "--rm", IMAGE, "/etc/passwd")
    assert denied.returncode == 126, denied.stderr


def test_detached_lifecycle(cli):
    cid = out(cli("run", "-d", "--name", "sleeper", IMAGE, "sleep", "300")).strip()
    assert len(cid) == 64
    ps = out(cli("ps", "--format", "{{.ID}} {{.Status}}"))
    assert f"{cid[:12]} Up " in ps
    conflict = cli("run", "-d", "--name", "sleeper", IMAGE, "true")
    assert conflict.returncode == 125
    assert 'The container name "/sleeper" is already in use' in conflict.stderr.decode()
    busy = cli("rm", "sleeper")
    assert busy.returncode == 1 and "container is running" in busy.stderr.decode()
    assert cli("stop", "-t", "1", "sleeper").returncode == 0
    state = json.loads(out(cli("inspect", "sleeper")))[0]["State"]
    assert (
        state["Status"] == "exited" and state["ExitCode"] == 137
    )  # sleep ignores SIGTERM as PID 1
    assert cli("start", "sleeper").returncode == 0
    assert cli("kill", "sleeper").returncode == 0
    wait = cli("wait", "sleeper")
    assert out(wait).strip() == "137"
    assert cli("restart", "-t", "0", "sleeper").returncode == 0
    assert json.loads(out(cli("inspect", "sleeper")))[0]["State"]["Running"] is True
    assert cli("rm", "-f", "sleeper").returncode == 0


def test_logs_options(cli):
    cid = out(
        cli("run", "-d", IMAGE, "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done")
    ).strip()
    assert out(cli("wait", cid)).strip() == "0"
    assert out(cli("logs", "--tail", "2", cid)) == "line4\nline5\n"
    stamped = out(cli("logs", "-t", cid)).splitlines()
    assert len(stamped) == 5 and stamped[0].endswith(" line1") and "T" in stamped[0]
    follow = cli("logs", "-f", cid)
    assert out(follow).count("line") == 5
    cli("rm", cid)


def test_logs_follow_running(cli):
    cid = out(cli("run", "-d", IMAGE, "sh", "-c", "echo a; sleep 1; echo b")).strip()
    follow = cli("logs", "-f", cid)
    assert out(follow) == "a\nb\n"
    cli("rm", "-f", cid)


def test_images_tag_rmi(cli):
    assert cli("tag", IMAGE, "other/name:v1").returncode == 0
    table = out(cli("images", "--format", "{{.Repository}}:{{.Tag}}"))
    assert "other/name:v1" in table and "busybox:latest" in table
    cid = out(cli("create", "other/name:v1", "true")).strip()
    untag = cli("rmi", "other/name:v1")
    assert untag.returncode == 0, untag.stderr
    assert "Untagged: other/name:v1" in out(untag)
    in_use = cli("rmi", IMAGE)
    assert in_use.returncode == 1
    assert "conflict" in in_use.stderr.decode()
    cli("rm", cid)
    assert cli("image", "inspect", "nosuch:tag").returncode == 1


def test_stdin_is_piped_with_eof(cli):
    result = cli("run", "--rm", "-i", IMAGE, "sh", "-c", "cat; echo done", input=b"one\ntwo\n")
    assert result.returncode == 0, result.stderr
    assert out(result) == "one\ntwo\ndone\n"


def test_default_confinement(cli):
    """dockerd's capability set, its seccomp profile, masked and read-only paths."""
    script = (
        "grep -E '^(CapBnd|CapEff|Seccomp):' /proc/self/status; "
        "cat /proc/kcore 2>&1 | head -c 0 && echo kcore-masked; "
        "touch /proc/sys/kernel/hostname 2>/dev/null || echo sys-readonly; "
        "mount -t tmpfs none /mnt 2>/dev/null || echo mount-denied"
    )
    result = cli("run", "--rm", IMAGE, "sh", "-c", script)
    text = out(result)
    assert "CapBnd:\t00000000a80425fb" in text
    assert "CapEff:\t00000000a80425fb" in text
    assert "Seccomp:\t2" in text
    assert "sys-readonly" in text and "mount-denied" in text
    assert "kcore-masked" in text


def test_ps_filters_limit_and_size(cli):
    first = out(cli("create", "--label", "ps=one", IMAGE, "true")).strip()
    second = out(cli("create", "--label", "ps=two", IMAGE, "sh", "-c", "echo x > /big")).strip()
    assert cli("start", "-a", second).returncode == 0
    assert out(cli("ps", "-aq", "--no-trunc", "--filter", "label=ps=one")).split() == [first]
    assert out(cli("ps", "-aq", "--no-trunc", "--filter", "label=ps")).split() == [second, first]
    latest = cli("ps", "-aq", "--no-trunc", "-n", "1", "--filter", "label=ps")
    assert out(latest).split() == [second]
    assert out(cli("ps", "-aq", "--no-trunc", "--filter", "status=created")).split() == [first]
    sized = out(cli("ps", "-a", "-s", "--filter", f"id={second}", "--format", "{{.Size}}"))
    assert sized.startswith("2B (virtual ")
    cli("rm", first, second)


def test_rm_force_of_a_running_auto_remove_container(cli):
    """`docker rm -f` of a `run -d --rm` container: the forced removal and the auto-removal
    meet; neither may wait for the other."""
    cid = out(cli("run", "-d", "--rm", IMAGE, "sleep", "300")).strip()
    result = cli("rm", "-f", cid, timeout=30)
    assert result.returncode == 0, result.stderr
    assert cli("inspect", cid).returncode == 1
