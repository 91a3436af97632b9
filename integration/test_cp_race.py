"""docker cp against a container that races it: while archives go in and out through a path,
a process in the container keeps swapping one of its directories for a symlink to a host
path. Whatever the timing, reads and writes stay inside the container (the walk is fd-based,
one component at a time, never following a link out of the root); and the daemon's socket
is not reachable from a container unless the user binds it in.
"""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import docker.errors

from .conftest import IMAGE, ok, out

ROUNDS = 300


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _file_in(stream) -> bytes | None:
    """The one file of a GET archive; None when it vanished between the stat and the tar
    (the daemon then ends the tar empty, as dockerd's walk skips what it cannot open)."""
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        members = tar.getmembers()
        extracted = tar.extractfile(members[0]) if members else None
        return extracted.read() if extracted is not None else None


def test_cp_through_a_racing_symlink_stays_inside(client, names, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret").write_bytes(b"host secret\n")
    # The container has its own copy of the victim's path (so a read through the link inside
    # the root finds the container's file) and flips /w/d: directory, link to the host path.
    script = (
        f"mkdir -p {victim} /w && echo inside > {victim}/secret && touch /ready && "
        f"while :; do mkdir /w/d 2>/dev/null; echo inside > /w/d/secret 2>/dev/null;"
        f" rm -rf /w/d; ln -s {victim} /w/d; rm -f /w/d; done"
    )
    name = names("race")
    container = client.containers.run(IMAGE, ["sh", "-c", script], name=name, detach=True)
    ok_puts = ok_gets = 0
    leaked: list[bytes] = []

    def reads() -> None:
        nonlocal ok_gets
        for _ in range(ROUNDS):
            try:
                stream, _stat = container.get_archive("/w/d/secret")
                data = _file_in(stream)
            except docker.errors.NotFound:
                continue
            if data is None:
                continue
            ok_gets += 1
            if data not in (b"inside\n", b""):  # b"": caught between the shell's > and echo
                leaked.append(data)

    reader = threading.Thread(target=reads)
    reader.start()
    try:
        for i in range(ROUNDS):
            try:
                if container.put_archive("/w/d", _tar(f"planted-{i}", b"planted\n")):
                    ok_puts += 1
            except docker.errors.APIError:
                pass  # the directory was gone at that instant: refused, as dockerd would
    finally:
        reader.join()
    assert sorted(p.name for p in victim.iterdir()) == ["secret"]
    assert (victim / "secret").read_bytes() == b"host secret\n"
    assert leaked == []
    # the race really ran both ways: some copies went through the directory, some were
    # refused or landed through the link (inside the container's own copy of the path)
    assert ok_puts > 0 and ok_gets > 0


def test_the_daemon_socket_is_only_there_when_bound(cli, daemon) -> None:
    socket = str(daemon.socket)
    result = cli("run", "--rm", IMAGE, "sh", "-c", f"test -e {socket} || echo absent")
    assert out(ok(result)) == "absent\n"
    bound = cli(
        "run", "--rm", "-v", f"{socket}:/var/run/docker.sock", IMAGE,
        "sh", "-c", "test -S /var/run/docker.sock && echo socket",
    )  # fmt: skip
    assert out(ok(bound)) == "socket\n"
