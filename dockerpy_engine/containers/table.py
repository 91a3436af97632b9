"""The containers the daemon knows, shared by the service and its collaborators (monitor,
streams, live restore): the records by ID and name, what exists only while one runs, the
clients attached to each, and each container's lock.

Records live in memory (ps and inspect never touch the disk) and every change of one is written
through to the database in one transaction.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .. import errdefs
from ..events import EventBus
from ..store.containers import ContainerRows
from . import names
from .health import HealthMonitor
from .io import RunIO, Subscriber
from .resolve import resolve
from .types import Container, State, now_rfc3339


@dataclass(slots=True)
class Live:
    """What exists only while a container runs: its IO and its monitor."""

    io: RunIO
    spec: dict[str, Any] | None = None  # the task's OCI spec: execs start from its process
    health: HealthMonitor | None = None
    monitor: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)


class ContainerTable:
    """One record and one lock per container, however it is reached."""

    def __init__(self, rows: ContainerRows, events: EventBus) -> None:
        self._rows = rows
        self._events = events
        self.by_id: dict[str, Container] = {}
        self.by_name: dict[str, str] = {}
        self.live: dict[str, Live] = {}
        self.subscribers: dict[str, set[Subscriber]] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    def get(self, ref: str) -> Container:
        return resolve(ref, self.by_id, self.by_name)

    def load(self) -> None:
        """The records as the database holds them (at daemon start)."""
        for record in self._rows.load_all():
            self.add(Container.from_record(record))

    def add(self, c: Container) -> None:
        self.by_id[c.id] = c
        self.by_name[c.name] = c.id

    def forget(self, c: Container) -> None:
        """The removal's commit point: the row, then the in-memory entries."""
        self._rows.delete(c.id)
        self.by_id.pop(c.id, None)
        self.by_name.pop(c.name, None)

    def save(self, c: Container) -> None:
        self._rows.save(c.to_record())

    def lock(self, container_id: str) -> asyncio.Lock:
        return self.locks.setdefault(container_id, asyncio.Lock())

    def event(self, c: Container, action: str, **extra: str) -> None:
        """A container event with dockerd's attributes: its labels, image and name."""
        attributes = dict(c.config.get("Labels") or {})
        attributes.update(image=c.config.get("Image") or c.image_id, name=c.name.lstrip("/"))
        attributes.update(extra)
        self._events.publish("container", action, c.id, attributes)

    def mark_exited(self, c: Container, code: int, error: str) -> None:
        c.state = State(
            status="exited",
            exit_code=code,
            error=error,
            oom_killed=c.state.oom_killed,
            started_at=c.state.started_at,
            finished_at=now_rfc3339(),
            health=c.state.health,
        )
        self.save(c)

    def check_name_free(self, name: str) -> None:
        owner = self.by_name.get(name)
        if owner is not None:
            raise errdefs.Conflict(
                f'Conflict. The container name "{name}" is already in use by container '
                f'"{owner}". You have to remove (or rename) that container to be able to '
                "reuse that name."
            )

    def generated_name(self) -> str:
        for attempt in range(10):
            name = "/" + names.generate(attempt)
            if name not in self.by_name:
                return name
        raise errdefs.System("could not generate a unique container name")
