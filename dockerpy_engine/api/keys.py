"""Typed application keys under which the daemon stores its services (aiohttp AppKey)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..containers.exec import ExecService
    from ..containers.files import ContainerFiles
    from ..containers.service import ContainerService
    from ..events import EventBus
    from ..images import ImageStore
    from ..system import SystemService

CONTAINERS: web.AppKey[ContainerService] = web.AppKey("containers")
EVENTS: web.AppKey[EventBus] = web.AppKey("events")
EXECS: web.AppKey[ExecService] = web.AppKey("execs")
FILES: web.AppKey[ContainerFiles] = web.AppKey("files")
IMAGES: web.AppKey[ImageStore] = web.AppKey("images")
SYSTEM: web.AppKey[SystemService] = web.AppKey("system")
