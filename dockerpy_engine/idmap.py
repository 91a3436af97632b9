"""User-namespace id mappings, as dockerd's pkg/idtools: what a remapped daemon shifts.

A mapping is one user's ranges from /etc/subuid and /etc/subgid laid end to end from container
id 0 (dockerd's createIDMap): `dockremap:100000:65536` maps container ids 0-65535 to host ids
100000-165535, and a second line for the same user continues at container id 65536. The
remapped root (container 0:0, the "root pair") owns the per-remap daemon root and the
containers' files; layers are unpacked with their ids moved into the range (`to_host`) and
diffs and exports are written with them moved back (`to_container`).

Pure logic: reading the files and creating users is userns.py's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import errdefs

DEFAULT_RANGE_START = 100000  # where dockerd starts looking for a free range
DEFAULT_RANGE_LENGTH = 65536  # the size of the range it gives `dockremap`


class SubIDFileError(Exception):
    """/etc/subuid or /etc/subgid cannot be read as `name:start:count` lines."""


class UnmappableID(errdefs.System):
    """An id outside the daemon's ranges (dockerd's text; a pull or copy with it fails)."""


@dataclass(frozen=True, slots=True)
class SubIDRange:
    """One `name:start:count` line of /etc/subuid or /etc/subgid."""

    start: int
    length: int


@dataclass(frozen=True, slots=True)
class IDMap:
    """One uid_map/gid_map line: `size` ids from `container_id` are `host_id` onwards."""

    container_id: int
    host_id: int
    size: int

    def to_oci(self) -> dict[str, int]:
        """A linux.uidMappings / gidMappings entry of the OCI spec."""
        return {"containerID": self.container_id, "hostID": self.host_id, "size": self.size}


def parse_subid_ranges(text: str, path: str, owners: Iterable[str] | None) -> list[SubIDRange]:
    """The ranges of `text` (the contents of `path`) whose first field is one of `owners`, in
    file order; `owners` None takes every line (dockerd's "ALL"). Blank and `#` lines are
    skipped; anything else not `name:start:count` is dockerd's parse error."""
    wanted = None if owners is None else set(owners)
    found: list[SubIDRange] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3:
            raise SubIDFileError(
                f"Cannot parse subuid/gid information: Format not correct for {path} file"
            )
        if wanted is not None and parts[0] not in wanted:
            continue
        try:
            start, length = int(parts[1]), int(parts[2])
        except ValueError as exc:
            raise SubIDFileError(
                f"String to int conversion failed during subuid/gid parsing of {path}: {exc}"
            ) from None
        found.append(SubIDRange(start, length))
    return found


def id_maps(ranges: Iterable[SubIDRange]) -> tuple[IDMap, ...]:
    """createIDMap: the ranges one after another in the container's id space."""
    maps: list[IDMap] = []
    container_id = 0
    for r in ranges:
        maps.append(IDMap(container_id, r.start, r.length))
        container_id += r.length
    return tuple(maps)


def next_range_start(taken: Iterable[SubIDRange]) -> int:
    """findNextRangeStart: from 100000, step past every range (by start) a 65536-id range
    there would overlap. Touching ends count as overlapping, as in dockerd; unlike dockerd's
    check, so does a taken range lying wholly inside the candidate."""
    start = DEFAULT_RANGE_START
    for r in sorted(taken, key=lambda r: r.start):
        end = r.start + r.length
        if start <= end and start + DEFAULT_RANGE_LENGTH >= r.start:
            start = end
    return start


def _to_host(container_id: int, maps: Sequence[IDMap]) -> int:
    for m in maps:
        if m.container_id <= container_id < m.container_id + m.size:
            return m.host_id + container_id - m.container_id
    raise UnmappableID(f"Container ID {container_id} cannot be mapped to a host ID")


def _to_container(host_id: int, maps: Sequence[IDMap]) -> int:
    for m in maps:
        if m.host_id <= host_id < m.host_id + m.size:
            return m.container_id + host_id - m.host_id
    raise UnmappableID(f"Host ID {host_id} cannot be mapped to a container ID")


@dataclass(frozen=True, slots=True)
class IdentityMapping:
    """The daemon's uid and gid maps; empty when it does not remap (then every id is itself)."""

    uids: tuple[IDMap, ...] = ()
    gids: tuple[IDMap, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.uids and not self.gids

    def root_pair(self) -> tuple[int, int]:
        """The host uid and gid of the containers' root: (0, 0) without a remap."""
        uid = _to_host(0, self.uids) if self.uids else 0
        gid = _to_host(0, self.gids) if self.gids else 0
        return uid, gid

    def to_host(self, uid: int, gid: int) -> tuple[int, int]:
        """A container's ids on the host. As dockerd's ToHost, an id equal to the root pair's
        is taken as already mapped (a tar written on the host by the remapped root)."""
        root_uid, root_gid = self.root_pair()
        if uid != root_uid and self.uids:
            uid = _to_host(uid, self.uids)
        if gid != root_gid and self.gids:
            gid = _to_host(gid, self.gids)
        return uid, gid

    def to_container(self, uid: int, gid: int) -> tuple[int, int]:
        """Host ids as the container sees them (a diff or an export written as a layer)."""
        if self.uids:
            uid = _to_container(uid, self.uids)
        if self.gids:
            gid = _to_container(gid, self.gids)
        return uid, gid

    def to_oci(self) -> dict[str, list[dict[str, int]]]:
        """linux.uidMappings and linux.gidMappings."""
        return {
            "uidMappings": [m.to_oci() for m in self.uids],
            "gidMappings": [m.to_oci() for m in self.gids],
        }


NO_MAPPING = IdentityMapping()
