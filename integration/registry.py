"""Registries for integration tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1.

`Registry` runs one with its storage in a temp dir: plain HTTP, with htpasswd basic auth,
with TLS (optionally requiring client certificates), or behind `TokenServer`, a small aiohttp
token service (its own thread and loop) that signs ES256 JWTs the registry checks against a
trustme CA. It can also listen on another address inside a test's network namespace, where a
daemon of its own reaches it. Everything stops by pid and is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REGISTRY_BIN = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(pid: int, port: int) -> bool:
    """Whether process `pid`'s network namespace has a TCP socket listening on `port`: read
    from /proc/<pid>/net/tcp, so it works for a server in another namespace (nsenter execs it,
    keeping the pid), where a connection from the test's own namespace could not tell."""
    try:
        lines = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:  # LISTEN
            return True
    return False


def htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd line: apache2-utils' htpasswd, else Python's bcrypt if installed."""
    tool = shutil.which("htpasswd")
    if tool:
        out = subprocess.run([tool, "-nbB", user, password], check=True, capture_output=True)
        return out.stdout.decode().strip()
    import bcrypt  # type: ignore[import-not-found]

    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}"


class Registry:
    """One docker-registry process; `host` is what image names use (`127.0.0.1:<port>`)."""

    def __init__(
        self,
        *,
        htpasswd: dict[str, str] | None = None,
        token: TokenServer | None = None,
        tls: tuple[Path, Path] | None = None,
        client_cas: Path | None = None,
        netns: str | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        """`tls` is (certificate, key); `client_cas` (with `tls`) makes the registry require
        a client certificate signed by that CA; `netns` runs it inside that network namespace
        (a name under /var/run/netns, or a path such as /proc/<pid>/ns/net), listening on
        `address` (an address of that namespace)."""
        self.base = Path(tempfile.mkdtemp(prefix="dpy-registry-"))
        self.port = free_port()
        self.address = address
        self.host = f"{address}:{self.port}"
        self.storage = self.base / "data"
        self.proc: subprocess.Popen[bytes] | None = None
        self._htpasswd = htpasswd
        self._token = token
        self._tls = tls
        self._client_cas = client_cas
        self._netns = netns

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
            f"  secret: {secrets.token_hex(16)}",
        ]
        if self._tls is not None:
            lines += ["  tls:", f"    certificate: {self._tls[0]}", f"    key: {self._tls[1]}"]
            if self._client_cas is not None:
                lines += ["    clientcas:", f"      - {self._client_cas}"]
        if self._htpasswd is not None:
            path = self.base / "htpasswd"
            path.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in self._htpasswd.items()))
            lines += ["auth:", "  htpasswd:", "    realm: basic-realm", f"    path: {path}"]
        if self._token is not None:
            lines += [
                "auth:",
                "  token:",
                f"    realm: {self._token.url}/token",
                f"    service: {self._token.service}",
                f"    issuer: {self._token.issuer}",
                f"    rootcertbundle: {self._token.bundle}",
            ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> Registry:
        config = self.base / "config.yml"
        config.write_text(self._config())
        self.log = self.base / "registry.log"
        enter = []
        if self._netns:
            path = self._netns if "/" in self._netns else f"/var/run/netns/{self._netns}"
            enter = ["nsenter", f"--net={path}"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [*enter, REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        scheme = "https" if self._tls else "http"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            if listening(self.proc.pid, self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not listen on {self.host} ({scheme})")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
        shutil.rmtree(self.base, ignore_errors=True)

    def blob_path(self, digest: str) -> Path:
        hexpart = digest.partition(":")[2]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """A plain request to the registry (tests check what it holds)."""
        request = urllib.request.Request(f"http://{self.host}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A Docker token service (distribution's token spec) for one registry, in a thread.

    Users in `users` get what they ask for; anonymous callers get nothing; a GET with
    `offline_token=true` returns a refresh token, which the OAuth2 POST accepts.
    """

    service = "dpy-test-registry"
    issuer = "dpy-test-issuer"

    def __init__(self, users: dict[str, str]) -> None:
        import trustme
        from cryptography.hazmat.primitives import serialization

        self.users = users
        self.base = Path(tempfile.mkdtemp(prefix="dpy-token-"))
        ca = trustme.CA()
        leaf = ca.issue_cert("token-signer")
        self.bundle = self.base / "root.crt"
        ca.cert_pem.write_to_path(str(self.bundle))
        pem = leaf.cert_chain_pems[0].bytes()
        from cryptography import x509

        der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        self._x5c = [base64.b64encode(der).decode()]
        self._key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.refresh_tokens: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None

    def _sign(self, subject: str, access: list[dict[str, Any]]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": self._x5c}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    @staticmethod
    def _access(scopes: list[str]) -> list[dict[str, Any]]:
        access = []
        for scope in scopes:
            for item in scope.split(" "):
                parts = item.split(":")
                if len(parts) >= 3:
                    kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
        return access

    async def _get(self, request: Any) -> Any:
        from aiohttp import web

        query = request.query
        self.requests.append({"method": "GET", **{k: query.getall(k) for k in query}})
        user = ""
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(name) != password or not name:
                return web.json_response({"details": "incorrect username or password"}, status=401)
            user = name
        access = self._access(query.getall("scope", [])) if user else []
        body: dict[str, Any] = {"token": self._sign(user, access), "expires_in": 300}
        if user and query.get("offline_token") == "true":
            refresh = secrets.token_hex(16)
            self.refresh_tokens[refresh] = user
            body["refresh_token"] = refresh
        return web.json_response(body)

    async def _post(self, request: Any) -> Any:
        from aiohttp import web

        form = await request.post()
        self.requests.append({"method": "POST", **{k: form.getall(k) for k in form}})
        if form.get("grant_type") != "refresh_token":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        user = self.refresh_tokens.get(str(form.get("refresh_token")))
        if user is None:
            return web.json_response({"details": "invalid refresh token"}, status=401)
        scopes = str(form.get("scope", "")).split()
        return web.json_response(
            {"access_token": self._sign(user, self._access(scopes)), "expires_in": 300}
        )

    def start(self) -> TokenServer:
        from aiohttp import web

        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/token", self._get)
            app.router.add_post("/token", self._post)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="token-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("token server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        shutil.rmtree(self.base, ignore_errors=True)


def corrupt(path: Path) -> None:
    """Flip bytes in the middle of a stored blob, keeping its size."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + 16, len(data))):
        data[i] ^= 0xFF
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
