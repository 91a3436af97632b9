"""Legacy links: parsing, dockerd's environment variables (port runs, tcp first, HOME/PATH
left out) and the parent's hosts line."""

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.networks import links


@pytest.mark.parametrize(
    ("value", "expected"),
    [("db", ("db", "db")), ("db:alias", ("db", "alias")), ("/db:/web/alias", ("db", "alias"))],
)
def test_parse_link(value, expected):
    assert links.parse_link(value) == expected


@pytest.mark.parametrize("value", ["", "a:b:c"])
def test_parse_link_rejects(value):
    with pytest.raises(errdefs.InvalidParameter):
        links.parse_link(value)


def test_env_ranges_tcp_first_and_child_env():
    env = links.link_env(
        "/web/my-db",
        "172.17.0.5",
        ["PATH=/bin", "HOME=/root", "USER=pg", "BARE"],
        {"53/udp": {}, "5433/tcp": {}, "5432/tcp": {}, "9000/tcp": {}},
    )
    p = "MY_DB_PORT"
    assert env == [
        f"{p}=tcp://172.17.0.5:5432",
        *[f"{p}_5432_TCP{s}" for s in ("=tcp://172.17.0.5:5432", "_ADDR=172.17.0.5",
                                       "_PORT=5432", "_PROTO=tcp")],
        *[f"{p}_5433_TCP{s}" for s in ("=tcp://172.17.0.5:5433", "_ADDR=172.17.0.5",
                                       "_PORT=5433", "_PROTO=tcp")],
        *[f"{p}_9000_TCP{s}" for s in ("=tcp://172.17.0.5:9000", "_ADDR=172.17.0.5",
                                       "_PORT=9000", "_PROTO=tcp")],
        f"{p}_5432_TCP_START=tcp://172.17.0.5:5432",
        f"{p}_5432_TCP_PORT_START=5432",
        f"{p}_5432_TCP_END=tcp://172.17.0.5:5433",
        f"{p}_5432_TCP_PORT_END=5433",
        *[f"{p}_53_UDP{s}" for s in ("=udp://172.17.0.5:53", "_ADDR=172.17.0.5",
                                     "_PORT=53", "_PROTO=udp")],
        "MY_DB_NAME=/web/my-db",
        "MY_DB_ENV_USER=pg",
    ]  # fmt: skip


def test_env_without_ports():
    assert links.link_env("/web/db", "172.17.0.5", [], {}) == ["DB_NAME=/web/db"]


def test_hosts_line():
    assert links.hosts_line("172.17.0.5", "db", "abc", "pg") == "172.17.0.5\tdb abc pg\n"
    assert links.hosts_line("172.17.0.5", "pg", "abc", "pg") == "172.17.0.5\tpg abc\n"
