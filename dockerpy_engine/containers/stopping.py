"""How a running container is stopped: its stop signal, then SIGKILL after its stop timeout
(dockerd's defaults and signal names), and how long a daemon shutdown waits for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal as signals
from collections.abc import Iterable

from .. import errdefs
from ..runtime import ContainerdRuntime
from .table import ContainerTable
from .types import Container, StopOptions

DEFAULT_STOP_TIMEOUT = 10


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


def shutdown_timeout(containers: Iterable[Container], minimum: int) -> int:
    """dockerd's ShutdownTimeout: `shutdown-timeout`, raised to any container's stop
    timeout plus 5 s of grace; -1 (wait for ever) when either is negative."""
    if minimum < 0:
        return -1
    timeout = minimum
    for c in containers:
        stop = c.config.get("StopTimeout")
        stop = DEFAULT_STOP_TIMEOUT if stop is None else stop
        if stop < 0:
            return -1
        timeout = max(timeout, stop + 5)
    return timeout


class Stopper:
    """Signals a running task and waits for its monitor to settle the exit."""

    def __init__(self, table: ContainerTable, runtime: ContainerdRuntime) -> None:
        self._table = table
        self._runtime = runtime

    async def stop(self, c: Container, opts: StopOptions) -> None:
        """Stop signal, then SIGKILL after the timeout; -1 waits forever, as dockerd."""
        default = parse_signal(c.config.get("StopSignal"), signals.SIGTERM)
        sig = parse_signal(opts.signal, default)
        timeout = opts.timeout
        if timeout is None:
            timeout = c.config.get("StopTimeout")
        if timeout is None:
            timeout = DEFAULT_STOP_TIMEOUT
        live = self._table.live.get(c.id)
        if live is None or live.monitor is None:
            return
        c.manually_stopped = True
        if c.state.status == "paused":  # a frozen process cannot take the stop signal
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.resume(c.id)
            c.state.status = "running"
        self._table.event(c, "kill", signal=str(sig))
        with contextlib.suppress(errdefs.NotFound):
            await self._runtime.kill(c.id, sig)
        wait_for = None if timeout < 0 else timeout
        try:
            await asyncio.wait_for(asyncio.shield(live.monitor), wait_for)
            return
        except TimeoutError:
            pass
        self._table.event(c, "kill", signal=str(int(signals.SIGKILL)))
        with contextlib.suppress(errdefs.NotFound):
            await self._runtime.kill(c.id, signals.SIGKILL, all=True)
        await asyncio.shield(live.monitor)

    async def kill_and_wait(self, c: Container) -> None:
        """SIGKILL to every process of the task (`docker rm -f`), then its exit settled."""
        c.manually_stopped = True
        live = self._table.live.get(c.id)
        with contextlib.suppress(errdefs.NotFound):
            await self._runtime.kill(c.id, signals.SIGKILL, all=True)
        if live is not None and live.monitor is not None:
            await asyncio.shield(live.monitor)
