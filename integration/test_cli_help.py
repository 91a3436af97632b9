"""Every dockerpy command's help page, and the management commands' own pages and errors,
against the real docker CLI's (talking to the session daemon: docker leaves out the flags
the daemon's OS or features do not have). What remains different is listed, with why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .daemon import REPO, docker_cli
from .test_cli_compat import DOCKERPY, compiled, run_pass, s

__all__ = ["compiled"]  # the fixture, used by name

# docker has these and we do not: `images --tree` (experimental, multi-platform indexes)
KNOWN = {("images",), ("image", "ls"), ("image", "list")}


def _all_commands() -> list[tuple[str, ...]]:
    """Every path (canonical and aliases) dockerpy registers."""
    code = (
        "from cli import main, _command; main._load_commands(); "
        "print('\\n'.join(' '.join(p) for c in _command.registry() "
        "for p in (c.path, *c.aliases)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return [tuple(line.split()) for line in out.stdout.splitlines()]


def test_every_help_page_as_docker(daemon, tmp_path: Path, compiled) -> None:
    env = {**os.environ, "DOCKER_HOST": daemon.host, "DOCKER_CONFIG": str(tmp_path)}
    mismatches = []
    paths = _all_commands()
    assert len(paths) > 90
    for path in paths:
        if path in KNOWN:
            continue
        results = [
            subprocess.run(
                [cli, *path, "--help"], capture_output=True, env=env, stdin=subprocess.DEVNULL
            )
            for cli in (docker_cli(), str(DOCKERPY))
        ]
        want, got = ((r.returncode, r.stdout, r.stderr) for r in results)
        if want != got:
            mismatches.append(f"{' '.join(path)}:\n  docker:   {want}\n  dockerpy: {got}")
    assert not mismatches, "\n".join(mismatches)


STEPS = [
    s("volume"),
    s("container"),
    s("image", "--help"),
    s("system", "-h"),
    s("ps", "-ah"),
    s("network", "foo"),
    s("builder"),
    s("help", "volume"),
    s("help", "ps"),
    s("volume", "--foo"),
    s("volume", "update", "cmp-no-volume"),
    s("volume", "update"),
    s("nosuchcommand"),
]


def test_management_commands_as_docker(daemon, tmp_path: Path, compiled) -> None:
    want = run_pass([docker_cli()], STEPS, daemon.host, tmp_path)
    got = run_pass([str(DOCKERPY)], STEPS, daemon.host, tmp_path)
    assert got == want
