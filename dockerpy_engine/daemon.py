"""dockerpyd: start-up, serving, and an orderly shutdown.

Order of start: pid file → containerd (ours, unless --containerd) → database and stores →
reconcile containers with containerd → listen. Shutdown runs it backwards on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import grp
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from . import __version__
from .api import build_app
from .config import ConfigError, DaemonConfig, parse
from .containers.exec import ExecService
from .containers.logdrivers import OptionError, check_log_config
from .containers.rootfs import cleanup_stale
from .containers.service import ContainerService
from .distribution import (
    DistributionService,
    RegistryConfig,
    RegistryConfigError,
    certs_dirs_for,
)
from .events import EventBus
from .images import ImageStore
from .networks import NetworkOptions, NetworkService
from .networks.ipam import parse_pools
from .runtime import ContainerdRuntime, ManagedContainerd
from .store import Database
from .system import SystemService
from .volumes import VolumeService

log = logging.getLogger("dockerpyd")

PR_SET_CHILD_SUBREAPER = 36


class StartupError(Exception):
    """The daemon cannot start; the message says why."""


M_ARENA_MAX = -8


def _few_malloc_arenas() -> None:
    """glibc gives each thread (gRPC's, the executor's) an arena of its own and rarely hands the
    memory back; two arenas keep the daemon's resident size near its working set."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mallopt(M_ARENA_MAX, 2)


def _become_subreaper() -> None:
    """Orphaned shims get reparented to us, not to a PID 1 that may never reap them."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _claim_pidfile(path: Path) -> None:
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pid = 0
    if pid and pid != os.getpid() and Path(f"/proc/{pid}").exists():
        raise StartupError(f"pid file found, ensure dockerpyd is not running or delete {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(os.getpid()))
    tmp.rename(path)


def _unix_path(host: str) -> str:
    if not host.startswith("unix://"):
        raise StartupError(f"only unix:// hosts are supported for now, not {host}")
    return host[len("unix://") :]


def _claim_socket(path: str) -> None:
    """Refuse to steal the socket of a live daemon; clear a stale one."""
    if not os.path.exists(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise StartupError(f"another daemon is already serving {path}; choose another with -H")


def _socket_permissions(path: str, group: str) -> None:
    """0660 owned by the configured group when it exists (dockerd's docker group rule)."""
    gid = 0
    with contextlib.suppress(KeyError):
        gid = grp.getgrnam(group).gr_gid
    os.chown(path, 0, gid)
    os.chmod(path, 0o660)


async def serve(config: DaemonConfig) -> None:
    config.data_root.mkdir(parents=True, exist_ok=True, mode=0o711)
    config.exec_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    socket_paths = [_unix_path(h) for h in config.hosts]
    try:
        registries = RegistryConfig(
            config.registry_mirrors,
            config.insecure_registries,
            certs_dirs=certs_dirs_for(config.config_file),
        )
    except (RegistryConfigError, ValueError, TypeError) as exc:
        raise StartupError(f"invalid registry configuration: {exc}") from None
    for path in socket_paths:
        _claim_socket(path)
    managed: ManagedContainerd | None = None
    address = config.containerd
    if not address:
        managed = ManagedContainerd(config.data_root, config.exec_root)
        await managed.start()
        address = managed.address
    runtime = ContainerdRuntime(address, namespace=config.containerd_namespace)
    await runtime.connect()
    db = Database(config.data_root / "dockerpy.db")
    events = EventBus()
    images = ImageStore(
        db,
        config.data_root,
        on_event=lambda action, image_id, attrs: events.publish("image", action, image_id, attrs),
    )
    await images.load_state()
    distribution = DistributionService(
        images,
        registries,
        max_concurrent_downloads=config.max_concurrent_downloads or 3,
        max_concurrent_uploads=config.max_concurrent_uploads or 5,
        max_download_attempts=config.max_download_attempts,
        on_event=images.log_event,  # with the image's labels, as dockerd's LogImageEvent
    )
    try:
        pools = parse_pools(config.default_address_pools)
    except ValueError as exc:
        raise StartupError(f"invalid default-address-pools: {exc}") from None
    networks = NetworkService(
        db,
        events,
        NetworkOptions(
            bridge=config.bridge,
            bip=config.bip,
            iptables=config.iptables,
            ip_forward=config.ip_forward,
            pools=pools,
            userland_proxy=config.userland_proxy,
        ),
    )
    await networks.load()  # bridges and rules before any container starts
    volumes = VolumeService(db, config.data_root, events)
    containers = ContainerService(
        db,
        runtime,
        images,
        config.data_root,
        config.exec_root,
        events,
        live_restore=config.live_restore,
        log_config={"Type": config.log_driver, "Config": config.log_opts},
        networks=networks,
        volumes=volumes,
    )
    await asyncio.to_thread(cleanup_stale, config.data_root / "containers")  # cp views
    await containers.load()
    await networks.restore(containers.running_pid)
    execs = ExecService(containers, runtime, config.exec_root)
    system = SystemService(
        containers,
        images,
        runtime,
        config.data_root,
        await runtime.version(),
        config.debug,
        config.live_restore,
        events,
    )
    access_log = logging.getLogger("dockerpyd.api") if config.debug else None
    # handler_cancellation: a client that hangs up ends its long poll (wait, logs -f) instead
    # of leaving it parked until the container exits; state changes are shielded in services.
    runner = web.AppRunner(
        build_app(
            containers=containers,
            execs=execs,
            images=images,
            system=system,
            events=events,
            networks=networks,
            volumes=volumes,
            distribution=distribution,
        ),
        access_log=access_log,
        handler_cancellation=True,
        shutdown_timeout=5.0,
    )
    await runner.setup()
    for path in socket_paths:
        await web.UnixSite(runner, path).start()
        _socket_permissions(path, config.group)
    log.info("API listening on %s", ", ".join(socket_paths))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await containers.shutdown()  # ends long polls (wait, logs -f, attach) first
        events.close()
        await runner.cleanup()
        await distribution.close()
        await runtime.close()
        if managed is not None:
            await managed.stop()
        db.close()
        for path in socket_paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def main(argv: list[str] | None = None) -> int:
    try:
        config, args = parse(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"dockerpyd: {exc}", file=sys.stderr)
        return 1
    if args.version:
        print(f"dockerpyd version {__version__}")
        return 0
    if config.log_opts:  # dockerd checks the default log config when it has options
        try:
            check_log_config({"Type": config.log_driver, "Config": config.log_opts})
        except OptionError as exc:
            print(f"dockerpyd: failed to set log opts: {exc}", file=sys.stderr)
            return 1
    if args.validate:
        print("configuration OK")
        return 0
    level = {"warn": "WARNING", "fatal": "CRITICAL"}.get(config.log_level, config.log_level)
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        _claim_pidfile(config.pidfile)
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    _become_subreaper()
    _few_malloc_arenas()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # uvloop is a speed-up, not a requirement
        runner = asyncio.run
    try:
        runner(serve(config))
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            config.pidfile.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
