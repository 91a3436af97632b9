"""Running containers watched: one monitor task per run waits on containerd's Tasks.Wait and
settles the exit (output drained, task deleted, state and waiters updated, restart policy or
auto-remove applied); health probes; OOM kills from containerd's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .. import errdefs
from ..runtime import ContainerdRuntime
from ..runtime.types import ExitStatus
from ..volumes import VolumeService
from . import _shm
from .dirs import ContainerDirs
from .health import HealthConfig, HealthMonitor, new_health
from .probe import run_captured
from .restart import Backoff, RestartPolicy
from .table import ContainerTable, Live
from .taskspec import TaskSpecs
from .types import Container
from .waiters import Waiters

if TYPE_CHECKING:
    from ..networks import NetworkService

log = logging.getLogger(__name__)

DRAIN_IDLE = 2.0  # dockerd waits 2 s for the output; we wait while it still flows (io.py)


class Monitor:
    """Owns the monitors' side tasks: policy restarts, auto-removals and the OOM watch.

    `start` starts a container whose lock the caller holds (a policy restart); `remove`
    force-removes one with its anonymous volumes (auto-remove)."""

    def __init__(
        self,
        table: ContainerTable,
        runtime: ContainerdRuntime,
        networks: NetworkService | None,
        volumes: VolumeService,
        dirs: ContainerDirs,
        specs: TaskSpecs,
        waiters: Waiters,
        *,
        start: Callable[[Container], Awaitable[None]],
        remove: Callable[[str], Awaitable[None]],
    ) -> None:
        self._table = table
        self._runtime = runtime
        self._networks = networks
        self._volumes = volumes
        self._dirs = dirs
        self._specs = specs
        self._waiters = waiters
        self._start = start
        self._remove = remove
        self._background: set[asyncio.Task[None]] = set()
        self._backoff: dict[str, Backoff] = {}
        self._restarts: dict[str, asyncio.Task[None]] = {}
        self._oom_watch: asyncio.Task[None] | None = None

    def watch(self, c: Container, live: Live, exit_wait: asyncio.Future[ExitStatus]) -> None:
        """Watch a run whose task exits when `exit_wait` resolves, and probe its health."""
        live.monitor = asyncio.create_task(self._monitor(c, live, exit_wait))
        self._watch_health(c, live)

    async def _monitor(
        self, c: Container, live: Live, exit_wait: asyncio.Future[ExitStatus]
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
        await asyncio.to_thread(_shm.unmount, self._dirs.shm(c.id))
        await self._volumes.release(c.id, c.mount_points)
        self._table.live.pop(c.id, None)
        if live.health is not None:
            live.health.stop()
        self._table.mark_exited(c, status.code, "")
        ran = str(int(time.monotonic() - live.started))  # whole seconds, as dockerd's
        self._table.event(c, "die", exitCode=str(status.code), execDuration=ran)
        self._waiters.exited(c.id, status.code)
        policy = RestartPolicy.from_api(c.host_config.get("RestartPolicy"))
        if policy.should_restart(status.code, c.manually_stopped, c.restart_count):
            delay = self._backoff.setdefault(c.id, Backoff()).next(time.monotonic() - live.started)
            c.state.status = "restarting"
            self._table.save(c)
            self._restarts[c.id] = asyncio.create_task(self._restart_later(c, delay))
            return
        self._table.save(c)
        if c.auto_remove:
            # A task of its own: a `docker rm -f` may be holding the container's lock while it
            # waits for this monitor to finish, and the removal needs that lock.
            task = asyncio.create_task(self._auto_remove(c))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _auto_remove(self, c: Container) -> None:
        with contextlib.suppress(errdefs.EngineError):
            await self._remove(c.id)

    async def _restart_later(self, c: Container, delay: float) -> None:
        """The restart policy's next start, after the back-off delay; stop or rm cancel it."""
        try:
            await asyncio.sleep(delay)
            async with self._table.lock(c.id):
                if c.state.status != "restarting" or c.id not in self._table.by_id:
                    return
                c.restart_count += 1
                try:
                    await self._start(c)
                except errdefs.EngineError as exc:
                    log.warning("restart of %s failed: %s", c.id[:12], exc.message)
                    c.state.status = "exited"
                    self._table.save(c)
        finally:
            self._restarts.pop(c.id, None)

    def cancel_restart(self, c: Container) -> bool:
        """Stand a pending policy restart down; True when there was one."""
        task = self._restarts.pop(c.id, None)
        if task is None:
            return False
        task.cancel()
        c.state.status = "exited"
        self._table.save(c)
        return True

    def _watch_health(self, c: Container, live: Live) -> None:
        """Start probing when the container has a health check (image HEALTHCHECK or flags)."""
        check = HealthConfig.from_api(c.config.get("Healthcheck"))
        if check is None:
            return
        if c.state.health is None:
            c.state.health = new_health()

        async def probe(argv: list[str], timeout: float) -> tuple[int, bytes]:
            process = await self._specs.exec_process(self._table.get(c.id), "")
            process = {**process, "args": argv, "terminal": False}
            fifo_dir = self._dirs.fifos(c.id)
            return await run_captured(self._runtime, c.id, process, fifo_dir, timeout)

        def on_change(status: str) -> None:
            self._table.save(c)
            if status:
                self._table.event(c, f"health_status: {status}")

        shell = list(c.config.get("Shell") or ["/bin/sh", "-c"])
        live.health = HealthMonitor(check, shell, c.state.health, probe, on_change)
        live.health.start()

    def start_oom_watch(self) -> None:
        self._oom_watch = asyncio.create_task(self._watch_oom())

    def stop_oom_watch(self) -> None:
        if self._oom_watch is not None:
            self._oom_watch.cancel()

    async def _watch_oom(self) -> None:
        """containerd's /tasks/oom events mark the container OOMKilled before its exit lands;
        the stream is re-opened after a containerd restart (events in the gap are lost)."""
        while True:
            try:
                async for _, event in self._runtime.subscribe("^/tasks/oom$"):
                    c = self._table.by_id.get(event.get("container_id", ""))
                    if c is not None:
                        c.state.oom_killed = True
                        self._table.save(c)
                        self._table.event(c, "oom")
            except errdefs.EngineError as exc:
                log.debug("oom event stream ended: %s", exc.message)
            await asyncio.sleep(1)

    def stop_watching(self) -> None:
        """Shutdown: the monitors and probes end; the tasks run on (or were stopped)."""
        for live in list(self._table.live.values()):
            if live.health is not None:
                live.health.stop()
            if live.monitor is not None:
                live.monitor.cancel()
