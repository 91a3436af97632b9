"""listeners.py: -H parsing, the socket's mode and group, passed sockets, and the TCP rules."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
import trustme

from dockerpy_engine.config import DaemonConfig, parse
from dockerpy_engine.listeners import (
    Host,
    ListenerError,
    api_warnings,
    check_tcp_security,
    fd_listeners,
    parse_host,
    server_tls_context,
    socket_gid,
    unix_listener,
)


@pytest.mark.parametrize(
    ("value", "tls", "host"),
    [
        ("unix:///run/x.sock", False, Host("unix", "/run/x.sock")),
        ("tcp://127.0.0.1:2000", False, Host("tcp", "127.0.0.1:2000")),
        ("tcp://127.0.0.1", False, Host("tcp", "127.0.0.1:2375")),
        ("tcp://127.0.0.1", True, Host("tcp", "127.0.0.1:2376")),
        ("tcp://:2000", False, Host("tcp", "localhost:2000")),
        ("127.0.0.1:2000", False, Host("tcp", "127.0.0.1:2000")),
        ("tcp://[::1]:2000", False, Host("tcp", "[::1]:2000")),
        ("fd://", False, Host("fd", "")),
        ("fd://3", False, Host("fd", "3")),
    ],
)
def test_hosts_parse_as_dockerds(value, tls, host):
    assert parse_host(value, tls) == host


@pytest.mark.parametrize("value", ["udp://1.2.3.4:5", "unix://", "tcp://127.0.0.1:port"])
def test_bad_hosts_are_refused(value):
    with pytest.raises(ListenerError):
        parse_host(value, False)


def test_the_unix_socket_is_0660_and_owned_by_the_group(tmp_path):
    path = tmp_path / "api.sock"

    sock = unix_listener(str(path), 4321)
    try:
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o660
        assert (info.st_uid, info.st_gid) == (0, 4321)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(path))  # already listening
    finally:
        sock.close()


def test_a_stale_socket_file_is_replaced_but_a_live_one_is_not(tmp_path):
    path = tmp_path / "api.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()

    live = unix_listener(str(path), 0)
    try:
        with pytest.raises(ListenerError, match="another daemon is already serving"):
            unix_listener(str(path), 0)
    finally:
        live.close()


def test_socket_group_by_name_or_number():
    assert socket_gid("root") == 0
    assert socket_gid("4321") == 4321


def test_a_missing_docker_group_falls_back_to_ours_but_another_group_must_exist():
    with pytest.raises(ListenerError, match="group no-such-group-dpy not found"):
        socket_gid("no-such-group-dpy")
    assert socket_gid("") == os.getgid()


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_fd_hosts_take_every_passed_socket_or_the_one_named():
    passed = [_listening(), _listening()]
    try:
        assert fd_listeners("", passed) == passed
        assert fd_listeners("*", passed) == passed
        [only] = fd_listeners("4", passed)
        assert only is passed[1]
        assert passed[0].fileno() == -1  # the others are closed
    finally:
        for sock in passed:
            sock.close()


@pytest.mark.parametrize(
    ("address", "passed", "message"),
    [
        ("", 0, "no sockets found via socket activation"),
        ("x", 1, "should be a number: x"),
        ("5", 1, "too few socket activated files"),
    ],
)
def test_fd_host_errors_are_dockerds(address, passed, message):
    sockets = [_listening() for _ in range(passed)]
    try:
        with pytest.raises(ListenerError, match=message):
            fd_listeners(address, sockets)
    finally:
        for sock in sockets:
            sock.close()


# --- TCP: TLS and the refusal of plain TCP -------------------------------------------------------

TCP = [Host("tcp", "127.0.0.1:2375")]


def test_plain_tcp_is_refused_unless_tls_is_explicitly_off(caplog):
    cfg, _ = parse([])

    with pytest.raises(ListenerError, match="'--tls=false'"):
        check_tcp_security(cfg, TCP)
    assert "Binding to IP address without --tlsverify is insecure" in caplog.text


@pytest.mark.parametrize("flag", ["--tls=false", "--tlsverify=false", "--tlsverify"])
def test_an_explicit_tls_choice_is_accepted(flag):
    cfg, _ = parse([flag])

    check_tcp_security(cfg, TCP)


def test_unix_hosts_need_no_tls():
    cfg, _ = parse([])

    check_tcp_security(cfg, [Host("unix", "/x.sock")])


def test_info_warnings_are_dockerds():
    plain, _ = parse(["--tls=false"])
    server_only, _ = parse(["--tlsverify=false"])
    mutual, _ = parse(["--tlsverify"])

    [warning] = api_warnings(plain, [*TCP, Host("unix", "/x.sock")])
    assert warning == (
        "[DEPRECATION NOTICE]: API is accessible on http://127.0.0.1:2375 without encryption.\n"
        "         Access to the remote API is equivalent to root access on the host. Refer\n"
        "         to the 'Docker daemon attack surface' section in the documentation for\n"
        "         more information: https://docs.docker.com/go/attack-surface/\n"
        "In future versions this will be a hard failure preventing the daemon from starting! "
        "Learn more at: https://docs.docker.com/go/api-security/"
    )
    [warning] = api_warnings(server_only, TCP)
    assert "https://127.0.0.1:2375 without TLS client verification." in warning
    assert api_warnings(mutual, TCP) == []


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1, a client of that CA and one of another."""
    root = tmp_path_factory.mktemp("pki")
    ca, stranger = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    for name, issuer, identity in (
        ("server", ca, "127.0.0.1"),
        ("client", ca, "client"),
        ("stranger", stranger, "client"),
    ):
        leaf = issuer.issue_cert(identity)
        leaf.cert_chain_pems[0].write_to_path(str(root / f"{name}.pem"))
        leaf.private_key_pem.write_to_path(str(root / f"{name}-key.pem"))
    return {p.stem: p for p in root.iterdir()}


