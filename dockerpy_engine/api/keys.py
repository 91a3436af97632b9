"""Typed application keys under which the daemon stores its services (aiohttp AppKey)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..build.service import BuildService
    from ..containers.exec import ExecService
    from ..containers.files import ContainerFiles
    from ..containers.service import ContainerService
    from ..distribution import DistributionService
    from ..events import EventBus
    from ..images import ImageStore
    from ..networks import NetworkService
    from ..system import SystemService
    from ..volumes import VolumeService

BUILDER: web.AppKey[BuildService] = web.AppKey("builder")
CONTAINERS: web.AppKey[ContainerService] = web.AppKey("containers")
DISTRIBUTION: web.AppKey[DistributionService] = web.AppKey("distribution")
EVENTS: web.AppKey[EventBus] = web.AppKey("events")
EXECS: web.AppKey[ExecService] = web.AppKey("execs")
FILES: web.AppKey[ContainerFiles] = web.AppKey("files")
IMAGES: web.AppKey[ImageStore] = web.AppKey("images")
NETWORKS: web.AppKey[NetworkService] = web.AppKey("networks")
SYSTEM: web.AppKey[SystemService] = web.AppKey("system")
VOLUMES: web.AppKey[VolumeService] = web.AppKey("volumes")
