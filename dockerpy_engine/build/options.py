"""POST /build's parameters, as the builder uses them (the router decodes the query)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..distribution.types import AuthConfig, Platform


@dataclass(frozen=True, slots=True)
class BuildOptions:
    tags: tuple[str, ...] = ()
    dockerfile: str = "Dockerfile"
    remote: str = ""
    quiet: bool = False
    no_cache: bool = False
    remove: bool = True  # rm: intermediate containers of successful steps
    force_remove: bool = False  # forcerm: also those of a failed step
    pull: bool = False
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    cache_from: tuple[str, ...] = ()
    target: str = ""
    platform: Platform | None = None
    network_mode: str = ""
    extra_hosts: tuple[str, ...] = ()
    host_resources: Mapping[str, Any] = field(default_factory=dict)  # memory, cpu*, shm, …
    auth: Mapping[str, AuthConfig] = field(default_factory=dict)  # X-Registry-Config

    def auth_for(self, registry: str) -> AuthConfig | None:
        """The X-Registry-Config entry for a FROM image's registry (Docker Hub's keys vary)."""
        for key, value in self.auth.items():
            host = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
            if host == registry or (
                registry == "docker.io" and host in ("index.docker.io", "registry-1.docker.io")
            ):
                return value
        return None
