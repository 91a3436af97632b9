"""Pull, push, login against Debian's docker-registry on 127.0.0.1, with the docker CLI and
docker-py: round trips by tag and by digest, pull -a, cross-repo mounts, corrupt blobs,
htpasswd basic auth and the bearer-token flow (a token server of our own)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

from .archives import inspect_image, tar_bytes
from .daemon import Daemon, docker_cli
from .registry import Registry, TokenServer, corrupt

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def _ok(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout.decode()


def _pushed_digest(output: str, tag: str) -> str:
    match = re.search(
        rf"^{re.escape(tag)}: digest: (sha256:[0-9a-f]{{64}}) size: \d+$", output, re.M
    )
    assert match, output
    return match.group(1)


def test_push_then_pull_by_tag_and_by_digest(cli, image, registry):
    name = f"{registry.host}/app:1"
    image_id = image(name)
    out = _ok(cli("push", name))
    assert f"The push refers to repository [{registry.host}/app]" in out
    assert out.count("Pushed") == 2
    digest = _pushed_digest(out, "1")
    assert inspect_image(cli, name)["RepoDigests"] == [f"{registry.host}/app@{digest}"]
    assert "Layer already exists" in _ok(cli("push", name))

    _ok(cli("rmi", name))
    assert cli("image", "inspect", name).returncode == 1
    out = _ok(cli("pull", name))
    assert "Already exists" in out  # the busybox base layer is in the store
    assert "Pull complete" in out
    assert f"Digest: {digest}" in out
    assert f"Status: Downloaded newer image for {name}" in out
    pulled = inspect_image(cli, name)
    assert pulled["Id"] == image_id
    assert pulled["RepoDigests"] == [f"{registry.host}/app@{digest}"]
    assert _ok(cli("run", "--rm", name)) == "hello from the registry\n"
    assert f"Status: Image is up to date for {name}" in _ok(cli("pull", name))

    _ok(cli("rmi", name))
    by_digest = f"{registry.host}/app@{digest}"
    out = _ok(cli("pull", by_digest))
    assert f"Status: Downloaded newer image for {by_digest}" in out
    pulled = inspect_image(cli, by_digest)
    assert pulled["Id"] == image_id
    assert pulled["RepoDigests"] == [by_digest]
    assert pulled["RepoTags"] == []
    _ok(cli("rmi", by_digest))


def test_docker_py_round_trip_and_registry_data(client, image, registry):
    repo = f"{registry.host}/pyapp"
    image_id = image(f"{repo}:7")
    events = list(client.api.push(repo, tag="7", stream=True, decode=True))
    assert not [e for e in events if "error" in e], events
    aux = [e["aux"] for e in events if "aux" in e]
    assert aux and aux[0]["Tag"] == "7"
    client.images.remove(f"{repo}:7")
    pulled = client.images.pull(repo, tag="7")
    assert pulled.id == image_id
    assert pulled.attrs["RepoDigests"] == [f"{repo}@{aux[0]['Digest']}"]
    data = client.images.get_registry_data(f"{repo}:7")
    assert data.id == aux[0]["Digest"]
    assert data.attrs["Platforms"] == [{"architecture": "amd64", "os": "linux"}]
    client.images.remove(f"{repo}:7")


def test_pull_all_tags(cli, image, registry):
    repo = f"{registry.host}/multi"
    ids = {tag: image(f"{repo}:{tag}", text=tag.encode()) for tag in ("a", "b")}
    out = _ok(cli("push", "--all-tags", repo))
    assert "a: digest:" in out and "b: digest:" in out
    _ok(cli("rmi", f"{repo}:a", f"{repo}:b"))
    out = _ok(cli("pull", "--all-tags", repo))
    assert "a: Pulling from multi" in out and "b: Pulling from multi" in out
    assert f"Status: Downloaded newer image for {repo}" in out
    for tag, image_id in ids.items():
        assert inspect_image(cli, f"{repo}:{tag}")["Id"] == image_id
    _ok(cli("rmi", f"{repo}:a", f"{repo}:b"))


def test_cross_repo_mount_and_missing_things(cli, image, registry):
    image(f"{registry.host}/src:1")
    _ok(cli("push", f"{registry.host}/src:1"))
    _ok(cli("tag", f"{registry.host}/src:1", f"{registry.host}/dst:1"))
    out = _ok(cli("push", f"{registry.host}/dst:1"))
    assert out.count("Mounted from src") == 2
    _ok(cli("rmi", f"{registry.host}/src:1", f"{registry.host}/dst:1"))
    missing = cli("pull", f"{registry.host}/nope:1")
    assert missing.returncode == 1
    assert (
        f"manifest for {registry.host}/nope:1 not found: manifest unknown: manifest unknown"
        in missing.stderr.decode()
    )
    unknown = cli("push", f"{registry.host}/never:1")
    assert unknown.returncode == 1
    assert f"An image does not exist locally with the tag: {registry.host}/never" in (
        unknown.stderr.decode()
    )


def test_corrupt_blob_is_refused_and_nothing_is_left(cli, image, registry, daemon):
    name = f"{registry.host}/corrupt:1"
    image(name)
    _ok(cli("push", name))
    status, body = registry.get("/v2/corrupt/manifests/1", {"Accept": MANIFEST_V2})
    assert status == 200
    top = json.loads(body)["layers"][-1]["digest"]
    corrupt(registry.blob_path(top))
    _ok(cli("rmi", name))
    layers_before = sorted(os.listdir(daemon.data_root / "layers"))
    result = cli("pull", name)
    assert result.returncode == 1
    assert f"filesystem layer verification failed for digest {top}" in result.stderr.decode()
    assert cli("image", "inspect", name).returncode == 1
    assert sorted(os.listdir(daemon.data_root / "layers")) == layers_before
    leftovers = [p for p in os.listdir(daemon.data_root / "tmp") if p.startswith("pull-")]
    assert leftovers == []


def _login(cli, host: str, user: str, password: str):
    return cli("login", "-u", user, "--password-stdin", host, input=password.encode())


def test_basic_auth_login_push_pull_logout(cli, image):
    reg = Registry(htpasswd={"alice": "s3cret"}).start()
    try:
        name = f"{reg.host}/private:1"
        image_id = image(name)
        denied = cli("push", name)
        assert denied.returncode == 1
        assert "no basic auth credentials" in denied.stderr.decode()
        wrong = _login(cli, reg.host, "alice", "nope")
        assert wrong.returncode == 1
        assert "failed with status: 401 Unauthorized" in wrong.stderr.decode()
        assert "Login Succeeded" in _ok(_login(cli, reg.host, "alice", "s3cret"))
        _ok(cli("push", name))
        _ok(cli("rmi", name))
        _ok(cli("pull", name))
        assert inspect_image(cli, name)["Id"] == image_id
        _ok(cli("logout", reg.host))
        _ok(cli("rmi", name))
        assert cli("pull", name).returncode == 1
    finally:
        reg.stop()


def test_bearer_token_flow_with_identity_token(cli, image):
    tokens = TokenServer(users={"bob": "pw"}).start()
    reg = Registry(token=tokens).start()
    try:
        name = f"{reg.host}/team/app:2"
        image_id = image(name)
        assert cli("push", name).returncode == 1  # anonymous: no push access
        assert "Login Succeeded" in _ok(_login(cli, reg.host, "bob", "pw"))
        _ok(cli("push", name))
        _ok(cli("rmi", name))
        _ok(cli("pull", name))
        assert inspect_image(cli, name)["Id"] == image_id
        refreshes = [r for r in tokens.requests if r["method"] == "POST"]
        assert refreshes, tokens.requests  # the CLI kept login's IdentityToken and sent it
        assert refreshes[-1]["grant_type"] == ["refresh_token"]
        scopes = " ".join(s for r in tokens.requests for s in r.get("scope", []))
        assert "repository:team/app:pull,push" in scopes
        _ok(cli("logout", reg.host))
        _ok(cli("rmi", name))
        assert cli("pull", name).returncode == 1
        assert cli("image", "inspect", name).returncode == 1
    finally:
        reg.stop()
        tokens.stop()


def test_daemon_killed_mid_pull_restarts_clean(busybox_tar):
    """kill -9 while a layer downloads: after a restart no image is listed, tmp/ is empty
    and no layer directory was left behind."""
    reg = Registry().start()
    own = Daemon()
    try:
        own.start()
        name = f"{reg.host}/big:1"
        big = tar_bytes({"big.bin": os.urandom(96 << 20)})
        _ok(own.cli("import", "-", name, input=big))
        _ok(own.cli("push", name))
        _ok(own.cli("rmi", name))
        layers = own.data_root / "layers"
        before = sorted(os.listdir(layers))
        pull = subprocess.Popen(
            [docker_cli(), "-H", own.host, "pull", name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        caught = False
        while time.monotonic() < deadline and not caught:
            for work in (own.data_root / "tmp").glob("pull-*"):
                if any(f.stat().st_size > 0 for f in work.iterdir()):
                    caught = True
                    break
            time.sleep(0.005)
        own.kill9()
        pull.wait(timeout=30)
        assert caught, "the pull finished before it could be interrupted"
        own.start()
        assert own.cli("image", "inspect", name).returncode == 1
        assert os.listdir(own.data_root / "tmp") == []
        assert sorted(os.listdir(layers)) == before
        _ok(own.cli("pull", name))  # and the pull still works afterwards
    finally:
        own.cleanup()
        reg.stop()
