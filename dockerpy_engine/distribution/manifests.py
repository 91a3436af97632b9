"""Manifests and indexes: media types, parsing, platform selection, schema2 building.

Pull accepts Docker schema2 manifests and manifest lists, and OCI manifests and indexes;
Docker schema1 is refused as dockerd 28 refuses it. An index is resolved to one manifest
by platform, with containerd's matching rules (platforms.Only): the wanted platform first,
then what it can also run (amd64/v3 → v2 → v1 → 386; arm64 → arm/v8 → arm/v7 …).
Push writes a schema2 manifest laid out exactly as dockerd's (json.MarshalIndent, 3 spaces).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errdefs import InvalidParameter, NotFound
from ..images._archive import host_os_arch
from ..images.reference import InvalidReference, validate_digest
from ._errors import VerificationError
from .types import Descriptor, Platform

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = OCI_LAYER + "+gzip"
OCI_LAYER_ZSTD = OCI_LAYER + "+zstd"

MANIFEST_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEX_TYPES = frozenset({DOCKER_LIST, OCI_INDEX})
CONFIG_TYPES = frozenset({DOCKER_CONFIG, OCI_CONFIG})
GZIP_LAYER_TYPES = frozenset(
    {
        DOCKER_LAYER,
        DOCKER_FOREIGN_LAYER,
        OCI_LAYER_GZIP,
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    }
)
# What pull asks for, most wanted first (dockerd sends the same list).
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
MAX_MANIFEST_SIZE = 4 << 20  # distribution's and containerd's limit

SCHEMA1_REMOVED = (
    "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, "
    "schema 1 support has been removed. Suggest the author of {ref} to upgrade the image to "
    "the OCI Format or Docker Image manifest v2, schema 2."
)


@dataclass(slots=True)
class Manifest:
    """An image manifest: the config blob and the layers, base first."""

    media_type: str
    digest: str
    raw: bytes
    config: Descriptor
    layers: list[Descriptor] = field(default_factory=list)


@dataclass(slots=True)
class Index:
    """A manifest list / OCI index: one manifest per platform."""

    media_type: str
    digest: str
    raw: bytes
    manifests: list[Descriptor] = field(default_factory=list)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def verify_digest(data: bytes, expected: str, what: str) -> None:
    """Refuse content whose digest is not `expected` (`what` names it in the error)."""
    algorithm = expected.partition(":")[0]
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise VerificationError(f"unsupported digest algorithm in {expected}")
    if digest_of(data, algorithm) != expected:
        raise VerificationError(f"{what} verification failed for digest {expected}")


def parse(raw: bytes, content_type: str, ref: str = "") -> Manifest | Index:
    """A manifest or index from its bytes; its digest is sha256 of exactly those bytes."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"failed to parse manifest: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidParameter("failed to parse manifest: not a JSON object")
    content_type = content_type.split(";", 1)[0].strip().lower()
    media_type = document.get("mediaType") or ""
    if not isinstance(media_type, str):
        raise InvalidParameter("failed to parse manifest: mediaType is not a string")
    schema = document.get("schemaVersion")
    if (
        schema == 1
        or content_type in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED)
        or media_type in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED)
    ):
        raise InvalidParameter(SCHEMA1_REMOVED.format(ref=ref or "this image"))
    if schema != 2:
        raise InvalidParameter(f"unsupported manifest schema version {schema!r}")
    if not media_type:
        if content_type in MANIFEST_TYPES | INDEX_TYPES:
            media_type = content_type
        elif "manifests" in document:
            media_type = OCI_INDEX
        else:
            media_type = OCI_MANIFEST
    digest = digest_of(raw)
    if media_type in INDEX_TYPES:
        entries = document.get("manifests")
        if not isinstance(entries, list):
            raise InvalidParameter("failed to parse manifest list: no manifests")
        return Index(media_type, digest, raw, [_descriptor(e, True) for e in entries])
    if media_type in MANIFEST_TYPES:
        layers = document.get("layers")
        if not isinstance(layers, list) or not isinstance(document.get("config"), dict):
            raise InvalidParameter("failed to parse manifest: config or layers missing")
        return Manifest(
            media_type,
            digest,
            raw,
            _descriptor(document["config"], False),
            [_descriptor(layer, False) for layer in layers],
        )
    raise InvalidParameter(f"unsupported manifest media type {media_type!r}")


def _descriptor(entry: Any, with_platform: bool) -> Descriptor:
    if not isinstance(entry, dict):
        raise InvalidParameter("failed to parse manifest: a descriptor is not an object")
    digest = entry.get("digest")
    size = entry.get("size")
    if not isinstance(digest, str) or not isinstance(size, int) or size < 0:
        raise InvalidParameter("failed to parse manifest: a descriptor lacks digest or size")
    try:
        validate_digest(digest)
    except InvalidReference as exc:
        raise InvalidParameter(f"invalid digest {digest!r}: {exc.message}") from None
    platform = None
    raw_platform = entry.get("platform")
    if with_platform and isinstance(raw_platform, dict):
        platform = Platform(  # as written; normalised when matched
            str(raw_platform.get("os") or ""),
            str(raw_platform.get("architecture") or ""),
            str(raw_platform.get("variant") or ""),
            str(raw_platform.get("os.version") or ""),
            tuple(str(f) for f in raw_platform.get("os.features") or ()),
        )
    urls = entry.get("urls") if isinstance(entry.get("urls"), list) else []
    return Descriptor(
        str(entry.get("mediaType") or ""), digest, size, platform, tuple(str(u) for u in urls)
    )


