"""Helpers shared by the networking tests, whose daemons each run in a private network
namespace (the `netns` fixture) so their bridges, links and iptables rules never touch the
host's."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

from .conftest import IMAGE
from .daemon import Daemon


def netns_daemon(netns: str, busybox_tar: str, *extra: str) -> Iterator[Daemon]:
    """A daemon of its own inside `netns` with busybox imported; cleaned up after (use it
    as the body of a module fixture)."""
    d = Daemon()
    d.start(*extra, netns=netns)
    assert d.cli("import", busybox_tar, IMAGE).returncode == 0
    try:
        yield d
    finally:
        d.cleanup()


def ok(result) -> str:
    """The stripped stdout of a call that must succeed (stderr and stdout on failure)."""
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    return result.stdout.decode().strip()


def inspect(d: Daemon, ref: str) -> dict:
    return json.loads(ok(d.cli("inspect", ref)))[0]


def in_ns(netns: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
    """Run a command in a named namespace (the daemon's) or one given by path
    (/proc/<pid>/ns/net: a container's)."""
    path = netns if netns.startswith("/") else f"/var/run/netns/{netns}"
    return subprocess.run(
        ["nsenter", f"--net={path}", *argv],
        capture_output=True,
        timeout=timeout,
    )


def wait_http(netns: str, url: str) -> subprocess.CompletedProcess:
    """GET `url` from inside the daemon's namespace (a Python client: busybox's static wget
    crashes on this machine), retrying while the container's server comes up."""
    code = (
        "import urllib.request, sys; "
        f"sys.stdout.write(urllib.request.urlopen({url!r}, timeout=3).read().decode())"
    )
    result = None
    for _ in range(50):
        result = in_ns(netns, sys.executable, "-c", code)
        if result.returncode == 0:
            return result
        time.sleep(0.1)
    return result
