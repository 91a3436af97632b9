"""metrics.py and the request-timing middleware: what a Prometheus scrape of the daemon shows."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.middleware import error_middleware, request_timing
from dockerpy_engine.containers.types import Container, State
from dockerpy_engine.metrics import Metrics, metrics_app, split_address


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class Table:
    """The containers table as the collector reads it (ContainerService.all)."""

    def __init__(self, *statuses: str) -> None:
        self.containers = [
            Container(f"id{i}", f"/c{i}", "", "", "sh", [], {}, {}, State(status=status))
            for i, status in enumerate(statuses)
        ]

    def all(self) -> list[Container]:
        return self.containers


async def scrape(metrics: Metrics) -> tuple[str, str]:
    async with TestClient(TestServer(metrics_app(metrics))) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        return response.headers["Content-Type"], await response.text()


async def inspect(request: web.Request) -> web.Response:
    return web.json_response({"Id": request.match_info["id"]})


async def test_requests_are_timed_per_route_whatever_the_ids_and_versions():
    metrics = Metrics()
    app = web.Application(middlewares=[request_timing(metrics.observe_request), error_middleware])
    register_routes(app, [web.get("/containers/{id}/json", inspect)])
    async with TestClient(TestServer(app)) as client:
        for path in ("/containers/a/json", "/v1.47/containers/b/json", "/nope"):
            await (await client.get(path)).read()

    _, text = await scrape(metrics)

    found = samples(text)
    route = (("method", "GET"), ("route", "/containers/{id}/json"))
    assert found[("engine_daemon_api_request_duration_seconds_count", route)] == 2
    unmatched = (("method", "GET"), ("route", "unmatched"))
    assert found[("engine_daemon_api_request_duration_seconds_count", unmatched)] == 1


async def test_container_states_are_counted_as_docker_info_counts_them():
    metrics = Metrics()
    metrics.watch(Table("running", "running", "paused", "exited", "created"), lambda: 4, "eid")

    content_type, text = await scrape(metrics)

    assert content_type.startswith("text/plain; version=0.0.4")
    found = samples(text)
    states = "engine_daemon_container_states_containers"
    assert found[(states, (("state", "running"),))] == 2
    assert found[(states, (("state", "paused"),))] == 1
    assert found[(states, (("state", "stopped"),))] == 2
    assert found[("engine_daemon_events_subscribers_total", ())] == 4
    [info] = [k for k in found if k[0] == "engine_daemon_engine_info"]
    assert ("daemon_id", "eid") in info[1]


async def test_the_event_loop_lag_gauge_is_exposed():
    metrics = Metrics()
    metrics.start_lag_probe()
    try:
        _, text = await scrape(metrics)
    finally:
        await metrics.stop()

    assert ("engine_daemon_event_loop_lag_seconds", ()) in samples(text)


def test_metrics_addresses():
    assert split_address("127.0.0.1:9323") == ("127.0.0.1", 9323)
    assert split_address("[::1]:9323") == ("::1", 9323)
    assert split_address(":9323") == ("0.0.0.0", 9323)


def test_a_metrics_address_without_a_port_is_refused():
    with pytest.raises(ValueError, match="want HOST:PORT"):
        split_address("127.0.0.1")
