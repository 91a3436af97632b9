"""Hostile input over plain HTTP: each class of request that hack/fuzz found answered with a 500
is now the client's error (400) with a dockerd-like message, and the daemon keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import IMAGE


def raw(client, method: str, path: str, **kwargs: Any):
    """A request over the daemon's unix socket, whatever its body (docker-py's session)."""
    api = client.api
    return api.request(method, f"{api.base_url}{path}", **kwargs)


def refused(response, message: str, status: int = 400) -> None:
    """`status` with `message` as the whole body's message (or its start, when it ends in …)."""
    assert response.status_code == status, response.text
    got = response.json()["message"]
    if message.endswith("…"):
        assert got.startswith(message[:-1]), got
    else:
        assert got == message


@pytest.fixture(scope="module")
def sleeper(daemon) -> Iterator[str]:
    """A running container for the endpoints that need one; its ID."""
    client = daemon.client()
    container = client.containers.run(IMAGE, ["sleep", "1000"], detach=True)
    try:
        yield container.id
    finally:
        container.remove(force=True)
        client.close()


@pytest.mark.parametrize(
    "ps_args", ["k", "-zzz", "B\u00b8", "-o comm", "-o lstart,pid", "-o pid -o comm=PID"]
)
def test_top_refuses_the_clients_ps_args(client, sleeper, ps_args):
    """ps refusing the arguments, or output without a usable PID column, is the client's."""
    response = raw(client, "GET", f"/containers/{sleeper}/top", params={"ps_args": ps_args})
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert raw(client, "GET", f"/containers/{sleeper}/top").status_code == 200


