"""dockerpy's container commands against the real docker CLI (the method of
test_cli_compat.py, the per-pass directories and reset of test_cli_more.py): cp in both
directions (files, directories, symlinks with and without -L, tar on stdin and stdout), diff,
export, commit, port, update, stats --no-stream, attach, and their help pages and errors.

Besides stdout, stderr and exit status, the files `cp` wrote locally must be the same (names,
modes, mtimes, link targets), and `cp` with stdout on a terminal must print docker 28's
`Successfully copied <size> to <dest>` line on stderr.
"""

from __future__ import annotations

import io
import os
import pty
import re
import signal
import subprocess
import tarfile
import time
from pathlib import Path

from .conftest import IMAGE
from .test_cli_compat import normalise, s
from .test_cli_more import CLIENTS, _objects, compare, reset
from .test_cli_more import compiled as compiled  # the fixture, used by name

# live memory figures differ from one sample to the next: `372KiB / 64MiB  0.57%`, and in JSON
_MEMORY = re.compile(
    r'"MemPerc":"[^"]*","MemUsage":"[^"]*"|[\d.]+[KMGT]?i?B / [\d.]+[KMGT]?i?B  [\d.]+%'
)


def _stdin_tar() -> bytes:
    """A tar for `cp - CONTAINER:DIR`: a directory and a file, with fixed times."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        d = tarfile.TarInfo("fromstdin")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o750, 1700000000
        tar.addfile(d)
        f = tarfile.TarInfo("fromstdin/file.txt")
        f.size, f.mode, f.mtime = 6, 0o640, 1700000000
        tar.addfile(f, io.BytesIO(b"piped\n"))
    return buf.getvalue()


def _source_tree(root: Path) -> Path:
    """Local things to copy in: a file, a directory with a symlink and a hard link."""
    src = root / "src"
    (src / "dir" / "sub").mkdir(parents=True)
    (src / "local.txt").write_text("hello\n")
    (src / "dir" / "sub" / "x").write_text("1\n")
    (src / "dir" / "l").symlink_to("sub/x")
    os.link(src / "dir" / "sub" / "x", src / "dir" / "hard")
    for path in (src / "local.txt", src / "dir" / "sub" / "x"):
        os.utime(path, (1700000000, 1700000000))
    return src


def _tree(root: Path) -> list[tuple]:
    """What a local copy made: (path, mode, mtime, link target or content)."""
    out = []
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            what = os.readlink(path)
        elif path.is_file():
            what = path.read_bytes()
        else:
            what = None
        mtime = int(info.st_mtime) if not path.is_dir() else None  # dirs: touched by the copy
        out.append((str(path.relative_to(root)), oct(info.st_mode), mtime, what))
    return out


_SETUP = (  # fixed times, so both passes' copies compare equal
    "mkdir -p /data/sub && echo hi > /data/f && echo x > /data/sub/a && ln -s /data/f /data/lnk"
    " && touch -h -t 202401010000 /data/f /data/sub/a /data/lnk"
)


def test_cp(daemon, tmp_path: Path, compiled) -> None:
    src = _source_tree(tmp_path)
    steps = [
        s("run", "-d", "--name", "cmp-cp", IMAGE, "sleep", "300"),
        s("exec", "cmp-cp", "sh", "-c", _SETUP),
        s("cp", "cmp-cp:/data/f", "{out}/f"),
        s("container", "cp", "cmp-cp:/data", "{out}/data"),
        s("cp", "cmp-cp:/data", "{out}/data"),
        s("cp", "cmp-cp:/data/sub/", "{out}/"),
        s("cp", "-L", "cmp-cp:/data/lnk", "{out}/followed"),
        s("cp", "cmp-cp:/data/lnk", "{out}/link"),
        s("cp", "cmp-cp:/etc/passwd", "-"),
        s("cp", "-", "cmp-cp:/data", stdin=_stdin_tar()),
        s("cp", "-", "cmp-cp:/data/f", stdin=b""),
        s("cp", "{src}/local.txt", "cmp-cp:/data/new.txt"),
        s("cp", "-a", "{src}/local.txt", "cmp-cp:/data/f"),
        s("cp", "{src}/dir", "cmp-cp:/data/newdir"),
        s("cp", "{src}/dir", "cmp-cp:/data/newdir"),
        s("cp", "{src}/dir/.", "cmp-cp:/data/dot"),
        s("cp", "-L", "{src}/dir/l", "cmp-cp:/data/"),
        s("cp", "{src}/dir/l", "cmp-cp:/data/keptlink"),
        s("exec", "cmp-cp", "sh", "-c", "cd /data && find . | sort | xargs ls -ldn | cut -c1-10"),
        s("exec", "cmp-cp", "sh", "-c", "cd /data && find . -type l | sort | xargs readlink"),
        s("exec", "cmp-cp", "cat", "/data/f", "/data/fromstdin/file.txt"),
        s("cp", "a", "b"),
        s("cp", "cmp-cp:/a", "cmp-cp:/b"),
        s("cp", "cmp-cp:/nope", "{out}/x"),
        s("cp", "cmp-nope:/x", "{out}/x"),
        s("cp", "", "{out}/x"),
        s("cp", "{out}/x", ""),
        s("cp", "{src}/nope", "cmp-cp:/data"),
        s("cp", "cmp-cp:/data", "/nonexistent/x"),
        s("cp", "cmp-cp:/data"),
        s("cp", "--help"),
        s("container", "cp", "--help"),
    ]
    compare(daemon, tmp_path, steps, src=str(src))
    assert _tree(tmp_path / "dockerpy" / "out") == _tree(tmp_path / "docker" / "out")


def _on_a_terminal(argv: list[str], host: str) -> tuple[bytes, int]:
    """Run with stdout on a pseudo-terminal and stderr on a pipe: (stderr, status)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run(
            argv,
            stdout=slave,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "DOCKER_HOST": host},
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    return p.stderr, p.returncode


