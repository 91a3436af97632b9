"""docker-compose (Debian's 1.29, with its own docker-py) drives a project on our daemon as it
would on dockerd: a built service, a healthcheck gating `depends_on`, service names over the
embedded DNS, a published port, a named volume, networks with IPAM, exec/run/scale, a
recreate and `down -v`.

Compose 1.29 reads the image's `ContainerConfig` when it recreates a container, which API 1.45
dropped; against dockerd 25 and later its users set `COMPOSE_API_VERSION=1.44`, and so do we.
A daemon of its own in a private network namespace; nothing leaves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .daemon import Daemon
from .netutil import netns_daemon, ok, wait_http

PROJECT = "dpycompose"
COMPOSE = """\
version: "3.8"
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8080", "-h", "/srv"]
    environment:
      GENERATION: "{generation}"
    volumes: [data:/srv]
    ports: ["18097:8080"]
    networks: [front, back]
    healthcheck:
      test: ["CMD", "test", "-f", "/srv/index.html"]
      interval: 1s
  seed:
    image: busybox:latest
    command: ["sh", "-c", "echo hi > /srv/index.html"]
    volumes: [data:/srv]
  client:
    image: busybox:latest
    command: ["sh", "-c", "wget -qO- http://web:8080/ && exec sleep 300"]
    depends_on:
      web:
        condition: service_healthy
    networks: [back]
  built:
    build: ./built
    command: ["cat", "/msg"]
volumes:
  data:
networks:
  front:
  back:
    ipam:
      config:
        - subnet: 10.78.0.0/24
"""


@pytest.fixture(scope="module")
def nd(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    yield from netns_daemon(netns, busybox_tar)


@pytest.fixture(scope="module")
def project(nd: Daemon, tmp_path_factory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("compose")
    (root / "built").mkdir()
    (root / "built" / "Dockerfile").write_text("FROM busybox:latest\nRUN echo built > /msg\n")
    (root / "docker-compose.yml").write_text(COMPOSE.format(generation=1))
    try:
        yield root
    finally:
        _compose(nd, root, "down", "-v", "--rmi", "local")


def _compose(nd: Daemon, root: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": nd.host, "COMPOSE_API_VERSION": "1.44"}
    return subprocess.run(
        ["docker-compose", "-p", PROJECT, *argv],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=180,
    )


def _service_ids(nd: Daemon, service: str) -> list[str]:
    labels = (f"com.docker.compose.project={PROJECT}", f"com.docker.compose.service={service}")
    filters = [arg for label in labels for arg in ("--filter", f"label={label}")]
    return ok(nd.cli("ps", "-aq", "--no-trunc", *filters)).split()


def _wait_for_log(nd: Daemon, root: Path, service: str, text: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        logs = ok(_compose(nd, root, "logs", "--no-color", service))
        if text in logs or time.monotonic() > deadline:
            return logs
        time.sleep(0.2)


def test_up_builds_orders_and_connects_the_services(nd: Daemon, project: Path, netns) -> None:
    ok(_compose(nd, project, "up", "-d", "seed"))
    ok(_compose(nd, project, "up", "-d"))
    assert "built" in _wait_for_log(nd, project, "built", "built")
    # the client started once web was healthy, and reached it by its service name
    assert "hi" in _wait_for_log(nd, project, "client", "hi")
    web = json.loads(ok(nd.cli("inspect", _service_ids(nd, "web")[0])))[0]
    assert web["State"]["Health"]["Status"] == "healthy"
    assert set(web["NetworkSettings"]["Networks"]) == {f"{PROJECT}_front", f"{PROJECT}_back"}
    client = json.loads(ok(nd.cli("inspect", _service_ids(nd, "client")[0])))[0]
    assert client["NetworkSettings"]["Networks"][f"{PROJECT}_back"]["IPAddress"].startswith(
        "10.78.0."
    )
    listing = ok(_compose(nd, project, "ps"))
    assert "Up (healthy)" in listing and "Exit 0" in listing
    assert "0.0.0.0:18097->8080/tcp" in listing
    page = wait_http(netns, "http://127.0.0.1:18097/index.html")
    assert page.returncode == 0 and page.stdout.decode().strip() == "hi"


def test_exec_run_and_scale(nd: Daemon, project: Path) -> None:
    assert ok(_compose(nd, project, "exec", "-T", "web", "cat", "/srv/index.html")) == "hi"
    ran = _compose(nd, project, "run", "--rm", "-T", "--no-deps", "client", "echo", "ran")
    assert ok(ran).splitlines()[-1] == "ran"
    ok(_compose(nd, project, "up", "-d", "--scale", "client=3", "client"))
    clients = _service_ids(nd, "client")
    assert len(clients) == 3
    for cid in clients:
        state = json.loads(ok(nd.cli("inspect", cid)))[0]["State"]
        assert state["Running"], state
    ok(_compose(nd, project, "up", "-d", "--scale", "client=1", "client"))
    assert len(_service_ids(nd, "client")) == 1


def test_a_changed_service_is_recreated_with_its_volume(nd: Daemon, project: Path) -> None:
    before = _service_ids(nd, "web")
    (project / "docker-compose.yml").write_text(COMPOSE.format(generation=2))
    up = _compose(nd, project, "up", "-d", "web")
    ok(up)
    assert f"Recreating {PROJECT}_web_1" in up.stderr.decode()
    after = _service_ids(nd, "web")
    assert len(after) == 1 and after != before
    env = json.loads(ok(nd.cli("inspect", after[0])))[0]["Config"]["Env"]
    assert "GENERATION=2" in env
    assert ok(_compose(nd, project, "exec", "-T", "web", "cat", "/srv/index.html")) == "hi"


def test_down_removes_what_up_made(nd: Daemon, project: Path) -> None:
    ok(_compose(nd, project, "down", "-v"))
    label = f"label=com.docker.compose.project={PROJECT}"
    assert ok(nd.cli("ps", "-aq", "--filter", label)) == ""
    assert ok(nd.cli("network", "ls", "-q", "--filter", label)) == ""
    assert ok(nd.cli("volume", "ls", "-q", "--filter", label)) == ""
