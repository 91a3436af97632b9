"""docker's formatter contexts for `ps` and `images`: the fields a `--format` template sees,
their table titles, and their JSON form (sorted keys, as the CLI's MarshalJSON gives)."""

from __future__ import annotations

import time

from cli import _json
from cli.format import (
    bytes_size,
    ellipsis,
    go_time,
    human_size,
    human_size_precision,
    since,
    truncate_id,
)
from cli.gotemplate import GoJSON, GoStruct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CONTAINER_HEADERS",
    "IMAGE_HEADERS",
    "STATS_HEADERS",
    "ContainerContext",
    "HistoryContext",
    "ImageContext",
    "StatsContext",
    "image_rows",
]

CONTAINER_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS",
    "Platform": "PLATFORM",
}

IMAGE_HEADERS = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "VirtualSize": "VIRTUAL SIZE",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
}


def familiar(ref: str) -> str:
    """reference.FamiliarString: drop `docker.io/` and `library/`."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if ref.startswith(prefix):
            rest = ref[len(prefix) :]
            if prefix.endswith("library/") or "/" in rest:
                return rest
    return ref


def _ports(ports: list[dict[str, Any]] | None) -> str:
    """formatter.DisplayablePorts, for the common cases (one line per mapping, in order)."""
    if not ports:
        return ""
    out = []
    for p in sorted(ports, key=lambda p: (p.get("PrivatePort", 0), p.get("Type", ""))):
        private = f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}"
        if p.get("PublicPort"):
            ip = p.get("IP") or "0.0.0.0"
            host = f"[{ip}]" if ":" in ip else ip
            out.append(f"{host}:{p['PublicPort']}->{private}")
        else:
            out.append(private)
    return ", ".join(out)


class ContainerContext(GoStruct, GoJSON):
    """formatter.ContainerContext over one /containers/json item."""

    _go_type = "*formatter.ContainerContext"
    _go_fields = (*tuple(CONTAINER_HEADERS), "Label")

    def __init__(self, c: dict[str, Any], trunc: bool, now: float | None = None) -> None:
        self.c = c
        self.trunc = trunc
        self.now = time.time() if now is None else now

    @property
    def ID(self) -> str:
        cid = self.c.get("Id", "")
        return truncate_id(cid) if self.trunc else cid

    @property
    def Names(self) -> str:
        names = [n[1:] if n.startswith("/") else n for n in self.c.get("Names") or []]
        if self.trunc:
            names = [n for n in names if "/" not in n][:1] or names[:1]
        return ",".join(names)

    @property
    def Image(self) -> str:
        image = self.c.get("Image") or ""
        if not image:
            return "<no image>"
        if self.trunc:
            image_id = self.c.get("ImageID") or ""
            if image_id and truncate_id(image_id) == truncate_id(image):
                return truncate_id(image)
            if "@" in image:
                image = image.split("@", 1)[0]
            return familiar(image)
        return image

    @property
    def Command(self) -> str:
        cmd = self.c.get("Command") or ""
        if self.trunc:
            cmd = ellipsis(cmd, 20)
        return _json.dumps(cmd, ensure_ascii=False)

    @property
    def CreatedAt(self) -> str:
        return go_time(self.c.get("Created", 0))

    @property
    def RunningFor(self) -> str:
        return since(self.c.get("Created", 0), self.now)

    @property
    def Ports(self) -> str:
        return _ports(self.c.get("Ports"))

    @property
    def State(self) -> str:
        return self.c.get("State") or ""

    @property
    def Status(self) -> str:
        return self.c.get("Status") or ""

    @property
    def Size(self) -> str:
        rw = human_size_precision(self.c.get("SizeRw") or 0, 3)
        root = self.c.get("SizeRootFs") or 0
        if root > 0:
            return f"{rw} (virtual {human_size_precision(root, 3)})"
        return rw

    @property
    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in labels.items())

    def Label(self, name: str) -> str:
        return (self.c.get("Labels") or {}).get(name, "")

    @property
    def Mounts(self) -> str:
        names = []
        for m in self.c.get("Mounts") or []:
            name = m.get("Name") or m.get("Source") or ""
            if self.trunc:
                name = ellipsis(name, 15)
            names.append(name)
        return ",".join(names)

    @property
    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    @property
    def Networks(self) -> str:
        nets = ((self.c.get("NetworkSettings") or {}).get("Networks")) or {}
        return ",".join(sorted(nets))

    @property
    def Platform(self) -> Any:
        return (
            self.c.get("ImageManifestDescriptor", {}).get("platform")
            if self.c.get("ImageManifestDescriptor")
            else None
        )

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        doc = {k: getattr(self, k) for k in sorted(CONTAINER_HEADERS)}
        return go_json(doc, escape_html=True)


class ImageContext(GoStruct, GoJSON):
    """formatter.imageContext over one /images/json item and one repository/tag row."""

    _go_type = "*formatter.imageContext"
    _go_fields = tuple(IMAGE_HEADERS)

    def __init__(
        self,
        i: dict[str, Any],
        repo: str,
        tag: str,
        digest: str,
        trunc: bool,
        now: float | None = None,
    ) -> None:
        self.i = i
        self.repo = repo
        self.tag = tag
        self.digest = digest
        self.trunc = trunc
        self.now = time.time() if now is None else now

    @property
    def ID(self) -> str:
        iid = self.i.get("Id", "")
        return truncate_id(iid) if self.trunc else iid

    @property
    def Repository(self) -> str:
        return self.repo

    @property
    def Tag(self) -> str:
        return self.tag

    @property
    def Digest(self) -> str:
        return self.digest

    @property
    def CreatedSince(self) -> str:
        created = self.i.get("Created", 0)
        return "N/A" if created == 0 else since(created, self.now)

    @property
    def CreatedAt(self) -> str:
        return go_time(self.i.get("Created", 0))

    @property
    def Size(self) -> str:
        return human_size_precision(self.i.get("Size", 0), 3)

    @property
    def Containers(self) -> str:
        n = self.i.get("Containers", -1)
        return "N/A" if n == -1 else str(n)

    @property
    def VirtualSize(self) -> str:
        return human_size(self.i.get("VirtualSize", self.i.get("Size", 0)))

    @property
    def SharedSize(self) -> str:
        n = self.i.get("SharedSize", -1)
        return "N/A" if n == -1 else human_size(n)

    @property
    def UniqueSize(self) -> str:
        n = self.i.get("SharedSize", -1)
        return "N/A" if n == -1 else human_size(self.i.get("Size", 0) - n)

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        doc = {k: getattr(self, k) for k in sorted(IMAGE_HEADERS)}
        return go_json(doc, escape_html=True)


def _split_ref(ref: str) -> tuple[str, str, str]:
    """(familiar name, tag, digest) of a RepoTags/RepoDigests entry."""
    name, digest = ([*ref.split("@", 1), ""])[:2] if "@" in ref else (ref, "")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return familiar(name), tag, digest


def image_rows(
    img: dict[str, Any], digests: bool, trunc: bool, now: float | None = None
) -> list[ImageContext]:
    """imageFormat: one row per repository:tag (per digest with --digests), digest-only rows,
    or a single `<none>` row for a dangling image."""
    tags = [t for t in img.get("RepoTags") or [] if t != "<none>:<none>"]
    dgsts = [d for d in img.get("RepoDigests") or [] if d != "<none>@<none>"]
    if not tags and not dgsts:
        return [ImageContext(img, "<none>", "<none>", "<none>", trunc, now)]
    repo_tags: dict[str, list[str]] = {}
    repo_digests: dict[str, list[str]] = {}
    for ref in tags:
        name, tag, _ = _split_ref(ref)
        if tag:
            repo_tags.setdefault(name, []).append(tag)
    for ref in dgsts:
        name, _, digest = _split_ref(ref)
        if digest:
            repo_digests.setdefault(name, []).append(digest)
    rows = []
    for repo, tag_list in repo_tags.items():
        ds = repo_digests.pop(repo, [])
        if not digests:
            ds = []
        for tag in tag_list:
            if not ds:
                rows.append(ImageContext(img, repo, tag, "<none>", trunc, now))
            for d in ds:
                rows.append(ImageContext(img, repo, tag, d, trunc, now))
    for repo, ds in repo_digests.items():
        if digests:
            rows.extend(ImageContext(img, repo, "<none>", d, trunc, now) for d in ds)
        else:
            rows.append(ImageContext(img, repo, "<none>", "", trunc, now))
    return rows


def _rfc3339(unix_seconds: float) -> str:
    """Go's time.Unix(s, 0).Format(time.RFC3339) in local time (`Z` for UTC)."""
    import datetime as dt

    t = dt.datetime.fromtimestamp(int(unix_seconds)).astimezone()
    text = t.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class HistoryContext(GoStruct, GoJSON):
    """formatter.historyContext over one /images/{name}/history item."""

    _go_type = "*image.historyContext"
    _go_fields = ("ID", "CreatedSince", "CreatedAt", "CreatedBy", "Size", "Comment")

    def __init__(self, h: dict[str, Any], human: bool, trunc: bool) -> None:
        self.h = h
        self.human = human
        self.trunc = trunc

    @property
    def ID(self) -> str:
        ident = self.h.get("Id") or ""
        return truncate_id(ident) if self.trunc and ident != "<missing>" else ident

    @property
    def CreatedAt(self) -> str:
        return _rfc3339(self.h.get("Created") or 0)

    @property
    def CreatedSince(self) -> str:
        if not self.human:
            return self.CreatedAt
        return since(self.h.get("Created") or 0)

    @property
    def CreatedBy(self) -> str:
        created_by = (self.h.get("CreatedBy") or "").replace("\t", " ")
        return ellipsis(created_by, 45) if self.trunc else created_by

    @property
    def Size(self) -> str:
        size = self.h.get("Size") or 0
        return human_size_precision(size, 3) if self.human else str(size)

    @property
    def Comment(self) -> str:
        return self.h.get("Comment") or ""

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        return go_json({k: getattr(self, k) for k in sorted(self._go_fields)}, escape_html=True)


