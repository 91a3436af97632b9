"""Volumes: the local driver and the mounts of containers (bind, volume, tmpfs)."""

from .mounts import MountPoint, api_mount_points
from .service import NoSuchVolume, VolumeService
from .types import ANONYMOUS_LABEL, Volume, VolumeCreateOptions, VolumePruneReport

__all__ = [
    "ANONYMOUS_LABEL",
    "MountPoint",
    "NoSuchVolume",
    "Volume",
    "VolumeCreateOptions",
    "VolumePruneReport",
    "VolumeService",
    "api_mount_points",
]
