"""Log drivers through the real docker CLI: --log-driver/--log-opt, rotation read back in order,
`docker logs` refused where nothing is kept, collectors (syslog, gelf, fluentd) started here on
127.0.0.1 receiving the container's lines, and daemon.json defaults on a daemon of their own."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import docker
import msgpack
import pytest

from .conftest import IMAGE, out
from .daemon import DOCKERPYD, Daemon

WAIT = 30


def err(result) -> str:
    return result.stderr.decode()


def counting(n: int, pause_us: int = 0) -> list[str]:
    """A busybox shell loop printing `line 1`…`line n` (with an optional pause between)."""
    pause = f" usleep {pause_us};" if pause_us else ""
    return ["sh", "-c", f"i=0; while [ $i -lt {n} ]; do i=$((i+1)); echo line $i;{pause} done"]


def lines(n: int) -> str:
    return "".join(f"line {i}\n" for i in range(1, n + 1))


def inspect(cli, name: str) -> dict:
    result = cli("inspect", name)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]


class UdpReceiver:
    """A syslog/gelf collector: the datagrams it got."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[bytes] = []

    def wait(self, count: int) -> list[bytes]:
        deadline = time.monotonic() + WAIT
        while len(self.datagrams) < count and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                self.datagrams.append(self.sock.recv(65536))
        return self.datagrams

    def close(self) -> None:
        self.sock.close()


