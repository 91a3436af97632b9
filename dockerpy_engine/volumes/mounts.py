"""A container's mount points: HostConfig.Binds, HostConfig.Mounts, VolumesFrom and the image's
Config.Volumes parsed with dockerd's rules (volume/mounts/linux_parser.go) and messages, and
their OCI mounts once the volumes are ready.

Pure functions over plain data; the volume service creates and mounts the volumes.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .. import errdefs

PROPAGATIONS = frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave"})
DEFAULT_PROPAGATION = "rprivate"
_RW_MODES = frozenset({"rw", "ro"})
_LABEL_MODES = frozenset({"z", "Z"})
_COPY_MODES = frozenset({"nocopy"})
_CONSISTENCY = frozenset({"consistent", "cached", "delegated"})
_TYPES = ("bind", "volume", "tmpfs")


@dataclass(slots=True)
class MountPoint:
    """dockerd's MountPoint: what inspect shows, plus what start needs to mount it."""

    type: str  # bind | volume | tmpfs
    destination: str
    source: str = ""  # bind: the host path; volume: the volume's _data (set at create)
    name: str = ""  # volume name ("" until an anonymous one is created)
    driver: str = ""
    mode: str = ""
    rw: bool = True
    propagation: str = ""
    copy_data: bool = True  # copy the image's content at the destination into an empty volume
    spec: dict[str, Any] = field(default_factory=dict)  # the HostConfig.Mounts entry, if any
    create_source: bool = False  # -v /host:/ctr (or CreateMountpoint): mkdir a missing source
    tmpfs_options: str = ""
    subpath: str = ""
    non_recursive: bool = False
    ro_non_recursive: bool = False
    ro_force_recursive: bool = False
    driver_opts: dict[str, str] | None = None  # --mount volume-opt, for the volume's creation
    labels: dict[str, str] | None = None

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> MountPoint:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_api(self) -> dict[str, Any]:
        """types.MountPoint: Type, Name and Driver are omitted when empty, as dockerd's JSON."""
        data: dict[str, Any] = {"Type": self.type}
        if self.name:
            data["Name"] = self.name
        data["Source"] = self.source
        data["Destination"] = self.destination
        if self.driver:
            data["Driver"] = self.driver
        data.update(Mode=self.mode, RW=self.rw, Propagation=self.propagation)
        return data


