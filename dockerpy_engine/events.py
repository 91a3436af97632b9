"""The event bus behind GET /events (`docker events`): publish, keep the recent past, filter.

Like dockerd it keeps a bounded backlog (for `since`) and fans each event out to listeners
through bounded queues: a listener that cannot keep up loses its stream rather than slowing
the daemon down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BACKLOG = 1024
LISTENER_QUEUE = 4096

# Types for which dockerd still sends the pre-1.22 top-level fields (status, id, from).
_LEGACY_TYPES = {"container", "image"}


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # container | image | volume | network | daemon | plugin
    action: str
    actor_id: str
    attributes: Mapping[str, str]
    time_nano: int = field(default_factory=time.time_ns)
    scope: str = "local"

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "Type": self.type,
            "Action": self.action,
            "Actor": {"ID": self.actor_id, "Attributes": dict(self.attributes)},
            "scope": self.scope,
            "time": self.time_nano // 1_000_000_000,
            "timeNano": self.time_nano,
        }
        if self.type in _LEGACY_TYPES:
            data["status"] = self.action
            data["id"] = self.actor_id
            if self.type == "container" and "image" in self.attributes:
                data["from"] = self.attributes["image"]
        return data


def matches(event: Event, filters: Mapping[str, list[str]]) -> bool:
    """dockerd's events filter: every key must match; values of one key are alternatives."""
    attrs = event.attributes
    for key, values in filters.items():
        if not values:
            continue
        if key == "event":
            action = event.action.split(":", 1)[0]
            if event.action not in values and action not in values:
                return False
        elif key == "type":
            if event.type not in values:
                return False
        elif key == "scope":
            if event.scope not in values:
                return False
        elif key == "label":
            if not all(_label_ok(attrs, v) for v in values):
                return False
        elif key == "image":
            candidates = {attrs.get("image", "")}
            if event.type == "image":
                candidates |= {event.actor_id, attrs.get("name", "")}
            if not _any_ref(values, candidates):
                return False
        elif key in ("container", "volume", "network", "daemon", "plugin"):
            if event.type != key:
                return False
            if not _any_ref(values, {event.actor_id, attrs.get("name", "")}):
                return False
        else:
            return False
    return True


def _label_ok(attrs: Mapping[str, str], expr: str) -> bool:
    key, sep, value = expr.partition("=")
    return key in attrs and (not sep or attrs[key] == value)


def _any_ref(values: list[str], candidates: set[str]) -> bool:
    """A filter value names an object by full ID, ID prefix, or name (with or without tag)."""
    for value in values:
        for candidate in candidates:
            if not candidate:
                continue
            if value == candidate or (len(value) >= 1 and candidate.startswith(value)):
                return True
            if ":" not in value and candidate.split(":", 1)[0] == value:
                return True
    return False


class Listener:
    """One /events client: the events it wants, queued until it reads them."""

    def __init__(self, filters: Mapping[str, list[str]]) -> None:
        self.filters = filters
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(LISTENER_QUEUE)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed or not matches(event, self.filters):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Too slow: end its stream (dockerd drops such listeners) rather than slow us down.
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class EventBus:
    def __init__(self) -> None:
        self._backlog: deque[Event] = deque(maxlen=BACKLOG)
        self._listeners: set[Listener] = set()

    def publish(
        self, type: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None
    ) -> Event:
        event = Event(type, action, actor_id, dict(attributes or {}))
        self._backlog.append(event)
        for listener in tuple(self._listeners):
            listener.offer(event)
        return event

    def past(self, since_ns: int, until_ns: int, filters: Mapping[str, list[str]]) -> list[Event]:
        return [
            e
            for e in self._backlog
            if since_ns <= e.time_nano
            and (not until_ns or e.time_nano <= until_ns)
            and matches(e, filters)
        ]

    def listen(self, filters: Mapping[str, list[str]]) -> Listener:
        listener = Listener(filters)
        self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    def close(self) -> None:
        """Daemon shutdown: every open stream ends."""
        for listener in tuple(self._listeners):
            with contextlib.suppress(asyncio.QueueFull):
                listener.queue.put_nowait(None)
        self._listeners.clear()
