"""The container commands added after the first set (cp, diff, export, commit, port, update,
stats, attach) against a fake API client, and the start-up rules that keep `ps` fast."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import quote as urllib_quote

import pytest

from cli.actions import attach as attach_act
from cli.actions import changes as changes_act
from cli.actions import copy
from cli.actions import port as port_act
from cli.actions import stats as stats_act
from cli.actions import update as update_act
from cli.api import APIError, CLIError, quote

from .test_actions import FakeAPI, make_env

CID = "16006ff5e541c96af67a3f6acd6ae5b6587bbd4ad026d874617111031d8a3b0c"


def test_diff_prints_kind_and_path() -> None:
    api = FakeAPI(
        {
            ("GET", "/containers/c1/changes"): [
                {"Kind": 0, "Path": "/tmp"},
                {"Kind": 2, "Path": "/x"},
            ]
        }
    )
    env = make_env(api)
    assert changes_act.diff(env, "c1") == 0
    assert env.out.getvalue() == "C /tmp\nD /x\n"


def _with_ports(ports: dict) -> FakeAPI:
    return FakeAPI({("GET", "/containers/c1/json"): {"NetworkSettings": {"Ports": ports}}})


PORTS = {
    "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
    "9/udp": [{"HostIp": "127.0.0.1", "HostPort": "9000"}],
    "443/tcp": None,
}


def test_port_lists_mappings_naturally_sorted() -> None:
    env = make_env(_with_ports(PORTS))
    port_act.port(env, "c1")
    assert env.out.getvalue() == (
        "9/udp -> 127.0.0.1:9000\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"
    )
    env = make_env(_with_ports(PORTS))
    port_act.port(env, "c1", "80")
    assert env.out.getvalue() == "0.0.0.0:8080\n[::]:8080\n"


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("443", "Error: No public port '443' published for c1"),
        ("9", "Error: No public port '9' published for c1"),
        ("x", 'Error: invalid port (x): strconv.ParseUint: parsing "x": invalid syntax'),
        (
            "70000/udp",
            'Error: invalid port (70000): strconv.ParseUint: parsing "70000": value out of range',
        ),
    ],
)
def test_port_errors(arg: str, message: str) -> None:
    with pytest.raises(CLIError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        port_act.port(make_env(_with_ports(PORTS)), "c1", arg)


def test_commit_sends_docker_query_and_prints_id() -> None:
    api = FakeAPI({("POST", "/commit"): {"Id": "sha256:abc"}})
    env = make_env(api)
    opts = changes_act.CommitOptions(
        "c1", "repo/x", "me", "msg", ["ENV A=1", "CMD sh"], pause=False
    )
    assert changes_act.commit(env, opts) == 0
    assert env.out.getvalue() == "sha256:abc\n"
    params = api.calls[0][2]
    assert params["repo"] == "repo/x" and params["tag"] == "latest"
    assert params["changes"] == ["ENV A=1", "CMD sh"] and params["pause"] == "0"
    with pytest.raises(CLIError, match="must be lowercase"):
        changes_act.commit(make_env(api), changes_act.CommitOptions("c1", "Bad:Name"))


def test_update_sends_only_given_flags_then_reports() -> None:
    api = FakeAPI(
        {
            ("POST", "/containers/a/update"): {"Warnings": ["w1"]},
            ("POST", "/containers/b/update"): APIError(404, "No such container: b"),
        }
    )
    env = make_env(api)
    with pytest.raises(CLIError, match=r"^Error response from daemon: No such container: b$"):
        update_act.update(env, ["a", "b"], {"Memory": 64 << 20, "CpuShares": None}, "on-failure:3")
    assert api.calls[0][3] == {
        "Memory": 64 << 20,
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
    }
    assert env.out.getvalue() == "a\nw1\n"
    with pytest.raises(CLIError, match="one or more flags"):
        update_act.update(make_env(api), ["a"], {"Memory": None}, None)
    with pytest.raises(CLIError, match=r"must be an integer$"):
        update_act.update(make_env(api), ["a"], {}, "on-failure:x")


STATS = {
    "name": "/web",
    "id": CID,
    "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
    "memory_stats": {"usage": 3 << 20, "limit": 64 << 20, "stats": {"inactive_file": 1 << 20}},
    "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 20}},
    "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 4096}]},
    "pids_stats": {"current": 3},
}


def test_stats_table_and_docker_arithmetic() -> None:
    api = FakeAPI({("GET", "/containers/web/stats"): STATS})
    env = make_env(api)
    assert stats_act.stats(env, stats_act.StatsOptions(["web"], no_stream=True)) == 0
    assert api.calls[0][2] == {"stream": "0"}
    header, row = env.out.getvalue().splitlines()
    assert (
        header.split()
        == "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS".split()
    )
    assert re.split(r" {3,}", row) == [
        "16006ff5e541",
        "web",
        "40.00%",
        "2MiB / 64MiB",
        "3.12%",
        "1.5kB / 20B",
        "4.1kB / 0B",
        "3",
    ]


def test_stats_failures() -> None:
    api = FakeAPI(
        {
            ("GET", "/containers/json"): [{"Id": CID}],
            ("GET", f"/containers/{CID[:12]}/stats"): APIError(500, "gone"),
            ("GET", "/containers/nope/stats"): APIError(404, "No such container: nope"),
        }
    )
    env = make_env(api)
    stats_act.stats(env, stats_act.StatsOptions(no_stream=True, format="json"))
    assert env.out.getvalue() == (
        '{"BlockIO":"--","CPUPerc":"--","Container":"16006ff5e541","ID":"","MemPerc":"--",'
        '"MemUsage":"-- / --","Name":"--","NetIO":"--","PIDs":"--"}\n'
    )
    env = make_env(api)
    with pytest.raises(CLIError, match=r"^Error response from daemon: No such container: nope$"):
        stats_act.stats(env, stats_act.StatsOptions(["nope"], no_stream=True))
    assert env.out.getvalue() == ""


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"Running": False}, "You cannot attach to a stopped container, start it first"),
        ({"Running": True, "Paused": True}, "You cannot attach to a paused container"),
        ({"Running": True, "Restarting": True}, "You cannot attach to a restarting container"),
    ],
)
def test_attach_refuses_containers_not_running(state: dict, message: str) -> None:
    api = FakeAPI({("GET", "/containers/c1/json"): {"Id": CID, "State": state, "Config": {}}})
    with pytest.raises(CLIError, match=message):
        attach_act.attach(make_env(api), "c1", False, True, "")


@pytest.mark.parametrize(
    ("arg", "split"),
    [
        ("c1:/etc", ("c1", "/etc")),
        ("/abs:x", ("", "/abs:x")),
        ("./file:name", ("", "./file:name")),
        ("plain", ("", "plain")),
        ("-", ("", "-")),
    ],
)
def test_split_cp_arg(arg: str, split: tuple[str, str]) -> None:
    assert copy.split_cp_arg(arg) == split


@pytest.mark.parametrize(
    ("src", "dst", "prepared"),
    [
        (copy._Info("/s/f"), copy._Info("/d", True, True), ("/d", "", "")),
        (copy._Info("/s/f"), copy._Info("/d/g", True), ("/d", "f", "g")),
        (copy._Info("/s/f"), copy._Info("/d/new"), ("/d", "f", "new")),
        (copy._Info("/s/dir", True, True), copy._Info("/d/new"), ("/d", "dir", "new")),
        (copy._Info("/s/l", True, False, "link"), copy._Info("/d/n"), ("/d", "link", "n")),
    ],
)
def test_prepare_archive_copy(src, dst, prepared) -> None:
    assert copy._prepare(src, dst) == prepared


def test_prepare_archive_copy_errors() -> None:
    with pytest.raises(CLIError, match=r"^cannot copy directory$"):
        copy._prepare(copy._Info("/s/d", True, True), copy._Info("/d/f", True, False))
    with pytest.raises(CLIError, match=r"^no such directory$"):
        copy._prepare(copy._Info("/s/f", True), copy._Info("/d/new/"))


def test_tar_of_a_small_file_is_go_sized_and_renamed(tmp_path: Path) -> None:
    """Go's tar writer: one header block, the data padded to a block, two zero blocks (2048
    bytes for a small file: the `2.05kB` docker reports)."""
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "f").write_text("hello\n")
    os.link(tmp_path / "d" / "f", tmp_path / "d" / "sub" / "hard")
    (tmp_path / "d" / "l").symlink_to("f")
    data = b"".join(copy._tar_entries(str(tmp_path / "d"), "f", "g"))
    assert len(data) == 2048
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["g"]
    data = b"".join(copy._tar_entries(str(tmp_path), "d", "new"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["new", "new/f", "new/l", "new/sub", "new/sub/hard"]
    assert members["new/l"].linkname == "f"
    assert members["new/sub/hard"].islnk() and members["new/sub/hard"].linkname == "new/f"


def test_untar_renames_and_keeps_times(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind in (("d", tarfile.DIRTYPE), ("d/a", tarfile.REGTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.mtime, info.mode = kind, 1700000000, 0o640
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    buf.seek(0)
    copy._untar(buf, str(tmp_path), lambda n: copy._rename(n, "d", "e"))
    assert (tmp_path / "e" / "a").stat().st_mtime == 1700000000
    assert oct((tmp_path / "e").stat().st_mode & 0o777) == "0o640"
    buf.seek(0)
    (tmp_path / "x").mkdir()
    with pytest.raises(CLIError, match="cannot overwrite directory"):
        copy._untar(buf, str(tmp_path), lambda n: "x" if n == "d/a" else "y")


def test_cp_argument_errors() -> None:
    env = make_env(FakeAPI())
    for opts, message in (
        (copy.CopyOptions("", "x"), "source can not be empty"),
        (copy.CopyOptions("x", ""), "destination can not be empty"),
        (copy.CopyOptions("a:/x", "b:/y"), "copying between containers is not supported"),
        (copy.CopyOptions("a", "b"), "must specify at least one container source"),
    ):
        with pytest.raises(CLIError, match=f"^{message}$"):
            copy.cp(env, opts)


def test_quote_is_urllib_quote_without_safe_characters() -> None:
    for text in ("a b/c:d", "name=x&y", "ü~_.-", '{"k":{"v":true}}'):
        assert quote(text) == urllib_quote(text, safe="")


# What `dockerpy ps`/`dockerpy version` may not import: each of these costs milliseconds of
# start-up (typing, re and enum together more than a whole `docker ps`).
_SLOW_MODULES = (
    "typing",
    "re",
    "enum",
    "json",
    "collections",
    "contextlib",
    "dataclasses",
    "socket",
    "urllib.parse",
    "datetime",
    "signal",
    "threading",
)

_RUN_ACTION = """
import io, sys
from cli import main
from cli.env import Env

