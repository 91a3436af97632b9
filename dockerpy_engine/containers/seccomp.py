"""Seccomp for containers: dockerd's own default profile, resolved per container into OCI form.

We keep no syscall list of our own. The default profile is the `default.json` that dockerd's
source ships, installed by Debian's golang-github-docker-docker-dev package, read once and cached.
A profile in that format is a template: each syscall rule may say which capabilities, CPU
architectures or kernel versions it applies to (`includes` / `excludes`). dockerd resolves it per
container (`profiles/seccomp/seccomp_linux.go`, `setupSeccomp`), and so do we:

- `architectures` = the native arch and its sub-architectures from `archMap` (so 32-bit x86 and
  x32 syscalls are filtered too on amd64), or the profile's own `architectures` list;
- a rule is kept only if every capability in `includes.caps` is in the container's bounding set,
  none in `excludes.caps` is, the arch passes `includes.arches` / `excludes.arches`, and the
  kernel passes `includes.minKernel` / `excludes.minKernel`;
- the kept rules keep `names`, `action`, `errnoRet` and `args`; comments and filters go.

A user profile (`--security-opt seccomp=<json>`: the docker CLI sends the file's content) goes
through the same resolution, which also accepts a profile already in OCI form: it simply has no
filters. `unconfined` (and any privileged container) gets no seccomp at all, as dockerd.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import errdefs

DEFAULT_PROFILE_PATH = Path(
    "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json"
)
UNCONFINED = "unconfined"

# uname(2) machine → GOARCH: the vocabulary of image platforms and of dockerd's own tables.
_MACHINE_TO_GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "i386": "386",
    "i486": "386",
    "i586": "386",
    "i686": "386",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv6l": "arm",
    "armv7l": "arm",
    "armv8l": "arm",
    "ppc64le": "ppc64le",
    "ppc64": "ppc64",
    "ppc": "ppc",
    "s390x": "s390x",
    "s390": "s390",
    "mips64": "mips64",
    "mips": "mips",
    "riscv64": "riscv64",
}

# GOARCH → libseccomp's native name: the names `includes.arches` / `excludes.arches` use.
_GOARCH_TO_NATIVE = {
    "386": "x86",
    "amd64": "amd64",
    "arm": "arm",
    "arm64": "arm64",
    "mips64": "mips64",
    "mips64p32": "mips64n32",
    "mips64le": "mipsel64",
    "mips64p32le": "mips3l64n32",
    "mipsle": "mipsel",
    "ppc": "ppc",
    "ppc64": "ppc64",
    "ppc64le": "ppc64le",
    "s390": "s390",
    "s390x": "s390x",
}

# libseccomp native name → the SCMP_ARCH_* constant `archMap` is keyed by. dockerd spells the
# mipsel key "mipsle" here, which never matches its own table above; we accept both.
_NATIVE_TO_SCMP = {
    "x86": "SCMP_ARCH_X86",
    "amd64": "SCMP_ARCH_X86_64",
    "arm": "SCMP_ARCH_ARM",
    "arm64": "SCMP_ARCH_AARCH64",
    "mips64": "SCMP_ARCH_MIPS64",
    "mips64n32": "SCMP_ARCH_MIPS64N32",
    "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mips3l64n32": "SCMP_ARCH_MIPSEL64N32",
    "mipsel": "SCMP_ARCH_MIPSEL",
    "mipsle": "SCMP_ARCH_MIPSEL",
    "ppc": "SCMP_ARCH_PPC",
    "ppc64": "SCMP_ARCH_PPC64",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390": "SCMP_ARCH_S390",
    "s390x": "SCMP_ARCH_S390X",
}

_KERNEL_RE = re.compile(r"(\d+)\.(\d+)")

# Fields of an OCI linux.seccomp object that pass through unchanged when a profile sets them.
_PASSTHROUGH = ("defaultErrnoRet", "flags", "listenerPath", "listenerMetadata")
# OCI's field order, kept so a spec reads top-down: defaultAction first, syscalls last.
_OUTPUT_ORDER = (
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
)


class SeccompProfileError(errdefs.InvalidParameter):
    """A seccomp profile the user gave cannot be decoded or is contradictory."""


def host_arch() -> str:
    """The daemon's architecture as GOARCH ("amd64"), which is what a container runs on."""
    machine = os.uname().machine
    return _MACHINE_TO_GOARCH.get(machine, machine)


