"""Image inspect's shapes for API versions before 1.50, 1.45 and 1.44."""

from __future__ import annotations

from dockerpy_engine.images.legacy_inspect import go_container_config, shape_for_version
from dockerpy_engine.images.types import Image

CURRENT = {
    "Id": "sha256:abc",
    "RepoTags": ["a:latest"],
    "RepoDigests": [],
    "Parent": "",
    "Comment": "",
    "Created": "2026-11-28T00:00:00Z",
    "DockerVersion": "",
    "Author": "",
    "Config": {"User": "", "Env": ["A=1"], "Cmd": ["sh"]},
    "Architecture": "amd64",
    "Os": "linux",
    "Size": 42,
    "GraphDriver": {"Name": "overlay2", "Data": None},
    "RootFS": {"Type": "layers", "Layers": []},
    "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
}
COMMITTED = Image(
    id="sha256:abc",
    config={
        "config": {"Env": ["A=1"], "Cmd": ["sh"], "StopSignal": "SIGINT"},
        "container": "f" * 64,
        "container_config": {"Cmd": ["/bin/sh", "-c", "touch /x"], "Image": "sha256:def"},
    },
    size=42,
)
IMPORTED = Image(id="sha256:abc", config={"config": {}}, size=42)


def test_current_versions_keep_the_shape() -> None:
    assert shape_for_version(CURRENT, COMMITTED, "1.51") is CURRENT
    assert shape_for_version(CURRENT, COMMITTED, "1.50") is CURRENT


def test_go_container_config_fills_zero_values_in_go_order() -> None:
    config = go_container_config({"Cmd": ["sh"], "StopSignal": "SIGINT", "Labels": {"a": "b"}})
    assert list(config) == [
        "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
        "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir",
        "Entrypoint", "OnBuild", "Labels", "StopSignal",
    ]  # fmt: skip
    assert config["Hostname"] == "" and config["Tty"] is False and config["Env"] is None
    assert config["Cmd"] == ["sh"] and config["Labels"] == {"a": "b"}


def test_before_1_50_config_is_a_whole_container_config() -> None:
    shaped = shape_for_version(CURRENT, COMMITTED, "1.49")
    assert shaped["Config"] == go_container_config(COMMITTED.container_config)
    assert "ContainerConfig" not in shaped and "VirtualSize" not in shaped


def test_before_1_45_container_and_its_config_follow_created() -> None:
    shaped = shape_for_version(CURRENT, COMMITTED, "1.44")
    keys = list(shaped)
    assert keys[keys.index("Created") + 1 : keys.index("DockerVersion")] == [
        "Container",
        "ContainerConfig",
    ]
    assert shaped["Container"] == "f" * 64
    assert shaped["ContainerConfig"]["Cmd"] == ["/bin/sh", "-c", "touch /x"]
    assert shaped["ContainerConfig"]["Image"] == "sha256:def"


def test_an_image_made_without_a_container_has_an_empty_container_config() -> None:
    shaped = shape_for_version(CURRENT, IMPORTED, "1.44")
    assert "Container" not in shaped
    assert shaped["ContainerConfig"] == go_container_config({})


def test_before_1_44_virtual_size_and_a_zero_created() -> None:
    undated = {key: value for key, value in CURRENT.items() if key != "Created"}
    shaped = shape_for_version(undated, IMPORTED, "1.41")
    keys = list(shaped)
    assert keys[keys.index("Size") + 1] == "VirtualSize" and shaped["VirtualSize"] == 42
    assert keys[keys.index("Comment") + 1] == "Created"
    assert shaped["Created"] == "0001-01-01T00:00:00Z"
