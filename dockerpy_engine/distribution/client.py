"""The registry HTTP client (OCI distribution spec) on one aiohttp ClientSession.

`RegistryClient` owns the daemon's session (pooled connections, one per daemon) and opens
`Repository` handles: one repository on one endpoint, with the credentials of one request.
A handle pings `/v2/` first to learn the auth challenge, then sends the Authorization
header up front; a 401 carrying a new challenge (a scope we lacked) is answered once.

Nothing a registry sends is trusted: manifests and configs are size-capped and checked
against their digests, blobs are hashed while they stream to a temp file and refused on
any mismatch, and a download cut short resumes with `Range` where the file ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import yarl

from .. import __version__
from ..images.layers import BUFSIZE
from ._blobs import BlobSink
from ._errors import (
    BLOB_UNKNOWN,
    RegistryError,
    Unreachable,
    VerificationError,
    describe,
    error_from_response,
)
from .auth import Authorizer, TokenCache, parse_challenges
from .manifests import ACCEPT, MAX_MANIFEST_SIZE, verify_digest
from .registries import Endpoint, RegistryConfig
from .types import AuthConfig, Descriptor

log = logging.getLogger(__name__)

USER_AGENT = f"dockerpyd/{__version__} (linux)"
MAX_CONFIG_SIZE = 64 << 20
_RETRYABLE = (
    aiohttp.ClientPayloadError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientConnectionError,
    ConnectionError,
    asyncio.TimeoutError,
)

OnBytes = Callable[[int, int], Awaitable[None]]
"""`on_bytes(current, total)`: download progress."""
OnRetry = Callable[[int], Awaitable[None]]
"""`on_retry(delay_seconds)`: a transfer failed and will be tried again after `delay`."""


class RegistryClient:
    """The daemon's registry client: one session, a token cache, the registry config."""

    def __init__(self, config: RegistryConfig, *, read_timeout: float = 120.0) -> None:
        self.config = config
        self.tokens = TokenCache()
        self._session: aiohttp.ClientSession | None = None
        self._read_timeout = read_timeout

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64, limit_per_host=16),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=30, sock_read=self._read_timeout
                ),
                headers={"User-Agent": USER_AGENT},
                auto_decompress=False,  # blobs are hashed exactly as sent
                read_bufsize=2 << 20,
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def repository(
        self, endpoint: Endpoint, path: str, auth: AuthConfig, scopes: Iterable[str]
    ) -> Repository:
        """A handle on `path` at `endpoint`; mirrors never get the origin's credentials."""
        session = self.session()
        authorizer = Authorizer(
            session,
            auth,
            self.tokens,
            self.config.ssl_for,
            send_credentials=not endpoint.mirror,
        )
        return Repository(session, self.config, endpoint, path, authorizer, scopes)


