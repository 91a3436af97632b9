"""The Docker Engine API client of the CLI: HTTP/1.1 over a unix socket (or TCP, with TLS when
asked), written on the standard library's sockets so that start-up stays fast.

    Client(host)              one per CLI run; connects per request (unix connects are cheap)
     ├ request()              → Response (status, headers, body read whole or streamed)
     ├ get/post/delete(...)   → decoded JSON, raising APIError on a non-2xx answer
     └ hijack()               → Hijacked (the raw socket after `101 UPGRADED`, for attach/exec)

API version: like the docker CLI, the first call pings `/_ping` and uses the daemon's
`API-Version` capped at ours (`DOCKER_API_VERSION` pins it instead). Errors:

    CLIError                  what main() prints and its exit status
     ├ ConnectError           the daemon does not answer ("Cannot connect to the Docker daemon...")
     └ APIError               a non-2xx answer: `Error response from daemon: <message>`
"""

from __future__ import annotations

import _socket
import os

from cli import _json
from cli._options import Options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from socket import socket as Socket
    from typing import Any

__all__ = [
    "API_VERSION",
    "DEFAULT_HOST",
    "APIError",
    "CLIError",
    "Client",
    "ConnectError",
    "Hijacked",
    "Response",
    "TLSOptions",
    "quote",
]

API_VERSION = "1.51"  # the newest API this CLI speaks (docker CLI 28.3's)
MIN_API_VERSION = "1.24"
DEFAULT_HOST = "unix:///var/run/docker.sock"
USER_AGENT = "Docker-Client/dockerpy (linux)"


class CLIError(Exception):
    """An error main() prints on stderr (str(e), verbatim) before exiting with `status`."""

    status = 1

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class ConnectError(CLIError):
    """The daemon's socket refused us or is missing."""


class APIError(CLIError):
    """The daemon answered with an error status; `message` is its JSON `message`."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(f"Error response from daemon: {message}")
        self.http_status = http_status
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.http_status == 404


class TLSOptions(Options):
    """docker's --tls/--tlsverify/--tlscacert/--tlscert/--tlskey."""

    verify: bool = False
    cacert: str = ""
    cert: str = ""
    key: str = ""


def version_lt(a: str, b: str) -> bool:
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split(".") if x.isdigit())

    return key(a) < key(b)


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str) -> str:
    """urllib.parse.quote(text, safe=""): percent-encode all but RFC 3986's unreserved bytes
    (urllib.parse alone costs a few milliseconds of start-up)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode())


def _query(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    parts = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "1" if v else "0"
        if isinstance(v, list | tuple):
            for item in v:
                parts.append(f"{quote(k)}={quote(str(item))}")
            continue
        parts.append(f"{quote(k)}={quote(str(v))}")
    return "?" + "&".join(parts) if parts else ""


class _Reader:
    """Buffered reads over a socket (what http.client's makefile would do, without the import)."""

    def __init__(self, sock: Socket) -> None:
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self) -> bytes:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[: i + 1], self.buf[i + 1 :]
                return line
            if not self._fill():
                line, self.buf = self.buf, b""
                return line

    def read(self, n: int) -> bytes:
        while len(self.buf) < n and self._fill():
            pass
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_some(self) -> bytes:
        if not self.buf:
            self._fill()
        data, self.buf = self.buf, b""
        return data


