"""Session fixtures: one real daemon (with its own containerd) and a busybox image in it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from .daemon import REPO, Daemon

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


@pytest.fixture
def cli(daemon: Daemon):
    return daemon.cli


@pytest.fixture
def client(daemon: Daemon):
    c = daemon.client()
    yield c
    c.close()
