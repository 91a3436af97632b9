"""The classic build cache: a step is cached when an image already exists whose parent is the
current image and whose `container_config` (the step's config, with its command or `#(nop)`
comment as Cmd) is the same as the one this step would record (dockerd's imageCache).

The cache lives in the image store itself: intermediate images are the cache, it survives
daemon restarts, and `docker rmi` or `image prune` of them is what invalidates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..errdefs import NotFound
from ..images.types import Image

# Fields that name the container rather than describe the step (dockerd's compare skips them).
_IGNORED = frozenset({"Image", "Hostname", "Domainname", "MacAddress"})
_COLLECTIONS = ("Env", "Cmd", "Entrypoint", "Shell", "ExposedPorts", "Volumes", "Labels", "OnBuild")


class ImageLookup(Protocol):
    def children(self, image_id: str) -> list[Image]: ...

    def get(self, ref_or_id: str) -> Image: ...


def cache_key(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as compared: container-naming fields out, a null list or map the same as
    an empty one (Go compares their lengths)."""
    key = {k: v for k, v in config.items() if k not in _IGNORED}
    for name in _COLLECTIONS:
        if not key.get(name):
            key[name] = None
    return {k: v for k, v in key.items() if v not in (None, "", False, 0)}


def probe(
    images: ImageLookup, parent_id: str, config: Mapping[str, Any], sources: Iterable[str] = ()
) -> str | None:
    """The ID of a cached image for this step, or None.

    `sources` are the `--cache-from` images: with them, dockerd trusts only images in their
    history chains, so a step is taken from the cache only if such an image matches."""
    wanted = cache_key(config)
    trusted = _trusted(images, sources)
    for child in images.children(parent_id):
        if trusted is not None and child.id not in trusted:
            continue
        if cache_key(child.config.get("container_config") or {}) == wanted:
            return child.id
    return None


def _trusted(images: ImageLookup, sources: Iterable[str]) -> set[str] | None:
    names = list(sources)
    if not names:
        return None
    trusted: set[str] = set()
    for name in names:
        try:
            image = images.get(name)
        except NotFound:  # a missing cache-from image is skipped, as dockerd does
            continue
        while image.id not in trusted:
            trusted.add(image.id)
            if not image.parent:
                break
            try:
                image = images.get(image.parent)
            except NotFound:
                break
    return trusted