class Response:
    """A response whose headers are read; the body is read with read()/chunks()."""

    __slots__ = ("_done", "_length_left", "headers", "reader", "sock", "status")

    def __init__(self, status: int, headers: dict[str, str], reader: _Reader, sock: Socket) -> None:
        self.status = status
        self.headers = headers
        self.reader = reader
        self.sock = sock
        cl = headers.get("content-length")
        self._length_left: int | None = int(cl) if cl is not None else None
        self._done = status in (204, 304) or self._length_left == 0

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    def chunks(self) -> Iterator[bytes]:
        """The body, piece by piece as it arrives (for follow streams)."""
        try:
            while not self._done:
                if self.chunked:
                    line = self.reader.readline()
                    if not line:
                        break
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        # trailers until an empty line
                        while self.reader.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    left = size
                    while left > 0:
                        if not self.reader.buf and not self.reader._fill():
                            return
                        data = self.reader.buf[:left]
                        self.reader.buf = self.reader.buf[len(data) :]
                        left -= len(data)
                        yield data
                    self.reader.readline()  # CRLF after the chunk
                elif self._length_left is not None:
                    if self._length_left <= 0:
                        break
                    data = self.reader.read_some()
                    if not data:
                        break
                    data = data[: self._length_left]
                    self._length_left -= len(data)
                    yield data
                else:
                    data = self.reader.read_some()
                    if not data:
                        break
                    yield data
        finally:
            self._done = True

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def lines(self) -> Iterator[bytes]:
        """The body split on newlines (JSON message streams)."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield line
        if pending:
            yield pending

    def json(self) -> Any:
        return _json.loads(self.read() or b"null")

    def close(self) -> None:
        _close(self.sock)


class Hijacked:
    """The raw connection after an attach/exec upgrade; `pending` holds bytes already read."""

    def __init__(self, sock: Socket, pending: bytes) -> None:
        self.sock = sock
        self.pending = pending

    def recv(self, n: int = 65536) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self.sock.recv(n)

    def send_all(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: the container's stdin sees EOF, its output still comes back."""
        try:  # noqa: SIM105 - not contextlib: its import is a start-up cost
            self.sock.shutdown(_socket.SHUT_WR)
        except OSError:
            pass

    def shutdown(self) -> None:
        """End the connection both ways (a detach): a recv blocked on it returns."""
        try:  # noqa: SIM105 - not contextlib: its import is a start-up cost
            self.sock.shutdown(_socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        _close(self.sock)


def _close(sock: Socket) -> None:
    try:  # noqa: SIM105 - not contextlib: its import is a start-up cost
        sock.close()
    except OSError:
        pass


class Client:
    """One daemon connection's settings; requests open their own socket."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        api_version: str | None = None,
        tls: TLSOptions | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.tls = tls
        self.extra_headers = headers or {}
        self._version = api_version or os.environ.get("DOCKER_API_VERSION") or None
        self._negotiated = self._version is not None
        self.server_headers: dict[str, str] = {}

    # -- connection ------------------------------------------------------------------------

    def _connect(self, timeout: float | None = None) -> Socket:
        host = self.host
        try:
            if host.startswith("unix://"):
                # _socket: the socket module's import costs more than the whole request
                s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                s.settimeout(timeout)
                s.connect(host[len("unix://") :])
                return s
            if host.startswith(("tcp://", "http://", "https://")):
                addr = host.split("://", 1)[1].rstrip("/")
                h, _, p = addr.rpartition(":")
                if not h:
                    h, p = addr, "2376" if self.tls else "2375"
                import socket

                s = socket.create_connection((h.strip("[]"), int(p)), timeout=timeout)
                if self.tls is not None or host.startswith("https://"):
                    s = self._wrap_tls(s, h.strip("[]"))
                return s
        except OSError:
            raise ConnectError(
                f"Cannot connect to the Docker daemon at {host}. Is the docker daemon running?"
            ) from None
        raise CLIError(f"unable to parse docker host `{host}`")

    def _wrap_tls(self, s: Socket, hostname: str) -> Socket:
        import ssl

        tls = self.tls or TLSOptions()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if tls.verify:
            if tls.cacert:
                ctx.load_verify_locations(tls.cacert)
            else:
                ctx.load_default_certs()
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls.cert and tls.key:
            ctx.load_cert_chain(tls.cert, tls.key)
        return ctx.wrap_socket(s, server_hostname=hostname)

    # -- version negotiation ---------------------------------------------------------------

    @property
    def version(self) -> str:
        if not self._negotiated:
            self.negotiate()
        return self._version or API_VERSION

    def negotiate(self) -> None:
        """Ping; use the daemon's API-Version capped at ours (docker's NegotiateAPIVersion)."""
        self._negotiated = True
        resp = self._raw("GET", "/_ping", None, None, {})
        resp.read()
        resp.close()
        self.server_headers = resp.headers
        server = resp.headers.get("api-version", "")
        if not server:
            self._version = "1.24"
        elif version_lt(server, API_VERSION):
            self._version = server
        else:
            self._version = API_VERSION

    # -- requests --------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        return f"/v{self.version}{path}"

    def _raw(
        self,
        method: str,
        path: str,
        body: bytes | None,
        stream_body: Any,
        headers: dict[str, str],
        timeout: float | None = None,
    ) -> Response:
        s = self._connect(timeout)
        head = [
            f"{method} {path} HTTP/1.1",
            "Host: api.moby.localhost",
            f"User-Agent: {USER_AGENT}",
        ]
        for k, v in {**self.extra_headers, **headers}.items():
            head.append(f"{k}: {v}")
        if stream_body is not None:
            head.append("Transfer-Encoding: chunked")
        elif body is not None:
            head.append(f"Content-Length: {len(body)}")
        elif method in ("POST", "PUT"):
            head.append("Content-Length: 0")
        try:
            s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
            if stream_body is not None:
                for chunk in stream_body:
                    if chunk:
                        s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                s.sendall(b"0\r\n\r\n")
            reader = _Reader(s)
            status_line = reader.readline()
        except OSError as e:
            s.close()
            raise CLIError(f"error during connect: {e}") from None
        if not status_line:
            s.close()
            raise CLIError("error during connect: EOF")
        parts = status_line.decode("latin-1").split(None, 2)
        status = int(parts[1])
        hdrs: dict[str, str] = {}
        while True:
            line = reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return Response(status, hdrs, reader, s)

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        stream_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send a request; raise APIError on a status >= 400 (after reading the error)."""
        hdrs = dict(headers or {})
        body = data
        if json_body is not None:
            body = _json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        resp = self._raw(method, self._path(path) + _query(params), body, stream_body, hdrs)
        if resp.status >= 400:
            raw = resp.read()
            resp.close()
            raise APIError(resp.status, _error_message(raw))
        return resp

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self.request("GET", path, params)
        try:
            return resp.json()
        finally:
            resp.close()

    def get_raw(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        resp = self.request("GET", path, params)
        try:
            return resp.read()
        finally:
            resp.close()

    def post(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        resp = self.request("POST", path, params, json_body=json_body, headers=headers)
        try:
            raw = resp.read()
            return _json.loads(raw) if raw.strip() else None
        finally:
            resp.close()

    def delete(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self.request("DELETE", path, params)
        try:
            raw = resp.read()
            return _json.loads(raw) if raw.strip() else None
        finally:
            resp.close()

    def head(self, path: str, params: dict[str, Any] | None = None) -> dict[str, str]:
        """HEAD: the answer's headers (its body is never sent, whatever Content-Length says);
        APIError with the status text when it is an error."""
        resp = self._raw("HEAD", self._path(path) + _query(params), None, None, {})
        resp.close()
        if resp.status >= 400:
            raise APIError(resp.status, f"HEAD {path}: status {resp.status}")
        return resp.headers

    def hijack(
        self, path: str, params: dict[str, Any] | None = None, json_body: Any = None
    ) -> Hijacked:
        """POST with `Upgrade: tcp`; after 101 (or 200 from old daemons) the socket is raw."""
        body = _json.dumps(json_body).encode() if json_body is not None else None
        hdrs = {"Connection": "Upgrade", "Upgrade": "tcp"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        resp = self._raw("POST", self._path(path) + _query(params), body, None, hdrs)
        if resp.status >= 400:
            raw = resp.read()
            resp.close()
            raise APIError(resp.status, _error_message(raw))
        return Hijacked(resp.sock, resp.reader.buf)


def _error_message(raw: bytes) -> str:
    try:
        doc = _json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace").strip()
    if isinstance(doc, dict) and "message" in doc:
        return str(doc["message"])
    return raw.decode(errors="replace").strip()
