"""The API's listening sockets, made as dockerd's daemon/listeners makes them.

`unix://PATH` (0660, owned by the socket group), `tcp://HOST:PORT` (TLS from --tls/--tlsverify,
plain only when --tls=false says so explicitly) and `fd://[N]` (sockets systemd passed us,
LISTEN_FDS). Each is bound here and handed to aiohttp already listening, so the permissions
are set before the first client can connect.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .config import DaemonConfig

log = logging.getLogger(__name__)

DEFAULT_SOCKET_GROUP = "docker"
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")
SD_LISTEN_FDS_START = 3


class ListenerError(Exception):
    """A host cannot be listened on; the daemon refuses to start."""


def listen_backlog() -> int:
    """Go's listen backlog, so dockerd's: the kernel's net.core.somaxconn (4096 on current
    kernels). A burst of clients connecting at once (docker compose, a CI fan-out) waits in
    it; past it a non-blocking connect, as the docker CLI's, fails with EAGAIN."""
    try:
        return min(int(SOMAXCONN.read_text()), 65535)
    except (OSError, ValueError):
        return socket.SOMAXCONN


@dataclass(frozen=True, slots=True)
class Host:
    """One parsed -H value: proto is unix, tcp or fd; address is a path, HOST:PORT or N."""

    proto: str
    address: str

    def __str__(self) -> str:
        return f"{self.proto}://{self.address}"


def parse_host(value: str, tls: bool) -> Host:
    """dockerd's ParseHost: a bare HOST:PORT is tcp; tcp's host defaults to localhost and its
    port to 2375 (2376 with TLS)."""
    proto, sep, address = value.partition("://")
    if not sep:
        proto, address = "tcp", value
    if proto == "unix":
        if not address:
            raise ListenerError(f"invalid bind address ({value}): empty path")
        return Host("unix", address)
    if proto == "fd":
        return Host("fd", address)
    if proto != "tcp":
        raise ListenerError(f"invalid bind address format: {value}")
    parts = urlsplit(f"//{address}")
    try:
        port = parts.port
    except ValueError:
        raise ListenerError(f"invalid bind address format: {value}") from None
    hostname = parts.hostname or "localhost"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return Host("tcp", f"{hostname}:{port or (2376 if tls else 2375)}")


def server_tls_context(config: DaemonConfig) -> ssl.SSLContext | None:
    """The API's TLS settings (go-connections tlsconfig.Server): TLS 1.2 or later; with client
    verification, only certificates signed by --tlscacert are trusted (not the system's)."""
    if not config.tls:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.tlscert, config.tlskey)
    except (OSError, ssl.SSLError) as exc:
        raise ListenerError(
            f"invalid TLS configuration: could not load X509 key pair ({config.tlscert}, "
            f"{config.tlskey}): {exc}"
        ) from None
    if config.tls_client_auth:
        try:
            context.load_verify_locations(cafile=config.tlscacert)
        except (OSError, ssl.SSLError) as exc:
            raise ListenerError(
                f"invalid TLS configuration: could not read CA certificate "
                f'"{config.tlscacert}": {exc}'
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["http/1.1"])
    return context


def check_tcp_security(config: DaemonConfig, hosts: list[Host]) -> None:
    """TCP without client verification: dockerd's warnings, always; and a refusal unless TLS
    was settled explicitly (`--tls=false`, or `--tlsverify=false` for server-only TLS) — the
    hard failure dockerd's deprecation notice announces, here already, for every address."""
    if config.tls_client_auth:
        return
    for host in hosts:
        if host.proto != "tcp":
            continue
        log.warning(
            "Binding to IP address without --tlsverify is insecure and gives root access on "
            "this machine to everyone who has access to your network. host=%s",
            host,
        )
        log.warning(
            "Binding to an IP address, even on localhost, can also give access to scripts run "
            "in a browser. Be safe out there! host=%s",
            host,
        )
        if config.tls is None:
            raise ListenerError(
                f"refusing to listen on {host} without TLS client verification: use "
                "--tlsverify with --tlscacert, --tlscert and --tlskey, or explicitly specify "
                "'--tls=false' or '--tlsverify=false' to run without it"
            )


