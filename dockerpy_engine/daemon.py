"""dockerpyd: start-up, serving, reloads, and an orderly shutdown.

Order of start: check the configuration → pid file → API sockets (bound, not yet served) →
containerd (ours, unless --containerd) → database and stores → reconcile containers with
containerd → serve, and tell systemd READY=1. SIGHUP reloads the configuration file
(reload.py); SIGTERM/SIGINT run the start backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from . import __version__, graphdriver, sdnotify, userns
from .api import build_app
from .api.limits import server_options
from .api.middleware import request_timing
from .config import ConfigError, DaemonConfig, container_defaults, parse
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
from .idmap import IdentityMapping
from .images import ImageStore
from .listeners import (
    Host,
    Listener,
    ListenerError,
    api_warnings,
    check_tcp_security,
    listen_backlog,
    open_listeners,
    parse_host,
    server_tls_context,
)
from .memory import trim_heap_forever
from .metrics import Metrics, metrics_app, split_address
from .networks import NetworkOptions, NetworkService
from .networks.ipam import Pool, parse_pools
from .reload import Reloader, set_log_level
from .runtime import ContainerdRuntime, ManagedContainerd
from .store import Database
from .system import SystemService, daemon_id
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


@dataclass(slots=True)
class Checked:
    """What checking the configuration produced, for the start to use."""

    hosts: list[Host]
    registries: RegistryConfig
    pools: tuple[Pool, ...]
    metrics_addr: tuple[str, int] | None


def check(config: DaemonConfig) -> Checked:
    """Everything --validate checks, which is everything the start could refuse before it
    touches the machine: hosts, TLS files, registries, address pools, the log config."""
    try:
        hosts = [parse_host(h, bool(config.tls)) for h in config.hosts]
        server_tls_context(config)
        check_tcp_security(config, hosts)
    except ListenerError as exc:
        raise StartupError(str(exc)) from None
    try:
        registries = RegistryConfig(
            config.registry_mirrors,
            config.insecure_registries,
            certs_dirs=certs_dirs_for(config.config_file),
        )
    except (RegistryConfigError, ValueError, TypeError) as exc:
        raise StartupError(f"invalid registry configuration: {exc}") from None
    try:
        pools = parse_pools(config.default_address_pools)
    except ValueError as exc:
        raise StartupError(f"invalid default-address-pools: {exc}") from None
    if config.log_opts:  # dockerd checks the default log config when it has options
        try:
            check_log_config({"Type": config.log_driver, "Config": config.log_opts})
        except OptionError as exc:
            raise StartupError(f"failed to set log opts: {exc}") from None
    try:
        metrics_addr = split_address(config.metrics_addr) if config.metrics_addr else None
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    return Checked(hosts, registries, pools, metrics_addr)


async def serve(config: DaemonConfig, checked: Checked, notifier: sdnotify.Notifier) -> None:
    config.data_root.mkdir(parents=True, exist_ok=True, mode=0o711)
    config.exec_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:  # may add the dockremap user; moves the data root to the remapped root's
        ids = await asyncio.to_thread(userns.setup, config)
    except userns.RemapError as exc:
        raise StartupError(str(exc)) from None
    try:
        listeners = open_listeners(config, checked.hosts)
    except ListenerError as exc:
        raise StartupError(f"failed to load listeners: {exc}") from None
    try:
        await _serve_on(config, checked, listeners, notifier, ids)
    finally:
        for listener in listeners:
            listener.close()


async def _serve_on(
    config: DaemonConfig,
    checked: Checked,
    listeners: list[Listener],
    notifier: sdnotify.Notifier,
    ids: IdentityMapping,
) -> None:
    try:  # before containerd: a driver we cannot use is dockerd's start error
        config.storage_driver = await asyncio.to_thread(
            graphdriver.select, config.storage_driver, config.data_root
        )
    except graphdriver.DriverError as exc:
        raise StartupError(str(exc)) from None
    log.info("storage driver: %s", config.storage_driver)
    for key in config.ignored_keys:
        log.warning("%s: %r is a dockerd setting dockerpyd ignores", config.config_file, key)
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
        graph_driver=config.storage_driver,
        ids=ids,
    )
    await images.load_state()
    distribution = DistributionService(
        images,
        checked.registries,
        max_concurrent_downloads=config.max_concurrent_downloads or 3,
        max_concurrent_uploads=config.max_concurrent_uploads or 5,
        max_download_attempts=config.max_download_attempts,
        on_event=images.log_event,  # with the image's labels, as dockerd's LogImageEvent
    )
    defaults = container_defaults(config)  # checked by config.parse
    networks = NetworkService(
        db,
        events,
        NetworkOptions(
            bridge=config.bridge,
            bip=config.bip,
            iptables=config.iptables,
            ip_forward=config.ip_forward,
            pools=checked.pools,
            userland_proxy=config.userland_proxy,
            ipv6=config.ipv6,
            fixed_cidr_v6=config.fixed_cidr_v6,
            ip6tables=config.ip6tables,
            host_id=daemon_id(config.data_root),
            dns=defaults.dns,
        ),
    )
    await networks.load()  # bridges and rules before any container starts
    volumes = VolumeService(db, config.data_root, events, owner=ids.root_pair())
    containers = ContainerService(
        db,
        runtime,
        images,
        config.data_root,
        config.exec_root,
        events,
        live_restore=config.live_restore,
        log_config={"Type": config.log_driver, "Config": config.log_opts},
        defaults=defaults,
        networks=networks,
        volumes=volumes,
    )
    networks.bind_containers(containers.get)  # legacy links look their children up
    await asyncio.to_thread(cleanup_stale, config.data_root / "containers")  # cp views
    await containers.load()
    await networks.restore(containers.running_pid)
    execs = ExecService(containers, runtime, config.exec_root)
    system = SystemService(
        containers,
        images,
        runtime,
        config,
        await runtime.version(),
        events,
        warnings=api_warnings(config, checked.hosts),
    )
    metrics = Metrics()
    metrics.watch(containers, lambda: events.listener_count, system.engine_id)
    access_log = logging.getLogger("dockerpyd.api") if config.debug else None
    app = build_app(
        containers=containers,
        execs=execs,
        images=images,
        system=system,
        events=events,
        networks=networks,
        volumes=volumes,
        distribution=distribution,
    )
    app.middlewares.insert(0, request_timing(metrics.observe_request))
    # handler_cancellation: a client that hangs up ends its long poll (wait, logs -f) instead
    # of leaving it parked until the container exits; state changes are shielded in services.
    runner = web.AppRunner(
        app,
        access_log=access_log,
        handler_cancellation=True,
        shutdown_timeout=5.0,
        **server_options(),  # dockerd's header size and time limits (api/limits.py)
    )
    await runner.setup()
    metrics_runner: web.AppRunner | None = None
    if checked.metrics_addr is not None:
        metrics_runner = web.AppRunner(metrics_app(metrics), access_log=None)
        await metrics_runner.setup()
        try:
            await web.TCPSite(metrics_runner, *checked.metrics_addr).start()
        except OSError as exc:
            await metrics_runner.cleanup()
            await runner.cleanup()
            raise StartupError(f"failed to start metrics server: {exc}") from None
        log.info("metrics API listening on %s", config.metrics_addr)
        metrics.start_lag_probe()

    def apply(new: DaemonConfig, registries: RegistryConfig) -> None:
        containers.live_restore = new.live_restore
        distribution.reconfigure(
            registries,
            max_concurrent_downloads=new.max_concurrent_downloads,
            max_concurrent_uploads=new.max_concurrent_uploads,
            max_download_attempts=new.max_download_attempts,
        )

    reloader = Reloader(config, events, system.engine_id, apply)
    for listener in listeners:
        # aiohttp listens again on the socket it is given, with its own backlog unless told
        await web.SockSite(
            runner, listener.sock, ssl_context=listener.tls, backlog=listen_backlog()
        ).start()
        log.info("API listen on %s", listener.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reloader.reload)
    notifier.notify(sdnotify.READY)
    trimmer = asyncio.create_task(trim_heap_forever())
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        trimmer.cancel()
        notifier.notify(sdnotify.STOPPING)
        loop.remove_signal_handler(signal.SIGHUP)
        # ends long polls (wait, logs -f, attach) first
        await containers.shutdown(containers.shutdown_timeout(config.shutdown_timeout))
        events.close()
        await metrics.stop()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await runner.cleanup()
        await distribution.close()
        await runtime.close()
        if managed is not None:
            await managed.stop()
        db.close()


def main(argv: list[str] | None = None) -> int:
    try:
        config, args = parse(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"dockerpyd: {exc}", file=sys.stderr)
        return 1
    if args.version:
        print(f"dockerpyd version {__version__}")
        return 0
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    set_log_level(config.log_level)
    try:
        checked = check(config)
    except StartupError as exc:
        print(f"dockerpyd: {exc}", file=sys.stderr)
        return 1
    if args.validate:
        print("configuration OK", file=sys.stderr)  # dockerd's words, on stderr as its
        return 0
    try:
        _claim_pidfile(config.pidfile)
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    notifier = sdnotify.Notifier.from_environment()  # before any child could inherit it
    _become_subreaper()
    _few_malloc_arenas()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # uvloop is a speed-up, not a requirement
        runner = asyncio.run
    try:
        runner(serve(config, checked, notifier))
    except StartupError as exc:
        log.error("%s", exc)
        return 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            config.pidfile.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
