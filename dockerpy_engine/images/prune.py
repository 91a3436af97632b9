"""`docker image prune`: dockerd's ImagePrune on top of the store's own delete.

Which images (daemon/images/image_prune.go):

- `dangling=true` (the default): only images nothing is built on (no local children), and of
  those only the ones without a tag (digest-only names count as dangling); `dangling=false`
  (`prune -a`): every image, untagged ones only when nothing is built on them.
- `until=<time or duration>`: only images created at or before it.
- `label=k[=v]` (all must match) and `label!=k[=v]` (excluded only when *all* of them match,
  as dockerd's MatchKVList); an image config without a runtime `config` passes label filters.

Each chosen image is then removed the way `docker rmi` would be, with `PruneChildren`: by each
of its names in lexical order when it has names, else by ID. A delete that conflicts (a
container uses the image, something depends on it) is skipped silently, so an image used by
a container is never deleted; as in dockerd, with several tags on such an image, `prune -a`
may still untag all but the last one (rmi only refuses the last name of an image in use).

SpaceReclaimed is the unpacked size of the layers that were actually removed (the `Deleted`
records that are layer ChainIDs), so shared layers and layers a container still holds do not
count. One prune runs at a time per store ("a prune operation is already running").
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errdefs import Conflict, EngineError, InvalidParameter
from ..filters import until_filter
from .delete import InUse
from .reference import parse
from .store import ImageStore
from .times import parse_time
from .types import Image

log = logging.getLogger(__name__)

ACCEPTED_FILTERS = frozenset({"dangling", "label", "label!", "until"})

_running: weakref.WeakSet[ImageStore] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What a prune removed: dockerd's Untagged/Deleted records and the bytes freed."""

    deleted: list[dict[str, str]]
    space_reclaimed: int

    def to_api(self) -> dict[str, Any]:
        """ImagePruneResponse; ImagesDeleted is null when nothing went (Go's nil slice)."""
        return {"ImagesDeleted": self.deleted or None, "SpaceReclaimed": self.space_reclaimed}


# -- filters ---------------------------------------------------------------------------------


def _invalid_filter(key: str, values: Iterable[str] | None = None) -> InvalidParameter:
    """filters.invalidFilter's wording: `invalid filter 'key'` or `invalid filter 'key=v,w'`."""
    if values is None:
        return InvalidParameter(f"invalid filter '{key}'")
    return InvalidParameter(f"invalid filter '{key}={','.join(values)}'")


def get_bool_or_default(filters: Mapping[str, list[str]], key: str, default: bool) -> bool:
    """filters.Args.GetBoolOrDefault: true/1 or false/0, exactly; both or neither is invalid."""
    if key not in filters:
        return default
    values = filters[key]
    if not values:
        raise _invalid_filter(key)
    is_true = "true" in values or "1" in values
    is_false = "false" in values or "0" in values
    if is_true == is_false:
        raise _invalid_filter(key, values)
    return is_true


def match_kv_list(wanted: list[str], labels: Mapping[str, str]) -> bool:
    """filters.Args.MatchKVList: every `k` must be present and every `k=v` equal."""
    if not wanted:
        return True
    if not labels:
        return False
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _match_labels(filters: Mapping[str, list[str]], labels: Mapping[str, str]) -> bool:
    if not match_kv_list(filters.get("label", []), labels):
        return False
    return not ("label!" in filters and match_kv_list(filters["label!"], labels))


# -- prune -----------------------------------------------------------------------------------


def _select(
    store: ImageStore, filters: Mapping[str, list[str]], dangling_only: bool, until: float | None
) -> list[Image]:
    images = store.all()
    parents = {i.parent for i in images if i.parent}
    chosen: list[Image] = []
    for image in images:
        has_children = image.id in parents
        if dangling_only and has_children:
            continue  # imageStore.Heads()
        if not image.repo_tags and not image.repo_digests and has_children:
            continue  # an intermediate image goes with its child, never on its own
        if until is not None:
            created = parse_time(image.created)
            if created is None or created > until:
                continue
        if image.config.get("config") is not None and not _match_labels(filters, image.labels):
            continue
        chosen.append(image)
    chosen.sort(key=lambda i: (parse_time(i.created) or 0.0, i.id), reverse=True)
    return chosen


async def _delete(store: ImageStore, name: str, in_use: InUse | None) -> list[dict[str, str]]:
    """ImageDelete with PruneChildren; a failure skips the image (imageDeleteFailed)."""
    try:
        return await store.delete(name, force=False, prune=True, in_use=in_use)
    except Conflict:
        return []
    except EngineError as exc:
        log.warning("failed to prune image %s: %s", name, exc.message)
        return []


async def prune_images(
    store: ImageStore, filters: Mapping[str, list[str]], in_use: InUse | None = None
) -> PruneReport:
    """POST /images/prune."""
    if store in _running:
        raise Conflict("a prune operation is already running")
    _running.add(store)
    try:
        for key in filters:
            if key not in ACCEPTED_FILTERS:
                raise _invalid_filter(key)
        dangling_only = get_bool_or_default(filters, "dangling", True)
        until = until_filter(filters)
        chosen = _select(store, filters, dangling_only, until)
        sizes = {row.chain_id: row.size for i in store.all() for row in store.layers(i)}
        records: list[dict[str, str]] = []
        for image in chosen:
            if not store.exists(image.id):
                continue  # went with a child pruned before it
            names = sorted(str(parse(n)) for n in (*image.repo_tags, *image.repo_digests))
            if not names:
                records += await _delete(store, image.id.removeprefix("sha256:"), in_use)
            elif not dangling_only or not image.repo_tags:
                for name in names:
                    records += await _delete(store, name, in_use)
        reclaimed = sum(sizes.get(r.get("Deleted", ""), 0) for r in records)
    finally:
        _running.discard(store)
    store._emit("prune", "", {"reclaimed": str(reclaimed)})
    return PruneReport(records, reclaimed)