def test_cp_reports_the_copied_size_on_a_terminal(daemon, tmp_path: Path, compiled) -> None:
    src = _source_tree(tmp_path)
    keep = _objects(daemon.host)
    reset(daemon.host, keep)
    assert daemon.cli("run", "-d", "--name", "cmp-cptty", IMAGE, "sleep", "300").returncode == 0
    assert daemon.cli("exec", "cmp-cptty", "sh", "-c", _SETUP).returncode == 0
    try:
        results = {}
        for client, argv0 in CLIENTS.items():
            out = tmp_path / client
            out.mkdir()
            results[client] = [
                _on_a_terminal([*argv0, *argv], daemon.host)
                for argv in (
                    ["cp", f"{src}/local.txt", "cmp-cptty:/tmp/x.txt"],
                    ["cp", f"{src}/dir", "cmp-cptty:/tmp/d"],
                    ["cp", "cmp-cptty:/data", f"{out}/data"],
                    ["cp", "cmp-cptty:/data/f", f"{out}/f"],
                    ["cp", "-q", "cmp-cptty:/data/f", f"{out}/g"],
                    ["cp", "cmp-cptty:/nope", f"{out}/h"],
                )
            ]
        got = [
            (e.decode().replace(str(tmp_path / "dockerpy"), "<OUT>"), c)
            for e, c in results["dockerpy"]
        ]
        want = [
            (e.decode().replace(str(tmp_path / "docker"), "<OUT>"), c) for e, c in results["docker"]
        ]
        assert got == want
        assert want[0] == ("Successfully copied 2.05kB to cmp-cptty:/tmp/x.txt\n", 0)
    finally:
        reset(daemon.host, keep)