# -- platforms ------------------------------------------------------------------------

_ARCH_ALIASES = {
    "i386": ("386", ""),
    "x86_64": ("amd64", ""),
    "x86-64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
}


def normalize(
    os_name: str,
    arch: str,
    variant: str = "",
    os_version: str = "",
    os_features: tuple[str, ...] = (),
) -> Platform:
    """containerd's platforms.Normalize: aliases resolved, default variants made implicit."""
    os_name = os_name.lower()
    if os_name == "macos":
        os_name = "darwin"
    arch, variant = arch.lower(), variant.lower()
    if arch in _ARCH_ALIASES:
        arch, alias_variant = _ARCH_ALIASES[arch]
        variant = variant or alias_variant
    if variant and variant[0].isdigit():
        variant = "v" + variant
    if (arch == "amd64" and variant == "v1") or (arch == "arm64" and variant == "v8"):
        variant = ""
    elif arch == "arm" and not variant:
        variant = "v7"
    return Platform(os_name, arch, variant, os_version, os_features)


def host_platform() -> Platform:
    os_name, arch, variant = host_os_arch()
    return normalize(os_name, arch, variant)


def parse_platform(text: str) -> Platform:
    """platforms.Parse: `os[/arch[/variant]]`, or an architecture alone (host OS)."""
    parts = text.strip().lower().split("/")
    if not all(parts) or len(parts) > 3:
        raise InvalidParameter(
            f'"{text}": unknown operating system or architecture: invalid argument'
        )
    host = host_platform()
    known_os = {"linux", "windows", "darwin", "freebsd", "macos", "netbsd", "openbsd", "solaris"}
    if len(parts) == 1:
        if parts[0] in known_os:
            same_os = host.os == normalize(parts[0], host.architecture).os
            arch, variant = (host.architecture, host.variant) if same_os else ("amd64", "")
            return normalize(parts[0], arch, variant)
        return normalize(host.os, parts[0])
    if parts[0] not in known_os:
        raise InvalidParameter(
            f'"{text}": unknown operating system or architecture: invalid argument'
        )
    return normalize(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def platform_vector(platform: Platform) -> list[Platform]:
    """What a machine of `platform` runs, best first (containerd's platformVector)."""
    vector = [platform]
    arch, variant = platform.architecture, platform.variant
    if arch == "amd64":
        level = int(variant[1:]) if variant.startswith("v") and variant[1:].isdigit() else 1
        for lower in range(level - 1, 0, -1):
            vector.append(Platform(platform.os, "amd64", "" if lower == 1 else f"v{lower}"))
        vector.append(Platform(platform.os, "386"))
    elif arch == "arm64":
        vector.extend(platform_vector(Platform(platform.os, "arm", variant or "v8")))
    elif arch == "arm" and variant.startswith("v") and variant[1:].isdigit():
        for lower in range(int(variant[1:]) - 1, 4, -1):
            vector.append(Platform(platform.os, "arm", f"v{lower}"))
    return vector


def normalized(platform: Platform) -> Platform:
    return normalize(
        platform.os,
        platform.architecture,
        platform.variant,
        platform.os_version,
        platform.os_features,
    )


def _same(a: Platform, b: Platform) -> bool:
    return a.os == b.os and a.architecture == b.architecture and a.variant == b.variant


def matches(want: Platform, have: Platform) -> bool:
    """True when an image for `have` runs on `want` (exact match or in its vector)."""
    have = normalized(have)
    return any(_same(candidate, have) for candidate in platform_vector(normalized(want)))


def select_manifest(index: Index, want: Platform) -> Descriptor:
    """The index entry for `want`, best-matching first; NotFound as dockerd words it."""
    entries = [
        (d, normalized(d.platform))
        for d in index.manifests
        if d.platform is not None and d.media_type not in INDEX_TYPES
    ]
    for candidate in platform_vector(normalized(want)):
        for entry, platform in entries:
            if _same(candidate, platform):
                return entry
    raise NotFound(f"no matching manifest for {want} in the manifest list entries")


def config_platform(config: dict[str, Any]) -> Platform:
    """The platform an image config declares, as written."""
    return Platform(
        str(config.get("os") or ""),
        str(config.get("architecture") or ""),
        str(config.get("variant") or ""),
        str(config.get("os.version") or ""),
    )


# -- push -----------------------------------------------------------------------------


def schema2_manifest(config: Descriptor, layers: list[Descriptor]) -> bytes:
    """The schema2 manifest bytes, laid out as dockerd's (Go's MarshalIndent, 3 spaces)."""
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": config.media_type, "size": config.size, "digest": config.digest},
        "layers": [
            {"mediaType": layer.media_type, "size": layer.size, "digest": layer.digest}
            for layer in layers
        ],
    }
    return json.dumps(document, indent=3).encode()
