"""Health checks (HEALTHCHECK / --health-*): probes run as execs, with dockerd's state machine.

Status goes `starting` → `healthy` after a passing probe, → `unhealthy` after `Retries`
failures in a row (failures during the start period do not count). The log keeps the last 5
probes; output is cut at 4 KiB. Probes run every `StartInterval` during the start period and
every `Interval` after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .types import now_rfc3339

log = logging.getLogger(__name__)

NS = 1_000_000_000
DEFAULT_INTERVAL = 30 * NS
DEFAULT_TIMEOUT = 30 * NS
DEFAULT_START_INTERVAL = 5 * NS
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096

# A probe runs argv in the container with a timeout and gives (exit code, output).
Probe = Callable[[list[str], float], Awaitable[tuple[int, bytes]]]


@dataclass(frozen=True, slots=True)
class HealthConfig:
    test: list[str]
    interval: float
    timeout: float
    start_period: float
    start_interval: float
    retries: int

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> HealthConfig | None:
        """None when there is no check (absent, empty, or ["NONE"])."""
        if not data:
            return None
        test = list(data.get("Test") or [])
        if not test or test[0] == "NONE":
            return None

        def seconds(key: str, default: int) -> float:
            return (data.get(key) or default) / NS

        return cls(
            test=test,
            interval=seconds("Interval", DEFAULT_INTERVAL),
            timeout=seconds("Timeout", DEFAULT_TIMEOUT),
            start_period=seconds("StartPeriod", 0),
            start_interval=seconds("StartInterval", DEFAULT_START_INTERVAL),
            retries=int(data.get("Retries") or DEFAULT_RETRIES),
        )

    def argv(self, shell: list[str]) -> list[str]:
        """CMD runs as given; CMD-SHELL through the container's shell (default /bin/sh -c)."""
        if self.test[0] == "CMD-SHELL":
            return [*shell, " ".join(self.test[1:])]
        if self.test[0] == "CMD":
            return self.test[1:]
        return self.test


def new_health() -> dict[str, Any]:
    return {"Status": "starting", "FailingStreak": 0, "Log": []}


def record(health: dict[str, Any], start: str, code: int, output: bytes, in_start_period: bool,
           retries: int) -> str:  # fmt: skip
    """Add one probe's result; returns the new status (dockerd's rules)."""
    entry = {
        "Start": start,
        "End": now_rfc3339(),
        "ExitCode": code,
        "Output": output[:MAX_OUTPUT].decode("utf-8", "replace"),
    }
    health["Log"] = [*health["Log"], entry][-MAX_LOG_ENTRIES:]
    if code == 0:
        health["FailingStreak"] = 0
        health["Status"] = "healthy"
    elif not (in_start_period and health["Status"] == "starting"):
        health["FailingStreak"] += 1
        if health["FailingStreak"] >= retries:
            health["Status"] = "unhealthy"
    return health["Status"]


class HealthMonitor:
    """Probes one running container until stopped; reports status changes to `on_status`."""

    def __init__(
        self,
        config: HealthConfig,
        shell: list[str],
        health: dict[str, Any],
        probe: Probe,
        on_change: Callable[[str], None],
    ) -> None:
        self._config = config
        self._argv = config.argv(shell)
        self._health = health
        self._probe = probe
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            in_start = loop.time() - started < self._config.start_period
            await asyncio.sleep(self._config.start_interval if in_start else self._config.interval)
            in_start = loop.time() - started < self._config.start_period
            begin = now_rfc3339()
            try:
                code, output = await self._probe(self._argv, self._config.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a probe that could not run counts as a failure
                code, output = -1, str(exc).encode()
            before = self._health["Status"]
            after = record(self._health, begin, code, output, in_start, self._config.retries)
            with contextlib.suppress(Exception):
                self._on_change(after if after != before else "")