class Api:
    version = "1.51"
    def get(self, path, params=None):
        return ANSWER

main._load_commands(ARGV)
cmd, _, rest = main._command.find(ARGV)
values, pos, _ = main._command.parse_args(cmd, rest)
env = Env(lambda: Api(), out=io.StringIO(), err=io.StringIO(), config_path="/nonexistent")
assert cmd.fn(env, **main._command.bind(cmd, values, pos)) == 0, env.err.getvalue()
print(sorted(m for m in sys.modules if m.startswith("cli.commands.")))
print(sorted(m for m in SLOW if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("argv", "answer", "commands"),
    [
        (["ps", "-a"], [], ["cli.commands._parsers", "cli.commands.container"]),
        (
            ["version"],
            {"Version": "1", "Components": []},
            ["cli.commands._parsers", "cli.commands.system"],
        ),
    ],
)
def test_start_up_path_imports(argv: list[str], answer: object, commands: list[str]) -> None:
    """`dockerpy ps` and `dockerpy version`, from argv to output: one module of declarations,
    and none of the standard library modules that would double the start-up time."""
    code = (
        _RUN_ACTION.replace("ARGV", repr(argv))
        .replace("ANSWER", repr(answer))
        .replace("SLOW", repr(_SLOW_MODULES))
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    ).stdout.splitlines()
    assert out == [repr(commands), "[]"]
