"""The containers across a daemon restart (dockerd's live-restore). At start: the records
loaded and brought in line with containerd's tasks (running ones re-attached and watched again,
what a kill cut short finished or forgotten, restart policies applied). At shutdown: the tasks
let go of, running on for the next daemon, or, without live restore, stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .. import errdefs
from ..images import ImageStore
from ..runtime import ContainerdRuntime, free_stale_fifos
from ..volumes import VolumeService
from . import _shm
from .dirs import ContainerDirs, remove_dirs
from .io import RunIO
from .monitor import DRAIN_IDLE, Monitor
from .restart import RestartPolicy
from .stopping import Stopper
from .streams import ContainerStreams
from .table import ContainerTable, Live
from .types import Container, StopOptions
from .waiters import Waiters

if TYPE_CHECKING:
    from ..networks import NetworkService

log = logging.getLogger(__name__)


class LiveRestore:
    """`start` starts a container by reference (its restart policy at daemon start); `remove`
    force-removes one with its anonymous volumes (a removal or auto-remove cut short)."""

    def __init__(
        self,
        table: ContainerTable,
        runtime: ContainerdRuntime,
        images: ImageStore,
        networks: NetworkService | None,
        volumes: VolumeService,
        dirs: ContainerDirs,
        streams: ContainerStreams,
        monitor: Monitor,
        stopper: Stopper,
        waiters: Waiters,
        *,
        live_restore: bool,
        start: Callable[[str], Awaitable[None]],
        remove: Callable[[str], Awaitable[None]],
    ) -> None:
        self._table = table
        self._runtime = runtime
        self._images = images
        self._networks = networks
        self._volumes = volumes
        self._dirs = dirs
        self._streams = streams
        self._monitor = monitor
        self._stopper = stopper
        self._waiters = waiters
        self.live_restore = live_restore  # a configuration reload can turn it on or off
        self._start = start
        self._remove = remove
        self.closing = asyncio.Event()  # set when shutdown begins: endless streams end on it

    # ---------------------------------------------------------------- start

    async def load(self) -> None:
        """Load records, then bring each container's state in line with containerd's."""
        self._monitor.start_oom_watch()
        self._table.load()
        await self._forget_orphans()
        await asyncio.to_thread(free_stale_fifos, self._dirs.fifo_root)  # before tasks are asked
        tasks = {t.id: t for t in await self._runtime.list_tasks()}
        await self._runtime.reap_orphan_shims(tasks)
        for c in list(self._table.by_id.values()):
            await self._reconcile(c, tasks.get(c.id))
        for orphan in set(tasks) - set(self._table.by_id):
            log.info("deleting orphan task %s", orphan[:12])
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.delete(orphan)
        for c in list(self._table.by_id.values()):
            policy = RestartPolicy.from_api(c.host_config.get("RestartPolicy"))
            if c.state.status == "exited" and policy.restart_on_daemon_start(
                c.state.exit_code, c.manually_stopped
            ):
                try:
                    await self._start(c.id)
                except errdefs.EngineError as exc:
                    log.warning("restart policy: %s did not start: %s", c.id[:12], exc.message)

    async def _forget_orphans(self) -> None:
        """What a create cut short by a kill (its record is written last) left behind: the
        endpoints, layer holds and directories of a container that does not exist."""
        known = self._table.by_id.__contains__
        if self._networks is not None:
            self._networks.forget_containers(known)
        for holder in self._images.holders():
            if not known(holder):
                await self._images.release_holds(holder)
        stale = self._dirs.stale(known)
        for entry in stale:
            log.info("removing the directory of a container that was never created: %s", entry)
        await asyncio.to_thread(remove_dirs, *stale)

    async def _reconcile(self, c: Container, task) -> None:
        if task is None or task.status not in ("running", "paused"):
            # a kill between mounting a shareable /dev/shm and the task's start, or before
            # the monitor's unmount, leaves the tmpfs of a container that is not running
            await asyncio.to_thread(_shm.unmount, self._dirs.shm(c.id))
        if c.state.status == "removing":
            await self._remove(c.id)
            return
        if c.state.status == "restarting":  # the daemon stopped between exit and restart
            c.state.status = "exited"
        if task is not None and task.status in ("running", "paused", "created"):
            if task.status == "created":
                with contextlib.suppress(errdefs.EngineError):
                    await self._runtime.delete(c.id)
                self._table.mark_exited(c, 255, "container was not started when the daemon stopped")
                return
            await self._reattach(c, task)
            return
        if task is not None:
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.delete(c.id)
            if c.state.running:
                self._table.mark_exited(c, task.exit_status, "")
        elif c.state.running:
            self._table.mark_exited(c, 255, "")
        if c.auto_remove and c.state.status == "exited":
            await self._remove(c.id)

    async def _reattach(self, c: Container, task) -> None:
        """Live restore: pick up the FIFOs the shim still holds and watch the task again."""
        log_driver = await self._streams.open_log(c, reattach=True)
        run_io = RunIO(task.io, log_driver, self._table.subscribers.setdefault(c.id, set()))
        await run_io.open(reattach=True)
        run_io.created()
        live = Live(io=run_io)
        self._table.live[c.id] = live
        self._volumes.restore(c.id, c.mount_points)
        c.state.status = "paused" if task.status == "paused" else "running"
        c.state.pid = task.pid
        if c.paused_by_daemon:  # its commit died with the daemon that paused it
            if c.state.status == "paused":
                try:
                    await self._runtime.resume(c.id)
                    c.state.status = "running"
                    self._table.event(c, "unpause")
                except errdefs.EngineError as exc:
                    log.warning("%s stays paused: %s", c.id[:12], exc.message)
            c.paused_by_daemon = False
            self._table.save(c)
        exit_wait = asyncio.ensure_future(self._runtime.wait(c.id))
        self._monitor.watch(c, live, exit_wait)

    # ------------------------------------------------------------- shutdown

    async def shutdown(self, timeout: int = -1) -> None:
        """With live restore, leave tasks running and just let go of them; else stop them all,
        each with its stop timeout, for at most `timeout` seconds in all (-1: no limit)."""
        self._monitor.stop_oom_watch()
        self.closing.set()
        if not self.live_restore:
            stopping = asyncio.gather(
                *(
                    self._stopper.stop(c, StopOptions())
                    for c in self._table.by_id.values()
                    if c.state.running
                ),
                return_exceptions=True,
            )
            try:
                await asyncio.wait_for(stopping, None if timeout < 0 else timeout)
            except TimeoutError:
                log.error("Force shutdown daemon")
        self._monitor.stop_watching()
        lives = list(self._table.live.values())
        await asyncio.gather(*(live.io.let_go(DRAIN_IDLE) for live in lives))
        closing = [live.io.log.wait_closed() for live in self._table.live.values()]
        if closing:  # network log drivers deliver what they hold (bounded by their grace)
            await asyncio.gather(*closing, return_exceptions=True)
        self._waiters.cancel_all()
