"""Giving freed heap back to the system, so the daemon's resident size follows its work.

glibc keeps the memory a burst freed (a 200k-line `docker logs`, a big pull's buffers) in its
arenas, where CPython's larger objects live; without a trim the daemon's RSS stays at its
high-water mark for good, while dockerd's Go runtime returns idle memory within minutes.
Every few seconds `malloc_trim(0)` runs in a worker thread (it walks the heap; on a quiet
heap that takes well under a millisecond).
"""

from __future__ import annotations

import asyncio

from .fsutil import libc

TRIM_INTERVAL = 5.0


async def trim_heap_forever(interval: float = TRIM_INTERVAL) -> None:
    """The daemon runs this as a background task for its whole life."""
    trim = libc().malloc_trim
    while True:
        await asyncio.sleep(interval)
        await asyncio.to_thread(trim, 0)