def test_diff_export_commit_port_update_stats(daemon, tmp_path: Path, compiled) -> None:
    steps = [
        s("run", "-d", "--name", "cmp-c", IMAGE, "sleep", "300"),
        s("exec", "cmp-c", "sh", "-c", "mkdir /tmp/d && echo x > /tmp/d/a && rm /etc/group"),
        s("diff", "cmp-c"),
        s("container", "diff", "cmp-nope"),
        s("diff"),
        s("export", "-o", "{out}/c.tar", "cmp-c"),
        s("container", "export", "--output", "/nonexistent/x.tar", "cmp-c"),
        s("export", "cmp-nope"),
        s(
            "commit",
            "-a",
            "me",
            "-m",
            "msg",
            "-c",
            "ENV A=1",
            "-c",
            'CMD ["sh"]',
            "cmp-c",
            "cmpm-c:1",
        ),
        s(
            "image",
            "inspect",
            "-f",
            "{{.Author}}|{{.Comment}}|{{.Config.Env}}|{{.Config.Cmd}}",
            "cmpm-c:1",
        ),
        s("container", "commit", "--pause=false", "cmp-c", "cmpm-c"),
        s("commit", "cmp-c", "Bad:Name"),
        s("commit", "-c", "NOPE x", "cmp-c"),
        s("commit", "cmp-c", "cmpm-c@sha256:" + "a" * 64),
        s("commit", "cmp-nope"),
        s("port", "cmp-c"),
        s("port", "cmp-c", "80"),
        s("container", "port", "cmp-c", "53/udp"),
        s("port", "cmp-c", "abc"),
        s("port", "cmp-c", "99999/udp"),
        s("port", "cmp-nope"),
        s("port", "cmp-c", "1", "2"),
        s("update", "-m", "64m", "--cpus", "0.5", "--restart", "on-failure:3", "cmp-c", "cmp-nope"),
        s(
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy}}",
            "cmp-c",
        ),
        s("container", "update", "--pids-limit", "100", "--cpu-shares", "512", "cmp-c"),
        s("update", "cmp-c"),
        s("update", "--restart", "bogus", "cmp-c"),
        s("update", "--cpus", "0.5", "--cpu-quota", "1000", "cmp-c"),
        s("update", "--blkio-weight", "70000", "cmp-c"),
        s("update", "--memory", "lots", "cmp-c"),
        s("update", "--restart", "on-failure:x", "cmp-c"),
        s("update", "--restart", ":3", "cmp-c"),
        s("stats", "--no-stream", "cmp-c"),
        s("stats", "--no-stream", "--format", "json", "cmp-c"),
        s(
            "container",
            "stats",
            "--no-stream",
            "--no-trunc",
            "--format",
            "table {{.ID}}\t{{.Name}}",
            "cmp-c",
        ),
        s(
            "stats",
            "--no-stream",
            "--format",
            "{{.Container}} {{.Name}} {{.PIDs}} {{.NetIO}}",
            "cmp-c",
        ),
        s("stats", "--no-stream", "cmp-c", "cmp-nope"),
        s("stats", "--no-stream", "--format", "{{.Nope}}", "cmp-c"),
        *[s(cmd, "--help") for cmd in ("diff", "export", "commit", "port", "update", "stats")],
    ]
    compare(daemon, tmp_path, steps, normalise=_MEMORY)
    for client in CLIENTS:
        with tarfile.open(tmp_path / client / "out" / "c.tar") as tar:
            assert "tmp/d/a" in tar.getnames()


def test_attach(daemon, tmp_path: Path, compiled) -> None:
    steps = [
        s("create", "--name", "cmp-stopped", IMAGE, "true"),
        s("attach", "cmp-stopped"),
        s("attach", "cmp-nope"),
        s("run", "-d", "--name", "cmp-paused", IMAGE, "sleep", "300"),
        s("pause", "cmp-paused"),
        s("container", "attach", "cmp-paused"),
        s("unpause", "cmp-paused"),
        s("run", "-d", "--name", "cmp-out", IMAGE, "sh", "-c", "sleep 1; echo out; exit 7"),
        s("attach", "cmp-out"),
        s("run", "-d", "-i", "--name", "cmp-in", IMAGE, "sh", "-c", "read x; echo got $x; exit 2"),
        s("attach", "cmp-in", stdin=b"hello\n"),
        s("run", "-d", "-i", "--name", "cmp-ns", IMAGE, "sh", "-c", "sleep 1; echo no stdin"),
        s("attach", "--no-stdin", "--sig-proxy=false", "cmp-ns", stdin=b"ignored\n"),
        s("run", "-dit", "--name", "cmp-tty", IMAGE, "sh"),
        s("attach", "cmp-tty", stdin=b"\n"),
        s("attach", "--detach-keys", "ctrl-x", "cmp-stopped"),
        s("attach"),
        s("attach", "--help"),
    ]
    compare(daemon, tmp_path, steps)


def test_attach_forwards_signals(daemon, tmp_path: Path, compiled) -> None:
    """With --sig-proxy (the default) a signal to the client goes to the container."""
    keep = _objects(daemon.host)
    script = 'trap "echo got TERM; exit 9" TERM; sleep 30 & wait'
    env = {**os.environ, "DOCKER_HOST": daemon.host}
    results = {}
    for client, argv0 in CLIENTS.items():
        reset(daemon.host, keep)
        run = daemon.cli("run", "-d", "--name", "cmp-sig", IMAGE, "sh", "-c", script)
        assert run.returncode == 0, run.stderr
        p = subprocess.Popen(
            [*argv0, "attach", "cmp-sig"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        time.sleep(1.5)  # attached and the signal handlers in place
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        results[client] = (normalise(out.decode()), normalise(err.decode()), p.returncode)
    reset(daemon.host, keep)
    assert results["dockerpy"] == results["docker"] == ("got TERM\n", "", 9)
