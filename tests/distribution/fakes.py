"""A fake registry (aiohttp) for unit tests: blobs, manifests, uploads, auth and faults."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from dockerpy_engine.distribution.client import RegistryClient
from dockerpy_engine.distribution.registries import Endpoint, RegistryConfig
from dockerpy_engine.distribution.types import AuthConfig


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class FakeRegistry:
    """State and behaviour switches of the fake; `requests` records what clients sent."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    auth: str = ""  # "", "basic" or "bearer"
    users: dict[str, str] = field(default_factory=lambda: {"me": "pw"})
    drop_after: dict[str, list[int]] = field(default_factory=dict)  # digest -> cut points
    ignore_range: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)

    # -- auth -------------------------------------------------------------------------

    def _challenge(self, request: web.Request, scope: str = "") -> web.Response:
        if self.auth == "basic":
            header = 'Basic realm="fake"'
        else:
            base = f"http://{request.host}"
            header = f'Bearer realm="{base}/token",service="fake-registry"'
            if scope:
                header += f',scope="{scope}"'
        body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        return web.json_response(body, status=401, headers={"WWW-Authenticate": header})

    def _authorized(self, request: web.Request, scope: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not self.auth:
            return True
        if self.auth == "basic":
            if not header.startswith("Basic "):
                return False
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return self.users.get(user) == password
        if not header.startswith("Bearer "):
            return False
        granted = json.loads(base64.b64decode(header[7:]).decode())["scopes"]
        if not scope:
            return True
        _, name, wanted = scope.rsplit(":", 2)
        for item in granted:
            _, granted_name, actions = item.rsplit(":", 2)
            if granted_name == name and set(wanted.split(",")) <= set(actions.split(",")):
                return True
        return False

    async def token(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            form = await request.post()
            self.token_requests.append({"method": "POST", **dict(form)})
            if form.get("refresh_token") not in self.refresh_tokens:
                return web.json_response({"details": "bad refresh token"}, status=401)
            scopes = str(form.get("scope", "")).split()
            return self._token_body(scopes, refresh=False)
        query = request.query
        self.token_requests.append(
            {
                "method": "GET",
                **{k: query.getall(k) for k in query},
                "auth": request.headers.get("Authorization", ""),
            }
        )
        header = request.headers.get("Authorization", "")
        if header:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return web.json_response({"details": "incorrect username or password"}, status=401)
            return self._token_body(query.getall("scope", []), refresh=True)
        return self._token_body([], refresh=False)

    def _token_body(self, scopes: list[str], refresh: bool) -> web.Response:
        token = base64.b64encode(json.dumps({"scopes": scopes}).encode()).decode()
        body: dict[str, Any] = {"token": token, "expires_in": 300}
        if refresh:
            body["refresh_token"] = "r-" + secrets.token_hex(4)
            self.refresh_tokens.add(body["refresh_token"])
        return web.json_response(body)

    # -- registry -----------------------------------------------------------------------

    @web.middleware
    async def record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/token":
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": dict(request.query),
                    "headers": dict(request.headers),
                }
            )
        return await handler(request)

    async def ping(self, request: web.Request) -> web.Response:
        if not self._authorized(request, ""):
            return self._challenge(request)
        return web.json_response({})

    def _scope(self, request: web.Request, action: str) -> str:
        return f"repository:{request.match_info['name']}:{action}"

    async def manifest(self, request: web.Request) -> web.StreamResponse:
        action = "push" if request.method == "PUT" else "pull"
        scope = self._scope(request, "pull,push" if action == "push" else "pull")
        if not self._authorized(request, scope):
            return self._challenge(request, scope)
        key = f"{request.match_info['name']}:{request.match_info['ref']}"
        if request.method == "PUT":
            raw = await request.read()
            self.manifests[key] = (raw, request.headers["Content-Type"])
            self.manifests[f"{request.match_info['name']}:{digest(raw)}"] = self.manifests[key]
            return web.Response(status=201, headers={"Docker-Content-Digest": digest(raw)})
        if key not in self.manifests:
            body = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
            return web.json_response(body, status=404)
        raw, media_type = self.manifests[key]
        return web.Response(body=raw, headers={"Content-Type": media_type})

    async def blob(self, request: web.Request) -> web.StreamResponse:
        scope = self._scope(request, "pull")
        if not self._authorized(request, scope):
            return self._challenge(request, scope)
        data = self.blobs.get(request.match_info["digest"])
        if data is None:
            body = {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]}
            return web.json_response(body, status=404)
        if request.method == "HEAD":
            return web.Response(headers={"Content-Length": str(len(data))})
        start = 0
        status = 200
        header = request.headers.get("Range", "")
        if header and not self.ignore_range:
            start = int(header.removeprefix("bytes=").split("-")[0])
            status = 206
        body = data[start:]
        response = web.StreamResponse(status=status)
        response.content_length = len(body)
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await response.prepare(request)
        cuts = self.drop_after.get(request.match_info["digest"])
        if cuts:
            cut = cuts.pop(0) - start
            await response.write(body[:cut])
            assert request.transport is not None
            request.transport.close()  # the connection drops mid-blob
            return response
        await response.write(body)
        await response.write_eof()
        return response

    async def start_upload(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        scope = self._scope(request, "pull,push")
        if not self._authorized(request, scope):
            return self._challenge(request, scope)
        mount = request.query.get("mount")
        if mount and mount in self.blobs:
            return web.Response(status=201, headers={"Location": f"/v2/{name}/blobs/{mount}"})
        upload = secrets.token_hex(8)
        self.uploads[upload] = bytearray()
        location = f"/v2/{name}/blobs/uploads/{upload}?_state=abc%3D"
        return web.Response(status=202, headers={"Location": location})

    async def patch_upload(self, request: web.Request) -> web.Response:
        upload = self.uploads[request.match_info["upload"]]
        async for chunk in request.content.iter_any():
            upload += chunk
        location = f"/v2/{request.match_info['name']}/blobs/uploads/{request.match_info['upload']}"
        return web.Response(status=202, headers={"Location": location + "?_state=next"})

    async def put_upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.pop(request.match_info["upload"])
        upload += await request.read()
        wanted = request.query["digest"]
        if digest(bytes(upload)) != wanted:
            body = {"errors": [{"code": "DIGEST_INVALID", "message": "digest invalid"}]}
            return web.json_response(body, status=400)
        self.blobs[wanted] = bytes(upload)
        return web.Response(status=201, headers={"Docker-Content-Digest": wanted})

    async def tags(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        tags = sorted(k.split(":", 1)[1] for k in self.manifests if k.startswith(name + ":"))
        return web.json_response({"name": name, "tags": [t for t in tags if "sha256" not in t]})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.record])
        name = "{name:[a-z0-9/._-]+?}"
        app.router.add_get("/v2/", self.ping)
        app.router.add_route("*", "/token", self.token)
        app.router.add_get(f"/v2/{name}/tags/list", self.tags)
        app.router.add_route("*", f"/v2/{name}/manifests/{{ref}}", self.manifest)
        app.router.add_post(f"/v2/{name}/blobs/uploads/", self.start_upload)
        app.router.add_patch(f"/v2/{name}/blobs/uploads/{{upload}}", self.patch_upload)
        app.router.add_put(f"/v2/{name}/blobs/uploads/{{upload}}", self.put_upload)
        app.router.add_route("*", f"/v2/{name}/blobs/{{digest}}", self.blob)
        return app


async def serve(fake: FakeRegistry) -> TestServer:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    return server


def repository(
    client: RegistryClient,
    server: TestServer,
    path: str = "repo",
    auth: AuthConfig | None = None,
    scopes: tuple[str, ...] = ("repository:repo:pull",),
):
    host = f"127.0.0.1:{server.port}"
    endpoint = Endpoint(f"http://{host}", host, verify=False)
    return client.repository(endpoint, path, auth or AuthConfig(), scopes)


def new_client() -> RegistryClient:
    return RegistryClient(RegistryConfig(certs_dirs=()), read_timeout=10)
