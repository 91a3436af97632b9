"""Volume records and the options going into the volume service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_DRIVER = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass(slots=True)
class Volume:
    """One volume of the local driver, as kept in store/volumes.py."""

    name: str
    mountpoint: str
    created_at: str  # RFC 3339, seconds, as dockerd's CreatedAt
    driver: str = DEFAULT_DRIVER
    labels: dict[str, str] | None = None
    options: dict[str, str] | None = None

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in (self.labels or {})

    @property
    def needs_mount(self) -> bool:
        """Driver options `type`/`device` make the local driver mount(2) the volume on use."""
        opts = self.options or {}
        return bool(opts.get("type") or opts.get("device"))

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Volume:
        return cls(**data)

    def to_api(self, usage: dict[str, int] | None = None) -> dict[str, Any]:
        """dockerd's volume.Volume; UsageData only when asked (system df)."""
        data: dict[str, Any] = {
            "CreatedAt": self.created_at,
            "Driver": self.driver,
            "Labels": self.labels,
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": self.options,
            "Scope": "local",
        }
        if usage is not None:
            data["UsageData"] = usage
        return data


@dataclass(frozen=True, slots=True)
class VolumeCreateOptions:
    """POST /volumes/create: an empty name makes an anonymous volume (64 hex)."""

    name: str = ""
    driver: str = DEFAULT_DRIVER
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class VolumePruneReport:
    deleted: list[str]
    reclaimed: int
