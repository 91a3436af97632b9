"""`dockerpy stats` streaming against the real docker CLI: the live table drawn in place every
half second (cursor home, each line erased to its end, the rest of the screen erased), the
containers it follows as they start, die, are created and removed (`stats`, `stats -a`),
--format, --no-stream, and ctrl-c.

Both clients run the same timed script against the session daemon with stdout on a pipe; what
a terminal would show after each drawing is rebuilt from the escape sequences, live figures
are blanked, and the successions of distinct screens must be the same. (docker 28 also writes
each table once more before the in-place copy, a buffer reused by mistake; on a terminal the
second copy overwrites the first, so the screens, which are what the user sees, are equal.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import IMAGE
from .daemon import docker_cli
from .test_cli_compat import DOCKERPY
from .test_cli_more import compiled as compiled  # the fixture, used by name

_ESCAPE = re.compile(rb"\x1b\[([0-9;]*)([A-Za-z])")
# live figures: percentages, sizes, the PIDS column; IDs; the tabwriter's padding
_FIGURES = [
    (re.compile(r"\d+(?:\.\d+)?%|[\d.]+[kKMGTP]?i?B"), "#"),
    (re.compile(r"(?m)\b\d+$"), "#"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<ID>"),
    (re.compile(r"  +"), "  "),
]


def screens(data: bytes) -> list[str]:
    """What a terminal shows after each drawing: the text at each erase-below (the end of a
    streamed table), or at the end of the output when nothing is drawn in place."""
    lines = [""]
    row = col = 0
    shown: list[str] = []

    def write(text: str) -> None:
        nonlocal row, col
        for ch in text:
            if ch == "\n":
                row, col = row + 1, 0
                lines.extend([""] * (row + 1 - len(lines)))
            else:
                line = lines[row].ljust(col)
                lines[row] = line[:col] + ch + line[col + 1 :]
                col += 1

    def snapshot() -> str:
        return "\n".join(line.rstrip() for line in lines).rstrip("\n")

    pos = 0
    for m in _ESCAPE.finditer(data):
        write(data[pos : m.start()].decode())
        pos = m.end()
        arg, command = m.groups()
        if command == b"H":
            row = col = 0
        elif command == b"K":
            lines[row] = lines[row][:col]
        elif command == b"J" and arg == b"2":
            lines[:] = [""]
        elif command == b"J":
            lines[row] = lines[row][:col]
            del lines[row + 1 :]
            shown.append(snapshot())
    write(data[pos:].decode())
    if not shown:
        shown.append(snapshot())
    return shown


def _blank(screen: str) -> str:
    for pattern, repl in _FIGURES:
        screen = pattern.sub(repl, screen)
    return screen


Action = tuple[float, list[str]]  # seconds to wait, then a docker command ([] for none)


def play(
    cli: str, host: str, argv: list[str], before: list[list[str]], actions: list[Action]
) -> tuple[int, list[str], bytes]:
    """Prepare with `before`, run `cli stats ...`, play the actions, then ctrl-c (after a
    last pause; --no-stream ends by itself): (status, distinct screens, stderr). A container
    with no sample yet (a row without an ID, zero figures) shows for one drawing or none,
    by chance: such screens are left out."""
    env = {**os.environ, "DOCKER_HOST": host}

    def docker(*args: str) -> None:
        subprocess.run([docker_cli(), *args], capture_output=True, env=env, check=False)

    docker("rm", "-f", "cmp-sa", "cmp-sb", "cmp-sc")
    for args in before:
        docker(*args)
    proc = subprocess.Popen([cli, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    for delay, args in [*actions, (1.5, [])]:
        time.sleep(delay)
        if args:
            docker(*args)
    if "--no-stream" not in argv:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    docker("rm", "-f", "cmp-sa", "cmp-sb", "cmp-sc")
    distinct: list[str] = []
    for screen in map(_blank, screens(out)):
        if re.search(r"(?m)^  ", screen):
            continue
        if not distinct or distinct[-1] != screen:
            distinct.append(screen)
    return proc.returncode, distinct, err


_RUN_A = ["run", "-d", "--name", "cmp-sa", IMAGE, "sleep", "300"]
_HEAD = "CONTAINER ID  NAME  CPU %  MEM USAGE / LIMIT  MEM %  NET I/O  BLOCK I/O  PIDS"
_LIVE = "<ID>  {}  #  # / #  #  # / #  # / #  #"
_GONE = "<ID>  {}  --  -- / --  --  --  --  --"


def _table(*rows: str) -> str:
    return "\n".join([_HEAD, *rows])


SCENARIOS = {
    # running containers: one starts, one dies; ctrl-c draws them as failed, exit 130
    "running": (
        ["stats"],
        [_RUN_A],
        [
            (1.5, ["run", "-d", "--name", "cmp-sb", IMAGE, "sleep", "300"]),
            (1.5, ["kill", "cmp-sa"]),
        ],
        [
            _table(_LIVE.format("cmp-sa")),
            _table(_LIVE.format("cmp-sa"), _LIVE.format("cmp-sb")),
            _table(_LIVE.format("cmp-sb")),
            _table(_GONE.format("cmp-sb")),
        ],
    ),
    # -a: created ones too, the dead stay; a removed one's figures fail
    "all": (
        ["stats", "-a"],
        [_RUN_A, ["create", "--name", "cmp-sc", IMAGE, "true"]],
        [
            (1.5, ["create", "--name", "cmp-sb", IMAGE, "true"]),
            (1.5, ["kill", "cmp-sa"]),
            (1.5, ["rm", "cmp-sb"]),
        ],
        [
            _table(_LIVE.format("cmp-sc"), _LIVE.format("cmp-sa")),
            _table(_LIVE.format("cmp-sc"), _LIVE.format("cmp-sa"), _LIVE.format("cmp-sb")),
            _table(_LIVE.format("cmp-sc"), _LIVE.format("cmp-sa"), _GONE.format("cmp-sb")),
            _table(_GONE.format("cmp-sc"), _GONE.format("cmp-sa"), _GONE.format("cmp-sb")),
        ],
    ),
    "format": (
        ["stats", "--format", "{{.Name}}: {{.PIDs}} {{.Container}}"],
        [_RUN_A],
        [],
        ["cmp-sa: 1 <ID>", "cmp-sa: -- <ID>"],
    ),
    "no-stream": (
        ["stats", "--no-stream", "-a", "--format", "table {{.Name}}\t{{.MemPerc}}"],
        [_RUN_A, ["create", "--name", "cmp-sc", IMAGE, "true"]],
        [],
        ["NAME  MEM %\ncmp-sc  #\ncmp-sa  #"],
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_stats_stream_as_docker(name: str, daemon, tmp_path: Path, compiled) -> None:
    argv, before, actions, screens_wanted = SCENARIOS[name]
    docker = play(docker_cli(), daemon.host, argv, before, actions)
    ours = play(str(DOCKERPY), daemon.host, argv, before, actions)
    status = 0 if name == "no-stream" else 130
    assert docker == (status, screens_wanted, b"")
    assert ours == docker
