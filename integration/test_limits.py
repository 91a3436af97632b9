"""Request limits and slow clients against a real daemon (api/limits.py).

dockerd's budget for a request's headers (Go's 1 MiB), its ReadHeaderTimeout (shortened here
through DOCKERPY_READ_HEADER_TIMEOUT so that a test can watch it fire), a bounded JSON body, and
the promise behind them: a client that is too big, too slow or stops reading gets its own
connection refused or stalled while every other client, /_ping first, is still answered.
Nothing here asserts a timing beyond "answers at all within a generous bound".
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockerpy_engine.api.limits import MAX_HEADER_BYTES, MAX_JSON_BODY, READ_HEADER_TIMEOUT_ENV

from .conftest import IMAGE
from .daemon import Daemon, docker_cli

HEADER_TIMEOUT = 6.0  # the daemon's read-header timeout in this module (dockerd's: 5 minutes)
ANSWER_WITHIN = 10.0  # "answers at all": a ping slower than this counts as no answer
SLOW_CLIENTS = 150


@pytest.fixture(scope="module")
def limited(busybox_tar: str) -> Iterator[Daemon]:
    """A daemon of this module's own, with a short read-header timeout."""
    d = Daemon()
    d.start(env={**os.environ, READ_HEADER_TIMEOUT_ENV: str(HEADER_TIMEOUT)})
    try:
        result = d.cli("import", busybox_tar, IMAGE)
        assert result.returncode == 0, result.stderr
        yield d
    finally:
        d.cleanup()


def connect(daemon: Daemon, timeout: float = ANSWER_WITHIN) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(daemon.socket))
    return sock


def exchange(daemon: Daemon, request: bytes) -> tuple[int, bytes]:
    """Send one request (which asks for Connection: close) and read the whole answer: its
    status and body. The daemon may stop reading an over-limit request early; its answer is
    still there to read."""
    with connect(daemon) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), answer[:200]
    return int(head.split()[1]), body


