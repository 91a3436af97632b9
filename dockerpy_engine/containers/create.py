"""A new container: the request checked and merged with its image into a record, and what the
record needs set up before it is written (its directories and /etc files, volumes, network
endpoints, layer holds and, under vfs, its rootfs copy). The container exists once its row
commits, so a create cut short leaves nothing that daemon start does not clear.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errdefs, userns
from ..idmap import IdentityMapping
from ..images import ImageStore
from ..images.layerstore import MAX_LAYER_DEPTH
from ..volumes import VolumeService
from . import adapt, hostconfig, merge, names, vfs
from .defaults import ContainerDefaults
from .dirs import ContainerDirs, lower_dirs, make_dirs, remove_dirs
from .restart import RestartPolicy
from .streams import ContainerStreams
from .table import ContainerTable
from .types import Container, CreateOptions, now_rfc3339

if TYPE_CHECKING:
    from ..networks import NetworkService


class Creator:
    """New containers get the daemon's storage driver (`driver`) and defaults."""

    def __init__(
        self,
        table: ContainerTable,
        images: ImageStore,
        networks: NetworkService | None,
        volumes: VolumeService,
        dirs: ContainerDirs,
        streams: ContainerStreams,
        defaults: ContainerDefaults,
        ids: IdentityMapping,
        driver: str,
    ) -> None:
        self._table = table
        self._images = images
        self._networks = networks
        self._volumes = volumes
        self._dirs = dirs
        self._streams = streams
        self._defaults = defaults
        self._ids = ids
        self._driver = driver

    async def create(self, opts: CreateOptions) -> tuple[str, list[str]]:
        """Validate, merge with the image, persist: the container exists once its row commits."""
        warnings = hostconfig.validate_host_config(
            opts.host_config, opts.config, userns_remap=not self._ids.empty
        )
        if opts.name:
            name = names.validate(opts.name)
            self._table.check_name_free(name)
        else:
            name = self._table.generated_name()
        image_ref = opts.config.get("Image") or ""
        if not image_ref:
            raise errdefs.InvalidParameter("config cannot be empty in order to create a container")
        policy = RestartPolicy.from_api(opts.host_config.get("RestartPolicy"))
        if policy.name not in ("", "no") and opts.host_config.get("AutoRemove"):
            raise errdefs.InvalidParameter(
                "can't create 'AutoRemove' container with restart policy"
            )
        image = self._images.get(image_ref)
        if len(image.chain_ids) >= MAX_LAYER_DEPTH:  # overlay2: its init and RW layers on top
            raise errdefs.System("max depth exceeded")
        config = merge.merge_config(opts.config, image.container_config)
        path, args = merge.command_of(config)
        log_config = self._streams.log_config_for(opts.host_config.get("LogConfig"))
        container_id = secrets.token_hex(32)
        directory = self._dirs.of(container_id)
        network_mode = opts.host_config.get("NetworkMode") or "default"
        default_hostname = socket.gethostname() if network_mode == "host" else container_id[:12]
        hostname = config.get("Hostname") or default_hostname
        container = Container(
            id=container_id,
            name=name,
            created=now_rfc3339(),
            image_id=image.id,
            path=path,
            args=args,
            config=merge.config_for_api(config, hostname, image_ref),
            host_config=adapt.adapt_host_config(
                _host_config_defaults(opts.host_config, self._defaults.shm_size),
                lambda ref: self._table.get(ref).id,
            ),
            log_path=str(directory / f"{container_id}-json.log"),
            resolv_conf_path=str(directory / "resolv.conf"),
            hostname_path=str(directory / "hostname"),
            hosts_path=str(directory / "hosts"),
            layer_chains=image.chain_ids,
            driver=self._driver,
        )
        container.host_config["LogConfig"] = log_config  # inspect shows the effective one
        if log_config["Type"] != "json-file":
            container.log_path = ""  # dockerd sets LogPath for json-file only
        self._share_network_files(container)
        container.mount_points = await self._volumes.attach_container(
            container.config, container.host_config, self._mounts_of
        )
        if self._networks is not None:
            self._networks.on_create(container, opts.networking_config)
        await self._images.hold_layers(container_id, image)
        await asyncio.to_thread(
            make_dirs, container, directory, self._ids, self._defaults, self._embedded_dns
        )
        tree = self._dirs.tree(container)
        if tree is not None:
            await self._copy_image(container, tree)
        self._table.save(container)
        self._table.add(container)
        self._table.event(container, "create")
        return container_id, warnings

    async def _copy_image(self, c: Container, tree: Path) -> None:
        """vfs: the container's rootfs is a copy of its image, made now (in a worker thread,
        as dockerd's vfs Create copies the parent layer); if that fails, the container is not
        created and what create had set up for it goes."""
        try:
            await asyncio.to_thread(vfs.make_tree, tree, lower_dirs(self._images, c))
            await asyncio.to_thread(userns.give_to_root, self._ids, tree)
        except BaseException as exc:
            await asyncio.to_thread(remove_dirs, self._dirs.of(c.id))
            await self._images.release_holds(c.id)
            if self._networks is not None:
                self._networks.on_remove(c)
            await self._volumes.detach_container(c.id, c.mount_points, remove_anonymous=True)
            if isinstance(exc, OSError):
                raise errdefs.System(f"copying the image for the vfs rootfs: {exc}") from None
            raise

    def _mounts_of(self, ref: str) -> list[dict[str, Any]]:
        """--volumes-from: the donor's mount points; an unknown donor is the client's error
        (400, as dockerd: a 404 from create would make the CLI pull the image)."""
        try:
            return self._table.get(ref).mount_points
        except errdefs.NotFound as exc:
            raise errdefs.InvalidParameter(exc.message) from None

    def _share_network_files(self, c: Container) -> None:
        """`--network container:x` shares x's hostname, hosts and resolv.conf files, as dockerd
        points the joiner at the donor's (the donor was resolved to its ID at create)."""
        mode = c.host_config.get("NetworkMode") or ""
        if mode.startswith("container:"):
            donor = self._table.get(mode.split(":", 1)[1])
            c.hostname_path = donor.hostname_path
            c.hosts_path = donor.hosts_path
            c.resolv_conf_path = donor.resolv_conf_path
            c.config["Hostname"] = donor.config["Hostname"]

    def _embedded_dns(self, network_mode: str) -> bool:
        """Whether the container's resolv.conf names the embedded DNS (user-defined networks)."""
        return self._networks is not None and self._networks.embedded_dns(network_mode)


def _host_config_defaults(host_config: dict[str, Any], shm_size: int) -> dict[str, Any]:
    """The HostConfig as inspect shows it: the client's values over dockerd's defaults (the
    daemon's default-shm-size where the client gave none, or 0)."""
    defaults: dict[str, Any] = {
        "Binds": None,
        "NetworkMode": "default",
        "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False,
        "CapAdd": None,
        "CapDrop": None,
        "Privileged": False,
        "ReadonlyRootfs": False,
        "LogConfig": {"Type": "json-file", "Config": {}},
    }
    defaults.update({k: v for k, v in host_config.items() if v is not None})
    defaults["ShmSize"] = defaults.get("ShmSize") or shm_size
    if not defaults.get("NetworkMode"):
        defaults["NetworkMode"] = "default"
    return defaults
