"""containers/top.py: ps argument checks, ps output parsing and the top flow on fakes."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers import top
from dockerpy_engine.containers.types import Container, State

EF = """\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         729     709  0 21:43 ?        00:00:00 sleep 1000
root         780     709  0 21:43 ?        00:00:00 sh -c sleep 1000 & sleep 1000
root         792     780  0 21:43 pts/0    00:00:00 sleep   1000
"""


def test_parse_keeps_container_rows_and_joins_the_command():
    result = top.parse_ps_output(EF, {729, 780, 792})
    assert result.titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert result.processes == [
        ["root", "729", "709", "0", "21:43", "?", "00:00:00", "sleep 1000"],
        ["root", "780", "709", "0", "21:43", "?", "00:00:00", "sh -c sleep 1000 & sleep 1000"],
        # runs of spaces inside the command collapse, as strings.Fields + Join in dockerd
        ["root", "792", "780", "0", "21:43", "pts/0", "00:00:00", "sleep 1000"],
    ]
    assert result.to_api() == {"Processes": result.processes, "Titles": result.titles}


def test_parse_bsd_columns_with_percent_titles():
    output = (
        "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
        "root       16478  0.3  0.0   2268  1380 ?        Ss   Nov27   0:00 sleep 1000\n"
        "daemon       999  0.0  0.0   2268  1380 ?        S    21:37   0:00 other\n"
    )
    result = top.parse_ps_output(output, [16478])
    assert result.titles[2:4] == ["%CPU", "%MEM"]
    assert result.processes == [
        ["root", "16478", "0.3", "0.0", "2268", "1380", "?", "Ss", "Nov27", "0:00", "sleep 1000"]
    ]


def test_parse_pid_not_first_and_forest_art_in_the_last_column():
    output = (
        "  PID TTY      STAT   TIME COMMAND\n"
        "  729 ?        Ss     0:00 | | \\_ sleep 1000\n"
        "  800 ?        Ss     0:00 \\_ not ours\n"
    )
    result = top.parse_ps_output(output, [729])
    assert result.processes == [["729", "?", "Ss", "0:00", "| | \\_ sleep 1000"]]


def test_parse_thread_rows_follow_only_a_kept_process():
    output = "PID COMMAND\n729 sleep\n-   -\n800 other\n-   -\n"
    result = top.parse_ps_output(output, [729])
    assert result.processes == [["729", "sleep"], ["-", "-"]]


def test_parse_only_ascii_whitespace_splits_fields():
    output = "PID CMD\n5 echo a\u00a0b\n"
    assert top.parse_ps_output(output, [5]).processes == [["5", "echo a\u00a0b"]]


def test_parse_no_matching_rows_is_null_processes():
    result = top.parse_ps_output("PID CMD\n1 init\n", [2])
    assert result.to_api() == {"Processes": None, "Titles": ["PID", "CMD"]}


def test_parse_without_a_pid_column():
    with pytest.raises(errdefs.InvalidParameter, match=r"^Couldn't find PID field in ps output$"):
        top.parse_ps_output("COMMAND\nsleep\n", [1])


def test_parse_bad_pid_value():
    with pytest.raises(errdefs.InvalidParameter, match=r"^Unexpected pid 'abc': strconv.Atoi"):
        top.parse_ps_output("PID CMD\nabc x\n", [1])


def test_parse_short_line():
    with pytest.raises(errdefs.InvalidParameter):
        top.parse_ps_output("CMD PID\nonly\n", [1])


@pytest.mark.parametrize("args", ["-ef", "aux", "-o pid,comm", "-o pid=PID,comm", "-eo pid"])
def test_validate_accepts(args):
    top.validate_ps_args(args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("-o pid -o comm=PID", 'specifying "comm=PID" is not allowed'),
        ("-o pid,comm= PIDX", 'specifying "pid,comm=PIDX" is not allowed'),
    ],
)
def test_validate_refuses_a_column_renamed_pid(args, message):
    with pytest.raises(errdefs.InvalidParameter) as info:
        top.validate_ps_args(args)
    assert info.value.message == message


def test_ps_argvs_split_on_single_spaces_and_add_quick_pids():
    quick, plain = top.ps_argvs("-o  pid", [12, 34])
    assert quick == ["ps", "-o", "", "pid", "-q12,34"]
    assert plain == ["ps", "-o", "", "pid"]
    assert top.ps_argvs("-ef", [])[0] == ["ps", "-ef", "-q"]


def test_ps_error_is_the_first_stderr_line():
    assert top.ps_error(b"error: unsupported SysV option\n\nUsage:\n", 1) == (
        "ps: error: unsupported SysV option"
    )
    assert top.ps_error(b"", 2) == "ps: exit status 2"


async def test_run_ps_runs_a_command():
    code, out, err = await top.run_ps([sys.executable, "-c", "print('hi')"])
    assert (code, out, err) == (0, b"hi\n", b"")


async def test_run_ps_without_the_binary():
    with pytest.raises(errdefs.System, match=r"^ps: "):
        await top.run_ps(["/nonexistent/ps"])


# ------------------------------------------------------------------------ container_top


class FakeRuntime:
    def __init__(self, pids: list[int] | None = None) -> None:
        self._pids = pids

    async def pids(self, container_id: str) -> list[int]:
        if self._pids is None:
            raise errdefs.NotFound(f"task {container_id} not found")
        return self._pids


@dataclass
class FakeService:
    container: Container
    runtime: FakeRuntime
    events: list[tuple[str, str]] = field(default_factory=list)

    def get(self, ref: str) -> Container:
        if ref not in (self.container.id, self.container.name.lstrip("/")):
            raise errdefs.NoSuchContainer(ref)
        return self.container

    def log_event(self, c: Container, action: str) -> None:
        self.events.append((c.id, action))


def _container(status: str = "running") -> Container:
    return Container(
        id="c" * 64,
        name="/web",
        created="",
        image_id="sha256:" + "0" * 64,
        path="sleep",
        args=["1000"],
        config={},
        host_config={},
        state=State(status=status, pid=729 if status != "exited" else 0),
    )


@pytest.fixture
def ps_calls(monkeypatch):
    """Replace the subprocess: each call pops the next (code, stdout, stderr)."""
    calls: list[list[str]] = []
    replies: list[tuple[int, bytes, bytes]] = []

    async def fake_run_ps(argv):
        calls.append(list(argv))
        return replies.pop(0)

    monkeypatch.setattr(top, "run_ps", fake_run_ps)
    return calls, replies


async def test_container_top_default_args(ps_calls):
    calls, replies = ps_calls
    replies.append((0, EF.encode(), b""))
    svc = FakeService(_container(), FakeRuntime([729]))
    result = await top.container_top(svc, "web", "")
    assert calls == [["ps", "-ef", "-q729"]]
    assert [p[1] for p in result.processes] == ["729"]
    assert svc.events == [("c" * 64, "top")]


async def test_container_top_retries_without_quick_pids(ps_calls):
    calls, replies = ps_calls
    replies += [(1, b"", b"error: conflicting format options\n"), (0, EF.encode(), b"")]
    svc = FakeService(_container(), FakeRuntime([780, 792]))
    result = await top.container_top(svc, "web", "axf")
    assert calls == [["ps", "axf", "-q780,792"], ["ps", "axf"]]
    assert [p[1] for p in result.processes] == ["780", "792"]


async def test_container_top_ps_failure_is_dockerds_message(ps_calls):
    """The client's ps_args refused is the client's error (400); the default ones, the host's."""
    _, replies = ps_calls
    refused = (1, b"", b"error: unsupported SysV option\nUsage\n")
    svc = FakeService(_container(), FakeRuntime([729]))
    for ps_args, kind in (("-zzz", errdefs.InvalidParameter), ("", errdefs.System)):
        replies += [(1, b"", b"x\n"), refused]
        with pytest.raises(errdefs.EngineError) as info:
            await top.container_top(svc, "web", ps_args)
        assert type(info.value) is kind
        assert info.value.message == "ps: error: unsupported SysV option"
    assert svc.events == []


@pytest.mark.parametrize("status", ["created", "exited"])
async def test_container_top_not_running(status):
    svc = FakeService(_container(status), FakeRuntime([]))
    with pytest.raises(errdefs.Conflict) as info:
        await top.container_top(svc, "web")
    assert info.value.message == f"Container {'c' * 64} is not running"


async def test_container_top_restarting():
    svc = FakeService(_container("restarting"), FakeRuntime([]))
    with pytest.raises(errdefs.Conflict, match="is restarting, wait until the container"):
        await top.container_top(svc, "web")


async def test_container_top_task_gone_is_not_running():
    svc = FakeService(_container(), FakeRuntime(None))
    with pytest.raises(errdefs.Conflict, match="is not running"):
        await top.container_top(svc, "web")


async def test_container_top_unknown_container():
    svc = FakeService(_container(), FakeRuntime([]))
    with pytest.raises(errdefs.NoSuchContainer):
        await top.container_top(svc, "nope")


async def test_container_top_checks_args_first():
    svc = FakeService(_container("exited"), FakeRuntime([]))
    with pytest.raises(errdefs.InvalidParameter, match="is not allowed"):
        await top.container_top(svc, "web", "-o pid -o comm=PID")
