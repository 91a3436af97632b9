"""dockerpy and the real docker CLI in a real terminal: `run -it`, `attach`, `exec -it` and
`start -ai` under a pseudo-terminal that is the client's controlling terminal, as a terminal
emulator's would be. The container's TTY must start at the terminal's size and follow it when
the window changes (SIGWINCH → resize API call), ctrl-p ctrl-q (or --detach-keys) must detach
and leave the container running, and the statuses and messages must be docker's.

Each client plays the same script; what the terminal showed at each step must be the same
bytes for both, and docker's own transcript is checked too, so that a daemon regression
(sizes, a console closed by a detach) fails the test even when both clients agree.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from .conftest import IMAGE
from .daemon import docker_cli
from .test_cli_compat import DOCKERPY
from .test_cli_more import compiled as compiled  # the fixture, used by name

# The window's resize must come after the client watches SIGWINCH, which it starts doing once
# the container runs, and the container's TTY changes size a little after the window's (the
# client's resize call): give each this long.
SETTLE = 0.5


class Terminal:
    """A pseudo-terminal whose slave side is the controlling terminal of the command run in
    it: resizing it makes the kernel send SIGWINCH to the command."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int, cols: int) -> None:
        self.master, slave = os.openpty()
        _set_size(slave, rows, cols)
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.pending = b""

    def expect(self, needle: bytes, timeout: float = 30) -> bytes:
        """What the terminal shows up to and including `needle`."""
        deadline = time.monotonic() + timeout
        while needle not in self.pending:
            left = deadline - time.monotonic()
            assert left > 0, f"{needle!r} never came: {self.pending!r}"
            if select.select([self.master], [], [], left)[0]:
                data = self._read()
                assert data, f"the terminal closed before {needle!r}: {self.pending!r}"
                self.pending += data
        end = self.pending.index(needle) + len(needle)
        shown, self.pending = self.pending[:end], self.pending[end:]
        return shown

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def resize(self, rows: int, cols: int) -> None:
        _set_size(self.master, rows, cols)

    def finish(self, timeout: float = 30) -> tuple[int, bytes]:
        """The command's status and what the terminal showed after the last expect."""
        status = self.proc.wait(timeout)
        while select.select([self.master], [], [], 0.2)[0] and (data := self._read()):
            self.pending += data
        os.close(self.master)
        return status, self.pending

    def _read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except OSError:  # EIO: the slave side is closed
            return b""


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


_LOOP = "stty size; echo READY; while read x; do echo got:$x; stty size; done"


def play(cli: str, host: str, cfg: Path) -> list[object]:
    """The script; returns what the terminal showed at each step."""
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": str(cfg)}
    env.pop("DOCKER_CONTEXT", None)

    def docker(*argv: str) -> str:
        return subprocess.run(
            [docker_cli(), *argv], capture_output=True, text=True, env=env, check=False
        ).stdout

    def term(*argv: str, rows: int = 24, cols: int = 80) -> Terminal:
        return Terminal([cli, *argv], env, rows, cols)

    seen: list[object] = []
    docker("rm", "-f", "cmp-tty")
    # run -it: the first size, a window change, then ctrl-p ctrl-q
    t = term("run", "-it", "--name", "cmp-tty", IMAGE, "sh", "-c", _LOOP)
    seen.append(t.expect(b"READY"))
    time.sleep(SETTLE)
    t.resize(30, 100)
    time.sleep(SETTLE)
    t.type(b"a\r")
    seen.append(t.expect(b"100\r\n"))
    t.type(b"\x10\x11")
    seen.append(t.finish())
    seen.append(docker("inspect", "-f", "{{.State.Status}}", "cmp-tty"))
    # attach: the container's TTY takes the new terminal's size, and follows it
    t = term("attach", "cmp-tty", rows=40, cols=120)
    time.sleep(SETTLE)
    t.type(b"b\r")
    seen.append(t.expect(b"120\r\n"))
    t.resize(41, 121)
    time.sleep(SETTLE)
    t.type(b"c\r")
    seen.append(t.expect(b"121\r\n"))
    t.type(b"\x10\x11")
    seen.append(t.finish())
    # attach with other detach keys: the default ones go through to the container
    t = term("attach", "--detach-keys", "ctrl-a,x", "cmp-tty")
    time.sleep(SETTLE)
    t.type(b"\x10\x11d\r")
    seen.append(t.expect(b"80\r\n"))
    t.type(b"\x01x")
    seen.append(t.finish())
    # exec -it: its own TTY at the terminal's size, resized, its status; then a detach
    script = "stty size; echo READY; read x; stty size; exit 7"
    t = term("exec", "-it", "cmp-tty", "sh", "-c", script, rows=33, cols=90)
    seen.append(t.expect(b"READY"))
    time.sleep(SETTLE)
    t.resize(34, 91)
    time.sleep(SETTLE)
    t.type(b"go\r")
    seen.append(t.finish())
    t = term("exec", "-it", "cmp-tty", "sh", "-c", "echo READY; read x")
    seen.append(t.expect(b"READY"))
    time.sleep(SETTLE)
    t.type(b"\x10\x11")
    seen.append(t.finish())
    # attach while the container is killed: the container's status
    t = term("attach", "cmp-tty")
    time.sleep(SETTLE)
    docker("kill", "cmp-tty")
    seen.append(t.finish())
    # start -ai: attached again from the start, then detached
    t = term("start", "-ai", "cmp-tty", rows=25, cols=81)
    t.expect(b"READY")  # its first `stty size` races the resize after start
    time.sleep(SETTLE)
    t.type(b"e\r")
    seen.append(t.expect(b"81\r\n"))
    t.type(b"\x10\x11")
    seen.append(t.finish())
    seen.append(docker("inspect", "-f", "{{.State.Status}}", "cmp-tty"))
    docker("rm", "-f", "cmp-tty")
    # run -it --rm: the process's own status, the terminal it sees
    t = term("run", "-it", "--rm", IMAGE, "sh", "-c", "tty; exit 5")
    status, shown = t.finish()
    seen.append((status, re.sub(rb"/dev/pts/\d+", b"<PTS>", shown)))
    return seen


def test_terminal_sessions_as_docker(daemon, tmp_path: Path, compiled) -> None:
    clients = {"docker": docker_cli(), "dockerpy": str(DOCKERPY)}
    seen = {}
    for name, cli in clients.items():
        (tmp_path / name).mkdir()
        seen[name] = play(cli, daemon.host, tmp_path / name)
    want = [
        b"24 80\r\nREADY",
        b"\r\na\r\ngot:a\r\n30 100\r\n",
        (0, b""),
        "running\n",
        b"b\r\ngot:b\r\n40 120\r\n",
        b"c\r\ngot:c\r\n41 121\r\n",
        (1, b"read escape sequence\r\n"),
        b"^Pd\r\ngot:\x10d\r\n24 80\r\n",  # ctrl-q is the container's TTY's XON
        (1, b"read escape sequence\r\n"),
        b"33 90\r\nREADY",
        (7, b"\r\ngo\r\n34 91\r\n"),
        b"READY",
        (1, b"\r\nread escape sequence\r\n"),
        (137, b""),
        b"\r\ne\r\ngot:e\r\n25 81\r\n",
        (0, b""),
        "running\n",
        (5, b"<PTS>\r\n"),
    ]
    assert seen["docker"] == want
    assert seen["dockerpy"] == seen["docker"]
