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

from .errdefs import InvalidParameter
from .images.reference import parse

BACKLOG = 256  # dockerd's eventsLimit
LISTENER_QUEUE = 4096

# Types for which dockerd still sends the pre-1.22 top-level fields (status, id, from).
_LEGACY_TYPES = {"container", "image"}
# `event` values that make the whole `event` filter match action prefixes (moby#25798).
_FUZZY_ACTIONS = frozenset({"health_status", "exec_create", "exec_start"})
# Filters matching an actor's ID or `name` attribute by prefix, whatever the event's type.
_NAMED = ("daemon", "container", "plugin", "volume", "network", "node", "service", "secret",
          "config")  # fmt: skip


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
        if self.type in _LEGACY_TYPES:  # `omitempty` fields, as dockerd's Message
            data["status"] = self.action
            if self.actor_id:
                data["id"] = self.actor_id
            if self.type == "container" and self.attributes.get("image"):
                data["from"] = self.attributes["image"]
        return data


def matches(event: Event, filters: Mapping[str, list[str]]) -> bool:
    """dockerd's events Filter.Include: each filter given must match, its values being
    alternatives; keys it does not know are ignored.

    - `event`: the action exactly; by prefix if a value is health_status, exec_create or
      exec_start (actions such as `exec_start: sh -c true` carry a suffix);
    - `type`, `scope`: exactly;
    - `container`, `volume`, `network`, `daemon`, `plugin`...: the actor's ID or its `name`
      attribute, by prefix, whatever the event's type (a container named `web` matches
      `volume=web` too, as with dockerd);
    - `image`: exactly, the ID or the image's name (`name` of an image event, `image` of any
      other), each also without its tag;
    - `label`: every one, `key` or `key=value`, among the attributes.
    """
    attrs = event.attributes
    actions = filters.get("event") or []
    if actions:
        fuzzy = not _FUZZY_ACTIONS.isdisjoint(actions)
        if not (_prefixed(actions, event.action) if fuzzy else event.action in actions):
            return False
    for key, value in (("type", event.type), ("scope", event.scope)):
        if filters.get(key) and value not in filters[key]:
            return False
    for key in _NAMED:
        values = filters.get(key) or []
        if values and not (
            _prefixed(values, event.actor_id) or _prefixed(values, attrs.get("name", ""))
        ):
            return False
    images = filters.get("image") or []
    if images:
        name = attrs.get("name" if event.type == "image" else "image", "")
        candidates = {event.actor_id, name, _strip_tag(event.actor_id), _strip_tag(name)}
        if candidates.isdisjoint(images):
            return False
    labels = filters.get("label") or []
    return not labels or (bool(attrs) and all(_label_ok(attrs, v) for v in labels))


def _prefixed(values: list[str], source: str) -> bool:
    """filters.Args.FuzzyMatch: a value equal to `source` or a prefix of it."""
    return any(source.startswith(value) for value in values)


def _strip_tag(image: str) -> str:
    """The familiar repository name (`busybox` for `docker.io/library/busybox:1`); what is
    not a reference stays as it is."""
    try:
        return parse(image).familiar_name
    except InvalidParameter:
        return image


def _label_ok(attrs: Mapping[str, str], expr: str) -> bool:
    key, sep, value = expr.partition("=")
    return key in attrs and (not sep or attrs[key] == value)


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
