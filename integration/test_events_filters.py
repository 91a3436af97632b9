"""docker events: every filter, and the events of volumes, networks and images, through
docker-py and the real CLI, against the swagger's EventMessage. A daemon of this module's own
runs in a private network namespace (for the bridge network it creates), a registry beside it
(for pull and push), so the events in each test's window are only the test's own."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from .conftest import IMAGE
from .daemon import Daemon
from .registry import Registry

SWAGGER = Path("/work/shared/reference/docker-engine-api/v1.51.yaml")
LEGACY = {"status", "id", "from"}  # pre-1.22 fields dockerd still sends (API < 1.52)


@pytest.fixture(scope="module")
def ed(netns: str, busybox_tar: str) -> Iterator[Daemon]:
    d = Daemon()
    d.start(netns=netns)
    assert d.cli("import", busybox_tar, IMAGE).returncode == 0
    try:
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="module")
def registry(netns: str) -> Iterator[Registry]:
    reg = Registry(netns=netns).start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def client(ed: Daemon) -> Iterator[docker.DockerClient]:
    c = ed.client()
    yield c
    c.close()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().strip()


def _cli_events(d: Daemon, since: float, until: float, *filters: str) -> list[dict[str, Any]]:
    """`docker events --since --until [--filter ...] --format '{{json .}}'`."""
    args = ["events", "--since", f"{since:.9f}", "--until", f"{until:.9f}"]
    for f in filters:
        args += ["--filter", f]
    lines = _ok(d.cli(*args, "--format", "{{json .}}"))
    return [json.loads(line) for line in lines.splitlines()]


def _py_events(
    client: docker.DockerClient, since: float, until: float, **filters: Any
) -> list[dict[str, Any]]:
    return list(client.events(since=since, until=until, filters=filters or None, decode=True))


def _actions(events: list[dict[str, Any]]) -> list[str]:
    return [e["Action"] for e in events]


def test_volume_events(ed: Daemon, client: docker.DockerClient) -> None:
    vol, name = _name("evvol"), _name("evc")
    since = time.time()
    _ok(ed.cli("volume", "create", vol))
    _ok(ed.cli("run", "--rm", "--name", name, "-v", f"{vol}:/data:ro", IMAGE, "true"))
    _ok(ed.cli("volume", "rm", vol))
    until = time.time()
    events = _py_events(client, since, until, volume=vol)
    assert _actions(events) == ["create", "mount", "unmount", "destroy"]
    assert {e["Type"] for e in events} == {"volume"} and {e["Actor"]["ID"] for e in events} == {vol}
    create, mount, unmount, destroy = (e["Actor"]["Attributes"] for e in events)
    container = mount["container"]
    assert create == destroy == {"driver": "local"}
    assert mount == {"container": container, "destination": "/data", "driver": "local",
                     "propagation": "", "read/write": "false"}  # fmt: skip
    assert unmount == {"container": container, "driver": "local"}
    started = _cli_events(ed, since, until, "type=volume", "event=mount", "event=unmount")
    assert _actions(started) == ["mount", "unmount"]
    assert _cli_events(ed, since, until, f"volume={vol}", "type=container") == []


def test_network_events(ed: Daemon) -> None:
    net, name = _name("evnet"), _name("evc")
    since = time.time()
    net_id = _ok(ed.cli("network", "create", net))
    cid = _ok(ed.cli("run", "-d", "--name", name, "--network", net, IMAGE, "sleep", "300"))
    _ok(ed.cli("network", "disconnect", net, name))
    _ok(ed.cli("network", "connect", net, name))
    _ok(ed.cli("rm", "-f", name))
    _ok(ed.cli("network", "rm", net))
    until = time.time()
    events = _cli_events(ed, since, until, f"network={net}")
    assert _actions(events) == [
        "create",
        "connect",
        "disconnect",
        "connect",
        "disconnect",
        "destroy",
    ]
    assert {(e["Type"], e["Actor"]["ID"]) for e in events} == {("network", net_id)}
    attributes = [e["Actor"]["Attributes"] for e in events]
    assert attributes[0] == attributes[-1] == {"name": net, "type": "bridge"}
    assert all(a == {"container": cid, "name": net, "type": "bridge"} for a in attributes[1:-1])
    by_id = _cli_events(ed, since, until, f"network={net_id[:12]}", "event=connect")
    assert _actions(by_id) == ["connect", "connect"]
    # values of one key are alternatives, keys all apply
    either = _cli_events(ed, since, until, "type=network", "type=container", f"container={name}")
    assert {e["Type"] for e in either} == {"container"}
    assert {"create", "start", "die", "destroy"} <= set(_actions(either))


def test_image_events(
    ed: Daemon, client: docker.DockerClient, registry: Registry, busybox_tar: str, tmp_path: Path
) -> None:
    repo = _name("evimg")
    pushed = f"{registry.host}/{repo}:1"
    saved = tmp_path / "saved.tar"
    since = time.time()
    image_id = _ok(ed.cli("import", "--change", "LABEL team=img", busybox_tar, f"{repo}:1"))
    _ok(ed.cli("tag", f"{repo}:1", f"{repo}:2"))
    _ok(ed.cli("save", "-o", str(saved), f"{repo}:1"))
    _ok(ed.cli("rmi", f"{repo}:2"))
    _ok(ed.cli("rmi", f"{repo}:1"))
    _ok(ed.cli("load", "-i", str(saved)))
    _ok(ed.cli("tag", f"{repo}:1", pushed))
    _ok(ed.cli("push", pushed))
    _ok(ed.cli("rmi", pushed))
    _ok(ed.cli("pull", pushed))
    until = time.time()
    events = _cli_events(ed, since, until, "type=image")
    seen = [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]) for e in events]
    team = {"team": "img"}
    assert seen == [
        ("tag", image_id, {**team, "name": f"{repo}:1"}),  # dockerd tags, then logs the import
        ("import", image_id, {**team, "name": image_id}),
        ("tag", image_id, {**team, "name": f"{repo}:2"}),
        ("save", image_id, {**team, "name": image_id}),
        ("untag", image_id, {**team, "name": image_id}),
        ("untag", image_id, {**team, "name": image_id}),
        ("delete", image_id, {"name": image_id}),  # the image is gone: no labels left
        ("load", image_id, {**team, "name": image_id}),  # its tags come back without events
        ("tag", image_id, {**team, "name": pushed}),
        ("push", pushed, {**team, "name": pushed.rsplit(":", 1)[0]}),
        ("untag", image_id, {**team, "name": image_id}),
        ("pull", pushed, {**team, "name": pushed.rsplit(":", 1)[0]}),
    ]
    assert all(e["status"] == e["Action"] and e["id"] == e["Actor"]["ID"] for e in events)
    # image=: exact, by ID or by name with or without its tag
    assert len(_py_events(client, since, until, image=image_id)) == 10
    assert _actions(_py_events(client, since, until, image=repo)) == ["tag", "tag"]
    assert _actions(_py_events(client, since, until, image=f"{repo}:2")) == ["tag"]
    assert _py_events(client, since, until, image=repo[:-1]) == []
    assert _actions(_py_events(client, since, until, image=pushed)) == ["tag", "push", "pull"]
    assert len(_py_events(client, since, until, label="team=img")) == 11


def test_container_filters(ed: Daemon, client: docker.DockerClient) -> None:
    red, blue, busy = _name("evred"), _name("evblue"), _name("evbusy")
    since = time.time()
    red_id = _ok(ed.cli("run", "-d", "--name", red, "--label", "team=red", IMAGE, "true"))
    blue_id = _ok(ed.cli("create", "--name", blue, "--label", "team=blue", IMAGE, "true"))
    _ok(ed.cli("run", "-d", "--name", busy, IMAGE, "sleep", "300"))
    _ok(ed.cli("exec", busy, "true"))
    _ok(ed.cli("wait", red))
    _ok(ed.cli("rm", "-f", red, blue, busy))
    until = time.time()
    everything = _py_events(client, since, until)

    def ids(*filters: str) -> set[str]:
        return {e["Actor"]["ID"] for e in _cli_events(ed, since, until, *filters)}

    assert ids(f"container={red}") == {red_id}
    assert ids(f"container={red_id[:12]}") == {red_id}
    assert ids(f"container={red}", f"container={blue}") == {red_id, blue_id}
    assert ids("label=team=red") == {red_id}
    assert ids("label=team") == {red_id, blue_id}
    assert ids("label=team=red", f"container={blue}") == set()
    red_events = _py_events(client, since, until, container=red)
    assert _actions(red_events)[:2] == ["create", "start"] and "destroy" in _actions(red_events)
    assert all(e["from"] == IMAGE and e["Actor"]["Attributes"]["team"] == "red" for e in red_events)
    die = next(e for e in red_events if e["Action"] == "die")
    assert set(die["Actor"]["Attributes"]) == {"exitCode", "execDuration", "image", "name", "team"}
    creates = _cli_events(ed, since, until, "event=create", "type=container")
    assert _actions(creates) == ["create", "create", "create"]
    # exec_start and friends carry their command: those values match by prefix
    execs = _cli_events(ed, since, until, "event=exec_start", "event=exec_die")
    assert _actions(execs) == ["exec_start: true", "exec_die"]
    assert _cli_events(ed, since, until, "event=exec") == []
    # image= takes the containers made from it (their `image` attribute, tag or not)
    from_image = _cli_events(ed, since, until, "image=busybox")
    assert {e["Actor"]["ID"] for e in from_image} >= {red_id, blue_id}
    assert all(e["Actor"]["Attributes"]["image"] == IMAGE for e in from_image)
    # scope, daemon, unknown keys
    assert len(_py_events(client, since, until, scope="local")) == len(everything)
    assert _py_events(client, since, until, scope="swarm") == []
    daemon_id = client.info()["ID"]
    assert _py_events(client, since, until, daemon=daemon_id) == []
    assert len(_py_events(client, since, until, nonsense="x")) == len(everything)


def test_time_window(ed: Daemon, client: docker.DockerClient) -> None:
    name = _name("evtime")
    since = time.time()
    _ok(ed.cli("create", "--name", name, IMAGE, "true"))
    middle = time.time()
    _ok(ed.cli("rm", name))
    until = time.time()
    assert _actions(_py_events(client, since, middle, container=name)) == ["create"]
    assert _actions(_py_events(client, middle, until, container=name)) == ["destroy"]
    # `until` alone: the whole backlog up to it, as dockerd's loadBufferedEvents
    before = list(client.events(until=until, filters={"container": name}, decode=True))
    assert _actions(before) == ["create", "destroy"]
    # (docker-py's event stream swallows HTTP errors: the CLI shows dockerd's message)
    refused = ed.cli("events", "--since", f"{until:.9f}", "--until", f"{since:.9f}")
    assert refused.returncode != 0
    assert (
        f"`since` time ({until:.9f}) cannot be after `until` time ({since:.9f})"
        in refused.stderr.decode()
    )


def _definition(name: str) -> str:
    """The text of one swagger definition (up to the next one; no YAML parser at hand)."""
    found = re.search(rf"\n  {name}:\n(.*?)(?=\n  \w+:\n)", SWAGGER.read_text(), re.S)
    assert found, name
    return found.group(1)


def test_event_shapes_follow_the_swagger(ed: Daemon, client: docker.DockerClient) -> None:
    if not SWAGGER.exists():
        pytest.skip("shared reference not available")
    message, actor = _definition("EventMessage"), _definition("EventActor")
    fields = set(re.findall(r"^      (\w+):$", message, re.M))
    assert fields == {"Type", "Action", "Actor", "scope", "time", "timeNano"}
    types = re.search(r"Type:.*?enum: \[(.*?)\]", message, re.S)
    scopes = re.search(r"scope:.*?enum: \[(.*?)\]", message, re.S)
    assert types and scopes
    type_enum = set(json.loads(f"[{types.group(1)}]"))
    scope_enum = set(json.loads(f"[{scopes.group(1)}]"))
    assert set(re.findall(r"^      (\w+):$", actor, re.M)) == {"ID", "Attributes"}
    name = _name("evshape")
    since = time.time()
    for args in (("volume", "create", name), ("volume", "rm", name), ("network", "create", name),
                 ("network", "rm", name), ("tag", IMAGE, f"{name}:1"), ("rmi", f"{name}:1"),
                 ("run", "--rm", "--name", name, IMAGE, "true")):  # fmt: skip
        _ok(ed.cli(*args))
    events = _py_events(client, since, time.time())
    assert {e["Type"] for e in events} == {"container", "image", "network", "volume"}
    for e in events:
        legacy = LEGACY if e["Type"] in ("container", "image") else set()
        assert fields <= set(e) <= fields | legacy, e
        assert e["Type"] in type_enum and e["scope"] in scope_enum
        assert isinstance(e["Action"], str) and e["Action"]
        assert set(e["Actor"]) == {"ID", "Attributes"}
        assert all(isinstance(v, str) for v in e["Actor"]["Attributes"].values())
        assert e["time"] == e["timeNano"] // 1_000_000_000
