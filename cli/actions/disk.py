"""system df (the summary table) and system prune, over /system/df and the prune endpoints."""

from __future__ import annotations

from cli.actions._common import confirm, filters_param, print_reclaimed, render
from cli.env import Env
from cli.gotemplate import GoJSON, GoStruct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["df", "system_prune"]

DF_HEADERS = {
    "Type": "TYPE",
    "TotalCount": "TOTAL",
    "Active": "ACTIVE",
    "Size": "SIZE",
    "Reclaimable": "RECLAIMABLE",
}


# the formatter's context type of each summary row (named by docker's template errors)
_ROW_TYPES = {
    "Images": "*formatter.diskUsageImagesContext",
    "Containers": "*formatter.diskUsageContainersContext",
    "Local Volumes": "*formatter.diskUsageVolumesContext",
    "Build Cache": "*formatter.diskUsageBuilderContext",
}


class _DiskUsageRow(GoStruct, GoJSON):
    """One row of the summary (formatter's imageContext/containerContext/... of disk usage)."""

    _go_type = "*formatter.diskUsageContext"
    _go_fields = tuple(DF_HEADERS)

    def __init__(
        self, kind: str, total: int, active: int, size: int, reclaimable: int, percent: bool = True
    ) -> None:
        from cli.format import human_size

        self.Type = kind
        self._go_type = _ROW_TYPES.get(kind, self._go_type)
        self.TotalCount = str(total)
        self.Active = str(active)
        self.Size = human_size(size)
        self.Reclaimable = human_size(reclaimable)
        if percent and size > 0:
            self.Reclaimable += f" ({reclaimable * 100 // size}%)"

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        return go_json({k: getattr(self, k) for k in sorted(DF_HEADERS)}, escape_html=True)


def _rows(du: dict[str, Any]) -> list[_DiskUsageRow]:
    images = du.get("Images") or []
    layers = int(du.get("LayersSize") or 0)
    used = sum(
        i.get("Size", 0) - i.get("SharedSize", 0)
        for i in images
        if i.get("Containers", 0) > 0 and i.get("SharedSize", -1) != -1
    )
    containers = du.get("Containers") or []
    c_size = sum(c.get("SizeRw") or 0 for c in containers)
    c_idle = sum(c.get("SizeRw") or 0 for c in containers if c.get("State") != "running")
    volumes = du.get("Volumes") or []
    usage = [v.get("UsageData") or {} for v in volumes]
    v_size = sum(u.get("Size", 0) for u in usage if u.get("Size", -1) != -1)
    v_idle = sum(
        u.get("Size", 0) for u in usage if u.get("Size", -1) != -1 and not u.get("RefCount")
    )
    cache = du.get("BuildCache") or []
    b_size = sum(b.get("Size") or 0 for b in cache if not b.get("Shared"))
    b_idle = sum(b.get("Size") or 0 for b in cache if not b.get("Shared") and not b.get("InUse"))
    return [
        _DiskUsageRow(
            "Images",
            len(images),
            sum(1 for i in images if i.get("Containers", 0) > 0),
            layers,
            layers - used,
        ),
        _DiskUsageRow(
            "Containers",
            len(containers),
            sum(1 for c in containers if c.get("State") == "running"),
            c_size,
            c_idle,
        ),
        _DiskUsageRow(
            "Local Volumes",
            len(volumes),
            sum(1 for u in usage if u.get("RefCount", 0) > 0),
            v_size,
            v_idle,
        ),
        _DiskUsageRow(
            "Build Cache",
            len(cache),
            sum(1 for b in cache if b.get("InUse")),
            b_size,
            b_idle,
            False,
        ),
    ]


class _CacheRow(GoStruct, GoJSON):
    """One build cache record of `system df -v`."""

    _go_type = "*formatter.buildCacheContext"
    _go_fields = (
        "ID",
        "CacheType",
        "Size",
        "CreatedSince",
        "LastUsedSince",
        "UsageCount",
        "Shared",
    )

    def __init__(self, b: dict[str, Any]) -> None:
        from cli.format import human_size

        self.ID = (b.get("ID") or "")[:12]
        self.CacheType = b.get("Type") or ""
        self.Size = human_size(b.get("Size") or 0)
        self.CreatedSince = _since_rfc3339(b.get("CreatedAt") or "")
        self.LastUsedSince = _since_rfc3339(b.get("LastUsedAt") or "")
        self.UsageCount = str(b.get("UsageCount") or 0)
        self.Shared = "true" if b.get("Shared") else "false"

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        return go_json({k: getattr(self, k) for k in sorted(self._go_fields)}, escape_html=True)


