"""Prometheus metrics on their own listener (`metrics-addr`), as dockerd's metrics server.

dockerd's own names where it has the figure (`engine_daemon_container_states_containers`,
`engine_daemon_events_subscribers_total`, `engine_daemon_engine_info`), and two of ours under
the same prefix: API latency per route and event-loop lag, the figure that says whether one
slow handler is holding every other request up. Counts are read at scrape time from the
services themselves, so they cannot drift from what `docker info` says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from .version import SERVER_VERSION

log = logging.getLogger(__name__)

# the classic text format, as dockerd's promhttp serves it to a plain scrape (every scraper
# reads it; prometheus-client's newest default announces 1.0.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LAG_INTERVAL = 0.5  # seconds between two event-loop lag probes
# API calls range from sub-millisecond pings to pulls of many seconds
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _Containers(Protocol):
    def all(self) -> Iterable[object]: ...


class _StateCounts(Collector):
    """engine_daemon_container_states_containers{state}: running, paused and stopped, counted
    the way `docker info` counts them."""

    def __init__(self, containers: _Containers, subscribers: Callable[[], int]) -> None:
        self._containers = containers
        self._subscribers = subscribers

    def collect(self) -> Iterable[Metric]:
        counts = {"running": 0, "paused": 0, "stopped": 0}
        for container in self._containers.all():
            status = container.state.status  # type: ignore[attr-defined]
            counts[status if status in ("running", "paused") else "stopped"] += 1
        states = GaugeMetricFamily(
            "engine_daemon_container_states_containers",
            "The count of containers in various states",
            labels=["state"],
        )
        for state, count in counts.items():
            states.add_metric([state], count)
        yield states
        yield GaugeMetricFamily(
            "engine_daemon_events_subscribers_total",
            "The number of current subscribers to events",
            value=self._subscribers(),
        )


class Metrics:
    """The daemon's registry (its own, not the process-global one) and what feeds it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_seconds = Histogram(
            "engine_daemon_api_request_duration_seconds",
            "Time to serve an API request, by method and route (streams: until they end)",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Gauge(
            "engine_daemon_event_loop_lag_seconds",
            "How late the event loop last ran a timer: time no request could be served",
            registry=self.registry,
        )
        self._info = Gauge(
            "engine_daemon_engine_info",
            "The information related to the engine and the OS it is running on",
            ["version", "daemon_id", "os_type"],
            registry=self.registry,
        )
        self._lag_task: asyncio.Task[None] | None = None

    def observe_request(self, method: str, route: str, seconds: float) -> None:
        self.request_seconds.labels(method, route).observe(seconds)

    def watch(self, containers: _Containers, subscribers: Callable[[], int], daemon_id: str):
        """Read container states and event subscribers from the live services."""
        self.registry.register(_StateCounts(containers, subscribers))
        self._info.labels(SERVER_VERSION, daemon_id, "linux").set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def start_lag_probe(self) -> None:
        self._lag_task = asyncio.get_running_loop().create_task(self._probe_lag())

    async def _probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_INTERVAL)
            self.loop_lag.set(max(0.0, loop.time() - started - LAG_INTERVAL))

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task


def metrics_app(metrics: Metrics) -> web.Application:
    """GET /metrics in Prometheus' text format, as dockerd's metrics mux serves it."""

    async def scrape(request: web.Request) -> web.Response:
        # on the loop, not a thread: the collectors read the services' live tables
        body = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app


def split_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` ([v6]:PORT too), as dockerd's metrics-addr."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"invalid metrics-addr {address!r}: want HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)
