"""A container's streams as clients see them: its log configuration and the log driver each run
writes to, `docker logs` reading back what the driver kept, and attach (output subscribers,
stdin, the TTY's size).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .. import errdefs
from ..runtime import ContainerdRuntime
from .detach import DEFAULT_DETACH_KEYS, DetachScanner, parse_detach_keys
from .dirs import ContainerDirs
from .io import Subscriber
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
from .table import ContainerTable, Live
from .types import AttachOptions, Container, LogsOptions

log = logging.getLogger(__name__)


class ContainerStreams:
    """`default_log` is the daemon's log-driver and log-opts: containers without a
    LogConfig.Type get them."""

    def __init__(
        self,
        table: ContainerTable,
        runtime: ContainerdRuntime,
        dirs: ContainerDirs,
        default_log: dict[str, Any],
    ) -> None:
        self._table = table
        self._runtime = runtime
        self._dirs = dirs
        self._default_log = default_log

    # ----------------------------------------------------------------- logs

    @property
    def default_log_driver(self) -> str:
        return self._default_log["Type"]

    def log_config_for(self, requested: dict[str, Any] | None) -> dict[str, Any]:
        """A new container's LogConfig: the request's over the daemon's, checked."""
        log_config = merge_log_config(requested, self._default_log)
        validate_log_config(log_config)
        return log_config

    def logs(self, c: Container, opts: LogsOptions) -> AsyncIterator[LogEntry]:
        live = self._table.live.get(c.id)
        reader = open_log_reader(
            self._log_config(c), self._log_info(c), live.io.log if live is not None else None
        )  # raises Unimplemented (501) for drivers that keep nothing to read
        return reader.read(opts)

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
            directory=self._dirs.of(c.id),
            log_path=Path(c.log_path) if c.log_path else None,
        )

    async def open_log(self, c: Container, reattach: bool = False) -> BaseDriver:
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
            self._table.save(c)
            raise type(exc)(message) from None

    # --------------------------------------------------------------- attach

    def attach(self, c: Container, opts: AttachOptions) -> Subscriber | None:
        """Subscribe to the container's output; None when there is nothing to stream."""
        if not opts.stream:
            return None
        sub = Subscriber(stdout=opts.stdout, stderr=opts.stderr)
        if c.state.status == "exited" and not opts.stdin:
            sub.queue.put_nowait(None)
        self._table.subscribers.setdefault(c.id, set()).add(sub)
        return sub

    def detach(self, c: Container, sub: Subscriber) -> None:
        self._table.subscribers.get(c.id, set()).discard(sub)

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
                self._table.event(c, "detach")
                return True
        if c.config.get("StdinOnce") and not tty:
            live = self._table.live.get(c.id)
            if live is not None and live.io.stdin is not None:
                live.io.stdin.close()
                with contextlib.suppress(errdefs.EngineError):
                    await self._runtime.close_stdin(c.id)
        return False

    async def _wait_started(self, c: Container) -> Live | None:
        """Input may come before `start` (the CLI attaches first): hold it until the task is up."""
        for _ in range(600):
            live = self._table.live.get(c.id)
            if live is not None:
                await live.io.stdin_ready.wait()
                return live
            if c.id not in self._table.by_id or c.state.status == "exited":
                return None
            await asyncio.sleep(0.05)
        return None

    async def resize(self, c: Container, height: int, width: int) -> None:
        if c.id not in self._table.live:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        await self._runtime.resize(c.id, width, height)
