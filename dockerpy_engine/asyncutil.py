"""Small asyncio helpers shared by the services."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def uninterruptible(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a state change to its end even when its caller is cancelled.

    The API cancels a handler whose client hangs up; a container half-started or half-removed
    because `docker` was interrupted would break the promise that nothing is left half-done.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.shield(method(*args, **kwargs))

    return wrapper
