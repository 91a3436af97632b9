"""A container's merged root filesystem as the host sees it, for cp, export and commit.

A running (or paused) container's rootfs is the overlay containerd mounted for its task; that
mount lives in the host's mount namespace (under containerd's state directory), so it is found in
/proc/self/mountinfo by its `upperdir=`. It holds the rootfs only: none of the container's own
mounts (/proc, /dev, /etc/hosts...), which is the view dockerd's archive and export code works on.

A stopped container has no mount, so one is made for the duration of the operation at
`<data-root>/containers/<id>/merged`:

- read-only (`docker cp` from, HEAD, export): an overlay whose lower layers are the container's
  upper dir on top of the image's layers. It takes no lock on the upper dir, so a concurrent
  `docker start` mounts its own overlay undisturbed;
- read-write (`docker cp` into): lower = image layers, upper and work = the container's. The
  caller holds the container's state lock meanwhile, so the task cannot mount the same upper.

Concurrent operations share one mount (reference counted); a read-write request waits for the
read-only users to finish, while a read-only request shares a read-write mount. The mount goes
away with its last user, also on errors; `cleanup_stale` unmounts what a killed daemon left.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import re
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import errdefs
from ..fsutil import libc, unmount

log = logging.getLogger(__name__)

MS_RDONLY = 0x1
_OCTAL = re.compile(r"\\([0-7]{3})")
MAX_MOUNT_DATA = 4095  # mount(2) copies one page of options, NUL included


def overlay_mount_options(
    lower: Sequence[Path | str], upper: Path | str | None = None, work: Path | str | None = None
) -> list[str]:
    """The overlay mount options one by one, as containerd takes them: `lowerdir=a:b` (top-most
    first), then `upperdir=u` and `workdir=w` unless the overlay is read-only."""
    if not lower:
        raise errdefs.System("an overlay needs at least one lower directory")
    for path in (*lower, *(p for p in (upper, work) if p is not None)):
        if any(c in str(path) for c in ":,\n"):
            raise errdefs.System(f"cannot use {path} in an overlay mount: it has a ':' or ','")
    options = ["lowerdir=" + ":".join(str(p) for p in lower)]
    if upper is not None and work is not None:
        options += [f"upperdir={upper}", f"workdir={work}"]
    return options


def overlay_options(
    lower: Sequence[Path | str], upper: Path | str | None = None, work: Path | str | None = None
) -> str:
    """The overlay mount data: `lowerdir=a:b[,upperdir=u,workdir=w]` (read-only without upper)."""
    return ",".join(overlay_mount_options(lower, upper, work))


def relative_overlay_options(
    lower: Sequence[Path], upper: Path | None = None, work: Path | None = None
) -> tuple[Path, str]:
    """For a chain too long for one page: a directory to mount from and the overlay data with
    every path relative to it, as overlay2's mountFrom and containerd's compactLowerdirOption
    do. The directory most lower dirs are in (the layers' short links, `layer-links/`), or
    their common one if that gives shorter data."""
    writable = upper is not None and work is not None
    paths = [*lower, *((upper, work) if writable else ())]

    def relative(base: Path) -> tuple[Path, str]:
        rel = [os.path.relpath(p, base) for p in paths]
        top = len(lower)
        return base, overlay_options(rel[:top], *((rel[top], rel[top + 1]) if writable else ()))

    usual = Counter(Path(p).parent for p in lower).most_common(1)[0][0]
    common = Path(os.path.commonpath([str(p) for p in lower]))
    return min(relative(usual), relative(common), key=lambda found: len(found[1]))


def mount_overlay(
    target: Path, lower: Sequence[Path], upper: Path | None = None, work: Path | None = None
) -> None:
    """Mount an overlay at `target` (blocking: call from a worker thread).

    A long chain's absolute paths do not fit in mount(2)'s page: pass its lower dirs as the
    layers' short links (ImageStore.layer_link) and it is mounted with paths relative to their
    directory, by a `mount` child working there (our own cwd is the whole daemon's)."""
    readonly = upper is None
    data = overlay_options(lower, upper, work)
    if len(data) <= MAX_MOUNT_DATA:
        flags = MS_RDONLY if readonly else 0
        result = libc().mount(b"overlay", os.fsencode(target), b"overlay", flags, data.encode())
        if result != 0:
            code = ctypes.get_errno()
            raise errdefs.System(f"mount overlay on {target}: {os.strerror(code)}")
        return
    base, short = relative_overlay_options(lower, upper, work)
    options = ("ro," if readonly else "") + short
    if len(options) > MAX_MOUNT_DATA:
        raise errdefs.System(
            f"mount overlay on {target}: {len(lower)} layers do not fit in the mount options"
        )
    done = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(target)],
        cwd=base,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise errdefs.System(f"mount overlay on {target}: {message}")


def _unescape(text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040...)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


@dataclass(frozen=True, slots=True)
class RootfsLayout:
    """Where a container's root filesystem is, for cp, diff, export and commit."""

    directory: Path  # containers/<id>: upper/, work/ and merged/ under overlay2
    lowers: list[Path]  # the image's layer dirs, top-most first
    tree: Path | None = None  # vfs: the container's full copy of its image

    @property
    def changes_root(self) -> Path:
        """What holds the container's writes: the overlay upper dir, or the vfs tree."""
        return self.tree if self.tree is not None else self.directory / "upper"


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of /proc/self/mountinfo, the fields we use."""

    mount_point: str
    fstype: str
    super_options: str
    dev: tuple[int, int]


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        rest = right.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        major, _, minor = fields[2].partition(":")
        entries.append(
            MountEntry(
                mount_point=_unescape(fields[4]),
                fstype=rest[0],
                super_options=_unescape(rest[2]),
                dev=(int(major), int(minor)),
            )
        )
    return entries


def find_task_rootfs(upper: Path, mountinfo: str | None = None) -> MountEntry | None:
    """The overlay mounted for a running task: the one whose upper dir is the container's."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    wanted = f"upperdir={upper}"
    for entry in parse_mountinfo(mountinfo):
        if entry.fstype == "overlay" and wanted in entry.super_options.split(","):
            return entry
    return None


def is_mount_point(path: Path, mountinfo: str | None = None) -> bool:
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    return any(e.mount_point == str(path) for e in parse_mountinfo(mountinfo))


def cleanup_stale(containers_root: Path) -> list[Path]:
    """Unmount every `<root>/<dir>/merged` a killed daemon left mounted (at start): the cp
    views of containers, and the builder's layer views under the image store's tmp."""
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return []
    prefix = str(containers_root) + "/"
    stale = [
        Path(e.mount_point)
        for e in parse_mountinfo(text)
        if e.mount_point.startswith(prefix) and e.mount_point.endswith("/merged")
    ]
    for path in sorted(stale, key=lambda p: len(str(p)), reverse=True):
        try:
            unmount(path)
            log.info("unmounted stale container view %s", path)
        except errdefs.EngineError as exc:
            log.warning("%s", exc.message)
    return stale


@dataclass(slots=True)
class _Mounted:
    writable: bool
    users: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class RootfsMounts:
    """Reference-counted overlay views of stopped containers at `<id>/merged`.

    Mounts and unmounts happen under one lock (they take milliseconds), so a view being
    released is never mounted again on top of itself; both run to their end even when the
    request that wanted them is cancelled (a client hanging up), and a view acquired for a
    request that is gone is given back at once.

    `shorten` maps a layer directory to the short path to mount it by (its `l/` link), so that
    long chains fit in the mount options."""

    def __init__(self, shorten: Callable[[Path], Path] | None = None) -> None:
        self._shorten = shorten
        self._mounts: dict[Path, _Mounted] = {}
        self._lock = asyncio.Lock()
        self._cleanups: set[asyncio.Task[None]] = set()

    def active(self) -> list[Path]:
        return list(self._mounts)

    @contextlib.asynccontextmanager
    async def view(
        self, directory: Path, lower: Sequence[Path], writable: bool
    ) -> AsyncIterator[Path]:
        """Yield the merged dir of the container whose dir (upper, work, merged) is `directory`."""
        target = directory / "merged"
        acquiring = asyncio.ensure_future(self._acquire(target, directory, lower, writable))
        try:
            await asyncio.shield(acquiring)
        except asyncio.CancelledError:
            acquiring.add_done_callback(lambda task: self._give_back(task, target))
            raise
        try:
            yield target
        finally:
            await asyncio.shield(self._release(target))

    def _give_back(self, task: asyncio.Task[None], target: Path) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        cleanup = asyncio.ensure_future(self._release(target))
        self._cleanups.add(cleanup)
        cleanup.add_done_callback(self._cleanups.discard)

    async def _acquire(
        self, target: Path, directory: Path, lower: Sequence[Path], writable: bool
    ) -> None:
        while True:
            async with self._lock:
                current = self._mounts.get(target)
                if current is not None and (current.writable or not writable):
                    current.users += 1
                    return
                if current is None:
                    await asyncio.to_thread(self._mount, target, directory, lower, writable)
                    self._mounts[target] = _Mounted(writable=writable, users=1)
                    return
            # read-only users hold it: wait for them, then mount read-write
            async with current.changed:
                await current.changed.wait_for(lambda c=current: c.users == 0)

    async def _release(self, target: Path) -> None:
        async with self._lock:
            current = self._mounts[target]
            current.users -= 1
            if current.users > 0:
                return
            del self._mounts[target]
            try:
                await asyncio.to_thread(_unmount_and_tidy, target)
            finally:
                async with current.changed:
                    current.changed.notify_all()

    def _mount(self, target: Path, directory: Path, lower: Sequence[Path], writable: bool) -> None:
        if not directory.is_dir():
            raise errdefs.NotFound(f"the rootfs of container {directory.name} is gone")
        target.mkdir(mode=0o700, exist_ok=True)
        upper, work = directory / "upper", directory / "work"
        lower = [self._shorten(p) for p in lower] if self._shorten else list(lower)
        if len(lower) < (1 if writable else 2):  # an image without layers: overlay needs some
            empty = directory / "empty"
            empty.mkdir(mode=0o755, exist_ok=True)
            lower.append(empty)
        if writable:
            mount_overlay(target, lower, upper, work)
        else:
            mount_overlay(target, [upper, *lower])


def _unmount_and_tidy(target: Path) -> None:
    unmount(target)
    with contextlib.suppress(OSError):
        target.rmdir()
    parent = target.parent
    if not (parent / "upper").exists():  # the container was removed while we read it
        for leftover in (parent / "empty", parent):
            with contextlib.suppress(OSError):
                leftover.rmdir()
