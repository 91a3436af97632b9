"""DistributionService: the daemon's way to registries (pull, push, login, inspect, search).

It owns the HTTP session (one per daemon, pooled connections), the token cache, the
DiffID → blob records and the daemon-wide transfer limits (`max-concurrent-downloads`,
default 3, and `max-concurrent-uploads`, default 5, shared by all requests as dockerd's
transfer managers are). Routers hand it parsed references, options and a `Progress`; it
raises errdefs kinds before the first progress line and lets the router send later ones
in-band.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import orjson

from ..errdefs import EngineError, InvalidParameter
from ..images import ImageStore
from ..images.reference import DEFAULT_DOMAIN, Reference
from . import manifests
from ._errors import RegistryError, Unreachable, translate_pull_error, unauthorized
from .client import RegistryClient
from .metadata import LayerMetadata
from .progress import Progress
from .pull import Puller, with_pull_endpoint
from .push import Pusher, push_targets
from .registries import RegistryConfig
from .search import search as search_index
from .types import (
    AuthConfig,
    Descriptor,
    DistributionInspect,
    LoginReport,
    PullOptions,
    PushOptions,
    SearchOptions,
    SearchResult,
)

log = logging.getLogger(__name__)

EventSink = Callable[[str, str, dict[str, str]], None]
"""`on_event(action, actor_id, attributes)`: image pull/push events (actor: `name:tag`)."""

DEFAULT_MAX_DOWNLOADS = 3
DEFAULT_MAX_UPLOADS = 5
DEFAULT_DOWNLOAD_ATTEMPTS = 5
_HUB_HOSTS = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


class DistributionService:
    """Pull, push, login, distribution inspect and search against registries."""

    def __init__(
        self,
        images: ImageStore,
        config: RegistryConfig | None = None,
        *,
        max_concurrent_downloads: int = DEFAULT_MAX_DOWNLOADS,
        max_concurrent_uploads: int = DEFAULT_MAX_UPLOADS,
        max_download_attempts: int = DEFAULT_DOWNLOAD_ATTEMPTS,
        on_event: EventSink | None = None,
    ) -> None:
        self._images = images
        self.config = config or RegistryConfig()
        self._client = RegistryClient(self.config)
        self._metadata = LayerMetadata(images.root)
        self._downloads = asyncio.Semaphore(max(1, max_concurrent_downloads))
        self._uploads = asyncio.Semaphore(max(1, max_concurrent_uploads))
        self._attempts = max(1, max_download_attempts)
        self._on_event = on_event

    def reconfigure(
        self,
        config: RegistryConfig,
        *,
        max_concurrent_downloads: int,
        max_concurrent_uploads: int,
        max_download_attempts: int,
    ) -> None:
        """A configuration reload (SIGHUP): transfers that start from now on use the new
        registry settings and limits; those under way finish with what they began with."""
        self.config = config
        self._client.config = config
        self._downloads = asyncio.Semaphore(max(1, max_concurrent_downloads))
        self._uploads = asyncio.Semaphore(max(1, max_concurrent_uploads))
        self._attempts = max(1, max_download_attempts)

    async def close(self) -> None:
        await self._client.close()

    async def pull(self, ref: Reference, options: PullOptions, progress: Progress) -> None:
        """docker pull of a tag, a digest, or every tag (a bare name)."""
        puller = Puller(
            self._client,
            self._images,
            self._metadata,
            self._downloads,
            progress,
            auth=options.auth,
            platform=options.platform,
            max_attempts=self._attempts,
            on_event=self._on_event,
        )
        await puller.pull(ref)

    async def push(self, ref: Reference, options: PushOptions, progress: Progress) -> None:
        """docker push of one tag, or of every tag of the repository (no tag given)."""
        if ref.digest is not None:
            raise InvalidParameter("cannot push a digest reference")
        targets = push_targets(self._images, ref)
        pusher = Pusher(
            self._client,
            self._images,
            self._metadata,
            self._uploads,
            progress,
            auth=options.auth,
            on_event=self._on_event,
        )
        await pusher.push(ref, targets)

    async def login(self, auth: AuthConfig) -> LoginReport:
        """POST /auth: check the credentials against the registry (never its mirrors)."""
        host = registry_host(auth.server_address)
        last: EngineError | None = None
        for endpoint in await self.config.endpoints(host, mirrors=False):
            repo = self._client.repository(endpoint, "", auth, ())
            try:
                token = await repo.login()
            except Unreachable as exc:
                last = exc
                continue
            except RegistryError as exc:
                raise unauthorized(exc) from None
            return LoginReport(identity_token=token)
        assert last is not None
        raise last

    async def search(self, options: SearchOptions) -> list[SearchResult]:
        """GET /images/search (docker search): the v1 search API of the term's index."""
        return await search_index(self._client, options)

    async def inspect(self, ref: Reference, auth: AuthConfig) -> DistributionInspect:
        """GET /distribution/{name}/json: the manifest's descriptor and its platforms."""
        ref = ref.with_default_tag()
        reference = ref.digest or ref.tag or "latest"
        repo, (raw, content_type) = await with_pull_endpoint(
            self._client, ref, auth, lambda r: r.get_manifest(reference)
        )
        document = manifests.parse(raw, content_type, ref.familiar_string())
        result = DistributionInspect(Descriptor(document.media_type, document.digest, len(raw)))
        if isinstance(document, manifests.Index):
            result.platforms = [d.platform for d in document.manifests if d.platform is not None]
            return result
        try:
            config = await repo.read_blob(document.config, "image config")
        except RegistryError as exc:
            raise translate_pull_error(exc, ref.familiar_string(), ref.familiar_name) from None
        try:
            parsed = orjson.loads(config)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            platform = manifests.config_platform(parsed)
            if platform.os or platform.architecture:
                result.platforms.append(platform)
        return result


def registry_host(server_address: str) -> str:
    """The registry a login names: `https://host:5000/v1/` -> `host:5000`; empty is Hub."""
    address = server_address.strip()
    if not address:
        return DEFAULT_DOMAIN
    if "://" not in address:
        address = "https://" + address
    host = urlsplit(address).netloc.lower()
    if not host:
        raise InvalidParameter(f"unable to parse server address: {server_address}")
    if host in _HUB_HOSTS:
        return DEFAULT_DOMAIN
    return host
