"""`dockerpy create/run` flags against the real docker CLI: for the same command line both
must send the same POST /containers/create body (recorded by a proxy between the client and
the session daemon), so the daemon stores, and `inspect` shows, the same container; and the
same errors for values docker refuses, with the same statuses.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import IMAGE
from .daemon import docker_cli
from .test_cli_compat import DOCKERPY, assert_same_steps, compiled, run_pass, s

__all__ = ["compiled"]  # the fixture, used by name


class RecordingProxy:
    """Forwards HTTP between clients and the daemon's socket, keeping each request's line
    and body (keep-alive connections, chunked bodies; an upgraded stream is passed on raw)."""

    def __init__(self, path: Path, target: str) -> None:
        self.path = str(path)
        self.target = target
        self.requests: list[tuple[str, bytes]] = []
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def bodies(self, path_part: str) -> list[dict]:
        return [json.loads(body) for line, body in self.requests if path_part in line]

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(self.target)
        threading.Thread(target=_copy, args=(upstream, client), daemon=True).start()
        buf = b""

        def need(n: int) -> bytes:
            nonlocal buf
            while len(buf) < n:
                data = client.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            out, buf = buf[:n], buf[n:]
            return out

        def line() -> bytes:
            nonlocal buf
            while b"\r\n" not in buf:
                data = client.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            out, _, buf = buf.partition(b"\r\n")
            return out + b"\r\n"

        try:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    head += line()
                first, *fields = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
                raw = body = b""
                if "chunked" in headers.get("transfer-encoding", ""):
                    while True:
                        size_line = line()
                        size = int(size_line.strip() or b"0", 16)
                        chunk = need(size + 2)
                        raw, body = raw + size_line + chunk, body + chunk[:size]
                        if size == 0:
                            break
                else:
                    raw = body = need(int(headers.get("content-length", 0)))
                self.requests.append((first, body))
                upstream.sendall(head + raw)
                if headers.get("upgrade"):
                    upstream.sendall(buf)
                    _copy(client, upstream)
                    return
        except (EOFError, OSError):
            pass
        finally:
            _shutdown(upstream)


def _copy(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    _shutdown(dst)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy(daemon, tmp_path: Path) -> Iterator[RecordingProxy]:
    p = RecordingProxy(tmp_path / "proxy.sock", str(daemon.socket))
    try:
        yield p
    finally:
        p.close()


# Command lines after `create`; `--pull never` where the create fails on a missing object,
# so that no client goes looking for the image on a registry.
BODIES = {
    "defaults": [IMAGE, "true"],
    "ports": [
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:9000-9001:9000-9001/udp",
        "-p",
        "53",
        "-p",
        "[::1]:7070:70",
        "-p",
        "target=90,published=9090,protocol=udp",
        "--expose",
        "7000-7001",
        "--expose",
        "6000/udp",
        "-P",
        IMAGE,
        "true",
    ],
    "volumes": [
        "-v",
        "/anon",
        "-v",
        "vol1:/data:ro",
        "-v",
        "./rel:/rel",
        "-v",
        "/a:/b:rw,z",
        "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700",
        "--mount",
        "type=volume,src=v2,dst=/v2,volume-opt=o=1,volume-label=a=b,ro",
        "--mount",
        "type=bind,src=/tmp,dst=/x,bind-propagation=rshared",
        "--tmpfs",
        "/run:size=1m",
        "--volume-driver",
        "local",
        IMAGE,
        "true",
    ],
    "resources": [
        "--ulimit",
        "nofile=100:200",
        "--ulimit",
        "nproc=50",
        "--shm-size",
        "64m",
        "--oom-score-adj",
        "5",
        "--oom-kill-disable",
        "-m",
        "64m",
        "--memory-reservation",
        "32m",
        "--memory-swap",
        "-1",
        "--memory-swappiness",
        "10",
        "-c",
        "512",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "50000",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "--blkio-weight",
        "300",
        "--blkio-weight-device",
        "/dev/sda:200",
        "--device-read-bps",
        "/dev/sda:1mb",
        "--device-write-iops",
        "/dev/sda:10",
        "--pids-limit",
        "20",
        "--cpus",
        "1.5",
        "--cgroup-parent",
        "mygroup",
        IMAGE,
        "true",
    ],
    "devices-security": [
        "--device",
        "/dev/null:/dev/mynull:r",
        "--device",
        "/dev/zero",
        "--device-cgroup-rule",
        "c 1:3 rw",
        "--cap-add",
        "NET_ADMIN",
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        "systempaths=unconfined",
        "--security-opt",
        "seccomp={seccomp}",
        "--group-add",
        "10",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--privileged",
        "--read-only",
        IMAGE,
        "true",
    ],
    "namespaces-dns": [
        "--cgroupns",
        "private",
        "--ipc",
        "shareable",
        "--pid",
        "host",
        "--uts",
        "host",
        "--userns",
        "host",
        "--dns",
        "1.1.1.1",
        "--dns-search",
        "example.com",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "h1:10.0.0.1",
        "--add-host",
        "h2=10.0.0.2",
        "--domainname",
        "dom",
        "-h",
        "host1",
        "--link",
        "a:b",
        "--storage-opt",
        "size=1G",
        "--runtime",
        "runc",
        "--annotation",
        "a=b",
        "--isolation",
        "default",
        "--pull",
        "never",
        IMAGE,
        "true",
    ],
    "config": [
        "-e",
        "A=1",
        "--env-file",
        "{envfile}",
        "-l",
        "x=y",
        "--label-file",
        "{labelfile}",
        "--stop-timeout",
        "3",
        "--stop-signal",
        "USR1",
        "--health-cmd",
        "true",
        "--health-interval",
        "5s",
        "--health-retries",
        "2",
        "--init",
        "--entrypoint",
        "sh",
        "-w",
        "/tmp",
        "-u",
        "1:2",
        "-it",
        "--restart",
        "on-failure:3",
        "--log-driver",
        "json-file",
        "--log-opt",
        "max-size=1m",
        IMAGE,
        "-c",
        "true",
    ],
    "attach-stdin": ["-a", "stdin", "-a", "STDOUT", "-i", IMAGE, "cat"],
    "networks": [
        "--network",
        "cmp-nonet",
        "--network-alias",
        "x",
        "--link",
        "c:d",
        "--ip",
        "10.1.1.1",
        "--ip6",
        "fd00::5",
        "--mac-address",
        "02:42:ac:11:00:02",
        "--link-local-ip",
        "169.254.1.1",
        "--pull",
        "never",
        IMAGE,
        "true",
    ],
    "network-host": ["--network", "host", IMAGE, "true"],
    "no-healthcheck-entrypoint": ["--no-healthcheck", "--entrypoint=", "--rm", IMAGE, "true"],
    "api-socket": ["--use-api-socket", IMAGE, "true"],
}


def _fill(argv: list[str], files: dict[str, str]) -> list[str]:
    return [a.format(**files) if "{" in a else a for a in argv]


def _create_bodies(cli: str, argv: list[str], proxy: RecordingProxy, cfg: Path) -> list[dict]:
    env = {**os.environ, "DOCKER_HOST": f"unix://{proxy.path}", "DOCKER_CONFIG": str(cfg)}
    proxy.requests.clear()
    p = subprocess.run([cli, "create", "--name", "cmp-body", *argv], capture_output=True, env=env)
    subprocess.run([docker_cli(), "rm", "-f", "cmp-body"], capture_output=True, env=env)
    bodies = proxy.bodies("/containers/create")
    for body in bodies:
        # docker fills Binds by ranging over a Go map of the -v values: its order is random
        binds = body.get("HostConfig", {}).get("Binds")
        if binds:
            binds.sort()
    return [*bodies, p.returncode, p.stderr.decode()]


@pytest.mark.parametrize("name", sorted(BODIES))
def test_create_body_as_docker(name: str, proxy, tmp_path: Path, compiled) -> None:
    """The whole body, key order aside, and the outcome of the create."""
    files = {
        "seccomp": str(tmp_path / "seccomp.json"),
        "envfile": str(tmp_path / "env"),
        "labelfile": str(tmp_path / "labels"),
    }
    Path(files["seccomp"]).write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n')
    Path(files["envfile"]).write_text("# comment\nB=2\n\nC=3\n")
    Path(files["labelfile"]).write_text("l1=v1\nl2\n")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    argv = _fill(BODIES[name], files)
    want = _create_bodies(docker_cli(), argv, proxy, cfg)
    got = _create_bodies(str(DOCKERPY), argv, proxy, cfg)
    assert len(want) == 3, want  # one create, its status and stderr
    assert got == want, "\n".join(_differences(want, got))


def _differences(want: object, got: object, path: str = "") -> list[str]:
    """Where two JSON documents differ, as `path: docker=... dockerpy=...` lines."""
    if isinstance(want, dict) and isinstance(got, dict):
        return [
            line
            for key in dict.fromkeys([*want, *got])
            for line in _differences(
                want.get(key, "<absent>"), got.get(key, "<absent>"), f"{path}.{key}"
            )
        ]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            line
            for i, (w, g) in enumerate(zip(want, got, strict=True))
            for line in _differences(w, g, f"{path}[{i}]")
        ]
    return [] if want == got else [f"{path}: docker={want!r} dockerpy={got!r}"]


# Values docker refuses (while reading the flags, in parse(), or the daemon), as compat steps.
_E = [IMAGE, "true"]
ERRORS = [
    s("create", *a, *_E)
    for a in (
        ["--dns", "x"],
        ["--dns-search", "bad..com"],
        ["--add-host", "bad"],
        ["--add-host", "h:notip"],
        ["--link", "a:b:c"],
        ["--device-cgroup-rule", "bad"],
        ["--sysctl", "bad"],
        ["--ulimit", "bad"],
        ["--ulimit", "nofile=a"],
        ["--ulimit", "nofile=10:5"],
        ["--mount", "bad"],
        ["--mount", "type=volume,tmpfs-size=1m,dst=/x"],
        ["--memory-swap", "x"],
        ["--blkio-weight", "x"],
        ["--blkio-weight-device", "x"],
        ["--device-read-bps", "/dev/sda:x"],
        ["--oom-score-adj", "x"],
        ["-p", "bad"],
        ["-p", "99999:80"],
        ["-p", "80:99999"],
        ["-p", "1-3:4-5"],
        ["--expose", "x"],
        ["--device", "rel"],
        ["--pid", "bad"],
        ["--uts", "bad"],
        ["--userns", "bad"],
        ["--cgroupns", "bad"],
        ["--security-opt", "bad"],
        ["--security-opt", "seccomp=/nonexistent"],
        ["--storage-opt", "bad"],
        ["--mac-address", "bad"],
        ["--memory-swappiness", "200"],
        ["--log-driver", "none", "--log-opt", "a=b"],
        ["--pull", "bad"],
        ["-v", "/a:/b:/c:/d"],
        ["-v", "a::b"],
        ["--gpus", "bad"],
        ["--label-file", "/nonexistent"],
        ["-a", "foo"],
        ["--network-alias", "x"],
        ["--restart", "always:x"],
        ["--rm", "--restart", "always"],
        ["--health-retries", "-1", "--health-cmd", "true"],
        ["--no-healthcheck", "--health-cmd", "true"],
        ["--cidfile", "/nonexistent/dir/cid"],
        ["--ipc", "bad"],
        ["--tmpfs", "rel"],
        ["--oom-kill-disable", "--dns", "127.0.0.1", "--pull", "never", "cmp-no-image"],
    )
] + [
    s("run", "-a", "foo", *_E),
    s("run", "-d", "-a", "stdout", *_E),
    s("run", "-p", "bad", *_E),
    s("run", "--pid", "bad", *_E),
    s("run", "--pull", "never", "cmp-no-image"),
    s("run", "--help"),
    s("create", "--help"),
]


def test_create_and_run_errors_as_docker(daemon, tmp_path: Path, compiled) -> None:
    want = run_pass([docker_cli()], ERRORS, daemon.host, tmp_path)
    got = run_pass([str(DOCKERPY)], ERRORS, daemon.host, tmp_path)
    assert_same_steps(want, got)
    assert all(status != 0 for *_, status in want[:-2]), want  # each one an error
