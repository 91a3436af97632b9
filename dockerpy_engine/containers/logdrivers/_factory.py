"""Choosing, checking and opening a container's log driver: dockerd's logger factory, its
ValidateLogOpts and mergeAndVerifyLogConfig, and the dual-logging cache of StartLogger.

Dual logging: a driver that cannot be read back (syslog, gelf, fluentd, and journald here, which
does not read the journal) also writes to a `local`-format cache, `container-cached.log` in the
container's directory, so `docker logs` works with it as with dockerd since 20.10. The cache
takes the local driver's options with a `cache-` prefix (cache-max-size 20m, cache-max-file 5,
cache-compress true by default); `cache-disabled=true` turns it off, and then `docker logs` is
refused with dockerd's 501 "configured logging driver does not support reading", as it always is
with `none`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ... import errdefs
from . import fluentd, gelf, journald, jsonfile, local, syslog
from ._base import BaseDriver, LogInfo, LogReader, Message
from ._net import DEFAULT_BUFFER
from ._options import CACHE_KEYS, CACHE_PREFIX, MODE_KEYS, OptionError, parse_bool, ram_in_bytes
from .none import NoneLog

DEFAULT_DRIVER = jsonfile.NAME
CACHE_FILE = "container-cached.log"
NOT_READABLE = "configured logging driver does not support reading"
LOG_MODES = ("", "blocking", "non-blocking")

VALIDATORS: dict[str, Callable[[Mapping[str, str]], None]] = {
    jsonfile.NAME: jsonfile.validate,
    local.NAME: local.validate,
    syslog.NAME: syslog.validate,
    gelf.NAME: gelf.validate,
    fluentd.NAME: fluentd.validate,
    journald.NAME: journald.validate,
}
READABLE = (jsonfile.NAME, local.NAME)
# Options no driver sees: the log mode and the cache's (dockerd's builtInLogOpts).
BUILTIN_KEYS = frozenset((*MODE_KEYS, *CACHE_KEYS, *(CACHE_PREFIX + key for key in local.KEYS)))


def driver_names() -> list[str]:
    """The registered drivers, as `docker info` lists them (none is not one)."""
    return sorted(VALIDATORS)


def merge_log_config(requested: Mapping[str, Any] | None, default: Mapping[str, Any]) -> dict:
    """dockerd's mergeAndVerifyLogConfig (without the verify): the daemon's driver when none is
    asked for, its options under the container's when the driver is the same, and the cache's
    options from the daemon's in any case."""
    requested = requested or {}
    kind = requested.get("Type") or default.get("Type") or DEFAULT_DRIVER
    config = {str(k): str(v) for k, v in (requested.get("Config") or {}).items()}
    defaults = default.get("Config") or {}
    for key, value in defaults.items():
        if kind == default.get("Type") or key in BUILTIN_KEYS - set(MODE_KEYS):
            config.setdefault(key, value)
    return {"Type": kind, "Config": config}


def check_log_config(log_config: Mapping[str, Any]) -> None:
    """dockerd's logger.ValidateLogOpts; raises OptionError with its message."""
    kind = log_config.get("Type") or ""
    config: Mapping[str, str] = log_config.get("Config") or {}
    if kind == "none":
        return
    mode = config.get("mode", "")
    if mode not in LOG_MODES:
        raise OptionError(f"logger: logging mode not supported: {mode}")
    if "max-buffer-size" in config:
        if mode != "non-blocking":
            raise OptionError(
                "logger: max-buffer-size option is only supported with 'mode=non-blocking'"
            )
        try:
            ram_in_bytes(config["max-buffer-size"])
        except OptionError as exc:
            raise OptionError(f"error parsing option max-buffer-size: {exc}") from None
    if config.get("cache-disabled"):
        try:
            parse_bool(config["cache-disabled"])
        except OptionError:
            raise OptionError(
                f"invalid value for option cache-disabled: {config['cache-disabled']}"
            ) from None
    validator = VALIDATORS.get(kind)
    if validator is None:
        raise OptionError(f"logger: no log driver named '{kind}' is registered")
    validator({k: v for k, v in config.items() if k not in BUILTIN_KEYS})


def validate_log_config(log_config: Mapping[str, Any]) -> None:
    """At container create: an invalid LogConfig is the client's error (400), as dockerd."""
    try:
        check_log_config(log_config)
    except OptionError as exc:
        raise errdefs.InvalidParameter(str(exc)) from None


def should_use_cache(config: Mapping[str, str]) -> bool:
    """dockerd's cache.ShouldUseCache."""
    value = config.get("cache-disabled", "")
    if not value:
        return True
    try:
        return not parse_bool(value)
    except OptionError:
        return False


def _cache_config(config: Mapping[str, str]) -> dict[str, str]:
    return {
        key.removeprefix(CACHE_PREFIX): value
        for key, value in config.items()
        if key.startswith(CACHE_PREFIX) and key != "cache-disabled"
    }


