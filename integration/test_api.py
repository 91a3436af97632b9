"""The API's edges with docker-py: negotiation, error shapes and status codes."""

from __future__ import annotations

import docker
import pytest

from .conftest import IMAGE


def raw(client, method: str, path: str, **kwargs):
    api = client.api
    return api.request(method, f"{api.base_url}{path}", **kwargs)


def test_ping_headers(client):
    for method in ("GET", "HEAD"):
        response = raw(client, method, "/_ping")
        assert response.status_code == 200
        assert response.headers["API-Version"] == "1.51"
        assert response.headers["OSType"] == "linux"
        assert response.headers["Builder-Version"] == "1"
        assert "Docker-Experimental" in response.headers
        assert response.headers["Server"].startswith("dockerpyd/")
    assert raw(client, "GET", "/_ping").text == "OK"


def test_version_prefixes(client):
    for prefix in ("", "/v1.24", "/v1.41", "/v1.51"):
        assert raw(client, "GET", f"{prefix}/version").status_code == 200
    too_new = raw(client, "GET", "/v1.52/version")
    assert too_new.status_code == 400
    assert too_new.json() == {
        "message": "client version 1.52 is too new. Maximum supported API version is 1.51"
    }
    too_old = raw(client, "GET", "/v1.12/version")
    assert too_old.status_code == 400
    assert "too old" in too_old.json()["message"]


def test_errors_are_json_with_dockerd_codes(client):
    missing = raw(client, "GET", "/containers/nosuch/json")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No such container: nosuch"}
    no_image = raw(client, "POST", "/containers/create", json={"Image": "nosuch:tag"})
    assert no_image.status_code == 404
    assert no_image.json() == {"message": "No such image: nosuch:tag"}
    bad_name = raw(client, "POST", "/containers/create?name=a/b", json={"Image": IMAGE})
    assert bad_name.status_code == 400
    assert raw(client, "GET", "/no/such/route").status_code == 404
    bad_json = raw(client, "POST", "/containers/create", data=b"{nope")
    assert bad_json.status_code == 400


def test_docker_py_run(client):
    assert client.containers.run(IMAGE, "echo hi", remove=True) == b"hi\n"
    with pytest.raises(docker.errors.ContainerError) as failed:
        client.containers.run(IMAGE, ["sh", "-c", "echo bad >&2; exit 4"], remove=True)
    assert failed.value.exit_status == 4


def test_docker_py_lifecycle(client):
    container = client.containers.run(
        IMAGE,
        ["sh", "-c", "echo $FOO; pwd; id -u; hostname"],
        detach=True,
        environment={"FOO": "bar"},
        working_dir="/tmp",
        user="nobody",
        hostname="box",
        labels={"team": "core"},
    )
    assert container.wait()["StatusCode"] == 0
    assert container.logs() == b"bar\n/tmp\n65534\nbox\n"
    listed = client.containers.list(all=True, filters={"label": "team=core"})
    assert [c.id for c in listed] == [container.id]
    assert container.attrs["Config"]["Labels"] == {"team": "core"}
    container.remove()


def test_stopped_start_is_304_and_stop_twice(client):
    container = client.containers.create(IMAGE, "sleep 100")
    container.start()
    assert raw(client, "POST", f"/containers/{container.id}/start").status_code == 304
    container.stop(timeout=0)
    assert raw(client, "POST", f"/containers/{container.id}/stop").status_code == 304
    kill = raw(client, "POST", f"/containers/{container.id}/kill")
    assert kill.status_code == 409
    container.remove()


def test_older_api_versions_get_dockerd_s_answers(client):
    """A start with a body is refused; `signal` on stop counts from API 1.42 on."""
    c = client.containers.run(IMAGE, ["sh", "-c", "trap 'exit 7' USR1; sleep 300 & wait"],
                              detach=True, stop_signal="SIGKILL")  # fmt: skip
    try:
        body = raw(client, "POST", f"/v1.41/containers/{c.id}/start", json={"Binds": ["/a:/b"]})
        assert body.status_code == 400
        assert "non-empty request body was deprecated since API v1.22" in body.json()["message"]
        assert raw(client, "POST", f"/v1.41/containers/{c.id}/start", json={}).status_code == 304
        stop = raw(client, "POST", f"/v1.41/containers/{c.id}/stop?signal=SIGUSR1&t=5")
        assert stop.status_code == 204
        c.reload()
        assert c.attrs["State"]["ExitCode"] == 137  # its own SIGKILL, not the USR1
        c.start()
        assert raw(client, "POST", f"/containers/{c.id}/stop?signal=SIGUSR1").status_code == 204
        c.reload()
        assert c.attrs["State"]["ExitCode"] == 7
    finally:
        c.remove(force=True)
