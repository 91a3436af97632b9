"""Image records as the rest of the daemon sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Image:
    """An image in our store: its ID is sha256 of the config JSON bytes."""

    id: str  # "sha256:<hex>"
    config: dict[str, Any]  # the OCI/Docker image config document, as stored
    size: int  # sum of the layers' unpacked sizes
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    parent: str = ""

    @property
    def created(self) -> str:
        return str(self.config.get("created", ""))

    @property
    def container_config(self) -> dict[str, Any]:
        """The runtime config (Cmd, Entrypoint, Env...) inside the image config."""
        return dict(self.config.get("config") or {})

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])
