"""ContainerService: the only way into the container domain (create, start, stop, logs, attach…).

Containers live in memory (ps and inspect never touch the disk) and every change of a record is
written through to the database in one transaction. Running containers are watched by one
monitor task each, which waits on containerd's Tasks.Wait and settles the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import signal as signals
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errdefs, userns
from ..asyncutil import uninterruptible
from ..events import EventBus
from ..filters import labels_match, until_filter
from ..fsutil import dir_size
from ..graphdriver import VFS
from ..images import ImageStore
from ..images.store import MAX_LAYER_DEPTH
from ..networks.dns import resolv_conf as embedded_dns_resolv_conf
from ..runtime import ContainerdRuntime, create_fifos, free_stale_fifos
from ..runtime.types import ExitStatus, Mount
from ..store import Database
from ..store.containers import ContainerRows
from ..volumes import VolumeService
from ..volumes.mounts import MountPoint
from . import (
    _shm,
    adapt,
    etcfiles,
    hostconfig,
    hostenv,
    limits,
    listing,
    merge,
    names,
    namespace_modes,
    spec_inputs,
    treediff,
    vfs,
    views,
)
from .defaults import ContainerDefaults
from .detach import DEFAULT_DETACH_KEYS, DetachScanner, parse_detach_keys
from .health import HealthConfig, HealthMonitor, new_health
from .io import RunIO, Subscriber
from .logdrivers import (
    BaseDriver,
    LogEntry,
    LogInfo,
    merge_log_config,
    open_log_driver,
    open_log_reader,
    validate_log_config,
)
from .logdrivers.none import NoneLog
from .logs import parse_time
from .probe import run_captured
from .resolve import resolve
from .restart import Backoff, RestartPolicy
from .rootfs import RootfsLayout, overlay_mount_options
from .spec import SpecInput, build_spec, linux_resources
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
from .users import resolve_user

if TYPE_CHECKING:
    from ..networks import NetworkService

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT = 10
DRAIN_IDLE = 2.0  # dockerd waits 2 s for the output; we wait while it still flows (io.py)


@dataclass(slots=True)
class _Live:
    """What exists only while a container runs: its IO and its monitor."""

    io: RunIO
    spec: dict[str, Any] | None = None  # the task's OCI spec: execs start from its process
    health: HealthMonitor | None = None
    monitor: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)


def parse_signal(value: str | int | None, default: int) -> int:
    """'SIGTERM', 'TERM', '15' → 15, with dockerd's message for anything else."""
    if value in (None, ""):
        return default
    text = str(value).upper()
    if text.isdigit():
        number = int(text)
        if 0 < number < 65:
            return number
    else:
        name = text if text.startswith("SIG") else "SIG" + text
        member = getattr(signals.Signals, name, None)
        if member is not None:
            return int(member)
    raise errdefs.InvalidParameter(f"Invalid signal: {value}")


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
        self._rows = ContainerRows(db)
        self._networks = networks  # None in unit tests: loopback-only network namespaces
        # volumes/: the daemon passes its own; without one, a service over the same database
        self._volumes = volumes or VolumeService(db, data_root, events)
        self._volumes.set_users(self._volume_users)
        # the daemon's log-driver and log-opts: containers without a LogConfig.Type get them
        self._default_log = log_config or {"Type": "json-file", "Config": {}}
        self._defaults = defaults or ContainerDefaults()
        self._events = events
        self._runtime = runtime
        self._images = images
        self._data_root = data_root
        self._driver = images.graph_driver  # what new containers get; start refuses others
        self._ids = images.ids  # --userns-remap: what the containers' root is on the host
        self._root = data_root / "containers"
        self._fifo_root = exec_root / "containers"
        self._live_restore = live_restore
        self._by_id: dict[str, Container] = {}
        self._by_name: dict[str, str] = {}
        self._live: dict[str, _Live] = {}
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._exit_waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._removed_waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._graph_data: dict[str, dict[str, str]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._backoff: dict[str, Backoff] = {}
        self._restarts: dict[str, asyncio.Task[None]] = {}
        self._oom_watch: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    # ----------------------------------------------------------------- lookup

    def get(self, ref: str) -> Container:
        return resolve(ref, self._by_id, self._by_name)

    def all(self) -> list[Container]:
        return list(self._by_id.values())

    def running_pid(self, container_id: str) -> int:
        """The task's pid while the container runs, else 0 (for networks/ on restore)."""
        c = self._by_id.get(container_id)
        return c.state.pid if c is not None and c.id in self._live else 0

    # For the read-only observers that live outside the service (containers/top.py, stats.py).
    @property
    def runtime(self) -> ContainerdRuntime:
        return self._runtime

    @property
    def closing(self) -> asyncio.Event:
        """Set when shutdown() begins: endless streams (stats) end on it."""
        return self._closing

    def log_event(self, c: Container, action: str, **extra: str) -> None:
        """A container event with dockerd's attributes, for the observers outside the service
        (top, exec, archive...)."""
        self._event(c, action, **extra)

    def rootfs_layout(self, c: Container) -> RootfsLayout:
        """For containers/files.py (cp, diff, export, commit): the container's directory
        (upper/, work/, merged/ in it), its image layers (top-most first) and, under vfs, its
        tree. By the driver it was created under, which may not be the daemon's."""
        tree = self._tree(c)
        return RootfsLayout(self._root / c.id, self._lower_dirs(c), tree)

    def _tree(self, c: Container) -> Path | None:
        """A vfs container's rootfs copy; None under overlay2."""
        return vfs.tree_dir(self._data_root, c.id) if c.driver == VFS else None

    async def _rw_size(self, c: Container) -> int:
        """SizeRw: the upper dir's bytes; a vfs tree's changed files (dockerd's naive diff)."""
        tree = self._tree(c)
        if tree is None:
            return await asyncio.to_thread(dir_size, self._root / c.id / "upper")
        if not tree.is_dir():
            return 0
        return await asyncio.to_thread(treediff.changed_size, tree, self._lower_dirs(c))

    def view_mounts(self, c: Container) -> contextlib.AbstractAsyncContextManager[list[MountPoint]]:
        """For containers/files.py: the container's volumes and bind mounts, set up for a cp
        view of it (volume mount/unmount events included, as dockerd's)."""
        return self._volumes.view_mounts(c.id, c.mount_points)

    def state_lock(self, c: Container) -> asyncio.Lock:
        """The lock start, restart, pause and remove hold; `docker cp` into a stopped container
        holds it too, so no task mounts the rootfs being written (dockerd's container lock)."""
        return self._lock(c.id)

    def image_in_use(self, image_id: str) -> tuple[str, bool] | None:
        """(container ID, running) of a container using the image, running ones first."""
        users = [c for c in self._by_id.values() if c.image_id == image_id]
        users.sort(key=lambda c: not c.state.running)
        return (users[0].id, users[0].state.running) if users else None

    def _volume_users(self, name: str) -> list[str]:
        """IDs of the containers whose mount points name the volume ("volume is in use")."""
        return [
            c.id for c in self._by_id.values() if any(m.get("name") == name for m in c.mount_points)
        ]

    def _mounts_of(self, ref: str) -> list[dict[str, Any]]:
        """--volumes-from: the donor's mount points; an unknown donor is the client's error
        (400, as dockerd: a 404 from create would make the CLI pull the image)."""
        try:
            return self.get(ref).mount_points
        except errdefs.NotFound as exc:
            raise errdefs.InvalidParameter(exc.message) from None

    def _event(self, c: Container, action: str, **extra: str) -> None:
        """A container event with dockerd's attributes: its labels, image and name."""
        attributes = dict(c.config.get("Labels") or {})
        attributes.update(image=c.config.get("Image") or c.image_id, name=c.name.lstrip("/"))
        attributes.update(extra)
        self._events.publish("container", action, c.id, attributes)

    def _lock(self, container_id: str) -> asyncio.Lock:
        return self._locks.setdefault(container_id, asyncio.Lock())

    def _save(self, c: Container) -> None:
        self._rows.save(c.to_record())

    # ----------------------------------------------------------------- create

    @uninterruptible
    async def create(self, opts: CreateOptions) -> tuple[str, list[str]]:
        """Validate, merge with the image, persist: the container exists once its row commits."""
        warnings = hostconfig.validate_host_config(
            opts.host_config, opts.config, userns_remap=not self._ids.empty
        )
        if opts.name:
            name = names.validate(opts.name)
            self._check_name_free(name)
        else:
            name = self._free_generated_name()
        image_ref = opts.config.get("Image") or ""
        if not image_ref:
            raise errdefs.InvalidParameter("config cannot be empty in order to create a container")
        policy = RestartPolicy.from_api(opts.host_config.get("RestartPolicy"))
        if policy.name not in ("", "no") and opts.host_config.get("AutoRemove"):
            raise errdefs.InvalidParameter(
                "can't create 'AutoRemove' container with restart policy"
            )
        image = self._images.get(image_ref)
        if len(image.chain_ids) >= MAX_LAYER_DEPTH:  # overlay2: its init and RW layers on top
            raise errdefs.System("max depth exceeded")
        config = merge.merge_config(opts.config, image.container_config)
        path, args = merge.command_of(config)
        log_config = merge_log_config(opts.host_config.get("LogConfig"), self._default_log)
        validate_log_config(log_config)
        container_id = secrets.token_hex(32)
        directory = self._root / container_id
        network_mode = opts.host_config.get("NetworkMode") or "default"
        default_hostname = socket.gethostname() if network_mode == "host" else container_id[:12]
        hostname = config.get("Hostname") or default_hostname
        container = Container(
            id=container_id,
            name=name,
            created=now_rfc3339(),
            image_id=image.id,
            path=path,
            args=args,
            config=merge.config_for_api(config, hostname, image_ref),
            host_config=adapt.adapt_host_config(
                _host_config_defaults(opts.host_config, self._defaults.shm_size),
                lambda ref: self.get(ref).id,
            ),
            log_path=str(directory / f"{container_id}-json.log"),
            resolv_conf_path=str(directory / "resolv.conf"),
            hostname_path=str(directory / "hostname"),
            hosts_path=str(directory / "hosts"),
            layer_chains=image.chain_ids,
            driver=self._driver,
        )
        container.host_config["LogConfig"] = log_config  # inspect shows the effective one
        if log_config["Type"] != "json-file":
            container.log_path = ""  # dockerd sets LogPath for json-file only
        self._share_network_files(container)
        container.mount_points = await self._volumes.attach_container(
            container.config, container.host_config, self._mounts_of
        )
        if self._networks is not None:
            self._networks.on_create(container, opts.networking_config)
        await self._images.hold_layers(container_id, image)
        await asyncio.to_thread(self._make_dirs, container)
        tree = self._tree(container)
        if tree is not None:
            await self._copy_image(container, tree)
        self._save(container)
        self._by_id[container_id] = container
        self._by_name[name] = container_id
        self._event(container, "create")
        return container_id, warnings

    async def _copy_image(self, c: Container, tree: Path) -> None:
        """vfs: the container's rootfs is a copy of its image, made now (in a worker thread,
        as dockerd's vfs Create copies the parent layer); if that fails, the container is not
        created and what create had set up for it goes."""
        try:
            await asyncio.to_thread(vfs.make_tree, tree, self._lower_dirs(c))
            await asyncio.to_thread(userns.give_to_root, self._ids, tree)
        except BaseException as exc:
            await asyncio.to_thread(_remove_dirs, self._root / c.id)
            await self._images.release_holds(c.id)
            if self._networks is not None:
                self._networks.on_remove(c)
            await self._volumes.detach_container(c.id, c.mount_points, remove_anonymous=True)
            if isinstance(exc, OSError):
                raise errdefs.System(f"copying the image for the vfs rootfs: {exc}") from None
            raise

    def _check_name_free(self, name: str) -> None:
        owner = self._by_name.get(name)
        if owner is not None:
            raise errdefs.Conflict(
                f'Conflict. The container name "{name}" is already in use by container '
                f'"{owner}". You have to remove (or rename) that container to be able to '
                "reuse that name."
            )

    def _free_generated_name(self) -> str:
        for attempt in range(10):
            name = "/" + names.generate(attempt)
            if name not in self._by_name:
                return name
        raise errdefs.System("could not generate a unique container name")

    def _share_network_files(self, c: Container) -> None:
        """`--network container:x` shares x's hostname, hosts and resolv.conf files, as dockerd
        points the joiner at the donor's (the donor was resolved to its ID at create)."""
        mode = c.host_config.get("NetworkMode") or ""
        if mode.startswith("container:"):
            donor = self.get(mode.split(":", 1)[1])
            c.hostname_path = donor.hostname_path
            c.hosts_path = donor.hosts_path
            c.resolv_conf_path = donor.resolv_conf_path
            c.config["Hostname"] = donor.config["Hostname"]

    def _make_dirs(self, c: Container) -> None:
        """The container's directory: upper/ and work/ and its /etc files. With a remap, the
        remapped root traverses it and owns what it writes to (dockerd's create and
        setupMounts)."""
        directory = self._root / c.id
        for sub in ("upper", "work"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        if not self._ids.empty:
            userns.traversable(directory, self._ids)
            userns.give_to_root(self._ids, directory / "upper", directory / "work")
        if not c.hosts_path.startswith(str(directory)):
            return  # the network files are another container's
        hostname = c.config["Hostname"]
        Path(c.hostname_path).write_text(hostname + "\n")
        hc = c.host_config
        env = hostenv.probe_environment()
        host_network = hc.get("NetworkMode") == "host"
        base = _read_text("/etc/hosts") if host_network else etcfiles.DEFAULT_HOSTS
        hosts = etcfiles.hosts_file(hc.get("ExtraHosts"), env.host_gateway_ip, base)
        Path(c.hosts_path).write_text(hosts)
        host_resolv = etcfiles.read_host_resolv_conf()
        dns = self._defaults.dns_settings(hc)
        if host_network and not any(dns):
            resolv = host_resolv  # the host's resolvers, loopback ones too, are reachable
        elif self._networks is not None and self._networks.embedded_dns(hc.get("NetworkMode")):
            resolv = embedded_dns_resolv_conf(host_resolv, dns[1] or (), dns[2] or ())
        else:
            resolv = etcfiles.resolv_conf(host_resolv, *dns)
        Path(c.resolv_conf_path).write_text(resolv)
        userns.give_to_root(self._ids, c.hostname_path, c.hosts_path, c.resolv_conf_path)

    # ------------------------------------------------------------------ start

    @uninterruptible
    async def start(self, ref: str) -> None:
        """Start; a failed start of an auto-remove container removes it, as dockerd does
        (`docker run --rm` waits for that removal before it reports the error)."""
        c = self.get(ref)
        try:
            async with self._lock(c.id):
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
        directory = self._root / c.id
        tree = self._tree(c)
        fifo_dir = self._fifo_root / c.id
        await asyncio.to_thread(_reset_dir, fifo_dir)
        paths = create_fifos(fifo_dir, stdin=bool(c.config.get("OpenStdin")), terminal=c.tty)
        log_driver = await self._open_log(c)
        run_io = RunIO(paths, log_driver, self._subscribers.setdefault(c.id, set()))
        try:
            link_env = self._networks.link_env(c) if self._networks is not None else []
            layers = [tree] if tree is not None else [directory / "upper", *self._lower_dirs(c)]
            volume_mounts = await self._volumes.setup(c.id, c.mount_points, layers)
            spec = await asyncio.to_thread(self._spec_for, c, volume_mounts, link_env)
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
            live = _Live(io=run_io, spec=spec)
            self._live[c.id] = live
            exit_wait = asyncio.ensure_future(self._runtime.wait(c.id))
            pid = await self._runtime.start(c.id)
        except errdefs.EngineError as exc:
            run_io.close()
            self._live.pop(c.id, None)
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.delete(c.id)
            if self._networks is not None:
                await self._networks.detach(c)
            await asyncio.to_thread(_shm.unmount, directory / "shm")
            await self._volumes.release(c.id, c.mount_points)
            c.state.error = exc.message
            c.state.exit_code = _exit_code_for_start_error(exc.message)
            self._save(c)
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
        self._save(c)
        live.monitor = asyncio.create_task(self._monitor(c, live, exit_wait))
        self._watch_health(c, live)
        self._event(c, "start")

    async def _rootfs_mounts(self, c: Container, tree: Path | None) -> list[Mount]:
        """The rootfs as containerd mounts it: the vfs tree bound in place, or the overlay."""
        if tree is not None:
            return [Mount(type="bind", source=str(tree), options=("rbind", "rw"))]
        # the layers by their short links: containerd mounts a long chain's lowerdir list
        # relative to their directory (compactLowerdirOption), so it fits in a page
        lower = await asyncio.to_thread(self._images.mount_lowers, c.layer_chains)
        directory = self._root / c.id
        options = overlay_mount_options(lower, directory / "upper", directory / "work")
        return [Mount(type="overlay", source="overlay", options=tuple(options))]

    async def exec_process(self, ref: str, user: str) -> tuple[Container, dict[str, Any]]:
        """The running container and the process spec an exec in it starts from: the task's own
        (env, capabilities, rlimits…), with `user` resolved in the image when given."""
        c = self.get(ref)
        live = self._live.get(c.id)
        if c.state.status == "paused":
            raise errdefs.Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if live is None or c.state.status != "running":
            raise errdefs.Conflict(f"Container {c.id} is not running")
        if live.spec is None:  # re-attached after a daemon restart
            live.spec = await asyncio.to_thread(self._spec_for, c)
        process = dict(live.spec["process"])
        if user:
            ids = await asyncio.to_thread(
                resolve_user,
                user,
                lambda path: self._read_image_file(c, path),
                c.host_config.get("GroupAdd") or [],
            )
            process["user"] = {"uid": ids.uid, "gid": ids.gid}
            if ids.additional_gids:
                process["user"]["additionalGids"] = list(ids.additional_gids)
        return c, process

    def _lower_dirs(self, c: Container) -> list[Path]:
        """The image's layer directories, top-most first: held for the container at create,
        so they outlive a forced `rmi` of its image as with dockerd."""
        return [self._images.diff_dir(chain) for chain in reversed(c.layer_chains)]

    def _read_image_file(self, c: Container, path: str) -> bytes | None:
        if not self._images.exists(c.image_id):
            return None
        return self._images.read_file(self._images.get(c.image_id), path)

    def _spec_for(
        self,
        c: Container,
        volume_mounts: list[dict[str, Any]] | None = None,
        link_env: list[str] | None = None,
    ) -> dict[str, Any]:
        """The OCI spec; runs in a thread because it reads the image's passwd/group files.
        Legacy links' variables come before the container's Env, which overrides them."""
        user = resolve_user(
            c.config.get("User") or "",
            lambda path: self._read_image_file(c, path),
            c.host_config.get("GroupAdd") or [],
        )
        # Everything else comes from Config/HostConfig. A running container's spec is only
        # recomputed for its process (exec after a daemon restart): joins are not resolved.
        options = spec_inputs.spec_options(
            c.config,
            {
                **c.host_config,
                "Ulimits": self._defaults.merged_ulimits(c.host_config.get("Ulimits")),
            },
            [c.path, *c.args],
            shm_dir=str(self._root / c.id / "shm"),
            lookup=None if c.id in self._live else self._donor,
            userns_remap=not self._ids.empty,
        )
        options["extra_mounts"] = [*options["extra_mounts"], *(volume_mounts or ())]
        options["env"] = [*(link_env or ()), *options["env"]]
        return build_spec(
            SpecInput(
                id=c.id,
                uid=user.uid,
                gid=user.gid,
                additional_gids=list(user.additional_gids),
                tty=c.tty,
                etc_files={
                    "/etc/resolv.conf": c.resolv_conf_path,
                    "/etc/hostname": c.hostname_path,
                    "/etc/hosts": c.hosts_path,
                },
                id_mappings=self._ids,
                **options,
            )
        )

    def _donor(self, ref: str) -> namespace_modes.Donor:
        """A container whose PID/IPC namespace another joins (`--pid/--ipc container:<ref>`)."""
        d = self.get(ref)
        return namespace_modes.Donor(
            id=d.id,
            status=d.state.status,
            pid=d.state.pid,
            host_config=d.host_config,
            shm_dir=str(self._root / d.id / "shm"),
        )

    # ---------------------------------------------------------------- monitor

    async def _monitor(
        self, c: Container, live: _Live, exit_wait: asyncio.Future[ExitStatus]
    ) -> None:
        """Settle one run's end: output drained, task deleted, state and waiters updated."""
        try:
            status = await exit_wait
        except errdefs.EngineError as exc:
            log.warning("wait for %s failed: %s", c.id[:12], exc.message)
            status = ExitStatus(code=255)
        await live.io.drain(DRAIN_IDLE)
        with contextlib.suppress(errdefs.NotFound):
            await self._runtime.delete(c.id)
        if self._networks is not None:
            await self._networks.detach(c)
        await asyncio.to_thread(_shm.unmount, self._root / c.id / "shm")
        await self._volumes.release(c.id, c.mount_points)
        self._live.pop(c.id, None)
        if live.health is not None:
            live.health.stop()
        self._mark_exited(c, status.code, "")
        ran = str(int(time.monotonic() - live.started))  # whole seconds, as dockerd's
        self._event(c, "die", exitCode=str(status.code), execDuration=ran)
        self._notify(self._exit_waiters, c.id, status.code)
        policy = RestartPolicy.from_api(c.host_config.get("RestartPolicy"))
        if policy.should_restart(status.code, c.manually_stopped, c.restart_count):
            delay = self._backoff.setdefault(c.id, Backoff()).next(time.monotonic() - live.started)
            c.state.status = "restarting"
            self._save(c)
            self._restarts[c.id] = asyncio.create_task(self._restart_later(c, delay))
            return
        self._save(c)
        if c.auto_remove:
            # A task of its own: a `docker rm -f` may be holding the container's lock while it
            # waits for this monitor to finish, and the removal needs that lock.
            task = asyncio.create_task(self._auto_remove(c))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _auto_remove(self, c: Container) -> None:
        with contextlib.suppress(errdefs.EngineError):
            await self.remove(c.id, force=True, volumes=True)

    async def _restart_later(self, c: Container, delay: float) -> None:
        """The restart policy's next start, after the back-off delay; stop or rm cancel it."""
        try:
            await asyncio.sleep(delay)
            async with self._lock(c.id):
                if c.state.status != "restarting" or c.id not in self._by_id:
                    return
                c.restart_count += 1
                try:
                    await self._start_locked(c)
                except errdefs.EngineError as exc:
                    log.warning("restart of %s failed: %s", c.id[:12], exc.message)
                    c.state.status = "exited"
                    self._save(c)
        finally:
            self._restarts.pop(c.id, None)

    def _cancel_restart(self, c: Container) -> bool:
        """Stand a pending policy restart down; True when there was one."""
        task = self._restarts.pop(c.id, None)
        if task is None:
            return False
        task.cancel()
        c.state.status = "exited"
        self._save(c)
        return True

    @staticmethod
    def _notify(table: dict[str, list[asyncio.Future[int]]], container_id: str, code: int) -> None:
        for future in table.pop(container_id, []):
            if not future.done():
                future.set_result(code)

    # ---------------------------------------------------------- stop and kill

    @uninterruptible
    async def stop(self, ref: str, opts: StopOptions) -> None:
        c = self.get(ref)
        c.manually_stopped = True
        if self._cancel_restart(c):
            self._event(c, "stop")
            return
        if not c.state.running:
            raise errdefs.NotModified("container already stopped")
        await self._stop(c, opts)
        self._event(c, "stop")

    async def _stop(self, c: Container, opts: StopOptions) -> None:
        """Stop signal, then SIGKILL after the timeout; -1 waits forever, as dockerd."""
        default = parse_signal(c.config.get("StopSignal"), signals.SIGTERM)
        sig = parse_signal(opts.signal, default)
        timeout = opts.timeout
        if timeout is None:
            timeout = c.config.get("StopTimeout")
        if timeout is None:
            timeout = DEFAULT_STOP_TIMEOUT
        live = self._live.get(c.id)
        if live is None or live.monitor is None:
            return
        c.manually_stopped = True
        if c.state.status == "paused":  # a frozen process cannot take the stop signal
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.resume(c.id)
            c.state.status = "running"
        self._event(c, "kill", signal=str(sig))
        with contextlib.suppress(errdefs.NotFound):
            await self._runtime.kill(c.id, sig)
        wait_for = None if timeout < 0 else timeout
        try:
            await asyncio.wait_for(asyncio.shield(live.monitor), wait_for)
            return
        except TimeoutError:
            pass
        self._event(c, "kill", signal=str(int(signals.SIGKILL)))
        with contextlib.suppress(errdefs.NotFound):
            await self._runtime.kill(c.id, signals.SIGKILL, all=True)
        await asyncio.shield(live.monitor)

    @uninterruptible
    async def kill(self, ref: str, signal: str | None) -> None:
        try:
            c = self.get(ref)
        except errdefs.NotFound as exc:  # the router's wrapping, as dockerd's postContainersKill
            raise errdefs.NotFound(f"Cannot kill container: {ref}: {exc.message}") from None
        sig = parse_signal(signal, signals.SIGKILL)
        live = self._live.get(c.id)
        if not c.state.running or live is None:
            raise errdefs.Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        c.manually_stopped = True
        self._event(c, "kill", signal=str(sig))
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
        self._cancel_restart(c)
        async with self._lock(c.id):
            if c.state.running:
                await self._stop(c, opts)
                self._event(c, "stop")
            await self._start_locked(c)
        self._event(c, "restart")

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
        updated = dict(c.host_config)
        for key in UPDATABLE_RESOURCES:
            if changes.get(key):
                updated[key] = changes[key]
        if changes.get("RestartPolicy"):
            policy = RestartPolicy.from_api(changes["RestartPolicy"])
            if policy.name not in ("", "no") and c.auto_remove:
                raise errdefs.InvalidParameter(
                    "Restart policy cannot be updated because AutoRemove is enabled for the "
                    "container"
                )
            updated["RestartPolicy"] = changes["RestartPolicy"]
        memory, swap = _hc_int(updated, "Memory"), _hc_int(updated, "MemorySwap")
        if changes.get("Memory") and not changes.get("MemorySwap") and 0 < swap < memory:
            raise errdefs.InvalidParameter(
                "Memory limit should be smaller than already set memoryswap limit, update the "
                "memoryswap at the same time"
            )
        warnings = hostconfig.validate_host_config(updated, c.config)
        async with self._lock(c.id):
            if c.id in self._live:
                resources = linux_resources(limits.resources(updated))
                try:
                    await self._runtime.update(c.id, resources)
                except errdefs.EngineError as exc:
                    raise errdefs.InvalidParameter(
                        f"Cannot update container {c.id}: {exc.message}"
                    ) from None
            c.host_config = updated
            self._save(c)
        self._event(c, "update")
        return warnings

    @uninterruptible
    async def pause(self, ref: str, by_daemon: bool = False) -> None:
        """`by_daemon`: frozen for the daemon's own work (commit), which unpauses it after;
        that is recorded before the freeze, so a restart after a kill resumes it."""
        c = self.get(ref)
        async with self._lock(c.id):
            if c.state.status == "paused":
                raise errdefs.Conflict(f"Container {c.id} is already paused")
            if c.state.status != "running":
                raise errdefs.Conflict(f"Container {c.id} is not running")
            c.paused_by_daemon = by_daemon
            if by_daemon:
                self._save(c)
            await self._runtime.pause(c.id)
            c.state.status = "paused"
            self._save(c)
        self._event(c, "pause")

    @uninterruptible
    async def unpause(self, ref: str) -> None:
        c = self.get(ref)
        async with self._lock(c.id):
            if c.state.status != "paused":
                raise errdefs.Conflict(f"Container {c.id} is not paused")
            await self._runtime.resume(c.id)
            c.state.status = "running"
            c.paused_by_daemon = False
            self._save(c)
        self._event(c, "unpause")

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
            self._check_name_free(name)
        except errdefs.Conflict as exc:
            raise errdefs.Conflict(f"Error when allocating new name: {exc.message}") from None
        old = c.name
        c.name = name
        self._save(c)  # the unique name column makes this the commit point
        self._by_name.pop(old, None)
        self._by_name[name] = c.id
        if self._networks is not None:
            self._networks.rename(c)  # the embedded DNS answers to the new name
        self._event(c, "rename", oldName=old)

    @uninterruptible
    async def prune(self, filters: dict[str, list[str]]) -> tuple[list[str], int]:
        """Remove stopped containers matching `until`/`label` filters; report what went."""
        unknown = set(filters) - {"until", "label", "label!"}
        if unknown:
            raise errdefs.InvalidParameter(f"invalid filter '{sorted(unknown)[0]}'")
        until = until_filter(filters)
        deleted: list[str] = []
        reclaimed = 0
        for c in list(self._by_id.values()):
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
        c = self.get(ref)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        if condition == "removed":
            self._removed_waiters.setdefault(c.id, []).append(future)
        elif condition == "next-exit" or c.state.running:
            self._exit_waiters.setdefault(c.id, []).append(future)
        else:
            future.set_result(c.state.exit_code)
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
        self._cancel_restart(c)
        async with self._lock(c.id):
            if c.state.running:
                if not force:
                    raise errdefs.Conflict(
                        f'cannot remove container "{c.name}": container is running: stop the '
                        "container before removing or force remove"
                    )
                await self._kill_and_wait(c)
            if c.id not in self._by_id:
                return  # removed meanwhile (auto-remove)
            c.state.status = "removing"
            self._save(c)
            with contextlib.suppress(errdefs.NotFound):
                await self._runtime.delete(c.id)
            await asyncio.to_thread(_shm.unmount, self._root / c.id / "shm")
            tree = self._tree(c)
            await asyncio.to_thread(
                _remove_dirs, self._root / c.id, self._fifo_root / c.id, *([tree] if tree else [])
            )
            if self._networks is not None:
                self._networks.on_remove(c)
            await self._images.release_holds(c.id)
            self._rows.delete(c.id)  # last: a kill before it leaves "removing", finished at start
            self._by_id.pop(c.id, None)
            self._by_name.pop(c.name, None)
            self._graph_data.pop(c.id, None)
            self._event(c, "destroy")
            await self._volumes.detach_container(c.id, c.mount_points, remove_anonymous=volumes)
            self._subscribers.pop(c.id, None)
            self._notify(self._exit_waiters, c.id, c.state.exit_code)
            self._notify(self._removed_waiters, c.id, c.state.exit_code)
        self._locks.pop(c.id, None)

    async def _kill_and_wait(self, c: Container) -> None:
        c.manually_stopped = True
        live = self._live.get(c.id)
        with contextlib.suppress(errdefs.NotFound):
            await self._runtime.kill(c.id, signals.SIGKILL, all=True)
        if live is not None and live.monitor is not None:
            await asyncio.shield(live.monitor)

    # ----------------------------------------------------------------- list

    async def list(self, opts: ListOptions) -> list[dict[str, Any]]:
        query = listing.fold(
            opts.filters,
            all=opts.all,
            limit=opts.limit,
            ids=self._by_id,
            find=self.get,
            family=self._image_family,
        )
        containers = sorted(self._by_id.values(), key=lambda c: c.created, reverse=True)
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
            directory = self._root / c.id
            data = self._graph_data[c.id] = {
                "LowerDir": ":".join(str(p) for p in self._lower_dirs(c)),
                "UpperDir": str(directory / "upper"),
                "WorkDir": str(directory / "work"),
                "MergedDir": str(directory / "merged"),
            }
        return data

    # ------------------------------------------------------------ logs/attach

    def logs(self, ref: str, opts: LogsOptions) -> tuple[bool, AsyncIterator[LogEntry]]:
        """(tty, entries): resolved before the router starts streaming, so a 404 stays a 404."""
        c = self.get(ref)
        live = self._live.get(c.id)
        reader = open_log_reader(
            self._log_config(c), self._log_info(c), live.io.log if live is not None else None
        )  # raises Unimplemented (501) for drivers that keep nothing to read
        return c.tty, reader.read(opts)

    @property
    def default_log_driver(self) -> str:
        """The daemon's log-driver (what `docker info` shows as LoggingDriver)."""
        return self._default_log["Type"]

    def _log_config(self, c: Container) -> dict[str, Any]:
        return c.host_config.get("LogConfig") or self._default_log

    def _log_info(self, c: Container) -> LogInfo:
        """What the log drivers know of a container (dockerd's logger.Info)."""
        return LogInfo(
            container_id=c.id,
            name=c.name,
            image_id=c.image_id,
            image_name=c.config.get("Image") or "",
            created=c.created,
            entrypoint=c.path,
            args=tuple(c.args),
            labels=dict(c.config.get("Labels") or {}),
            env=tuple(c.config.get("Env") or ()),
            directory=self._root / c.id,
            log_path=Path(c.log_path) if c.log_path else None,
        )

    async def _open_log(self, c: Container, reattach: bool = False) -> BaseDriver:
        """The run's log driver. A driver that cannot start fails the start as dockerd's task
        creation does; on live restore the container keeps running and only its output is lost
        (a collector that is down is waited for in the background)."""
        try:
            return await open_log_driver(
                self._log_config(c), self._log_info(c), connect=not reattach
            )
        except errdefs.EngineError as exc:
            if reattach:
                log.warning("container %s keeps running without its log: %s", c.id[:12], exc)
                return NoneLog()
            message = f"failed to create task for container: {exc.message}"
            c.state.error = message
            c.state.exit_code = 128
            self._save(c)
            raise type(exc)(message) from None

    def attach(self, ref: str, opts: AttachOptions) -> tuple[Container, Subscriber | None]:
        """Subscribe to the container's output; None when there is nothing to stream."""
        c = self.get(ref)
        if not opts.stream:
            return c, None
        sub = Subscriber(stdout=opts.stdout, stderr=opts.stderr)
        if c.state.status == "exited" and not opts.stdin:
            sub.queue.put_nowait(None)
        self._subscribers.setdefault(c.id, set()).add(sub)
        return c, sub

    def detach(self, c: Container, sub: Subscriber) -> None:
        self._subscribers.get(c.id, set()).discard(sub)

    async def feed_stdin(
        self, c: Container, chunks: AsyncIterator[bytes | None], detach_keys: str
    ) -> bool:
        """Copy an attached client's input to the container's stdin until the client's EOF;
        True when the client typed the detach keys instead (the container keeps running).
        As dockerd's attach: the keys are looked for only on a TTY (piped input is data), and
        StdinOnce closes stdin at the first client's EOF only without one (closing a TTY's
        stdin makes the shim shut its console: no more input, resize or output)."""
        tty = bool(c.config.get("Tty"))
        keys = parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS)
        scanner = DetachScanner(keys) if tty else None
        async for chunk in chunks:
            live = await self._wait_started(c)
            if live is None or live.io.stdin is None:
                return False
            if chunk is None:
                break
            data, detached = scanner.feed(chunk) if scanner is not None else (chunk, False)
            if data:
                await live.io.stdin.write(data)
            if detached:
                self._event(c, "detach")
                return True
        if c.config.get("StdinOnce") and not tty:
            live = self._live.get(c.id)
            if live is not None and live.io.stdin is not None:
                live.io.stdin.close()
                with contextlib.suppress(errdefs.EngineError):
                    await self._runtime.close_stdin(c.id)
        return False

    async def _wait_started(self, c: Container) -> _Live | None:
        """Input may come before `start` (the CLI attaches first): hold it until the task is up."""
        for _ in range(600):
            live = self._live.get(c.id)
            if live is not None:
                await live.io.stdin_ready.wait()
                return live
            if c.id not in self._by_id or c.state.status == "exited":
                return None
            await asyncio.sleep(0.05)
        return None

    async def resize(self, ref: str, height: int, width: int) -> None:
        c = self.get(ref)
        if c.id not in self._live:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        await self._runtime.resize(c.id, width, height)

    # --------------------------------------------------------- daemon start/stop

    async def _watch_oom(self) -> None:
        """containerd's /tasks/oom events mark the container OOMKilled before its exit lands;
        the stream is re-opened after a containerd restart (events in the gap are lost)."""
        while True:
            try:
                async for _, event in self._runtime.subscribe("^/tasks/oom$"):
                    c = self._by_id.get(event.get("container_id", ""))
                    if c is not None:
                        c.state.oom_killed = True
                        self._save(c)
                        self._event(c, "oom")
            except errdefs.EngineError as exc:
                log.debug("oom event stream ended: %s", exc.message)
            await asyncio.sleep(1)

    async def load(self) -> None:
        """Load records, then bring each container's state in line with containerd's."""
        self._oom_watch = asyncio.create_task(self._watch_oom())
        for record in self._rows.load_all():
            c = Container.from_record(record)
            self._by_id[c.id] = c
            self._by_name[c.name] = c.id
        await self._forget_orphans()
        await asyncio.to_thread(free_stale_fifos, self._fifo_root)  # before tasks are asked
        tasks = {t.id: t for t in await self._runtime.list_tasks()}
        await self._runtime.reap_orphan_shims(tasks)
        for c in list(self._by_id.values()):
            await self._reconcile(c, tasks.get(c.id))
        for orphan in set(tasks) - set(self._by_id):
            log.info("deleting orphan task %s", orphan[:12])
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.delete(orphan)
        for c in list(self._by_id.values()):
            policy = RestartPolicy.from_api(c.host_config.get("RestartPolicy"))
            if c.state.status == "exited" and policy.restart_on_daemon_start(
                c.state.exit_code, c.manually_stopped
            ):
                try:
                    await self.start(c.id)
                except errdefs.EngineError as exc:
                    log.warning("restart policy: %s did not start: %s", c.id[:12], exc.message)

    async def _forget_orphans(self) -> None:
        """What a create cut short by a kill (its record is written last) left behind: the
        endpoints, layer holds and directories of a container that does not exist."""
        if self._networks is not None:
            self._networks.forget_containers(lambda cid: cid in self._by_id)
        for holder in self._images.holders():
            if holder not in self._by_id:
                await self._images.release_holds(holder)
        stale = [
            entry
            for root in (self._root, vfs.trees_root(self._data_root))
            if root.is_dir()
            for entry in root.iterdir()
            if _is_id(entry.name) and entry.name not in self._by_id
        ]
        for entry in stale:
            log.info("removing the directory of a container that was never created: %s", entry)
        await asyncio.to_thread(_remove_dirs, *stale)

    async def _reconcile(self, c: Container, task) -> None:
        if c.state.status == "removing":
            await self.remove(c.id, force=True, volumes=True)
            return
        if c.state.status == "restarting":  # the daemon stopped between exit and restart
            c.state.status = "exited"
        if task is not None and task.status in ("running", "paused", "created"):
            if task.status == "created":
                with contextlib.suppress(errdefs.EngineError):
                    await self._runtime.delete(c.id)
                self._mark_exited(c, 255, "container was not started when the daemon stopped")
                return
            await self._reattach(c, task)
            return
        if task is not None:
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.delete(c.id)
            if c.state.running:
                self._mark_exited(c, task.exit_status, "")
        elif c.state.running:
            self._mark_exited(c, 255, "")
        if c.auto_remove and c.state.status == "exited":
            await self.remove(c.id, force=True, volumes=True)

    def _mark_exited(self, c: Container, code: int, error: str) -> None:
        c.state = State(
            status="exited",
            exit_code=code,
            error=error,
            oom_killed=c.state.oom_killed,
            started_at=c.state.started_at,
            finished_at=now_rfc3339(),
            health=c.state.health,
        )
        self._save(c)

    async def _reattach(self, c: Container, task) -> None:
        """Live restore: pick up the FIFOs the shim still holds and watch the task again."""
        log_driver = await self._open_log(c, reattach=True)
        run_io = RunIO(task.io, log_driver, self._subscribers.setdefault(c.id, set()))
        await run_io.open(reattach=True)
        run_io.created()
        live = _Live(io=run_io)
        self._live[c.id] = live
        self._volumes.restore(c.id, c.mount_points)
        c.state.status = "paused" if task.status == "paused" else "running"
        c.state.pid = task.pid
        if c.paused_by_daemon:  # its commit died with the daemon that paused it
            if c.state.status == "paused":
                try:
                    await self._runtime.resume(c.id)
                    c.state.status = "running"
                    self._event(c, "unpause")
                except errdefs.EngineError as exc:
                    log.warning("%s stays paused: %s", c.id[:12], exc.message)
            c.paused_by_daemon = False
            self._save(c)
        exit_wait = asyncio.ensure_future(self._runtime.wait(c.id))
        live.monitor = asyncio.create_task(self._monitor(c, live, exit_wait))
        self._watch_health(c, live)

    def _watch_health(self, c: Container, live: _Live) -> None:
        """Start probing when the container has a health check (image HEALTHCHECK or flags)."""
        check = HealthConfig.from_api(c.config.get("Healthcheck"))
        if check is None:
            return
        if c.state.health is None:
            c.state.health = new_health()

        async def probe(argv: list[str], timeout: float) -> tuple[int, bytes]:
            _, process = await self.exec_process(c.id, "")
            process = {**process, "args": argv, "terminal": False}
            fifo_dir = self._fifo_root / c.id
            return await run_captured(self._runtime, c.id, process, fifo_dir, timeout)

        def on_change(status: str) -> None:
            self._save(c)
            if status:
                self._event(c, f"health_status: {status}")

        shell = list(c.config.get("Shell") or ["/bin/sh", "-c"])
        live.health = HealthMonitor(check, shell, c.state.health, probe, on_change)
        live.health.start()

    @property
    def live_restore(self) -> bool:
        return self._live_restore

    @live_restore.setter
    def live_restore(self, value: bool) -> None:
        """A configuration reload can turn it on or off; shutdown reads it."""
        self._live_restore = value

    def shutdown_timeout(self, minimum: int) -> int:
        """dockerd's ShutdownTimeout: `shutdown-timeout`, raised to any container's stop
        timeout plus 5 s of grace; -1 (wait for ever) when either is negative."""
        if minimum < 0:
            return -1
        timeout = minimum
        for c in self._by_id.values():
            stop = c.config.get("StopTimeout")
            stop = DEFAULT_STOP_TIMEOUT if stop is None else stop
            if stop < 0:
                return -1
            timeout = max(timeout, stop + 5)
        return timeout

    async def shutdown(self, timeout: int = -1) -> None:
        """With live restore, leave tasks running and just let go of them; else stop them all,
        each with its stop timeout, for at most `timeout` seconds in all (-1: no limit)."""
        if self._oom_watch is not None:
            self._oom_watch.cancel()
        self._closing.set()
        if not self._live_restore:
            stopping = asyncio.gather(
                *(self._stop(c, StopOptions()) for c in self._by_id.values() if c.state.running),
                return_exceptions=True,
            )
            try:
                await asyncio.wait_for(stopping, None if timeout < 0 else timeout)
            except TimeoutError:
                log.error("Force shutdown daemon")
        for live in list(self._live.values()):
            if live.health is not None:
                live.health.stop()
            if live.monitor is not None:
                live.monitor.cancel()
        lives = list(self._live.values())
        await asyncio.gather(*(live.io.let_go(DRAIN_IDLE) for live in lives))
        closing = [live.io.log.wait_closed() for live in self._live.values()]
        if closing:  # network log drivers deliver what they hold (bounded by their grace)
            await asyncio.gather(*closing, return_exceptions=True)
        for table in (self._exit_waiters, self._removed_waiters):
            for futures in table.values():
                for future in futures:
                    future.cancel()
            table.clear()


UPDATABLE_RESOURCES = (
    "BlkioWeight",
    "CpuShares",
    "CpuPeriod",
    "CpuQuota",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetCpus",
    "CpusetMems",
    "Memory",
    "MemoryReservation",
    "MemorySwap",
    "NanoCpus",
    "PidsLimit",
)


def _hc_int(hc: dict[str, Any], key: str) -> int:
    return int(hc.get(key) or 0)


def _host_config_defaults(host_config: dict[str, Any], shm_size: int) -> dict[str, Any]:
    """The HostConfig as inspect shows it: the client's values over dockerd's defaults (the
    daemon's default-shm-size where the client gave none, or 0)."""
    defaults: dict[str, Any] = {
        "Binds": None,
        "NetworkMode": "default",
        "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False,
        "CapAdd": None,
        "CapDrop": None,
        "Privileged": False,
        "ReadonlyRootfs": False,
        "LogConfig": {"Type": "json-file", "Config": {}},
    }
    defaults.update({k: v for k, v in host_config.items() if v is not None})
    defaults["ShmSize"] = defaults.get("ShmSize") or shm_size
    if not defaults.get("NetworkMode"):
        defaults["NetworkMode"] = "default"
    return defaults


def _reset_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _is_id(name: str) -> bool:
    """A container ID: 64 lowercase hex digits."""
    return len(name) == 64 and all(ch in "0123456789abcdef" for ch in name)


def _remove_dirs(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


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
