"""The OCI spec a container's task runs with, and the process spec its execs (and health
probes) start from: Config and HostConfig with the daemon's defaults, the user resolved in the
image's passwd and group files.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import errdefs
from ..idmap import IdentityMapping
from ..images import ImageStore
from . import namespace_modes, spec_inputs
from .defaults import ContainerDefaults
from .dirs import ContainerDirs
from .spec import SpecInput, build_spec
from .table import ContainerTable
from .types import Container
from .users import ExecUser, resolve_user


class TaskSpecs:
    """Specs from the records, the daemon's defaults and the image's files."""

    def __init__(
        self,
        table: ContainerTable,
        images: ImageStore,
        defaults: ContainerDefaults,
        ids: IdentityMapping,
        dirs: ContainerDirs,
    ) -> None:
        self._table = table
        self._images = images
        self._defaults = defaults
        self._ids = ids
        self._dirs = dirs

    def spec(
        self,
        c: Container,
        volume_mounts: list[dict[str, Any]] | None = None,
        link_env: list[str] | None = None,
    ) -> dict[str, Any]:
        """The OCI spec; runs in a thread because it reads the image's passwd/group files.
        Legacy links' variables come before the container's Env, which overrides them."""
        user = self._user(c, c.config.get("User") or "")
        # Everything else comes from Config/HostConfig. A running container's spec is only
        # recomputed for its process (exec after a daemon restart): joins are not resolved.
        options = spec_inputs.spec_options(
            c.config,
            {
                **c.host_config,
                "Ulimits": self._defaults.merged_ulimits(c.host_config.get("Ulimits")),
            },
            [c.path, *c.args],
            shm_dir=str(self._dirs.shm(c.id)),
            lookup=None if c.id in self._table.live else self._donor,
            userns_remap=not self._ids.empty,
        )
        options["extra_mounts"] = [*options["extra_mounts"], *(volume_mounts or ())]
        options["env"] = [*(link_env or ()), *options["env"]]
        return build_spec(
            SpecInput(
                id=c.id,
                uid=user.uid,
                gid=user.gid,
                additional_gids=list(user.additional_gids),
                tty=c.tty,
                etc_files={
                    "/etc/resolv.conf": c.resolv_conf_path,
                    "/etc/hostname": c.hostname_path,
                    "/etc/hosts": c.hosts_path,
                },
                id_mappings=self._ids,
                **options,
            )
        )

    async def exec_process(self, c: Container, user: str) -> dict[str, Any]:
        """The process spec of an exec in the running container: the task's own (env,
        capabilities, rlimits…), with `user` resolved in the image when given."""
        live = self._table.live.get(c.id)
        if c.state.status == "paused":
            raise errdefs.Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if live is None or c.state.status != "running":
            raise errdefs.Conflict(f"Container {c.id} is not running")
        if live.spec is None:  # re-attached after a daemon restart
            live.spec = await asyncio.to_thread(self.spec, c)
        process = dict(live.spec["process"])
        if user:
            ids = await asyncio.to_thread(self._user, c, user)
            process["user"] = {"uid": ids.uid, "gid": ids.gid}
            if ids.additional_gids:
                process["user"]["additionalGids"] = list(ids.additional_gids)
        return process

    def _user(self, c: Container, user: str) -> ExecUser:
        return resolve_user(
            user,
            lambda path: self._read_image_file(c, path),
            c.host_config.get("GroupAdd") or [],
        )

    def _read_image_file(self, c: Container, path: str) -> bytes | None:
        if not self._images.exists(c.image_id):
            return None
        return self._images.read_file(self._images.get(c.image_id), path)

    def _donor(self, ref: str) -> namespace_modes.Donor:
        """A container whose PID/IPC namespace another joins (`--pid/--ipc container:<ref>`)."""
        d = self._table.get(ref)
        return namespace_modes.Donor(
            id=d.id,
            status=d.state.status,
            pid=d.state.pid,
            host_config=d.host_config,
            shm_dir=str(self._dirs.shm(d.id)),
        )
