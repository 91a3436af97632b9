"""Image inspect in the shapes older API versions get from dockerd 28.

Clients pinned to an older version read fields that v1.51 dropped: docker-compose 1.29 (with
`COMPOSE_API_VERSION=1.44`, its usual workaround for Engine 25 and later) reads
`ContainerConfig` whenever it recreates a container. dockerd keeps answering each version in
its own shape, so this does too:

- before 1.50, `Config` is the whole container.Config of Go, its container-only fields empty;
- before 1.45, `Container` (omitted when empty) and `ContainerConfig`, the config of the
  container a commit or a classic-builder step was made from (all zero values for an image
  made otherwise), follow `Created`;
- before 1.44, `VirtualSize` follows `Size`, and an image without a creation time shows Go's
  zero time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..version import api_less_than
from .times import ZERO_TIME
from .types import Image

# Go's container.Config: each field, its zero value (null for slices, maps and pointers) and
# whether `omitempty` drops it when empty
_CONTAINER_CONFIG: tuple[tuple[str, Any, bool], ...] = (
    *((name, "", False) for name in ("Hostname", "Domainname", "User")),
    *((name, False, False) for name in ("AttachStdin", "AttachStdout", "AttachStderr")),
    ("ExposedPorts", None, True),
    *((name, False, False) for name in ("Tty", "OpenStdin", "StdinOnce")),
    ("Env", None, False),
    ("Cmd", None, False),
    ("Healthcheck", None, True),
    ("ArgsEscaped", False, True),
    ("Image", "", False),
    ("Volumes", None, False),
    ("WorkingDir", "", False),
    ("Entrypoint", None, False),
    ("NetworkDisabled", False, True),
    ("MacAddress", "", True),
    ("OnBuild", None, False),
    ("Labels", None, False),
    ("StopSignal", "", True),
    ("StopTimeout", None, True),
    ("Shell", None, True),
)


def go_container_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` (an image config's `config` or `container_config`) as Go encodes a
    container.Config: every field in its order, zero values where unset."""
    out: dict[str, Any] = {}
    for key, zero, omit_empty in _CONTAINER_CONFIG:
        value = config.get(key)
        if omit_empty and not value:
            continue
        out[key] = zero if value is None else value
    return out


def shape_for_version(inspect: dict[str, Any], image: Image, version: str) -> dict[str, Any]:
    """The v1.51 `inspect` of `image` as an older `version` shows it."""
    if not api_less_than(version, "1.50"):
        return inspect
    inspect = {**inspect, "Config": go_container_config(image.container_config)}
    after_created: dict[str, Any] = {}  # Created, when set, is just before DockerVersion
    if api_less_than(version, "1.44") and "Created" not in inspect:
        after_created["Created"] = ZERO_TIME
    if api_less_than(version, "1.45"):
        if image.config.get("container"):
            after_created["Container"] = image.config["container"]
        after_created["ContainerConfig"] = go_container_config(
            image.config.get("container_config") or {}
        )
    after_size = {"VirtualSize": inspect["Size"]} if api_less_than(version, "1.44") else {}
    shaped: dict[str, Any] = {}
    for key, value in inspect.items():
        if key == "DockerVersion":
            shaped.update(after_created)
        shaped[key] = value
        if key == "Size":
            shaped.update(after_size)
    return shaped