class TcpReceiver:
    """A stream collector: all bytes received, from any connection, in a thread."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.data = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            while chunk := conn.recv(65536):
                with self._lock:
                    self.data += chunk

    def wait(self, done: Callable[[bytes], bool]) -> bytes:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self._lock:
                data = bytes(self.data)
            if done(data):
                return data
            time.sleep(0.05)
        return data

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def udp():
    receiver = UdpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def tcp():
    receiver = TcpReceiver()
    yield receiver
    receiver.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- json-file and local: rotation read back -------------------------------------------------


def test_json_file_rotation_keeps_every_line_in_order_for_docker_logs(cli):
    name = "log-rotate"
    result = cli(
        "run", "--name", name,
        "--log-opt", "max-size=1k", "--log-opt", "max-file=100", "--log-opt", "compress=true",
        IMAGE, *counting(300),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out(result) == lines(300)

    logs = cli("logs", name)
    assert logs.returncode == 0 and out(logs) == lines(300)
    tail = cli("logs", "--tail", "3", name)
    assert out(tail) == "line 298\nline 299\nline 300\n"
    container = inspect(cli, name)
    assert container["HostConfig"]["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-size": "1k", "max-file": "100", "compress": "true"},
    }
    log_path = Path(container["LogPath"])
    rotated = sorted(p.name for p in log_path.parent.iterdir() if p.name.startswith(log_path.name))
    assert f"{log_path.name}.1.gz" in rotated and len(rotated) > 5
    first = json.loads(log_path.read_text().splitlines()[0])
    assert list(first) == ["log", "stream", "time"] and first["stream"] == "stdout"
    assert cli("rm", name).returncode == 0


def test_logs_follow_goes_on_across_rotations(cli):
    name = "log-follow-rotate"
    started = cli(
        "run", "-d", "--name", name, "--log-opt", "max-size=500", "--log-opt", "max-file=500",
        IMAGE, *counting(400, pause_us=2000),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    follow = cli("logs", "-f", name, timeout=120)
    assert follow.returncode == 0, follow.stderr
    assert out(follow) == lines(400)
    assert cli("rm", "-f", name).returncode == 0


def test_local_driver_is_read_back_and_keeps_no_log_path(cli):
    name = "log-local"
    result = cli(
        "run", "--name", name, "--log-driver", "local", "--log-opt", "max-size=2k",
        IMAGE, "sh", "-c", "echo out; echo err >&2; " + " ".join(counting(100)[2:]),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    logs = cli("logs", name)
    assert out(logs) == "out\n" + lines(100) and err(logs) == "err\n"
    container = inspect(cli, name)
    assert container["LogPath"] == ""
    assert container["HostConfig"]["LogConfig"] == {"Type": "local", "Config": {"max-size": "2k"}}
    assert cli("rm", name).returncode == 0


# --- refused, and refused at create ----------------------------------------------------------


def test_docker_logs_is_refused_for_none_with_dockerds_501(cli, client):
    name = "log-none"
    result = cli("run", "--name", name, "--log-driver", "none", IMAGE, "echo", "nowhere")
    assert result.returncode == 0 and out(result) == "nowhere\n"  # attach still streams

    logs = cli("logs", name)
    assert logs.returncode != 0
    assert "configured logging driver does not support reading" in err(logs)
    with pytest.raises(docker.errors.APIError) as caught:
        client.api.logs(name)
    assert caught.value.status_code == 501
    assert cli("rm", name).returncode == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--log-driver", "nope"], "logger: no log driver named 'nope' is registered"),
        (["--log-opt", "x=1"], "unknown log opt 'x' for json-file log driver"),
        (["--log-driver", "local", "--log-opt", "x=1"], "unknown log opt 'x' for log driver local"),
        (
            ["--log-driver", "syslog", "--log-opt", "syslog-address=foo://x"],
            "syslog-address should be in form proto://address, got foo://x",
        ),
        (["--log-driver", "gelf"], "gelf-address is a required parameter"),
        (["--log-opt", "mode=fast"], "logger: logging mode not supported: fast"),
    ],
)
def test_invalid_log_configs_are_refused_at_create(cli, flags, message):
    result = cli("run", "--rm", *flags, IMAGE, "true")

    assert result.returncode == 125  # the CLI's code for a refused create
    assert f"Error response from daemon: {message}" in err(result)


def test_an_invalid_log_config_is_a_400(client):
    host_config = client.api.create_host_config(log_config={"Type": "nope", "Config": {}})

    with pytest.raises(docker.errors.APIError) as caught:
        client.api.create_container(IMAGE, "true", host_config=host_config)

    assert caught.value.status_code == 400
    assert "logger: no log driver named 'nope' is registered" in str(caught.value)


def test_bad_option_values_fail_the_start_as_dockerd(cli):
    result = cli("run", "--rm", "--log-opt", "max-file=0", IMAGE, "true")

    assert result.returncode != 0
    assert "failed to initialize logging driver: max-file cannot be less than 1" in err(result)


# --- collectors -------------------------------------------------------------------------------


def test_syslog_sends_lines_to_a_udp_collector_and_docker_logs_reads_the_cache(cli, udp):
    name = "log-syslog"
    result = cli(
        "run", "--name", name, "--log-driver", "syslog",
        "--log-opt", f"syslog-address=udp://127.0.0.1:{udp.port}",
        "--log-opt", "tag={{.Name}}", "--log-opt", "syslog-facility=local0",
        IMAGE, "sh", "-c", "echo first; echo second >&2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    by_priority = {d.decode().split(">")[0] + ">": d.decode() for d in udp.wait(2)}
    stamp = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"  # local0 = 128, +6 info, +3 err
    assert re.fullmatch(rf"<134>{stamp} log-syslog\[\d+\]: first\n", by_priority["<134>"])
    assert re.fullmatch(rf"<131>{stamp} log-syslog\[\d+\]: second\n", by_priority["<131>"])
    logs = cli("logs", name)  # dual logging: the local cache answers
    assert logs.returncode == 0 and out(logs) == "first\n" and err(logs) == "second\n"
    assert cli("rm", name).returncode == 0


def test_syslog_with_the_cache_disabled_refuses_docker_logs(cli, udp):
    name = "log-syslog-nocache"
    result = cli(
        "run", "--name", name, "--log-driver", "syslog",
        "--log-opt", f"syslog-address=udp://127.0.0.1:{udp.port}",
        "--log-opt", "cache-disabled=true",
        IMAGE, "echo", "only remote",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert udp.wait(1)[0].endswith(b": only remote\n")

    logs = cli("logs", name)
    assert logs.returncode != 0
    assert "configured logging driver does not support reading" in err(logs)
    assert cli("rm", name).returncode == 0


def test_gelf_sends_gzipped_gelf_to_a_udp_collector(cli, udp):
    name = "log-gelf"
    result = cli(
        "run", "--name", name, "--log-driver", "gelf", "--label", "team=core",
        "--log-opt", f"gelf-address=udp://127.0.0.1:{udp.port}", "--log-opt", "labels=team",
        IMAGE, "echo", "hello gelf",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    (datagram,) = udp.wait(1)
    message = json.loads(gzip.decompress(datagram))
    container = inspect(cli, name)
    assert message["version"] == "1.1" and message["short_message"] == "hello gelf"
    assert message["level"] == 6
    assert message["_container_id"] == container["Id"]
    assert message["_container_name"] == name
    assert message["_image_name"] == IMAGE
    assert message["_image_id"] == container["Image"]
    assert message["_command"] == "echo hello gelf"
    assert message["_tag"] == container["Id"][:12]
    assert message["_team"] == "core"
    assert cli("rm", name).returncode == 0


def test_fluentd_sends_forward_protocol_events_to_a_tcp_collector(cli, tcp):
    name = "log-fluentd"

    def events(data: bytes) -> list:
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(data)
        return list(unpacker)

    result = cli(
        "run", "--name", name, "--log-driver", "fluentd",
        "--log-opt", f"fluentd-address=127.0.0.1:{tcp.port}", "--log-opt", "tag=docker.{{.Name}}",
        IMAGE, "sh", "-c", "echo one; echo two",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    received = events(tcp.wait(lambda d: len(events(d)) >= 2))
    container = inspect(cli, name)
    assert [e[0] for e in received] == ["docker.log-fluentd"] * 2
    assert [e[2]["log"] for e in received] == ["one", "two"]
    assert received[0][2]["container_id"] == container["Id"]
    assert received[0][2]["container_name"] == "/" + name
    assert received[0][2]["source"] == "stdout"
    assert cli("logs", name).stdout == b"one\ntwo\n"
    assert cli("rm", name).returncode == 0


def test_an_unreachable_fluentd_fails_the_start_unless_async(cli):
    port = free_port()
    result = cli(
        "run", "--rm", "--log-driver", "fluentd",
        "--log-opt", f"fluentd-address=127.0.0.1:{port}", IMAGE, "true",
    )  # fmt: skip
    assert result.returncode != 0
    assert (
        f"failed to initialize logging driver: dial tcp 127.0.0.1:{port}: connect: "
        "connection refused" in err(result)
    )

    tolerant = cli(
        "run", "--rm", "--log-driver", "fluentd", "--log-opt", "fluentd-async=true",
        "--log-opt", f"fluentd-address=127.0.0.1:{port}", IMAGE, "echo", "still runs",
    )  # fmt: skip
    assert tolerant.returncode == 0 and out(tolerant) == "still runs\n"


@pytest.mark.skipif(os.path.exists("/run/systemd/journal/socket"), reason="this host has a journal")
def test_journald_is_refused_where_there_is_no_journal(cli):
    result = cli("run", "--rm", "--log-driver", "journald", IMAGE, "true")

    assert result.returncode != 0
    assert "failed to initialize logging driver: journald is not enabled on this host" in err(
        result
    )


def test_docker_info_lists_the_drivers(cli):
    result = cli("info", "--format", "{{json .}}")
    info = json.loads(result.stdout)

    assert info["LoggingDriver"] == "json-file"
    assert info["Plugins"]["Log"] == ["fluentd", "gelf", "journald", "json-file", "local", "syslog"]


# --- daemon defaults (daemon.json) and restarts, on a daemon of their own ----------------------


@pytest.fixture(scope="module")
def defaults(busybox_tar):
    d = Daemon()
    (d.base / "daemon.json").write_text(
        json.dumps({"log-driver": "local", "log-opts": {"max-file": "7", "cache-disabled": "true"}})
    )
    d.start()
    assert d.cli("import", busybox_tar, IMAGE).returncode == 0
    try:
        yield d
    finally:
        d.cleanup()


def test_daemon_json_sets_the_default_driver_and_options(defaults):
    cli = defaults.cli
    assert out(cli("info", "--format", "{{.LoggingDriver}}")) == "local\n"

    assert cli("run", "--name", "d-default", IMAGE, "echo", "hi").returncode == 0
    assert (
        cli("run", "--name", "d-merged", "--log-opt", "max-size=5m", IMAGE, "true").returncode == 0
    )
    assert (
        cli("run", "--name", "d-other", "--log-driver", "json-file", IMAGE, "true").returncode == 0
    )

    assert inspect(cli, "d-default")["HostConfig"]["LogConfig"] == {
        "Type": "local",
        "Config": {"max-file": "7", "cache-disabled": "true"},
    }
    assert inspect(cli, "d-merged")["HostConfig"]["LogConfig"]["Config"] == {
        "max-size": "5m",
        "max-file": "7",
        "cache-disabled": "true",
    }
    # another driver does not get the daemon's options, only the cache's (dockerd's merge)
    assert inspect(cli, "d-other")["HostConfig"]["LogConfig"] == {
        "Type": "json-file",
        "Config": {"cache-disabled": "true"},
    }
    assert cli("logs", "d-default").stdout == b"hi\n"
    assert cli("rm", "d-default", "d-merged", "d-other").returncode == 0


def test_daemon_json_cache_option_reaches_remote_drivers(defaults, udp):
    cli = defaults.cli
    result = cli(
        "run", "--name", "d-syslog", "--log-driver", "syslog",
        "--log-opt", f"syslog-address=udp://127.0.0.1:{udp.port}", IMAGE, "echo", "x",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    assert "configured logging driver does not support reading" in err(cli("logs", "d-syslog"))
    assert cli("rm", "d-syslog").returncode == 0


def test_rotated_logs_survive_a_daemon_restart_without_loss_or_duplicates(defaults):
    """The daemon stops and starts while the container writes and its log rotates; with live
    restore the container keeps running, and `docker logs` gives every line once, in order."""
    cli = defaults.cli
    name = "d-restart"
    started = cli(
        "run", "-d", "--name", name, "--log-driver", "json-file",
        "--log-opt", "max-size=2k", "--log-opt", "max-file=1000", "--log-opt", "compress=true",
        IMAGE, *counting(1500, pause_us=2000),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + WAIT
    while "line 100\n" not in out(cli("logs", name)):
        assert time.monotonic() < deadline
        time.sleep(0.1)

    defaults.stop()
    time.sleep(0.5)  # the container goes on writing into its pipe meanwhile
    defaults.start()

    assert cli("wait", name, timeout=120).returncode == 0
    logs = cli("logs", name)
    assert logs.returncode == 0
    assert out(logs) == lines(1500)
    assert cli("rm", name).returncode == 0


def test_invalid_log_opts_in_daemon_json_stop_the_daemon(tmp_path):
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps({"log-driver": "json-file", "log-opts": {"bogus": "1"}}))

    result = subprocess.run(
        [str(DOCKERPYD), "--config-file", str(config), "--validate"],
        capture_output=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert b"failed to set log opts: unknown log opt 'bogus' for json-file log driver" in (
        result.stderr
    )
