"""Plain-Python values crossing the runtime boundary: no protobuf object leaves runtime/."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Mount:
    """One rootfs mount handed to containerd (Tasks.Create rootfs)."""

    type: str
    source: str
    options: tuple[str, ...] = ()
    target: str = ""


@dataclass(frozen=True, slots=True)
class TaskIO:
    """FIFO paths for a process; an empty string means the stream is not wanted."""

    stdin: str = ""
    stdout: str = ""
    stderr: str = ""
    terminal: bool = False


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How a process ended: its code and when containerd saw it end."""

    code: int
    exited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as containerd reports it (Tasks.Get / Tasks.List)."""

    id: str
    pid: int
    status: str  # created | running | stopped | paused | pausing | unknown
    exit_status: int = 0
    exited_at: datetime | None = None
    io: TaskIO = field(default_factory=TaskIO)
