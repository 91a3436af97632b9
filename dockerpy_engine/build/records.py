"""The classic build cache seen as BuildCache records (`system df`) and pruned (`build prune`).

The classic builder's cache is made of images: every step commits one, and a later build
reuses it when its parent and step match (cache.py). Those untagged step images are what
`docker system df` reports as build cache here (dockerd's classic builder reports none, its
BuildCache section is BuildKit's), and `docker builder prune` removes the ones no tagged
image is built on, with their untagged parents, exactly as `docker rmi` would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errdefs import Conflict, InvalidParameter, NotFound
from ..filters import labels_match, until_filter
from ..images import ImageStore
from ..images.types import Image

PRUNE_FILTERS = frozenset(
    {
        "until",
        "unused-for",
        "id",
        "parent",
        "type",
        "description",
        "inuse",
        "shared",
        "private",
        "label",
        "label!",
    }
)
InUse = Callable[[str], Any]


def _hex(image_id: str) -> str:
    return image_id.removeprefix("sha256:")


def cache_images(images: ImageStore) -> list[Image]:
    """Step images: untagged, built on a parent, recording the step that made them."""
    return [
        image
        for image in images.all()
        if image.parent
        and not image.repo_tags
        and not image.repo_digests
        and (image.config.get("container_config") or {}).get("Cmd")
    ]


def _own_size(images: ImageStore, image: Image) -> int:
    """The size of the layer this step added (0 for a metadata step)."""
    try:
        parent = images.get(image.parent)
    except NotFound:
        return image.size
    if len(image.chain_ids) <= len(parent.chain_ids):
        return 0
    return images.layers(image)[-1].size


def _children_index(images: ImageStore) -> dict[str, list[Image]]:
    """Parent ID -> the images built on it, in one pass (asking the store per image would
    scan every image for each of them, on the event loop)."""
    index: dict[str, list[Image]] = {}
    for image in images.all():
        if image.parent:
            index.setdefault(image.parent, []).append(image)
    return index


def _in_use(image: Image, cache: set[str], children: Mapping[str, list[Image]]) -> bool:
    """A step image is in use while any image built on it is not itself cache."""
    return any(
        child.id not in cache or _in_use(child, cache, children)
        for child in children.get(image.id, ())
    )


def _description(image: Image) -> str:
    history = image.config.get("history") or []
    return str(history[-1].get("created_by", "")) if history else ""


def cache_records(images: ImageStore) -> list[dict[str, Any]]:
    """BuildCache entries (swagger BuildCache) for `GET /system/df`."""
    steps = cache_images(images)
    ids = {image.id for image in steps}
    children = _children_index(images)
    return [
        {
            "ID": _hex(image.id)[:12],
            "Parents": [_hex(image.parent)[:12]],
            "Type": "regular",
            "Description": _description(image),
            "InUse": _in_use(image, ids, children),
            "Shared": False,
            "Size": _own_size(images, image),
            "CreatedAt": image.created,
            "LastUsedAt": None,
            "UsageCount": 0,
        }
        for image in steps
    ]


def _matches(image: Image, record: Mapping[str, Any], filters: Mapping[str, list[str]]) -> bool:
    until = until_filter(dict(filters))
    if until is not None and image.added > until:
        return False
    if filters.get("id") and not any(_hex(image.id).startswith(v) for v in filters["id"]):
        return False
    parent = _hex(image.parent)
    if filters.get("parent") and not any(parent.startswith(v) for v in filters["parent"]):
        return False
    if filters.get("description") and not any(
        v in record["Description"] for v in filters["description"]
    ):
        return False
    if filters.get("type") and "regular" not in filters["type"]:
        return False
    if filters.get("label") and not labels_match(image.labels, filters["label"]):
        return False
    return not (filters.get("label!") and labels_match(image.labels, filters["label!"]))


async def prune_cache(
    images: ImageStore, filters: Mapping[str, list[str]], in_use: InUse
) -> dict[str, Any]:
    """BuildPruneResponse: delete the step images nothing is built on (the leaves), each
    with its untagged parents (ImageDelete's pruning); images a container uses stay."""
    for key in filters:
        if key not in PRUNE_FILTERS:
            raise InvalidParameter(f"invalid filter '{key}'")
    records = {r["ID"]: r for r in cache_records(images)}
    sizes = {short: record["Size"] for short, record in records.items()}
    children = _children_index(images)  # deleting leaves takes their untagged parents along
    deleted: list[str] = []
    reclaimed = 0
    for image in cache_images(images):
        record = records[_hex(image.id)[:12]]
        if record["InUse"] or children.get(image.id) or not _matches(image, record, filters):
            continue
        try:
            result = await images.delete(image.id, in_use=in_use)
        except (Conflict, NotFound):
            continue
        for entry in result:
            gone = _hex(entry.get("Deleted", ""))
            if gone and gone[:12] in sizes:
                deleted.append(gone)
                reclaimed += sizes[gone[:12]]
    return {"CachesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
