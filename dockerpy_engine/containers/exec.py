"""Processes started inside running containers (`docker exec`): create, start, inspect, resize.

Exec records live in memory, as dockerd's: they belong to the running task and mean nothing
after the daemon restarts. An attached exec's output goes only to its client (never to the
container's log); a detached one's output is discarded by the shim.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errdefs
from ..runtime import ContainerdRuntime, create_fifos, open_output, open_stdin, remove_fifos
from ..runtime.types import TaskIO
from .detach import parse_detach_keys
from .service import ContainerService
from .spec import probe_host
from .types import Container
from .users import UserLookupError


@dataclass(frozen=True, slots=True)
class ExecOptions:
    """POST /containers/{id}/exec: the client's ExecConfig."""

    cmd: list[str]
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    tty: bool = False
    env: list[str] = field(default_factory=list)
    user: str = ""
    working_dir: str = ""
    privileged: bool = False
    detach_keys: str = ""


@dataclass(slots=True)
class Exec:
    id: str
    container: Container
    opts: ExecOptions
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    started: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def to_api(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "Running": self.running,
            "ExitCode": self.exit_code,
            "ProcessConfig": {
                "tty": self.opts.tty,
                "entrypoint": self.opts.cmd[0],
                "arguments": self.opts.cmd[1:],
                "privileged": self.opts.privileged,
                "user": self.opts.user,
            },
            "OpenStdin": self.opts.attach_stdin,
            "OpenStderr": self.opts.attach_stderr,
            "OpenStdout": self.opts.attach_stdout,
            "CanRemove": False,
            "ContainerID": self.container.id,
            "DetachKeys": self.opts.detach_keys,
            "Pid": self.pid,
        }


@dataclass(slots=True)
class ExecStreams:
    """What an attached exec start hands its router: output to copy out, stdin to feed."""

    outputs: list[tuple[int, Any]]  # (stream id, FifoReader)
    stdin: Any | None
    finished: asyncio.Future[int]


def exit_code_for(message: str) -> int:
    """dockerd's exec exit codes for a process that could not start."""
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 126


