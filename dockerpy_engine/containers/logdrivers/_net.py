"""Delivery to a log collector (syslog, gelf, fluentd, journald) that never blocks the event loop.

A `Sender` owns one asyncio transport (tcp, tcp over TLS, unix, udp, unixgram). `send` never
waits: bytes go to the transport's buffer, or, while there is no connection, to a queue; both are
bounded (max-buffer-size, 1 MB by default, as dockerd's non-blocking ring buffer) and what does not
fit is dropped with a rate-limited warning in the daemon's log. So a collector that is down, slow
or never reads costs the container nothing: dockerd's `mode=non-blocking`, whatever `mode` says.
Lost connections are retried in the background with a growing delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_BUFFER = 1_000_000  # dockerd's defaultRingMaxSize
CONNECT_TIMEOUT = 3.0  # fluent-logger-golang's dial timeout
CLOSE_GRACE = 2.0  # how long a closing sender may still try to deliver what it holds
WARN_EVERY = 10.0

_tasks: set[asyncio.Task[None]] = set()  # background closes outlive their drivers


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a collector listens: `network` is tcp, udp, unix or unixgram (tls on tcp)."""

    network: str
    host: str = ""
    port: int = 0
    path: str = ""
    tls: ssl.SSLContext | None = None

    @property
    def datagram(self) -> bool:
        return self.network in ("udp", "unixgram")

    @property
    def address(self) -> str:
        if self.network in ("unix", "unixgram"):
            return self.path
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def dial_error(endpoint: Endpoint, exc: BaseException) -> str:
    """An OSError from connecting, worded as Go's net.OpError (`dial tcp …: connect: …`)."""
    if isinstance(exc, socket.gaierror):
        return f"dial {endpoint.network}: lookup {endpoint.host}: no such host"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"dial {endpoint.network} {endpoint.address}: i/o timeout"
    if isinstance(exc, ssl.SSLError):
        return f"tls: {exc.reason or exc}"
    code = getattr(exc, "errno", None)
    if code is None and "Connect call failed" in str(exc):
        code = errno.ECONNREFUSED
    reason = os.strerror(code).lower() if code else str(exc)
    network = "tcp" if endpoint.tls else endpoint.network
    return f"dial {network} {endpoint.address}: connect: {reason}"


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, sender: Sender) -> None:
        self._sender = sender

    def data_received(self, data: bytes) -> None:
        if self._sender.on_data is not None:
            self._sender.on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._sender._connection_lost(self)


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, sender: Sender) -> None:
        self._sender = sender

    def error_received(self, exc: Exception) -> None:
        # A refused datagram (nobody listening) is lost, as it is for dockerd's UDP writers.
        log.debug("%s: %s", self._sender.name, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._sender._connection_lost(self)


class Sender:
    """One collector connection with a bounded buffer; see the module docstring."""

    def __init__(
        self,
        endpoint: Endpoint,
        name: str,
        limit: int = DEFAULT_BUFFER,
        retry_delay: float = 0.5,
        max_retry_delay: float = 10.0,
        on_data: Callable[[bytes], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.name = name
        self.on_data = on_data
        self._limit = limit if limit > 0 else DEFAULT_BUFFER
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._transport: asyncio.BaseTransport | None = None
        self._protocol: asyncio.BaseProtocol | None = None
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._reconnect: asyncio.Task[None] | None = None
        self._lost: asyncio.Future[None] | None = None
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._dropped = 0
        self._warned_at = 0.0
        self._failing = False
        self.sent = 0  # messages handed to a transport (tests and debugging)

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    async def start(self, wait: bool) -> None:
        """Connect now (`wait`: a failure raises OSError, as dockerd's dial at start) or in the
        background (lazy, as dockerd's syslog writer and fluentd-async)."""
        if wait:
            await asyncio.wait_for(self._connect(), CONNECT_TIMEOUT)
        else:
            self._schedule_reconnect()

    def send(self, data: bytes) -> None:
        if self._closing:
            return
        transport = self._transport
        if transport is not None and not transport.is_closing():
            if transport.get_write_buffer_size() + len(data) > self._limit:  # type: ignore[attr-defined]
                self._drop()
                return
            if self.endpoint.datagram:
                transport.sendto(data)  # type: ignore[attr-defined]
            else:
                transport.write(data)  # type: ignore[attr-defined]
            self.sent += 1
            return
        if self._queued + len(data) > self._limit:
            self._drop()
            return
        self._queue.append(data)
        self._queued += len(data)
        self._schedule_reconnect()

    def send_many(self, items: list[bytes]) -> None:
        """Several messages; on a connected stream they go out in one write."""
        transport = self._transport
        if self.endpoint.datagram or transport is None or transport.is_closing() or self._closing:
            for item in items:
                self.send(item)
            return
        room = self._limit - transport.get_write_buffer_size()  # type: ignore[attr-defined]
        accepted = []
        for item in items:
            if len(item) > room:
                self._drop()
                continue
            room -= len(item)
            accepted.append(item)
        if accepted:
            transport.write(b"".join(accepted))  # type: ignore[attr-defined]
            self.sent += len(accepted)

    def close(self) -> None:
        """Stop accepting; deliver what is held within CLOSE_GRACE in the background."""
        if self._closing:
            return
        self._closing = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        try:
            task = asyncio.get_running_loop().create_task(self._finish())
        except RuntimeError:  # no loop left (interpreter shutdown): just let go
            if self._transport is not None:
                self._transport.close()
            return
        self._close_task = task
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)

    async def wait_closed(self) -> None:
        if self._close_task is not None:
            await asyncio.shield(self._close_task)

    # ------------------------------------------------------------------ internals

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        ep = self.endpoint
        if ep.network == "tcp":
            transport, protocol = await loop.create_connection(
                lambda: _StreamProtocol(self),
                ep.host,
                ep.port,
                ssl=ep.tls,
                server_hostname=ep.host if ep.tls else None,
            )
        elif ep.network == "unix":
            transport, protocol = await loop.create_unix_connection(
                lambda: _StreamProtocol(self), ep.path
            )
        elif ep.network == "udp":
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _DatagramProtocol(self), remote_addr=(ep.host, ep.port)
            )
        elif ep.network == "unixgram":
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _DatagramProtocol(self), remote_addr=ep.path, family=socket.AF_UNIX
            )
        else:
            raise OSError(errno.EPROTONOSUPPORT, f"unknown network {ep.network}")
        self._transport = transport
        self._protocol = protocol
        self._lost = loop.create_future()
        if self._failing:
            log.info("%s: connected to %s again", self.name, ep.address)
            self._failing = False
        while self._queue:
            data = self._queue.popleft()
            self._queued -= len(data)
            if ep.datagram:
                transport.sendto(data)  # type: ignore[attr-defined]
            else:
                transport.write(data)  # type: ignore[attr-defined]
            self.sent += 1

    def _connection_lost(self, protocol: asyncio.BaseProtocol) -> None:
        if protocol is not self._protocol:
            return
        self._transport = None
        self._protocol = None
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        if not self._closing:
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._closing or self.connected:
            return
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = self._retry_delay
        while not self._closing and self._transport is None:
            try:
                await asyncio.wait_for(self._connect(), CONNECT_TIMEOUT)
                return
            except (OSError, TimeoutError) as exc:
                if not self._failing:
                    log.warning(
                        "%s: cannot reach the collector (%s); retrying, keeping up to %d bytes",
                        self.name,
                        dial_error(self.endpoint, exc),
                        self._limit,
                    )
                    self._failing = True
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self._max_retry_delay)

    def _drop(self) -> None:
        self._dropped += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            log.warning(
                "%s: the collector at %s is not keeping up; dropped %d message(s)",
                self.name,
                self.endpoint.address,
                self._dropped,
            )
            self._warned_at = now
            self._dropped = 0

    async def _finish(self) -> None:
        if self._transport is None and self._queue:
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._connect(), CLOSE_GRACE)
        transport, lost = self._transport, self._lost
        if transport is not None:
            transport.close()  # stream and datagram transports send their buffer first
            if lost is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(lost), CLOSE_GRACE)
                except TimeoutError:
                    transport.abort()  # type: ignore[attr-defined]
        if self._queue:
            log.warning(
                "%s: dropped %d message(s) the collector at %s never took",
                self.name,
                len(self._queue),
                self.endpoint.address,
            )
            self._queue.clear()
            self._queued = 0