def api_warnings(config: DaemonConfig, hosts: list[Host]) -> list[str]:
    """`docker info`'s warnings for a TCP API (dockerd's fillAPIInfo, word for word)."""
    about = (
        "\n         Access to the remote API is equivalent to root access on the host. Refer"
        "\n         to the 'Docker daemon attack surface' section in the documentation for"
        "\n         more information: https://docs.docker.com/go/attack-surface/"
    )
    removal = (
        "In future versions this will be a hard failure preventing the daemon from starting! "
        "Learn more at: https://docs.docker.com/go/api-security/"
    )
    warnings = []
    for host in hosts:
        if host.proto != "tcp":
            continue
        if not config.tls:
            what = f"http://{host.address} without encryption."
        elif not config.tls_client_auth:
            what = f"https://{host.address} without TLS client verification."
        else:
            continue
        warnings.append(f"[DEPRECATION NOTICE]: API is accessible on {what}{about}\n{removal}")
    return warnings


def socket_gid(group: str) -> int:
    """dockerd's socket group: a name or a number; the default `docker` group may be missing
    (then our own group, with a warning), any other group must exist."""
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        pass
    if group.isdigit():
        return int(group)
    if group and group != DEFAULT_SOCKET_GROUP:
        raise ListenerError(f"group {group} not found")
    if group:
        log.warning("could not change group to %s: group %s not found", group, group)
    return os.getgid()


def unix_listener(path: str, gid: int) -> socket.socket:
    """Bound, chowned to root:gid, 0660, and only then listening: no client ever finds the
    socket with looser permissions."""
    _claim_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chown(path, 0, gid)
        os.chmod(path, 0o660)
        sock.listen(listen_backlog())
    except OSError as exc:
        sock.close()
        raise ListenerError(f"can't create unix socket {path}: {exc}") from None
    return sock


def _claim_socket(path: str) -> None:
    """Refuse to steal the socket of a live daemon; clear a stale one."""
    if not os.path.exists(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise ListenerError(f"another daemon is already serving {path}; choose another with -H")


def tcp_listener(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    try:
        return socket.create_server((host.strip("[]"), int(port)), backlog=listen_backlog())
    except OSError as exc:
        raise ListenerError(f"failed to listen on tcp://{address}: {exc}") from None


def activated_sockets() -> list[socket.socket]:
    """The sockets systemd passed (go-systemd's activation.Listeners): fds 3.. when
    LISTEN_PID is us; the variables are cleared so that children do not take them too."""
    try:
        if int(os.environ.get("LISTEN_PID", "0")) != os.getpid():
            return []
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    finally:
        for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            os.environ.pop(name, None)
    sockets = []
    for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count):
        os.set_inheritable(fd, False)
        sockets.append(socket.socket(fileno=fd))
    return sockets


def fd_listeners(address: str, passed: list[socket.socket]) -> list[socket.socket]:
    """`fd://` or `fd://*`: every passed socket; `fd://N`: that one (the others are closed)."""
    if not passed:
        raise ListenerError(
            "no sockets found via socket activation: make sure the service was started by systemd"
        )
    if address in ("", "*"):
        return passed
    try:
        offset = int(address) - SD_LISTEN_FDS_START
    except ValueError:
        raise ListenerError(
            f"failed to parse systemd fd address: should be a number: {address}"
        ) from None
    if not 0 <= offset < len(passed):
        raise ListenerError("too few socket activated files passed in by systemd")
    for index, sock in enumerate(passed):
        if index != offset:
            sock.close()
    return [passed[offset]]


@dataclass(slots=True)
class Listener:
    sock: socket.socket
    host: Host
    tls: ssl.SSLContext | None  # None on unix sockets and with --tls=false

    def close(self) -> None:
        """Close the socket; a unix socket's file goes too (not one that systemd made)."""
        self.sock.close()
        if self.host.proto == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.host.address)


def open_listeners(config: DaemonConfig, hosts: list[Host]) -> list[Listener]:
    """Every host's sockets, or none (those made before a failure are closed). The hosts
    have passed `check_tcp_security` (the daemon's configuration check)."""
    tls = server_tls_context(config)
    made: list[Listener] = []
    try:
        gid = socket_gid(config.group) if any(h.proto == "unix" for h in hosts) else 0
        passed = activated_sockets() if any(h.proto == "fd" for h in hosts) else []
        for host in hosts:
            if host.proto == "unix":
                made.append(Listener(unix_listener(host.address, gid), host, None))
            elif host.proto == "tcp":
                made.append(Listener(tcp_listener(host.address), host, tls))
            else:
                for sock in fd_listeners(host.address, passed):
                    # systemd's SocketMode/SocketGroup already apply; TLS does if it is on
                    tls_here = tls if sock.family != socket.AF_UNIX else None
                    made.append(Listener(sock, host, tls_here))
    except BaseException:
        for listener in made:
            listener.close()
        raise
    return made
