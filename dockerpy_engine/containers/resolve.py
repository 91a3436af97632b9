"""Finding a container by full ID, name or unique ID prefix, in dockerd's order."""

from __future__ import annotations

from collections.abc import Mapping

from ..errdefs import InvalidParameter, NoSuchContainer
from .types import Container


def resolve(ref: str, by_id: Mapping[str, Container], by_name: Mapping[str, str]) -> Container:
    """Full ID, then exact name, then ID prefix; an ambiguous prefix is the client's error."""
    if not ref:
        raise NoSuchContainer(ref)
    found = by_id.get(ref)
    if found is not None:
        return found
    name = ref if ref.startswith("/") else "/" + ref
    container_id = by_name.get(name)
    if container_id is not None:
        return by_id[container_id]
    matches = [cid for cid in by_id if cid.startswith(ref)]
    if len(matches) == 1:
        return by_id[matches[0]]
    if len(matches) > 1:
        raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}")
    raise NoSuchContainer(ref)
