"""The OCI spec builder against dockerd 20.10's defaults, on a pinned host."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers import spec as spec_module
from dockerpy_engine.containers.spec import (
    CAPABILITIES,
    DEFAULT_CAPABILITIES,
    DEFAULT_MASKED_PATHS,
    DEFAULT_NAMESPACES,
    DEFAULT_READONLY_PATHS,
    HostInfo,
    Namespace,
    Resources,
    Rlimit,
    SpecInput,
    UnknownCapability,
    bounding_set,
    build_spec,
    capabilities_from_mask,
    container_env,
    host_devices,
    namespaces,
    normalize_capabilities,
    probe_host,
)
from dockerpy_engine.idmap import IdentityMapping, IDMap

# This machine's CapBnd: everything up to CAP_CHECKPOINT_RESTORE except CAP_SYS_RESOURCE.
HOST_MASK = 0x000001FFFEFFFFFF
NULL_DEVICE = {
    "path": "/dev/null",
    "type": "c",
    "major": 1,
    "minor": 3,
    "fileMode": 0o666,
    "uid": 0,
    "gid": 0,
}
HOST = HostInfo(
    bounding_caps=capabilities_from_mask(HOST_MASK),
    arch="amd64",
    kernel=(6, 1),
    sysctls=frozenset({"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}),
    devices=(NULL_DEVICE,),
)
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def build(**changes) -> dict:
    inp = SpecInput(id="c0ffee", args=["/bin/sh", "-c", "true"], hostname="c0ffee", **changes)
    return build_spec(inp, HOST)


def mount(spec: dict, destination: str) -> dict:
    (found,) = [m for m in spec["mounts"] if m["destination"] == destination]
    return found


def destinations(spec: dict) -> list[str]:
    return [m["destination"] for m in spec["mounts"]]


def syscalls(spec: dict) -> set[str]:
    return {n for rule in spec["linux"]["seccomp"]["syscalls"] for n in rule["names"]}


# ------------------------------------------------------------------------------ whole spec


def test_input_is_a_frozen_slotted_dataclass() -> None:
    inp = SpecInput(id="x", args=["true"])
    assert not hasattr(inp, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inp.id = "y"  # type: ignore[misc]


def test_default_spec_top_level() -> None:
    spec = build()
    assert spec["ociVersion"] == "1.0.2-dev"
    assert spec["root"] == {"path": "rootfs", "readonly": False}
    assert spec["hostname"] == "c0ffee"
    assert json.loads(json.dumps(spec)) == spec


def test_default_process() -> None:
    process = build()["process"]
    assert process["args"] == ["/bin/sh", "-c", "true"]
    assert process["env"] == [DEFAULT_PATH, "HOSTNAME=c0ffee"]
    assert process["cwd"] == "/"
    assert process["terminal"] is False
    assert process["user"] == {"uid": 0, "gid": 0}
    assert process["oomScoreAdj"] == 0
    assert "noNewPrivileges" not in process
    assert "rlimits" not in process


def test_default_capabilities_are_dockerds_without_inheritable() -> None:
    caps = build()["process"]["capabilities"]
    expected = list(DEFAULT_CAPABILITIES)
    assert caps == {"bounding": expected, "effective": expected, "permitted": expected}
    assert len(expected) == 14
    assert capabilities_from_mask(0xA80425FB) == tuple(sorted(expected, key=CAPABILITIES.index))


def test_default_mounts_in_dockerds_order_and_options() -> None:
    spec = build()
    assert spec["mounts"] == [
        {
            "destination": "/proc",
            "type": "proc",
            "source": "proc",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": [
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["ro", "nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        },
    ]


def test_default_linux_section() -> None:
    linux = build()["linux"]
    assert linux["namespaces"] == [
        {"type": "mount"},
        {"type": "network"},
        {"type": "uts"},
        {"type": "pid"},
        {"type": "ipc"},
    ]
    assert linux["maskedPaths"] == list(DEFAULT_MASKED_PATHS)
    assert linux["readonlyPaths"] == list(DEFAULT_READONLY_PATHS)
    assert linux["cgroupsPath"] == "/dockerpy/c0ffee"
    assert linux["devices"] == []
    assert linux["sysctl"] == {
        "net.ipv4.ping_group_range": "0 2147483647",
        "net.ipv4.ip_unprivileged_port_start": "0",
    }


def test_default_device_cgroup_is_dockerds_allow_list() -> None:
    rules = build()["linux"]["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"}
    allowed = [(r["major"], r["minor"]) for r in rules if r["allow"]]
    assert allowed == [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)]
    assert rules[-1] == {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"}
    assert all(r.get("type", "c") == "c" and r["access"] == "rwm" for r in rules)


def test_default_resources_hold_only_the_device_cgroup() -> None:
    assert build()["linux"]["resources"].keys() == {"devices"}


def test_default_seccomp_is_dockerds_profile_for_the_caps() -> None:
    seccomp = build()["linux"]["seccomp"]
    assert seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
    assert seccomp["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert "chroot" in syscalls(build())  # CAP_SYS_CHROOT is a default capability
    assert "mount" not in syscalls(build())


# ------------------------------------------------------------------------------ process


def test_env_defaults_are_replaced_appended_or_unset() -> None:
    env = build(env=["PATH=/opt/bin", "FOO=1", "HOSTNAME=other"])["process"]["env"]
    assert env == ["PATH=/opt/bin", "HOSTNAME=other", "FOO=1"]
    assert container_env("h", False, ["PATH", "A=1", "A=2"]) == ["HOSTNAME=h", "A=1", "A=2"]


def test_tty_sets_terminal_and_term_which_the_container_may_override() -> None:
    process = build(tty=True)["process"]
    assert process["terminal"] is True
    assert process["env"] == [DEFAULT_PATH, "HOSTNAME=c0ffee", "TERM=xterm"]
    assert container_env("h", True, ["TERM=dumb"])[-1] == "TERM=dumb"


def test_console_size_is_the_ttys_first_size() -> None:
    """`docker run -it` sends its terminal's size as HostConfig.ConsoleSize; the TTY starts at
    that size (so `stty size` is right before the first resize arrives)."""
    process = build(tty=True, console_size=(30, 100))["process"]
    assert process["consoleSize"] == {"height": 30, "width": 100}
    assert "consoleSize" not in build(tty=True)["process"]
    assert "consoleSize" not in build(console_size=(30, 100))["process"]


def test_cwd_and_user() -> None:
    process = build(cwd="", uid=0, gid=0, additional_gids=[0, 10])["process"]
    assert process["cwd"] == "/"
    assert process["user"] == {"uid": 0, "gid": 0, "additionalGids": [0, 10]}
    assert build(cwd="/srv")["process"]["cwd"] == "/srv"


def test_non_root_user_gets_only_the_bounding_set() -> None:
    caps = build(uid=1000, gid=1000)["process"]["capabilities"]
    assert caps == {"bounding": list(DEFAULT_CAPABILITIES)}


def test_rlimits_no_new_privileges_and_oom_score() -> None:
    process = build(
        rlimits=[Rlimit("nofile", 1024, 2048), Rlimit("RLIMIT_NPROC", 10, 20)],
        no_new_privileges=True,
        oom_score_adj=-500,
    )["process"]
    assert process["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024},
        {"type": "RLIMIT_NPROC", "hard": 20, "soft": 10},
    ]
    assert process["noNewPrivileges"] is True
    assert process["oomScoreAdj"] == -500


# ------------------------------------------------------------------------------ capabilities


def test_cap_add_and_drop_with_or_without_prefix_any_case() -> None:
    caps = build(cap_add=["sys_admin", "CAP_NET_ADMIN"], cap_drop=["mknod", "Cap_Net_Raw"])
    bounding = caps["process"]["capabilities"]["bounding"]
    expected = [c for c in DEFAULT_CAPABILITIES if c not in ("CAP_MKNOD", "CAP_NET_RAW")]
    assert bounding == [*expected, "CAP_SYS_ADMIN", "CAP_NET_ADMIN"]


def test_cap_add_of_a_default_appears_once() -> None:
    bounding = build(cap_add=["CHOWN"])["process"]["capabilities"]["bounding"]
    assert bounding == list(DEFAULT_CAPABILITIES)


def test_cap_drop_all_keeps_only_the_added() -> None:
    assert build(cap_drop=["ALL"])["process"]["capabilities"] == {
        "bounding": [],
        "effective": [],
        "permitted": [],
    }
    spec = build(cap_drop=["all"], cap_add=["chown", "kill"])
    assert spec["process"]["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_KILL"]
    assert "chroot" not in syscalls(spec)


def test_cap_add_all_is_the_hosts_bounding_set_minus_drops() -> None:
    bounding = build(cap_add=["ALL"], cap_drop=["SYS_ADMIN"])["process"]["capabilities"]["bounding"]
    assert "CAP_SYS_RESOURCE" not in bounding  # the host cannot grant it
    assert "CAP_SYS_ADMIN" not in bounding
    assert len(bounding) == len(HOST.bounding_caps) - 1


def test_unknown_capability_is_dockerds_invalid_parameter() -> None:
    with pytest.raises(UnknownCapability) as caught:
        build(cap_add=["FOO"])
    assert isinstance(caught.value, errdefs.InvalidParameter)
    assert caught.value.message == 'unknown capability: "CAP_FOO"'
    with pytest.raises(errdefs.InvalidParameter, match='"CAP_NOPE"'):
        build(cap_drop=["cap_nope"])


def test_normalize_capabilities() -> None:
    assert normalize_capabilities(["all", "perfmon", "CAP_BPF"]) == [
        "ALL",
        "CAP_PERFMON",
        "CAP_BPF",
    ]


def test_seccomp_follows_added_capabilities() -> None:
    assert {"mount", "unshare", "setns"} <= syscalls(build(cap_add=["SYS_ADMIN"]))
    assert {"ptrace", "process_vm_readv"} <= syscalls(build(cap_add=["SYS_PTRACE"]))


# ------------------------------------------------------------------------------ privileged


def test_privileged_gets_the_hosts_bounding_set_not_every_capability() -> None:
    caps = build(privileged=True, cap_drop=["ALL"])["process"]["capabilities"]
    assert caps["bounding"] == caps["effective"] == caps["permitted"] == list(HOST.bounding_caps)
    assert "CAP_SYS_RESOURCE" not in caps["bounding"]
    assert "CAP_SYS_ADMIN" in caps["bounding"]


def test_privileged_has_no_confinement() -> None:
    linux = build(privileged=True)["linux"]
    assert "seccomp" not in linux
    assert "maskedPaths" not in linux
    assert "readonlyPaths" not in linux


def test_privileged_mounts_sys_and_cgroup_read_write() -> None:
    spec = build(privileged=True, read_only=True)
    assert "ro" not in mount(spec, "/sys")["options"]
    assert "ro" not in mount(spec, "/sys/fs/cgroup")["options"]


def test_privileged_gets_host_devices_and_an_open_device_cgroup() -> None:
    extra = {"path": "/dev/extra", "type": "c", "major": 9, "minor": 9}
    linux = build(privileged=True, devices=[extra])["linux"]
    assert linux["devices"] == [NULL_DEVICE, extra]
    assert linux["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


def test_privileged_scans_dev_when_the_host_info_has_no_devices(monkeypatch) -> None:
    monkeypatch.setattr(spec_module, "host_devices", lambda: [{"path": "/dev/scanned"}])
    host = dataclasses.replace(HOST, devices=None)
    spec = build_spec(SpecInput(id="x", args=["true"], privileged=True), host)
    assert spec["linux"]["devices"] == [{"path": "/dev/scanned"}]


def test_explicit_masked_and_readonly_paths_win() -> None:
    linux = build(privileged=True, masked_paths=["/proc/kcore"], readonly_paths=[])["linux"]
    assert linux["maskedPaths"] == ["/proc/kcore"]
    assert "readonlyPaths" not in linux
    assert build(masked_paths=[])["linux"].get("maskedPaths") is None


# ------------------------------------------------------------------------------ mounts


ETC = {
    "/etc/resolv.conf": "/var/lib/dockerpy/containers/c0ffee/resolv.conf",
    "/etc/hostname": "/var/lib/dockerpy/containers/c0ffee/hostname",
    "/etc/hosts": "/var/lib/dockerpy/containers/c0ffee/hosts",
}


def test_etc_files_are_rprivate_binds_after_the_defaults() -> None:
    spec = build(etc_files=ETC)
    assert destinations(spec)[-3:] == ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]
    assert mount(spec, "/etc/hosts") == {
        "destination": "/etc/hosts",
        "type": "bind",
        "source": ETC["/etc/hosts"],
        "options": ["rbind", "rprivate"],
    }


def test_etc_files_without_a_path_are_skipped() -> None:
    spec = build(etc_files={"/etc/resolv.conf": "", "/etc/hosts": "/h"})
    assert destinations(spec)[-1:] == ["/etc/hosts"]
    assert "/etc/resolv.conf" not in destinations(spec)


def test_read_only_rootfs() -> None:
    spec = build(read_only=True, etc_files=ETC)
    assert spec["root"] == {"path": "rootfs", "readonly": True}
    assert mount(spec, "/etc/hosts")["options"] == ["rbind", "ro", "rprivate"]
    for scratch in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"):
        assert "ro" not in mount(spec, scratch)["options"]
    assert mount(spec, "/sys")["options"].count("ro") == 1


def test_user_mounts_come_last_parents_before_children() -> None:
    data = {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind"]}
    etc = {"destination": "/etc", "type": "bind", "source": "/srv/etc", "options": ["rbind"]}
    deep = {"destination": "/data/sub/x", "type": "tmpfs", "source": "tmpfs", "options": []}
    spec = build(etc_files=ETC, extra_mounts=[deep, data, etc])
    assert destinations(spec)[7:] == [
        "/data",
        "/etc",
        "/etc/resolv.conf",
        "/etc/hostname",
        "/etc/hosts",
        "/data/sub/x",
    ]
    assert mount(spec, "/data") == data
    assert mount(spec, "/data") is not data  # copied, never aliased


def test_a_user_mount_replaces_the_default_or_etc_file_at_its_destination() -> None:
    shm = {"destination": "/dev/shm", "type": "bind", "source": "/run/shm/x", "options": ["rbind"]}
    hosts = {"destination": "/etc/hosts", "type": "bind", "source": "/mine", "options": ["rbind"]}
    spec = build(etc_files=ETC, extra_mounts=[shm, hosts])
    assert mount(spec, "/dev/shm") == shm
    assert mount(spec, "/etc/hosts") == hosts


def test_a_user_mount_on_dev_drops_every_default_under_dev() -> None:
    dev = {"destination": "/dev", "type": "bind", "source": "/dev", "options": ["rbind"]}
    assert destinations(build(extra_mounts=[dev])) == ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]


def test_shm_size() -> None:
    assert "size=1048576" in mount(build(shm_size=1 << 20), "/dev/shm")["options"]
    assert "size=67108864" in mount(build(shm_size=0), "/dev/shm")["options"]
    assert "/dev/shm" not in destinations(build(shm_size=None))


# ------------------------------------------------------------------------------ namespaces


def test_namespaces_helper() -> None:
    assert namespaces() == DEFAULT_NAMESPACES
    assert [ns.type for ns in namespaces(host=["pid", "ipc"])] == ["mount", "network", "uts"]
    joined = namespaces(join={"network": "/proc/42/ns/net"}, cgroup=True)
    assert joined[1] == Namespace("network", "/proc/42/ns/net")
    assert joined[-1] == Namespace("cgroup")
    with pytest.raises(ValueError, match="unknown namespace"):
        namespaces(host=["time"])


def test_joined_namespace_has_a_path() -> None:
    spec = build(namespaces=namespaces(join={"network": "/run/netns/x"}, cgroup=True))
    assert spec["linux"]["namespaces"][1] == {"type": "network", "path": "/run/netns/x"}
    assert spec["linux"]["namespaces"][-1] == {"type": "cgroup"}


def test_network_sysctls_only_for_a_new_network_namespace() -> None:
    joined = build(namespaces=namespaces(join={"network": "/run/netns/x"}))
    host_net = build(namespaces=namespaces(host=["network"]))
    assert "sysctl" not in joined["linux"]
    assert "sysctl" not in host_net["linux"]
    bare_host = dataclasses.replace(HOST, sysctls=frozenset())
    spec = build_spec(SpecInput(id="x", args=["true"]), bare_host)
    assert "sysctl" not in spec["linux"]


def test_user_sysctls_override_the_defaults() -> None:
    sysctl = build(sysctls={"net.ipv4.ip_unprivileged_port_start": "1024", "kernel.msgmax": "1"})
    assert sysctl["linux"]["sysctl"] == {
        "net.ipv4.ping_group_range": "0 2147483647",
        "net.ipv4.ip_unprivileged_port_start": "1024",
        "kernel.msgmax": "1",
    }


def test_hostname_only_in_a_new_uts_namespace() -> None:
    assert "hostname" not in build(namespaces=namespaces(host=["uts"]))
    assert "hostname" not in build(namespaces=namespaces(join={"uts": "/proc/1/ns/uts"}))
    assert build(domainname="example.org")["domainname"] == "example.org"


# ------------------------------------------------------------------------------ cgroups


def test_cgroups_path_parent_is_configurable() -> None:
    assert build(cgroup_parent="/custom")["linux"]["cgroupsPath"] == "/custom/c0ffee"
    assert build(cgroup_parent="relative")["linux"]["cgroupsPath"] == "relative/c0ffee"


def test_resources_map_to_oci_and_leave_unset_out() -> None:
    resources = Resources(
        memory=64 << 20,
        memory_reservation=32 << 20,
        memory_swap=128 << 20,
        memory_swappiness=10,
        oom_kill_disable=True,
        cpu_shares=512,
        cpu_period=50_000,
        cpu_quota=25_000,
        cpuset_cpus="0-1",
        cpuset_mems="0",
        pids_limit=100,
        blkio_weight=300,
    )
    got = build(resources=resources)["linux"]["resources"]
    assert got["memory"] == {
        "limit": 64 << 20,
        "reservation": 32 << 20,
        "swap": 128 << 20,
        "swappiness": 10,
        "disableOOMKiller": True,
    }
    assert got["cpu"] == {
        "shares": 512,
        "period": 50_000,
        "quota": 25_000,
        "cpus": "0-1",
        "mems": "0",
    }
    assert got["pids"] == {"limit": 100}
    assert got["blockIO"] == {"weight": 300}


def test_resource_edge_values() -> None:
    got = build(resources=Resources(memory_swap=-1, memory_swappiness=-1, pids_limit=0))
    assert got["linux"]["resources"] == {
        "devices": got["linux"]["resources"]["devices"],
        "pids": {"limit": -1},
    }


def test_nano_cpus_become_quota_over_100ms() -> None:
    cpu = build(resources=Resources(nano_cpus=1_500_000_000))["linux"]["resources"]["cpu"]
    assert cpu == {"period": 100_000, "quota": 150_000}
    cpu = build(resources=Resources(nano_cpus=500_000_000, cpu_period=200_000))
    assert cpu["linux"]["resources"]["cpu"] == {"period": 200_000, "quota": 50_000}


def test_device_cgroup_rules_are_appended() -> None:
    rule = {"allow": True, "type": "c", "major": 42, "minor": -1, "access": "rwm"}
    dev = {"path": "/dev/ttyUSB0", "type": "c", "major": 188, "minor": 0}
    linux = build(device_cgroup_rules=[rule], devices=[dev])["linux"]
    assert linux["resources"]["devices"][-1] == rule
    assert linux["devices"] == [dev]


# ------------------------------------------------------------------------------ seccomp option


def test_unconfined_and_custom_seccomp() -> None:
    assert "seccomp" not in build(seccomp="unconfined")["linux"]
    custom = json.dumps({"defaultAction": "SCMP_ACT_ALLOW"})
    assert build(seccomp=custom)["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW"}


# ------------------------------------------------------------------------------ host


def test_bounding_set_from_proc_status() -> None:
    status = "Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n"
    caps = bounding_set(status)
    assert len(caps) == 40
    assert "CAP_SYS_RESOURCE" not in caps
    assert caps[-1] == "CAP_CHECKPOINT_RESTORE"
    with pytest.raises(errdefs.System):
        bounding_set("Name:\tx\n")


def test_capability_table_is_the_kernels() -> None:
    assert len(CAPABILITIES) == 41
    assert CAPABILITIES.index("CAP_SYS_ADMIN") == 21
    assert CAPABILITIES.index("CAP_AUDIT_READ") == 37
    assert capabilities_from_mask(1 << 50) == ()  # bits runc cannot name are left out


def test_probe_host_reads_this_daemon() -> None:
    host = probe_host()
    assert probe_host() is host
    assert host.bounding_caps and set(host.bounding_caps) <= set(CAPABILITIES)
    assert host.devices is None
    assert host.kernel >= (3, 0)


def test_host_devices_lists_device_nodes_like_runc() -> None:
    devices = host_devices()
    by_path = {d["path"]: d for d in devices}
    assert by_path["/dev/null"]["type"] == "c"
    assert (by_path["/dev/null"]["major"], by_path["/dev/null"]["minor"]) == (1, 3)
    assert "/dev/console" not in by_path
    assert not [p for p in by_path if p.startswith(("/dev/pts/", "/dev/shm/", "/dev/mqueue/"))]
    assert all(d["type"] in ("c", "b") for d in devices)


def test_host_devices_of_a_missing_directory_is_a_system_error(tmp_path) -> None:
    with pytest.raises(errdefs.System):
        host_devices(str(tmp_path / "nope"))


# --- a remapped daemon (--userns-remap) -----------------------------------------------------

REMAP = IdentityMapping(
    uids=(IDMap(0, 100000, 1000), IDMap(1000, 300000, 65536)), gids=(IDMap(0, 100000, 65536),)
)
LOCKED_HOST = dataclasses.replace(
    HOST, locked_flags=lambda source: ("nosuid", "nodev") if source.startswith("/tmp") else ()
)


def remapped(**changes) -> dict:
    changes.setdefault("namespaces", namespaces(user=True))
    inp = SpecInput(id="c0ffee", args=["true"], id_mappings=REMAP, **changes)
    return build_spec(inp, LOCKED_HOST)


def test_a_private_user_namespace_gets_the_daemons_maps() -> None:
    linux = remapped()["linux"]
    assert {"type": "user"} in linux["namespaces"]
    assert linux["uidMappings"] == [
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 1000, "hostID": 300000, "size": 65536},
    ]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]


def test_a_joined_user_namespace_gets_the_maps_too() -> None:
    joined = namespaces(user=True, join={"user": "/proc/7/ns/user", "pid": "/proc/7/ns/pid"})
    linux = remapped(namespaces=joined)["linux"]
    assert {"type": "user", "path": "/proc/7/ns/user"} in linux["namespaces"]
    assert [ns["type"] for ns in linux["namespaces"]].count("user") == 1
    assert linux["uidMappings"][0]["hostID"] == 100000


def test_userns_host_has_no_namespace_nor_maps_but_keeps_the_daemons_mounts() -> None:
    spec = remapped(namespaces=DEFAULT_NAMESPACES, etc_files={"/etc/hosts": "/tmp/c/hosts"})
    linux = spec["linux"]
    assert "user" not in [ns["type"] for ns in linux["namespaces"]]
    assert "uidMappings" not in linux and "gidMappings" not in linux
    assert "ro" not in mount(spec, "/sys/fs/cgroup")["options"]  # dockerd: any remap
    assert mount(spec, "/etc/hosts")["options"] == ["rbind", "rprivate", "nosuid", "nodev"]


def test_remapped_binds_repeat_the_locked_flags_of_their_source() -> None:
    extra = [
        {"destination": "/data", "type": "bind", "source": "/tmp/vol", "options": ["rbind"]},
        {"destination": "/opt", "type": "bind", "source": "/srv/opt", "options": ["rbind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]},
    ]
    spec = remapped(extra_mounts=extra)
    assert mount(spec, "/data")["options"] == ["rbind", "nosuid", "nodev"]
    assert mount(spec, "/opt")["options"] == ["rbind", "ro"]
    assert mount(spec, "/scratch")["options"] == ["nosuid"]
    assert mount(spec, "/sys")["options"] == ["nosuid", "noexec", "nodev", "ro"]
    assert "ro" not in mount(spec, "/sys/fs/cgroup")["options"]
    assert extra[0]["options"] == ["rbind"]  # the caller's mounts are left as they were


def test_no_ping_group_range_in_a_user_namespace() -> None:
    assert remapped()["linux"]["sysctl"] == {"net.ipv4.ip_unprivileged_port_start": "0"}


def test_without_a_remap_nothing_changes() -> None:
    spec = build(extra_mounts=[{"destination": "/d", "type": "bind", "source": "/tmp/x",
                                "options": ["rbind"]}])  # fmt: skip
    assert mount(spec, "/d")["options"] == ["rbind"]
    assert "uidMappings" not in spec["linux"]
    assert "ro" in mount(spec, "/sys/fs/cgroup")["options"]


def test_locked_flags_are_the_statfs_flags_of_the_sources_mount(tmp_path, monkeypatch) -> None:
    assert spec_module.locked_flags(str(tmp_path / "missing")) == ()
    flags = os.ST_RDONLY | os.ST_NOSUID | os.ST_NODEV | os.ST_RELATIME | os.ST_SYNCHRONOUS

    class Statvfs:
        f_flag = flags

    monkeypatch.setattr(spec_module.os, "statvfs", lambda path: Statvfs())
    assert spec_module.locked_flags("/anywhere") == ("ro", "nodev", "nosuid", "relatime")
