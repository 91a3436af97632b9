"""`docker run` configuration flags, checked from inside the container with the real docker CLI
(and docker-py where the CLI would refuse the input itself), plus dockerd's errors for bad input.

The cgroup checks read cgroup v1 files (this machine's layout: the container sees its own cgroup
at /sys/fs/cgroup/<controller>); on a cgroup v2 host they are skipped.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from .conftest import IMAGE, out

CGROUP_V1 = Path("/sys/fs/cgroup/memory").is_dir()
needs_v1 = pytest.mark.skipif(not CGROUP_V1, reason="cgroup v1 layout expected")
SWAP_ACCOUNTING = Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()


def run(cli, *args: str) -> str:
    """`docker run --rm ARGS`, which must succeed; its stdout."""
    result = cli("run", "--rm", *args)
    assert result.returncode == 0, result.stderr.decode()
    return out(result)


def fails(cli, *args: str, code: int = 125) -> str:
    """`docker run --rm ARGS`, which the daemon must refuse: exit 125; its stderr.

    The CLI exits 127 instead when the message says "no such file or directory"."""
    result = cli("run", "--rm", *args)
    assert result.returncode == code, (result.returncode, out(result), result.stderr.decode())
    return result.stderr.decode()


def status_field(text: str, name: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(name + ":")]
    return line.split(":", 1)[1].strip()


@contextlib.contextmanager
def named(cli, *args: str) -> Iterator[str]:
    """A detached container for the duration of the block, removed afterwards."""
    name = "cfg-" + uuid.uuid4().hex[:10]
    result = cli("run", "-d", "--name", name, *args)
    assert result.returncode == 0, result.stderr.decode()
    try:
        yield name
    finally:
        cli("rm", "-f", name)


def own_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{kind}")


# ------------------------------------------------------------------------ process and names


def test_env_user_workdir_and_group_add(cli):
    text = run(
        cli,
        "-e",
        "FOO=bar",
        "-u",
        "1000:1000",
        "--group-add",
        "10",
        "-w",
        "/made/by/runc",
        IMAGE,
        "sh",
        "-c",
        'echo "$FOO"; id -u; id -g; id -G; pwd; stat -c "%U %a" .',
    )
    foo, uid, gid, groups, cwd, owner = text.splitlines()
    assert (foo, uid, gid, cwd) == ("bar", "1000", "1000", "/made/by/runc")
    assert "10" in groups.split()
    assert owner == "root 755"  # a missing working directory is created, as dockerd does


def test_hostname_and_domainname(cli):
    text = run(
        cli,
        "-h",
        "web",
        "--domainname",
        "example.org",
        IMAGE,
        "sh",
        "-c",
        "hostname; cat /proc/sys/kernel/domainname; cat /etc/hostname; echo $HOSTNAME",
    )
    assert text.splitlines() == ["web", "example.org", "web", "web"]


def test_add_host_and_dns_flags(cli):
    text = run(
        cli,
        "--add-host",
        "db:10.0.0.5",
        "--add-host",
        "v6:fe80::1",
        "--dns",
        "192.0.2.53",
        "--dns-search",
        "corp.example",
        "--dns-option",
        "ndots:2",
        IMAGE,
        "sh",
        "-c",
        "cat /etc/hosts; echo ---; cat /etc/resolv.conf",
    )
    hosts, resolv = text.split("---\n")
    assert hosts.startswith("127.0.0.1\tlocalhost\n")
    assert hosts.endswith("10.0.0.5\tdb\nfe80::1\tv6\n")
    assert resolv == "search corp.example\nnameserver 192.0.2.53\noptions ndots:2\n"


def test_add_host_gateway_gets_the_fallback_address(cli):
    """No networking yet: host-gateway maps to the loopback fallback (see hostenv)."""
    assert run(cli, "--add-host", "gw:host-gateway", IMAGE, "tail", "-n1", "/etc/hosts") == (
        "127.0.0.1\tgw\n"
    )


def test_default_resolv_conf_has_no_loopback_nameservers(cli):
    text = run(cli, IMAGE, "cat", "/etc/resolv.conf")
    servers = [line.split()[1] for line in text.splitlines() if line.startswith("nameserver")]
    assert servers
    assert not [s for s in servers if s.startswith("127.") or s == "::1"]


def test_init_makes_docker_init_pid_1(cli):
    text = run(cli, "--init", IMAGE, "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; ps")
    cmdline, *ps = text.splitlines()
    assert cmdline == "/sbin/docker-init -- sh -c tr '\\0' ' ' < /proc/1/cmdline; echo; ps "
    assert ps[1].split()[:3] == ["1", "root", "/sbin/docker-init"]
    plain = run(cli, IMAGE, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert plain.startswith("sh -c")


def test_stop_signal_and_stop_timeout(cli):
    with named(
        cli,
        "--stop-signal",
        "SIGUSR1",
        "--stop-timeout",
        "30",
        IMAGE,
        "sh",
        "-c",
        'trap "echo got USR1; exit 7" USR1; echo ready; sleep 300 & wait',
    ) as name:
        for _ in range(100):  # the trap is set once "ready" is out
            if out(cli("logs", name)) == "ready\n":
                break
        assert cli("stop", name).returncode == 0
        state = json.loads(out(cli("inspect", name)))[0]
        assert state["Config"]["StopSignal"] == "SIGUSR1"
        assert state["Config"]["StopTimeout"] == 30
        assert state["State"]["ExitCode"] == 7
        assert out(cli("logs", name)) == "ready\ngot USR1\n"


def test_labels(cli):
    with named(cli, "--label", "tier=web", "--label", "empty=", IMAGE, "true") as name:
        labels = json.loads(out(cli("inspect", "-f", "{{json .Config.Labels}}", name)))
        assert labels["tier"] == "web" and labels["empty"] == ""


# ------------------------------------------------------------------- limits and filesystems


def test_ulimits(cli):
    text = run(
        cli,
        "--ulimit",
        "nofile=1024:2048",
        "--ulimit",
        "nproc=100:200",
        IMAGE,
        "sh",
        "-c",
        "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu",
    )
    assert text.split() == ["1024", "2048", "100", "200"]


def test_tmpfs_and_read_only_rootfs(cli):
    text = run(
        cli,
        "--read-only",
        "--tmpfs",
        "/scratch",
        "--tmpfs",
        "/fast:size=1m,exec",
        IMAGE,
        "sh",
        "-c",
        "grep -E ' /(scratch|fast) ' /proc/mounts; touch /scratch/f && echo wrote; "
        "touch /etc/f 2>&1; echo rc=$?",
    )
    lines = text.splitlines()
    scratch = next(line for line in lines if " /scratch " in line).split()
    fast = next(line for line in lines if " /fast " in line).split()
    assert scratch[2] == "tmpfs" and {"nosuid", "nodev", "noexec"} <= set(scratch[3].split(","))
    assert "noexec" not in fast[3].split(",") and "size=1024k" in fast[3].split(",")
    assert "wrote" in lines
    assert "touch: /etc/f: Read-only file system" in lines and lines[-1] == "rc=1"


def test_shm_size_and_ipc_none(cli):
    shm = run(cli, "--shm-size", "8m", IMAGE, "grep", " /dev/shm ", "/proc/mounts")
    assert "size=8192k" in shm.split()[3]
    default = run(cli, IMAGE, "grep", " /dev/shm ", "/proc/mounts")
    assert "size=65536k" in default.split()[3]
    assert "/dev/shm" not in run(cli, "--ipc", "none", IMAGE, "cat", "/proc/mounts")


@needs_v1
@pytest.mark.skipif(not SWAP_ACCOUNTING, reason="needs swap accounting (memory.memsw.*)")
def test_memory_limits(cli):
    text = run(
        cli,
        "-m",
        "64m",
        "--memory-reservation",
        "32m",
        "--memory-swappiness",
        "10",
        "--oom-kill-disable",
        IMAGE,
        "sh",
        "-c",
        "cd /sys/fs/cgroup/memory; cat memory.limit_in_bytes memory.soft_limit_in_bytes "
        "memory.memsw.limit_in_bytes memory.swappiness; grep oom_kill_disable memory.oom_control",
    )
    assert text.splitlines() == [
        str(64 << 20),
        str(32 << 20),
        str(128 << 20),  # --memory-swap defaults to twice --memory
        "10",
        "oom_kill_disable 1",
    ]
    swap = run(
        cli,
        "-m",
        "64m",
        "--memory-swap",
        "96m",
        IMAGE,
        "cat",
        "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
    )
    assert swap == f"{96 << 20}\n"


@needs_v1
def test_cpu_and_pids_limits(cli):
    text = run(
        cli,
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "--pids-limit",
        "50",
        IMAGE,
        "sh",
        "-c",
        "cd /sys/fs/cgroup; cat cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.shares "
        "cpuset/cpuset.cpus cpuset/cpuset.mems pids/pids.max",
    )
    assert text.split() == ["50000", "100000", "512", "0", "0", "50"]
    period = run(
        cli,
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        IMAGE,
        "cat",
        "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    )
    assert period.split() == ["50000", "25000"]


@needs_v1
def test_blkio_weight_applied_or_discarded_with_dockerds_warning(cli):
    result = cli(
        "run",
        "--rm",
        "--blkio-weight",
        "300",
        IMAGE,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/blkio/blkio.weight 2>/dev/null || true",
    )
    assert result.returncode == 0, result.stderr
    if Path("/sys/fs/cgroup/blkio/blkio.weight").exists():
        assert out(result) == "300\n"
    else:
        assert (
            "WARNING: Your kernel does not support Block I/O weight or the cgroup is not "
            "mounted. Weight discarded." in result.stderr.decode()
        )


def test_oom_score_adj(cli):
    # Lowering it needs CAP_SYS_RESOURCE, which this machine's bounding set lacks.
    assert run(cli, "--oom-score-adj", "500", IMAGE, "cat", "/proc/self/oom_score_adj") == "500\n"


def test_sysctls(cli):
    text = run(
        cli,
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--sysctl",
        "kernel.shmmax=1000000",
        IMAGE,
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/kernel/shmmax",
    )
    assert text.split() == ["1", "1000000"]


# ------------------------------------------------------------------------ security


def test_capabilities(cli):
    default = run(cli, IMAGE, "cat", "/proc/self/status")
    assert status_field(default, "CapEff") == "00000000a80425fb"  # dockerd's default set
    text = run(cli, "--cap-drop", "ALL", "--cap-add", "chown", IMAGE, "cat", "/proc/self/status")
    assert status_field(text, "CapEff") == "0000000000000001"
    text = run(
        cli, "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", IMAGE, "cat", "/proc/self/status"
    )
    mask = int(status_field(text, "CapEff"), 16)
    assert mask & (1 << 12) and not mask & (1 << 27)  # CAP_NET_ADMIN in, CAP_MKNOD out


def test_privileged(cli):
    host_bounding = status_field(Path("/proc/self/status").read_text(), "CapBnd")
    text = run(
        cli,
        "--privileged",
        IMAGE,
        "sh",
        "-c",
        "grep CapEff /proc/self/status; ls /dev | wc -l; grep ' /sys ' /proc/mounts",
    )
    cap_line, devices, sys_mount = text.splitlines()
    assert cap_line.split()[1] == host_bounding
    assert int(devices) > 20
    assert "ro" not in sys_mount.split()[3].split(",")
    assert int(run(cli, IMAGE, "sh", "-c", "ls /dev | wc -l")) < 20


def test_security_opts(cli):
    status = run(cli, "--security-opt", "no-new-privileges", IMAGE, "cat", "/proc/self/status")
    assert status_field(status, "NoNewPrivs") == "1"
    status = run(
        cli, "--security-opt", "no-new-privileges:false", IMAGE, "cat", "/proc/self/status"
    )
    assert status_field(status, "NoNewPrivs") == "0"
    default = run(cli, IMAGE, "cat", "/proc/self/status")
    assert status_field(default, "Seccomp") == "2"
    unconfined = run(cli, "--security-opt", "seccomp=unconfined", IMAGE, "cat", "/proc/self/status")
    assert status_field(unconfined, "Seccomp") == "0"
    # apparmor and label options are accepted and change nothing here
    run(
        cli,
        "--security-opt",
        "apparmor=unconfined",
        "--security-opt",
        "label=disable",
        IMAGE,
        "true",
    )


def test_custom_seccomp_profile_from_a_file(cli, tmp_path):
    """The CLI reads the file and sends its JSON; the daemon applies it."""
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(
        json.dumps(
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}],
            }
        )
    )
    text = run(
        cli,
        "--security-opt",
        f"seccomp={profile}",
        IMAGE,
        "sh",
        "-c",
        "mkdir /tmp/d 2>&1; echo rc=$?",
    )
    assert text == "mkdir: can't create directory '/tmp/d': Operation not permitted\nrc=1\n"


def test_devices_and_device_cgroup_rules(cli):
    text = run(cli, "--device", "/dev/null:/dev/mynull", IMAGE, "ls", "-l", "/dev/mynull")
    assert text.startswith("crw") and "1,   3" in text
    rules = run(
        cli,
        "--device-cgroup-rule",
        "c 42:* rmw",
        IMAGE,
        "cat",
        "/sys/fs/cgroup/devices/devices.list",
    )
    assert "c 42:* rwm" in rules.splitlines()


@pytest.mark.skipif(not os.path.exists("/dev/loop0"), reason="needs /dev/loop0")
def test_device_with_read_only_cgroup_permission(cli):
    text = run(
        cli,
        "--device",
        "/dev/loop0:/dev/xloop:r",
        IMAGE,
        "sh",
        "-c",
        "ls -l /dev/xloop; grep 'b 7:0' /sys/fs/cgroup/devices/devices.list; "
        "echo x > /dev/xloop 2>&1; echo rc=$?",
    )
    lines = text.splitlines()
    assert lines[0].startswith("brw") and "7,   0" in lines[0]
    assert lines[1] == "b 7:0 r"
    assert lines[-1] == "rc=1"


# ------------------------------------------------------------------------ namespaces


def test_host_namespaces(cli):
    text = run(
        cli,
        "--pid",
        "host",
        "--ipc",
        "host",
        "--uts",
        "host",
        IMAGE,
        "sh",
        "-c",
        "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; hostname; ps",
    )
    pid_ns, ipc_ns, hostname, *ps = text.splitlines()
    assert (pid_ns, ipc_ns) == (own_ns("pid"), own_ns("ipc"))
    assert hostname == socket.gethostname()
    assert len(ps) > 5  # the host's processes
    private = run(cli, IMAGE, "readlink", "/proc/self/ns/pid")
    assert private.strip() != own_ns("pid")


def test_ipc_shareable_and_joining_its_ipc_and_pid(cli):
    with named(
        cli, "--ipc", "shareable", IMAGE, "sh", "-c", "echo shared > /dev/shm/f; sleep 300"
    ) as donor:
        donor_ipc = out(cli("exec", donor, "readlink", "/proc/self/ns/ipc")).strip()
        for _ in range(100):  # the file is written right after start
            if out(cli("exec", donor, "cat", "/dev/shm/f")) == "shared\n":
                break
        text = run(
            cli,
            "--ipc",
            f"container:{donor}",
            "--pid",
            f"container:{donor}",
            IMAGE,
            "sh",
            "-c",
            "readlink /proc/self/ns/ipc; cat /dev/shm/f; ps -o comm",
        )
        ipc_ns, shm, *ps = text.splitlines()
        assert ipc_ns == donor_ipc
        assert shm == "shared"
        assert "sleep" in ps
        inspect = json.loads(out(cli("inspect", donor)))[0]
        assert inspect["HostConfig"]["IpcMode"] == "shareable"


def test_joining_a_private_ipc_or_a_stopped_container_fails(cli):
    with named(cli, IMAGE, "sleep", "300") as donor:
        full_id = out(cli("inspect", "-f", "{{.Id}}", donor)).strip()
        err = fails(cli, "--ipc", f"container:{donor}", IMAGE, "true")
        assert (
            f"can't join IPC of container {full_id}: non-shareable IPC (hint: use "
            "IpcMode:shareable for the donor container)" in err
        )
        assert cli("stop", "-t", "0", donor).returncode == 0
        err = fails(cli, "--pid", f"container:{donor}", IMAGE, "true")
        assert f"container {full_id} is not running" in err
    err = fails(cli, "--pid", "container:no-such-donor", IMAGE, "true")
    assert "Error response from daemon: No such container: no-such-donor" in err


def test_cgroup_namespace_modes(cli):
    private = run(cli, "--cgroupns", "private", IMAGE, "cat", "/proc/self/cgroup")
    assert all(line.endswith(":/") for line in private.splitlines())
    host = run(cli, "--cgroupns", "host", IMAGE, "cat", "/proc/self/cgroup")
    assert all(not line.endswith(":/") for line in host.splitlines())


def test_cgroup_parent(cli):
    parent = "dpy-it-parent-" + uuid.uuid4().hex[:6]
    try:
        text = run(cli, "--cgroup-parent", "/" + parent, IMAGE, "cat", "/proc/self/cgroup")
        assert all(f":/{parent}/" in line for line in text.splitlines())
    finally:
        for path in sorted(
            glob.glob(f"/sys/fs/cgroup/*/{parent}") + glob.glob(f"/sys/fs/cgroup/{parent}")
        ):
            with contextlib.suppress(OSError):
                os.rmdir(path)


# ------------------------------------------------------------------------ inspect, warnings


def test_inspect_shows_dockerds_adapted_host_config(cli):
    with named(cli, "-m", "64m", IMAGE, "true") as name:
        hc = json.loads(out(cli("inspect", "-f", "{{json .HostConfig}}", name)))
        assert hc["Memory"] == 64 << 20 and hc["MemorySwap"] == 128 << 20
        assert hc["IpcMode"] == "private" and hc["ShmSize"] == 64 << 20
        assert hc["OomKillDisable"] is False and hc["PidsLimit"] is None
        assert hc["MemorySwappiness"] is None
        assert hc["CgroupnsMode"] == ("host" if CGROUP_V1 else "private")
    with named(cli, "--privileged", IMAGE, "true") as name:
        hc = json.loads(out(cli("inspect", "-f", "{{json .HostConfig}}", name)))
        assert hc["SecurityOpt"] == ["label=disable"]


def test_create_warnings_reach_the_client(client):
    created = client.api.create_container(
        IMAGE, "true", host_config=client.api.create_host_config(oom_kill_disable=True)
    )
    try:
        assert created["Warnings"] == [
            "OOM killer is disabled for the container, but no memory limit is set, this can "
            "result in the system running out of resources."
        ]
    finally:
        client.api.remove_container(created["Id"])


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "4m"], "Minimum memory limit allowed is 6MB"),
        (
            ["-m", "64m", "--memory-swap", "32m"],
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            ["--cpus", "1", "--cpu-period", "50000"],
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (
            ["--cpus", "1", "--cpu-quota", "50000"],
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (["--cpus", "4096"], "Range of CPUs is from 0.01 to"),
        (["--memory-reservation", "1m"], "Minimum memory reservation allowed is 6MB"),
        (["--cpu-quota", "10"], "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
        (["--cpuset-cpus", "a"], "Invalid value a for cpuset cpus: invalid format: a"),
        (["--cpuset-cpus", "4095"], "Requested CPUs are not available - requested 4095"),
        (
            ["--oom-score-adj", "1001"],
            "Invalid value 1001, range for oom score adj is [-1000, 1000]",
        ),
        (["--ipc", "bogus"], "invalid IPC mode: bogus"),
        (["--cap-add", "FOO"], 'invalid CapAdd: unknown capability: "CAP_FOO"'),
        (["--cap-drop", "BAR"], 'invalid CapDrop: unknown capability: "CAP_BAR"'),
        (["--stop-signal", "FOO"], "Invalid signal: FOO"),
        (["--security-opt", "foo=bar"], 'invalid --security-opt 2: "foo=bar"'),
        (["--tmpfs", "rel"], "invalid mount path: 'rel' mount path must be absolute"),
        (["--tmpfs", "/x:foo"], 'invalid tmpfs option ["foo"]'),
        (
            ["--device", "/dev/no-such-device"],
            'error gathering device information while adding custom device "/dev/no-such-device"'
            ": no such file or directory",
        ),
        (["-w", "rel"], "the working directory 'rel' is invalid, it needs to be an absolute path"),
        (["--uts", "host", "-h", "web"], "conflicting options: hostname and the UTS mode"),
        (
            ["--sysctl", "net.ipv4.ip_forward=1", "--network", "host"],
            'sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
        ),
    ],
)
def test_bad_flags_fail_with_dockerds_message(cli, args, message):
    code = 127 if "no such file or directory" in message else 125
    err = fails(cli, *args, IMAGE, "true", code=code)
    assert f"Error response from daemon: {message}" in err


def test_a_bad_seccomp_profile_is_refused_at_create(client):
    """The CLI sends the file's JSON; an API client can send anything (Go's JSON decoder
    words its errors differently from Python's, so only dockerd's prefix is compared)."""
    with pytest.raises(docker.errors.APIError) as caught:
        client.api.create_container(IMAGE, "true", host_config={"SecurityOpt": ["seccomp={bad"]})
    assert caught.value.status_code == 400
    assert caught.value.explanation.startswith("Decoding seccomp profile failed: ")


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        ({"ShmSize": -1}, "SHM size can not be less than 0"),
        (
            {"Sysctls": {"kernel.foo": "1"}},
            'sysctl "kernel.foo" is not in a separate kernel namespace',
        ),
        ({"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: bogus"),
        ({"PidMode": "private"}, "invalid PID mode: private"),
        ({"CgroupnsMode": "shared"}, "invalid cgroup namespace mode: shared"),
        ({"ExtraHosts": ["db:not-an-ip"]}, 'invalid IP address in add-host: "not-an-ip"'),
        ({"DeviceCgroupRules": ["z 1:2 r"]}, "invalid device cgroup rule format: 'z 1:2 r'"),
        ({"MemorySwappiness": 101}, "Invalid value: 101, valid memory swappiness range is 0-100"),
        (
            {"RestartPolicy": {"Name": "sometimes"}},
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
            "'on-failure', or 'unless-stopped'",
        ),
    ],
)
def test_bad_api_values_the_cli_would_catch_are_refused_by_the_daemon(client, host_config, message):
    with pytest.raises(docker.errors.APIError) as caught:
        client.api.create_container(IMAGE, "true", host_config=host_config)
    assert caught.value.status_code == 400
    assert caught.value.explanation == message