class _VerboseContext(GoStruct, GoJSON):
    """What a --format template of `system df -v` sees: one diskUsageContext holding the
    rows of each kind (full IDs, container sizes without `(virtual ...)`)."""

    _go_type = "*formatter.diskUsageContext"
    _go_fields = ("Images", "Containers", "Volumes", "BuildCache")

    def __init__(self, du: dict[str, Any]) -> None:
        from cli.actions._contexts import ContainerContext, image_rows
        from cli.actions.volume import VolumeContext

        self.Images = [r for i in du.get("Images") or [] for r in image_rows(i, False, False)]
        for row in self.Images:
            row.digest = ""  # docker's disk usage rows carry no digest
        self.Containers = [
            ContainerContext({**c, "SizeRootFs": 0}, False) for c in du.get("Containers") or []
        ]
        self.Volumes = [VolumeContext(v) for v in du.get("Volumes") or []]
        self.BuildCache = [_CacheRow(b) for b in du.get("BuildCache") or []]

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        parts = [
            f'"{k}":[' + ",".join(go_json(row) for row in getattr(self, k)) + "]"
            for k in self._go_fields
        ]
        return "{" + ",".join(parts) + "}"


def _since_rfc3339(value: str) -> str:
    import datetime as dt

    from cli.format import since

    if not value or value.startswith("0001-"):
        return ""
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00").split(".")[0] + "+00:00")
    except ValueError:
        return ""
    return since(t.timestamp())


def _verbose(env: Env, du: dict[str, Any]) -> None:
    """`system df -v`: a table per kind."""
    from cli.actions._contexts import CONTAINER_HEADERS, IMAGE_HEADERS, ContainerContext, image_rows
    from cli.actions.volume import VOLUME_HEADERS, VolumeContext
    from cli.format import human_size

    env.out.write("Images space usage:\n\n")
    rows = [r for i in du.get("Images") or [] for r in image_rows(i, False, True)]
    render(
        env,
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t"
        "{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        IMAGE_HEADERS,
        rows,
    )
    env.out.write("\nContainers space usage:\n\n")
    render(
        env,
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t"
        "{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
        CONTAINER_HEADERS,
        # the SIZE column is the writable layer alone here, without `(virtual ...)`
        [ContainerContext({**c, "SizeRootFs": 0}, True) for c in du.get("Containers") or []],
    )
    env.out.write("\nLocal Volumes space usage:\n\n")
    vols = du.get("Volumes") or []
    render(env, "table {{.Name}}\t{{.Links}}\t{{.Size}}", VOLUME_HEADERS, map(VolumeContext, vols))
    cache = sorted(du.get("BuildCache") or [], key=lambda b: b.get("ID") or "")
    size = sum(b.get("Size") or 0 for b in cache if not b.get("Shared"))
    env.out.write(f"\nBuild cache usage: {human_size(size)}\n\n")
    headers = {
        "ID": "CACHE ID",
        "CacheType": "CACHE TYPE",
        "Size": "SIZE",
        "CreatedSince": "CREATED",
        "LastUsedSince": "LAST USED",
        "UsageCount": "USAGE",
        "Shared": "SHARED",
    }
    render(
        env, "table " + "\t".join(f"{{{{.{k}}}}}" for k in headers), headers, map(_CacheRow, cache)
    )


def df(env: Env, fmt: str, verbose: bool) -> int:
    """docker system df: the four-row summary, or a table per kind with -v."""
    du = env.api.get("/system/df") or {}
    if verbose and fmt in ("", "table"):
        _verbose(env, du)
        return 0
    if verbose:  # one document: the template runs once over all the rows, no newline after
        from cli.actions.system import template_output

        return template_output(env, fmt, _VerboseContext(du), parse_status=1, newline=False)
    if fmt in ("", "table"):
        fmt = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
    render(env, fmt, DF_HEADERS, _rows(du))
    return 0


def system_prune(env: Env, all_: bool, volumes: bool, force: bool, filters: list[str]) -> int:
    """docker system prune: containers, networks, (volumes), images and build cache in turn."""
    from cli.actions.image import prune_images
    from cli.actions.network import prune_networks
    from cli.actions.volume import prune_volumes

    lines = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        lines.append("all anonymous volumes not used by at least one container")
    lines.append(
        "all images without at least one container associated to them"
        if all_
        else "all dangling images"
    )
    lines.append("all build cache" if all_ else "unused build cache")
    warning = "WARNING! This will remove:\n" + "".join(f"  - {x}\n" for x in lines)
    if filters:
        warning += "\n  Items to be pruned will be filtered with:\n"
        warning += "".join(f"  - {f}\n" for f in filters)
    if not force and not confirm(env, warning):
        return 0
    flt = filters_param(filters)
    report = env.api.post("/containers/prune", {"filters": flt}) or {}
    sections = [("Deleted Containers", list(report.get("ContainersDeleted") or []))]
    space = int(report.get("SpaceReclaimed") or 0)
    sections.append(("Deleted Networks", prune_networks(env, filters)))
    if volumes:
        deleted, reclaimed = prune_volumes(env, False, filters)
        sections.append(("Deleted Volumes", deleted))
        space += reclaimed
    deleted, reclaimed = prune_images(env, all_, filters)
    sections.append(("Deleted Images", deleted))
    space += reclaimed
    cache = env.api.post("/build/prune", {"all": "1" if all_ else None, "filters": flt}) or {}
    sections.append(("Deleted build cache objects", list(cache.get("CachesDeleted") or [])))
    space += int(cache.get("SpaceReclaimed") or 0)
    print_reclaimed(env, sections, space)
    return 0
