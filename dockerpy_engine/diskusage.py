"""`GET /system/df` and `POST /build/prune`: what dockerd's DiskUsage reports.

dockerd (daemon/disk_usage.go, api/server/router/system): LayersSize is the unpacked size of
every layer in the store, each counted once; Images are the top-level images (as
`docker images` lists them, dangling included) with SharedSize and their container count;
Containers are all containers with SizeRw/SizeRootFs; Volumes are the local volumes with
UsageData; BuildCache is the classic builder's step images (build/records.py).

From API 1.42 the `type` parameter (repeatable: container, image, volume, build-cache)
selects the sections; the others are null, as dockerd leaves them. The disk walks run in
worker threads inside the services (`fsutil.dir_size`, `VolumeService.disk_usage`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .build.records import cache_records
from .containers.types import ListOptions
from .errdefs import InvalidParameter

if TYPE_CHECKING:
    from .containers.service import ContainerService
    from .images import ImageStore
    from .volumes import VolumeService

OBJECT_TYPES = ("container", "image", "volume", "build-cache")


def object_types(types: Iterable[str] | None) -> frozenset[str]:
    """The sections asked for: all of them without `type` (or before API 1.42)."""
    wanted = list(types or [])
    if not wanted:
        return frozenset(OBJECT_TYPES)
    for typ in wanted:
        if typ not in OBJECT_TYPES:
            raise InvalidParameter(f"unknown object type: {typ}")
    return frozenset(wanted)


async def disk_usage(
    containers: ContainerService,
    images: ImageStore,
    volumes: VolumeService | None,
    types: Iterable[str] | None = None,
) -> dict[str, Any]:
    """SystemDataUsageResponse (swagger v1.51)."""
    wanted = object_types(types)
    out: dict[str, Any] = {
        "LayersSize": 0,
        "Images": None,
        "Containers": None,
        "Volumes": None,
        "BuildCache": cache_records(images) if "build-cache" in wanted else None,
    }
    rows: list[dict[str, Any]] = []
    if "container" in wanted or "image" in wanted:
        rows = await containers.list(ListOptions(all=True, size="container" in wanted))
    if "container" in wanted:
        out["Containers"] = rows
    if "image" in wanted:
        out["LayersSize"], out["Images"] = image_usage(images, rows)
    if "volume" in wanted:
        out["Volumes"] = await volumes.disk_usage() if volumes is not None else []
    return out


def image_usage(images: ImageStore, rows: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """(LayersSize, Images): layers counted once; each image with SharedSize and Containers."""
    layers: dict[str, int] = {}
    for image in images.list(all=True):
        for row in images.layers(image):
            layers[row.chain_id] = row.size
    top = images.list()
    counts = Counter(str(r.get("ImageID") or "") for r in rows)
    shared = images.shared_sizes(top)
    summaries = [
        images.to_api_summary(image, containers=counts[image.id], shared_size=shared[image.id])
        for image in top
    ]
    return sum(layers.values()), summaries
