"""`--tmpfs` mounts: dockerd's default options, and moby's merging of the user's over them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ._fields import invalid

# dockerd's (oci/defaults.go) propagation for binds it makes itself, and tmpfs defaults.
DEFAULT_PROPAGATION = "rprivate"
_TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev", DEFAULT_PROPAGATION)

# moby/sys/mount's flags: option → (flag key). Options sharing a key override each other.
_MOUNT_FLAGS = {
    "ro": "rdonly",
    "rw": "rdonly",
    "suid": "nosuid",
    "nosuid": "nosuid",
    "dev": "nodev",
    "nodev": "nodev",
    "exec": "noexec",
    "noexec": "noexec",
    "sync": "sync",
    "async": "sync",
    "dirsync": "dirsync",
    "remount": "remount",
    "mand": "mand",
    "nomand": "mand",
    "atime": "noatime",
    "noatime": "noatime",
    "diratime": "nodiratime",
    "nodiratime": "nodiratime",
    "relatime": "relatime",
    "norelatime": "relatime",
    "strictatime": "strictatime",
    "nostrictatime": "strictatime",
}
_PROPAGATION = frozenset(
    "bind rbind unbindable runbindable private rprivate shared rshared slave rslave".split()
)
_TMPFS_DATA = frozenset({"", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})


def merge_tmpfs_options(options: Sequence[str]) -> list[str]:
    """moby's MergeTmpfsOptions: the last of clashing options wins, the order is kept."""
    seen_flags: set[str] = set()
    seen_data: set[str] = set()
    merged: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        if option in _PROPAGATION or option in _MOUNT_FLAGS:
            key = "propagation" if option in _PROPAGATION else _MOUNT_FLAGS[option]
            if key not in seen_flags:
                merged.insert(0, option)
                seen_flags.add(key)
            continue
        parts = option.split("=", 1)
        if len(parts) != 2 or parts[0] not in _TMPFS_DATA:
            quoted = " ".join(json.dumps(p) for p in parts)
            invalid(f"invalid tmpfs option [{quoted}]")
        if parts[0] not in seen_data:
            merged.insert(0, option)
            seen_data.add(parts[0])
    return merged


def tmpfs_mount(destination: str, data: str) -> dict[str, Any]:
    """`--tmpfs DEST[:OPTIONS]`: dockerd's noexec,nosuid,nodev (and rprivate) unless the
    options say otherwise."""
    options = list(_TMPFS_DEFAULTS) + (data.split(",") if data else [])
    return {
        "destination": destination,
        "type": "tmpfs",
        "source": "tmpfs",
        "options": merge_tmpfs_options(options),
    }
