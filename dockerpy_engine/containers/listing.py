"""GET /containers/json's filters, folded and applied as dockerd's daemon/list.go does.

dockerd checks every value before it lists anything (an unknown key, status or health is a 400,
a `before`/`since` container that does not exist a 404), then walks the containers newest first:
`before` skips until it meets its container, `since` stops there, stopped containers count only
with `all`, a `status` filter or a `limit`, and `limit` counts what was kept. Names match as Go
regexps (on `/name` and `name`), IDs by unique prefix, ancestors include the images built on
them. The row checks (volume, network, publish/expose) look at the API row, which holds the
Mounts, Networks and Ports dockerd matches against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import errdefs
from ..filters import labels_match
from .types import ZERO_TIME, Container

ACCEPTED = frozenset(
    {
        "ancestor",
        "before",
        "exited",
        "id",
        "isolation",
        "label",
        "name",
        "status",
        "health",
        "since",
        "volume",
        "network",
        "is-task",
        "publish",
        "expose",
    }
)
STATES = frozenset({"created", "restarting", "running", "removing", "paused", "exited", "dead"})
HEALTH = frozenset({"starting", "healthy", "unhealthy", "none"})

Row = dict[str, Any]


@dataclass(slots=True)
class Query:
    """The folded filters: what each container is checked against."""

    filters: Mapping[str, list[str]]
    all: bool
    limit: int
    exited: list[int] = field(default_factory=list)
    is_task: bool | None = None
    before: str | None = None  # container IDs
    since: str | None = None
    ids: set[str] | None = None  # unique-prefix matches of the `id` values
    names: list[re.Pattern[str] | str] = field(default_factory=list)
    images: set[str] | None = None  # the ancestor filter's images and their descendants
    publish: set[str] = field(default_factory=set)
    expose: set[str] = field(default_factory=set)

    def select(
        self, newest_first: Iterable[Container], row: Callable[[Container], Row]
    ) -> Iterator[Row]:
        """The rows to list, in order; `row` builds one (only for containers still in)."""
        before = self.before
        kept = 0
        for c in newest_first:
            if before is not None:
                if c.id == before:
                    before = None
                continue
            if c.id == self.since:
                return
            if not (c.state.running or self.all or self.limit > 0):
                continue
            if not self._keeps(c):
                continue
            if self.limit > 0 and kept == self.limit:
                return
            if not self._keeps_late(c):
                continue
            data = row(c)
            if self._keeps_row(data):
                kept += 1
                yield data

    def _keeps(self, c: Container) -> bool:
        if self.names and not any(_match(p, n) for p in self.names for n in _names(c)):
            return False
        if self.ids is not None and c.id not in self.ids:
            return False
        if self.is_task:  # no container of ours is a swarm task
            return False
        labels = self.filters.get("label")
        return not labels or labels_match(c.config.get("Labels") or {}, labels)

    def _keeps_late(self, c: Container) -> bool:
        state = c.state
        if self.exited and not (
            state.exit_code in self.exited and not state.running and state.started_at != ZERO_TIME
        ):
            return False
        statuses = self.filters.get("status")
        if statuses and state.status not in statuses:
            return False
        health = self.filters.get("health")
        if health and (state.health["Status"] if state.health else "none") not in health:
            return False
        return self.images is None or c.image_id in self.images

    def _keeps_row(self, row: Row) -> bool:
        volumes = self.filters.get("volume")
        if volumes:
            mounts = row.get("Mounts") or []
            keys = {m["Destination"] for m in mounts}
            keys.update(m.get("Name") or m["Source"] for m in mounts)
            if not keys.intersection(volumes):
                return False
        networks = self.filters.get("network")
        if networks:
            attached = (row.get("NetworkSettings") or {}).get("Networks") or {}
            ids = [ep.get("NetworkID", "") for ep in attached.values()]
            if not any(v in attached or any(i.startswith(v) for i in ids) for v in networks):
                return False
        if self.publish or self.expose:
            return any(
                f"{p.get('PublicPort', 0)}/{p['Type']}" in self.publish
                or f"{p['PrivatePort']}/{p['Type']}" in self.expose
                for p in row.get("Ports") or []
            )
        return True


def fold(
    filters: Mapping[str, list[str]],
    *,
    all: bool,
    limit: int,
    ids: Iterable[str],
    find: Callable[[str], Container],
    family: Callable[[str], set[str]],
) -> Query:
    """Check every filter value as dockerd does and fold them into a Query.

    `find` resolves a `before`/`since` container (raising NotFound); `family` gives an
    image's ID and its descendants' (empty when the image is unknown, which dockerd only logs).
    """
    unknown = sorted(set(filters) - ACCEPTED)
    if unknown:
        raise errdefs.InvalidParameter(f"invalid filter '{unknown[0]}'")
    q = Query(filters=filters, all=all, limit=limit)
    for value in filters.get("exited", []):
        if not (value.lstrip("+-").isascii() and value.lstrip("+-").isdigit()):
            raise errdefs.InvalidParameter(f'strconv.Atoi: parsing "{value}": invalid syntax')
        q.exited.append(int(value))
    for value in filters.get("status", []):
        if value not in STATES:
            raise errdefs.InvalidParameter(f"invalid filter 'status={value}'")
        q.all = True
    if "is-task" in filters:
        values = filters["is-task"]
        if "true" in values:
            q.is_task = True
        elif "false" in values:
            q.is_task = False
        else:
            raise errdefs.InvalidParameter(f"invalid filter 'is-task=[{' '.join(values)}]'")
    for value in filters.get("health", []):
        if value not in HEALTH:
            raise errdefs.InvalidParameter(f"Unrecognised filter value for health: {value}")
    for value in filters.get("before", []):
        q.before = find(value).id
    for value in filters.get("since", []):
        q.since = find(value).id
    if "ancestor" in filters:
        q.images = set().union(*(family(ref) for ref in filters["ancestor"]))
    for key, ports in (("publish", q.publish), ("expose", q.expose)):
        for value in filters.get(key, []):
            ports.update(_port_filter(key, value))
    if filters.get("id"):
        q.ids = _unique_prefixes(filters["id"], list(ids))
    q.names = [_pattern(v) for v in filters.get("name", [])]
    return q


def _unique_prefixes(prefixes: list[str], ids: list[str]) -> set[str]:
    """The `id` filter: each value names the one container its prefix matches (an ambiguous
    or unknown prefix names none, as the truncindex lookup dockerd uses)."""
    found = set()
    for prefix in prefixes:
        matches = [i for i in ids if i.startswith(prefix)] if prefix else []
        if len(matches) == 1:
            found.add(matches[0])
    return found


def _pattern(value: str) -> re.Pattern[str] | str:
    """A name value as Go's regexp.MatchString sees it; one that does not compile still
    matches exactly (filters.Args.Match tries ExactMatch first)."""
    try:
        return re.compile(value)
    except re.error:
        return value


def _match(pattern: re.Pattern[str] | str, name: str) -> bool:
    if isinstance(pattern, str):
        return pattern == name
    return pattern.pattern == name or pattern.search(name) is not None


def _names(c: Container) -> tuple[str, str]:
    return c.name, c.name.lstrip("/")


def _port_filter(key: str, value: str) -> list[str]:
    """portOp: `80`, `80/udp` or `8000-8080/tcp` as the ports it covers."""
    if ":" in value:
        raise errdefs.InvalidParameter(f"filter for '{key}' should not contain ':': {value}")
    port, _, proto = value.partition("/")
    proto = proto or "tcp"
    start_text, dash, end_text = port.partition("-")
    try:
        if not port:
            raise ValueError("Empty string specified for ports.")
        start = _parse_uint16(start_text)
        end = _parse_uint16(end_text.split("-")[0]) if dash else start
        if end < start:
            raise ValueError(f"Invalid range specified for the Port: {port}")
    except ValueError as exc:
        raise errdefs.InvalidParameter(f"error while looking up for {key} {value}: {exc}") from None
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def _parse_uint16(text: str) -> int:
    """strconv.ParseUint(text, 10, 16) with its error texts."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    if int(text) > 65535:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return int(text)
