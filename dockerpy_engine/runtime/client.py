"""ContainerdRuntime: the daemon's one gRPC client of containerd (tasks, containers, events).

Everything crossing this class is plain Python (dicts, str, int, runtime.types); protobuf and
grpc stay inside, and gRPC failures leave as errdefs kinds (see _errors.py). One long-lived
grpc.aio channel carries every call; each call sends the `containerd-namespace` header.

The call sequences follow what is known to work with containerd 1.6 (the containerd notes):
Wait before Start so no exit is missed, Kill -> Wait -> Tasks.Delete -> Containers.Delete to
tear down, and process specs as OCI JSON inside an Any.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
import grpc.aio
import orjson
from google.protobuf import any_pb2, descriptor_pool, empty_pb2, json_format, message_factory
from google.protobuf.message import Message

from dockerpy_engine import errdefs

from . import shims
from ._errors import grpc_errors, translate

# Imported for their side effect: they register the event and cgroup metrics messages in the
# default descriptor pool, which is how decode_any() finds the type named by an Any.
from ._pb.cgroups.v1 import metrics_pb2 as _cgroups_v1  # noqa: F401
from ._pb.cgroups.v2 import metrics_pb2 as _cgroups_v2  # noqa: F401
from ._pb.containerd.events import (  # noqa: F401
    container_pb2,
    content_pb2,
    image_pb2,
    namespace_pb2,
    snapshot_pb2,
    task_pb2,
)
from ._pb.containerd.services.containers.v1 import containers_pb2, containers_pb2_grpc
from ._pb.containerd.services.events.v1 import events_pb2, events_pb2_grpc
from ._pb.containerd.services.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from ._pb.containerd.services.version.v1 import version_pb2_grpc
from ._pb.containerd.types import mount_pb2
from ._pb.containerd.types.task import task_pb2 as process_pb2
from .types import ExitStatus, Mount, TaskInfo, TaskIO

log = logging.getLogger(__name__)

RUNC_V2 = "io.containerd.runc.v2"
_OCI = "types.containerd.io/opencontainers/runtime-spec/1/"
SPEC_URL = _OCI + "Spec"
PROCESS_URL = _OCI + "Process"
RESOURCES_URL = _OCI + "LinuxResources"
SIGKILL = 9

_MiB = 1 << 20
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    # containerd's own limits; image configs and metrics can exceed grpc's 4 MiB default.
    ("grpc.max_receive_message_length", 16 * _MiB),
    ("grpc.max_send_message_length", 16 * _MiB),
    # A unix socket never goes through an HTTP proxy, whatever the environment says.
    ("grpc.enable_http_proxy", 0),
    # Reconnect fast: the default back-off (1 s, growing to 120 s) would stall start-up and
    # recovery after a containerd restart, and a local socket costs nothing to retry.
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 1000),
)

_STATUS = {v.number: v.name.lower() for v in process_pb2.Status.DESCRIPTOR.values}
_POOL = descriptor_pool.Default()


def _when(ts: Any) -> datetime | None:
    """A protobuf Timestamp as an aware datetime; containerd's zero time means None."""
    if ts.seconds <= 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=UTC)


def _oci_any(type_url: str, value: dict[str, Any]) -> any_pb2.Any:
    return any_pb2.Any(type_url=type_url, value=orjson.dumps(value))


def _task_info(p: Any) -> TaskInfo:
    io = TaskIO(stdin=p.stdin, stdout=p.stdout, stderr=p.stderr, terminal=p.terminal)
    return TaskInfo(
        id=p.container_id or p.id,
        pid=p.pid,
        status=_STATUS.get(p.status, "unknown"),
        exit_status=p.exit_status,
        exited_at=_when(p.exited_at),
        io=io,
    )


def _to_dict(msg: Message) -> dict[str, Any]:
    return json_format.MessageToDict(
        msg,
        always_print_fields_with_no_presence=True,
        preserving_proto_field_name=True,
        unquote_int64_if_possible=True,
    )


def decode_any(type_url: str, value: bytes) -> dict[str, Any]:
    """Decode a containerd Any (event, metrics) through the descriptor pool into a dict.

    Fields use proto names (container_id), defaults are included, 64-bit ints stay ints,
    timestamps are RFC 3339 strings. An unknown type gives an empty dict.
    """
    try:
        desc = _POOL.FindMessageTypeByName(type_url.rsplit("/", 1)[-1])
    except KeyError:
        return {}
    msg = message_factory.GetMessageClass(desc)()
    msg.ParseFromString(value)
    return _to_dict(msg)


