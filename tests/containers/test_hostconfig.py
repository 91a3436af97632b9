"""containers/hostconfig.py and its siblings (adapt, spec_inputs, etcfiles, hostenv…):
dockerd's create-time checks and the HostConfig → spec mapping, on a pinned machine (no
cgroup files, devices or binaries of the test host are read)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers.adapt import adapt_host_config
from dockerpy_engine.containers.devices import device_rules, devices_from_path
from dockerpy_engine.containers.etcfiles import (
    DEFAULT_HOSTS,
    hosts_file,
    read_host_resolv_conf,
    resolv_conf,
)
from dockerpy_engine.containers.hostconfig import check_signal, validate_host_config
from dockerpy_engine.containers.hostenv import (
    CgroupSupport,
    Environment,
    find_init,
    probe_cgroups,
)
from dockerpy_engine.containers.namespace_modes import Donor, needs_shm_mount
from dockerpy_engine.containers.security_opts import SecurityOptions, parse_security_opts
from dockerpy_engine.containers.spec import (
    DEFAULT_SHM_SIZE,
    HostInfo,
    Namespace,
    Resources,
    Rlimit,
    SpecInput,
    build_spec,
    capabilities_from_mask,
)
from dockerpy_engine.containers.spec_inputs import spec_options
from dockerpy_engine.containers.tmpfs import merge_tmpfs_options

DONOR_ID = "d" * 64
NULL = {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}


def fake_devices(on_host: str, in_container: str, permissions: str):
    if on_host != "/dev/null":
        raise errdefs.InvalidParameter(f"no device {on_host}")
    allow = {"allow": True, "type": "c", "major": 1, "minor": 3, "access": permissions}
    return [{**NULL, "path": in_container, "uid": 0, "gid": 0}], [allow]


ENV = Environment(
    ncpu=2,
    cgroups=CgroupSupport(cpus="0-1", mems="0"),
    init_path="/usr/bin/tini-static",
    arch="amd64",
    kernel=(6, 1),
    devices=fake_devices,
)
NO_CGROUPS = dataclasses.replace(
    ENV,
    cgroups=CgroupSupport(
        memory=False,
        swap=False,
        swappiness=False,
        reservation=False,
        oom_kill_disable=False,
        pids=False,
        cpu_shares=False,
        cpu_cfs=False,
        cpuset=False,
        blkio_weight=False,
        blkio_weight_device=False,
        blkio_throttle=False,
    ),
)
HOST = HostInfo(
    bounding_caps=capabilities_from_mask(0x000001FFFEFFFFFF),
    arch="amd64",
    kernel=(6, 1),
    sysctls=frozenset(),
    devices=(),
)


def validate(env: Environment = ENV, config: dict | None = None, **hc: Any) -> list[str]:
    return validate_host_config(hc, config or {}, env)


def invalid(message: str, config: dict | None = None, env: Environment = ENV, **hc: Any) -> None:
    with pytest.raises(errdefs.InvalidParameter) as caught:
        validate(env, config, **hc)
    assert caught.value.message == message


def donor(status: str = "running", pid: int = 4242, **hc: Any) -> Donor:
    return Donor(
        id=DONOR_ID,
        status=status,
        pid=pid,
        host_config={"IpcMode": "shareable", **hc},
        shm_dir=f"/var/lib/dockerpy/containers/{DONOR_ID}/shm",
    )


def lookup_of(*donors: Donor):
    def lookup(ref: str) -> Donor:
        for d in donors:
            if ref in (d.id, "web"):
                return d
        raise errdefs.NoSuchContainer(ref)

    return lookup


def options(config: dict | None = None, lookup=None, **hc: Any) -> dict[str, Any]:
    return spec_options(
        {"Hostname": "c0ffee", **(config or {})},
        hc,
        ["sh", "-c", "true"],
        shm_dir="/var/lib/dockerpy/containers/c0ffee/shm",
        lookup=lookup,
        env=ENV,
    )


def spec(config: dict | None = None, lookup=None, **hc: Any) -> dict[str, Any]:
    return build_spec(SpecInput(id="c0ffee", **options(config, lookup, **hc)), HOST)


def mount(spec_: dict, destination: str) -> dict:
    (found,) = [m for m in spec_["mounts"] if m["destination"] == destination]
    return found


# -------------------------------------------------------------------------------- validation


def test_a_plain_request_is_valid_without_warnings() -> None:
    assert validate() == []
    assert validate_host_config(None, None, ENV) == []


@pytest.mark.parametrize(
    ("hc", "message"),
    [
        ({"Memory": 4 * 1024 * 1024}, "Minimum memory limit allowed is 6MB"),
        ({"Memory": -5}, "Minimum memory limit allowed is 6MB"),
        (
            {"Memory": 64 << 20, "MemorySwap": 32 << 20},
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            {"MemorySwap": 64 << 20},
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            {"MemorySwappiness": 101},
            "Invalid value: 101, valid memory swappiness range is 0-100",
        ),
        ({"MemoryReservation": 1 << 20}, "Minimum memory reservation allowed is 6MB"),
        (
            {"Memory": 64 << 20, "MemoryReservation": 128 << 20},
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            {"NanoCpus": 10**9, "CpuPeriod": 50000},
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (
            {"NanoCpus": 10**9, "CpuQuota": 50000},
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            {"NanoCpus": 3 * 10**9},
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
        ),
        (
            {"CpuPeriod": 999},
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        ({"CpuQuota": 999}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
        (
            {"CpusetCpus": "0-3"},
            "Requested CPUs are not available - requested 0-3, available: 0-1",
        ),
        ({"CpusetCpus": "x"}, "Invalid value x for cpuset cpus: invalid format: x"),
        ({"CpusetCpus": "3-1"}, "Invalid value 3-1 for cpuset cpus: invalid format: 3-1"),
        (
            {"CpusetMems": "1"},
            "Requested memory nodes are not available - requested 1, available: 0",
        ),
        ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
        ({"IpcMode": "bogus"}, "invalid IPC mode: bogus"),
        ({"PidMode": "private"}, "invalid PID mode: private"),
        ({"PidMode": "container:"}, "invalid PID mode: container:"),
        ({"ShmSize": -1}, "SHM size can not be less than 0"),
        ({"UTSMode": "private"}, "invalid UTS mode: private"),
        ({"OomScoreAdj": 1001}, "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
        ({"OomScoreAdj": -1001}, "Invalid value -1001, range for oom score adj is [-1000, 1000]"),
        ({"CgroupnsMode": "shared"}, "invalid cgroup namespace mode: shared"),
        ({"Tmpfs": {"/": ""}}, "invalid specification: destination can't be '/'"),
        ({"Tmpfs": {"//": ""}}, "invalid specification: destination can't be '/'"),
        ({"Tmpfs": {"tmp": ""}}, "invalid mount path: 'tmp' mount path must be absolute"),
        ({"Tmpfs": {"/tmp": "size=1m,foo"}}, 'invalid tmpfs option ["foo"]'),
        ({"Tmpfs": {"/tmp": "uid=0,x=1"}}, 'invalid tmpfs option ["x" "1"]'),
        ({"CapAdd": ["FOO"]}, 'invalid CapAdd: unknown capability: "CAP_FOO"'),
        ({"CapDrop": ["cap_bar"]}, 'invalid CapDrop: unknown capability: "CAP_BAR"'),
        (
            {"AutoRemove": True, "RestartPolicy": {"Name": "always"}},
            "can't create 'AutoRemove' container with restart policy",
        ),
        (
            {"RestartPolicy": {"Name": "sometimes"}},
            "invalid restart policy: unknown policy 'sometimes'; use one of "
            "'no', 'always', 'on-failure', or 'unless-stopped'",
        ),
        ({"ExtraHosts": ["nocolon"]}, 'bad format for add-host: "nocolon"'),
        ({"ExtraHosts": [":1.2.3.4"]}, 'bad format for add-host: ":1.2.3.4"'),
        ({"ExtraHosts": ["db:1.2.3"]}, 'invalid IP address in add-host: "1.2.3"'),
        ({"SecurityOpt": ["foo"]}, 'invalid --security-opt 1: "foo"'),
        ({"SecurityOpt": ["foo=bar"]}, 'invalid --security-opt 2: "foo=bar"'),
        (
            {"SecurityOpt": ["no-new-privileges=maybe"]},
            'invalid --security-opt 2: "no-new-privileges=maybe"',
        ),
        ({"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: bogus"),
        (
            {"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]},
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5",
        ),
        (
            {"Ulimits": [{"Name": "nofile", "Soft": -1, "Hard": 5}]},
            "ulimit soft limit must be less than or equal to hard limit: "
            "soft: -1 (unlimited), hard: 5",
        ),
        ({"CpuShares": -1}, "shares: invalid argument"),
        ({"DeviceCgroupRules": ["c 1:3"]}, "invalid device cgroup rule format: 'c 1:3'"),
        ({"Devices": [{"PathOnHost": "/dev/nope"}]}, "no device /dev/nope"),
        (
            {"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "rel"}]},
            "rel is not an absolute path",
        ),
        (
            {"Devices": [{"PathOnHost": "/dev/null", "CgroupPermissions": "rwx"}]},
            "bad mode specified: rwx",
        ),
        (
            {"Sysctls": {"kernel.foo": "1"}},
            'sysctl "kernel.foo" is not in a separate kernel namespace',
        ),
        (
            {"Sysctls": {"kernel.hostname": "x"}},
            'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field',
        ),
        (
            {"Sysctls": {"kernel.shmmax": "1"}, "IpcMode": "host"},
            'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace',
        ),
        (
            {"Sysctls": {"net/ipv4/ip_forward": "1"}, "NetworkMode": "host"},
            'sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
        ),
        (
            {"Sysctls": {"kernel.domainname": "x"}, "UTSMode": "host"},
            'sysctl "kernel.domainname" is not in a separate kernel namespace',
        ),
        (
            {"IOMaximumBandwidth": 1},
            "Invalid QoS settings: linux does not support configuration of maximum bandwidth",
        ),
        (
            {"IOMaximumIOps": 1},
            "Invalid QoS settings: linux does not support configuration of maximum IOPs",
        ),
        ({"Isolation": "hyperv"}, "invalid isolation 'hyperv' on linux"),
        ({"Runtime": "kata"}, "unknown or invalid runtime name: kata"),
        (
            {"Annotations": {"": "x"}},
            "invalid Annotations: the empty string is not permitted as an annotation key",
        ),
    ],
)
def test_bad_host_config_is_refused_with_dockerds_message(hc: dict, message: str) -> None:
    invalid(message, **hc)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"WorkingDir": "rel/dir"},
            "the working directory 'rel/dir' is invalid, it needs to be an absolute path",
        ),
        ({"StopSignal": "SIGFOO"}, "Invalid signal: SIGFOO"),
        ({"StopSignal": "0"}, "Invalid signal: 0"),
        ({"Env": ["A=1", "=x"]}, "invalid environment variable: =x"),
        ({"Healthcheck": {"Interval": 5}}, "Interval in Healthcheck cannot be less than 1ms"),
        ({"Healthcheck": {"Timeout": -1}}, "Timeout in Healthcheck cannot be less than 1ms"),
        ({"Healthcheck": {"Retries": -1}}, "Retries in Healthcheck cannot be negative"),
        (
            {"Healthcheck": {"StartPeriod": 999_999}},
            "StartPeriod in Healthcheck cannot be less than 1ms",
        ),
        (
            {"Healthcheck": {"StartInterval": 1}},
            "StartInterval in Healthcheck cannot be less than 1ms",
        ),
    ],
)
def test_bad_config_is_refused_with_dockerds_message(config: dict, message: str) -> None:
    invalid(message, config=config)


@pytest.mark.parametrize(
    ("config", "hc"),
    [
        ({"Healthcheck": {"Interval": 1_000_000, "Retries": 0, "StartPeriod": 0}}, {}),
        ({}, {"Isolation": "Default", "Runtime": "io.containerd.runc.v2"}),
        ({}, {"Runtime": "runc", "Annotations": {"a": ""}}),
    ],
)
def test_edge_values_pass(config: dict, hc: dict) -> None:
    validate_host_config(hc, config)


def test_hostname_conflicts_with_the_hosts_uts_namespace() -> None:
    invalid(
        "conflicting options: hostname and the UTS mode",
        config={"Hostname": "web"},
        UTSMode="host",
    )
    assert validate(config={"Hostname": ""}, UTSMode="host") == []


def test_valid_settings_pass() -> None:
    assert (
        validate(
            config={"WorkingDir": "/srv", "StopSignal": "SIGUSR1", "Env": ["A", "B="]},
            Memory=64 << 20,
            MemorySwap=-1,
            MemorySwappiness=-1,
            NanoCpus=1_500_000_000,
            CpusetCpus="0,1",
            CpusetMems="0",
            BlkioWeight=500,
            IpcMode="container:web",
            PidMode="host",
            CgroupnsMode="private",
            OomScoreAdj=-1000,
            Tmpfs={"/run": "size=1m,exec,mode=1777"},
            CapAdd=["net_admin", "ALL"],
            ExtraHosts=["db:10.0.0.1", "v6:::1", "gw:host-gateway"],
            SecurityOpt=[
                "no-new-privileges",
                "no-new-privileges:false",
                "apparmor=docker-default",
                "label=disable",
                "label:user:USER",
                "seccomp=unconfined",
            ],
            Ulimits=[{"Name": "nofile", "Soft": 1024, "Hard": -1}],
            Devices=[
                {"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "r"}
            ],
            DeviceCgroupRules=["c 42:* rmw", "a *:* r"],
            Sysctls={"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "5"},
            RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 3},
        )
        == []
    )


@pytest.mark.parametrize("value", ["SIGTERM", "term", "KILL", "9", "SIGRTMIN+3", "RTMAX-1", "IOT"])
def test_stop_signals_dockerd_knows(value: str) -> None:
    check_signal(value)


def test_seccomp_profiles_are_checked_at_create() -> None:
    invalid(
        "Decoding seccomp profile failed: Expecting value: line 1 column 1 (char 0)",
        SecurityOpt=["seccomp=not json"],
    )
    profile = '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["x"],"archMap":[{}]}'
    invalid(
        "'architectures' and 'archMap' were specified in the seccomp profile, use either "
        "'architectures' or 'archMap'",
        SecurityOpt=[f"seccomp={profile}"],
    )
    # dockerd ignores the profile of a privileged container, so it does not check it either
    assert validate(Privileged=True, SecurityOpt=["seccomp=not json"]) == []
    assert validate(SecurityOpt=['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']) == []


def test_a_privileged_container_maps_host_devices_to_themselves_without_a_check() -> None:
    assert validate(Privileged=True, Devices=[{"PathOnHost": "/dev/sda"}]) == []
    invalid("no device /dev/sda", Devices=[{"PathOnHost": "/dev/sda"}])


def test_unsupported_limits_are_discarded_with_dockerds_warnings() -> None:
    warnings = validate(
        NO_CGROUPS,
        Memory=64 << 20,
        MemorySwappiness=10,
        MemoryReservation=32 << 20,
        OomKillDisable=True,
        PidsLimit=10,
        CpuShares=512,
        CpuPeriod=50000,
        CpusetCpus="7",
        BlkioWeight=5,
        BlkioDeviceReadBps=[{"Path": "/dev/sda", "Rate": 1}],
    )
    assert warnings == [
        "Your kernel does not support memory limit capabilities or the cgroup is not mounted. "
        "Limitation discarded.",
        "Your kernel does not support memory swappiness capabilities or the cgroup is not "
        "mounted. Memory swappiness discarded.",
        "Your kernel does not support memory soft limit capabilities or the cgroup is not "
        "mounted. Limitation discarded.",
        "Your kernel does not support OomKillDisable. OomKillDisable discarded.",
        "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
        "PIDs limit discarded.",
        "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.",
        "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.",
        "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.",
        "Your kernel does not support Block I/O weight or the cgroup is not mounted. "
        "Weight discarded.",
        "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. "
        "Block I/O BPS read limit discarded.",
    ]
    no_swap = dataclasses.replace(ENV, cgroups=CgroupSupport(swap=False, cpus="0-1", mems="0"))
    assert validate(no_swap, Memory=64 << 20, MemorySwap=32 << 20) == [
        "Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
        "Memory limited without swap."
    ]


def test_oom_kill_disable_without_a_memory_limit_warns() -> None:
    assert validate(OomKillDisable=True) == [
        "OOM killer is disabled for the container, but no memory limit is set, this can "
        "result in the system running out of resources."
    ]
    assert validate(OomKillDisable=True, Memory=64 << 20) == []
    assert validate(OomKillDisable=False) == []


def test_nano_cpus_need_cfs() -> None:
    no_cfs = dataclasses.replace(ENV, cgroups=CgroupSupport(cpu_cfs=False, cpus="0-1", mems="0"))
    invalid(
        "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the "
        "cgroup is not mounted",
        env=no_cfs,
        NanoCpus=10**9,
    )


# -------------------------------------------------------------------------------- adaptation


def adapt(env: Environment = ENV, resolve=None, **hc: Any) -> dict[str, Any]:
    def default_resolve(ref: str) -> str:
        if ref == "web":
            return DONOR_ID
        raise errdefs.NoSuchContainer(ref)

    return adapt_host_config(hc, resolve or default_resolve, env)


def test_adapt_fills_dockerds_defaults() -> None:
    hc = adapt(Memory=64 << 20, ShmSize=0, MemorySwappiness=-1, PidsLimit=0)
    assert hc["MemorySwap"] == 128 << 20
    assert hc["ShmSize"] == DEFAULT_SHM_SIZE
    assert hc["IpcMode"] == "private"
    assert hc["CgroupnsMode"] == "host"
    assert hc["OomKillDisable"] is False
    assert hc["MemorySwappiness"] is None
    assert hc["PidsLimit"] is None
    assert "SecurityOpt" not in hc


def test_adapt_keeps_what_the_client_set() -> None:
    hc = adapt(
        Memory=64 << 20,
        MemorySwap=-1,
        ShmSize=1 << 20,
        IpcMode="shareable",
        CgroupnsMode="private",
        OomKillDisable=True,
        PidsLimit=7,
    )
    assert (hc["MemorySwap"], hc["ShmSize"], hc["IpcMode"]) == (-1, 1 << 20, "shareable")
    assert (hc["CgroupnsMode"], hc["OomKillDisable"], hc["PidsLimit"]) == ("private", True, 7)


def test_adapt_on_cgroup_v2_gives_a_private_cgroup_namespace() -> None:
    v2 = dataclasses.replace(ENV, cgroups=CgroupSupport(unified=True, cpus="0-1", mems="0"))
    assert adapt(v2)["CgroupnsMode"] == "private"
    assert adapt(v2, Privileged=True)["CgroupnsMode"] == "private"
    assert adapt(Privileged=True)["CgroupnsMode"] == "host"


def test_adapt_discards_what_the_kernel_cannot_do() -> None:
    hc = adapt(
        NO_CGROUPS,
        Memory=64 << 20,
        MemoryReservation=32 << 20,
        MemorySwappiness=10,
        OomKillDisable=True,
        PidsLimit=5,
        CpuShares=512,
        CpuPeriod=50000,
        CpuQuota=20000,
        CpusetCpus="0",
        BlkioWeight=300,
        BlkioWeightDevice=[{"Path": "/dev/sda", "Weight": 10}],
        BlkioDeviceWriteIOps=[{"Path": "/dev/sda", "Rate": 10}],
    )
    assert (hc["Memory"], hc["MemorySwap"], hc["MemoryReservation"]) == (0, -1, 0)
    assert hc["MemorySwappiness"] is None and hc["OomKillDisable"] is False
    assert hc["PidsLimit"] is None
    assert (hc["CpuShares"], hc["CpuPeriod"], hc["CpuQuota"], hc["CpusetCpus"]) == (0, 0, 0, "")
    assert (hc["BlkioWeight"], hc["BlkioWeightDevice"], hc["BlkioDeviceWriteIOps"]) == (0, [], [])


def test_adapt_names_joined_containers_by_id() -> None:
    hc = adapt(IpcMode="container:web", PidMode="container:web")
    assert hc["IpcMode"] == hc["PidMode"] == f"container:{DONOR_ID}"


def test_joining_an_unknown_container_is_refused_at_create_as_a_bad_parameter() -> None:
    with pytest.raises(errdefs.InvalidParameter) as caught:
        adapt(PidMode="container:nope")
    assert caught.value.message == "No such container: nope"
    with pytest.raises(errdefs.InvalidParameter):
        adapt(IpcMode="container:nope")
    # dockerd only looks when it would copy the donor's SELinux label
    assert adapt(PidMode="container:nope", Privileged=True)["PidMode"] == "container:nope"
    assert adapt(IpcMode="container:nope", SecurityOpt=["label=disable"])["IpcMode"] == (
        "container:nope"
    )


def test_host_namespaces_and_privileged_get_label_disable() -> None:
    assert adapt(Privileged=True)["SecurityOpt"] == ["label=disable"]
    assert adapt(PidMode="host", SecurityOpt=["no-new-privileges"])["SecurityOpt"] == [
        "no-new-privileges",
        "label=disable",
    ]
    assert adapt(IpcMode="host", SecurityOpt=["label=user:u"])["SecurityOpt"] == ["label=user:u"]


# ------------------------------------------------------------------------ security options


def test_security_options_as_dockerd_parses_them() -> None:
    assert parse_security_opts([]) == SecurityOptions()
    parsed = parse_security_opts(
        ["no-new-privileges", "seccomp=unconfined", "apparmor:unconfined", "label=level:s0"]
    )
    assert parsed.no_new_privileges and parsed.seccomp == "unconfined"
    assert parsed.apparmor == "unconfined" and parsed.labels == ("level:s0",)
    assert parse_security_opts(["no-new-privileges=true", "no-new-privileges:0"]) == (
        SecurityOptions(no_new_privileges=False)
    )
    assert parse_security_opts(["no-new-privileges:T"]).no_new_privileges
    profile = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a=b"]}]}'
    assert parse_security_opts([f"seccomp={profile}"]).seccomp == profile
    assert parse_security_opts(["disable"]).labels == ("disable",)


# -------------------------------------------------------------------------------------- spec


def test_a_plain_container_keeps_dockerds_defaults() -> None:
    opts = options({"Env": ["A=1"], "WorkingDir": "/srv/../srv/app/"}, IpcMode="private")
    assert opts["args"] == ["sh", "-c", "true"]
    assert opts["env"] == ["A=1"] and opts["cwd"] == "/srv/app"
    assert opts["namespaces"] == tuple(
        Namespace(t) for t in ("mount", "network", "uts", "pid", "ipc")
    )
    assert opts["shm_size"] == DEFAULT_SHM_SIZE
    assert opts["extra_mounts"] == [] and opts["devices"] == []
    assert opts["masked_paths"] is None and opts["readonly_paths"] is None
    assert opts["resources"] == Resources()
    assert "cgroup_parent" not in opts
    assert SpecInput(id="x", **opts)  # every key is a SpecInput field


def test_config_fields_reach_the_spec() -> None:
    s = spec(
        {"Hostname": "web", "Domainname": "example.org", "WorkingDir": "/app"},
        Privileged=False,
        ReadonlyRootfs=True,
        CapAdd=["NET_ADMIN"],
        CapDrop=["CHOWN"],
        OomScoreAdj=300,
        CgroupParent="/ci",
        Sysctls={"net.ipv4.ip_forward": "1"},
        SecurityOpt=["no-new-privileges:true"],
    )
    assert s["hostname"] == "web" and s["process"]["cwd"] == "/app"
    assert s["linux"]["sysctl"] == {
        "kernel.domainname": "example.org",
        "net.ipv4.ip_forward": "1",
    }
    assert s["root"]["readonly"] is True
    assert "CAP_NET_ADMIN" in s["process"]["capabilities"]["bounding"]
    assert "CAP_CHOWN" not in s["process"]["capabilities"]["bounding"]
    assert s["process"]["oomScoreAdj"] == 300 and s["process"]["noNewPrivileges"] is True
    assert s["linux"]["cgroupsPath"] == "/ci/c0ffee"


def test_a_users_domainname_sysctl_wins() -> None:
    opts = options({"Domainname": "a"}, Sysctls={"kernel.domainname": "b"})
    assert opts["sysctls"] == {"kernel.domainname": "b"}


def test_init_runs_tini_as_pid_1_from_a_read_only_bind() -> None:
    s = spec(Init=True)
    assert s["process"]["args"] == ["/sbin/docker-init", "--", "sh", "-c", "true"]
    assert mount(s, "/sbin/docker-init") == {
        "destination": "/sbin/docker-init",
        "type": "bind",
        "source": "/usr/bin/tini-static",
        "options": ["bind", "ro"],
    }


def test_init_only_in_a_private_pid_namespace() -> None:
    for hc in ({"Init": True, "PidMode": "host"}, {"Init": False}, {"Init": None}):
        assert options(**hc)["args"] == ["sh", "-c", "true"]
    joined = options(lookup=lookup_of(donor()), Init=True, PidMode=f"container:{DONOR_ID}")
    assert joined["args"] == ["sh", "-c", "true"]


def test_init_without_tini_fails_as_dockerd_does() -> None:
    with pytest.raises(errdefs.System) as caught:
        spec_options(
            {},
            {"Init": True},
            ["true"],
            shm_dir="",
            lookup=None,
            env=dataclasses.replace(ENV, init_path=""),
        )
    assert caught.value.message == 'exec: "docker-init": executable file not found in $PATH'


def test_ulimits_become_rlimits_with_minus_one_unlimited() -> None:
    opts = options(
        Ulimits=[
            {"Name": "nofile", "Soft": 1024, "Hard": 2048},
            {"Name": "core", "Soft": -1, "Hard": -1},
        ]
    )
    assert opts["rlimits"] == [
        Rlimit("nofile", 1024, 2048),
        Rlimit("core", 2**64 - 1, 2**64 - 1),
    ]
    s = spec(Ulimits=[{"Name": "nproc", "Soft": 10, "Hard": 20}])
    assert s["process"]["rlimits"] == [{"type": "RLIMIT_NPROC", "hard": 20, "soft": 10}]


def test_tmpfs_mounts_get_dockerds_default_options_unless_overridden() -> None:
    s = spec(Tmpfs={"/run": "", "/scratch": "size=64m,exec,mode=1777"})
    assert mount(s, "/run") == {
        "destination": "/run",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["noexec", "nosuid", "nodev", "rprivate"],
    }
    assert mount(s, "/scratch")["options"] == [
        "nosuid",
        "nodev",
        "rprivate",
        "size=64m",
        "exec",
        "mode=1777",
    ]


def test_merge_tmpfs_options_keeps_the_last_of_clashing_options() -> None:
    assert merge_tmpfs_options(
        ["ro", "rw", "size=1", "size=2", "defaults", "shared", "rslave"]
    ) == [
        "rw",
        "size=2",
        "rslave",
    ]
    assert merge_tmpfs_options(["noatime", "atime", "dev", "nodev"]) == ["atime", "nodev"]


def test_a_tmpfs_on_dev_shm_replaces_the_default_shm() -> None:
    s = spec(Tmpfs={"/dev/shm": "size=1m"})
    assert mount(s, "/dev/shm")["type"] == "tmpfs"
    assert mount(s, "/dev/shm")["options"][-1] == "size=1m"


def test_resources_come_across_in_hostconfig_units() -> None:
    opts = options(
        Memory=64 << 20,
        MemoryReservation=32 << 20,
        MemorySwap=128 << 20,
        MemorySwappiness=-1,
        OomKillDisable=True,
        CpuShares=512,
        NanoCpus=500_000_000,
        CpusetCpus="0",
        CpusetMems="0",
        PidsLimit=50,
        BlkioWeight=300,
    )
    assert opts["resources"] == Resources(
        memory=64 << 20,
        memory_reservation=32 << 20,
        memory_swap=128 << 20,
        memory_swappiness=None,
        oom_kill_disable=True,
        cpu_shares=512,
        nano_cpus=500_000_000,
        cpuset_cpus="0",
        cpuset_mems="0",
        pids_limit=50,
        blkio_weight=300,
    )
    s = spec(NanoCpus=500_000_000, CpuShares=512, Memory=64 << 20, MemorySwap=128 << 20)
    resources = s["linux"]["resources"]
    assert resources["cpu"] == {"shares": 512, "period": 100000, "quota": 50000}
    assert resources["memory"] == {"limit": 64 << 20, "swap": 128 << 20}


def test_host_namespaces_are_left_out() -> None:
    s = spec({"Hostname": "web"}, PidMode="host", IpcMode="host", UTSMode="host")
    assert [ns["type"] for ns in s["linux"]["namespaces"]] == ["mount", "network"]
    assert "hostname" not in s
    assert mount(s, "/dev/shm") == {
        "destination": "/dev/shm",
        "type": "bind",
        "source": "/dev/shm",
        "options": ["rbind", "rprivate"],
    }


def test_cgroupns_private_adds_a_cgroup_namespace() -> None:
    types = [ns.type for ns in options(CgroupnsMode="private")["namespaces"]]
    assert types[-1] == "cgroup"
    assert "cgroup" not in [ns.type for ns in options(CgroupnsMode="host")["namespaces"]]


def test_ipc_none_has_no_dev_shm() -> None:
    s = spec(IpcMode="none")
    assert "/dev/shm" not in [m["destination"] for m in s["mounts"]]


def test_ipc_private_has_its_own_sized_shm() -> None:
    s = spec(IpcMode="private", ShmSize=1 << 20)
    assert mount(s, "/dev/shm")["type"] == "tmpfs"
    assert "size=1048576" in mount(s, "/dev/shm")["options"]


def test_ipc_shareable_binds_the_hosts_shm_tmpfs_of_the_container() -> None:
    s = spec(IpcMode="shareable")
    assert mount(s, "/dev/shm")["source"] == "/var/lib/dockerpy/containers/c0ffee/shm"
    assert needs_shm_mount({"IpcMode": "shareable"})
    assert needs_shm_mount({})  # containers older than IpcMode were shareable
    assert not needs_shm_mount({"IpcMode": "private"})
    assert not needs_shm_mount({"IpcMode": "shareable", "Binds": ["/host/shm:/dev/shm:rw"]})


def test_joining_a_donors_ipc_and_pid_namespaces() -> None:
    d = donor(pid=4242)
    s = spec(lookup=lookup_of(d), IpcMode=f"container:{DONOR_ID}", PidMode=f"container:{DONOR_ID}")
    by_type = {ns["type"]: ns for ns in s["linux"]["namespaces"]}
    assert by_type["ipc"] == {"type": "ipc", "path": "/proc/4242/ns/ipc"}
    assert by_type["pid"] == {"type": "pid", "path": "/proc/4242/ns/pid"}
    assert mount(s, "/dev/shm")["source"] == d.shm_dir


def test_joining_ipc_of_a_host_ipc_or_a_joiner_donor_binds_what_it_has() -> None:
    host_ipc = donor(IpcMode="host")
    s = spec(lookup=lookup_of(host_ipc), IpcMode=f"container:{DONOR_ID}")
    assert mount(s, "/dev/shm")["source"] == "/dev/shm"
    first = Donor("f" * 64, "running", 7, {"IpcMode": "shareable"}, "/first/shm")
    second = Donor(DONOR_ID, "running", 8, {"IpcMode": "container:" + "f" * 64}, "/second/shm")
    s = spec(lookup=lookup_of(first, second), IpcMode=f"container:{DONOR_ID}")
    assert mount(s, "/dev/shm")["source"] == "/first/shm"


def test_without_a_lookup_joins_are_left_unresolved() -> None:
    opts = options(IpcMode=f"container:{DONOR_ID}", PidMode=f"container:{DONOR_ID}")
    assert all(not ns.path for ns in opts["namespaces"])


@pytest.mark.parametrize(
    ("hc", "donor_", "message"),
    [
        (
            {"PidMode": "container:nope"},
            None,
            "cannot join PID of a non running container: nope: No such container: nope",
        ),
        (
            {"PidMode": f"container:{DONOR_ID}"},
            donor(status="exited", pid=0),
            f"container {DONOR_ID} is not running",
        ),
        (
            {"PidMode": f"container:{DONOR_ID}"},
            donor(status="restarting", pid=0),
            f"Container {DONOR_ID} is restarting, wait until the container is running",
        ),
        (
            {"IpcMode": "container:nope"},
            None,
            "can't join IPC of container nope: No such container: nope",
        ),
        (
            {"IpcMode": f"container:{DONOR_ID}"},
            donor(status="created", pid=0),
            f"can't join IPC of container {DONOR_ID}: container {DONOR_ID} is not running",
        ),
        (
            {"IpcMode": f"container:{DONOR_ID}"},
            donor(IpcMode="private"),
            f"can't join IPC of container {DONOR_ID}: non-shareable IPC (hint: use "
            "IpcMode:shareable for the donor container)",
        ),
    ],
)
def test_joining_errors_are_dockerds_start_errors(hc: dict, donor_, message: str) -> None:
    lookup = lookup_of(donor_) if donor_ else lookup_of()
    with pytest.raises(errdefs.System) as caught:
        options(lookup=lookup, **hc)
    assert caught.value.message == message


def test_devices_and_their_cgroup_permissions() -> None:
    s = spec(
        Devices=[
            {"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "r"}
        ],
        DeviceCgroupRules=["c 42:* rmw", "b *:7 r"],
    )
    (device,) = s["linux"]["devices"]
    assert device["path"] == "/dev/n" and device["type"] == "c"
    rules = s["linux"]["resources"]["devices"]
    assert rules[-3:] == [
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"},
        {"allow": True, "type": "c", "major": 42, "minor": -1, "access": "rmw"},
        {"allow": True, "type": "b", "major": -1, "minor": 7, "access": "r"},
    ]


def test_a_privileged_container_adds_only_renamed_devices() -> None:
    opts = options(
        Privileged=True,
        Devices=[
            {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "r"},
            {"PathOnHost": "/dev/null", "PathInContainer": "/dev/other", "CgroupPermissions": "r"},
        ],
        DeviceCgroupRules=["c 42:* rmw"],
    )
    assert [d["path"] for d in opts["devices"]] == ["/dev/other"]
    s = build_spec(SpecInput(id="c0ffee", **opts), HOST)
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


def test_device_rules_parse_like_dockerd() -> None:
    assert device_rules(["a *:* rwm"]) == [
        {"allow": True, "type": "a", "major": -1, "minor": -1, "access": "rwm"}
    ]
    for bad in ("x 1:2 r", "c 1:2", "c 1:2 rwmx", "c a:2 r"):
        with pytest.raises(errdefs.InvalidParameter):
            device_rules([bad])


def test_seccomp_and_system_paths_options() -> None:
    assert options(SecurityOpt=["seccomp=builtin"])["seccomp"] == ""
    assert options(SecurityOpt=["seccomp=unconfined"])["seccomp"] == "unconfined"
    opts = options(MaskedPaths=[], ReadonlyPaths=["/proc/x"])
    assert opts["masked_paths"] == [] and opts["readonly_paths"] == ["/proc/x"]
    s = spec(SecurityOpt=["seccomp=unconfined"], MaskedPaths=[], ReadonlyPaths=[])
    assert "seccomp" not in s["linux"] and "maskedPaths" not in s["linux"]


def test_apparmor_and_label_options_change_nothing() -> None:
    assert spec(SecurityOpt=["apparmor=unconfined", "label=disable"]) == spec()


# ----------------------------------------------------------------------------- devices (real)


def test_devices_from_path_reads_a_device_node() -> None:
    devices, rules = devices_from_path("/dev/null", "/dev/mine", "rw")
    st = os.stat("/dev/null")
    assert devices == [
        {
            "path": "/dev/mine",
            "type": "c",
            "major": 1,
            "minor": 3,
            "fileMode": st.st_mode & 0o7777,
            "uid": st.st_uid,
            "gid": st.st_gid,
        }
    ]
    assert rules == [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]


def test_devices_from_path_follows_symlinks_and_walks_directories(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to("/dev/null")
    devices, _ = devices_from_path(str(link), "/dev/x", "rwm")
    assert devices[0]["major"] == 1 and devices[0]["path"] == "/dev/x"
    with pytest.raises(errdefs.InvalidParameter) as caught:
        devices_from_path(str(tmp_path), "/dev/dir", "rwm")  # a directory without devices
    assert caught.value.message == (
        f'error gathering device information while adding custom device "{tmp_path}": '
        "not a device node"
    )


def test_devices_from_path_errors_as_dockerd() -> None:
    with pytest.raises(errdefs.InvalidParameter) as caught:
        devices_from_path("/dev/does-not-exist", "/dev/x", "rwm")
    assert caught.value.message == (
        'error gathering device information while adding custom device "/dev/does-not-exist": '
        "no such file or directory"
    )


# ------------------------------------------------------------------------- /etc files


def test_hosts_file_appends_extra_hosts_after_the_defaults() -> None:
    text = hosts_file(["db:10.0.0.5", "v6:fe80::1", "gw:host-gateway"], "172.17.0.1")
    assert text == (
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n"
        "10.0.0.5\tdb\n"
        "fe80::1\tv6\n"
        "172.17.0.1\tgw\n"
    )
    assert hosts_file(None, "x") == DEFAULT_HOSTS


HOST_RESOLV = (
    "# generated\n"
    "nameserver 127.0.0.53\n"
    "nameserver 10.0.0.2\n"
    "nameserver ::1\n"
    "search corp.example\n"
    "options edns0 trust-ad\n"
)


def test_resolv_conf_drops_loopback_nameservers_of_the_host() -> None:
    assert resolv_conf(HOST_RESOLV) == (
        "# generated\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0 trust-ad\n"
    )


def test_resolv_conf_falls_back_to_public_resolvers() -> None:
    assert resolv_conf("nameserver 127.0.0.1\nsearch x\n") == (
        "search x\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844"
    )


def test_resolv_conf_is_built_from_dns_flags_and_the_hosts_rest() -> None:
    assert resolv_conf(HOST_RESOLV, ["1.1.1.1", "9.9.9.9"]) == (
        "search corp.example\nnameserver 1.1.1.1\nnameserver 9.9.9.9\noptions edns0 trust-ad\n"
    )
    assert resolv_conf(HOST_RESOLV, dns_search=["a.example", "b.example"]) == (
        "search a.example b.example\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n"
        "nameserver ::1\noptions edns0 trust-ad\n"
    )
    assert resolv_conf(HOST_RESOLV, ["1.1.1.1"], ["."], ["ndots:2"]) == (
        "nameserver 1.1.1.1\noptions ndots:2\n"
    )


def test_read_host_resolv_conf(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 10.1.1.1\n")
    assert read_host_resolv_conf(str(path)) == "nameserver 10.1.1.1\n"
    assert read_host_resolv_conf(str(tmp_path / "missing")) == ""


# ----------------------------------------------------------------------------- probing


def test_probe_cgroups_v1(tmp_path: Path) -> None:
    for name in (
        "memory/memory.memsw.limit_in_bytes",
        "memory/memory.swappiness",
        "memory/memory.soft_limit_in_bytes",
        "memory/memory.oom_control",
        "cpu/cpu.shares",
        "cpu/cpu.cfs_quota_us",
        "blkio/blkio.throttle.read_bps_device",
        "pids/pids.max",
    ):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "cpuset").mkdir()
    (tmp_path / "cpuset/cpuset.cpus").write_text("0-3\n")
    (tmp_path / "cpuset/cpuset.mems").write_text("0\n")
    support = probe_cgroups(str(tmp_path))
    assert support.memory and support.swap and support.swappiness and support.pids
    assert support.cpu_cfs and support.cpu_shares and support.blkio_throttle
    assert not support.blkio_weight and not support.unified
    assert (support.cpus, support.mems) == ("0-3", "0")


def test_probe_cgroups_v2(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cpuset.cpus.effective").write_text("0-7\n")
    support = probe_cgroups(str(tmp_path))
    assert support.unified and support.memory and support.blkio_weight
    assert not support.swappiness and not support.oom_kill_disable
    assert support.cpus == "0-7"


def test_find_init_prefers_the_static_tini() -> None:
    found = find_init()
    if os.access("/usr/bin/tini-static", os.X_OK):
        assert found == "/usr/bin/tini-static"


# --- a remapped daemon (--userns-remap) -----------------------------------------------------


def remap_invalid(message: str, **hc: Any) -> None:
    with pytest.raises(errdefs.InvalidParameter) as caught:
        validate_host_config(hc, {}, ENV, userns_remap=True)
    assert caught.value.message == message


def test_a_remapped_daemon_refuses_host_modes_its_user_namespace_cannot_share() -> None:
    remap_invalid(
        "privileged mode is incompatible with user namespaces.  You must run the container in "
        "the host namespace when running privileged mode",
        Privileged=True,
    )
    remap_invalid(
        "cannot share the host's network namespace when user namespaces are enabled",
        NetworkMode="host",
    )
    remap_invalid(
        "cannot share the host PID namespace when user namespaces are enabled", PidMode="host"
    )
    for hc in ({"Privileged": True}, {"NetworkMode": "host"}, {"PidMode": "host"}):
        assert validate_host_config({**hc, "UsernsMode": "host"}, {}, ENV, userns_remap=True) == []
        assert validate_host_config(hc, {}, ENV) == []  # no remap, nothing to refuse


def remap_options(lookup=None, **hc: Any) -> dict[str, Any]:
    return spec_options(
        {"Hostname": "c0ffee"},
        hc,
        ["true"],
        shm_dir="/shm",
        lookup=lookup,
        env=ENV,
        userns_remap=True,
    )


def user_ns(opts: dict[str, Any]) -> list[Namespace]:
    return [ns for ns in opts["namespaces"] if ns.type == "user"]


def test_a_remapped_container_gets_a_user_namespace_unless_userns_host() -> None:
    assert user_ns(remap_options()) == [Namespace("user")]
    assert user_ns(remap_options(UsernsMode="host")) == []
    assert user_ns(options()) == []  # no remap


def test_joining_a_containers_namespaces_joins_its_user_namespace() -> None:
    net = Donor("a" * 64, "running", 11, {}, "/a/shm")
    ipc = Donor("b" * 64, "running", 22, {"IpcMode": "shareable"}, "/b/shm")
    pid = Donor("c" * 64, "running", 33, {}, "/c/shm")
    lookup = lookup_of(net, ipc, pid)
    opts = remap_options(lookup, NetworkMode="container:" + "a" * 64)
    assert user_ns(opts) == [Namespace("user", "/proc/11/ns/user")]
    opts = remap_options(
        lookup, NetworkMode="container:" + "a" * 64, IpcMode="container:" + "b" * 64
    )
    assert user_ns(opts) == [Namespace("user", "/proc/22/ns/user")]
    opts = remap_options(
        lookup,
        NetworkMode="container:" + "a" * 64,
        IpcMode="container:" + "b" * 64,
        PidMode="container:" + "c" * 64,
    )
    assert user_ns(opts) == [Namespace("user", "/proc/33/ns/user")]  # the last join wins
    opts = remap_options(lookup, PidMode="container:" + "c" * 64, UsernsMode="host")
    assert user_ns(opts) == []