def _config(pki: dict[str, Path], verify: bool) -> DaemonConfig:
    cfg, _ = parse(
        [
            f"--tlsverify={'true' if verify else 'false'}",
            *("--tlscacert", str(pki["ca"])),
            *("--tlscert", str(pki["server"]), "--tlskey", str(pki["server-key"])),
        ]
    )
    return cfg


def _handshake(server_context: ssl.SSLContext, pki, client_cert: str | None) -> bytes:
    """One real TLS exchange on 127.0.0.1: the server echoes one line; returns what came back
    (or raises the client's error)."""
    listener = _listening()
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.recv(64))
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = ssl.create_default_context(cafile=str(pki["ca"]))
    if client_cert:
        client.load_cert_chain(str(pki[client_cert]), str(pki[f"{client_cert}-key"]))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
            client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"ping\n")
            return tls.recv(64)
    finally:
        thread.join(timeout=30)
        listener.close()


def test_mutual_tls_serves_clients_of_the_ca(pki):
    context = server_tls_context(_config(pki, verify=True))

    assert _handshake(context, pki, "client") == b"ping\n"


@pytest.mark.parametrize("client_cert", [None, "stranger"])
def test_mutual_tls_refuses_other_clients(pki, client_cert):
    context = server_tls_context(_config(pki, verify=True))

    with pytest.raises((ssl.SSLError, ConnectionError)):
        reply = _handshake(context, pki, client_cert)
        if not reply:  # TLS 1.3: the refusal may arrive as the connection's end
            raise ConnectionError("closed")


def test_server_only_tls_serves_clients_without_certificates(pki):
    context = server_tls_context(_config(pki, verify=False))

    assert _handshake(context, pki, None) == b"ping\n"


def test_unreadable_tls_files_are_an_invalid_tls_configuration(pki, tmp_path):
    cfg = _config(pki, verify=True)
    cfg.tlscacert = str(tmp_path / "missing.pem")

    with pytest.raises(ListenerError, match="invalid TLS configuration: could not read CA"):
        server_tls_context(cfg)
    cfg.tlscert = str(tmp_path / "missing.pem")
    with pytest.raises(ListenerError, match="could not load X509 key pair"):
        server_tls_context(cfg)


def test_no_tls_context_without_tls():
    cfg, _ = parse(["--tls=false"])

    assert server_tls_context(cfg) is None
