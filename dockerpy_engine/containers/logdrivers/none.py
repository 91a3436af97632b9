"""The none driver: the output is not kept anywhere, and `docker logs` is refused."""

from __future__ import annotations

from ._base import BaseDriver, Message

NAME = "none"


class NoneLog(BaseDriver):
    name = NAME

    def write(self, stream: str, data: bytes) -> None:
        pass

    def log(self, msg: Message) -> None:
        pass