def _buffer_limit(config: Mapping[str, str]) -> int:
    if "max-buffer-size" in config:
        try:
            return ram_in_bytes(config["max-buffer-size"]) or DEFAULT_BUFFER
        except OptionError:
            pass
    return DEFAULT_BUFFER


def json_log_path(info: LogInfo) -> Path:
    if info.log_path is not None:
        return info.log_path
    if info.directory is None:
        raise errdefs.System("log path is missing -- this is a bug and should not happen")
    return info.directory / f"{info.container_id}-json.log"


def _directory(info: LogInfo) -> Path:
    if info.directory is None:
        raise errdefs.System("log path is missing -- this is a bug and should not happen")
    return info.directory


class CachedLog(BaseDriver):
    """A driver that cannot be read, with the local-format cache `docker logs` reads instead."""

    def __init__(self, remote: BaseDriver, cache: local.LocalLog) -> None:
        super().__init__()
        self.name = remote.name  # type: ignore[misc]
        self.remote = remote
        self.cache = cache

    def log(self, msg: Message) -> None:
        self.log_many([msg])

    def reader(self) -> LogReader:
        return self.cache.reader()

    def log_many(self, msgs: list[Message]) -> None:
        try:
            self.remote.log_many(msgs)
        finally:
            self.cache.log_many(msgs)  # kept even when the remote fails (dockerd skips it)

    def _shutdown(self) -> None:
        self.remote.close()
        self.cache.close()

    async def wait_closed(self) -> None:
        await self.remote.wait_closed()


async def _open_remote(kind: str, config: Mapping[str, str], info: LogInfo, connect: bool):
    limit = _buffer_limit(config)
    driver: Any
    if kind == syslog.NAME:
        driver = syslog.SyslogLog(config, info, limit)
    elif kind == gelf.NAME:
        driver = gelf.GelfLog(config, info, limit)
    elif kind == fluentd.NAME:
        driver = fluentd.FluentdLog(config, info, limit if "max-buffer-size" in config else None)
    else:
        driver = journald.JournaldLog(config, info, limit)
    await driver.start(wait=connect)
    return driver


async def open_log_driver(
    log_config: Mapping[str, Any], info: LogInfo, *, connect: bool = True
) -> BaseDriver:
    """The driver for one run of a container.

    `connect=False` (live restore) never fails on an unreachable collector: it connects in the
    background. Failures read "failed to initialize logging driver: …" as dockerd's do: bad option
    values are the client's error (400), the rest the environment's (500).
    """
    kind = log_config.get("Type") or DEFAULT_DRIVER
    config: Mapping[str, str] = log_config.get("Config") or {}
    try:
        if kind == "none":
            return NoneLog()
        if kind == jsonfile.NAME:
            path = json_log_path(info)
            return await asyncio.to_thread(jsonfile.JsonFileLog, path, config, info)
        if kind == local.NAME:
            path = local.log_path(_directory(info))
            return await asyncio.to_thread(local.LocalLog, path, config, info)
        if kind not in VALIDATORS:
            raise OptionError(f"logger: no log driver named '{kind}' is registered")
        remote = await _open_remote(kind, config, info, connect)
        if not should_use_cache(config):
            return remote
        try:
            cache = local.LocalLog(_directory(info) / CACHE_FILE, _cache_config(config), info)
        except (OptionError, OSError) as exc:
            remote.close()
            raise OptionError(f"error setting up local container log cache: {exc}") from None
        return CachedLog(remote, cache)
    except OptionError as exc:
        raise errdefs.InvalidParameter(f"failed to initialize logging driver: {exc}") from None
    except OSError as exc:  # ConnectionError, JournalUnavailable, files
        message = exc.strerror if exc.strerror and not exc.filename else str(exc)
        raise errdefs.System(f"failed to initialize logging driver: {message}") from None


def open_log_reader(
    log_config: Mapping[str, Any], info: LogInfo, live: BaseDriver | None
) -> LogReader:
    """What `docker logs` reads: the live driver's files while it runs, else the files left.

    Refused (Unimplemented, 501 as dockerd) for `none` and for drivers without a cache.
    """
    kind = log_config.get("Type") or DEFAULT_DRIVER
    config: Mapping[str, str] = log_config.get("Config") or {}
    if live is not None and live.closed:
        live = None
    if kind == jsonfile.NAME:
        writer = live if isinstance(live, jsonfile.JsonFileLog) else None
        return jsonfile.open_reader(json_log_path(info), config, writer)
    if kind == local.NAME:
        writer = live if isinstance(live, local.LocalLog) else None
        return local.open_reader(local.log_path(_directory(info)), config, writer)
    if kind in VALIDATORS and should_use_cache(config):
        cache = live.cache if isinstance(live, CachedLog) else None
        return local.open_reader(_directory(info) / CACHE_FILE, _cache_config(config), cache)
    raise errdefs.Unimplemented(NOT_READABLE)