STATS_HEADERS = {
    "Container": "CONTAINER",
    "Name": "NAME",
    "ID": "CONTAINER ID",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}


class StatsContext(GoStruct, GoJSON):
    """The stats formatter's statsContext over one stats document (None, or `invalid`, when
    collecting it failed or stopped: the figures then show as `--`), with docker's Linux
    arithmetic: memory without the inactive file cache, CPU % from the sample's delta
    against precpu_stats."""

    _go_type = "*container.statsContext"
    _go_fields = tuple(STATS_HEADERS)

    def __init__(
        self, container: str, doc: dict[str, Any] | None, trunc: bool, invalid: bool = False
    ) -> None:
        self.Container = container
        self.doc = doc or {}
        self.invalid = invalid or doc is None
        self.trunc = trunc

    @property
    def Name(self) -> str:
        name = self.doc.get("name") or ""
        return name[1:] if len(name) > 1 else "--"

    @property
    def ID(self) -> str:
        ident = self.doc.get("id") or ""
        return truncate_id(ident) if self.trunc else ident

    def _memory(self) -> tuple[float, float]:
        mem = self.doc.get("memory_stats") or {}
        usage = mem.get("usage") or 0
        extra = mem.get("stats") or {}
        cache = extra.get("total_inactive_file")  # cgroup v1
        if cache is None or cache >= usage:
            cache = extra.get("inactive_file", 0)  # cgroup v2
        return float(usage - cache if cache < usage else usage), float(mem.get("limit") or 0)

    @property
    def CPUPerc(self) -> str:
        if self.invalid:
            return "--"
        cur = self.doc.get("cpu_stats") or {}
        pre = self.doc.get("precpu_stats") or {}
        cpu_delta = ((cur.get("cpu_usage") or {}).get("total_usage") or 0) - (
            (pre.get("cpu_usage") or {}).get("total_usage") or 0
        )
        system_delta = (cur.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
        per_cpu = (cur.get("cpu_usage") or {}).get("percpu_usage") or []
        online = cur.get("online_cpus") or len(per_cpu)
        percent = cpu_delta / system_delta * online * 100 if system_delta > 0 < cpu_delta else 0.0
        return f"{percent:.2f}%"

    @property
    def MemUsage(self) -> str:
        if self.invalid:
            return "-- / --"
        used, limit = self._memory()
        return f"{bytes_size(used)} / {bytes_size(limit)}"

    @property
    def MemPerc(self) -> str:
        if self.invalid:
            return "--"
        used, limit = self._memory()
        return f"{used / limit * 100 if limit else 0.0:.2f}%"

    @property
    def NetIO(self) -> str:
        if self.invalid:
            return "--"
        nets = (self.doc.get("networks") or {}).values()
        rx = sum(n.get("rx_bytes") or 0 for n in nets)
        tx = sum(n.get("tx_bytes") or 0 for n in nets)
        return f"{human_size_precision(rx, 3)} / {human_size_precision(tx, 3)}"

    @property
    def BlockIO(self) -> str:
        if self.invalid:
            return "--"
        entries = (self.doc.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
        read = sum(e.get("value") or 0 for e in entries if (e.get("op") or " ")[0] in "rR")
        write = sum(e.get("value") or 0 for e in entries if (e.get("op") or " ")[0] in "wW")
        return f"{human_size_precision(read, 3)} / {human_size_precision(write, 3)}"

    @property
    def PIDs(self) -> str:
        if self.invalid:
            return "--"
        return str((self.doc.get("pids_stats") or {}).get("current") or 0)

    def go_json(self) -> str:
        from cli.gotemplate import go_json

        return go_json({k: getattr(self, k) for k in sorted(STATS_HEADERS)}, escape_html=True)
