"""Resolving dockerd's seccomp profile (the real default.json from the Debian package) per
container, and loading users' profiles."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers import seccomp
from dockerpy_engine.containers.seccomp import (
    DEFAULT_PROFILE_PATH,
    SeccompProfileError,
    load_default_profile,
    parse_kernel_release,
    parse_profile,
    resolve_profile,
    seccomp_for,
)

DEFAULT_CAPS = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]
KERNEL = (6, 1)


def names(resolved: dict) -> set[str]:
    return {n for rule in resolved["syscalls"] for n in rule["names"]}


def rules_for(resolved: dict, name: str) -> list[dict]:
    return [rule for rule in resolved["syscalls"] if name in rule["names"]]


@pytest.fixture
def default() -> dict:
    return resolve_profile(load_default_profile(), DEFAULT_CAPS, arch="amd64", kernel=KERNEL)


# ------------------------------------------------------------------------- the default profile


def test_default_profile_is_read_from_the_debian_package_once() -> None:
    assert DEFAULT_PROFILE_PATH.is_file()
    first = load_default_profile()
    assert load_default_profile() is first
    assert first["defaultAction"] == "SCMP_ACT_ERRNO"
    assert first["archMap"] and first["syscalls"]


def test_default_for_amd64_has_native_and_sub_architectures(default: dict) -> None:
    assert default["defaultAction"] == "SCMP_ACT_ERRNO"
    assert default["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert list(default) == ["defaultAction", "architectures", "syscalls"]


def test_default_keeps_only_oci_fields(default: dict) -> None:
    for rule in default["syscalls"]:
        assert set(rule) <= {"names", "action", "args", "errnoRet"}
        assert rule["names"] and rule["action"]
        assert rule.get("args", [None]) != []  # empty or null args are left out


def test_default_allows_common_syscalls_and_arch_specific_ones(default: dict) -> None:
    allowed = names(default)
    assert {"read", "write", "openat", "execve", "clone", "chroot"} <= allowed
    assert {"arch_prctl", "modify_ldt"} <= allowed  # includes.arches amd64
    assert not {"arm_fadvise64_64", "s390_runtime_instr", "sync_file_range2"} & allowed


def test_default_without_sys_admin_filters_clone_flags_and_denies_mount(default: dict) -> None:
    allowed = names(default)
    assert not {"mount", "umount2", "unshare", "setns", "bpf"} & allowed
    clone = rules_for(default, "clone")
    assert clone == [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
        }
    ]
    # clone3 answers ENOSYS so that glibc falls back to the filtered clone
    assert rules_for(default, "clone3") == [
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
    ]


def test_default_with_sys_admin_allows_mount_and_unfiltered_clone() -> None:
    resolved = resolve_profile(
        load_default_profile(), [*DEFAULT_CAPS, "CAP_SYS_ADMIN"], arch="amd64", kernel=KERNEL
    )
    assert {"mount", "unshare", "setns", "clone3"} <= names(resolved)
    assert all("args" not in rule for rule in rules_for(resolved, "clone"))
    assert not [r for r in resolved["syscalls"] if r.get("errnoRet") == 38]


def test_capability_rules_follow_the_bounding_set() -> None:
    profile = load_default_profile()
    without = resolve_profile(profile, [], arch="amd64", kernel=KERNEL)
    assert "chroot" not in names(without)
    with_ptrace = resolve_profile(profile, ["CAP_SYS_PTRACE"], arch="amd64", kernel=KERNEL)
    assert {"process_vm_readv", "kcmp", "ptrace"} <= names(with_ptrace)


def test_min_kernel_gates_ptrace() -> None:
    profile = load_default_profile()
    new = resolve_profile(profile, DEFAULT_CAPS, arch="amd64", kernel=(4, 8))
    old = resolve_profile(profile, DEFAULT_CAPS, arch="amd64", kernel=(4, 4))
    assert "ptrace" in names(new)
    assert "ptrace" not in names(old)


def test_arm64_gets_its_own_architectures_and_rules() -> None:
    resolved = resolve_profile(load_default_profile(), DEFAULT_CAPS, arch="arm64", kernel=KERNEL)
    assert resolved["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert {"arm_fadvise64_64", "set_tls"} <= names(resolved)
    assert "arch_prctl" not in names(resolved)


def test_s390x_filters_clone_on_its_second_argument() -> None:
    resolved = resolve_profile(load_default_profile(), DEFAULT_CAPS, arch="s390x", kernel=KERNEL)
    assert resolved["architectures"] == ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]
    (clone,) = rules_for(resolved, "clone")
    assert clone["args"][0]["index"] == 1


def test_mips_gets_its_own_enosys_number() -> None:
    resolved = resolve_profile(load_default_profile(), DEFAULT_CAPS, arch="mips64", kernel=KERNEL)
    assert [r["errnoRet"] for r in rules_for(resolved, "clone3")] == [89]


def test_unknown_arch_leaves_architectures_to_libseccomp() -> None:
    resolved = resolve_profile(load_default_profile(), DEFAULT_CAPS, arch="riscv64", kernel=KERNEL)
    assert "architectures" not in resolved
    assert "arch_prctl" not in names(resolved)


def test_resolving_never_changes_the_cached_profile() -> None:
    profile = load_default_profile()
    before = copy.deepcopy(profile)
    resolved = resolve_profile(profile, DEFAULT_CAPS, arch="amd64", kernel=KERNEL)
    resolved["syscalls"][0]["names"].append("reboot")
    resolved["syscalls"][1].setdefault("args", []).append({})
    assert profile == before


def test_host_defaults_are_used_when_arch_and_kernel_are_not_given() -> None:
    resolved = resolve_profile(load_default_profile(), DEFAULT_CAPS)
    assert resolved == resolve_profile(
        load_default_profile(), DEFAULT_CAPS, arch=seccomp.host_arch(), kernel=seccomp.host_kernel()
    )
    assert json.loads(json.dumps(resolved)) == resolved


def test_missing_default_profile_is_a_system_error(tmp_path: Path) -> None:
    with pytest.raises(errdefs.System, match="golang-github-docker-docker-dev"):
        load_default_profile(tmp_path / "nope.json")


# ------------------------------------------------------------------------- the option


def test_option_empty_means_the_default_profile(default: dict) -> None:
    assert seccomp_for("", DEFAULT_CAPS, arch="amd64", kernel=KERNEL) == default


def test_unconfined_and_privileged_get_no_seccomp() -> None:
    assert seccomp_for("unconfined", DEFAULT_CAPS) is None
    assert seccomp_for("", DEFAULT_CAPS, privileged=True) is None
    assert seccomp_for('{"defaultAction": "SCMP_ACT_KILL"}', [], privileged=True) is None


def test_option_reads_the_default_from_the_given_path(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('{"defaultAction": "SCMP_ACT_LOG", "syscalls": []}')
    assert seccomp_for("", [], default_path=path) == {"defaultAction": "SCMP_ACT_LOG"}


# ------------------------------------------------------------------------- users' profiles


def test_user_profile_in_oci_form_passes_through() -> None:
    oci = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {
                "names": ["personality"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
            },
        ],
    }
    assert seccomp_for(json.dumps(oci), [], arch="arm64", kernel=KERNEL) == oci


def test_user_profile_in_docker_format_is_filtered() -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [
            {"name": "read", "action": "SCMP_ACT_ALLOW", "args": None, "comment": "old format"},
            {
                "names": ["mount"],
                "action": "SCMP_ACT_ALLOW",
                "includes": {"caps": ["CAP_SYS_ADMIN"]},
            },
            {"names": ["newer"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "7.0"}},
            {"names": ["older"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}},
            {"names": ["not_arm"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["arm64"]}},
        ],
    }
    resolved = seccomp_for(json.dumps(profile), ["CAP_CHOWN"], arch="amd64", kernel=(5, 10))
    assert resolved == {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["not_arm"], "action": "SCMP_ACT_ALLOW"},
        ],
    }


def test_flags_and_listener_pass_through() -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "listenerPath": "/run/agent.sock",
        "listenerMetadata": "meta",
    }
    assert resolve_profile(profile, [], arch="amd64", kernel=KERNEL) == profile


def test_empty_profile_disables_seccomp() -> None:
    assert seccomp_for("{}", DEFAULT_CAPS) is None
    assert resolve_profile({"defaultAction": "", "syscalls": []}, []) is None


def test_invalid_json_is_dockerds_decoding_error() -> None:
    with pytest.raises(errdefs.InvalidParameter, match=r"^Decoding seccomp profile failed: "):
        seccomp_for("{not json", DEFAULT_CAPS)
    with pytest.raises(SeccompProfileError, match="must be a JSON object"):
        parse_profile("[]")
    with pytest.raises(SeccompProfileError, match="'syscalls' must be a list"):
        parse_profile('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}')


def test_bad_min_kernel_is_refused_at_decoding() -> None:
    for bad in ("4", "4.8.1", "0.0", "x.y"):
        text = json.dumps({"syscalls": [{"names": ["a"], "includes": {"minKernel": bad}}]})
        with pytest.raises(
            SeccompProfileError, match=r'invalid kernel version: .*"<kernel>\.<major>"'
        ):
            parse_profile(text)


def test_both_architectures_and_arch_map_is_an_error() -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}],
    }
    with pytest.raises(SeccompProfileError) as caught:
        resolve_profile(profile, [], arch="amd64", kernel=KERNEL)
    assert caught.value.message == (
        "'architectures' and 'archMap' were specified in the seccomp profile, "
        "use either 'architectures' or 'archMap'"
    )


def test_both_name_and_names_is_an_error() -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}],
    }
    with pytest.raises(SeccompProfileError, match="'name' and 'names' were specified"):
        resolve_profile(profile, [], arch="amd64", kernel=KERNEL)


# ------------------------------------------------------------------------- host facts


@pytest.mark.parametrize(
    ("release", "version"),
    [("6.1.0-18-amd64", (6, 1)), ("3.12-1-amd64", (3, 12)), ("6.18.44-fc-v669", (6, 18))],
)
def test_kernel_release_keeps_version_and_major(release: str, version: tuple[int, int]) -> None:
    assert parse_kernel_release(release) == version


def test_unparsable_kernel_release_is_a_system_error() -> None:
    with pytest.raises(errdefs.System):
        parse_kernel_release("unknown")


def test_host_arch_is_a_goarch_name() -> None:
    assert seccomp.host_arch() in {"amd64", "arm64", "386", "arm", "ppc64le", "s390x", "riscv64"}