def test_top_messages_are_dockerds(client, sleeper):
    refused(
        raw(client, "GET", f"/containers/{sleeper}/top", params={"ps_args": "-zzz"}),
        "ps: error: …",
    )
    refused(
        raw(client, "GET", f"/containers/{sleeper}/top", params={"ps_args": "-o comm"}),
        "Couldn't find PID field in ps output",
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"h": "-677", "w": "80"}, "invalid value for h: -677 is out of range [0, 65535]"),
        ({"h": "24", "w": str(2**67)}, f"invalid value for w: {2**67} is out of range [0, 65535]"),
        ({"h": "x", "w": "80"}, "invalid value for h: 'x'"),
    ],
)
def test_console_sizes_must_fit_a_winsize(client, sleeper, query, message):
    refused(raw(client, "POST", f"/containers/{sleeper}/resize", params=query), message)
    made = raw(client, "POST", f"/containers/{sleeper}/exec", json={"Cmd": ["true"]})
    assert made.status_code == 201, made.text
    exec_id = made.json()["Id"]
    refused(raw(client, "POST", f"/exec/{exec_id}/resize", params=query), message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Cmd": [None]}, "…ExecConfig.Cmd of type strslice.StrSlice"),
        ({"Cmd": 5}, "json: cannot unmarshal number 5 into Go struct field ExecConfig.Cmd …"),
        ({"Cmd": ["true"], "Env": "A=1"}, "…ExecConfig.Env of type []string"),
        ({"Cmd": ["true"], "User": []}, "…ExecConfig.User of type string"),
        ({"Cmd": ["true"], "Tty": 1}, "…ExecConfig.Tty of type bool"),
        ({"Cmd": ["true"], "ConsoleSize": [1]}, "…ExecConfig.ConsoleSize of type [2]uint"),
        ({"Cmd": ["true"], "ConsoleSize": [70000, 1]}, "invalid ConsoleSize: [70000, 1]"),
        (
            {"Cmd": ["true"], "User": "nosuch"},
            "unable to find user nosuch: no matching entries in passwd file",
        ),
        ([], "invalid exec config"),
    ],
)
def test_exec_create_refuses_wrong_types(client, sleeper, body, message):
    response = raw(client, "POST", f"/containers/{sleeper}/exec", json=body)
    if message.startswith("…"):
        assert response.status_code == 400, response.text
        assert response.json()["message"].endswith(message[1:]), response.text
        assert response.json()["message"].startswith("json: cannot unmarshal ")
    else:
        refused(response, message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (-167, "invalid exec start config"),
        ({"Detach": "yes"}, "json: cannot unmarshal string into Go struct field "
                            "ExecStartCheck.Detach of type bool"),
        ({"ConsoleSize": ["a", 1]}, "json: cannot unmarshal array into Go struct field "
                                    "ExecStartCheck.ConsoleSize of type [2]uint"),
    ],
)  # fmt: skip
def test_exec_start_refuses_wrong_types(client, sleeper, body, message):
    made = raw(client, "POST", f"/containers/{sleeper}/exec", json={"Cmd": ["true"]})
    exec_id = made.json()["Id"]
    refused(raw(client, "POST", f"/exec/{exec_id}/start", json=body), message)
    # refused before it ran: the exec can still be started
    assert raw(client, "POST", f"/exec/{exec_id}/start", json={"Detach": True}).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Memory": {}}, "json: cannot unmarshal object into Go struct field "
                         "UpdateConfig.Memory of type int64"),
        ({"CpuShares": 2**63}, f"json: cannot unmarshal number {2**63} into Go struct field "
                               "UpdateConfig.CpuShares of type int64"),
        ({"BlkioWeight": 70000}, "json: cannot unmarshal number 70000 into Go struct field "
                                 "UpdateConfig.BlkioWeight of type uint16"),
        ({"BlkioWeightDevice": [{"Weight": 10}, {"Weight": {}}]},
         "json: cannot unmarshal object into Go struct field "
         "UpdateConfig.BlkioWeightDevice.Weight of type uint16"),
        ({"RestartPolicy": "always"}, "json: cannot unmarshal string into Go struct field "
                                      "UpdateConfig.RestartPolicy of type RestartPolicy"),
        ({"PidsLimit": 1.5}, "json: cannot unmarshal number 1.5 into Go struct field "
                             "UpdateConfig.PidsLimit of type int64"),
    ],
)  # fmt: skip
def test_update_refuses_wrong_types(client, sleeper, body, message):
    refused(raw(client, "POST", f"/containers/{sleeper}/update", json=body), message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Image": IMAGE, "Cmd": 5}, "json: cannot unmarshal number 5 into Go struct field "
                                     "Config.Cmd of type strslice.StrSlice"),
        ({"Image": 1}, "json: cannot unmarshal number 1 into Go struct field "
                       "Config.Image of type string"),
        ({"Image": IMAGE, "Labels": {"a": 1}}, "json: cannot unmarshal object into Go struct "
                                               "field Config.Labels of type map[string]string"),
        ({"Image": IMAGE, "ExposedPorts": {"80/tcp": 1}}, "json: cannot unmarshal object into "
         "Go struct field Config.ExposedPorts of type map[string]struct {}"),
        ({"Image": IMAGE, "Healthcheck": {"Interval": "1s"}}, "json: cannot unmarshal string "
         "into Go struct field Config.Healthcheck.Interval of type int64"),
        ({"Image": IMAGE, "HostConfig": []}, "json: cannot unmarshal array into Go struct "
                                             "field CreateRequest.HostConfig of type HostConfig"),
        ({"Image": IMAGE, "NetworkingConfig": "x"}, "json: cannot unmarshal string into Go "
         "struct field CreateRequest.NetworkingConfig of type NetworkingConfig"),
        ({"Image": IMAGE, "NetworkingConfig": {"EndpointsConfig": {"bridge": []}}}, "json: "
         "cannot unmarshal object into Go struct field "
         "CreateRequest.NetworkingConfig.EndpointsConfig of type map[string]EndpointSettings"),
        ({"Image": IMAGE, "HostConfig": {"Binds": [None]}}, "json: cannot unmarshal array into "
         "Go struct field CreateRequest.HostConfig.Binds of type []string"),
        ({"Image": IMAGE, "HostConfig": {"Ulimits": [{"Name": 1}]}}, "json: cannot unmarshal "
         "number 1 into Go struct field CreateRequest.HostConfig.Ulimits.Name of type string"),
        ({"Image": IMAGE, "HostConfig": {"Mounts": {"Type": "bind"}}}, "json: cannot unmarshal "
         "object into Go struct field CreateRequest.HostConfig.Mounts of type []Mount"),
        ({"Image": IMAGE, "HostConfig": {"Memory": True}}, "json: cannot unmarshal bool into "
         "Go struct field CreateRequest.HostConfig.Memory of type int64"),
    ],
)  # fmt: skip
def test_create_refuses_wrong_types(client, body, message):
    before = {c.id for c in client.containers.list(all=True)}
    refused(raw(client, "POST", "/containers/create", json=body), message)
    assert {c.id for c in client.containers.list(all=True)} == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Name": "x", "IPAM": {"Config": [False]}}, "json: cannot unmarshal array into Go "
         "struct field CreateRequest.IPAM.Config of type []IPAMConfig"),
        ({"Name": "x", "IPAM": {"Config": [{"Subnet": 10}]}}, "json: cannot unmarshal number "
         "10 into Go struct field CreateRequest.IPAM.Config.Subnet of type string"),
        ({"Name": "x", "Labels": []}, "json: cannot unmarshal array into Go struct field "
                                      "CreateRequest.Labels of type map[string]string"),
        ({"Name": 7}, "json: cannot unmarshal number 7 into Go struct field CreateRequest.Name "
                      "of type string"),
    ],
)  # fmt: skip
def test_network_create_refuses_wrong_types(client, body, message):
    refused(raw(client, "POST", "/networks/create", json=body), message)
    assert raw(client, "GET", "/networks/x").status_code == 404


