"""The aiohttp application: every router's ROUTES, each reachable with and without /vX.Y."""

from __future__ import annotations

from aiohttp import web

from ..containers.exec import ExecService
from ..containers.files import ContainerFiles
from ..containers.service import ContainerService
from ..events import EventBus
from ..images import ImageStore
from ..system import SystemService
from .keys import CONTAINERS, EVENTS, EXECS, FILES, IMAGES, SYSTEM
from .middleware import error_middleware, server_headers, version_middleware
from .routers import container_files as container_files_routes
from .routers import container_stats as container_stats_routes
from .routers import containers as container_routes
from .routers import events as event_routes
from .routers import exec as exec_routes
from .routers import images as image_routes
from .routers import system as system_routes

ROUTERS = (
    system_routes,
    event_routes,
    container_routes,
    container_stats_routes,
    container_files_routes,
    exec_routes,
    image_routes,
)
VERSION_PREFIX = r"/v{version:[0-9]+\.[0-9]+}"


def build_app(
    *,
    containers: ContainerService,
    execs: ExecService,
    images: ImageStore,
    system: SystemService,
    events: EventBus,
) -> web.Application:
    """Both path forms point at one handler; the version middleware reads the prefix."""
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app.on_response_prepare.append(server_headers)
    app[CONTAINERS] = containers
    app[EXECS] = execs
    app[IMAGES] = images
    app[SYSTEM] = system
    app[EVENTS] = events
    app[FILES] = ContainerFiles(containers, images)
    for router in ROUTERS:
        for route in router.ROUTES:
            route.register(app.router)
            web.RouteDef(
                route.method, VERSION_PREFIX + route.path, route.handler, route.kwargs
            ).register(app.router)
    return app
