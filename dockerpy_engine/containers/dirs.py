"""A container's directories: its own under `<data-root>/containers/<id>` (upper/, work/, shm/
and its /etc files), its FIFOs under `<exec-root>/containers/<id>`, under vfs its rootfs tree,
and the image layers below it; made at create, removed with the container, and found stale at
daemon start.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import userns
from ..graphdriver import VFS
from ..idmap import IdentityMapping
from ..images import ImageStore
from ..networks.dns import resolv_conf as embedded_dns_resolv_conf
from . import etcfiles, hostenv, vfs
from .defaults import ContainerDefaults
from .types import Container


@dataclass(frozen=True, slots=True)
class ContainerDirs:
    """Where each container's directories are."""

    data_root: Path
    root: Path  # <data-root>/containers
    fifo_root: Path  # <exec-root>/containers

    @classmethod
    def under(cls, data_root: Path, exec_root: Path) -> ContainerDirs:
        return cls(data_root, data_root / "containers", exec_root / "containers")

    def of(self, container_id: str) -> Path:
        return self.root / container_id

    def fifos(self, container_id: str) -> Path:
        return self.fifo_root / container_id

    def shm(self, container_id: str) -> Path:
        """Where a `--ipc shareable` container's /dev/shm is mounted for others to join."""
        return self.root / container_id / "shm"

    def tree(self, c: Container) -> Path | None:
        """A vfs container's rootfs copy; None under overlay2."""
        return vfs.tree_dir(self.data_root, c.id) if c.driver == VFS else None

    def stale(self, known: Callable[[str], bool]) -> list[Path]:
        """The directories of containers that do not exist (a create cut short by a kill:
        its record is written last)."""
        return [
            entry
            for root in (self.root, vfs.trees_root(self.data_root))
            if root.is_dir()
            for entry in root.iterdir()
            if _is_id(entry.name) and not known(entry.name)
        ]


def lower_dirs(images: ImageStore, c: Container) -> list[Path]:
    """The image's layer directories, top-most first: held for the container at create,
    so they outlive a forced `rmi` of its image as with dockerd."""
    return [images.diff_dir(chain) for chain in reversed(c.layer_chains)]


def make_dirs(
    c: Container,
    directory: Path,
    ids: IdentityMapping,
    defaults: ContainerDefaults,
    embedded_dns: Callable[[str], bool],
) -> None:
    """The container's directory: upper/ and work/ and its /etc files. With a remap, the
    remapped root traverses it and owns what it writes to (dockerd's create and
    setupMounts)."""
    for sub in ("upper", "work"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    if not ids.empty:
        userns.traversable(directory, ids)
        userns.give_to_root(ids, directory / "upper", directory / "work")
    if not c.hosts_path.startswith(str(directory)):
        return  # the network files are another container's
    hostname = c.config["Hostname"]
    Path(c.hostname_path).write_text(hostname + "\n")
    hc = c.host_config
    env = hostenv.probe_environment()
    host_network = hc.get("NetworkMode") == "host"
    base = _read_text("/etc/hosts") if host_network else etcfiles.DEFAULT_HOSTS
    hosts = etcfiles.hosts_file(hc.get("ExtraHosts"), env.host_gateway_ip, base)
    Path(c.hosts_path).write_text(hosts)
    host_resolv = etcfiles.read_host_resolv_conf()
    dns = defaults.dns_settings(hc)
    if host_network and not any(dns):
        resolv = host_resolv  # the host's resolvers, loopback ones too, are reachable
    elif embedded_dns(hc.get("NetworkMode")):
        resolv = embedded_dns_resolv_conf(host_resolv, dns[1] or (), dns[2] or ())
    else:
        resolv = etcfiles.resolv_conf(host_resolv, *dns)
    Path(c.resolv_conf_path).write_text(resolv)
    userns.give_to_root(ids, c.hostname_path, c.hosts_path, c.resolv_conf_path)


def reset_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)


def remove_dirs(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _is_id(name: str) -> bool:
    """A container ID: 64 lowercase hex digits."""
    return len(name) == 64 and all(ch in "0123456789abcdef" for ch in name)
