"""The aiohttp application: every router's ROUTES, each reachable with and without /vX.Y."""

from __future__ import annotations

from aiohttp import web

from ..containers.service import ContainerService
from ..images import ImageStore
from ..system import SystemService
from .keys import CONTAINERS, IMAGES, SYSTEM
from .middleware import error_middleware, version_middleware
from .routers import containers, images, system

ROUTERS = (system, containers, images)
VERSION_PREFIX = r"/v{version:[0-9]+\.[0-9]+}"


def build_app(
    containers_svc: ContainerService, images_svc: ImageStore, system_svc: SystemService
) -> web.Application:
    """Both path forms point at one handler; the version middleware reads the prefix."""
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app[CONTAINERS] = containers_svc
    app[IMAGES] = images_svc
    app[SYSTEM] = system_svc
    for router in ROUTERS:
        for route in router.ROUTES:
            route.register(app.router)
            web.RouteDef(
                route.method, VERSION_PREFIX + route.path, route.handler, route.kwargs
            ).register(app.router)
    return app
