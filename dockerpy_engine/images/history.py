"""`docker history`: an image's history entries, newest first, as dockerd's ImageHistory.

Each entry of the config's `history` becomes one item; an entry that is not `empty_layer`
takes the next layer of `rootfs.diff_ids` and shows that layer's unpacked size (DiffSize),
an empty one shows 0. IDs are filled in from the top down along the image's local parent
chain (`docker commit` and builds record parents; a pulled or loaded image has none): the
newest entry gets the image's ID and tags, the next one its parent's, and so on; entries past
the end of the chain stay `<missing>`, which is how the docker CLI shows layers that are not
images of their own.

`build_history` is a pure function of the config, the layer sizes and that lineage;
`image_history` gathers them from the store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errdefs import System
from .platforms import Platform, check_platform
from .store import ImageStore
from .times import parse_time

MISSING = "<missing>"


@dataclass(frozen=True, slots=True)
class Lineage:
    """One image of the parent chain: its ID and its tags (familiar `name:tag`, lexical)."""

    image_id: str
    tags: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One row of `docker history`."""

    id: str
    created: int
    created_by: str
    tags: list[str] | None
    size: int
    comment: str

    def to_api(self) -> dict[str, Any]:
        """HistoryResponseItem; Tags is null (Go's nil slice) when there are none."""
        return {
            "Id": self.id,
            "Created": self.created,
            "CreatedBy": self.created_by,
            "Tags": self.tags,
            "Size": self.size,
            "Comment": self.comment,
        }


def _unix(created: Any) -> int:
    """time.Time.Unix() of the entry's `created`; 0 when absent (a nil *time.Time)."""
    seconds = parse_time(created) if isinstance(created, str) else None
    return math.floor(seconds) if seconds is not None else 0


def build_history(
    config: Mapping[str, Any], layer_sizes: Sequence[int], lineage: Sequence[Lineage]
) -> list[HistoryItem]:
    """The history of an image config whose layers (base first) have `layer_sizes`.

    `lineage` is the image itself first, then its parent, grandparent... as far as they are
    known locally. More non-empty entries than layers is dockerd's 500.
    """
    entries = config.get("history") or []
    rows: list[tuple[int, str, int, str]] = []
    layer = 0
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        size = 0
        if not entry.get("empty_layer"):
            if layer >= len(layer_sizes):
                raise System("too many non-empty layers in History section")
            size = layer_sizes[layer]
            layer += 1
        rows.append(
            (
                _unix(entry.get("created")),
                str(entry.get("created_by") or ""),
                size,
                str(entry.get("comment") or ""),
            )
        )
    items: list[HistoryItem] = []
    for position, (created, created_by, size, comment) in enumerate(reversed(rows)):
        known = lineage[position] if position < len(lineage) else None
        items.append(
            HistoryItem(
                id=known.image_id if known else MISSING,
                created=created,
                created_by=created_by,
                tags=(list(known.tags) or None) if known else None,
                size=size,
                comment=comment,
            )
        )
    return items


def image_lineage(store: ImageStore, image_id: str) -> list[Lineage]:
    """The image and its local parents, each with its tags, until the chain ends."""
    chain: list[Lineage] = []
    seen: set[str] = set()
    current = image_id
    while current and current not in seen and store.exists(current):
        seen.add(current)
        image = store.get(current)
        chain.append(Lineage(image.id, tuple(image.repo_tags)))
        current = image.parent
    return chain


def image_history(
    store: ImageStore, name: str, platform: Platform | None = None
) -> list[dict[str, Any]]:
    """GET /images/{name}/history."""
    image = store.get(name)
    check_platform(platform, image.config, name)
    sizes = [row.size for row in store.layers(image)]
    return [
        item.to_api() for item in build_history(image.config, sizes, image_lineage(store, image.id))
    ]
