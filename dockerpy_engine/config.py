"""Daemon configuration: dockerd's flags and daemon.json keys, with dockerd's precedence rule
(a setting given both as a flag and in the file is an error, not a silent override)."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .containers import defaults
from .containers.spec import DEFAULT_SHM_SIZE

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
    ipv6: bool = False  # IPv6 on the default bridge (fixed-cidr-v6, else the ULA pool)
    fixed_cidr_v6: str = ""
    ip6tables: bool = True  # dockerd 27+'s default
    # registries (dockerd's keys; registry-mirrors may also be a {"host": [urls]} map)
    registry_mirrors: list[str] | dict[str, list[str]] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    max_download_attempts: int = 5
    labels: list[str] = field(default_factory=list)
    # the API over TCP (dockerd's keys); None: not given, which `resolve_tls` settles
    tls: bool | None = None
    tlsverify: bool | None = None
    tlscacert: str = ""
    tlscert: str = ""
    tlskey: str = ""
    metrics_addr: str = ""
    # the storage driver (graphdriver.py): "" picks overlay2, or vfs when overlayfs cannot be
    # mounted; the daemon stores the one it settled on here
    storage_driver: str = ""
    # user namespaces (userns.py): "default", "user[:group]" or "uid[:gid]"; the daemon stores
    # the resolved "user:group" here, as dockerd's RemappedRoot
    userns_remap: str = ""
    # what containers get when they do not say (containers/defaults.py), and how long a
    # shutdown waits for them to stop
    dns: list[str] = field(default_factory=list)
    dns_opts: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    default_ulimits: Any = field(default_factory=dict)
    default_shm_size: Any = DEFAULT_SHM_SIZE
    shutdown_timeout: int = 15
    features: dict[str, bool] = field(default_factory=dict)
    # dockerd's keys the file gave that we accept but do not act on (the daemon logs them)
    ignored_keys: list[str] = field(default_factory=list)
    # what the command line set, by destination: a SIGHUP reload refuses a file that sets any
    # of them too, as the start did
    flags: dict[str, Any] = field(default_factory=dict)

    @property
    def tls_client_auth(self) -> bool:
        """Mutual TLS: clients must show a certificate signed by --tlscacert."""
        return bool(self.tls) and self.tlsverify is not False


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
    "ipv6": "ipv6",
    "fixed_cidr_v6": "fixed-cidr-v6",
    "ip6tables": "ip6tables",
    "registry_mirrors": "registry-mirrors",
    "insecure_registries": "insecure-registries",
    "max_concurrent_downloads": "max-concurrent-downloads",
    "max_concurrent_uploads": "max-concurrent-uploads",
    "max_download_attempts": "max-download-attempts",
    "labels": "labels",
    "tls": "tls",
    "tlsverify": "tlsverify",
    "tlscacert": "tlscacert",
    "tlscert": "tlscert",
    "tlskey": "tlskey",
    "metrics_addr": "metrics-addr",
    "storage_driver": "storage-driver",
    "userns_remap": "userns-remap",
    "dns": "dns",
    "dns_opts": "dns-opts",
    "dns_search": "dns-search",
    "default_ulimits": "default-ulimits",
    "default_shm_size": "default-shm-size",
    "shutdown_timeout": "shutdown-timeout",
    "features": "features",
}
# dockerd's other daemon.json keys: accepted (a file written for dockerd still starts us) but
# not acted on; the daemon logs each one it finds. Any key in neither list is dockerd's
# "don't match any configuration option" error.
_DOCKERD_ONLY_KEYS = frozenset(
    {
        "allow-direct-routing", "allow-nondistributable-artifacts", "api-cors-header",
        "authorization-plugins", "bip6", "bridge-accept-fwmark", "builder", "cdi-spec-dirs",
        "cgroup-parent", "containerd-plugin-namespace", "cpu-rt-period", "cpu-rt-runtime",
        "cri-containerd", "default-cgroupns-mode", "default-gateway", "default-gateway-v6",
        "default-init", "default-ipc-mode", "default-network-opts", "default-runtime",
        "deprecated-key-path", "exec-opts", "experimental", "firewall-backend", "fixed-cidr",
        "host-gateway-ip", "host-gateway-ips", "icc", "init", "init-path", "ip", "ip-masq",
        "ip-forward-no-drop", "log-format", "mtu", "network-control-plane-mtu",
        "network-diagnostic-port", "no-new-privileges", "node-generic-resources", "proxies",
        "raw-logs", "resolv-conf", "rootless", "runtimes", "seccomp-profile", "selinux-enabled",
        "storage-opts", "swarm-default-advertise-addr", "swarm-raft-election-tick",
        "swarm-raft-heartbeat-tick", "userland-proxy-path",
    }
)  # fmt: skip
_PATHS = {"data_root", "exec_root", "pidfile"}
# What SIGHUP changes (dockerd's daemon.Reload, plus log-level)
RELOADABLE = (
    "debug",
    "log_level",
    "labels",
    "registry_mirrors",
    "insecure_registries",
    "live_restore",
    "max_concurrent_downloads",
    "max_concurrent_uploads",
    "max_download_attempts",
)
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
    p.add_argument("--fixed-cidr-v6", dest="fixed_cidr_v6", help="IPv6 subnet of the bridge")
    for flag in ("iptables", "ip-forward", "userland-proxy", "ipv6", "ip6tables"):
        p.add_argument(f"--{flag}", dest=flag.replace("-", "_"), type=_flag_bool, nargs="?",
                       const=True)  # fmt: skip
    p.add_argument("--registry-mirror", dest="registry_mirrors", action="append")
    p.add_argument("--insecure-registry", dest="insecure_registries", action="append")
    for flag in ("max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts"):
        p.add_argument(f"--{flag}", dest=flag.replace("-", "_"), type=int)
    p.add_argument("--label", dest="labels", action="append", help="engine label (key=value)")
    for flag in ("tls", "tlsverify"):
        p.add_argument(f"--{flag}", dest=flag, type=_flag_bool, nargs="?", const=True)
    p.add_argument("--tlscacert", dest="tlscacert", help="trust certs signed only by this CA")
    p.add_argument("--tlscert", dest="tlscert", help="the server's TLS certificate")
    p.add_argument("--tlskey", dest="tlskey", help="the server's TLS key")
    p.add_argument("--metrics-addr", dest="metrics_addr", help="serve Prometheus metrics here")
    p.add_argument("-s", "--storage-driver", dest="storage_driver", help="overlay2 or vfs")
    p.add_argument("--userns-remap", dest="userns_remap", help="user/group for user namespaces")
    p.add_argument("--dns", dest="dns", action="append", help="DNS server for containers")
    p.add_argument("--dns-opt", dest="dns_opts", action="append", help="DNS option for containers")
    p.add_argument("--dns-search", dest="dns_search", action="append", help="DNS search domain")
    p.add_argument("--default-ulimit", dest="default_ulimits", action="append",
                   help="default ulimit for containers (name=soft[:hard])")  # fmt: skip
    p.add_argument("--default-shm-size", dest="default_shm_size", help="default /dev/shm size")
    p.add_argument("--shutdown-timeout", dest="shutdown_timeout", type=int,
                   help="seconds a shutdown waits for containers to stop")  # fmt: skip
    p.add_argument("--validate", action="store_true", help="check the configuration and exit")
    p.add_argument("-v", "--version", action="store_true")
    return p


def parse(argv: list[str]) -> tuple[DaemonConfig, argparse.Namespace]:
    """Flags, then the file; the same setting in both is dockerd's 'specified both' error."""
    args = _parser().parse_args(argv)
    config = DaemonConfig()
    explicit_file = args.config_file is not None
    config.config_file = Path(args.config_file) if explicit_file else DEFAULT_CONFIG_FILE
    flags = {dest: v for dest in _FILE_KEYS if (v := getattr(args, dest, None)) is not None}
    config.flags = flags
    file_values = _file_values(config, required=explicit_file)
    for dest in _FILE_KEYS:
        value = flags.get(dest, file_values.get(dest))
        if value is None:
            continue
        setattr(config, dest, Path(value) if dest in _PATHS else value)
    config.log_opts = _log_opts(config.log_opts)
    _check_container_defaults(config)
    _check_transfers(config)
    _check_labels(config.labels)
    resolve_tls(config)
    if config.debug:
        config.log_level = "debug"
    return config, args