def request(method: str, path: str, headers: dict[str, str] | None = None, body=b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: docker", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def ping(daemon: Daemon) -> bool:
    status, body = exchange(daemon, request("GET", "/_ping"))
    return status == 200 and body == b"OK"


def rss_kib(daemon: Daemon) -> int:
    assert daemon.proc is not None
    for line in Path(f"/proc/{daemon.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# --- sizes -----------------------------------------------------------------------------------


def test_cli_build_sends_every_registry_credential(limited, tmp_path):
    """`docker build` (the classic builder) puts every auth in config.json into one
    X-Registry-Config header; with many registries that is far past aiohttp's default 8190
    bytes per field, well within Go's 1 MiB."""
    auths = {
        f"registry{i}.example.com:5000": {
            "auth": base64.b64encode(f"user{i}:{'p' * 400}".encode()).decode()
        }
        for i in range(300)
    }
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"auths": auths}))
    assert len(base64.urlsafe_b64encode(json.dumps(auths).encode())) > 20 * 8190
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN echo built\n")
    env = {
        **os.environ,
        "DOCKER_HOST": limited.host,
        "DOCKER_CONFIG": str(config),
        "DOCKER_BUILDKIT": "0",
    }
    built = subprocess.run(
        [docker_cli(), "build", "-q", "-t", "many-auths:1", str(context)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr.decode()
    assert limited.cli("image", "inspect", "many-auths:1").returncode == 0
    limited.cli("rmi", "many-auths:1")


def test_a_header_within_go_limit_is_served(limited):
    header = {"X-Registry-Auth": "a" * (MAX_HEADER_BYTES - 4096)}
    assert exchange(limited, request("GET", "/_ping", header)) == (200, b"OK")


def test_a_header_past_go_limit_is_refused(limited):
    header = {"X-Registry-Auth": "a" * (MAX_HEADER_BYTES + 1)}
    status, body = exchange(limited, request("GET", "/_ping", header))
    assert status == 400
    assert f"Got more than {MAX_HEADER_BYTES} bytes".encode() in body, body[:300]
    assert ping(limited)


def test_a_request_line_past_go_limit_is_refused(limited):
    filters = "x" * (MAX_HEADER_BYTES + 1)
    status, body = exchange(limited, request("GET", f"/containers/json?filters={filters}"))
    assert status == 400
    assert f"Got more than {MAX_HEADER_BYTES} bytes".encode() in body, body[:300]
    assert ping(limited)


def test_too_many_header_fields_are_refused(limited):
    headers = {f"X-Field-{i}": "v" for i in range(200)}
    status, body = exchange(limited, request("GET", "/_ping", headers))
    assert status == 400
    assert b"Too many headers" in body, body[:300]
    assert ping(limited)


def _create_with_label(limited: Daemon, size: int) -> tuple[int, dict]:
    config = {"Image": IMAGE, "Cmd": ["true"], "Labels": {"big": "v" * size}}
    body = json.dumps(config).encode()
    status, answer = exchange(limited, request("POST", "/containers/create", body=body))
    return status, json.loads(answer)


def test_a_json_body_past_the_limit_is_413(limited):
    status, answer = _create_with_label(limited, MAX_JSON_BODY + 1)
    assert (status, answer) == (413, {"message": "http: request body too large"})
    assert ping(limited)


def test_a_json_body_within_the_limit_is_served(limited):
    status, answer = _create_with_label(limited, MAX_JSON_BODY - 4096)
    assert status == 201, answer
    inspect = json.loads(limited.cli("inspect", answer["Id"]).stdout)
    assert len(inspect[0]["Config"]["Labels"]["big"]) == MAX_JSON_BODY - 4096
    limited.cli("rm", answer["Id"])


# --- slow clients ----------------------------------------------------------------------------


class Trickle:
    """Slowloris: connections that each send one byte of an endless header a second; each
    is marked dropped when the daemon closes it."""

    def __init__(self, daemon: Daemon, count: int) -> None:
        self.sockets = [connect(daemon, timeout=1.0) for _ in range(count)]
        self.dropped: set[int] = set()
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()

    def _run(self) -> None:
        header = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Slow: " + b"a" * 100_000
        position = 0
        while not self._stop.is_set():
            byte = header[position % len(header) : position % len(header) + 1]
            for index, sock in enumerate(self.sockets):
                if index in self.dropped:
                    continue
                try:
                    sock.send(byte)
                except OSError:
                    self.dropped.add(index)
            position += 1
            self.sent = position
            self._stop.wait(1.0)

    def all_dropped(self) -> bool:
        return len(self.dropped) == len(self.sockets)


def test_slow_header_clients_do_not_hold_ping_and_are_dropped(limited):
    """150 connections trickle headers a byte a second: /_ping and a listing still answer
    all along, and the daemon drops every trickler once the read-header timeout is up."""
    with Trickle(limited, SLOW_CLIENTS) as trickle:
        pings = 0
        while not trickle.all_dropped():
            assert ping(limited), "no /_ping answer during the slow-client attack"
            pings += 1
            status, _ = exchange(limited, request("GET", "/containers/json?all=1"))
            assert status == 200
            time.sleep(0.2)
            assert trickle.sent < HEADER_TIMEOUT + 60, (
                f"{len(trickle.dropped)} of {SLOW_CLIENTS} slow clients dropped"
            )
        assert trickle.sent >= 2  # they really were trickling while we pinged
        assert pings >= 2


def test_a_silent_connection_is_dropped(limited):
    """A client that connects and says nothing is closed after the read-header timeout, as
    Go's first ReadHeaderTimeout does (no answer, just the end of the connection)."""
    with connect(limited, timeout=HEADER_TIMEOUT + 60) as sock:
        assert sock.recv(1) == b""


def test_an_idle_keepalive_connection_is_dropped(limited):
    """After an answer, the next request's headers have the same time to come."""
    with connect(limited, timeout=HEADER_TIMEOUT + 60) as sock:
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
        answer = b""
        while not answer.endswith(b"OK"):
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        assert sock.recv(1) == b""


@pytest.fixture
def big_container(limited) -> Iterator[str]:
    """An exited container with a 64 MiB file in its rootfs and 20 MB of logs."""
    name = "limits-big"
    lines = "yes 0123456789012345678901234567890123456789012345678901234567890123456789 | "
    made = limited.cli(
        "run",
        "--name",
        name,
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        f"dd if=/dev/urandom of=/blob bs=1M count=64 2>/dev/null && {lines}head -n 270000",
        timeout=120,
    )
    assert made.returncode == 0, made.stderr.decode()
    try:
        yield name
    finally:
        limited.cli("rm", "-f", name)


@pytest.mark.parametrize("path", ["/containers/{}/export", "/containers/{}/logs?stdout=1"])
def test_a_client_that_stops_reading_holds_only_its_connection(limited, big_container, path):
    """A client takes the answer's headers and stops reading a big export or logs: the
    stream waits on that one connection (its buffer full), /_ping and a listing are answered
    meanwhile, and the daemon does not pile the unread answer up in memory."""
    before = rss_kib(limited)
    with connect(limited) as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(request("GET", path.format(big_container)))
        assert stalled.recv(4096).startswith(b"HTTP/1.1 200")
        for _ in range(10):
            assert ping(limited), "no /_ping answer while a client does not read"
            status, _ = exchange(limited, request("GET", "/containers/json?all=1"))
            assert status == 200
            time.sleep(0.2)
        grown = rss_kib(limited) - before
    assert grown < 32 * 1024, f"RSS grew by {grown} KiB for an unread 64 MiB answer"
    assert ping(limited)