class ExecService:
    def __init__(
        self, containers: ContainerService, runtime: ContainerdRuntime, exec_root: Path
    ) -> None:
        self._containers = containers
        self._runtime = runtime
        self._fifo_root = exec_root / "containers"
        self._execs: dict[str, Exec] = {}

    def get(self, exec_id: str) -> Exec:
        found = self._execs.get(exec_id)
        if found is None:
            raise errdefs.NotFound(f"No such exec instance: {exec_id}")
        return found

    def ids_of(self, container_id: str) -> list[str]:
        return [e.id for e in self._execs.values() if e.container.id == container_id]

    async def create(self, ref: str, opts: ExecOptions) -> str:
        if not opts.cmd:
            raise errdefs.InvalidParameter("No exec command specified")
        try:
            container, _ = await self._containers.exec_process(ref, opts.user)
        except UserLookupError as exc:
            # A container's own User failing at start is its configuration's fault (500, as
            # dockerd); an exec's User is this request's, so an unknown one is the client's.
            raise errdefs.InvalidParameter(exc.message) from None
        if opts.detach_keys:
            try:
                parse_detach_keys(opts.detach_keys)
            except errdefs.InvalidParameter:
                raise errdefs.InvalidParameter(
                    f"Invalid escape keys ({opts.detach_keys}) provided"
                ) from None
        self._prune()
        exec_id = secrets.token_hex(32)
        self._execs[exec_id] = Exec(exec_id, container, opts)
        self._containers.log_event(container, f"exec_create: {' '.join(opts.cmd)}", execID=exec_id)
        return exec_id

    async def start(
        self, exec_id: str, detach: bool, console_size: tuple[int, int] | None = None
    ) -> ExecStreams | None:
        """Start the process; for an attached exec, return its streams (the caller copies them
        and awaits `finished`). Start errors are raised before anything runs. `console_size`
        (rows, columns): a TTY's first size, as dockerd puts ConsoleSize in the process spec."""
        ex = self.get(exec_id)
        if ex.started:
            raise errdefs.Conflict(f"Error: Exec command {exec_id} has already run")
        ex.started = True
        container, process = await self._containers.exec_process(ex.container.id, ex.opts.user)
        process = self._process(ex, container, process, console_size)
        attach = not detach
        if attach:
            paths = create_fifos(
                self._fifo_root / container.id,
                stdin=ex.opts.attach_stdin,
                terminal=ex.opts.tty,
                name=exec_id,
            )
        else:  # the shim sends a detached exec's output nowhere
            paths = TaskIO(terminal=ex.opts.tty)
        stdin = open_stdin(paths.stdin) if paths.stdin else None
        outputs = []
        for stream_id, path in ((1, paths.stdout), (2, paths.stderr)):
            if path:
                outputs.append((stream_id, await open_output(path)))
        try:
            await self._runtime.exec(container.id, exec_id, process, paths)
            exit_wait = asyncio.ensure_future(self._runtime.wait_exec(container.id, exec_id))
            ex.pid = await self._runtime.start_exec(container.id, exec_id)
        except errdefs.EngineError as exc:
            ex.exit_code = exit_code_for(exc.message)
            ex.done.set()
            for _, reader in outputs:
                reader.close()
            if stdin is not None:
                stdin.close()
            with contextlib.suppress(errdefs.EngineError):
                await self._runtime.delete_exec(container.id, exec_id)
            remove_fifos(paths)
            raise
        finally:
            for _, reader in outputs:
                reader.release()
        ex.running = True
        self._containers.log_event(
            container, f"exec_start: {' '.join(ex.opts.cmd)}", execID=exec_id
        )
        finished = asyncio.ensure_future(self._finish(ex, exit_wait, paths))
        return ExecStreams(outputs, stdin, finished) if attach else None

    async def _finish(self, ex: Exec, exit_wait: asyncio.Future, paths: TaskIO) -> int:
        try:
            status = await exit_wait
            code = status.code
        except errdefs.EngineError:
            code = 137
        ex.running = False
        ex.exit_code = code
        with contextlib.suppress(errdefs.EngineError):
            await self._runtime.delete_exec(ex.container.id, ex.id)
        await asyncio.to_thread(remove_fifos, paths)
        self._containers.log_event(ex.container, "exec_die", execID=ex.id, exitCode=str(code))
        ex.done.set()
        return code

    def _process(
        self,
        ex: Exec,
        container: Container,
        base: dict[str, Any],
        console_size: tuple[int, int] | None,
    ) -> dict[str, Any]:
        process = dict(base)
        process["args"] = list(ex.opts.cmd)
        process["terminal"] = ex.opts.tty
        env = [e for e in base.get("env", []) if not (ex.opts.tty and e.startswith("TERM="))]
        if ex.opts.tty:
            env.append("TERM=xterm")
        process["env"] = env + list(ex.opts.env)
        if ex.opts.working_dir:
            process["cwd"] = ex.opts.working_dir
        if ex.opts.privileged:
            caps = list(probe_host().bounding_caps)
            process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
        process.pop("consoleSize", None)  # the container's first size is not the exec's
        if ex.opts.tty and console_size:
            process["consoleSize"] = {"height": console_size[0], "width": console_size[1]}
        return process

    async def resize(self, exec_id: str, height: int, width: int) -> None:
        ex = self.get(exec_id)
        if not ex.running:
            raise errdefs.Conflict(f"Exec {exec_id} is not running")
        await self._runtime.resize(ex.container.id, width, height, exec_id=exec_id)

    async def close_stdin(self, ex: Exec) -> None:
        with contextlib.suppress(errdefs.EngineError):
            await self._runtime.close_stdin(ex.container.id, ex.id)

    def _prune(self) -> None:
        """Drop the records of execs whose container stopped: they can no longer be used."""
        for exec_id, ex in list(self._execs.items()):
            if ex.container.state.status != "running" and not ex.running:
                del self._execs[exec_id]
