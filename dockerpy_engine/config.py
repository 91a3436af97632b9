"""Daemon configuration: dockerd's flags and daemon.json keys, with dockerd's precedence rule
(a setting given both as a flag and in the file is an error, not a silent override)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_FILE = Path("/etc/dockerpy/daemon.json")
DEFAULT_HOST = "unix:///var/run/docker.sock"


class ConfigError(Exception):
    """The flags or the configuration file are invalid; the daemon refuses to start."""


@dataclass(slots=True)
class DaemonConfig:
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_HOST])
    data_root: Path = Path("/var/lib/dockerpy")
    exec_root: Path = Path("/run/dockerpy")
    pidfile: Path = Path("/run/dockerpyd.pid")
    containerd: str = ""
    containerd_namespace: str = "dockerpy"
    config_file: Path = DEFAULT_CONFIG_FILE
    debug: bool = False
    log_level: str = "info"
    live_restore: bool = True
    group: str = "docker"
    log_driver: str = "json-file"
    log_opts: dict[str, str] = field(default_factory=dict)
    # networking (dockerd's keys): the default bridge's name ("none" = no default bridge) and
    # address, iptables rules, net.ipv4.ip_forward, pools for user networks, userland proxy
    bridge: str = "dockerpy0"
    bip: str = ""
    iptables: bool = True
    ip_forward: bool = True
    default_address_pools: list[dict[str, Any]] = field(default_factory=list)
    userland_proxy: bool = True
    # registries (dockerd's keys; registry-mirrors may also be a {"host": [urls]} map)
    registry_mirrors: list[str] | dict[str, list[str]] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    max_download_attempts: int = 5


# flag destination → daemon.json key (dockerd's names)
_FILE_KEYS = {
    "hosts": "hosts",
    "data_root": "data-root",
    "exec_root": "exec-root",
    "pidfile": "pidfile",
    "containerd": "containerd",
    "containerd_namespace": "containerd-namespace",
    "debug": "debug",
    "log_level": "log-level",
    "live_restore": "live-restore",
    "group": "group",
    "log_driver": "log-driver",
    "log_opts": "log-opts",
    "bridge": "bridge",
    "bip": "bip",
    "iptables": "iptables",
    "ip_forward": "ip-forward",
    "default_address_pools": "default-address-pools",
    "userland_proxy": "userland-proxy",
    "registry_mirrors": "registry-mirrors",
    "insecure_registries": "insecure-registries",
    "max_concurrent_downloads": "max-concurrent-downloads",
    "max_concurrent_uploads": "max-concurrent-uploads",
    "max_download_attempts": "max-download-attempts",
}
_PATHS = {"data_root", "exec_root", "pidfile"}
_LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dockerpyd", description="A Docker Engine API daemon.")
    p.add_argument("-H", "--host", dest="hosts", action="append", help="daemon socket(s)")
    p.add_argument("--data-root", dest="data_root")
    p.add_argument("--exec-root", dest="exec_root")
    p.add_argument("-p", "--pidfile", dest="pidfile")
    p.add_argument("--containerd", dest="containerd", help="containerd socket (else managed)")
    p.add_argument("--containerd-namespace", dest="containerd_namespace")
    p.add_argument("--config-file", dest="config_file")
    p.add_argument("-D", "--debug", dest="debug", action="store_const", const=True)
    p.add_argument("-l", "--log-level", dest="log_level", choices=_LOG_LEVELS)
    p.add_argument("--live-restore", dest="live_restore", action="store_const", const=True)
    p.add_argument("-G", "--group", dest="group")
    p.add_argument("--log-driver", dest="log_driver", help="default log driver of containers")
    p.add_argument(
        "--log-opt", dest="log_opts", action="append", help="default log driver option (k=v)"
    )
    p.add_argument("-b", "--bridge", dest="bridge", help="the default bridge's name")
    p.add_argument("--bip", dest="bip", help="the default bridge's address (CIDR)")
    p.add_argument("--default-address-pool", dest="default_address_pools", action="append",
                   type=_pool_flag, help="base=CIDR,size=N")  # fmt: skip
    for flag in ("iptables", "ip-forward", "userland-proxy"):
        p.add_argument(f"--{flag}", dest=flag.replace("-", "_"), type=_flag_bool, nargs="?",
                       const=True)  # fmt: skip
    p.add_argument("--registry-mirror", dest="registry_mirrors", action="append")
    p.add_argument("--insecure-registry", dest="insecure_registries", action="append")
    for flag in ("max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts"):
        p.add_argument(f"--{flag}", dest=flag.replace("-", "_"), type=int)
    p.add_argument("--validate", action="store_true", help="check the configuration and exit")
    p.add_argument("-v", "--version", action="store_true")
    return p


def parse(argv: list[str]) -> tuple[DaemonConfig, argparse.Namespace]:
    """Flags, then the file; the same setting in both is dockerd's 'specified both' error."""
    args = _parser().parse_args(argv)
    config = DaemonConfig()
    explicit_file = args.config_file is not None
    config.config_file = Path(args.config_file) if explicit_file else DEFAULT_CONFIG_FILE
    file_values = _read_file(config.config_file, required=explicit_file)
    flags = {dest: getattr(args, dest) for dest in _FILE_KEYS if getattr(args, dest) is not None}
    clashes = [
        f"{_FILE_KEYS[dest]}: (from flag: {value}, from file: {file_values[_FILE_KEYS[dest]]})"
        for dest, value in flags.items()
        if _FILE_KEYS[dest] in file_values
    ]
    if clashes:
        raise ConfigError(
            "the following directives are specified both as a flag and in the configuration "
            "file: " + ", ".join(clashes)
        )
    for dest, key in _FILE_KEYS.items():
        value = flags.get(dest, file_values.get(key))
        if value is None:
            continue
        setattr(config, dest, Path(value) if dest in _PATHS else value)
    config.log_opts = _log_opts(config.log_opts)
    _check_transfers(config)
    if config.debug:
        config.log_level = "debug"
    return config, args


def _read_file(path: Path, required: bool) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        if required:
            raise ConfigError(
                f"unable to configure the daemon: open {path}: no such file"
            ) from None
        return {}
    try:
        values = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"unable to configure the daemon with file {path}: {exc}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"unable to configure the daemon with file {path}: not a JSON object")
    return values


def _pool_flag(value: str) -> dict[str, Any]:
    """`--default-address-pool base=10.10.0.0/16,size=24`."""
    fields = dict(part.partition("=")[::2] for part in value.split(","))
    try:
        return {"base": fields["base"], "size": int(fields["size"])}
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"invalid default address pool: {value}") from None


def _flag_bool(value: str) -> bool:
    """`--iptables=false` and friends."""
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean: {value}")


def _check_transfers(config: DaemonConfig) -> None:
    """dockerd's checks: concurrency limits are not negative, download attempts positive."""
    for name, minimum in (
        ("max_concurrent_downloads", 0),
        ("max_concurrent_uploads", 0),
        ("max_download_attempts", 1),
    ):
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"invalid {name.replace('_', ' ')}: {value}")


def _log_opts(value: object) -> dict[str, str]:
    """log-opts: a map of strings in daemon.json (dockerd refuses other values), k=v flags."""
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        return {key: val for key, _, val in pairs}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(
            "unable to configure the daemon: log-opts must be a map of strings (values are "
            'quoted: "max-file": "3")'
        )
    return dict(value)
