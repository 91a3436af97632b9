"""GET /images/json: which images a listing shows, by dockerd's filters and its rules for
dangling and intermediate images."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errdefs import InvalidParameter
from ..filters import parse_until
from .records import ImageRecords
from .reference import familiar_match
from .refstore import RefStore
from .times import parse_time
from .types import Image

ACCEPTED_FILTERS = frozenset({"dangling", "label", "before", "since", "reference", "until"})


def list_images(
    images: ImageRecords,
    refs: RefStore,
    filters: Mapping[str, Iterable[str]] | None = None,
    all: bool = False,
) -> list[Image]:
    """The images `filters` select, newest first; intermediate ones only with `all`.

    With a `reference` filter, an image's names are narrowed to the matching ones
    (the returned Images are copies then), as dockerd lists them.
    """
    f = {k: list(v) for k, v in (filters or {}).items()}
    for key in f:
        if key not in ACCEPTED_FILTERS:
            raise InvalidParameter(f"invalid filter '{key}'")
    dangling_only = _bool_filter(f, "dangling")
    before = min((_created(refs, v) for v in f.get("before", [])), default=None)
    since = max((_created(refs, v) for v in f.get("since", [])), default=None)
    until = min((parse_until(v) for v in f.get("until", [])), default=None)
    result: list[Image] = []
    parents = {i.parent for i in images.values() if i.parent}
    refs_by_image = refs.by_image()
    for image in images.values():
        created = parse_time(image.created)
        if before is not None and (created is None or created >= before):
            continue
        if since is not None and (created is None or created <= since):
            continue
        if until is not None and (created is None or created >= until):
            continue
        if "label" in f and not _match_labels(f["label"], image.labels):
            continue
        has_children = image.id in parents
        if dangling_only and has_children:
            continue
        names = sorted(refs_by_image.get(image.id, []), key=str)
        if "reference" in f:
            names = [r for r in names if any(familiar_match(p, r) for p in f["reference"])]
        tags = [r.familiar_string() for r in names if r.digest is None]
        digests = [r.familiar_string() for r in names if r.digest is not None]
        if not tags and not digests:
            if not (all or not has_children):
                continue
            if "dangling" in f and not dangling_only:
                continue
            if "reference" in f:
                continue
        elif dangling_only and tags:
            continue
        if "reference" in f:
            image = _copy(image, tags, digests)
        result.append(image)
    result.sort(key=lambda i: parse_time(i.created) or 0.0, reverse=True)
    return result


def _created(refs: RefStore, ref: str) -> float:
    return parse_time(refs.get(ref).created) or 0.0


def _bool_filter(filters: dict[str, list[str]], key: str) -> bool:
    values = filters.get(key)
    if not values:
        return False
    truthy = {v.lower() in ("true", "1") for v in values}
    if any(v.lower() not in ("true", "1", "false", "0") for v in values) or len(truthy) > 1:
        raise InvalidParameter(f"invalid filter '{key}={','.join(values)}'")
    return truthy.pop()


def _match_labels(wanted: list[str], labels: Mapping[str, str]) -> bool:
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _copy(image: Image, tags: list[str], digests: list[str]) -> Image:
    return Image(
        image.id,
        image.config,
        image.size,
        repo_tags=tags,
        repo_digests=digests,
        parent=image.parent,
        added=image.added,
        last_tag_time=image.last_tag_time,
    )
