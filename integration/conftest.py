"""Session fixtures: one real daemon (with its own containerd) and a busybox image in it."""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .archives import load_unique
from .daemon import REPO, Daemon
from .registry import Registry

IMAGE = "busybox:latest"


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("img") / "busybox.tar"
    subprocess.run([str(REPO / "hack" / "busybox-rootfs"), str(path)], check=True)
    return str(path)


@pytest.fixture(scope="session")
def daemon(busybox_tar: str) -> Iterator[Daemon]:
    d = Daemon()
    d.start()
    result = d.cli("import", busybox_tar, IMAGE)
    assert result.returncode == 0, result.stderr
    try:
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    """A private network namespace for a module's own daemon: bridges and iptables rules made
    there never touch the host's."""
    name = f"dpy-net-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    """A plain-HTTP registry (Debian's docker-registry) on 127.0.0.1 for a module's tests."""
    reg = Registry().start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def cli(daemon: Daemon):
    return daemon.cli


@pytest.fixture
def client(daemon: Daemon):
    c = daemon.client()
    yield c
    c.close()


def out(result) -> str:
    """A CLI result's standard output as text."""
    return result.stdout.decode()


def ok(result):
    """The result of a CLI call that must succeed (its stderr is the failure message)."""
    assert result.returncode == 0, result.stderr.decode()
    return result


@pytest.fixture
def image(cli, busybox_tar) -> Callable[..., str]:
    """Load a unique two-layer image (busybox plus a layer of its own) under the given name
    into the session daemon; returns its ID."""
    base = Path(busybox_tar).read_bytes()

    def load(name: str, text: bytes = b"hello from the registry\n") -> str:
        return load_unique(cli, base, name, text)

    return load


@pytest.fixture
def names(cli):
    """Unique names; their containers and images (`name:1`, `name:2`) go after the test."""
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        made.append(name)
        return name

    yield make
    for name in made:
        cli("rm", "-f", name)
    for name in made:
        cli("rmi", "-f", f"{name}:1", f"{name}:2")
