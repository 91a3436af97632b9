"""POST /containers/create across API versions: dockerd's postContainersCreate quirks."""

from __future__ import annotations

from typing import Any

import pytest

from dockerpy_engine.api.routers.create_compat import adapt_create
from dockerpy_engine.errdefs import InvalidParameter


def _adapt(version: str, config=None, host_config=None, endpoints=None):
    request: dict[str, Any] = {
        "config": config or {},
        "host_config": host_config or {},
        "networking": {"EndpointsConfig": endpoints} if endpoints is not None else {},
    }
    warnings = adapt_create(
        version, request["config"], request["host_config"], request["networking"]
    )
    return request, warnings


def test_a_current_request_is_left_as_it_is() -> None:
    request, warnings = _adapt("1.51", {"Image": "x"}, {"NetworkMode": "default"})
    assert request["config"] == {"Image": "x"} and warnings == []
    assert request["host_config"] == {"NetworkMode": "default"}


def test_fields_a_version_did_not_have_are_dropped() -> None:
    hc = {
        "AutoRemove": True,
        "KernelMemoryTCP": 5,
        "ConsoleSize": [3, 4],
        "Annotations": {"a": "b"},
    }
    request, _ = _adapt("1.24", {"Healthcheck": {"StartInterval": 5}}, hc)
    assert request["host_config"] == {
        "AutoRemove": False,
        "KernelMemoryTCP": 0,
        "ConsoleSize": [0, 0],
        "Annotations": None,
        "IpcMode": "shareable",
    }
    assert request["config"]["Healthcheck"]["StartInterval"] == 0


def test_absent_fields_stay_absent() -> None:
    request, _ = _adapt("1.41", {}, {"IpcMode": "private"})
    assert request["host_config"] == {"IpcMode": "private"}


def test_mount_options_of_another_type_before_and_after_1_42() -> None:
    mount = {"Type": "bind", "Source": "/a", "Target": "/b", "TmpfsOptions": {}}
    request, _ = _adapt(
        "1.41", {}, {"Mounts": [dict(mount, BindOptions={"CreateMountpoint": True})]}
    )
    assert request["host_config"]["Mounts"][0]["TmpfsOptions"] is None
    assert request["host_config"]["Mounts"][0]["BindOptions"]["CreateMountpoint"] is False
    with pytest.raises(
        InvalidParameter, match='TmpfsOptions must not be specified on mount type "bind"'
    ):
        _adapt("1.42", {}, {"Mounts": [mount]})


@pytest.mark.parametrize(
    ("version", "host_config", "endpoints", "message"),
    [
        ("1.43", {"Mounts": [{"Type": "bind", "BindOptions": {"ReadOnlyForceRecursive": True}}]},
         None, "BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer"),
        ("1.43", {}, {"a": {}, "b": {}},
         "Container cannot be created with multiple network endpoints: a, b"),
        ("1.44", {"Mounts": [{"Type": "volume", "VolumeOptions": {"Subpath": "x"}}]},
         None, "VolumeOptions.Subpath needs API v1.45 or newer"),
    ],
)  # fmt: skip
def test_what_a_version_could_not_ask_is_refused(version, host_config, endpoints, message) -> None:
    with pytest.raises(InvalidParameter, match=message):
        _adapt(version, {}, host_config, endpoints)


def test_an_old_clients_mac_address_moves_to_its_network() -> None:
    request, warnings = _adapt("1.43", {"MacAddress": "02:00:00:00:00:01"}, {"NetworkMode": "net"})
    assert request["networking"]["EndpointsConfig"] == {"net": {"MacAddress": "02:00:00:00:00:01"}}
    assert warnings == []
    request, _ = _adapt("1.43", {}, {}, {"bridge": {"MacAddress": "02:00:00:00:00:02"}})
    assert request["networking"]["EndpointsConfig"]["bridge"]["MacAddress"] == ""
    with pytest.raises(InvalidParameter, match="mac-address and the network mode"):
        _adapt("1.43", {"MacAddress": "02:00:00:00:00:01"}, {"NetworkMode": "host"})


def test_a_current_clients_mac_address_moves_with_a_warning() -> None:
    mac = "02:00:00:00:00:01"
    request, warnings = _adapt("1.51", {"MacAddress": mac}, {"NetworkMode": "default"})
    assert request["networking"]["EndpointsConfig"] == {"bridge": {"MacAddress": mac}}
    assert request["config"]["MacAddress"] == ""
    assert warnings == [
        "The container-wide MacAddress field is now deprecated. "
        "It should be specified in EndpointsConfig instead."
    ]
    request, _ = _adapt("1.51", {"MacAddress": mac}, {"NetworkMode": "default"}, {"default": {}})
    assert request["networking"]["EndpointsConfig"] == {"default": {"MacAddress": mac}}
    with pytest.raises(InvalidParameter, match="must match the identity of a network"):
        _adapt("1.51", {"MacAddress": mac}, {"NetworkMode": "net"}, {"other": {}})
    with pytest.raises(InvalidParameter, match="must match the endpoint-specific MAC address"):
        _adapt("1.51", {"MacAddress": mac}, {"NetworkMode": "net"}, {"net": {"MacAddress": "x"}})
