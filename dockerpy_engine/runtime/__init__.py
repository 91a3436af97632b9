"""runtime: the only code that talks to containerd.

Why a package of its own: containerd speaks gRPC with protobuf messages generated at install
time (proto/generate.py -> _pb/), and those types, grpc errors and FIFO plumbing must not leak
into the services. Everything here takes and returns plain Python (runtime.types) and raises
dockerpy_engine.errdefs kinds.

    client.py      ContainerdRuntime: one grpc.aio channel, one namespace, tasks/containers/events
    supervisor.py  ManagedContainerd: the private containerd started when --containerd is absent
    io.py          stdio FIFOs the shim writes to / reads from, opened without blocking the loop
    types.py       Mount, TaskIO, ExitStatus, TaskInfo
    _errors.py     grpc status codes -> errdefs kinds, keeping containerd's message

The grpc side (ContainerdRuntime, ManagedContainerd, decode_any) is imported lazily, on first
attribute access: `import grpc` and the stubs cost about 0.1 s, and code that only needs
runtime.types or a fake runtime (the CLI, unit tests) should not pay it or need _pb/ generated.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# grpc's fork handlers run on every fork(); under uvloop (libuv forks for each subprocess:
# containerd, iptables...) they log "Other threads are currently calling into gRPC, skipping
# fork() handlers" each time. We never use grpc in a forked child, so they are turned off. It
# must happen before grpc is imported, and runtime/ is its only importer: this package's
# __init__ runs before any of its modules. An explicit environment setting still wins.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

from .io import (
    FifoReader,
    FifoWriter,
    ProcessStreams,
    create_fifos,
    free_stale_fifos,
    open_output,
    open_stdin,
    remove_fifos,
)
from .types import ExitStatus, Mount, TaskInfo, TaskIO

if TYPE_CHECKING:
    from .client import ContainerdRuntime, decode_any
    from .supervisor import ManagedContainerd

_LAZY = {
    "ContainerdRuntime": ".client",
    "decode_any": ".client",
    "ManagedContainerd": ".supervisor",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ContainerdRuntime",
    "ExitStatus",
    "FifoReader",
    "FifoWriter",
    "ManagedContainerd",
    "Mount",
    "ProcessStreams",
    "TaskIO",
    "TaskInfo",
    "create_fifos",
    "decode_any",
    "free_stale_fifos",
    "open_output",
    "open_stdin",
    "remove_fifos",
]
