"""`docker load` cut short: by a client that goes away halfway through the body, and by a
daemon killed with SIGKILL while it registers the loaded layers. Either way no image may be
listed afterwards, the data root holds exactly the files it held before (image/blobs, layers,
tmp), after a restart too, and loading the whole archive then works.

A daemon of this module's own, so that it can be killed and restarted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .archives import config_digest, inspect_image, save_archive, tar_bytes
from .conftest import ok, out
from .daemon import Daemon, docker_cli

STORE_DIRS = ("image/blobs/sha256", "layers", "tmp")


@pytest.fixture(scope="module")
def own() -> Iterator[Daemon]:
    d = Daemon()
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


def _snapshot(d: Daemon) -> dict[str, list[str]]:
    """What a load could leave behind: the store's files, and the images listed."""
    state = {sub: sorted(os.listdir(d.data_root / sub)) for sub in STORE_DIRS}
    state["images"] = sorted(out(ok(d.cli("images", "-aq", "--no-trunc"))).split())
    return state


def _random_layer(name: str, size: int) -> bytes:
    return tar_bytes({name: os.urandom(size)})


def _eventually(check: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll `check` until it holds or `timeout` passes (a condition, never a duration)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except FileNotFoundError:  # a work dir went away while we looked
            pass
        time.sleep(0.005)
    return False


def _extracting(d: Daemon) -> bool:
    """A load's work dir under tmp/ has received file data."""
    return any(
        f.is_file() and f.stat().st_size > 0
        for work in (d.data_root / "tmp").glob("load-*")
        for f in work.rglob("*")
    )


def _load_works(d: Daemon, archive: bytes, tag: str) -> None:
    assert f"Loaded image: {tag}" in out(ok(d.cli("load", input=archive)))
    assert inspect_image(d.cli, tag)["Id"] == config_digest(archive)
    ok(d.cli("rmi", tag))


def test_client_gone_midway_leaves_nothing(own: Daemon) -> None:
    tag = "half-sent:1"
    layers = [_random_layer(f"l{i}.bin", 8 << 20) for i in range(3)]
    archive = save_archive(layers, tag)
    before = _snapshot(own)
    head = (
        "POST /images/load?quiet=1 HTTP/1.1\r\n"
        "Host: docker\r\n"
        "Content-Type: application/x-tar\r\n"
        f"Content-Length: {len(archive)}\r\n\r\n"
    ).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(own.socket))
        sock.sendall(head + archive[: len(archive) // 2])
        assert _eventually(lambda: _extracting(own)), "the daemon never started the load"
    # the connection is closed: the body ends halfway, the daemon must give up and clean up
    assert _eventually(lambda: os.listdir(own.data_root / "tmp") == []), os.listdir(
        own.data_root / "tmp"
    )
    assert _snapshot(own) == before
    own.stop()
    own.start()
    assert _snapshot(own) == before
    assert own.cli("image", "inspect", tag).returncode == 1
    _load_works(own, archive, tag)


def test_daemon_killed_mid_load_restarts_clean(own: Daemon, tmp_path: Path) -> None:
    """SIGKILL once the first layer is registered (its directory is in layers/) while the
    big second one is unpacked: the image does not exist yet, its first layer does."""
    tag = "killed-load:1"
    layers = [_random_layer("small.bin", 64 << 10), _random_layer("big.bin", 96 << 20)]
    archive = save_archive([*layers, _random_layer("last.bin", 64 << 10)], tag)
    path = tmp_path / "load.tar"
    path.write_bytes(archive)
    before = _snapshot(own)
    load = subprocess.Popen(
        [docker_cli(), "-H", own.host, "load", "-i", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        caught = _eventually(
            lambda: bool(set(os.listdir(own.data_root / "layers")) - set(before["layers"])),
            timeout=60,
        )
        own.kill9()
    finally:
        output = load.communicate(timeout=60)[0].decode()
    assert caught, "no layer of the load was ever registered"
    assert "Loaded image" not in output, "the load finished before the daemon was killed"
    own.start()
    assert _snapshot(own) == before
    assert own.cli("image", "inspect", tag).returncode == 1
    _load_works(own, archive, tag)
