"""`dockerpy port` (and the ports in ps, inspect and ps filters) against the real docker CLI,
with a daemon of its own in a private network namespace (published ports need its bridge
and iptables rules, which must not touch the host's). The containers are made once, with
docker, so both clients read the same host ports, random ones (-P, `-p 53`) included.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import IMAGE
from .daemon import Daemon, docker_cli
from .netutil import netns_daemon, ok
from .test_cli_compat import DOCKERPY, assert_same_steps, compiled, run_pass, s

__all__ = ["compiled"]  # the fixture, used by name


@pytest.fixture(scope="module")
def nd(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    d = next(gen := netns_daemon(netns, busybox_tar))
    ok(
        d.cli(
            "run", "-d", "--name", "cmp-port1",
            "-p", "8080:80", "-p", "127.0.0.1:9000-9001:90-91/udp", "-p", "53",
            "-p", "0.0.0.0:8443:443", "--expose", "7000", "--expose", "7100-7101/udp", "-P",
            IMAGE, "sleep", "600",
        )
    )  # fmt: skip
    ok(d.cli("run", "-d", "--name", "cmp-port2", IMAGE, "sleep", "600"))
    ok(d.cli("create", "--name", "cmp-port3", "-p", "5000:5000", IMAGE, "true"))
    try:
        yield d
    finally:
        next(gen, None)


STEPS = [
    s("port", "cmp-port1"),
    s("container", "port", "cmp-port1"),
    s("port", "cmp-port1", "80"),
    s("port", "cmp-port1", "80/tcp"),
    s("port", "cmp-port1", "90/udp"),
    s("port", "cmp-port1", "91/udp"),
    s("port", "cmp-port1", "90"),
    s("port", "cmp-port1", "53"),
    s("port", "cmp-port1", "7000"),
    s("port", "cmp-port1", "7101/udp"),
    s("port", "cmp-port1", "9999"),
    s("port", "cmp-port1", "abc"),
    s("port", "cmp-port1", "99999"),
    s("port", "cmp-port1", "80", "81"),
    s("port", "cmp-port2"),
    s("port", "cmp-port3"),
    s("port", "cmp-port3", "5000"),
    s("port", "cmp-nope"),
    s("port"),
    s("ps", "-a", "--filter", "name=cmp-port", "--format", "{{.Names}}: {{.Ports}}"),
    s("ps", "--filter", "name=cmp-port1"),
    s("ps", "--filter", "name=cmp-port1", "--no-trunc", "--format", "json"),
    s("ps", "-a", "--filter", "publish=80", "--format", "{{.Names}}"),
    s("ps", "-a", "--filter", "publish=9000-9001/udp", "--format", "{{.Names}}"),
    s("ps", "-a", "--filter", "expose=7000", "--format", "{{.Names}}"),
    s("ps", "-a", "--filter", "expose=5000", "--format", "{{.Names}}"),
    s("inspect", "--format", "{{json .NetworkSettings.Ports}}", "cmp-port1"),
    s("inspect", "--format", "{{json .HostConfig.PortBindings}}", "cmp-port3"),
    s(
        "inspect",
        "--format",
        "{{range $p, $b := .NetworkSettings.Ports}}{{$p}} {{end}}",
        "cmp-port1",
    ),
]


def test_port_as_docker(nd: Daemon, tmp_path: Path, compiled) -> None:
    want = run_pass([docker_cli()], STEPS, nd.host, tmp_path)
    got = run_pass([str(DOCKERPY)], STEPS, nd.host, tmp_path)
    assert_same_steps(want, got)
    # the published ports are really there (the test would pass on two empty outputs)
    assert "80/tcp -> 0.0.0.0:8080" in want[0][1]
    assert "91/udp -> 127.0.0.1:9001" in want[0][1]
