"""The classic builder's output: dockerd's JSON stream messages, written as the build goes.

Step lines and RUN's stdout are `{"stream": …}` messages; RUN's stderr is wrapped in the red
terminal escape dockerd's StderrFormatter adds; the image ID goes out as the `aux` message the
CLI reads for `-q` and `--iidfile`. With `q`, dockerd keeps the output back and only shows it
when the build fails, so the client still learns why.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..distribution.progress import Progress

_RED, _RESET = "\x1b[91m", "\x1b[0m"


def _line(message: dict[str, Any]) -> bytes:
    return orjson.dumps(message) + b"\r\n"


class BuildOutput:
    """One build's stream. `progress` is shared with FROM's pulls, so their bars interleave."""

    def __init__(self, progress: Progress, *, quiet: bool = False) -> None:
        self.progress = progress
        self._quiet = quiet
        self._held: list[bytes] = []

    async def _emit(self, line: bytes) -> None:
        if self._quiet:
            self._held.append(line)
        else:
            await self.progress.emit(line)

    def pull_progress(self) -> Progress:
        """FROM's pull draws its bars in the build's stream (held back too when quiet)."""
        return Progress(self._emit)

    async def stream(self, text: str) -> None:
        if text:
            await self._emit(_line({"stream": text}))

    async def stderr(self, text: str) -> None:
        if text:
            await self._emit(_line({"stream": f"{_RED}{text}{_RESET}"}))

    async def aux_image_id(self, image_id: str) -> None:
        """BuildResult as the `moby.image.id` aux message; sent even when quiet."""
        await self.progress.emit(_line({"id": "moby.image.id", "aux": {"ID": image_id}}))

    async def quiet_result(self, image_id: str) -> None:
        """What `q` shows in place of the whole log: the image ID."""
        await self.progress.emit(_line({"stream": image_id + "\n"}))

    async def release_held(self) -> None:
        """A quiet build failed: hand over what it said, so the error has its context."""
        held, self._held = self._held, []
        for line in held:
            await self.progress.emit(line)
