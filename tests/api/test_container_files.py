"""api/routers/container_files.py: archive, changes, export and commit over HTTP, on a fake."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dockerpy_engine import errdefs
from dockerpy_engine.api.app import register_routes
from dockerpy_engine.api.keys import FILES
from dockerpy_engine.api.middleware import error_middleware, version_middleware
from dockerpy_engine.api.routers import container_files
from dockerpy_engine.containers.files import NoSuchFile, PathArchive

STAT = {"name": "f", "size": 3, "mode": 420, "mtime": "2024-01-01T00:00:00Z", "linkTarget": ""}


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class FakeFiles:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def _check(self, ref: str, path: str = "/f") -> None:
        if ref != "web":
            raise errdefs.NoSuchContainer(ref)
        if path != "/f":
            raise NoSuchFile(path, ref)

    async def stat_path(self, ref: str, path: str) -> dict[str, Any]:
        self._check(ref, path)
        return STAT

    @contextlib.asynccontextmanager
    async def archive_path(self, ref: str, path: str) -> AsyncIterator[PathArchive]:
        self._check(ref, path)
        yield PathArchive(STAT, _chunks(b"tar", b"data"))

    async def extract_to_dir(self, ref: str, path: str, body, **options: bool) -> None:
        self._check(ref, path)
        data = b"".join([chunk async for chunk in body])
        self.calls.append(("extract", (data, options)))

    async def changes(self, ref: str) -> list[dict[str, Any]] | None:
        self._check(ref)
        return None

    @contextlib.asynccontextmanager
    async def export(self, ref: str) -> AsyncIterator[AsyncIterator[bytes]]:
        self._check(ref)
        yield _chunks(b"rootfs")

    async def commit(self, opts) -> str:
        self._check(opts.container)
        self.calls.append(("commit", opts))
        return "sha256:" + "a" * 64


@pytest.fixture
async def api():
    app = web.Application(middlewares=[error_middleware, version_middleware])
    files = FakeFiles()
    app[FILES] = files  # type: ignore[assignment]
    register_routes(app, container_files.ROUTES)
    client = TestClient(TestServer(app))
    await client.start_server()
    client.files = files  # type: ignore[attr-defined]
    yield client
    await client.close()


async def test_head_gives_the_stat_header(api):
    resp = await api.head("/v1.51/containers/web/archive", params={"path": "/f"})
    assert resp.status == 200
    header = resp.headers["X-Docker-Container-Path-Stat"]
    assert orjson.loads(base64.b64decode(header)) == STAT
    missing = await api.head("/containers/web/archive", params={"path": "/nope"})
    assert missing.status == 404


async def test_get_streams_the_tar(api):
    resp = await api.get("/containers/web/archive", params={"path": "/f"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/x-tar"
    assert "X-Docker-Container-Path-Stat" in resp.headers
    assert await resp.read() == b"tardata"


async def test_archive_errors(api):
    empty = await api.get("/containers/web/archive")
    assert empty.status == 400
    assert await empty.json() == {"message": "bad parameter: pathcannot be empty"}
    missing = await api.get("/containers/web/archive", params={"path": "/nope"})
    assert missing.status == 404
    assert await missing.json() == {"message": "Could not find the file /nope in container web"}
    nobody = await api.get("/containers/ghost/archive", params={"path": "/f"})
    assert await nobody.json() == {"message": "No such container: ghost"}


async def test_put_passes_the_body_and_flags(api):
    resp = await api.put(
        "/containers/web/archive",
        params={"path": "/f", "noOverwriteDirNonDir": "true", "copyUIDGID": "1"},
        data=b"tarbytes",
    )
    assert resp.status == 200
    assert api.files.calls == [
        ("extract", (b"tarbytes", {"no_overwrite_dir_non_dir": True, "copy_uid_gid": True}))
    ]


async def test_changes_and_export(api):
    changes = await api.get("/containers/web/changes")
    assert changes.status == 200 and await changes.read() == b"null"
    export = await api.get("/containers/web/export")
    assert export.headers["Content-Type"] == "application/x-tar"
    assert await export.read() == b"rootfs"


async def test_commit_query_and_body(api):
    resp = await api.post(
        "/v1.51/commit",
        params=[
            ("container", "web"),
            ("repo", "me/img"),
            ("tag", "1"),
            ("comment", "c"),
            ("author", "a"),
            ("changes", "ENV A=1"),
            ("changes", "CMD sh"),
        ],
        data=b"null",
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 201
    assert await resp.json() == {"Id": "sha256:" + "a" * 64}
    opts = api.files.calls[-1][1]
    assert (opts.repo, opts.tag, opts.comment, opts.author) == ("me/img", "1", "c", "a")
    assert opts.pause is True and opts.config is None
    assert opts.changes == ("ENV A=1", "CMD sh")
    await api.post("/commit", params={"container": "web", "pause": "0"}, json={"Env": ["X=1"]})
    opts = api.files.calls[-1][1]
    assert opts.pause is False and opts.config == {"Env": ["X=1"]}
    missing = await api.post("/commit", params={"container": "ghost"})
    assert missing.status == 404