def parse_kernel_release(release: str) -> tuple[int, int]:
    """'6.1.0-18-amd64' → (6, 1). Only version and major revision count, as dockerd compares."""
    match = _KERNEL_RE.match(release)
    if match is None:
        raise errdefs.System(f"failed to parse kernel version {release!r}")
    return int(match[1]), int(match[2])


@lru_cache(maxsize=1)
def host_kernel() -> tuple[int, int]:
    """The running kernel's (version, major revision); it cannot change under a running daemon."""
    return parse_kernel_release(os.uname().release)


@lru_cache(maxsize=4)
def load_default_profile(path: Path = DEFAULT_PROFILE_PATH) -> Mapping[str, Any]:
    """dockerd's default profile, read and parsed once per daemon (it is ~900 lines of JSON).

    The result is shared between callers: treat it as read-only. `resolve_profile` never
    changes it and builds fresh lists for every spec.
    """
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise errdefs.System(
            f"seccomp: cannot read dockerd's default profile {path} "
            f"(package golang-github-docker-docker-dev): {exc.strerror}"
        ) from None
    return _decode(text)


def parse_profile(text: str | bytes) -> dict[str, Any]:
    """Decode a user's profile (docker format or OCI form), with dockerd's error prefix."""
    return _decode(text)


def resolve_profile(
    profile: Mapping[str, Any],
    capabilities: Iterable[str],
    arch: str | None = None,
    kernel: tuple[int, int] | None = None,
) -> dict[str, Any] | None:
    """The OCI `linux.seccomp` object for one container, or None when the profile disables
    seccomp (no default action and no rules, as dockerd reads it).

    `capabilities` is the container's bounding set ("CAP_SYS_ADMIN" form), `arch` a GOARCH
    (default: the host's), `kernel` (version, major) (default: the running kernel).
    """
    default_action = profile.get("defaultAction") or ""
    rules = profile.get("syscalls") or []
    if not default_action and not rules:
        return None
    if profile.get("architectures") and profile.get("archMap"):
        raise SeccompProfileError(
            "'architectures' and 'archMap' were specified in the seccomp profile, "
            "use either 'architectures' or 'archMap'"
        )
    native = _GOARCH_TO_NATIVE.get(arch or host_arch(), "")
    caps = frozenset(capabilities)
    kernel_version = kernel or host_kernel()

    resolved: dict[str, Any] = {"defaultAction": default_action}
    for key in _PASSTHROUGH:
        if profile.get(key) is not None:
            resolved[key] = copy.deepcopy(profile[key])
    architectures = _architectures(profile, native)
    if architectures:
        resolved["architectures"] = architectures
    syscalls = [
        _oci_syscall(rule)
        for rule in rules
        if _applies(rule, caps=caps, native=native, kernel=kernel_version)
    ]
    if syscalls:
        resolved["syscalls"] = syscalls
    return {k: resolved[k] for k in _OUTPUT_ORDER if k in resolved}


def seccomp_for(
    option: str,
    capabilities: Iterable[str],
    *,
    privileged: bool = False,
    arch: str | None = None,
    kernel: tuple[int, int] | None = None,
    default_path: Path = DEFAULT_PROFILE_PATH,
) -> dict[str, Any] | None:
    """What dockerd's WithSeccomp puts in a spec for `--security-opt seccomp=<option>`.

    "" → the default profile; "unconfined" → none; anything else is a profile's JSON text.
    A privileged container gets none whatever the option says, as dockerd.
    """
    if option == UNCONFINED or privileged:
        return None
    profile = parse_profile(option) if option else load_default_profile(default_path)
    return resolve_profile(profile, capabilities, arch=arch, kernel=kernel)


