"""Translate gRPC failures from containerd into errdefs kinds at the runtime boundary.

Only runtime/ sees grpc; everything above it catches `dockerpy_engine.errdefs` kinds. The
message is containerd's text unchanged: the docker CLI decides exit codes 127 ("executable file
not found", "no such file or directory") and 126 ("permission denied") by reading runc's words
in it, so they must survive.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import grpc.aio

from dockerpy_engine import errdefs

_KINDS: dict[grpc.StatusCode, type[errdefs.EngineError]] = {
    grpc.StatusCode.NOT_FOUND: errdefs.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errdefs.Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: errdefs.Conflict,
    grpc.StatusCode.INVALID_ARGUMENT: errdefs.InvalidParameter,
    grpc.StatusCode.UNAVAILABLE: errdefs.Unavailable,
    grpc.StatusCode.UNIMPLEMENTED: errdefs.Unimplemented,
    grpc.StatusCode.DEADLINE_EXCEEDED: errdefs.Unavailable,
}


def translate(exc: grpc.RpcError) -> errdefs.EngineError:
    """Return the errdefs kind for a gRPC error, keeping containerd's message text."""
    code = exc.code() if callable(getattr(exc, "code", None)) else grpc.StatusCode.UNKNOWN
    details = exc.details() if callable(getattr(exc, "details", None)) else None
    kind = _KINDS.get(code, errdefs.System)
    return kind(details or f"containerd: {code.name.lower() if code else 'unknown error'}")


@contextmanager
def grpc_errors() -> Iterator[None]:
    """Raise the errdefs kind of any gRPC error raised in the block (`raise ... from` it).

    A plain context manager, so it wraps awaits too: `with grpc_errors(): await stub.Get(...)`.
    """
    try:
        yield
    except grpc.RpcError as exc:
        raise translate(exc) from exc
    except grpc.aio.UsageError as exc:  # a call on a closed channel
        raise errdefs.Unavailable(f"containerd client: {exc}") from exc