class Repository:
    """One repository on one endpoint: the requests pull, push and login make."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: RegistryConfig,
        endpoint: Endpoint,
        path: str,
        authorizer: Authorizer,
        scopes: Iterable[str],
    ) -> None:
        self._session = session
        self._config = config
        self.endpoint = endpoint
        self.path = path
        self.authorizer = authorizer
        self.scopes = list(dict.fromkeys(scopes))
        self._ssl: Any = None

    @property
    def base(self) -> str:
        return f"{self.endpoint.url}/v2/{self.path}"

    # -- plumbing ---------------------------------------------------------------------

    @property
    def _ssl_arg(self) -> Any:
        return self._ssl if self._ssl is not None else True

    async def _prepare(self) -> None:
        if self._ssl is None and self.endpoint.secure:
            self._ssl = await self._config.ssl_for(self.endpoint.url, self.endpoint.verify)

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str | yarl.URL,
        *,
        headers: dict[str, str] | None = None,
        replayable: bool = True,
        extra_scopes: Iterable[str] = (),
        **kwargs: Any,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send with authorization; a 401 with a challenge is answered and retried once."""
        await self._prepare()
        scopes = self.scopes + [s for s in extra_scopes if s not in self.scopes]
        for attempt in range(2):
            sent = dict(headers or {})
            authorization = await self.authorizer.header(scopes, str(url))
            if authorization:
                sent["Authorization"] = authorization
            try:
                response = await self._session.request(
                    method, url, headers=sent, ssl=self._ssl_arg, **kwargs
                )
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise Unreachable(f'{method.title()} "{url}": {describe(exc)}') from exc
            if response.status == 401 and attempt == 0 and replayable:
                challenges = parse_challenges(response.headers.getall("WWW-Authenticate", []))
                previous = self.authorizer.challenge
                if self.authorizer.learn(challenges):
                    wanted = self.authorizer.challenge.scopes if self.authorizer.challenge else ()
                    new_scopes = [s for s in wanted if s not in scopes]
                    if previous is None or new_scopes or previous != self.authorizer.challenge:
                        scopes += new_scopes
                        response.release()
                        continue
            try:
                yield response
            finally:
                response.release()
            return

    async def _error(
        self, method: str, url: str, response: aiohttp.ClientResponse
    ) -> RegistryError:
        body = await response.content.read(1 << 16)
        error = error_from_response(method, url, response.status, response.reason or "", body)
        assert isinstance(error, RegistryError)
        return error

    # -- ping / login -------------------------------------------------------------------

    async def ping(self) -> None:
        """GET /v2/: learns the auth challenge; Unreachable when this is no v2 registry."""
        await self._prepare()
        url = f"{self.endpoint.url}/v2/"
        try:
            async with self._session.get(url, ssl=self._ssl_arg) as response:
                await response.read()
                if response.status == 401:
                    self.authorizer.learn(
                        parse_challenges(response.headers.getall("WWW-Authenticate", []))
                    )
                    return
                if response.status >= 400 and response.status != 401:
                    raise Unreachable(
                        f"{url}: not a registry (status {response.status})", response.status
                    )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Unreachable(f'Get "{url}": {describe(exc)}') from exc

    async def login(self) -> str:
        """dockerd's loginV2: GET /v2/ with the credentials; returns the identity token."""
        url = f"{self.endpoint.url}/v2/"
        async with self.request("GET", url) as response:
            if response.status == 200:
                return self.authorizer.refresh_token
            if response.status == 401:
                codes = await self._error("GET", url, response)
                detail = f"{response.status} {response.reason or 'Unauthorized'}"
                raise RegistryError(
                    f"login attempt to {url} failed with status: {detail}", 401, codes.errors
                )
            raise await self._error("GET", url, response)

    # -- manifests ------------------------------------------------------------------------

    async def get_manifest(self, reference: str) -> tuple[bytes, str]:
        """A manifest's bytes and Content-Type; by digest, the bytes are verified."""
        url = f"{self.base}/manifests/{reference}"
        async with self.request("GET", url, headers={"Accept": ACCEPT}) as response:
            if response.status != 200:
                raise await self._error("GET", url, response)
            length = response.content_length
            if length is not None and length > MAX_MANIFEST_SIZE:
                raise VerificationError(f"manifest too large: {length} bytes")
            raw = await response.content.read(MAX_MANIFEST_SIZE + 1)
            if len(raw) > MAX_MANIFEST_SIZE:
                raise VerificationError("manifest too large")
            content_type = response.headers.get("Content-Type", "")
        if ":" in reference:
            verify_digest(raw, reference, "manifest")
        return raw, content_type

    async def put_manifest(self, tag: str, raw: bytes, media_type: str) -> str:
        url = f"{self.base}/manifests/{tag}"
        headers = {"Content-Type": media_type}
        async with self.request("PUT", url, headers=headers, data=raw) as response:
            if response.status not in (200, 201, 202):
                raise await self._error("PUT", url, response)
            return response.headers.get("Docker-Content-Digest", "")

    async def tags(self) -> list[str]:
        """GET /tags/list, following `Link: <…>; rel="next"` pages."""
        url: str | None = f"{self.base}/tags/list"
        found: list[str] = []
        while url:
            async with self.request("GET", url) as response:
                if response.status != 200:
                    raise await self._error("GET", url, response)
                document = orjson.loads(await response.content.read(MAX_MANIFEST_SIZE))
                link = response.headers.get("Link", "")
            found.extend(str(t) for t in (document.get("tags") or []))
            url = _next_link(url, link)
        return found

    # -- blobs ----------------------------------------------------------------------------

    async def head_blob(self, digest: str, extra_scopes: Iterable[str] = ()) -> int | None:
        """The blob's size if the repository has it, None if not."""
        url = f"{self.base}/blobs/{digest}"
        async with self.request("HEAD", url, extra_scopes=extra_scopes) as response:
            if response.status == 200:
                return response.content_length or 0
            if response.status == 404:
                return None
            raise await self._error("HEAD", url, response)

    async def read_blob(self, descriptor: Descriptor, what: str = "blob") -> bytes:
        """A small blob (a config) in memory, verified."""
        if descriptor.size > MAX_CONFIG_SIZE:
            raise VerificationError(f"{what} too large: {descriptor.size} bytes")
        url = f"{self.base}/blobs/{descriptor.digest}"
        async with self.request("GET", url) as response:
            if response.status != 200:
                raise await self._error("GET", url, response)
            data = await response.content.read(descriptor.size + 1)
        if len(data) != descriptor.size:
            raise VerificationError(f"{what} verification failed for digest {descriptor.digest}")
        verify_digest(data, descriptor.digest, what)
        return data

    async def fetch_blob(
        self,
        descriptor: Descriptor,
        dest: Path,
        *,
        on_bytes: OnBytes,
        on_retry: OnRetry,
        max_attempts: int = 5,
    ) -> None:
        """Download a blob to `dest`, hashing as it streams; resume with Range after a drop.

        Refuses more bytes than the descriptor's size and any digest mismatch (a mismatch
        after a resumed download is retried once from scratch, as dockerd does).
        """
        sink = await asyncio.to_thread(BlobSink, dest, descriptor.digest)
        failures = 0
        resumed = False
        try:
            while True:
                before = sink.size
                try:
                    await self._stream_blob(descriptor, sink, on_bytes)
                except (*_RETRYABLE, Unreachable, _ShortRead) as exc:
                    failures += 1
                    if failures >= max_attempts:
                        raise Unreachable(
                            f"failed to download {descriptor.digest} after {failures} attempts: "
                            f"{describe(exc)}"
                        ) from exc
                    progressed = sink.size > before
                    log.info(
                        "download of %s interrupted at %d/%d bytes (%s); resuming",
                        descriptor.digest,
                        sink.size,
                        descriptor.size,
                        describe(exc),
                    )
                    if not progressed:
                        await on_retry(failures)
                        await asyncio.sleep(failures)
                    resumed = resumed or sink.size > 0
                    continue
                if sink.verified():
                    break
                if resumed:
                    resumed = False
                    await asyncio.to_thread(sink.reset)
                    continue
                raise VerificationError(
                    f"filesystem layer verification failed for digest {descriptor.digest}"
                )
            await asyncio.to_thread(sink.finish)
        except BaseException:
            await asyncio.to_thread(sink.discard)
            raise

    async def _stream_blob(self, descriptor: Descriptor, sink: BlobSink, on_bytes: OnBytes) -> None:
        url = f"{self.base}/blobs/{descriptor.digest}"
        offset = sink.size
        if offset >= descriptor.size:
            return
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        async with self.request("GET", url, headers=headers) as response:
            if offset and response.status == 206:
                start = _content_range_start(response.headers.get("Content-Range", ""))
                if start is not None and start != offset:
                    await asyncio.to_thread(sink.reset)
                    raise _ShortRead("registry answered another range; starting over")
            elif response.status == 200:
                if offset:
                    await asyncio.to_thread(sink.reset)  # no Range support: from the start
            elif offset and response.status == 416:
                await asyncio.to_thread(sink.reset)
                raise _ShortRead("range not satisfiable; starting over")
            else:
                raise await self._error("GET", url, response)
            await self._copy(response, sink, descriptor, on_bytes)
        if sink.size < descriptor.size:
            raise _ShortRead(f"connection closed after {sink.size} of {descriptor.size} bytes")

    async def _copy(
        self,
        response: aiohttp.ClientResponse,
        sink: BlobSink,
        descriptor: Descriptor,
        on_bytes: OnBytes,
    ) -> None:
        """Body → sink in 1 MiB batches, the next batch read while a thread writes the last."""
        buffer = bytearray()
        pending: asyncio.Future[None] | None = None
        received = sink.size
        try:
            async for chunk in response.content.iter_any():
                received += len(chunk)
                if received > descriptor.size:
                    raise VerificationError(
                        f"filesystem layer verification failed for digest {descriptor.digest}: "
                        f"more than {descriptor.size} bytes"
                    )
                buffer += chunk
                if len(buffer) >= BUFSIZE:
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(asyncio.to_thread(sink.write, bytes(buffer)))
                    buffer.clear()
                    await on_bytes(received, descriptor.size)
        finally:
            # keep what did arrive: it is a valid prefix to resume from
            if pending is not None:
                await asyncio.shield(pending)
            if buffer:
                await asyncio.to_thread(sink.write, bytes(buffer))
        await on_bytes(sink.size, descriptor.size)

    # -- uploads --------------------------------------------------------------------------

    async def start_upload(self, mount: tuple[str, str] | None = None) -> tuple[str | None, bool]:
        """POST /blobs/uploads/: (upload location, False), or (None, True) when the blob
        was mounted from `mount = (digest, source repository path)` on this registry."""
        url = f"{self.base}/blobs/uploads/"
        params: dict[str, str] = {}
        extra: list[str] = []
        if mount is not None:
            params = {"mount": mount[0], "from": mount[1]}
            extra = [f"repository:{mount[1]}:pull"]
        async with self.request("POST", url, params=params, extra_scopes=extra) as response:
            if response.status == 201 and mount is not None:
                return None, True
            if response.status != 202:
                raise await self._error("POST", url, response)
            return self._location(response, url), False

    def _location(self, response: aiohttp.ClientResponse, url: str) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"registry gave no upload location for {url}")
        return str(yarl.URL(url).join(yarl.URL(location, encoded=True)))

    async def upload_stream(self, location: str, chunks: AsyncIterator[bytes]) -> str:
        """PATCH the whole stream (chunked transfer encoding); returns the next location."""
        headers = {"Content-Type": "application/octet-stream"}
        target = yarl.URL(location, encoded=True)
        async with self.request(
            "PATCH", target, headers=headers, data=chunks, replayable=False
        ) as response:
            if response.status not in (202, 204):
                raise await self._error("PATCH", location, response)
            return self._location(response, location)

    async def finish_upload(self, location: str, digest: str, body: bytes = b"") -> None:
        """PUT <location>?digest=…: commit the upload under its digest."""
        separator = "&" if "?" in location else "?"
        target = yarl.URL(f"{location}{separator}digest={quote(digest, safe='')}", encoded=True)
        headers = {"Content-Type": "application/octet-stream"}
        async with self.request("PUT", target, headers=headers, data=body) as response:
            if response.status not in (201, 204):
                error = await self._error("PUT", location, response)
                if error.code == BLOB_UNKNOWN or response.status == 400:
                    raise VerificationError(f"upload of {digest} refused: {error.message}")
                raise error

    async def put_blob(self, data: bytes, digest: str) -> None:
        """A monolithic upload (POST, then PUT with the bytes): configs."""
        location, _ = await self.start_upload()
        assert location is not None
        await self.finish_upload(location, digest, data)


class _ShortRead(Exception):
    """The body ended before the blob did; resume."""


def _content_range_start(value: str) -> int | None:
    """`bytes 100-199/200` -> 100."""
    value = value.strip()
    if not value.startswith("bytes "):
        return None
    start = value[6:].split("-", 1)[0]
    return int(start) if start.isdigit() else None


def _next_link(current: str, link: str) -> str | None:
    """RFC 5988 `Link: </v2/x/tags/list?last=a&n=1>; rel="next"` resolved against `current`."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            target = target.strip().strip("<>")
            if target:
                return str(yarl.URL(current).join(yarl.URL(target, encoded=True)))
    return None
