"""`docker commit`: a container's changes as a new image (dockerd's daemon/commit.go).

The image config is the parent image's, extended: the runtime config is the body's Config (or
the container's when the body has none) with the `changes` applied as Dockerfile instructions
and then completed from the container's config (dockerd's `merge`); the container's ID and
config are recorded (`container`, `container_config`), a history entry is appended and the
layer's DiffID added to rootfs — unless the container changed nothing, in which case the layer
is the empty tar and the history entry says `empty_layer`, as dockerd's NewChildImage.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..images import apply_changes
from ..images.times import rfc3339nano
from ..version import SERVER_VERSION
from .fsdiff import EMPTY_LAYER_DIFF_ID


@dataclass(frozen=True, slots=True)
class CommitOptions:
    """POST /commit: the query and the body's Config overrides."""

    container: str
    repo: str = ""
    tag: str = ""
    comment: str = ""
    author: str = ""
    pause: bool = True
    changes: tuple[str, ...] = ()
    config: Mapping[str, Any] | None = None


def _env_key(entry: str) -> str:
    return entry.split("=", 1)[0]


def merge_commit_config(user: dict[str, Any], container: Mapping[str, Any]) -> dict[str, Any]:
    """dockerd's commit `merge`: fill what the new config leaves empty from the container's."""
    merged = copy.deepcopy(user)
    base = copy.deepcopy(dict(container))
    if not merged.get("User"):
        merged["User"] = base.get("User") or ""
    ports = dict(merged.get("ExposedPorts") or {})
    if not ports:
        merged["ExposedPorts"] = base.get("ExposedPorts")
    else:
        for port, value in (base.get("ExposedPorts") or {}).items():
            ports.setdefault(port, value)
        merged["ExposedPorts"] = ports
    env = list(merged.get("Env") or [])
    if not env:
        merged["Env"] = base.get("Env")
    else:
        keys = {_env_key(e) for e in env}
        merged["Env"] = env + [e for e in base.get("Env") or [] if _env_key(e) not in keys]
    labels = dict(merged.get("Labels") or {})
    for key, value in (base.get("Labels") or {}).items():
        labels.setdefault(key, value)
    merged["Labels"] = labels
    if not merged.get("Entrypoint"):
        if not merged.get("Cmd"):
            merged["Cmd"] = base.get("Cmd")
            if "ArgsEscaped" in base:
                merged["ArgsEscaped"] = base["ArgsEscaped"]
        if merged.get("Entrypoint") is None:
            merged["Entrypoint"] = base.get("Entrypoint")
    health = base.get("Healthcheck")
    if health:
        if not merged.get("Healthcheck"):
            merged["Healthcheck"] = health
        else:
            mine = dict(merged["Healthcheck"])
            for key in ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
                if not mine.get(key) and health.get(key):
                    mine[key] = health[key]
            merged["Healthcheck"] = mine
    if not merged.get("WorkingDir"):
        merged["WorkingDir"] = base.get("WorkingDir") or ""
    volumes = dict(merged.get("Volumes") or {})
    if not volumes:
        merged["Volumes"] = base.get("Volumes")
    else:
        volumes.update(base.get("Volumes") or {})
        merged["Volumes"] = volumes
    if not merged.get("StopSignal") and base.get("StopSignal"):
        merged["StopSignal"] = base["StopSignal"]
    return merged


def commit_runtime_config(
    container_config: Mapping[str, Any], body: Mapping[str, Any] | None, changes: tuple[str, ...]
) -> dict[str, Any]:
    """The new image's `config`: BuildFromConfig(body or container config, changes), merged."""
    start = dict(body) if body is not None else copy.deepcopy(dict(container_config))
    changed = apply_changes(start, changes)
    return merge_commit_config(changed, container_config)


@dataclass(slots=True)
class ChildImage:
    """What NewChildImage needs besides the parent's config document."""

    container_id: str
    container_config: Mapping[str, Any]
    config: Mapping[str, Any]
    diff_id: str = EMPTY_LAYER_DIFF_ID
    author: str = ""
    comment: str = ""
    created: str = field(default_factory=rfc3339nano)


def child_image_config(parent: Mapping[str, Any], child: ChildImage) -> bytes:
    """The config JSON of the committed image (image.NewChildImage), keys in dockerd's order."""
    empty = child.diff_id == EMPTY_LAYER_DIFF_ID
    rootfs = dict(parent.get("rootfs") or {"type": "layers"})
    diff_ids = list(rootfs.get("diff_ids") or [])
    if not empty:
        diff_ids.append(child.diff_id)
    history_entry: dict[str, Any] = {"created": child.created}
    if child.author:
        history_entry["author"] = child.author
    created_by = " ".join(child.container_config.get("Cmd") or [])
    if created_by:
        history_entry["created_by"] = created_by
    if child.comment:
        history_entry["comment"] = child.comment
    if empty:
        history_entry["empty_layer"] = True
    document: dict[str, Any] = {}
    if child.comment:
        document["comment"] = child.comment
    document["created"] = child.created
    if child.container_id:  # a builder step without a container records none
        document["container"] = child.container_id
    document["container_config"] = dict(child.container_config)
    document["docker_version"] = SERVER_VERSION
    if child.author:
        document["author"] = child.author
    document["config"] = dict(child.config)
    document["architecture"] = parent.get("architecture") or ""
    if parent.get("variant"):
        document["variant"] = parent["variant"]
    document["os"] = parent.get("os") or "linux"
    document["rootfs"] = {"type": rootfs.get("type") or "layers", "diff_ids": diff_ids}
    document["history"] = [*list(parent.get("history") or []), history_entry]
    if parent.get("os.version"):
        document["os.version"] = parent["os.version"]
    if parent.get("os.features"):
        document["os.features"] = parent["os.features"]
    return json.dumps(document, separators=(",", ":")).encode()
