"""ContainerService: the only way into the container domain (create, start, stop, logs, attach…).

The service holds the verbs (start, stop, kill, pause, update, rename, prune, wait, remove,
list, inspect) and hands the rest to collaborators that share one `ContainerTable` (the records,
what runs, locks): `create` (a new container), `taskspec` (OCI specs), `monitor` (each run's exit,
restart policies, health, OOM), `stopping` (stop signal and timeout), `streams` (log drivers,
logs, attach), `waiters` (wait), `dirs` (the container's directories) and `liverestore` (daemon
start and shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal as signals
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errdefs
from ..asyncutil import uninterruptible
from ..events import EventBus
from ..filters import labels_match, until_filter
from ..fsutil import dir_size
from ..graphdriver import VFS
from ..images import ImageStore
from ..runtime import ContainerdRuntime, create_fifos
from ..runtime.types import Mount
from ..store import Database
from ..store.containers import ContainerRows
from ..volumes import VolumeService
from ..volumes.mounts import MountPoint
from . import _shm, hostconfig, limits, listing, names, namespace_modes, treediff, views
from .create import Creator
from .defaults import ContainerDefaults
from .dirs import ContainerDirs, lower_dirs, remove_dirs, reset_dir
from .health import HealthConfig, new_health
from .io import RunIO, Subscriber
from .liverestore import LiveRestore
from .logdrivers import LogEntry
from .logs import parse_time
from .monitor import Monitor
from .rootfs import RootfsLayout, overlay_mount_options
from .spec import linux_resources
from .stopping import Stopper, parse_signal, shutdown_timeout
from .streams import ContainerStreams
from .table import ContainerTable, Live
from .taskspec import TaskSpecs
from .types import (
    AttachOptions,
    Container,
    CreateOptions,
    ListOptions,
    LogsOptions,
    State,
    StopOptions,
    now_rfc3339,
)
from .update import updated_host_config
from .waiters import Waiters

if TYPE_CHECKING:
    from ..networks import NetworkService

log = logging.getLogger(__name__)


class ContainerService:
    """Owns container records, their directories, and their tasks in containerd."""

    def __init__(
        self,
        db: Database,
        runtime: ContainerdRuntime,
        images: ImageStore,
        data_root: Path,
        exec_root: Path,
        events: EventBus,
        live_restore: bool = True,
        log_config: dict[str, Any] | None = None,
        defaults: ContainerDefaults | None = None,
        networks: NetworkService | None = None,
        volumes: VolumeService | None = None,
    ) -> None:
        self._table = ContainerTable(ContainerRows(db), events)
        self._networks = networks  # None in unit tests: loopback-only network namespaces
        # volumes/: the daemon passes its own; without one, a service over the same database
        self._volumes = volumes or VolumeService(db, data_root, events)
        self._volumes.set_users(self._volume_users)
        defaults = defaults or ContainerDefaults()
        self._events = events
        self._runtime = runtime
        self._images = images
        self._driver = images.graph_driver  # what new containers get; start refuses others
        self._ids = images.ids  # --userns-remap: what the containers' root is on the host
        self._dirs = ContainerDirs.under(data_root, exec_root)
        self._graph_data: dict[str, dict[str, str]] = {}
        self._waiters = Waiters()
        self._specs = TaskSpecs(self._table, images, defaults, self._ids, self._dirs)
        # the daemon's log-driver and log-opts: containers without a LogConfig.Type get them
        default_log = log_config or {"Type": "json-file", "Config": {}}
        self._streams = ContainerStreams(self._table, runtime, self._dirs, default_log)
        self._stopper = Stopper(self._table, runtime)
        self._creator = Creator(
            self._table,
            images,
            networks,
            self._volumes,
            self._dirs,
            self._streams,
            defaults,
            self._ids,
            self._driver,
        )
        remove_forced = functools.partial(self.remove, force=True, volumes=True)
        self._monitor = Monitor(
            self._table,
            runtime,
            networks,
            self._volumes,
            self._dirs,
            self._specs,
            self._waiters,
            start=self._start_locked,
            remove=remove_forced,
        )
        self._restore = LiveRestore(
            self._table,
            runtime,
            images,
            networks,
            self._volumes,
            self._dirs,
            self._streams,
            self._monitor,
            self._stopper,
            self._waiters,
            live_restore=live_restore,
            start=self.start,
            remove=remove_forced,
        )

    # ----------------------------------------------------------------- lookup

    def get(self, ref: str) -> Container:
        return self._table.get(ref)

    def all(self) -> list[Container]:
        return list(self._table.by_id.values())

    def running_pid(self, container_id: str) -> int:
        """The task's pid while the container runs, else 0 (for networks/ on restore)."""
        c = self._table.by_id.get(container_id)
        return c.state.pid if c is not None and c.id in self._table.live else 0

    # For the read-only observers that live outside the service (containers/top.py, stats.py).
    @property
    def runtime(self) -> ContainerdRuntime:
        return self._runtime

    @property
    def closing(self) -> asyncio.Event:
        """Set when shutdown() begins: endless streams (stats) end on it."""
        return self._restore.closing

    def log_event(self, c: Container, action: str, **extra: str) -> None:
        """A container event with dockerd's attributes, for the observers outside the service
        (top, exec, archive...)."""
        self._table.event(c, action, **extra)

    def rootfs_layout(self, c: Container) -> RootfsLayout:
        """For containers/files.py (cp, diff, export, commit): the container's directory
        (upper/, work/, merged/ in it), its image layers (top-most first) and, under vfs, its
        tree. By the driver it was created under, which may not be the daemon's."""
        tree = self._dirs.tree(c)
        return RootfsLayout(self._dirs.of(c.id), lower_dirs(self._images, c), tree)

    async def _rw_size(self, c: Container) -> int:
        """SizeRw: the upper dir's bytes; a vfs tree's changed files (dockerd's naive diff)."""
        tree = self._dirs.tree(c)
        if tree is None:
            return await asyncio.to_thread(dir_size, self._dirs.of(c.id) / "upper")
        if not tree.is_dir():
            return 0
        return await asyncio.to_thread(treediff.changed_size, tree, lower_dirs(self._images, c))

    def view_mounts(self, c: Container) -> contextlib.AbstractAsyncContextManager[list[MountPoint]]:
        """For containers/files.py: the container's volumes and bind mounts, set up for a cp
        view of it (volume mount/unmount events included, as dockerd's)."""
        return self._volumes.view_mounts(c.id, c.mount_points)

    def state_lock(self, c: Container) -> asyncio.Lock:
        """The lock start, restart, pause and remove hold; `docker cp` into a stopped container
        holds it too, so no task mounts the rootfs being written (dockerd's container lock)."""
        return self._table.lock(c.id)

    def image_in_use(self, image_id: str) -> tuple[str, bool] | None:
        """(container ID, running) of a container using the image, running ones first."""
        users = [c for c in self._table.by_id.values() if c.image_id == image_id]
        users.sort(key=lambda c: not c.state.running)
        return (users[0].id, users[0].state.running) if users else None

    def _volume_users(self, name: str) -> list[str]:
        """IDs of the containers whose mount points name the volume ("volume is in use")."""
        return [
            c.id
            for c in self._table.by_id.values()
            if any(m.get("name") == name for m in c.mount_points)
        ]

    # ----------------------------------------------------------------- create

    @uninterruptible
    async def create(self, opts: CreateOptions) -> tuple[str, list[str]]:
        """Validate, merge with the image, persist: the container exists once its row commits."""
        return await self._creator.create(opts)

    # ------------------------------------------------------------------ start

    @uninterruptible
    async def start(self, ref: str) -> None:
        """Start; a failed start of an auto-remove container removes it, as dockerd does
        (`docker run --rm` waits for that removal before it reports the error)."""
        c = self.get(ref)
        try:
            async with self._table.lock(c.id):
                if c.state.status in ("running", "paused", "restarting"):
                    raise errdefs.NotModified("container already started")
                if c.state.status in ("removing", "dead"):
                    raise errdefs.Conflict(
                        f"cannot start container {c.id}: container is marked for removal"
                    )
                await self._start_locked(c)
        except errdefs.EngineError as exc:
            if c.auto_remove and not isinstance(exc, errdefs.NotModified):
                with contextlib.suppress(errdefs.EngineError):
                    await self.remove(c.id, force=True, volumes=True)
            raise

    async def _start_locked(self, c: Container) -> None:
        if c.driver != self._driver:
            raise errdefs.Conflict(
                f"cannot start container {c.id}: it was created with the {c.driver} storage "
                f"driver and the daemon runs {self._driver}; start the daemon with "
                f"--storage-driver={c.driver} to run it (its files stay readable: docker cp, "
                "export and commit work)"
            )
        directory = self._dirs.of(c.id)
        tree = self._dirs.tree(c)
        fifo_dir = self._dirs.fifos(c.id)
        await asyncio.to_thread(reset_dir, fifo_dir)
        paths = create_fifos(fifo_dir, stdin=bool(c.config.get("OpenStdin")), terminal=c.tty)
        log_driver = await self._streams.open_log(c)
        run_io = RunIO(paths, log_driver, self._table.subscribers.setdefault(c.id, set()))
        try:
            link_env = self._networks.link_env(c) if self._networks is not None else []
            layers = (
                [tree] if tree is not None else [directory / "upper", *lower_dirs(self._images, c)]
            )
            volume_mounts = await self._volumes.setup(c.id, c.mount_points, layers)
            spec = await asyncio.to_thread(self._specs.spec, c, volume_mounts, link_env)
        except BaseException:
            log_driver.close()
            await self._volumes.release(c.id, c.mount_points)
            raise
        if namespace_modes.needs_shm_mount(c.host_config):  # --ipc shareable: joinable /dev/shm
            shm_size = namespace_modes.shm_size(c.host_config)
            await asyncio.to_thread(_shm.mount, directory / "shm", shm_size, self._ids.root_pair())
        rootfs = await self._rootfs_mounts(c, tree)
        await run_io.open()
        try:
            pid = await self._runtime.create(c.id, spec, rootfs, paths)
            if self._networks is not None:  # veths into the task's netns before it runs
                await self._networks.attach(c, pid)
            run_io.created()
            live = Live(io=run_io, spec=spec)
            self._table.live[c.id] = live
            exit_wait = asyncio.ensure_future(self._runtime.wait(c.id))
            pid = await self._runtime.start(c.id)
        except errdefs.EngineError as exc:
            run_io.close()
            self._table.live.pop(c.id, None)
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.delete(c.id)
            if self._networks is not None:
                await self._networks.detach(c)
            await asyncio.to_thread(_shm.unmount, directory / "shm")
            await self._volumes.release(c.id, c.mount_points)
            c.state.error = exc.message
            c.state.exit_code = _exit_code_for_start_error(exc.message)
            self._table.save(c)
            raise _start_error(exc) from None
        check = HealthConfig.from_api(c.config.get("Healthcheck"))
        c.state = State(
            status="running",
            pid=pid,
            started_at=now_rfc3339(),
            health=new_health() if check is not None else None,
        )
        c.has_been_started = True
        c.manually_stopped = False
        self._table.save(c)
        self._monitor.watch(c, live, exit_wait)
        self._table.event(c, "start")

    async def _rootfs_mounts(self, c: Container, tree: Path | None) -> list[Mount]:
        """The rootfs as containerd mounts it: the vfs tree bound in place, or the overlay."""
        if tree is not None:
            return [Mount(type="bind", source=str(tree), options=("rbind", "rw"))]
        # the layers by their short links: containerd mounts a long chain's lowerdir list
        # relative to their directory (compactLowerdirOption), so it fits in a page
        lower = await asyncio.to_thread(self._images.mount_lowers, c.layer_chains)
        directory = self._dirs.of(c.id)
        options = overlay_mount_options(lower, directory / "upper", directory / "work")
        return [Mount(type="overlay", source="overlay", options=tuple(options))]

    async def exec_process(self, ref: str, user: str) -> tuple[Container, dict[str, Any]]:
        """The running container and the process spec an exec in it starts from: the task's own
        (env, capabilities, rlimits…), with `user` resolved in the image when given."""
        c = self.get(ref)
        return c, await self._specs.exec_process(c, user)

    # ---------------------------------------------------------- stop and kill

    @uninterruptible
    async def stop(self, ref: str, opts: StopOptions) -> None:
        c = self.get(ref)
        c.manually_stopped = True
        if self._monitor.cancel_restart(c):
            self._table.event(c, "stop")
            return
        if not c.state.running:
            raise errdefs.NotModified("container already stopped")
        await self._stopper.stop(c, opts)
        self._table.event(c, "stop")

    @uninterruptible
    async def kill(self, ref: str, signal: str | None) -> None:
        try:
            c = self.get(ref)
        except errdefs.NotFound as exc:  # the router's wrapping, as dockerd's postContainersKill
            raise errdefs.NotFound(f"Cannot kill container: {ref}: {exc.message}") from None
        sig = parse_signal(signal, signals.SIGKILL)
        live = self._table.live.get(c.id)
        if not c.state.running or live is None:
            raise errdefs.Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        c.manually_stopped = True
        self._table.event(c, "kill", signal=str(sig))
        try:
            await self._runtime.kill(c.id, sig)
        except errdefs.NotFound:
            raise errdefs.Conflict(
                f"Cannot kill container: {ref}: Container {c.id} is not running"
            ) from None
        if sig == signals.SIGKILL and live.monitor is not None:
            await asyncio.shield(live.monitor)

    @uninterruptible
    async def restart(self, ref: str, opts: StopOptions) -> None:
        c = self.get(ref)
        self._monitor.cancel_restart(c)
        async with self._table.lock(c.id):
            if c.state.running:
                await self._stopper.stop(c, opts)
                self._table.event(c, "stop")
            await self._start_locked(c)
        self._table.event(c, "restart")

    # --------------------------------------------------- pause, rename, prune

    @uninterruptible
    async def update(self, ref: str, changes: dict[str, Any]) -> list[str]:
        """docker update: new limits (and restart policy) applied live through containerd's
        Update and kept in the HostConfig; zero values mean "unchanged", as dockerd."""
        c = self.get(ref)
        if c.state.status in ("removing", "dead"):
            raise errdefs.Conflict(
                f"Cannot update container {c.id}: container is marked for removal"
            )
        updated = updated_host_config(c, changes)
        warnings = hostconfig.validate_host_config(updated, c.config)
        async with self._table.lock(c.id):
            if c.id in self._table.live:
                resources = linux_resources(limits.resources(updated))
                try:
                    await self._runtime.update(c.id, resources)
                except errdefs.EngineError as exc:
                    raise errdefs.InvalidParameter(
                        f"Cannot update container {c.id}: {exc.message}"
                    ) from None
            c.host_config = updated
            self._table.save(c)
        self._table.event(c, "update")
        return warnings

    @uninterruptible
    async def pause(self, ref: str, by_daemon: bool = False) -> None:
        """`by_daemon`: frozen for the daemon's own work (commit), which unpauses it after;
        that is recorded before the freeze, so a restart after a kill resumes it."""
        c = self.get(ref)
        async with self._table.lock(c.id):
            if c.state.status == "paused":
                raise errdefs.Conflict(f"Container {c.id} is already paused")
            if c.state.status != "running":
                raise errdefs.Conflict(f"Container {c.id} is not running")
            c.paused_by_daemon = by_daemon
            if by_daemon:
                self._table.save(c)
            await self._runtime.pause(c.id)
            c.state.status = "paused"
            self._table.save(c)
        self._table.event(c, "pause")

    @uninterruptible
    async def unpause(self, ref: str) -> None:
        c = self.get(ref)
        async with self._table.lock(c.id):
            if c.state.status != "paused":
                raise errdefs.Conflict(f"Container {c.id} is not paused")
            await self._runtime.resume(c.id)
            c.state.status = "running"
            c.paused_by_daemon = False
            self._table.save(c)
        self._table.event(c, "unpause")

    @uninterruptible
    async def rename(self, ref: str, new_name: str) -> None:
        c = self.get(ref)
        if not new_name:
            raise errdefs.InvalidParameter("Neither old nor new names may be empty")
        name = names.validate(new_name)
        if name == c.name:
            raise errdefs.InvalidParameter(
                "Renaming a container with the same name as its current name"
            )
        try:
            self._table.check_name_free(name)
        except errdefs.Conflict as exc:
            raise errdefs.Conflict(f"Error when allocating new name: {exc.message}") from None
        old = c.name
        c.name = name
        self._table.save(c)  # the unique name column makes this the commit point
        self._table.by_name.pop(old, None)
        self._table.by_name[name] = c.id
        if self._networks is not None:
            self._networks.rename(c)  # the embedded DNS answers to the new name
        self._table.event(c, "rename", oldName=old)

    @uninterruptible
    async def prune(self, filters: dict[str, list[str]]) -> tuple[list[str], int]:
        """Remove stopped containers matching `until`/`label` filters; report what went."""
        unknown = set(filters) - {"until", "label", "label!"}
        if unknown:
            raise errdefs.InvalidParameter(f"invalid filter '{sorted(unknown)[0]}'")
        until = until_filter(filters)
        deleted: list[str] = []
        reclaimed = 0
        for c in list(self._table.by_id.values()):
            if c.state.status not in ("exited", "created", "dead"):
                continue
            if until is not None and parse_time(c.created) >= until:
                continue
            if not all(
                labels_match(c.config.get("Labels") or {}, [v]) for v in filters.get("label", [])
            ):
                continue
            if any(
                labels_match(c.config.get("Labels") or {}, [v]) for v in filters.get("label!", [])
            ):
                continue
            size = await self._rw_size(c)
            try:
                await self.remove(c.id, force=False, volumes=False)
            except errdefs.EngineError:
                continue
            deleted.append(c.id)
            reclaimed += size
        self._events.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
        return deleted, reclaimed

    # ------------------------------------------------------------------ wait

    async def wait(self, ref: str, condition: str) -> Callable[[], asyncio.Future[int]]:
        """Resolve the container now (so a 404 comes before the headers), wait later.

        Returns a function giving the future of the exit code: the router sends its 200 and
        headers first, because `docker run` waits for them before it starts the container.
        """
        future = self._waiters.add(self.get(ref), condition)
        return lambda: future

    # ---------------------------------------------------------------- remove

    @uninterruptible
    async def remove(self, ref: str, force: bool, volumes: bool) -> None:
        c = self.get(ref)
        if c.state.status == "restarting" and not force:
            raise errdefs.Conflict(
                f'cannot remove container "{c.name}": container is restarting: stop the '
                "container before removing or force remove"
            )
        self._monitor.cancel_restart(c)
        async with self._table.lock(c.id):
            if c.state.running:
                if not force:
                    raise errdefs.Conflict(
                        f'cannot remove container "{c.name}": container is running: stop the '
                        "container before removing or force remove"
                    )
                await self._stopper.kill_and_wait(c)
            if c.id not in self._table.by_id:
                return  # removed meanwhile (auto-remove)
            c.state.status = "removing"
            self._table.save(c)
            with contextlib.suppress(errdefs.NotFound):
                await self._runtime.delete(c.id)
            await asyncio.to_thread(_shm.unmount, self._dirs.shm(c.id))
            tree = self._dirs.tree(c)
            await asyncio.to_thread(
                remove_dirs, self._dirs.of(c.id), self._dirs.fifos(c.id), *([tree] if tree else [])
            )
            if self._networks is not None:
                self._networks.on_remove(c)
            await self._images.release_holds(c.id)
            self._table.forget(c)  # last: a kill before it leaves "removing", finished at start
            self._graph_data.pop(c.id, None)
            self._table.event(c, "destroy")
            await self._volumes.detach_container(c.id, c.mount_points, remove_anonymous=volumes)
            self._table.subscribers.pop(c.id, None)
            self._waiters.removed(c.id, c.state.exit_code)
        self._table.locks.pop(c.id, None)

    # ----------------------------------------------------------------- list

    async def list(self, opts: ListOptions) -> list[dict[str, Any]]:
        query = listing.fold(
            opts.filters,
            all=opts.all,
            limit=opts.limit,
            ids=self._table.by_id,
            find=self.get,
            family=self._image_family,
        )
        containers = sorted(self._table.by_id.values(), key=lambda c: c.created, reverse=True)
        kept: list[Container] = []

        def row(c: Container) -> dict[str, Any]:
            data = views.summary(c, c.config.get("Image") or c.image_id)
            if self._networks is not None:
                self._networks.summary(c, data)
            kept.append(c)
            return data

        rows = list(query.select(containers, row))
        if opts.size:
            for data, c in zip(rows, kept, strict=True):
                size_rw = await self._rw_size(c)
                image_size = (
                    self._images.get(c.image_id).size if self._images.exists(c.image_id) else 0
                )
                data["SizeRw"] = size_rw
                data["SizeRootFs"] = size_rw + image_size
        return rows

    def _image_family(self, ref: str) -> set[str]:
        """The ancestor filter's images: `ref` and every image built on it (none if unknown)."""
        try:
            todo = [self._images.get(ref).id]
        except (errdefs.NotFound, errdefs.InvalidParameter):
            log.warning("Error while looking up for image %s", ref)
            return set()
        family: set[str] = set()
        while todo:
            image_id = todo.pop()
            if image_id not in family:
                family.add(image_id)
                todo.extend(child.id for child in self._images.children(image_id))
        return family

    def inspect(self, ref: str) -> dict[str, Any]:
        c = self.get(ref)
        data = views.inspect(c, c.driver, self._graph_driver_data(c))
        if self._networks is not None:
            data["NetworkSettings"] = self._networks.settings(c, data["NetworkSettings"])
        return data

    def _graph_driver_data(self, c: Container) -> dict[str, str] | None:
        """GraphDriver.Data of inspect, kept per container (its layers never change): building
        the paths each time was a tenth of an inspect's cost. vfs has none (null, as dockerd)."""
        if c.driver == VFS:
            return None
        data = self._graph_data.get(c.id)
        if data is None:
            directory = self._dirs.of(c.id)
            data = self._graph_data[c.id] = {
                "LowerDir": ":".join(str(p) for p in lower_dirs(self._images, c)),
                "UpperDir": str(directory / "upper"),
                "WorkDir": str(directory / "work"),
                "MergedDir": str(directory / "merged"),
            }
        return data

    # ------------------------------------------------------------ logs/attach

    def logs(self, ref: str, opts: LogsOptions) -> tuple[bool, AsyncIterator[LogEntry]]:
        """(tty, entries): resolved before the router starts streaming, so a 404 stays a 404."""
        c = self.get(ref)
        return c.tty, self._streams.logs(c, opts)

    @property
    def default_log_driver(self) -> str:
        """The daemon's log-driver (what `docker info` shows as LoggingDriver)."""
        return self._streams.default_log_driver

    def attach(self, ref: str, opts: AttachOptions) -> tuple[Container, Subscriber | None]:
        """Subscribe to the container's output; None when there is nothing to stream."""
        c = self.get(ref)
        return c, self._streams.attach(c, opts)

    def detach(self, c: Container, sub: Subscriber) -> None:
        self._streams.detach(c, sub)

    async def feed_stdin(
        self, c: Container, chunks: AsyncIterator[bytes | None], detach_keys: str
    ) -> bool:
        """Copy an attached client's input to the container's stdin until the client's EOF;
        True when the client typed the detach keys instead (the container keeps running)."""
        return await self._streams.feed_stdin(c, chunks, detach_keys)

    async def resize(self, ref: str, height: int, width: int) -> None:
        await self._streams.resize(self.get(ref), height, width)

    # --------------------------------------------------------- daemon start/stop

    async def load(self) -> None:
        """Load records, then bring each container's state in line with containerd's."""
        await self._restore.load()

    @property
    def live_restore(self) -> bool:
        return self._restore.live_restore

    @live_restore.setter
    def live_restore(self, value: bool) -> None:
        """A configuration reload can turn it on or off; shutdown reads it."""
        self._restore.live_restore = value

    def shutdown_timeout(self, minimum: int) -> int:
        """dockerd's ShutdownTimeout: `shutdown-timeout`, raised to any container's stop
        timeout plus 5 s of grace; -1 (wait for ever) when either is negative."""
        return shutdown_timeout(self._table.by_id.values(), minimum)

    async def shutdown(self, timeout: int = -1) -> None:
        """With live restore, leave tasks running and just let go of them; else stop them all,
        each with its stop timeout, for at most `timeout` seconds in all (-1: no limit)."""
        await self._restore.shutdown(timeout)


def _exit_code_for_start_error(message: str) -> int:
    """dockerd records 127 for a missing executable and 126 for one it may not run."""
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 128


def _start_error(exc: errdefs.EngineError) -> errdefs.EngineError:
    """A failed start is the client's doing (400) when its command cannot run, as dockerd."""
    message = exc.message
    if _exit_code_for_start_error(message) in (126, 127):
        return errdefs.InvalidParameter(message)
    return exc if not isinstance(exc, errdefs.NotFound) else errdefs.System(message)
