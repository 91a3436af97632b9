"""Shims a killed daemon left behind: shim processes of our containerd and namespace for
which containerd lists no task.

A daemon killed inside Tasks.Create leaves the shim stuck opening the task's output FIFOs
(their reader was the daemon: trap 1) with its task service locked. containerd's create has
lost its caller; its cleanup calls the stuck shim, times out (5 s, then the shutdown's) and
gives up without stopping it, and as the task was never registered nothing lists it. Once
the FIFOs are freed (io.free_stale_fifos) the shim finishes `runc create` and lives on, with
a created container, a bundle holding the rootfs mount, and the ID taken: the next
Tasks.Create of it fails with "mkdir <bundle>: file exists".

Reaping kills the shim. If containerd's cleanup has not given up yet, that lets it go on at
once (its calls fail instead of hanging) and it deletes the bundle itself; it must be let
finish, as it deletes the bundle by its path, which a new create of the same ID would be
using. So the bundle is waited for until containerd's time for it is over, and only if it is
still there then is it cleaned as containerd cleans after a dead shim (cleanupAfterDeadShim):
the shim binary's own `delete` in the bundle (runc delete --force, rootfs unmounted), then
the bundle and its work directory removed. Blocking: call from a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import errdefs
from ..fsutil import unmount

log = logging.getLogger(__name__)

SHIM_PREFIX = "containerd-shim-"
EXIT_WAIT = 5.0
# containerd's cleanup of a create that failed: the shim's Delete (5 s), its shutdown (3 s) or
# Shutdown (5 s), counted from the shim's start (the create's); and a margin
CLEANUP_WINDOW = 12.0


@dataclass(frozen=True, slots=True)
class Shim:
    """A shim process: its pid, binary, task ID and bundle (its working directory)."""

    pid: int
    binary: str
    id: str
    bundle: Path | None
    started: float  # seconds after boot


def find(address: str, namespace: str) -> list[Shim]:
    """The shim processes serving `namespace` of the containerd at `address`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = os.readlink(Path(entry.path, "cwd"))
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile, or a kernel thread
        if not os.path.basename(argv[0]).startswith(SHIM_PREFIX):
            continue
        flags = dict(zip(argv[1::2], argv[2::2], strict=False))
        if flags.get("-address") != address or flags.get("-namespace") != namespace:
            continue
        bundle = None if cwd.endswith(" (deleted)") else Path(cwd)
        started = int(stat.rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        found.append(Shim(int(entry.name), argv[0], flags.get("-id", ""), bundle, started))
    return found


def reap_orphans(address: str, namespace: str, tasks: Iterable[str]) -> list[str]:
    """Reap every shim of ours whose ID has no task; returns their IDs."""
    known = set(tasks)
    orphans = [s for s in find(address, namespace) if s.id and s.id not in known]
    for shim in orphans:
        log.warning("reaping shim %d of %s, left by a daemon killed mid-create", shim.pid, shim.id)
        try:
            reap(shim, address, namespace)
        except (OSError, subprocess.SubprocessError, errdefs.EngineError) as exc:
            log.error("shim %d of %s not reaped: %s", shim.pid, shim.id, exc)
    return [s.id for s in orphans]


def reap(shim: Shim, address: str, namespace: str) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(shim.pid, signal.SIGKILL)
    _wait_dead(shim.pid)
    _await_containerd(shim)
    bundle = shim.bundle
    if bundle is None or not bundle.is_dir():
        return  # containerd's own cleanup got to it
    argv = [shim.binary, "-namespace", namespace, "-address", address,
            "-id", shim.id, "-bundle", str(bundle), "delete"]  # fmt: skip
    result = subprocess.run(argv, cwd=bundle, capture_output=True, timeout=60, check=False)
    if result.returncode != 0:
        log.warning("shim delete of %s: %s", shim.id, result.stderr.decode(errors="replace"))
    rootfs = bundle / "rootfs"
    while os.path.ismount(rootfs):  # never remove through a mount: the container's files
        unmount(rootfs)
    work = None
    with contextlib.suppress(OSError):
        work = Path(os.readlink(bundle / "work"))
    for path in (bundle, work):
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def _await_containerd(shim: Shim) -> None:
    """Until containerd's cleanup removed the shim's bundle or its time for that is over."""
    try:
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + max(0.0, CLEANUP_WINDOW - (uptime - shim.started))
    while shim.bundle is not None and shim.bundle.is_dir() and time.monotonic() < deadline:
        time.sleep(0.05)


def _wait_dead(pid: int) -> None:
    """Until the process is gone or a zombie (its parent may never reap it)."""
    deadline = time.monotonic() + EXIT_WAIT
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        if "\nState:\tZ" in status:
            return
        time.sleep(0.01)
