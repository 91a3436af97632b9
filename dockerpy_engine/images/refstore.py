"""The names of the images (repo:tag and repo@digest), as dockerd's reference store, and the
lookup of an image by name, digest, ID or ID prefix (GetImage).

Names are kept in memory and persisted in the image_refs table; each image's `repo_tags` and
`repo_digests` are refreshed whenever a name pointing at it comes or goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errdefs import InvalidParameter, NoSuchImage
from ..store.images import ImageRows, RefRow
from .records import ImageRecords
from .reference import DigestReference, Reference, parse, parse_any
from .types import Image


class RefStore:
    """Lookup key -> (reference, image ID) for the images of `images`."""

    def __init__(self, rows: ImageRows, images: ImageRecords) -> None:
        self._rows = rows
        self._images = images
        self._refs: dict[str, tuple[Reference, str]] = {}

    def load(self) -> None:
        """Read the names of the images already loaded, then set every image's names."""
        for ref_row in self._rows.load_refs():
            if ref_row.image_id in self._images:
                self._refs[ref_row.ref] = (parse(ref_row.ref), ref_row.image_id)
        for image_id in self._images:
            self._refresh_names(image_id)

    def get(self, ref_or_id: str) -> Image:
        """GetImage: name[:tag], name@digest, full or hex ID, or a unique ID prefix."""
        ref = parse_any(ref_or_id)
        if isinstance(ref, DigestReference):
            image = self._images.get(ref.digest)
            if image is None:
                raise NoSuchImage(ref.digest)
            return image
        entry = self._refs.get(ref.lookup_key())
        if entry is not None:
            return self._images[entry[1]]
        found = self._search_prefix(ref_or_id)
        if found is not None:
            return self._images[found]
        raise NoSuchImage(ref.with_default_tag().familiar_string())

    def _search_prefix(self, text: str) -> str | None:
        """digestset.Lookup: a unique prefix of the hex ID, `sha256:` optional."""
        prefix = text.removeprefix("sha256:")
        if not prefix or not re.fullmatch(r"[a-f0-9]+", prefix):
            return None
        matches = [i for i in self._images if i[len("sha256:") :].startswith(prefix)]
        return matches[0] if len(matches) == 1 else None

    def target(self, ref: Reference) -> str | None:
        """The ID of the image `ref` names, None if it names none."""
        entry = self._refs.get(ref.lookup_key())
        return entry[1] if entry is not None else None

    def of(self, image_id: str) -> list[Reference]:
        """The names of one image."""
        refs = [ref for ref, target in self._refs.values() if target == image_id]
        return sorted(refs, key=str)  # refstore's lexicalRefs: by the full reference

    def by_image(self) -> dict[str, list[Reference]]:
        """Every image's names (unsorted), by image ID, for a listing."""
        refs_by_image: dict[str, list[Reference]] = {}
        for ref, target in self._refs.values():
            refs_by_image.setdefault(target, []).append(ref)
        return refs_by_image

    def tag(self, ref: Reference, image_id: str, tag_time: str) -> None:
        """Persist one name with the image's new LastTagTime, then point it at the image."""
        self._rows.set_ref(ref_row(ref, image_id), last_tag_time=tag_time)
        self.point([ref], image_id)

    def point(self, refs: Iterable[Reference], image_id: str) -> None:
        """Point already persisted names at an image, taking them from any other."""
        touched = {image_id}
        for ref in refs:
            key = ref.lookup_key()
            previous = self._refs.get(key)
            if previous is not None:
                touched.add(previous[1])
            self._refs[key] = (parse(key), image_id)
        for target in touched:
            self._refresh_names(target)

    def remove(self, ref: Reference) -> Reference:
        """Untag (idempotent); returns the reference as removed (`:latest` added)."""
        ref = ref.with_default_tag()
        key = ref.lookup_key()
        entry = self._refs.pop(key, None)
        self._rows.delete_refs([key])
        if entry is not None:
            self._refresh_names(entry[1])
        return ref

    def _refresh_names(self, image_id: str) -> None:
        image = self._images.get(image_id)
        if image is None:
            return
        refs = self.of(image_id)
        image.repo_tags = [r.familiar_string() for r in refs if r.digest is None]
        image.repo_digests = [r.familiar_string() for r in refs if r.digest is not None]


def ref_row(ref: Reference, image_id: str) -> RefRow:
    return RefRow(ref.lookup_key(), image_id, "digest" if ref.digest else "tag")


def refuse_digest_name(ref: Reference) -> None:
    if ref.familiar_name == "sha256":
        raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm as name")
