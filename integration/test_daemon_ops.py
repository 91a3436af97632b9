"""The daemon as operators run it: SIGHUP reloads, the API over TCP with TLS (real docker CLI,
certificates by trustme, 127.0.0.1 only), the socket's mode and group, Prometheus metrics,
and systemd's socket activation with READY=1."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families

from .daemon import DOCKERPYD, Daemon, docker_cli
from .registry import free_port

GROUP_ID = 4321


class Pki:
    """A CA; a server certificate for 127.0.0.1; client directories as DOCKER_CERT_PATH wants
    them (ca.pem, cert.pem, key.pem), one of our CA and one of a stranger's."""

    def __init__(self, root: Path) -> None:
        ca, stranger = trustme.CA(), trustme.CA()
        self.ca = root / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca))
        server = ca.issue_cert("127.0.0.1")
        self.server_cert, self.server_key = root / "server.pem", root / "server-key.pem"
        server.cert_chain_pems[0].write_to_path(str(self.server_cert))
        server.private_key_pem.write_to_path(str(self.server_key))
        self.client = self._client_dir(root / "client", ca)
        self.stranger = self._client_dir(root / "stranger", stranger)
        self.no_cert = root / "no-cert"
        self.no_cert.mkdir()
        ca.cert_pem.write_to_path(str(self.no_cert / "ca.pem"))

    def _client_dir(self, directory: Path, issuer: trustme.CA) -> Path:
        directory.mkdir()
        self_ca = directory / "ca.pem"
        self_ca.write_bytes(self.ca.read_bytes())
        leaf = issuer.issue_cert("dpy-client")
        leaf.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
        leaf.private_key_pem.write_to_path(str(directory / "key.pem"))
        return directory

    def server_flags(self, verify: bool) -> list[str]:
        return [
            f"--tlsverify={'true' if verify else 'false'}",
            *("--tlscacert", str(self.ca)),
            *("--tlscert", str(self.server_cert), "--tlskey", str(self.server_key)),
        ]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


class OpsDaemon:
    """A daemon started with a daemon.json of its own (no --debug flag: the file says),
    mutual TLS on a TCP port, metrics on another, and its socket in group 4321."""

    def __init__(self, pki: Pki, busybox_tar: str) -> None:
        self.d = Daemon()
        self.d.debug = False
        self.config = self.d.base / "daemon.json"
        self.write({"labels": ["tier=one"], "debug": False})
        self.tcp = f"tcp://127.0.0.1:{free_port()}"
        self.metrics = f"127.0.0.1:{free_port()}"
        self.d.start(
            *("-H", self.tcp, *pki.server_flags(verify=True)),
            *("--metrics-addr", self.metrics, "-G", str(GROUP_ID)),
        )
        result = self.d.cli("import", busybox_tar, "busybox:latest")
        assert result.returncode == 0, result.stderr

    def write(self, values: object) -> None:
        self.config.write_text(values if isinstance(values, str) else json.dumps(values))

    def info(self) -> dict:
        result = self.d.cli("info", "--format", "{{json .}}")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def reload_errors(self) -> int:
        return self.d.log_path.read_text().count("Error reloading configuration")

    def sighup(self) -> None:
        assert self.d.proc is not None
        self.d.proc.send_signal(signal.SIGHUP)


@pytest.fixture(scope="module")
def ops(pki: Pki, busybox_tar: str) -> Iterator[OpsDaemon]:
    daemon = OpsDaemon(pki, busybox_tar)
    try:
        yield daemon
    finally:
        daemon.d.cleanup()