def reloadable_values(config: DaemonConfig) -> dict[str, Any]:
    """The file's settings that SIGHUP applies (by destination), checked as at start.

    As dockerd's config.Reload: the file alone is read again (a key it no longer has keeps
    its running value), a key also given as a flag is the same error as at start, and a
    missing file is an error only when --config-file named it.
    """
    values = _file_values(config, required=config.config_file != DEFAULT_CONFIG_FILE)
    trial = DaemonConfig()
    for dest in RELOADABLE:
        if dest in values:
            setattr(trial, dest, values[dest])
    _check_transfers(trial)
    _check_labels(trial.labels)
    for dest in ("debug", "live_restore"):
        if not isinstance(getattr(trial, dest), bool):
            raise ConfigError(f"invalid {_FILE_KEYS[dest]}: {getattr(trial, dest)!r}")
    if trial.log_level not in _LOG_LEVELS:
        raise ConfigError(f"invalid log-level: {trial.log_level!r}")
    return {dest: values[dest] for dest in RELOADABLE if dest in values}


def _file_values(config: DaemonConfig, required: bool) -> dict[str, Any]:
    """The file's settings by destination, after dockerd's flag-and-file clash check."""
    file_values = _read_file(config.config_file, required=required)
    clashes = [
        f"{_FILE_KEYS[dest]}: (from flag: {value}, from file: {file_values[_FILE_KEYS[dest]]})"
        for dest, value in config.flags.items()
        if _FILE_KEYS[dest] in file_values
    ]
    if clashes:
        raise ConfigError(
            "the following directives are specified both as a flag and in the configuration "
            "file: " + ", ".join(clashes)
        )
    known = set(_FILE_KEYS.values()) | _DOCKERD_ONLY_KEYS
    unknown = sorted(key for key in file_values if key not in known)
    if unknown:
        raise ConfigError(
            "the following directives don't match any configuration option: " + ", ".join(unknown)
        )
    config.ignored_keys = sorted(key for key in file_values if key in _DOCKERD_ONLY_KEYS)
    return {dest: file_values[key] for dest, key in _FILE_KEYS.items() if key in file_values}