def api_mount_points(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Inspect's and ps's `Mounts`, in destination order."""
    points = [MountPoint.from_record(r) for r in records]
    return [p.to_api() for p in sorted(points, key=lambda p: p.destination)]


# ------------------------------------------------------------------------------- errors


def _invalid_spec(raw: str) -> str:
    return f"invalid volume specification: '{raw}'"


def _mount_config(type_: str, message: str) -> errdefs.InvalidParameter:
    return errdefs.InvalidParameter(f'invalid mount config for type "{type_}": {message}')


# ------------------------------------------------------------------------------- modes


def valid_mode(mode: str) -> bool:
    """linuxValidMountMode: each kind (rw, label, propagation, copy, consistency) at most once."""
    if mode == "":
        return True
    counts = dict.fromkeys(("rw", "label", "prop", "copy", "cons"), 0)
    for option in mode.split(","):
        if option in _RW_MODES:
            counts["rw"] += 1
        elif option in _LABEL_MODES:
            counts["label"] += 1
        elif option in PROPAGATIONS:
            counts["prop"] += 1
        elif option in _COPY_MODES:
            counts["copy"] += 1
        elif option in _CONSISTENCY:
            counts["cons"] += 1
        else:
            return False
    return all(n <= 1 for n in counts.values())


def read_write(mode: str) -> bool:
    return valid_mode(mode) and "ro" not in mode.split(",")


def _propagation_of(mode: str) -> str:
    for option in mode.split(","):
        if option in PROPAGATIONS:
            return option
    return ""


# ------------------------------------------------------------------------------- parsing


def parse_bind(raw: str, volume_driver: str = "") -> MountPoint:
    """One HostConfig.Binds entry (ParseMountRaw): `/ctr`, `src:/ctr`, `src:/ctr:mode`.

    An absolute source is a bind mount whose missing source is created at start; anything
    else names a volume."""
    parts = raw.split(":", 3)
    if parts[0] == "":
        raise errdefs.InvalidParameter(_invalid_spec(raw))
    source, mode = "", ""
    if len(parts) == 1:
        target = parts[0]
    elif len(parts) == 2:
        if valid_mode(parts[1]):
            raise errdefs.InvalidParameter(_invalid_spec(raw))
        source, target = parts
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise errdefs.InvalidParameter(_invalid_spec(raw))
    if not valid_mode(mode):
        raise errdefs.InvalidParameter(f"invalid mode: {mode}")
    type_ = "bind" if posixpath.isabs(source) else "volume"
    options = mode.split(",") if mode else []
    spec: dict[str, Any] = {"Type": type_, "Source": source, "Target": target}
    if "ro" in options:
        spec["ReadOnly"] = True
    try:
        _validate(spec, check_source=False)
    except errdefs.InvalidParameter as exc:
        raise errdefs.InvalidParameter(f"{_invalid_spec(raw)}: {exc.message}") from None
    point = MountPoint(
        type=type_,
        destination=posixpath.normpath(target),
        rw="ro" not in options,
        mode=mode,
        copy_data="nocopy" not in options,
    )
    if type_ == "bind":
        point.source = posixpath.normpath(source)
        point.propagation = _propagation_of(mode) or DEFAULT_PROPAGATION
        point.create_source = True
    else:
        point.name = source
        point.driver = volume_driver
    return point


def parse_mount(
    spec: Mapping[str, Any], exists: Callable[[str], bool] = os.path.exists
) -> MountPoint:
    """One HostConfig.Mounts entry (ParseMountSpec); a bind's source must exist unless
    BindOptions.CreateMountpoint asks for it."""
    _validate(spec, check_source=True, exists=exists)
    type_ = spec["Type"]
    point = MountPoint(
        type=type_,
        destination=posixpath.normpath(spec["Target"]),
        rw=not spec.get("ReadOnly"),
        spec=dict(spec),
    )
    if type_ == "volume":
        opts = spec.get("VolumeOptions") or {}
        driver = opts.get("DriverConfig") or {}
        point.name = spec.get("Source") or ""
        point.driver = driver.get("Name") or ""
        point.copy_data = not opts.get("NoCopy")
        point.subpath = opts.get("Subpath") or ""
        point.driver_opts = driver.get("Options") or None
        point.labels = opts.get("Labels") or None
    elif type_ == "bind":
        opts = spec.get("BindOptions") or {}
        point.source = posixpath.normpath(spec["Source"])
        point.propagation = opts.get("Propagation") or DEFAULT_PROPAGATION
        point.create_source = bool(opts.get("CreateMountpoint"))
        point.non_recursive = bool(opts.get("NonRecursive"))
        point.ro_non_recursive = bool(opts.get("ReadOnlyNonRecursive"))
        point.ro_force_recursive = bool(opts.get("ReadOnlyForceRecursive"))
        point.copy_data = False
    else:
        point.tmpfs_options = tmpfs_options(spec.get("TmpfsOptions"), not point.rw)
        point.copy_data = False
    return point


def _validate(
    spec: Mapping[str, Any],
    *,
    check_source: bool,
    exists: Callable[[str], bool] = os.path.exists,
) -> None:
    """validateMountConfigImpl, message for message."""
    type_ = spec.get("Type") or ""
    target = spec.get("Target") or ""

    def fail(message: str) -> None:
        raise _mount_config(type_, message)

    if not target:
        fail("field Target must not be empty")
    if posixpath.normpath(target.replace("\\", "/")) == "/":
        fail("invalid specification: destination can't be '/'")
    if not posixpath.isabs(target.replace("\\", "/")):
        fail(f"invalid mount path: '{target}' mount path must be absolute")
    source = spec.get("Source") or ""
    if type_ == "bind":
        if not source:
            fail("field Source must not be empty")
        propagation = (spec.get("BindOptions") or {}).get("Propagation") or ""
        if propagation and propagation not in PROPAGATIONS:
            fail(f"invalid propagation mode: {propagation}")
        if spec.get("VolumeOptions"):
            fail("field VolumeOptions must not be specified")
        if spec.get("TmpfsOptions"):
            fail("field TmpfsOptions must not be specified")
        if not posixpath.isabs(source):
            fail(f"invalid mount path: '{source}' mount path must be absolute")
        opts = spec.get("BindOptions") or {}
        if opts.get("ReadOnlyNonRecursive") and opts.get("ReadOnlyForceRecursive"):
            fail("must not set both ReadOnlyNonRecursive and ReadOnlyForceRecursive")
        if (
            opts.get("ReadOnlyNonRecursive") or opts.get("ReadOnlyForceRecursive")
        ) and not spec.get("ReadOnly"):
            which = (
                "ReadOnlyNonRecursive"
                if opts.get("ReadOnlyNonRecursive")
                else "ReadOnlyForceRecursive"
            )
            fail(f"must not set {which} when ReadOnly is false")
        if check_source and not opts.get("CreateMountpoint") and not exists(source):
            fail(f"bind source path does not exist: {source}")
    elif type_ == "volume":
        if spec.get("BindOptions"):
            fail("field BindOptions must not be specified")
        if spec.get("TmpfsOptions"):
            fail("field TmpfsOptions must not be specified")
        subpath = (spec.get("VolumeOptions") or {}).get("Subpath") or ""
        if subpath:
            if not source:
                fail("must not set Subpath when using anonymous volumes")
            if not is_local(subpath):
                fail("subpath must be a relative path within the volume")
        if spec.get("ReadOnly") and not source:
            fail("must not set ReadOnly mode when using anonymous volumes")
    elif type_ == "tmpfs":
        if spec.get("BindOptions"):
            fail("field BindOptions must not be specified")
        if spec.get("VolumeOptions"):
            fail("field VolumeOptions must not be specified")
        if source:
            fail("field Source must not be specified")
        tmpfs_options(spec.get("TmpfsOptions"), bool(spec.get("ReadOnly")), type_)
    else:
        fail("mount type unknown")


def is_local(path: str) -> bool:
    """Go's filepath.IsLocal: relative, not empty, and never climbing out with `..`."""
    if path == "" or posixpath.isabs(path):
        return False
    return not (posixpath.normpath(path) == ".." or posixpath.normpath(path).startswith("../"))


def tmpfs_options(opts: Mapping[str, Any] | None, read_only: bool, type_: str = "tmpfs") -> str:
    """ConvertTmpfsOptions: `ro`, `mode=<octal>`, `size=<n>[kmg]`, then exec/noexec."""
    raw: list[str] = ["ro"] if read_only else []
    opts = opts or {}
    mode = int(opts.get("Mode") or 0)
    if mode:
        raw.append(f"mode={mode & 0o7777:o}")
    size = int(opts.get("SizeBytes") or 0)
    if size:
        for suffix, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % divisor == 0:
                raw.append(f"size={size // divisor}{suffix}")
                break
        else:
            raw.append(f"size={size}")
    for option in opts.get("Options") or ():
        if not isinstance(option, list) or not 1 <= len(option) <= 2:
            raise _mount_config(type_, "invalid option array length")
        if option[0] not in ("exec", "noexec"):
            raise _mount_config(type_, f"invalid option: {option[0]}")
        raw.append("=".join(str(o) for o in option))
    return ",".join(raw)


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """ParseVolumesFrom: `container[:ro|rw]`; propagation and copy modes are refused."""
    if not spec:
        raise errdefs.InvalidParameter("volumes-from specification cannot be an empty string")
    ref, _, mode = spec.partition(":")
    if not mode:
        return ref, "rw"
    if not valid_mode(mode) or _propagation_of(mode) or "nocopy" in mode.split(","):
        raise errdefs.InvalidParameter(f"invalid mode: {mode}")
    return ref, mode


# ------------------------------------------------------------------------------- planning


def plan(
    config: Mapping[str, Any],
    host_config: Mapping[str, Any],
    donor_mounts: Callable[[str], list[dict[str, Any]]],
) -> list[MountPoint]:
    """registerMountPoints, then the image's volumes: VolumesFrom, overridden by Binds; Mounts
    may not repeat a bind's destination; Config.Volumes adds an anonymous volume wherever
    nothing else is mounted. Nothing is created here."""
    points: dict[str, MountPoint] = {}
    for entry in host_config.get("VolumesFrom") or ():
        ref, mode = parse_volumes_from(entry)
        for record in donor_mounts(ref):
            donor = MountPoint.from_record(record)
            if donor.type == "tmpfs":
                continue
            copied = replace(donor, rw=donor.rw and read_write(mode), copy_data=False)
            if mode != "rw":
                copied.mode = mode
            points[copied.destination] = copied
    binds: set[str] = set()
    tmpfs = {posixpath.normpath(d) for d in host_config.get("Tmpfs") or {}}
    driver = host_config.get("VolumeDriver") or ""
    for raw in host_config.get("Binds") or ():
        point = parse_bind(raw, driver)
        _z_mode(point)
        if point.destination in binds or point.destination in tmpfs:
            raise errdefs.InvalidParameter(f"Duplicate mount point: {point.destination}")
        binds.add(point.destination)
        points[point.destination] = point
    for spec in host_config.get("Mounts") or ():
        point = parse_mount(spec)
        _z_mode(point)
        if point.destination in binds:
            raise errdefs.InvalidParameter(f"Duplicate mount point: {spec.get('Target')}")
        binds.add(point.destination)
        points[point.destination] = point
    for path in config.get("Volumes") or {}:
        destination = posixpath.normpath(path)
        if destination in points or destination in tmpfs:
            continue
        points[destination] = MountPoint(type="volume", destination=destination, driver=driver)
    return list(points.values())


def _z_mode(point: MountPoint) -> None:
    """setBindModeIfNull: a local volume from Binds or Mounts shows Mode "z"."""
    if point.type == "volume" and (point.driver or "local") == "local" and not point.mode:
        point.mode = "z"


# ------------------------------------------------------------------------------- OCI


def oci_mount(point: MountPoint, source: str, recursive_ro: bool) -> dict[str, Any]:
    """The OCI mount for a ready mount point (source resolved: the volume's _data or subpath).

    Read-only binds are recursively read-only (`rro`) where runc and the kernel allow it,
    unless ReadOnlyNonRecursive; ReadOnlyForceRecursive without support fails, as dockerd."""
    if point.type == "tmpfs":
        options = ["nosuid", "nodev", "noexec"]
        if point.tmpfs_options:
            options += point.tmpfs_options.split(",")
        return {
            "destination": point.destination,
            "type": "tmpfs",
            "source": "tmpfs",
            "options": _merge_tmpfs(options),
        }
    options = ["bind" if point.non_recursive else "rbind"]
    if not point.rw:
        if point.ro_force_recursive and not recursive_ro:
            raise errdefs.InvalidParameter(
                "recursive read-only mounts are not supported by the runtime or the kernel"
            )
        if recursive_ro and not point.ro_non_recursive and not point.non_recursive:
            options.append("rro")
        else:
            options.append("ro")
    options.append(point.propagation or DEFAULT_PROPAGATION)
    return {"destination": point.destination, "type": "bind", "source": source, "options": options}


def _merge_tmpfs(options: list[str]) -> list[str]:
    """Later options win over dockerd's defaults (exec over noexec, one size, one mode)."""
    pairs = {"exec": "noexec", "noexec": "exec", "ro": "rw", "rw": "ro"}
    merged: list[str] = []
    for option in options:
        key = option.split("=", 1)[0]
        merged = [
            o
            for o in merged
            if o != pairs.get(option) and (("=" not in option) or o.split("=", 1)[0] != key)
        ]
        if option not in merged:
            merged.append(option)
    return merged
