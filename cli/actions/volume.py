"""Volume commands: volume create, ls, rm, prune (volume inspect shares
cli.actions.inspect)."""

from __future__ import annotations

from cli.actions._common import confirm, filters_param, natural_key, print_reclaimed, render
from cli.api import APIError
from cli.env import Env
from cli.gotemplate import GoJSON, GoStruct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["VOLUME_HEADERS", "VolumeContext", "create", "ls", "prune", "rm", "update"]

VOLUME_HEADERS = {
    "Name": "VOLUME NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Links": "LINKS",
    "Size": "SIZE",
    "Group": "GROUP",
    "Availability": "AVAILABILITY",
    "Status": "STATUS",
}


class VolumeContext(GoStruct, GoJSON):
    """formatter.volumeContext over one /volumes item."""

    _go_type = "*formatter.volumeContext"
    _go_fields = (*VOLUME_HEADERS, "Label")

    def __init__(self, v: dict[str, Any]) -> None:
        self.v = v

    Name = property(lambda self: self.v.get("Name") or "")
    Driver = property(lambda self: self.v.get("Driver") or "")
    Scope = property(lambda self: self.v.get("Scope") or "")
    Mountpoint = property(lambda self: self.v.get("Mountpoint") or "")

    @property
    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in (self.v.get("Labels") or {}).items())

    def Label(self, name: str) -> str:
        return (self.v.get("Labels") or {}).get(name, "")

    def _usage(self, key: str) -> str:
        from cli.format import human_size

        usage = self.v.get("UsageData") or {}
        if usage.get(key, -1) == -1:
            return "N/A"
        return human_size(usage[key]) if key == "Size" else str(usage[key])

    Links = property(lambda self: self._usage("RefCount"))
    Size = property(lambda self: self._usage("Size"))
    Group = property(lambda self: "N/A")
    Availability = property(lambda self: "N/A")
    Status = property(lambda self: "N/A")

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        doc = {k: getattr(self, k) for k in sorted(VOLUME_HEADERS)}
        return go_json(doc, escape_html=True)


def create(env: Env, name: str, driver: str, opts: list[str], labels: list[str]) -> int:
    """docker volume create: the body as the docker client sends it (empty fields left out,
    maps in Go's sorted key order, which the daemon keeps and inspect shows)."""

    def kv(items: list[str]) -> dict[str, str]:
        return dict(sorted(i.partition("=")[::2] for i in items))

    fields = {"Driver": driver, "DriverOpts": kv(opts), "Labels": kv(labels), "Name": name}
    body = {k: v for k, v in fields.items() if v}
    vol = env.api.post("/volumes/create", json_body=body) or {}
    env.out.write(f"{vol.get('Name', '')}\n")
    return 0


def ls(env: Env, quiet: bool, filters: list[str], fmt: str) -> int:
    doc = env.api.get("/volumes", {"filters": filters_param(filters)}) or {}
    vols = sorted(doc.get("Volumes") or [], key=lambda v: natural_key(v.get("Name") or ""))
    fmt = fmt or env.config.get("volumesFormat", "")
    if quiet:
        fmt = "{{.Name}}"
    elif fmt in ("", "table"):
        fmt = "table {{.Driver}}\t{{.Name}}"
    render(env, fmt, VOLUME_HEADERS, [VolumeContext(v) for v in vols])
    for w in doc.get("Warnings") or []:
        env.err.write(f"{w}\n")
    return 0


def rm(env: Env, volumes: list[str], force: bool) -> int:
    """docker volume rm: each name on success; errors after, exit 1."""
    from urllib.parse import quote

    errors = []
    for name in volumes:
        try:
            env.api.delete(f"/volumes/{quote(name, safe='')}", {"force": "1" if force else None})
        except APIError as e:
            errors.append(str(e))
            continue
        env.out.write(f"{name}\n")
    if errors:
        env.err.write("\n".join(errors) + "\n")
        return 1
    return 0


def prune(env: Env, all_: bool, force: bool, filters: list[str]) -> int:
    warning = (
        "WARNING! This will remove all local volumes not used by at least one container."
        if all_
        else "WARNING! This will remove anonymous local volumes not used by at least one container."
    )
    if not force and not confirm(env, warning):
        return 0
    deleted, space = prune_volumes(env, all_, filters)
    print_reclaimed(env, [("Deleted Volumes", deleted)], space)
    return 0


def prune_volumes(env: Env, all_: bool, filters: list[str]) -> tuple[list[str], int]:
    flt = [*filters, "all=true"] if all_ else list(filters)
    report = env.api.post("/volumes/prune", {"filters": filters_param(flt)}) or {}
    return list(report.get("VolumesDeleted") or []), int(report.get("SpaceReclaimed") or 0)


def update(env: Env, name: str, availability: str) -> int:
    """docker volume update: only swarm's cluster volumes can change (their availability),
    and this daemon has none, so it ends with docker's refusal after the lookup."""
    from urllib.parse import quote

    from cli.api import CLIError

    volume = env.api.get(f"/volumes/{quote(name, safe='')}") or {}
    if not volume.get("ClusterVolume"):
        raise CLIError("can only update cluster volumes")
    spec = dict(volume["ClusterVolume"].get("Spec") or {}, Availability=availability)
    version = (volume["ClusterVolume"].get("Version") or {}).get("Index", 0)
    env.api.request(
        "PUT", f"/volumes/{quote(name, safe='')}", {"version": version}, json_body={"Spec": spec}
    ).close()
    return 0
