"""Network modes that need no bridge: host, none, container:<id> (the bridge comes with the
networks issue; until then the default network is a private namespace with loopback only)."""

from __future__ import annotations

import socket

from .conftest import IMAGE


def _links(cli, *args: str) -> set[str]:
    out = cli("run", "--rm", *args, IMAGE, "sh", "-c", "ls /sys/class/net").stdout.decode()
    return set(out.split())


def test_host_network_sees_the_host_interfaces_and_name(cli):
    import os

    host_links = set(os.listdir("/sys/class/net"))
    assert _links(cli, "--network", "host") == host_links
    name = cli("run", "--rm", "--network", "host", IMAGE, "hostname").stdout.decode().strip()
    assert name == socket.gethostname()
    hosts = cli("run", "--rm", "--network", "host", "--add-host", "extra:10.1.2.3", IMAGE,
                "cat", "/etc/hosts").stdout.decode()  # fmt: skip
    assert hosts.endswith("10.1.2.3\textra\n")


def test_none_network_has_loopback_only(cli):
    assert _links(cli, "--network", "none") == {"lo"}
    up = cli("run", "--rm", "--network", "none", IMAGE, "ping", "-c", "1", "-W", "2", "127.0.0.1")
    assert up.returncode == 0, up.stdout + up.stderr


def test_container_network_shares_the_namespace(cli):
    donor = cli("run", "-d", "--name", "netdonor", IMAGE, "nc", "-l", "-p", "7777").stdout
    donor = donor.decode().strip()
    joined = cli(
        "run", "--rm", "--network", "container:netdonor", IMAGE,
        "sh", "-c", "echo hello | nc -w 2 127.0.0.1 7777; hostname",
    )  # fmt: skip
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.decode().strip() == donor[:12]  # the donor's hostname too
    assert cli("wait", "netdonor").returncode == 0
    assert cli("logs", "netdonor").stdout == b"hello\n"
    cli("rm", "netdonor")
    stopped = cli("create", "--name", "stoppeddonor", IMAGE, "true").stdout.decode().strip()
    refused = cli("run", "--rm", "--network", f"container:{stopped}", IMAGE, "true")
    assert refused.returncode != 0
    assert "cannot join network of a non running container" in refused.stderr.decode()
    cli("rm", stopped)
