"""The storage driver: overlay2 (the default) or vfs, chosen once at start as dockerd does.

`storage-driver` in daemon.json or `-s/--storage-driver` names one; a name we do not have is
dockerd's start error. Without one, overlay2 is used when an overlay can be mounted under the
data root (the mount test of dockerd's overlay2 Init), else vfs, the driver that works on any
filesystem, with a log line saying so: dockerd's driver priority list ends in vfs the same way.

What the driver changes is the containers' root filesystems (containers/vfs.py, rootfs.py)
and the builder's scratch layers; the unpacked image layers under `layers/` serve both.
Unlike dockerd, which keeps one image and layer store per driver, images stay when the driver
changes; a container is tied to the driver it was created under (`Container.driver`) and
its start is refused under the other one.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
from pathlib import Path

from . import errdefs
from .containers.rootfs import mount_overlay
from .fsutil import unmount

log = logging.getLogger(__name__)

OVERLAY2 = "overlay2"
VFS = "vfs"
DRIVERS = (OVERLAY2, VFS)


class DriverError(Exception):
    """The configured storage driver cannot be used: the daemon does not start."""


def select(configured: str, data_root: Path) -> str:
    """The driver to run with: the configured one, else overlay2 if it works here, else vfs."""
    if configured:
        if configured not in DRIVERS:
            log.error("Failed to GetDriver graph: driver=%s home-dir=%s", configured, data_root)
            raise DriverError(f"error initializing graphdriver: driver not supported: {configured}")
        log.info("[graphdriver] trying configured driver: %s", configured)
        return configured
    if overlay_supported(data_root / "tmp"):
        return OVERLAY2
    log.warning(
        "[graphdriver] overlayfs cannot be mounted under %s: using the vfs storage driver "
        "(every container gets a full copy of its image)",
        data_root,
    )
    return VFS


def overlay_supported(scratch: Path) -> bool:
    """Whether a writable overlay mounts on this filesystem (two lowers, an upper and a work
    dir, as overlay2's check does); the probe is unmounted and removed either way."""
    probe = scratch / f"overlay-probe-{secrets.token_hex(4)}"
    try:
        for name in ("lower1", "lower2", "upper", "work", "merged"):
            (probe / name).mkdir(parents=True)
        try:
            mount_overlay(
                probe / "merged",
                [probe / "lower2", probe / "lower1"],
                probe / "upper",
                probe / "work",
            )
        except errdefs.EngineError as exc:
            log.debug("overlay mount test failed: %s", exc.message)
            return False
        with contextlib.suppress(errdefs.EngineError):
            unmount(probe / "merged")
        return True
    except OSError as exc:
        log.debug("overlay mount test failed: %s", exc)
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def status(driver: str) -> list[list[str]] | None:
    """`docker info`'s DriverStatus: overlay2's facts; vfs reports none (nil, as dockerd's)."""
    if driver == VFS:
        return None
    return [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]]