def resolve_tls(config: DaemonConfig) -> None:
    """dockerd's rules: any tlsverify turns TLS on; tls without tlsverify verifies clients
    (`--tls` alone is mutual TLS; server-only TLS is `--tlsverify=false`); with TLS on, unset
    certificate paths default to ca.pem, cert.pem and key.pem in $DOCKER_CERT_PATH (else
    ~/.docker)."""
    if config.tlsverify is not None:
        config.tls = True
    if config.tlsverify is None and config.tls is not None:
        config.tlsverify = config.tls
    if not config.tls:
        return
    cert_dir = Path(os.environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    for dest, name in (("tlscacert", "ca.pem"), ("tlscert", "cert.pem"), ("tlskey", "key.pem")):
        if not getattr(config, dest):
            setattr(config, dest, str(cert_dir / name))


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


def container_defaults(config: DaemonConfig) -> defaults.ContainerDefaults:
    """The checked defaults every container gets (parse() has validated them)."""
    return defaults.ContainerDefaults(
        shm_size=defaults.shm_size(config.default_shm_size),
        ulimits=defaults.ulimits(config.default_ulimits),
        dns=defaults.dns_servers(config.dns),
        dns_search=defaults.strings("dns-search", config.dns_search),
        dns_options=defaults.strings("dns-opts", config.dns_opts),
    )


def _check_container_defaults(config: DaemonConfig) -> None:
    try:
        container_defaults(config)
    except defaults.DefaultsError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(config.shutdown_timeout, int) or isinstance(config.shutdown_timeout, bool):
        raise ConfigError(f"invalid shutdown-timeout: {config.shutdown_timeout!r}")
    features = config.features
    if not isinstance(features, dict) or not all(isinstance(v, bool) for v in features.values()):
        raise ConfigError("invalid features: must be a map of booleans")


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


def _check_labels(labels: object) -> None:
    """dockerd's label rules: `key=value` strings, and one value per key."""
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise ConfigError("labels must be a list of key=value strings")
    seen: dict[str, str] = {}
    for label in labels:
        key, sep, value = label.partition("=")
        if not sep:
            raise ConfigError(f"bad attribute format: {label}")
        if not key.strip():
            raise ConfigError(f"invalid label '{label}': empty name")
        if key in seen and seen[key] != value:
            raise ConfigError(f"conflict labels for {key}={value} and {key}={seen[key]}")
        seen[key] = value


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