def wait_for(condition, what: str, limit: float = 30) -> None:
    """Poll a condition the daemon reaches on its own (a signal is handled asynchronously)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)


# --- SIGHUP ---------------------------------------------------------------------------------


def test_sighup_reloads_labels_and_debug_and_logs_a_daemon_reload_event(ops):
    before = ops.info()
    assert (before["Labels"], before["Debug"]) == (["tier=one"], False)
    since = str(int(time.time()) - 1)
    ops.write({"labels": ["tier=two", "zone=a"], "debug": True, "live-restore": False})

    ops.sighup()
    wait_for(lambda: ops.info()["Labels"] == ["tier=two", "zone=a"], "labels reloaded")

    after = ops.info()
    assert (after["Debug"], after["LiveRestoreEnabled"]) == (True, False)
    result = ops.d.cli(
        "events", "--filter", "type=daemon", "--since", since, "--until", str(int(time.time()) + 1),
        "--format", "{{json .}}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [event] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (event["Type"], event["Action"], event["Actor"]["ID"]) == (
        "daemon",
        "reload",
        after["ID"],
    )
    attributes = event["Actor"]["Attributes"]
    assert attributes["labels"] == '["tier=two","zone=a"]'
    assert (attributes["debug"], attributes["live-restore"]) == ("true", "false")
    assert attributes["name"] == after["Name"]


@pytest.mark.parametrize(
    "broken",
    [
        '{"labels": ["tier=three"',  # not JSON
        {"labels": ["tier"]},  # not key=value
        {"labels": ["tier=three"], "metrics-addr": "127.0.0.1:1"},  # also a flag
    ],
)
def test_a_broken_file_keeps_the_running_configuration(ops, broken):
    before = ops.info()
    errors = ops.reload_errors()
    ops.write(broken)

    ops.sighup()
    wait_for(lambda: ops.reload_errors() > errors, "the reload error logged")

    after = ops.info()
    assert (after["Labels"], after["Debug"]) == (before["Labels"], before["Debug"])
    assert after["Labels"] != ["tier=three"]


# --- the unix socket ------------------------------------------------------------------------


def test_the_api_socket_is_0660_in_the_configured_group(ops):
    info = ops.d.socket.stat()

    assert stat.S_IMODE(info.st_mode) == 0o660
    assert (info.st_uid, info.st_gid) == (0, GROUP_ID)


def test_a_socket_group_that_does_not_exist_is_refused(tmp_path):
    result = run_dockerpyd(tmp_path, "-H", f"unix://{tmp_path}/s.sock", "-G", "no-such-group-dpy")

    assert result.returncode == 1
    assert "group no-such-group-dpy not found" in result.stderr


# --- TCP and TLS ----------------------------------------------------------------------------


def tls_cli(host: str, cert_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The real docker CLI over TLS, configured the way users do it: DOCKER_TLS_VERIFY and
    DOCKER_CERT_PATH (ca.pem, and cert.pem/key.pem when the client has one)."""
    env = {
        **os.environ,
        "DOCKER_HOST": host,
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(cert_path),
        "DOCKER_CONFIG": str(cert_path / "cfg"),
    }
    return subprocess.run(
        [docker_cli(), *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_mutual_tls_serves_the_docker_cli_with_a_client_certificate(ops, pki):
    result = tls_cli(ops.tcp, pki.client, "version", "--format", "{{.Server.Os}}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "linux"
    # mutual TLS is nothing to warn about
    assert not [w for w in ops.info()["Warnings"] or [] if "API is accessible" in w]


@pytest.mark.parametrize("client", ["stranger", "no_cert"])
def test_mutual_tls_refuses_clients_without_a_certificate_of_the_ca(ops, pki, client):
    result = tls_cli(ops.tcp, getattr(pki, client), "version", "--format", "{{.Server.Os}}")

    assert result.returncode != 0
    assert "linux" not in result.stdout
    assert "error during connect" in result.stderr


def test_plain_http_gets_nothing_from_the_tls_port(ops):
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://{ops.tcp[len('tcp://') :]}/_ping", timeout=30).read()


def test_server_only_tls_serves_clients_without_certificates(pki):
    d = Daemon()
    tcp = f"tcp://127.0.0.1:{free_port()}"
    try:
        d.start("-H", tcp, *pki.server_flags(verify=False))

        result = tls_cli(tcp, pki.no_cert, "info", "--format", "{{json .Warnings}}")

        assert result.returncode == 0, result.stderr
        [warning] = [w for w in json.loads(result.stdout) if "API is accessible" in w]
        assert f"API is accessible on https://{tcp[len('tcp://') :]} without TLS client" in warning
    finally:
        d.cleanup()


def test_plain_tcp_is_refused_unless_tls_is_explicitly_off(tmp_path):
    host = f"tcp://127.0.0.1:{free_port()}"

    result = run_dockerpyd(tmp_path, "-H", host)

    assert result.returncode == 1
    assert f"refusing to listen on {host} without TLS client verification" in result.stderr
    assert "'--tls=false'" in result.stderr


def test_plain_tcp_with_tls_false_serves_and_warns_in_info():
    d = Daemon()
    address = f"127.0.0.1:{free_port()}"
    try:
        d.start("-H", f"tcp://{address}", "--tls=false")
        env = {**os.environ, "DOCKER_HOST": f"tcp://{address}", "DOCKER_CONFIG": str(d.base)}

        result = subprocess.run(
            [docker_cli(), "info", "--format", "{{json .Warnings}}"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip

        assert result.returncode == 0, result.stderr
        [warning] = [w for w in json.loads(result.stdout) if "API is accessible" in w]
        assert warning.startswith(
            f"[DEPRECATION NOTICE]: API is accessible on http://{address} without encryption."
        )
        assert "Binding to IP address without --tlsverify is insecure" in d.log_path.read_text()
    finally:
        d.cleanup()


def run_dockerpyd(base: Path, *flags: str) -> subprocess.CompletedProcess:
    """A daemon start expected to fail before it starts containerd."""
    config = base / "daemon.json"
    config.write_text("{}")
    return subprocess.run(
        [
            str(DOCKERPYD),
            *("--config-file", str(config), "--data-root", str(base / "root")),
            *("--exec-root", str(base / "run"), "--pidfile", str(base / "pid")),
            "--bridge=none", "--iptables=false", "--ip-forward=false",
            *flags,
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


# --- metrics --------------------------------------------------------------------------------


def scrape(address: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_show_container_states_and_api_latency(ops):
    name = f"metrics-{os.getpid()}"
    result = ops.d.cli("run", "-d", "--name", name, "busybox:latest", "sleep", "300")
    assert result.returncode == 0, result.stderr
    try:
        found = scrape(ops.metrics)
    finally:
        ops.d.cli("rm", "-f", name)

    states = "engine_daemon_container_states_containers"
    assert found[(states, (("state", "running"),))] == 1
    assert found[(states, (("state", "paused"),))] == 0
    create = (("method", "POST"), ("route", "/containers/create"))
    assert found[("engine_daemon_api_request_duration_seconds_count", create)] >= 1
    assert ("engine_daemon_event_loop_lag_seconds", ()) in found


# --- systemd --------------------------------------------------------------------------------


def test_socket_activation_and_ready_notification():
    """As systemd starts dockerpyd.service: the API socket made by the caller and passed as
    fd 3 (LISTEN_FDS=1, LISTEN_PID the daemon's own), `-H fd://`, and READY=1 on the
    NOTIFY_SOCKET datagram socket once the API serves; STOPPING=1 when it stops."""
    d = Daemon()
    api = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    api.bind(str(d.socket))
    api.listen()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(d.base / "notify.sock"))
    notify.settimeout(60)
    fd = api.fileno()
    # bash (not dash: fds past 9) moves the socket to fd 3 and gives the daemon its own pid
    move = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
    launcher = ("bash", "-c", f'LISTEN_PID=$$ exec "$@"{move}', "bash")
    env = {**os.environ, "LISTEN_FDS": "1", "NOTIFY_SOCKET": str(d.base / "notify.sock")}
    d.listen = "fd://"
    try:
        d.start(env=env, pass_fds=(fd,), launcher=launcher)
        api.close()  # the daemon has its own copy

        assert notify.recv(4096) == b"READY=1"
        result = d.cli("version", "--format", "{{.Server.Os}}")
        assert result.returncode == 0, result.stderr.decode()
        assert "API listen on fd://" in d.log_path.read_text()
        d.stop()
        assert notify.recv(4096) == b"STOPPING=1"
    finally:
        api.close()
        notify.close()
        d.listen = ""  # cleanup starts it again (on its own socket) to remove what is left
        d.cleanup()
