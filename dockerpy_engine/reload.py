"""SIGHUP: apply the configuration file's reloadable settings to the running daemon.

dockerd's daemon.Reload: debug, labels, registry mirrors and insecure registries, live
restore and the transfer limits (reset to their defaults when the file no longer sets them),
and log-level besides. A file that does not load or validate changes nothing: the error is
logged and the daemon goes on with what it had. A reload that succeeds is announced as a
`daemon` event `reload` whose attributes are the settings now in force.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

from .config import ConfigError, DaemonConfig, reloadable_values
from .distribution import RegistryConfig, RegistryConfigError, certs_dirs_for
from .events import EventBus

log = logging.getLogger(__name__)

_DEFAULTS = DaemonConfig()
# settings that fall back to the default when the file no longer sets them (or sets 0)
_RESET = ("max_concurrent_downloads", "max_concurrent_uploads", "max_download_attempts")


def merged(current: DaemonConfig, values: dict[str, Any]) -> DaemonConfig:
    """The configuration a reload with the file's `values` leads to (`current` untouched)."""
    new = dataclasses.replace(current)
    for dest, value in values.items():
        if dest not in _RESET:
            setattr(new, dest, value)
    for dest in _RESET:
        setattr(new, dest, values.get(dest) or getattr(_DEFAULTS, dest))
    if "log_level" not in values and current.debug and not new.debug:
        new.log_level = "info"  # dockerd's debug.Disable: back to info
    if new.debug:
        new.log_level = "debug"
    return new


def event_attributes(config: DaemonConfig, name: str) -> dict[str, str]:
    """dockerd's reload event attributes, for the settings this daemon has."""
    mirrors = config.registry_mirrors
    attributes = {
        "debug": _bool(config.debug),
        "labels": json.dumps(config.labels, separators=(",", ":")),
        "registry-mirrors": json.dumps(mirrors, separators=(",", ":")),
        "insecure-registries": json.dumps(config.insecure_registries, separators=(",", ":")),
        "live-restore": _bool(config.live_restore),
        "max-concurrent-downloads": str(config.max_concurrent_downloads),
        "max-concurrent-uploads": str(config.max_concurrent_uploads),
        "max-download-attempts": str(config.max_download_attempts),
        "default-runtime": "runc",
        "runtimes": "",  # dockerd lists configured runtimes only, not the stock runc
    }
    if name:
        attributes["name"] = name
    return attributes


def _bool(value: bool) -> str:
    return "true" if value else "false"


Apply = Callable[[DaemonConfig, RegistryConfig], None]
"""Hands the new settings to the services (live restore, registries, transfer limits)."""


class Reloader:
    """Holds the daemon's live DaemonConfig and changes it in place on each reload, so every
    reader of it (`docker info` among them) sees the new settings at once."""

    def __init__(
        self,
        config: DaemonConfig,
        events: EventBus,
        daemon_id: str,
        apply: Apply,
        hostname: Callable[[], str] = socket.gethostname,
    ) -> None:
        self.config = config
        self._events = events
        self._daemon_id = daemon_id
        self._apply = apply
        self._hostname = hostname

    def reload(self) -> bool:
        """Read the file again; apply it, or keep everything as it was. True if applied."""
        log.info("Got signal to reload configuration, reloading from: %s", self.config.config_file)
        try:
            new = merged(self.config, reloadable_values(self.config))
            registries = RegistryConfig(
                new.registry_mirrors,
                new.insecure_registries,
                certs_dirs=certs_dirs_for(new.config_file),
            )
        except (ConfigError, RegistryConfigError, ValueError, TypeError) as exc:
            log.error("Error reloading configuration: %s", exc)
            return False
        self._apply(new, registries)
        for field in dataclasses.fields(DaemonConfig):
            setattr(self.config, field.name, getattr(new, field.name))
        set_log_level(new.log_level)
        attributes = event_attributes(new, self._hostname())
        log.info("Reloaded configuration: %s", json.dumps(attributes, sort_keys=True))
        self._events.publish("daemon", "reload", self._daemon_id, attributes)
        return True


def set_log_level(level: str) -> None:
    """dockerd's level names onto logging's (warn → WARNING, fatal → CRITICAL)."""
    name = {"warn": "WARNING", "fatal": "CRITICAL"}.get(level, level).upper()
    logging.getLogger().setLevel(name)
