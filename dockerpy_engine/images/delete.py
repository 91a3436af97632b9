"""DELETE /images/{name}: dockerd's ImageDelete (daemon/images/image_delete.go), its untag
records, conflict rules and messages, and its pruning of untagged parents.

The rules run in memory under the store's lock; the store forgets each image deleted and
sends the events and removes the files afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errdefs import Conflict
from .records import ImageRecords
from .reference import Reference, is_image_id_prefix, parse
from .refstore import RefStore

InUse = Callable[[str], tuple[str, bool] | None]
"""`in_use(image_id)` -> (container_id, running) of a container created from that image
(a running one if any is running), or None. ImageDelete's conflict rules depend on it."""

Drop = Callable[[str, list[Path]], list[str]]
"""`drop(image_id, trash)`: forget an image and the layers only it used, adding their files to
`trash`; returns those layers' ChainIDs, top first."""


def short_id(image_id: str) -> str:
    """stringid.TruncateID: 12 hex digits, no algorithm."""
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


@dataclass(frozen=True, slots=True)
class _Conflict:
    hard: bool
    used: bool
    message: str


# Conflict kinds, as dockerd's image_delete.go.
_DEPENDENT_CHILD, _RUNNING, _ACTIVE_REFERENCE, _STOPPED = 1, 2, 4, 8
_HARD = _DEPENDENT_CHILD | _RUNNING
_SOFT = _ACTIVE_REFERENCE | _STOPPED


@dataclass(slots=True)
class Deletion:
    """What one delete did: the API's records, the events to send (action, image ID) and
    the paths moved to the trash."""

    records: list[dict[str, str]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)
    trash: list[Path] = field(default_factory=list)


class Deleter:
    """Untags and deletes the images of `images`; `drop` forgets one image."""

    def __init__(self, images: ImageRecords, refs: RefStore, drop: Drop) -> None:
        self._images = images
        self._refs = refs
        self._drop = drop

    def delete(self, ref_text: str, force: bool, prune: bool, in_use: InUse) -> Deletion:
        """Untag `ref_text`, and delete the image when that was its last name (or
        `ref_text` is its ID), with its untagged parents when `prune`."""
        done = Deletion()
        image = self._refs.get(ref_text)
        image_id = image.id
        repo_refs = self._refs.of(image_id)
        removed_repository_ref = False
        if not is_image_id_prefix(image_id, ref_text):
            if not force and _is_single_reference(repo_refs):
                user = in_use(image_id)
                if user is not None:
                    raise Conflict(
                        f'conflict: unable to remove repository reference "{ref_text}" '
                        f"(must force) - container {short_id(user[0])} is using its "
                        f"referenced image {short_id(image_id)}"
                    )
            parsed = parse(ref_text)
            removed = self._refs.remove(parsed)
            done.records.append({"Untagged": removed.familiar_string()})
            done.events.append(("untag", image_id))
            repo_refs = self._refs.of(image_id)
            if parsed.digest is None:
                same_repo_tags = [
                    r for r in repo_refs if r.digest is None and r.name == parsed.name
                ]
                if not same_repo_tags:
                    remaining = []
                    for other in repo_refs:
                        if other.digest is not None and other.name == parsed.name:
                            self._refs.remove(other)  # dockerd logs no event for these
                            done.records.append({"Untagged": other.familiar_string()})
                        else:
                            remaining.append(other)
                    repo_refs = remaining
            if repo_refs:
                return done
            removed_repository_ref = True
        elif _is_single_reference(repo_refs):
            mask = _HARD if force else _HARD | (_SOFT & ~_ACTIVE_REFERENCE)
            conflict = self._check_conflict(image_id, mask, in_use)
            if conflict is not None:
                raise _conflict_error(image_id, conflict)
            for other in repo_refs:
                removed = self._refs.remove(other)
                done.records.append({"Untagged": removed.familiar_string()})
                done.events.append(("untag", image_id))
        self._delete_image(image_id, force, prune, removed_repository_ref, in_use, done)
        return done

    def _delete_image(
        self,
        image_id: str,
        force: bool,
        prune: bool,
        quiet: bool,
        in_use: InUse,
        done: Deletion,
    ) -> None:
        """dockerd's imageDeleteHelper: with `quiet`, a conflict skips the image instead of
        failing the delete if the image is not dangling or a container uses it."""
        mask = _HARD if force else _HARD | _SOFT
        conflict = self._check_conflict(image_id, mask, in_use)
        if conflict is not None:
            if quiet and (not self._is_dangling(image_id) or conflict.used):
                return
            raise _conflict_error(image_id, conflict)
        parent = self._images[image_id].parent
        for ref in self._refs.of(image_id):
            removed = self._refs.remove(ref)
            done.records.append({"Untagged": removed.familiar_string()})
            done.events.append(("untag", image_id))
        removed_layers = self._drop(image_id, done.trash)
        done.events.append(("delete", image_id))
        done.records.append({"Deleted": image_id})
        done.records.extend({"Deleted": chain} for chain in removed_layers)
        if prune and parent and parent in self._images:
            self._delete_image(parent, False, True, True, in_use, done)

    def _check_conflict(self, image_id: str, mask: int, in_use: InUse) -> _Conflict | None:
        if mask & _DEPENDENT_CHILD and self._images.children(image_id):
            return _Conflict(True, False, "image has dependent child images")
        user = in_use(image_id) if mask & (_RUNNING | _STOPPED) else None
        if mask & _RUNNING and user is not None and user[1]:
            message = f"image is being used by running container {short_id(user[0])}"
            return _Conflict(True, True, message)
        if mask & _ACTIVE_REFERENCE and self._refs.of(image_id):
            return _Conflict(False, False, "image is referenced in multiple repositories")
        if mask & _STOPPED and user is not None and not user[1]:
            message = f"image is being used by stopped container {short_id(user[0])}"
            return _Conflict(False, True, message)
        return None

    def _is_dangling(self, image_id: str) -> bool:
        return not self._refs.of(image_id) and not self._images.children(image_id)


def _is_single_reference(refs: list[Reference]) -> bool:
    """dockerd's isSingleReference: one tag, plus digests of that same repository only."""
    if len(refs) <= 1:
        return len(refs) == 1
    single: Reference | None = None
    canonical: set[str] = set()
    for ref in refs:
        if ref.digest is not None:
            canonical.add(ref.name)
        elif single is None:
            single = ref
        else:
            return False
    single = single or refs[0]
    return len(canonical) == 1 and single.name in canonical


def _conflict_error(image_id: str, conflict: _Conflict) -> Conflict:
    forced = "cannot be forced" if conflict.hard else "must be forced"
    return Conflict(
        f"conflict: unable to delete {short_id(image_id)} ({forced}) - {conflict.message}"
    )