def test_network_connect_refuses_wrong_types(client, sleeper):
    for path in ("connect", "disconnect"):
        refused(
            raw(client, "POST", f"/networks/bridge/{path}", json={"Container": ["a"]}),
            "json: cannot unmarshal array into Go struct field NetworkConnectRequest.Container "
            "of type string",
        )
    refused(
        raw(
            client,
            "POST",
            "/networks/bridge/connect",
            json={"Container": sleeper, "EndpointConfig": {"Aliases": "a"}},
        ),
        "json: cannot unmarshal string into Go struct field "
        "NetworkConnectRequest.EndpointConfig.Aliases of type []string",
    )


@pytest.mark.parametrize("method", ["HEAD", "GET", "PUT"])
def test_archive_paths_with_a_nul_are_refused(client, sleeper, method):
    response = raw(
        client, method, f"/containers/{sleeper}/archive", params={"path": "/tmp/a\0b"}, data=b""
    )
    assert response.status_code == 400
    if method != "HEAD":
        assert (
            response.json()["message"] == "bad parameter: path '/tmp/a\\x00b' contains a NUL byte"
        )


def test_valid_bodies_still_pass(client, sleeper):
    """The type checks accept what the docker CLI and docker-py send: nulls, one-string
    StrSlices, empty structs in port and volume maps, Go's -1 for "unset"."""
    body = {
        "Image": IMAGE,
        "Cmd": "true",
        "Env": None,
        "ExposedPorts": {"80/tcp": {}},
        "Volumes": {"/data": {}},
        "Healthcheck": {"Test": ["NONE"]},
        "HostConfig": {
            "MemorySwappiness": -1,
            "PidsLimit": None,
            "CapAdd": "NET_ADMIN",
            "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
            "RestartPolicy": {"Name": "no"},
            "ConsoleSize": [24, 80],
        },
    }
    made = raw(client, "POST", "/containers/create", json=body)
    assert made.status_code == 201, made.text
    container = client.containers.get(made.json()["Id"])
    try:
        assert container.attrs["Config"]["Cmd"] == ["true"]  # one command, not t, r, u, e
        assert container.attrs["HostConfig"]["CapAdd"] == ["NET_ADMIN"]
        container.start()
        assert container.wait(timeout=60)["StatusCode"] == 0
    finally:
        container.remove(force=True, v=True)
    update = raw(client, "POST", f"/containers/{sleeper}/update", json={"CpuShares": 512})
    assert update.status_code == 200, update.text
    exec_made = raw(
        client, "POST", f"/containers/{sleeper}/exec", json={"Cmd": "true", "ConsoleSize": None}
    )
    assert exec_made.status_code == 201, exec_made.text
    assert raw(client, "GET", "/_ping").text == "OK"
