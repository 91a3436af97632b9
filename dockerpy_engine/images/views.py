"""Images as the API shows them: ImageSummary (GET /images/json) and ImageInspect
(GET /images/{name}/json) in v1.51's shape. Older shapes are rebuilt from these in
legacy_inspect.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .layout import StoreLayout
from .times import ZERO_TIME, parse_time
from .types import Image


def summary(image: Image, containers: int = -1, shared_size: int = -1) -> dict[str, Any]:
    """ImageSummary of GET /images/json (swagger v1.51); -1 means "not computed"."""
    return {
        "Id": image.id,
        "ParentId": image.parent,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(image.repo_digests),
        "Created": int(parse_time(image.created) or 0),
        "Size": image.size,
        "SharedSize": shared_size,
        "Labels": image.labels,
        "Containers": containers,
    }


def inspect(image: Image, graph_driver: str, layout: StoreLayout) -> dict[str, Any]:
    """ImageInspect of GET /images/{name}/json, in v1.51's shape."""
    cfg = image.config
    out: dict[str, Any] = {
        "Id": image.id,
        "RepoTags": list(image.repo_tags),
        "RepoDigests": list(image.repo_digests),
        "Parent": image.parent,
        "Comment": cfg.get("comment") or "",
    }
    if image.created:
        out["Created"] = image.created
    out["DockerVersion"] = cfg.get("docker_version") or ""
    out["Author"] = cfg.get("author") or ""
    out["Config"] = _api_image_config(image.container_config)
    out["Architecture"] = cfg.get("architecture") or ""
    if cfg.get("variant"):
        out["Variant"] = cfg["variant"]
    out["Os"] = cfg.get("os") or ""
    if cfg.get("os.version"):
        out["OsVersion"] = cfg["os.version"]
    out["Size"] = image.size
    data = _graph_data(image, layout) if graph_driver == "overlay2" else None
    out["GraphDriver"] = {"Name": graph_driver, "Data": data}  # vfs: no data
    out["RootFS"] = {"Type": "layers", "Layers": image.diff_ids}
    out["Metadata"] = {"LastTagTime": image.last_tag_time or ZERO_TIME}
    return out


def _graph_data(image: Image, layout: StoreLayout) -> dict[str, str]:
    chains = image.chain_ids
    if not chains:
        return {}
    top = layout.layer_dir(chains[-1])
    data = {
        "MergedDir": str(top / "merged"),
        "UpperDir": str(top / "diff"),
        "WorkDir": str(top / "work"),
    }
    if len(chains) > 1:
        data["LowerDir"] = ":".join(str(layout.diff_dir(c)) for c in reversed(chains[:-1]))
    return data


def _api_image_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The image's runtime config as API v1.50+ shows it (no container-only fields)."""
    out: dict[str, Any] = {"User": config.get("User") or ""}
    if config.get("ExposedPorts"):
        out["ExposedPorts"] = config["ExposedPorts"]
    out["Env"] = config.get("Env") or None
    out["Cmd"] = config.get("Cmd") or None
    for key in ("Healthcheck", "ArgsEscaped"):
        if config.get(key):
            out[key] = config[key]
    out["Volumes"] = config.get("Volumes") or None
    out["WorkingDir"] = config.get("WorkingDir") or ""
    out["Entrypoint"] = config.get("Entrypoint") or None
    out["OnBuild"] = config.get("OnBuild") or None
    out["Labels"] = config.get("Labels") or None
    for key in ("StopSignal", "Shell"):
        if config.get(key):
            out[key] = config[key]
    return out
