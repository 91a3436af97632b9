"""`docker system df` and `docker system prune` with the real docker CLI and docker-py: sizes
as dockerd reports them, the `type` parameter, and prune taking exactly what dockerd would
(stopped containers, dangling images; `--volumes` anonymous volumes; `-a` unused images),
with byte counts that match what went. Every object is labelled, and the prunes filter on that
label, so other tests' objects (and the session's busybox image) survive."""

from __future__ import annotations

import json
import uuid

import docker
import pytest

from .conftest import IMAGE

ANON = "com.docker.volume.anonymous="
SECTIONS = ("Images", "Containers", "Local Volumes", "Build Cache")


def fill(size: int, path: str = "/d/f") -> str:
    return f"head -c {size} /dev/zero > {path}"


def ok(result) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def human_size(n: float) -> str:
    """go-units HumanSize, as the CLI prints sizes: decimal units, 4 significant digits."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.4g}{units[i]}"


def df(client: docker.DockerClient, **params) -> dict:
    api = client.api
    return api._result(api._get(api._url("/system/df"), params=params), True)


@pytest.fixture
def label() -> str:
    return f"dockerpy.test.system={uuid.uuid4().hex[:10]}"


def test_human_size_matches_go_units():
    assert human_size(0) == "0B"
    assert human_size(999) == "999B"
    assert human_size(30000) == "30kB"
    assert human_size(1234567) == "1.235MB"


def test_system_df_shows_image_container_and_volume(cli, client, label):
    vol = f"df-{uuid.uuid4().hex[:8]}"
    name = f"df-{uuid.uuid4().hex[:8]}"
    ok(cli("volume", "create", "--label", label, vol))
    ok(
        cli(
            "run", "--name", name, "--label", label, "-v", f"{vol}:/data", IMAGE, "sh", "-c",
            "head -c 100000 /dev/zero > /data/f && head -c 50000 /dev/zero > /blob",
        )
    )  # fmt: skip
    try:
        usage = client.df()
        image = next(i for i in usage["Images"] if IMAGE in i["RepoTags"])
        assert image["Size"] > 0 and image["Containers"] >= 1 and image["SharedSize"] >= 0
        assert usage["LayersSize"] >= image["Size"]
        c = next(c for c in usage["Containers"] if c["Names"] == [f"/{name}"])
        assert 50000 <= c["SizeRw"] < 60000
        assert c["SizeRootFs"] == c["SizeRw"] + image["Size"]
        v = next(v for v in usage["Volumes"] if v["Name"] == vol)
        assert v["UsageData"] == {"Size": 100000, "RefCount": 1}
        assert usage["BuildCache"] == []

        table = ok(cli("system", "df"))
        for word in SECTIONS:
            assert word in table
        out = ok(cli("system", "df", "--format", "{{json .}}"))
        lines = [json.loads(line) for line in out.splitlines() if line]
        assert [r["Type"] for r in lines] == list(SECTIONS)
        counts = {r["Type"]: int(r["TotalCount"]) for r in lines}
        assert counts["Containers"] == len(usage["Containers"])
        assert counts["Build Cache"] == 0

        verbose = json.loads(ok(cli("system", "df", "-v", "--format", "{{json .}}")))
        assert any(name in row["Names"] for row in verbose["Containers"])
        assert any(row["Name"] == vol and row["Size"] == "100kB" for row in verbose["Volumes"])
        assert any(row["Repository"] == "busybox" for row in verbose["Images"])
        assert ok(cli("system", "df", "-v")).count(vol) == 1
    finally:
        ok(cli("rm", "-f", name))
        ok(cli("volume", "rm", vol))


def test_system_df_type_parameter(client):
    only = df(client, type="volume")
    assert only["Images"] is None and only["Containers"] is None and only["BuildCache"] is None
    assert isinstance(only["Volumes"], list) and only["LayersSize"] == 0
    both = df(client, type=["container", "build-cache"])
    assert isinstance(both["Containers"], list) and both["BuildCache"] == []
    assert both["Images"] is None and both["Volumes"] is None
    with pytest.raises(docker.errors.APIError) as err:
        df(client, type="nothing")
    assert err.value.status_code == 400 and "unknown object type: nothing" in str(err.value)


def test_build_prune_checks_filters(client):
    api = client.api
    url = api._url("/build/prune")
    reply = api._result(api._post(url, params={"filters": '{"id": ["nothing-has-this-id"]}'}), True)
    assert reply == {"CachesDeleted": None, "SpaceReclaimed": 0}
    with pytest.raises(docker.errors.APIError) as err:
        api._result(api._post(url, params={"filters": '{"bogus": ["x"]}'}), True)
    assert err.value.status_code == 400
    ok_run = api._post(url)
    assert ok_run.status_code == 200


def _commit(cli, label: str, tag: str | None, content: str) -> str:
    """An image of our own on busybox, with a layer no other image shares."""
    ctr = f"base-{uuid.uuid4().hex[:8]}"
    ok(cli("run", "--name", ctr, IMAGE, "sh", "-c", f"echo {content} > /{content}"))
    args = ["commit", "-c", f"LABEL {label}", ctr] + ([tag] if tag else [])
    image_id = ok(cli(*args)).strip()
    ok(cli("rm", ctr))
    return image_id


def test_system_prune_takes_what_dockerd_would(cli, client, label):
    key = uuid.uuid4().hex[:8]
    stopped, running = f"stopped-{key}", f"running-{key}"
    ok(cli("run", "--name", stopped, "--label", label, IMAGE, "sh", "-c", fill(30000, "/x")))
    ok(cli("run", "-d", "--name", running, "--label", label, IMAGE, "sleep", "300"))
    dangling = _commit(cli, label, None, f"dangling{key}")
    tagged = _commit(cli, label, f"prune-test:{key}", f"tagged{key}")
    named, anon = f"named-{key}", f"anon-{key}"
    only = f"label={label}"
    ok(cli("volume", "create", "--label", label, named))
    ok(cli("volume", "create", "--label", label, "--label", ANON, anon))
    for vol in (named, anon):  # no --rm: that would take the anonymous volume with it
        ok(cli("run", "--name", f"w-{vol}", "-v", f"{vol}:/d", IMAGE, "sh", "-c", fill(7000)))
        ok(cli("rm", f"w-{vol}"))
    try:
        usage = client.df()
        size_rw = next(c["SizeRw"] for c in usage["Containers"] if c["Names"] == [f"/{stopped}"])
        img = next(i for i in usage["Images"] if i["Id"] == dangling)
        assert img["Containers"] == 0
        own_layer = img["Size"] - img["SharedSize"]
        assert own_layer > 0

        # `until` is accepted by every prune the CLI calls without --volumes; all is too new
        out = ok(cli("system", "prune", "-f", "--filter", "until=1h", "--filter", only))
        assert "Total reclaimed space: 0B" in out
        assert ok(cli("ps", "-aq", "--no-trunc", "--filter", f"name={stopped}")).strip()

        out = ok(cli("system", "prune", "-f", "--filter", only))
        assert stopped not in ok(cli("ps", "-a", "--format", "{{.Names}}")).split()
        assert running in ok(cli("ps", "--format", "{{.Names}}")).split()
        assert cli("image", "inspect", dangling).returncode != 0
        ok(cli("image", "inspect", tagged))
        ok(cli("image", "inspect", IMAGE))
        volumes = ok(cli("volume", "ls", "-q")).split()
        assert named in volumes and anon in volumes
        assert f"Total reclaimed space: {human_size(size_rw + own_layer)}" in out

        out = ok(cli("system", "prune", "-f", "--volumes", "--filter", only))
        volumes = ok(cli("volume", "ls", "-q")).split()
        assert anon not in volumes and named in volumes
        assert anon in out
        assert f"Total reclaimed space: {human_size(7000)}" in out
        ok(cli("image", "inspect", tagged))

        tagged_img = next(i for i in client.df()["Images"] if i["Id"] == tagged)
        freed = tagged_img["Size"] - tagged_img["SharedSize"]
        out = ok(cli("system", "prune", "-af", "--filter", only))
        assert cli("image", "inspect", tagged).returncode != 0
        ok(cli("image", "inspect", IMAGE))
        assert named in ok(cli("volume", "ls", "-q")).split()
        assert running in ok(cli("ps", "--format", "{{.Names}}")).split()
        assert f"Total reclaimed space: {human_size(freed)}" in out
    finally:
        cli("rm", "-f", running, stopped)
        cli("rmi", "-f", tagged, dangling)
        cli("volume", "rm", "-f", named, anon)


def test_prune_endpoints_accept_until_and_label(client, label):
    api = client.api
    filters = json.dumps({"until": ["1h"], "label": [label]})
    for path in ("/containers/prune", "/images/prune", "/networks/prune", "/build/prune"):
        reply = api._post(api._url(path), params={"filters": filters})
        assert reply.status_code == 200, (path, reply.text)
    filters = json.dumps({"label": [label]})
    reply = api._post(api._url("/volumes/prune"), params={"filters": filters})
    assert reply.status_code == 200, reply.text


def test_info_limits_warnings_and_registry_config(cli, client):
    from dockerpy_engine.containers.hostenv import probe_cgroups
    from dockerpy_engine.hostwarnings import ipv4_forwarding, warnings

    info = client.info()
    expected = warnings(probe_cgroups(), info["CgroupVersion"], ipv4_forwarding())
    assert (info["Warnings"] or []) == expected
    assert info["MemoryLimit"] is probe_cgroups().memory
    registry = info["RegistryConfig"]
    assert "127.0.0.0/8" in registry["InsecureRegistryCIDRs"]
    assert isinstance(registry["Mirrors"], list)
    result = cli("info")
    assert result.returncode == 0, result.stderr.decode()
    for line in expected:
        assert line in result.stderr.decode() + result.stdout.decode()
    assert "Insecure Registries:" in result.stdout.decode()


def test_system_df_images_have_virtual_size_before_api_1_44(daemon):
    older = docker.APIClient(base_url=daemon.host, version="1.43")
    images = older._result(older._get(older._url("/system/df")), True)["Images"]
    assert images and all(image["VirtualSize"] == image["Size"] for image in images)
    newer = docker.APIClient(base_url=daemon.host, version="1.44")
    assert all("VirtualSize" not in image for image in newer.df()["Images"])
