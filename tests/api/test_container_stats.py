"""api/routers/container_stats.py: top and stats over HTTP against a fake container service."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine import errdefs
from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import CONTAINERS
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import container_stats
from dockerpy_engine.containers import stats, top
from dockerpy_engine.containers.types import Container, State

from ..containers.test_stats import V1

CID = "c" * 64


class FakeRuntime:
    async def pids(self, container_id: str) -> list[int]:
        return [729]

    async def metrics_dict(self, container_id: str) -> tuple[str, dict[str, Any]]:
        return stats.V1_METRICS, copy.deepcopy(V1)


class FakeService:
    def __init__(self) -> None:
        self.containers = {
            "web": Container(
                id=CID,
                name="/web",
                created="",
                image_id="",
                path="sleep",
                args=[],
                config={},
                host_config={},
                state=State(status="running", pid=729),
            ),
            "off": Container(
                id="d" * 64,
                name="/off",
                created="",
                image_id="",
                path="true",
                args=[],
                config={},
                host_config={},
                state=State(status="exited"),
            ),
        }
        self.runtime = FakeRuntime()
        self.closing = asyncio.Event()
        self.events: list[str] = []

    def get(self, ref: str) -> Container:
        for name, c in self.containers.items():
            if ref in (name, c.id):
                return c
        raise errdefs.NoSuchContainer(ref)

    def log_event(self, c: Container, action: str) -> None:
        self.events.append(action)


@pytest.fixture
async def api():
    app = web.Application(middlewares=[error_middleware, version_middleware])
    svc = FakeService()
    app[CONTAINERS] = svc  # type: ignore[assignment]
    register_routes(app, container_stats.ROUTES)
    client = TestClient(TestServer(app))
    await client.start_server()
    client.svc = svc  # type: ignore[attr-defined]
    yield client
    await client.close()


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(stats, "INTERVAL", 0.01)


async def test_top(api, monkeypatch):
    async def fake_run_ps(argv):
        assert argv == ["ps", "aux", "-q729"]
        return 0, b"USER PID COMMAND\nroot 729 sleep 1000\nroot 1 init\n", b""

    monkeypatch.setattr(top, "run_ps", fake_run_ps)
    resp = await api.get("/v1.51/containers/web/top", params={"ps_args": "aux"})
    assert resp.status == 200
    assert await resp.json() == {
        "Processes": [["root", "729", "sleep 1000"]],
        "Titles": ["USER", "PID", "COMMAND"],
    }
    assert api.svc.events == ["top"]


async def test_top_errors(api):
    missing = await api.get("/containers/nope/top")
    assert missing.status == 404
    assert await missing.json() == {"message": "No such container: nope"}
    stopped = await api.get("/containers/off/top")
    assert stopped.status == 409
    assert await stopped.json() == {"message": f"Container {'d' * 64} is not running"}


async def test_stats_no_stream_is_one_document(api, fast):
    resp = await api.get("/v1.51/containers/web/stats", params={"stream": "false"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    body = await resp.read()
    sample = orjson.loads(body)
    assert sample["name"] == "/web" and sample["id"] == CID
    assert sample["preread"] != stats.ZERO_TIME  # primed by a first reading
    assert sample["memory_stats"]["usage"] == 724992


async def test_stats_one_shot_and_its_version_gate(api):
    resp = await api.get("/v1.51/containers/web/stats?stream=0&one-shot=1")
    assert (await resp.json())["preread"] == stats.ZERO_TIME
    both = await api.get("/v1.51/containers/web/stats?stream=1&one-shot=1")
    assert both.status == 400
    assert await both.json() == {"message": "cannot have stream=true and one-shot=true"}
    # before 1.41 one-shot does not exist: ignored, so no conflict with the default stream
    old = await api.get("/v1.40/containers/off/stats?stream=0&one-shot=1")
    assert old.status == 200


async def test_stats_of_a_stopped_container_without_stream(api):
    resp = await api.get("/containers/off/stats?stream=false")
    assert await resp.read() == orjson.dumps(stats.empty_stats("/off", "d" * 64))


async def test_stats_unknown_container_is_404_before_any_stream(api):
    resp = await api.get("/containers/nope/stats")
    assert resp.status == 404
    assert await resp.json() == {"message": "No such container: nope"}


async def test_stats_stream_sends_a_document_per_line(api, fast):
    resp = await api.get("/containers/web/stats")
    assert resp.status == 200
    first = orjson.loads(await resp.content.readline())
    second = orjson.loads(await resp.content.readline())
    assert first["preread"] == stats.ZERO_TIME
    assert second["preread"] == first["read"]
    resp.close()


async def test_stats_stream_ends_when_the_container_is_removed(api, fast):
    resp = await api.get("/containers/web/stats")
    await resp.content.readline()
    del api.svc.containers["web"]
    async with asyncio.timeout(5):
        rest = await resp.read()
    assert rest.count(b"\n") <= 2
