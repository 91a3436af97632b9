"""Image records as the rest of the daemon sees them."""

from __future__ import annotations

import hashlib
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
    added: float = 0.0  # when this daemon stored it (unix time)
    last_tag_time: str = ""  # RFC 3339 time of the last `docker tag`, '' if never tagged

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

    @property
    def chain_ids(self) -> list[str]:
        """The OCI ChainIDs of the layers, base first: how the layer store names them."""
        return chain_ids(self.diff_ids)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.container_config.get("Labels") or {})


def chain_id(parent: str, diff_id: str) -> str:
    """ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)); a base layer: its DiffID."""
    if not parent:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    out: list[str] = []
    for diff_id in diff_ids:
        out.append(chain_id(out[-1] if out else "", diff_id))
    return out
