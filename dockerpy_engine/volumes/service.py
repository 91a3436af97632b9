"""VolumeService: the local volume driver (create, inspect, ls, rm, prune) and the volume side
of a container's life: volumes created at container create, mounted (and copied up) at start,
released at exit, anonymous ones removed with the container when asked.

Volumes live in `<data-root>/volumes/<name>/_data`; their records (labels, options, creation
time) in store/volumes.py. Which containers use a volume is asked of the container service
(`set_users`), so a volume is "in use" exactly while a container record refers to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import errdefs
from ..events import EventBus
from ..fsutil import dir_size, unmount
from ..store import Database
from ..store.volumes import VolumeRows
from . import _local
from ._copyup import copy_up
from .mounts import MountPoint, oci_mount, plan
from .types import (
    ANONYMOUS_LABEL,
    DEFAULT_DRIVER,
    Volume,
    VolumeCreateOptions,
    VolumePruneReport,
)

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_VALID_OPTS = ("type", "o", "device", "size")
_MANDATORY = {"device": ("type",), "type": ("device",), "o": ("device", "type")}
_LIST_FILTERS = frozenset({"dangling", "name", "driver", "label"})
_PRUNE_FILTERS = frozenset({"label", "label!", "all"})
_TRUE = frozenset({"1", "true", "True", "TRUE", "t", "T"})
_FALSE = frozenset({"0", "false", "False", "FALSE", "f", "F"})


class NoSuchVolume(errdefs.NotFound):
    """dockerd's volume store lookup error (404)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"get {name}: no such volume")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VolumeService:
    """Owns the volumes and their mounts; the only way into the volume domain."""

    def __init__(
        self, db: Database, data_root: Path, events: EventBus, owner: tuple[int, int] = (0, 0)
    ) -> None:
        self._rows = VolumeRows(db)
        self._root = data_root / "volumes"
        # who owns what the daemon makes for containers: new volumes' data and missing bind
        # sources (the remapped root under --userns-remap, as dockerd's rootIdentity)
        self._owner = owner
        self._events = events
        self._volumes: dict[str, Volume] = {}
        self._active: dict[str, set[str]] = {}  # volume → the containers that mounted it
        self._users: Callable[[str], list[str]] = lambda name: []
        self._recursive_ro: bool | None = None
        self._load()

    def set_users(self, users: Callable[[str], list[str]]) -> None:
        """How to find the IDs of the containers that refer to a volume (in-use checks)."""
        self._users = users

    # ------------------------------------------------------------------ load

    def _load(self) -> None:
        """Records first; a directory without a record (a crash between mkdir and commit) is
        adopted, as the local driver lists what it finds on disk; half-removed ones go."""
        self._root.mkdir(parents=True, exist_ok=True, mode=0o701)
        for record in self._rows.load_all():
            v = Volume.from_record(record)
            self._volumes[v.name] = v
            Path(v.mountpoint).mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(self._root):
            if entry.name.startswith(".removing-"):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif (
                entry.is_dir()
                and entry.name not in self._volumes
                and os.path.isdir(os.path.join(entry.path, "_data"))
            ):
                v = Volume(
                    name=entry.name,
                    mountpoint=os.path.join(entry.path, "_data"),
                    created_at=_now(),
                )
                self._rows.save(v.to_record())
                self._volumes[v.name] = v

    # ---------------------------------------------------------------- create

    async def create(self, opts: VolumeCreateOptions) -> dict[str, Any]:
        return (await self._create(opts)).to_api()

    async def _create(self, opts: VolumeCreateOptions) -> Volume:
        driver = opts.driver or DEFAULT_DRIVER
        if driver != DEFAULT_DRIVER:
            raise errdefs.NotFound(
                f'error looking up volume plugin {driver}: plugin "{driver}" not found'
            )
        name = opts.name or secrets.token_hex(32)
        existing = self._volumes.get(name)
        if existing is not None:
            return existing
        directory = self._root / name
        try:  # the driver's errors, as dockerd's volume store wraps them (OpErr)
            _validate_name(name)
            _validate_opts(opts.driver_opts)
            await asyncio.to_thread(_make_dirs, directory, self._owner)
        except errdefs.InvalidParameter as exc:
            raise errdefs.InvalidParameter(f"create {name}: {exc.message}") from None
        except OSError as exc:
            message = (
                f"create {name}: error while creating volume root path '{directory}': "
                f"mkdir {exc.filename}: {os.strerror(exc.errno or 0).lower()}"
            )
            if exc.errno == errno.ENAMETOOLONG:
                raise errdefs.InvalidParameter(message) from None
            raise errdefs.System(message) from None
        v = Volume(
            name=name,
            mountpoint=str(directory / "_data"),
            created_at=_now(),
            labels=dict(opts.labels) if opts.labels is not None else None,
            options=dict(opts.driver_opts) if opts.driver_opts else None,
        )
        self._rows.save(v.to_record())
        self._volumes[name] = v
        self._events.publish("volume", "create", name, {"driver": v.driver})
        return v

    # ------------------------------------------------------------ inspect, ls

    def get(self, name: str) -> Volume:
        v = self._volumes.get(name)
        if v is None:
            raise NoSuchVolume(name)
        return v

    def inspect(self, name: str) -> dict[str, Any]:
        return self.get(name).to_api()

    def list(self, filters: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        """GET /volumes: dangling, name (a regular expression), label, driver."""
        for key in filters:
            if key not in _LIST_FILTERS:
                raise errdefs.InvalidParameter(f"invalid filter '{key}'")
        dangling = _bool_filter(filters, "dangling")
        rows = []
        for v in sorted(self._volumes.values(), key=lambda v: v.name):
            if dangling is not None and bool(self._users(v.name)) == dangling:
                continue
            names = filters.get("name") or []
            if names and not any(_search(pattern, v.name) for pattern in names):
                continue
            drivers = filters.get("driver") or []
            if drivers and v.driver not in drivers:
                continue
            if not all(_label_matches(v.labels, e) for e in filters.get("label") or []):
                continue
            rows.append(v.to_api())
        return rows

    async def disk_usage(self) -> list[dict[str, Any]]:
        """Every volume with UsageData (Size of its data, RefCount of its containers)."""
        volumes = list(self._volumes.values())
        sizes = await asyncio.to_thread(lambda: [dir_size(Path(v.mountpoint)) for v in volumes])
        return [
            v.to_api({"Size": size, "RefCount": len(self._users(v.name))})
            for v, size in zip(volumes, sizes, strict=True)
        ]

    # ----------------------------------------------------------------- remove

    async def remove(self, name: str, force: bool = False) -> None:
        v = self._volumes.get(name)
        if v is None:
            if force:
                return
            raise NoSuchVolume(name)
        users = self._users(name)
        if users:
            raise errdefs.Conflict(f"remove {name}: volume is in use - [{' '.join(users)}]")
        await self._destroy(v)

    async def _destroy(self, v: Volume) -> None:
        directory = self._root / v.name
        trash = self._root / f".removing-{v.name}-{secrets.token_hex(4)}"
        if v.needs_mount:
            await asyncio.to_thread(unmount, Path(v.mountpoint))
        await asyncio.to_thread(_rename_if_exists, directory, trash)
        self._rows.delete(v.name)
        self._volumes.pop(v.name, None)
        self._active.pop(v.name, None)
        await asyncio.to_thread(shutil.rmtree, trash, True)
        self._events.publish("volume", "destroy", v.name, {"driver": v.driver})

    async def prune(self, filters: Mapping[str, list[str]]) -> VolumePruneReport:
        """Unused volumes matching `label`/`label!`; anonymous ones only, unless `all` is
        true (the router sets it for API < 1.42, where prune took named volumes too)."""
        for key in filters:
            if key not in _PRUNE_FILTERS:
                raise errdefs.InvalidParameter(f"invalid filter '{key}'")
        everything = bool(_bool_filter(filters, "all"))
        deleted: list[str] = []
        reclaimed = 0
        for v in list(self._volumes.values()):
            if self._users(v.name):
                continue
            if not everything and not v.anonymous:
                continue
            if not all(_label_matches(v.labels, e) for e in filters.get("label") or []):
                continue
            if any(_label_matches(v.labels, e) for e in filters.get("label!") or []):
                continue
            size = 0 if v.needs_mount else await asyncio.to_thread(dir_size, Path(v.mountpoint))
            try:
                await self._destroy(v)
            except (OSError, errdefs.EngineError) as exc:
                log.warning("prune: volume %s stays: %s", v.name, exc)
                continue
            deleted.append(v.name)
            reclaimed += size
        self._events.publish("volume", "prune", "", {"reclaimed": str(reclaimed)})
        return VolumePruneReport(deleted=deleted, reclaimed=reclaimed)

    # ------------------------------------------------------------ containers

    async def attach_container(
        self,
        config: Mapping[str, Any],
        host_config: Mapping[str, Any],
        donor_mounts: Callable[[str], list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """At container create: parse its mounts and create the volumes they name (anonymous
        ones with their label); returns the mount point records the container keeps."""
        points = plan(config, host_config, donor_mounts)
        created: list[Volume] = []
        try:
            for p in points:
                if p.type != "volume":
                    continue
                if p.name and p.source:  # --volumes-from: the donor's volume
                    self.get(p.name)
                    continue
                if not p.name or p.name not in self._volumes:
                    labels = dict(p.labels) if p.labels else None
                    if not p.name:
                        labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
                    v = await self._create(
                        VolumeCreateOptions(
                            name=p.name,
                            driver=p.driver or DEFAULT_DRIVER,
                            driver_opts=dict(p.driver_opts or {}),
                            labels=labels,
                        )
                    )
                    if not p.name:
                        created.append(v)
                else:
                    v = self._volumes[p.name]
                p.name, p.driver, p.source = v.name, v.driver, v.mountpoint
        except BaseException:
            for v in created:
                with contextlib.suppress(errdefs.EngineError, OSError):
                    await self._destroy(v)
            raise
        return [p.to_record() for p in points]

    async def setup(
        self, container_id: str, records: Sequence[Mapping[str, Any]], layers: Sequence[Path]
    ) -> list[dict[str, Any]]:
        """At start: mount the volumes (mount(2) for driver options, on first use), copy the
        image's content into empty ones, create missing `-v` bind sources; the OCI mounts."""
        if self._recursive_ro is None:
            self._recursive_ro = await asyncio.to_thread(_probe_recursive_ro)
        oci: list[dict[str, Any]] = []
        try:
            for record in records:
                p = MountPoint.from_record(record)
                if p.type == "bind":
                    await asyncio.to_thread(_bind_source, p, self._owner)
                    oci.append(oci_mount(p, p.source, self._recursive_ro))
                elif p.type == "volume":
                    path = await self._mount(p.name, container_id)
                    if p.copy_data:
                        await asyncio.to_thread(copy_up, layers, p.destination, Path(path))
                    source = path
                    if p.subpath:
                        source = await asyncio.to_thread(resolve_subpath, path, p.subpath)
                    oci.append(oci_mount(p, source, self._recursive_ro))
                    self._mount_event(p, container_id)
                else:
                    oci.append(oci_mount(p, "", self._recursive_ro))
        except BaseException:
            await self.release(container_id, records)
            raise
        return oci

    async def _mount(self, name: str, container_id: str) -> str:
        v = self.get(name)
        users = self._active.setdefault(name, set())
        if v.needs_mount and not users:
            opts = v.options or {}
            target = Path(v.mountpoint)
            if not await asyncio.to_thread(_local.is_mounted, target):
                await asyncio.to_thread(
                    _local.mount,
                    opts.get("device", ""),
                    target,
                    opts.get("type", ""),
                    opts.get("o", ""),
                )
        users.add(container_id)
        return v.mountpoint

    def _mount_event(self, p: MountPoint, container_id: str) -> None:
        self._events.publish(
            "volume",
            "mount",
            p.name,
            {
                "driver": p.driver,
                "container": container_id,
                "destination": p.destination,
                "read/write": "true" if p.rw else "false",
                "propagation": p.propagation,
            },
        )

    @contextlib.asynccontextmanager
    async def view_mounts(
        self, container_id: str, records: Sequence[Mapping[str, Any]]
    ) -> AsyncIterator[list[MountPoint]]:
        """The container's volumes and bind mounts set up for a look from outside (docker cp),
        as dockerd's container view does with setupMounts: volumes mounted (and the mount and
        unmount events sent), missing `-v` bind sources made. Yields them with their host
        paths in `source`; tmpfs mounts are not part of it. The volumes are held under a key
        of the view's own, so a running container's mounts are never released by it."""
        holder = f"{container_id}/view-{secrets.token_hex(4)}"
        ready: list[MountPoint] = []
        held: list[Mapping[str, Any]] = []
        try:
            for record in records:
                p = MountPoint.from_record(record)
                if p.type == "bind":
                    await asyncio.to_thread(_bind_source, p, self._owner)
                elif p.type == "volume":
                    path = await self._mount(p.name, holder)
                    held.append(record)
                    if p.subpath:
                        path = await asyncio.to_thread(resolve_subpath, path, p.subpath)
                    self._mount_event(p, container_id)
                    p.source = path
                else:
                    continue
                ready.append(p)
            yield ready
        finally:
            await self._release(holder, container_id, held)

    async def release(self, container_id: str, records: Sequence[Mapping[str, Any]]) -> None:
        """At exit: drop the container's mounts; the last user unmounts a mount(2) volume.
        Safe to call twice: only mounts the container holds are released."""
        await self._release(container_id, container_id, records)

    async def _release(
        self, holder: str, container_id: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        for record in records:
            if record.get("type") != "volume":
                continue
            name = record.get("name") or ""
            users = self._active.get(name)
            if not users or holder not in users:
                continue
            users.discard(holder)
            v = self._volumes.get(name)
            if v is not None and v.needs_mount and not users:
                try:
                    await asyncio.to_thread(unmount, Path(v.mountpoint))
                except errdefs.EngineError as exc:
                    log.warning("volume %s: %s", name, exc.message)
            self._events.publish(
                "volume",
                "unmount",
                name,
                {"driver": record.get("driver") or DEFAULT_DRIVER, "container": container_id},
            )

    def restore(self, container_id: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Live restore: a running container still holds its volumes' mounts."""
        for record in records:
            if record.get("type") == "volume" and record.get("name") in self._volumes:
                self._active.setdefault(record["name"], set()).add(container_id)

    async def detach_container(
        self, container_id: str, records: Sequence[Mapping[str, Any]], remove_anonymous: bool
    ) -> None:
        """At container removal (after it left the container list): with `rm -v`/`--rm`, its
        anonymous volumes go unless another container still refers to them; named ones stay."""
        await self.release(container_id, records)
        if not remove_anonymous:
            return
        for record in records:
            v = self._volumes.get(record.get("name") or "")
            if record.get("type") != "volume" or v is None or not v.anonymous:
                continue
            if self._users(v.name):
                continue
            try:
                await self._destroy(v)
            except (OSError, errdefs.EngineError) as exc:
                log.warning("could not remove volume %s: %s", v.name, exc)


# ------------------------------------------------------------------------------ helpers


def _validate_name(name: str) -> None:
    if len(name.encode()) == 1:  # Go's len: bytes, so `ü` is not too short but invalid
        raise errdefs.InvalidParameter(
            "volume name is too short, names should be at least two alphanumeric characters"
        )
    if not _NAME.match(name):
        raise errdefs.InvalidParameter(
            f'"{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path"
        )


def _validate_opts(opts: Mapping[str, str]) -> None:
    """The local driver's validateOpts."""
    for key in opts:
        if key not in _VALID_OPTS:
            raise errdefs.InvalidParameter(f'invalid option: "{key}"')
    if opts.get("size") not in (None, "", "0"):
        raise errdefs.InvalidParameter("quota size requested but no quota support")
    for key, required in _MANDATORY.items():
        if key in opts:
            for other in required:
                if other not in opts:
                    raise errdefs.InvalidParameter(f'missing required option: "{other}"')


def _bool_filter(filters: Mapping[str, list[str]], key: str) -> bool | None:
    values = filters.get(key) or []
    if not values:
        return None
    result = None
    for value in values:
        if value in _TRUE:
            result = True if result is None else result or True
        elif value in _FALSE:
            result = False if result is None else result
        else:
            raise errdefs.InvalidParameter(f"invalid filter '{key}={value}'")
    return result


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return pattern in text


def _label_matches(labels: Mapping[str, str] | None, expr: str) -> bool:
    labels = labels or {}
    key, sep, value = expr.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _make_dirs(directory: Path, owner: tuple[int, int]) -> None:
    directory.mkdir(mode=0o701, exist_ok=True)
    (directory / "_data").mkdir(mode=0o755, exist_ok=True)
    if owner != (0, 0):
        os.chown(directory / "_data", *owner)


def _rename_if_exists(source: Path, target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        source.rename(target)


def _bind_source(p: MountPoint, owner: tuple[int, int]) -> None:
    """`-v /host:/ctr` creates a missing host directory (0755, the directories it makes
    given to `owner`), as dockerd; `--mount` only with CreateMountpoint, else it is refused
    (the source vanished since create)."""
    if os.path.lexists(p.source):
        return
    if not p.create_source:
        raise errdefs.InvalidParameter(
            f'invalid mount config for type "bind": bind source path does not exist: {p.source}'
        )
    made = [Path(p.source)]
    made += [d for d in made[0].parents if not d.exists()]
    try:
        os.makedirs(p.source, mode=0o755, exist_ok=True)
        if owner != (0, 0):
            for directory in made:
                os.chown(directory, *owner)
    except OSError as exc:
        raise errdefs.System(
            f"error while creating mount source path '{p.source}': {exc.strerror}"
        ) from None


def resolve_subpath(volume_path: str, subpath: str) -> str:
    """`volume-subpath`: the path inside the volume, symlinks resolved within it; anything
    that leads outside (`..`, a symlink that climbs out) is refused."""
    root = os.path.realpath(volume_path)
    target = os.path.realpath(os.path.join(root, subpath))
    if target != root and not target.startswith(root + os.sep):
        raise errdefs.InvalidParameter(
            f"cannot access path {os.path.join(volume_path, subpath)}: path escapes the volume"
        )
    if not os.path.exists(target):
        raise errdefs.InvalidParameter(
            f"cannot access path {os.path.join(volume_path, subpath)}: "
            "lstat: no such file or directory"
        )
    return target


def _probe_recursive_ro() -> bool:
    """Recursive read-only binds need runc's `rro` (runc features) and mount_setattr (5.12)."""
    try:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    if (major, minor) < (5, 12):
        return False
    try:
        done = subprocess.run(
            ["runc", "features"], capture_output=True, timeout=10, check=False, text=True
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and '"rro"' in done.stdout