def _quote(value: str) -> str:
    """Quote a value for a containerd filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _NotConnected:
    """Stands in for the stubs before connect() and after close()."""

    def __getattr__(self, name: str) -> Any:
        raise errdefs.Unavailable("containerd client is not connected")


_NO_STUB: Any = _NotConnected()


class ContainerdRuntime:
    """Async client of one containerd namespace over one grpc.aio channel.

    Use `await connect()` (or `async with`) before calling anything; `close()` at shutdown.
    Errors are errdefs kinds: NotFound when the container/task/process is unknown, Conflict
    on a state clash, Unavailable when containerd does not answer, System otherwise (with
    containerd's message, e.g. runc's "executable file not found").
    """

    def __init__(self, address: str, namespace: str = "dockerpy") -> None:
        self.address = address.removeprefix("unix://")
        self.namespace = namespace
        self._md = (("containerd-namespace", namespace),)
        self._channel: grpc.aio.Channel | None = None
        self._containers = self._tasks = self._events = self._version = _NO_STUB

    # -- lifecycle -----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the channel (no I/O yet: gRPC connects on the first call)."""
        if self._channel is not None:
            return
        self._channel = grpc.aio.insecure_channel(f"unix://{self.address}", options=CHANNEL_OPTIONS)
        self._containers = containers_pb2_grpc.ContainersStub(self._channel)
        self._tasks = tasks_pb2_grpc.TasksStub(self._channel)
        self._events = events_pb2_grpc.EventsStub(self._channel)
        self._version = version_pb2_grpc.VersionStub(self._channel)

    async def close(self) -> None:
        """Close the channel; in-flight calls (Wait, Subscribe) end with CancelledError."""
        if self._channel is not None:
            channel, self._channel = self._channel, None
            self._containers = self._tasks = self._events = self._version = _NO_STUB
            await channel.close()

    async def __aenter__(self) -> ContainerdRuntime:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self, timeout: float | None = None) -> str:
        """containerd's version string (e.g. "1.6.20~ds1")."""
        with grpc_errors():
            resp = await self._version.Version(empty_pb2.Empty(), timeout=timeout)
        return resp.version

    async def wait_ready(self, timeout: float = 10.0) -> str:
        """Poll Version until containerd answers; Unavailable after `timeout` seconds."""
        await self.connect()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                return await self.version(timeout=max(min(left, 1.0), 0.05))
            except errdefs.Unavailable:
                if left <= 0:
                    raise errdefs.Unavailable(
                        f"containerd at {self.address} did not answer within {timeout:g}s"
                    ) from None
                await asyncio.sleep(0.02)

    # -- containers and their init process ----------------------------------------------------

    async def create(
        self,
        container_id: str,
        spec: dict[str, Any],
        rootfs: Sequence[Mount],
        io: TaskIO,
        labels: dict[str, str] | None = None,
    ) -> int:
        """Create the container record and its task (not started); return the init pid.

        Readers of io.stdout/io.stderr must be open already (io.FifoReader). A stale record or
        task of the same id (left by a crash) is deleted, then creation is retried once. If the
        task cannot be created the record is removed again: nothing is left half-done.

        Cancelling is safe too: containerd finishes a Tasks.Create it has received whatever
        the client does, so the calls run in a shielded inner task, and a cancelled create
        waits for it and then deletes what it made before raising CancelledError.
        """
        container = containers_pb2.Container(
            id=container_id,
            labels=labels or {},
            runtime=containers_pb2.Container.Runtime(name=RUNC_V2),
            spec=_oci_any(SPEC_URL, spec),
        )
        task = tasks_pb2.CreateTaskRequest(
            container_id=container_id,
            rootfs=[
                mount_pb2.Mount(type=m.type, source=m.source, target=m.target, options=m.options)
                for m in rootfs
            ],
            stdin=io.stdin,
            stdout=io.stdout,
            stderr=io.stderr,
            terminal=io.terminal,
        )
        inner = asyncio.ensure_future(
            self._create(containers_pb2.CreateContainerRequest(container=container), task)
        )
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            await asyncio.shield(self._undo_create(inner, container_id))
            raise

    async def _create(
        self, container: containers_pb2.CreateContainerRequest, task: tasks_pb2.CreateTaskRequest
    ) -> int:
        for retry in (True, False):
            try:
                await self._containers.Create(container, metadata=self._md)
                try:
                    return (await self._tasks.Create(task, metadata=self._md)).pid
                except BaseException:
                    await self._discard(task.container_id)
                    raise
            except grpc.aio.AioRpcError as exc:
                if not retry or exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise translate(exc) from exc
                log.warning("removing stale container %s before creating it", task.container_id)
                await self._discard(task.container_id)
        raise AssertionError("unreachable")

    async def _undo_create(self, inner: asyncio.Future[int], container_id: str) -> None:
        with contextlib.suppress(BaseException):
            await inner
        await self._discard(container_id)

    async def _discard(self, container_id: str) -> None:
        with contextlib.suppress(errdefs.EngineError):  # the original error is the one to report
            await self.delete(container_id)

    async def start(self, container_id: str) -> int:
        """Start the init process; return its pid. Call wait() first so no exit is missed."""
        return await self.start_exec(container_id, "")

    async def wait(self, container_id: str) -> ExitStatus:
        """Block until the init process exits (returns at once if it already has)."""
        return await self.wait_exec(container_id, "")

    async def kill(
        self, container_id: str, signal: int, all: bool = False, exec_id: str = ""
    ) -> None:
        """Signal the init process, or the exec `exec_id` (`all`: every process in the container).

        NotFound when the task (or its process) is gone, including after it exited.
        """
        req = tasks_pb2.KillRequest(
            container_id=container_id, exec_id=exec_id, signal=signal, all=all
        )
        with grpc_errors():
            await self._tasks.Kill(req, metadata=self._md)

    async def delete(self, container_id: str) -> ExitStatus | None:
        """Remove the task (killing it first if it runs) and the container record.

        Idempotent: whatever is already gone is skipped, so it also serves recovery. Returns
        the task's exit status, or None when there was no task.
        """
        status = None
        info = await self.get(container_id)
        if info is not None:
            if info.status in ("running", "paused", "pausing"):
                await self._kill_and_wait(container_id, info.status)
            status = await self._delete_task(container_id)
        try:
            with grpc_errors():
                await self._containers.Delete(
                    containers_pb2.DeleteContainerRequest(id=container_id), metadata=self._md
                )
        except errdefs.NotFound:
            pass
        return status

    async def _kill_and_wait(self, container_id: str, state: str) -> None:
        try:
            await self.kill(container_id, SIGKILL, all=True)
            if state != "running":
                await self.resume(container_id)  # a frozen cgroup holds the SIGKILL
        except (errdefs.NotFound, errdefs.Conflict):
            pass  # exited meanwhile, or was not paused after all
        await self.wait(container_id)

    async def _delete_task(self, container_id: str) -> ExitStatus | None:
        try:
            with grpc_errors():
                resp = await self._tasks.Delete(
                    tasks_pb2.DeleteTaskRequest(container_id=container_id), metadata=self._md
                )
        except errdefs.NotFound:
            return None
        return ExitStatus(code=resp.exit_status, exited_at=_when(resp.exited_at))

    async def get(self, container_id: str) -> TaskInfo | None:
        """The task of a container, or None when it has no task (or no container)."""
        req = tasks_pb2.GetRequest(container_id=container_id)
        try:
            with grpc_errors():
                resp = await self._tasks.Get(req, metadata=self._md)
        except errdefs.NotFound:
            return None
        return _task_info(resp.process)

    async def reap_orphan_shims(self, tasks: Iterable[str]) -> list[str]:
        """Reap the shims of this namespace no task of `tasks` owns (shims.py): what a
        daemon killed inside Tasks.Create leaves. Call at start, before any create."""
        return await asyncio.to_thread(shims.reap_orphans, self.address, self.namespace, tasks)

    async def list_tasks(self) -> list[TaskInfo]:
        """Every task of the namespace (what survived a daemon restart, for instance)."""
        with grpc_errors():
            resp = await self._tasks.List(tasks_pb2.ListTasksRequest(), metadata=self._md)
        return [_task_info(t) for t in resp.tasks]

    async def close_stdin(self, container_id: str, exec_id: str = "") -> None:
        """CloseIO: drop the shim's own write end of the stdin FIFO.

        The process reads EOF once this is done and our FifoWriter is closed too.
        """
        req = tasks_pb2.CloseIORequest(container_id=container_id, exec_id=exec_id, stdin=True)
        with grpc_errors():
            await self._tasks.CloseIO(req, metadata=self._md)

    async def resize(self, container_id: str, width: int, height: int, exec_id: str = "") -> None:
        """Resize the process's pty (terminal processes only)."""
        req = tasks_pb2.ResizePtyRequest(
            container_id=container_id, exec_id=exec_id, width=width, height=height
        )
        with grpc_errors():
            await self._tasks.ResizePty(req, metadata=self._md)

    async def pause(self, container_id: str) -> None:
        """Freeze every process of the container."""
        with grpc_errors():
            await self._tasks.Pause(
                tasks_pb2.PauseTaskRequest(container_id=container_id), metadata=self._md
            )

    async def resume(self, container_id: str) -> None:
        """Thaw a paused container."""
        with grpc_errors():
            await self._tasks.Resume(
                tasks_pb2.ResumeTaskRequest(container_id=container_id), metadata=self._md
            )

    async def pids(self, container_id: str) -> list[int]:
        """Host pids of every process in the container."""
        with grpc_errors():
            resp = await self._tasks.ListPids(
                tasks_pb2.ListPidsRequest(container_id=container_id), metadata=self._md
            )
        return [p.pid for p in resp.processes]

    async def update(self, container_id: str, resources: dict[str, Any]) -> None:
        """Apply OCI LinuxResources (spec JSON shape: {"memory": {"limit": ...}, ...})."""
        req = tasks_pb2.UpdateTaskRequest(
            container_id=container_id, resources=_oci_any(RESOURCES_URL, resources)
        )
        with grpc_errors():
            await self._tasks.Update(req, metadata=self._md)

    async def metrics(self, container_id: str) -> tuple[str, bytes]:
        """The cgroup metrics Any as (type_url, value); decode with metrics_dict() or decode_any.

        The type is `io.containerd.cgroups.v1.Metrics` or `io.containerd.cgroups.v2.Metrics`.
        """
        req = tasks_pb2.MetricsRequest(filters=[f"id=={_quote(container_id)}"])
        with grpc_errors():
            resp = await self._tasks.Metrics(req, metadata=self._md)
        for m in resp.metrics:
            if m.id == container_id:
                return m.data.type_url, m.data.value
        raise errdefs.NotFound(f"no metrics for task {container_id}")

    async def metrics_dict(self, container_id: str) -> tuple[str, dict[str, Any]]:
        """metrics() decoded: (type_url, dict) as decode_any() builds it."""
        type_url, value = await self.metrics(container_id)
        return type_url, decode_any(type_url, value)

    # -- exec processes -----------------------------------------------------------------------

    async def exec(
        self, container_id: str, exec_id: str, process: dict[str, Any], io: TaskIO
    ) -> None:
        """Add a process (OCI Process JSON) to a running task; start it with start_exec().

        The shim opens the exec's FIFOs at start_exec(), so release readers after that.
        """
        req = tasks_pb2.ExecProcessRequest(
            container_id=container_id,
            exec_id=exec_id,
            spec=_oci_any(PROCESS_URL, process),
            stdin=io.stdin,
            stdout=io.stdout,
            stderr=io.stderr,
            terminal=io.terminal,
        )
        with grpc_errors():
            await self._tasks.Exec(req, metadata=self._md)

    async def start_exec(self, container_id: str, exec_id: str) -> int:
        """Start a process added with exec(); return its pid."""
        req = tasks_pb2.StartRequest(container_id=container_id, exec_id=exec_id)
        with grpc_errors():
            resp = await self._tasks.Start(req, metadata=self._md)
        return resp.pid

    async def wait_exec(self, container_id: str, exec_id: str) -> ExitStatus:
        """Block until an exec'd process exits."""
        req = tasks_pb2.WaitRequest(container_id=container_id, exec_id=exec_id)
        with grpc_errors():
            resp = await self._tasks.Wait(req, metadata=self._md)
        return ExitStatus(code=resp.exit_status, exited_at=_when(resp.exited_at))

    async def delete_exec(self, container_id: str, exec_id: str) -> None:
        """Forget an exited exec process; already gone is fine."""
        req = tasks_pb2.DeleteProcessRequest(container_id=container_id, exec_id=exec_id)
        try:
            with grpc_errors():
                await self._tasks.DeleteProcess(req, metadata=self._md)
        except errdefs.NotFound:
            pass

    # -- events -------------------------------------------------------------------------------

    async def subscribe(
        self, topics_regex: str | None = None, extra_filters: Iterable[str] = ()
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yield (topic, event dict) for this namespace's events, e.g. topics_regex="^/tasks/".

        The stream ends with Unavailable when containerd goes away; events in the gap are lost,
        so resubscribe and reconcile with list_tasks()/wait(). Closing the generator cancels
        the call.
        """
        flt = f"namespace=={_quote(self.namespace)}"
        if topics_regex:
            flt += f",topic~={_quote(topics_regex)}"
        req = events_pb2.SubscribeRequest(filters=[flt, *extra_filters])
        call = self._events.Subscribe(req, metadata=self._md)
        try:
            with grpc_errors():
                async for env in call:
                    yield env.topic, decode_any(env.event.type_url, env.event.value)
        finally:
            call.cancel()
