"""The futures of `POST /containers/{id}/wait`: a container's next exit, or its removal."""

from __future__ import annotations

import asyncio

from .types import Container


class Waiters:
    """Resolved with the exit code when the condition comes; cancelled at shutdown."""

    def __init__(self) -> None:
        self._exit: dict[str, list[asyncio.Future[int]]] = {}
        self._removed: dict[str, list[asyncio.Future[int]]] = {}

    def add(self, c: Container, condition: str) -> asyncio.Future[int]:
        """`not-running` (the default) is answered at once when the container is not running."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if condition == "removed":
            self._removed.setdefault(c.id, []).append(future)
        elif condition == "next-exit" or c.state.running:
            self._exit.setdefault(c.id, []).append(future)
        else:
            future.set_result(c.state.exit_code)
        return future

    def exited(self, container_id: str, code: int) -> None:
        _notify(self._exit, container_id, code)

    def removed(self, container_id: str, code: int) -> None:
        """A removal ends the wait for an exit too."""
        _notify(self._exit, container_id, code)
        _notify(self._removed, container_id, code)

    def cancel_all(self) -> None:
        for table in (self._exit, self._removed):
            for futures in table.values():
                for future in futures:
                    future.cancel()
            table.clear()


def _notify(table: dict[str, list[asyncio.Future[int]]], container_id: str, code: int) -> None:
    for future in table.pop(container_id, []):
        if not future.done():
            future.set_result(code)
