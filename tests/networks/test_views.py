"""Inspect shapes and create-time checks, on a service with its predefined networks only
(no netlink or iptables: nothing here makes a bridge)."""

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers.types import Container
from dockerpy_engine.events import EventBus
from dockerpy_engine.networks import NetworkOptions, NetworkService
from dockerpy_engine.store import Database


@pytest.fixture
def svc(tmp_path):
    s = NetworkService(Database(tmp_path / "db"), EventBus(), NetworkOptions(iptables=False))
    s._ensure_predefined()
    return s


def _container(mode="default"):
    return Container(
        id="c" * 64, name="/web", created="", image_id="", path="", args=[],
        config={"Hostname": "cccccccccccc"}, host_config={"NetworkMode": mode},
    )  # fmt: skip


def test_predefined_networks_shape(svc):
    rows = svc.list({})
    assert sorted(r["Name"] for r in rows) == ["bridge", "host", "none"]
    bridge = next(r for r in rows if r["Name"] == "bridge")
    assert bridge["IPAM"] == {
        "Driver": "default",
        "Options": None,
        "Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}],
    }
    assert bridge["Options"]["com.docker.network.bridge.name"] == "dockerpy0"
    assert set(bridge) >= {"Scope", "Internal", "Attachable", "Ingress", "Containers", "Labels"}
    assert [r["Name"] for r in svc.list({"driver": ["null"]})] == ["none"]
    assert svc.list({"type": ["custom"]}) == []
    with pytest.raises(errdefs.InvalidParameter):
        svc.list({"bogus": ["x"]})


def test_stopped_container_settings(svc):
    c = _container()
    svc.on_create(c, {})
    settings = svc.settings(c, {"IPAddress": "", "Ports": {}, "Networks": {}})
    net = settings["Networks"]["bridge"]
    assert net["NetworkID"] == svc.get("bridge").id
    assert net["IPAddress"] == "" and net["EndpointID"] == "" and net["Aliases"] is None
    row = {"Ports": []}
    svc.summary(c, row)
    assert list(row["NetworkSettings"]["Networks"]) == ["bridge"]
    svc.on_remove(c)
    assert svc.settings(c, {"Networks": {}})["Networks"] == {}


def test_create_time_checks(svc):
    with pytest.raises(errdefs.NotFound, match="network nosuch not found"):
        svc.on_create(_container("nosuch"), {})
    static = {"EndpointsConfig": {"bridge": {"IPAMConfig": {"IPv4Address": "172.17.0.9"}}}}
    with pytest.raises(errdefs.InvalidParameter, match="user defined networks only"):
        svc.on_create(_container("bridge"), static)
    aliases = {"EndpointsConfig": {"bridge": {"Aliases": ["x"]}}}
    with pytest.raises(errdefs.InvalidParameter, match="network-scoped alias"):
        svc.on_create(_container("bridge"), aliases)
    svc.on_create(_container("container:" + "d" * 64), {})  # no endpoints of its own
    assert svc.settings(_container(), {"Networks": {}})["Networks"] == {}


async def test_remove_predefined_refused(svc):
    with pytest.raises(errdefs.Forbidden, match="pre-defined network and cannot be removed"):
        await svc.remove("bridge")


def test_legacy_links_are_registered_at_create(svc):
    db = Container(
        id="d" * 64, name="/db", created="", image_id="", path="", args=[],
        config={"Hostname": "dddddddddddd"}, host_config={"NetworkMode": "default"},
    )  # fmt: skip

    def get(ref: str) -> Container:
        if ref in ("db", db.id):
            return db
        raise errdefs.NotFound(f"No such container: {ref}")

    svc.bind_containers(get)
    c = _container()
    c.host_config["Links"] = ["db:cache"]
    svc.on_create(c, {})
    assert c.host_config["Links"] == ["/db:/web/cache"]
    missing = _container()
    missing.host_config["Links"] = ["nosuch:x"]
    with pytest.raises(errdefs.InvalidParameter, match="could not get container for nosuch"):
        svc.on_create(missing, {})
    host = _container("host")
    host.host_config["Links"] = ["db"]
    with pytest.raises(errdefs.InvalidParameter, match="host type networking can't be used"):
        svc.on_create(host, {})
    with pytest.raises(errdefs.System, match="Cannot link to a non running container: /db AS"):
        svc.link_env(c)


def _bridge(tmp_path, **options) -> dict:
    s = NetworkService(Database(tmp_path / "db6"), EventBus(), NetworkOptions(**options))
    s._ensure_predefined()
    return next(r for r in s.list({}) if r["Name"] == "bridge")


def test_default_bridge_ipv6_from_daemon_options(tmp_path):
    plain = _bridge(tmp_path / "a", iptables=False)
    assert plain["EnableIPv6"] is False and len(plain["IPAM"]["Config"]) == 1
    fixed = _bridge(tmp_path / "b", iptables=False, ipv6=True, fixed_cidr_v6="fd00:77::/64")
    assert fixed["EnableIPv6"] is True
    assert fixed["IPAM"]["Config"][1] == {"Subnet": "fd00:77::/64", "Gateway": "fd00:77::1"}
    ula = _bridge(tmp_path / "c", iptables=False, ipv6=True, host_id="engine")
    assert ula["IPAM"]["Config"][1] == {"Subnet": "fd25:686:8ef::/64", "Gateway": "fd25:686:8ef::1"}
    with pytest.raises(errdefs.InvalidParameter, match="not an IPv6 subnet"):
        _bridge(tmp_path / "d", iptables=False, ipv6=True, fixed_cidr_v6="10.9.0.0/24")
