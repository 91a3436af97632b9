"""The aiohttp application: every router's ROUTES, each reachable with and without /vX.Y."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

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
from .keys import (
    BUILDER,
    CONTAINERS,
    DISTRIBUTION,
    EVENTS,
    EXECS,
    FILES,
    IMAGES,
    NETWORKS,
    SYSTEM,
    VOLUMES,
)
from .limits import MAX_JSON_BODY
from .middleware import error_middleware, server_headers, version_middleware
from .routers import build as build_routes
from .routers import container_files as container_files_routes
from .routers import container_stats as container_stats_routes
from .routers import containers as container_routes
from .routers import distribution as distribution_routes
from .routers import events as event_routes
from .routers import exec as exec_routes
from .routers import images as image_routes
from .routers import networks as network_routes
from .routers import system as system_routes
from .routers import volumes as volume_routes

ROUTERS = (
    system_routes,
    event_routes,
    container_routes,
    container_stats_routes,
    container_files_routes,
    exec_routes,
    image_routes,
    distribution_routes,
    network_routes,
    volume_routes,
    build_routes,
)
VERSION_PREFIX = r"/v{version:[0-9]+\.[0-9]+}"


def build_app(
    *,
    containers: ContainerService,
    execs: ExecService,
    images: ImageStore,
    system: SystemService,
    events: EventBus,
    networks: NetworkService | None = None,
    volumes: VolumeService | None = None,
    distribution: DistributionService | None = None,
) -> web.Application:
    """Both path forms point at one handler; the version middleware reads the prefix."""
    app = web.Application(
        middlewares=[error_middleware, version_middleware], client_max_size=MAX_JSON_BODY
    )
    app.on_response_prepare.append(server_headers)
    app[CONTAINERS] = containers
    app[EXECS] = execs
    app[IMAGES] = images
    app[SYSTEM] = system
    app[EVENTS] = events
    if networks is not None:
        app[NETWORKS] = networks
    if volumes is not None:
        app[VOLUMES] = volumes
    app[DISTRIBUTION] = distribution or DistributionService(images)
    app[FILES] = ContainerFiles(containers, images)
    app[BUILDER] = BuildService(containers, app[FILES], images, app[DISTRIBUTION])
    for router in ROUTERS:
        register_routes(app, router.ROUTES)
    return app


def register_routes(app: web.Application, routes: Iterable[web.RouteDef]) -> None:
    """Each route both plain and under /vX.Y: one handler, the version middleware reads the
    prefix. (Tests build their small apps through this too.)"""
    for route in routes:
        route.register(app.router)
        web.RouteDef(
            route.method, VERSION_PREFIX + route.path, route.handler, route.kwargs
        ).register(app.router)
