"""docker import of a URL: the daemon downloads the tar (from a server of ours on
127.0.0.1) and imports it as it streams, with dockerd's progress messages and errors."""

from __future__ import annotations

import gzip
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from .conftest import ok, out
from .registry import free_port
from .webapp import WebApp

BIG = 256 << 20  # the size of the one file in /big.tar


def _big_tar_parts() -> Iterator[bytes]:
    """A tar holding one BIG-byte file of zeros, made as it is sent (never whole anywhere)."""
    info = tarfile.TarInfo("big")
    info.size = BIG
    info.mode = 0o644
    yield info.tobuf(format=tarfile.PAX_FORMAT)
    block = bytes(1 << 20)
    for _ in range(BIG // len(block)):
        yield block
    yield bytes(1024)  # the two zero blocks that end an archive


class Files:
    """What the server serves; `requests` lists the paths asked for."""

    def __init__(self, rootfs: Path, tmp: Path) -> None:
        self.rootfs = rootfs
        self.gz = tmp / "rootfs.tar.gz"
        self.gz.write_bytes(gzip.compress(rootfs.read_bytes()))
        self.requests: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/{name}", self._get)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append(name)
        if name == "rootfs.tar":
            return web.FileResponse(self.rootfs)
        if name == "rootfs.tar.gz":
            return web.FileResponse(self.gz)
        if name == "denied.tar":
            return web.Response(status=403, text="go away\n")
        if name == "garbage.tar":
            return web.Response(body=b"this is no tar archive\n" * 100)
        if name in ("chunked.tar", "big.tar", "cut.tar"):
            response = web.StreamResponse()
            if name == "cut.tar":  # a length promised and not kept
                response.content_length = self.rootfs.stat().st_size
            else:
                response.enable_chunked_encoding()
            await response.prepare(request)
            if name == "big.tar":
                for part in _big_tar_parts():
                    await response.write(part)
            else:
                data = self.rootfs.read_bytes()
                data = data[: len(data) // 2] if name == "cut.tar" else data
                for start in range(0, len(data), 64 << 10):
                    await response.write(data[start : start + (64 << 10)])
            if name == "cut.tar":
                assert request.transport is not None
                request.transport.close()
                return response
            await response.write_eof()
            return response
        return web.Response(status=404, text="no such file\n")


@pytest.fixture(scope="module")
def files(busybox_tar: str, tmp_path_factory) -> Iterator[tuple[Files, str]]:
    """The file server and its base URL."""
    served = Files(Path(busybox_tar), tmp_path_factory.mktemp("served"))
    with WebApp(served.app) as server:
        yield served, server.url


def _stream(client, params: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
    """POST /images/create with `params`: the status and the JSON lines of the answer."""
    response = client.api.post(client.api._url("/images/create"), params=params)
    lines = [json.loads(line) for line in response.content.splitlines() if line.strip()]
    return response.status_code, lines


def test_cli_import_url_then_run(cli, files):
    served, base = files
    url = f"{base}/rootfs.tar"
    lines = out(ok(cli("import", url, "from-url:1"))).splitlines()
    assert lines[0] == f"Downloading from {url}"
    image_id = lines[-1]
    assert image_id.startswith("sha256:")
    try:
        assert out(ok(cli("run", "--rm", "from-url:1", "echo", "hello from a URL"))) == (
            "hello from a URL\n"
        )
        info = json.loads(out(ok(cli("image", "inspect", "from-url:1"))))[0]
        assert info["Id"] == image_id
        assert info["Comment"] == f"Imported from {url}"
        assert served.requests[-1] == "rootfs.tar"
    finally:
        cli("rmi", "from-url:1")


def test_progress_messages(client, files, busybox_tar):
    _, base = files
    url = f"{base}/rootfs.tar"
    status, lines = _stream(client, {"fromSrc": url, "repo": "progress", "tag": "1"})
    try:
        assert status == 200
        assert lines[0] == {"status": f"Downloading from {url}"}
        size = Path(busybox_tar).stat().st_size
        bars = [line for line in lines[1:-1] if line["status"] == "Importing"]
        assert bars and len(bars) == len(lines) - 2
        assert all(b["progressDetail"]["total"] == size for b in bars)
        assert bars[-1]["progressDetail"]["current"] == size
        assert bars[-1]["progress"].startswith("[" + "=" * 50 + ">]")
        assert lines[-1]["status"].startswith("sha256:")
        assert client.images.get("progress:1").id == lines[-1]["status"]
    finally:
        client.images.remove("progress:1")


def test_bare_host_gzip_chunked_and_message(client, files):
    """A source without a scheme is http (the comment keeps it as given); a gzipped tar is
    imported; a chunked answer (no length) has bars of sizes alone (total -1)."""
    _, base = files
    address = base.removeprefix("http://")
    status, lines = _stream(client, {"fromSrc": f"{address}/rootfs.tar.gz", "repo": "bare"})
    try:
        assert status == 200, lines
        assert lines[0] == {"status": f"Downloading from {base}/rootfs.tar.gz"}
        image = client.images.get("bare:latest")
        assert image.attrs["Comment"] == f"Imported from {address}/rootfs.tar.gz"
        output = client.containers.run("bare:latest", ["cat", "/bin/busybox"], remove=True)
        assert len(output) > 100_000
    finally:
        client.images.remove("bare:latest")

    status, lines = _stream(
        client, {"fromSrc": f"{base}/chunked.tar", "repo": "chunked", "message": "mine"}
    )
    try:
        assert status == 200, lines
        bars = [line for line in lines if line.get("status") == "Importing"]
        assert bars and all(b["progressDetail"]["total"] == -1 for b in bars)
        assert "[" not in bars[-1]["progress"]  # no bar without a total
        assert client.images.get("chunked:latest").attrs["Comment"] == "mine"
    finally:
        client.images.remove("chunked:latest")


def test_download_errors_are_ordinary_answers(cli, client, files):
    served, base = files
    result = cli("import", f"{base}/missing.tar", "missing:1")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        f"Error response from daemon: failed to GET {base}/missing.tar with status "
        "404 Not Found: no such file"
    )
    status, lines = _stream(client, {"fromSrc": f"{base}/denied.tar"})
    assert status == 403
    assert lines == [
        {"message": f"failed to GET {base}/denied.tar with status 403 Forbidden: go away"}
    ]

    port = free_port()
    result = cli("import", f"http://127.0.0.1:{port}/rootfs.tar", "refused:1")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        f'Error response from daemon: Get "http://127.0.0.1:{port}/rootfs.tar": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )

    before = len(served.requests)
    status, lines = _stream(client, {"fromSrc": f"{base}/rootfs.tar", "repo": "Bad Name"})
    assert status == 400
    assert "invalid reference format" in lines[0]["message"]
    assert len(served.requests) == before  # refused before any download


def test_failures_after_the_download_started_are_in_band(cli, files):
    _, base = files
    before = out(ok(cli("images", "-qa")))
    for name, error in (("garbage.tar", "invalid tar"), ("cut.tar", "unexpected EOF")):
        result = cli("import", f"{base}/{name}", "broken:1")
        assert result.returncode == 1, name
        assert out(result).splitlines() == [f"Downloading from {base}/{name}"]
        # in-band: the CLI prints the stream's error as it is, not as an error answer
        assert result.stderr.decode().startswith(error), result.stderr
    result = cli("import", "--change", "RUN true", f"{base}/rootfs.tar", "broken:1")
    assert result.returncode == 1
    assert "run is not a valid change command" in result.stderr.decode()
    assert out(ok(cli("images", "-qa"))) == before


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) << 10
    return 0


def test_big_import_streams(cli, daemon, files):
    """256 MiB through the daemon: its memory grows by a small part of that."""
    _, base = files
    assert daemon.proc is not None
    pid = daemon.proc.pid
    start = _rss(pid)
    peak = [start]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        ok(cli("import", f"{base}/big.tar", "big:1", timeout=300))
    finally:
        done.set()
        sampler.join()
    try:
        info = json.loads(out(ok(cli("image", "inspect", "big:1"))))[0]
        assert BIG <= info["Size"] < BIG + (1 << 20)
    finally:
        cli("rmi", "big:1")
    grown = peak[0] - start
    print(f"daemon RSS {start >> 20} MiB, peak {peak[0] >> 20} MiB during a 256 MiB import")
    assert grown < 64 << 20
