"""Image platforms: the `platform` query parameter (API 1.48+) and matching it against an image.

The docker CLI 28 sends `--platform` of `docker save` and `docker history` as a JSON-encoded
OCI platform (`{"os":"linux","architecture":"arm64","variant":"v8"}`), which dockerd decodes
with httputils.DecodePlatform. Our images are single-platform, so a platform either names the
image's own or dockerd's "was found but does not match the specified platform" NotFound.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errdefs import InvalidParameter, NotFound

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386"}


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform: os/architecture[/variant], plus the rarely used os.version."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    def __str__(self) -> str:
        """platforms.FormatAll: `linux/arm64/v8`."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def to_oci(self) -> dict[str, Any]:
        """The OCI JSON form, fields in the order Go's ocispec.Platform marshals them."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.variant:
            out["variant"] = self.variant
        return out


def decode_platform(text: str) -> Platform | None:
    """httputils.DecodePlatform: '' is no platform; bad JSON or no os/arch is a 400."""
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"failed to parse platform: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidParameter("failed to parse platform: not a JSON object")
    os_name = str(doc.get("os") or "")
    arch = str(doc.get("architecture") or "")
    if not os_name or not arch:
        raise InvalidParameter("both os and architecture must be specified in the platform")
    return Platform(os_name, arch, str(doc.get("variant") or ""), str(doc.get("os.version") or ""))


def image_platform(config: Mapping[str, Any]) -> Platform:
    """image.Platform(): what the config says (linux/amd64 when it says nothing)."""
    return Platform(
        str(config.get("os") or "linux"),
        str(config.get("architecture") or "amd64"),
        str(config.get("variant") or ""),
        str(config.get("os.version") or ""),
    )


def _normalise(p: Platform) -> tuple[str, str, str]:
    arch = _ARCH_ALIASES.get(p.architecture.lower(), p.architecture.lower())
    variant = p.variant.lower()
    if arch == "arm64" and variant in ("", "v8"):
        variant = "v8"
    if arch == "amd64" and variant == "v1":
        variant = ""
    return p.os.lower(), arch, variant


def matches(wanted: Platform, actual: Platform) -> bool:
    """platforms.OnlyStrict, for one wanted platform: same os and architecture, and the same
    variant when one was asked for (arm64 with no variant is arm64/v8)."""
    w_os, w_arch, w_variant = _normalise(wanted)
    a_os, a_arch, a_variant = _normalise(actual)
    if (w_os, w_arch) != (a_os, a_arch):
        return False
    return not wanted.variant or w_variant == a_variant


def check_platform(wanted: Platform | None, config: Mapping[str, Any], ref: str) -> None:
    """dockerd's GetImage with a platform option: NotFound when the image is for another."""
    if wanted is None:
        return
    actual = image_platform(config)
    if not matches(wanted, actual):
        raise NotFound(
            f"image with reference {ref} was found but does not match the specified "
            f"platform: wanted {wanted}, actual: {actual}"
        )
