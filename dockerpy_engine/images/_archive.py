"""Reading an unpacked `docker save` archive (the input of `docker load`).

Two layouts are understood: the Docker one (`manifest.json`: Config, RepoTags, Layers),
which dockerd writes next to an OCI layout since 25 and which wins when present, and a
plain OCI image layout (`index.json` + `blobs/`), named by the `io.containerd.image.name`
or a full `org.opencontainers.image.ref.name` annotation. Every path inside the archive is
resolved within the unpacked directory; small JSON blobs are checked against their digest
here, layers against the config's DiffIDs when they are registered.
"""

from __future__ import annotations

import hashlib
import json
import platform as host_platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errdefs import InvalidParameter
from .layers import ScopedRoot
from .reference import InvalidReference, parse

_HEX64 = re.compile(r"[a-f0-9]{64}")
_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
_MAX_JSON = 16 << 20  # configs and manifests are small; refuse to slurp a huge "JSON" file


@dataclass(slots=True)
class ArchiveImage:
    """One image of the archive: its config bytes, layer files (base first) and names."""

    config: bytes
    config_name: str
    layers: list[Path]
    repo_tags: list[str] = field(default_factory=list)


def host_os_arch() -> tuple[str, str, str]:
    """GOOS, GOARCH and variant of this machine, as platforms.DefaultSpec reports them."""
    machine = host_platform.machine().lower()
    table = {
        "x86_64": ("amd64", ""),
        "amd64": ("amd64", ""),
        "aarch64": ("arm64", "v8"),
        "arm64": ("arm64", "v8"),
        "armv7l": ("arm", "v7"),
        "armv6l": ("arm", "v6"),
        "i386": ("386", ""),
        "i686": ("386", ""),
    }
    arch, variant = table.get(machine, (machine, ""))
    return "linux", arch, variant


def read_archive(root: Path) -> list[ArchiveImage]:
    """Find the images in an unpacked archive; InvalidParameter when it makes no sense."""
    scope = ScopedRoot(root)
    if (root / "manifest.json").is_file():
        return _docker_manifest(scope)
    if (root / "index.json").is_file():
        return _oci_layout(scope)
    raise InvalidParameter("invalid archive: it has neither manifest.json nor index.json")


def _read(scope: ScopedRoot, name: str, limit: int = _MAX_JSON) -> bytes:
    path = scope.resolve_file(name)
    if path.stat().st_size > limit:
        raise InvalidParameter(f"invalid archive: {name} is too large")
    return path.read_bytes()


def _json(scope: ScopedRoot, name: str) -> Any:
    try:
        return json.loads(_read(scope, name))
    except ValueError as exc:
        raise InvalidParameter(f"invalid archive: {name}: {exc}") from None


def _check_config_name(name: str, data: bytes) -> None:
    """A config named after a digest (`<hex>.json`, `blobs/sha256/<hex>`) must match it."""
    stem = name.rsplit("/", 1)[-1].removesuffix(".json")
    actual = hashlib.sha256(data).hexdigest()
    if _HEX64.fullmatch(stem) and stem != actual:
        raise InvalidParameter(
            f"invalid archive: config {name} has digest sha256:{actual}, not sha256:{stem}"
        )


def _docker_manifest(scope: ScopedRoot) -> list[ArchiveImage]:
    manifest = _json(scope, "manifest.json")
    if not isinstance(manifest, list):
        raise InvalidParameter("invalid archive: manifest.json is not a list")
    images: list[ArchiveImage] = []
    for entry in manifest:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise InvalidParameter("invalid archive: manifest.json entry without Config")
        layers = entry.get("Layers") or []
        tags = entry.get("RepoTags") or []
        if not all(isinstance(x, str) for x in [*layers, *tags]):
            raise InvalidParameter("invalid archive: malformed manifest.json entry")
        config = _read(scope, entry["Config"])
        _check_config_name(entry["Config"], config)
        paths = [scope.resolve_file(layer) for layer in layers]
        images.append(ArchiveImage(config, entry["Config"], paths, list(tags)))
    return images


def _blob(scope: ScopedRoot, descriptor: Any, verify: bool = True) -> tuple[str, Path]:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        raise InvalidParameter("invalid archive: descriptor without a digest")
    digest = descriptor["digest"]
    algorithm, _, hexpart = digest.partition(":")
    if algorithm != "sha256" or not _HEX64.fullmatch(hexpart):
        raise InvalidParameter(f"invalid archive: unsupported digest {digest}")
    name = f"blobs/sha256/{hexpart}"
    path = scope.resolve_file(name)
    if verify and hashlib.sha256(_read(scope, name)).hexdigest() != hexpart:
        raise InvalidParameter(f"invalid archive: blob {digest} does not match its digest")
    return name, path


def _blob_json(scope: ScopedRoot, descriptor: Any) -> Any:
    name, _ = _blob(scope, descriptor)
    return _json(scope, name)


def _pick_manifest(scope: ScopedRoot, descriptor: dict[str, Any]) -> dict[str, Any]:
    """Follow an image index down to the manifest for this host (or the only one)."""
    for _ in range(8):
        document = _blob_json(scope, descriptor)
        if not isinstance(document, dict):
            raise InvalidParameter("invalid archive: malformed manifest")
        media_type = document.get("mediaType") or descriptor.get("mediaType")
        if media_type not in _INDEX_TYPES and "manifests" not in document:
            return document
        candidates = [m for m in document.get("manifests") or [] if isinstance(m, dict)]
        os_name, arch, _ = host_os_arch()
        matching = [
            m
            for m in candidates
            if (m.get("platform") or {}).get("os") == os_name
            and (m.get("platform") or {}).get("architecture") == arch
        ]
        if not matching and len(candidates) != 1:
            raise InvalidParameter(f"invalid archive: no manifest for {os_name}/{arch}")
        descriptor = (matching or candidates)[0]
    raise InvalidParameter("invalid archive: image indexes nest too deeply")


def _oci_name(annotations: dict[str, Any]) -> str | None:
    """A full reference from the annotations; a bare `latest` ref.name names nothing."""
    for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
        value = annotations.get(key)
        if not isinstance(value, str) or not any(c in value for c in "/:"):
            continue
        try:
            ref = parse(value)
        except InvalidReference:
            continue
        if ref.tag is not None and ref.digest is None:
            return value
    return None


def _oci_layout(scope: ScopedRoot) -> list[ArchiveImage]:
    index = _json(scope, "index.json")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise InvalidParameter("invalid archive: index.json has no manifests")
    images: list[ArchiveImage] = []
    for descriptor in index["manifests"]:
        if not isinstance(descriptor, dict):
            raise InvalidParameter("invalid archive: malformed index.json")
        manifest = _pick_manifest(scope, descriptor)
        config_name, _ = _blob(scope, manifest.get("config"))
        config = _read(scope, config_name)
        layers = [_blob(scope, layer, verify=False)[1] for layer in manifest.get("layers") or []]
        name = _oci_name(descriptor.get("annotations") or {})
        images.append(ArchiveImage(config, config_name, layers, [name] if name else []))
    return images
