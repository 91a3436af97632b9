"""Run one process in a running task and collect its output: what a health probe needs."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from pathlib import Path
from typing import Any

from .. import errdefs
from ..runtime import ContainerdRuntime, create_fifos, open_output, remove_fifos

PROBE_OUTPUT_LIMIT = 64 * 1024


async def run_captured(
    runtime: ContainerdRuntime,
    container_id: str,
    process: dict[str, Any],
    fifo_dir: Path,
    timeout: float,
) -> tuple[int, bytes]:
    """(exit code, stdout+stderr). Past `timeout` the process is killed and the result is
    dockerd's: exit code -1 with "Health check exceeded timeout"."""
    exec_id = "probe-" + secrets.token_hex(8)
    paths = create_fifos(fifo_dir, stdin=False, terminal=False, name=exec_id)
    readers = [await open_output(paths.stdout), await open_output(paths.stderr)]
    chunks: list[bytes] = []

    async def collect(reader) -> None:
        while chunk := await reader.read():
            if sum(map(len, chunks)) < PROBE_OUTPUT_LIMIT:
                chunks.append(chunk)

    try:
        await runtime.exec(container_id, exec_id, process, paths)
        try:
            await runtime.start_exec(container_id, exec_id)
        finally:
            for reader in readers:
                reader.release()
        try:
            async with asyncio.timeout(timeout):
                status = await runtime.wait_exec(container_id, exec_id)
                await asyncio.gather(*(collect(r) for r in readers))
        except TimeoutError:
            with contextlib.suppress(errdefs.EngineError):
                await runtime.kill(container_id, signal.SIGKILL, exec_id=exec_id)
            return -1, f"Health check exceeded timeout ({timeout:g}s)".encode()
        return status.code, b"".join(chunks)
    except errdefs.EngineError as exc:
        return -1, exc.message.encode()
    finally:
        for reader in readers:
            reader.close()
        with contextlib.suppress(errdefs.EngineError):
            await runtime.delete_exec(container_id, exec_id)
        await asyncio.to_thread(remove_fifos, paths)
