"""runtime/_errors.py: gRPC status codes from containerd become errdefs kinds."""

from __future__ import annotations

import grpc
import pytest
from grpc.aio import AioRpcError

from dockerpy_engine import errdefs
from dockerpy_engine.runtime._errors import grpc_errors, translate


def rpc_error(code: grpc.StatusCode, details: str | None = "boom") -> AioRpcError:
    return AioRpcError(code, None, None, details=details)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (grpc.StatusCode.NOT_FOUND, errdefs.NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, errdefs.Conflict),
        (grpc.StatusCode.FAILED_PRECONDITION, errdefs.Conflict),
        (grpc.StatusCode.INVALID_ARGUMENT, errdefs.InvalidParameter),
        (grpc.StatusCode.UNAVAILABLE, errdefs.Unavailable),
        (grpc.StatusCode.UNIMPLEMENTED, errdefs.Unimplemented),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errdefs.Unavailable),
        (grpc.StatusCode.UNKNOWN, errdefs.System),
        (grpc.StatusCode.INTERNAL, errdefs.System),
        (grpc.StatusCode.PERMISSION_DENIED, errdefs.System),
        (grpc.StatusCode.CANCELLED, errdefs.System),
    ],
)
def test_code_maps_to_kind(code: grpc.StatusCode, kind: type[errdefs.EngineError]) -> None:
    with pytest.raises(kind) as info, grpc_errors():
        raise rpc_error(code)
    assert type(info.value) is kind
    assert isinstance(info.value.__cause__, AioRpcError)


def test_runc_message_survives_for_the_cli_exit_codes() -> None:
    # The docker CLI turns these words into exit codes 127 and 126: keep them verbatim.
    msg = (
        "failed to create shim task: OCI runtime create failed: runc create failed: unable to "
        'start container process: exec: "nope": executable file not found in $PATH: unknown'
    )
    err = translate(rpc_error(grpc.StatusCode.UNKNOWN, msg))
    assert isinstance(err, errdefs.System)
    assert err.message == msg and str(err) == msg


def test_empty_details_still_say_something() -> None:
    err = translate(rpc_error(grpc.StatusCode.UNAVAILABLE, None))
    assert isinstance(err, errdefs.Unavailable)
    assert "unavailable" in err.message


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), grpc_errors():
        raise KeyError("x")


def test_errdefs_raised_inside_pass_through() -> None:
    with pytest.raises(errdefs.NotFound, match="mine"), grpc_errors():
        raise errdefs.NotFound("mine")


async def test_wraps_awaits_in_async_code() -> None:
    async def call() -> None:
        raise rpc_error(grpc.StatusCode.NOT_FOUND, "container abc: not found")

    with pytest.raises(errdefs.NotFound, match="container abc: not found"), grpc_errors():
        await call()


def test_closed_channel_is_unavailable() -> None:
    with pytest.raises(errdefs.Unavailable, match="closed"), grpc_errors():
        raise grpc.aio.UsageError("Channel is closed.")