# ------------------------------------------------------------------------------------ helpers


def _decode(text: str | bytes) -> dict[str, Any]:
    """JSON → profile dict, checked just enough that resolution cannot trip over its shape."""
    try:
        profile = json.loads(text)
        _check_shape(profile)
    except (ValueError, TypeError) as exc:
        raise SeccompProfileError(f"Decoding seccomp profile failed: {exc}") from None
    return profile


def _check_shape(profile: Any) -> None:
    if not isinstance(profile, dict):
        raise TypeError("profile must be a JSON object")
    for key in ("architectures", "archMap", "syscalls", "flags"):
        _expect(profile, key, list)
    for rule in profile.get("syscalls") or []:
        if not isinstance(rule, dict):
            raise TypeError("each entry of 'syscalls' must be an object")
        _expect(rule, "names", list)
        _expect(rule, "args", list)
        for key in ("includes", "excludes"):
            _expect(rule, key, dict)
            flt = rule.get(key) or {}
            for list_key in ("caps", "arches"):
                _expect(flt, list_key, list)
            if flt.get("minKernel"):
                _min_kernel(flt["minKernel"])
    for entry in profile.get("archMap") or []:
        if not isinstance(entry, dict):
            raise TypeError("each entry of 'archMap' must be an object")


def _expect(obj: Mapping[str, Any], key: str, kind: type) -> None:
    """null is fine (Go leaves the field empty); any other type is not."""
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        noun = "a list" if kind is list else "an object"
        raise TypeError(f"{key!r} must be {noun}")


def _min_kernel(value: Any) -> tuple[int, int]:
    """A filter's "<kernel>.<major>" (dockerd refuses anything else, and 0.0)."""
    match = _KERNEL_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None or (int(match[1]), int(match[2])) == (0, 0):
        raise ValueError(
            f'invalid kernel version: {json.dumps(value)}, expected "<kernel>.<major>"'
        )
    return int(match[1]), int(match[2])


def _architectures(profile: Mapping[str, Any], native: str) -> list[str]:
    """The profile's own list, or the native arch + its sub-arches from archMap."""
    if profile.get("architectures"):
        return list(profile["architectures"])
    scmp = _NATIVE_TO_SCMP.get(native)
    for entry in profile.get("archMap") or []:
        if scmp is not None and entry.get("architecture") == scmp:
            return [scmp, *(entry.get("subArchitectures") or [])]
    return []


def _applies(
    rule: Mapping[str, Any], *, caps: frozenset[str], native: str, kernel: tuple[int, int]
) -> bool:
    """dockerd's filter, in its order: every exclusion, then every inclusion."""
    excludes = rule.get("excludes") or {}
    includes = rule.get("includes") or {}
    if native in (excludes.get("arches") or []):
        return False
    if any(c in caps for c in excludes.get("caps") or []):
        return False
    if excludes.get("minKernel") and kernel >= _min_kernel(excludes["minKernel"]):
        return False
    if includes.get("arches") and native not in includes["arches"]:
        return False
    if not all(c in caps for c in includes.get("caps") or []):
        return False
    return not (includes.get("minKernel") and kernel < _min_kernel(includes["minKernel"]))


def _oci_syscall(rule: Mapping[str, Any]) -> dict[str, Any]:
    """One rule in OCI form: a one-name `name` (old docker format) becomes `names`."""
    name = rule.get("name") or ""
    names = rule.get("names") or []
    if name and names:
        raise SeccompProfileError(
            "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'"
        )
    syscall: dict[str, Any] = {
        "names": [name] if name else list(names),
        "action": rule.get("action"),
    }
    if rule.get("errnoRet") is not None:
        syscall["errnoRet"] = rule["errnoRet"]
    if rule.get("args"):
        syscall["args"] = [dict(arg) for arg in rule["args"]]
    return syscall
