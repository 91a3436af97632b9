"""`docker top`: the host's `ps`, cut down to the rows of one container's processes.

dockerd (daemon/top_unix.go) runs `ps` on the host with the client's arguments split on single
spaces (default `-ef`), first with `-q<pid,pid,…>` appended so ps lists only the container's
processes, and again without it when ps rejects that mix (BSD options such as `f` refuse `q`).
It then keeps the rows whose PID column is one of the task's pids (containerd's ListPids), plus
the thread rows (`-`) that follow a kept row, so `ps -m` shows the container's threads. The last
column takes the rest of each line, so a command line with spaces stays one value.

The parsing and argument checks are pure functions; `run_ps` is the only subprocess call and
`container_top` ties them to a container.

dockerd answers 500 for every failure past the container lookup (its errors carry no kind). We
answer 400 for those the client's `ps_args` caused (ps refusing them, an output without a
usable PID column): a malformed request is the client's error, never the server's. Only ps
failing with the default arguments, or missing, is the host's (500). The messages are dockerd's,
so the CLI shows the same text either way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .. import errdefs

if TYPE_CHECKING:
    from .types import Container

DEFAULT_PS_ARGS = "-ef"

# `-o comm=PID` would title another column "PID" and make the filter keep the wrong rows:
# dockerd refuses any `key=PID…` but `pid=PID…` (validatePSArgs).
_RENAMED_PID = re.compile(r"\s+(\S*)=\s*(PID\S*)")
# strings.Fields over ASCII whitespace only, as dockerd's fieldsASCII: a non-breaking space in a
# command line must not split it.
_ASCII_SPACE = re.compile(r"[\t\n\f\r ]+")


class _PidSource(Protocol):
    async def pids(self, container_id: str) -> list[int]: ...


class TopBackend(Protocol):
    """What `container_top` needs from the container service."""

    @property
    def runtime(self) -> _PidSource: ...

    def get(self, ref: str) -> Container: ...

    def log_event(self, c: Container, action: str) -> None: ...


@dataclass(slots=True)
class Top:
    """ps's column titles and, per kept process, one value per title."""

    titles: list[str]
    processes: list[list[str]] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        # dockerd's Processes is a nil slice when no row matched: JSON null.
        return {"Processes": self.processes or None, "Titles": self.titles}


def validate_ps_args(ps_args: str) -> None:
    """Refuse a column renamed to PID, as dockerd's validatePSArgs (400, see the module doc)."""
    for key, value in _RENAMED_PID.findall(ps_args):
        if key != "pid":
            raise errdefs.InvalidParameter(f'specifying "{key}={value}" is not allowed')


def ps_argvs(ps_args: str, pids: Sequence[int]) -> tuple[list[str], list[str]]:
    """(argv with `-q<pids>`, argv without): dockerd splits on single spaces, keeping empties."""
    args = ps_args.split(" ")
    quick = "-q" + ",".join(str(p) for p in pids)
    return ["ps", *args, quick], ["ps", *args]


def _fields(line: str) -> list[str]:
    return [f for f in _ASCII_SPACE.split(line) if f]


def parse_ps_output(output: str, pids: Collection[int]) -> Top:
    """Keep the rows of `pids` (and the thread rows after them); errors as dockerd words them,
    and the client's (400): only its ps_args can make the PID column missing or misaligned."""
    lines = output.split("\n")
    titles = _fields(lines[0])
    if "PID" not in titles:
        raise errdefs.InvalidParameter("Couldn't find PID field in ps output")
    pid_index = titles.index("PID")
    top = Top(titles=titles)
    previous_kept = False
    for line in lines[1:]:
        if not line:
            continue
        fields = _fields(line)
        if len(fields) <= pid_index:
            raise errdefs.InvalidParameter(f"Unexpected ps line without a PID column: {line!r}")
        value = fields[pid_index]
        if value == "-":  # a thread of the process above (ps -m / -L)
            if previous_kept:
                top.processes.append(_row(fields, len(titles)))
            continue
        try:
            pid = int(value)
        except ValueError:
            raise errdefs.InvalidParameter(
                f"Unexpected pid '{value}': strconv.Atoi: parsing \"{value}\": invalid syntax"
            ) from None
        previous_kept = pid in pids
        if previous_kept:
            top.processes.append(_row(fields, len(titles)))
    return top


def _row(fields: list[str], width: int) -> list[str]:
    """Exactly `width` values: the overhanging fields are joined into the last one."""
    if len(fields) < width:
        return fields
    return [*fields[: width - 1], " ".join(fields[width - 1 :])]


def ps_error(stderr: bytes, returncode: int) -> str:
    """dockerd's message for a failed ps: `ps: ` + the first line of its stderr."""
    first = stderr.split(b"\n", 1)[0].decode(errors="replace")
    return "ps: " + (first or f"exit status {returncode}")


async def run_ps(argv: Iterable[str]) -> tuple[int, bytes, bytes]:
    """Run ps; (exit code, stdout, stderr). A missing ps binary is the host's failure (500)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise errdefs.System(f"ps: {exc.strerror or exc}") from None
    stdout, stderr = await proc.communicate()
    return proc.returncode or 0, stdout, stderr


async def container_top(svc: TopBackend, ref: str, ps_args: str = "") -> Top:
    """GET /containers/{id}/top: 404 unknown, 409 not running or restarting; ps failing is 400
    with the client's ps_args and 500 with the default ones."""
    client_args = bool(ps_args)
    ps_args = ps_args or DEFAULT_PS_ARGS
    validate_ps_args(ps_args)
    c = svc.get(ref)
    if c.state.status not in ("running", "paused", "restarting"):
        raise errdefs.Conflict(f"Container {c.id} is not running")
    if c.state.status == "restarting":
        raise errdefs.Conflict(
            f"Container {c.id} is restarting, wait until the container is running"
        )
    try:
        pids = await svc.runtime.pids(c.id)
    except errdefs.NotFound:
        raise errdefs.Conflict(f"Container {c.id} is not running") from None
    with_pids, without = ps_argvs(ps_args, pids)
    code, out, err = await run_ps(with_pids)
    if code != 0:
        code, out, err = await run_ps(without)
        if code != 0:
            kind = errdefs.InvalidParameter if client_args else errdefs.System
            raise kind(ps_error(err, code))
    top = parse_ps_output(out.decode(errors="replace"), set(pids))
    svc.log_event(c, "top")
    return top
