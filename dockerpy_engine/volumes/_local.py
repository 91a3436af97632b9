"""mount(2) for the local driver's `type`/`o`/`device` options, as moby/sys/mount does it:
the mount flags named in `o` become flags, the rest is the filesystem's data string.
Blocking: call from a worker thread."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

from .. import errdefs
from ..fsutil import libc

# option → (flag, set?) as moby/sys/mount's flag table; the last mention of a flag wins.
_FLAGS: dict[str, tuple[int, bool]] = {
    "defaults": (0, False),
    "ro": (0x1, True),
    "rw": (0x1, False),
    "suid": (0x2, False),
    "nosuid": (0x2, True),
    "dev": (0x4, False),
    "nodev": (0x4, True),
    "exec": (0x8, False),
    "noexec": (0x8, True),
    "sync": (0x10, True),
    "async": (0x10, False),
    "remount": (0x20, True),
    "mand": (0x40, True),
    "nomand": (0x40, False),
    "dirsync": (0x80, True),
    "atime": (0x400, False),
    "noatime": (0x400, True),
    "diratime": (0x800, False),
    "nodiratime": (0x800, True),
    "bind": (0x1000, True),
    "rbind": (0x1000 | 0x4000, True),
    "relatime": (0x200000, True),
    "norelatime": (0x200000, False),
    "strictatime": (0x1000000, True),
    "nostrictatime": (0x1000000, False),
}


def parse_options(options: str) -> tuple[int, str]:
    """`o` → (mount flags, data)."""
    flags = 0
    data: list[str] = []
    for option in filter(None, options.split(",")):
        if option in _FLAGS:
            flag, on = _FLAGS[option]
            flags = flags | flag if on else flags & ~flag
        else:
            data.append(option)
    return flags, ",".join(data)


def mount(device: str, target: Path, fstype: str, options: str) -> None:
    """dockerd's `failed to mount local volume: mount <dev>:<target>, flags: …: <errno>`."""
    flags, data = parse_options(options)
    if fstype == "bind" or flags & 0x1000:
        fstype = ""
    result = libc().mount(
        device.encode(), os.fsencode(target), fstype.encode() or None, flags, data.encode() or None
    )
    if result != 0:
        code = ctypes.get_errno()
        shown = ",".join(
            o for o in options.split(",") if not o.startswith("password=")
        )  # never echo a CIFS password
        raise errdefs.System(
            f"failed to mount local volume: mount {device}:{target}, flags: {hex(flags)}, "
            f"data: {shown}: {os.strerror(code).lower()}"
        )


def is_mounted(path: Path) -> bool:
    """Whether `path` is a mount point (its mountinfo line), for a restart that finds it so."""
    wanted = str(path)
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4 and _unescape(fields[4]) == wanted:
            return True
    return False


def _unescape(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 3 < len(text) + 0 and text[i + 1 : i + 4].isdigit():
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
