"""docker create, and the part of run that makes the container: docker's containerOptions
turned into the POST /containers/create body (the whole Config/HostConfig as the docker CLI
sends it), env and label files, restart policies, and the pull when the image is missing."""

from __future__ import annotations

import os

from cli._options import Options
from cli.api import APIError, CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cli.env import Env

__all__ = [
    "ContainerConfig",
    "CreateOptions",
    "build_create_body",
    "create",
    "create_container",
    "env_strings",
]


class ContainerConfig(Options):
    """The flags shared by create and run (docker's containerOptions), as given."""

    image: str
    command: Sequence[str] = ()
    name: str = ""
    env: Sequence[str] = ()
    env_files: Sequence[str] = ()
    labels: Sequence[str] = ()
    label_files: Sequence[str] = ()
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    entrypoint: str | None = None
    interactive: bool = False
    tty: bool = False
    attach: Sequence[str] = ()
    restart: str = ""
    auto_remove: bool = False
    stop_signal: str = ""
    stop_timeout: int | None = None
    init: bool | None = None
    privileged: bool = False
    read_only: bool = False
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()
    memory: int = 0
    nano_cpus: int = 0
    pids_limit: int = 0
    health_cmd: str = ""
    health_interval: int = 0
    health_timeout: int = 0
    health_start_period: int = 0
    health_start_interval: int = 0
    health_retries: int = 0
    no_healthcheck: bool = False
    network: str = ""
    volumes: Sequence[str] = ()
    log_driver: str = ""
    log_opts: Sequence[str] = ()
    platform: str = ""


class CreateOptions(Options):
    """docker create: the container flags and -q (no pull progress)."""

    config: ContainerConfig
    quiet: bool = False


def _read_kv_file(path: str, what: str) -> list[str]:
    """opts.ParseEnvFile: KEY=VALUE lines, comments and blanks skipped, bare KEY taken from
    the environment."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise CLIError(f"open {path}: {e.strerror.lower() if e.strerror else e}", 125) from None
    out = []
    for line in lines:
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, eq, _ = line.partition("=")
        if " " in key.rstrip() or key.strip() == "":
            raise CLIError(f"variable '{key}' contains whitespaces", 125)
        if eq:
            out.append(line)
        elif what == "env":
            if key in os.environ:
                out.append(f"{key}={os.environ[key]}")
        else:
            out.append(line)
    return out


def env_strings(files: Sequence[str], values: Sequence[str]) -> list[str]:
    """opts.ReadKVEnvStrings: the --env-file lines then the -e values; a bare `NAME` takes
    its value from our environment and is dropped when it has none."""
    out: list[str] = []
    for f in files:
        out.extend(_read_kv_file(f, "env"))
    for e in values:
        if "=" in e:
            out.append(e)
        elif e in os.environ:
            out.append(f"{e}={os.environ[e]}")
    return out


def _labels(cfg: ContainerConfig) -> dict[str, str]:
    items: list[str] = []
    for f in cfg.label_files:
        items.extend(_read_kv_file(f, "label"))
    items.extend(cfg.labels)
    out: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _restart_policy(value: str) -> dict[str, Any]:
    if not value:
        return {"Name": "no", "MaximumRetryCount": 0}
    name, _, count = value.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise CLIError(
            f"invalid restart policy: unknown policy '{name}'; use one of 'no', "
            "'always', 'on-failure', or 'unless-stopped'",
            125,
        )
    if count and name != "on-failure":
        raise CLIError(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'", 125
        )
    try:
        retries = int(count) if count else 0
    except ValueError:
        raise CLIError(
            f"invalid restart policy format: maximum retry count must be an "
            f'integer: strconv.Atoi: parsing "{count}": invalid syntax',
            125,
        ) from None
    return {"Name": name, "MaximumRetryCount": retries}


def build_create_body(
    cfg: ContainerConfig,
    attach_std: tuple[bool, bool, bool],
    console: tuple[int, int] = (0, 0),
) -> dict[str, Any]:
    """The POST /containers/create body docker's parse() produces for these flags; `console`
    is the (rows, columns) of our stdout's terminal, which docker sends as ConsoleSize so that
    the container's TTY starts at the right size."""
    if cfg.auto_remove and cfg.restart and cfg.restart != "no":
        raise CLIError("conflicting options: cannot specify both --restart and --rm", 125)
    stdin, stdout, stderr = attach_std
    config: dict[str, Any] = {
        "Hostname": cfg.hostname,
        "Domainname": "",
        "User": cfg.user,
        "AttachStdin": stdin,
        "AttachStdout": stdout,
        "AttachStderr": stderr,
        "Tty": cfg.tty,
        "OpenStdin": cfg.interactive,
        "StdinOnce": cfg.interactive and stdin,
        "Env": env_strings(cfg.env_files, cfg.env),
        "Cmd": cfg.command or None,
        "Image": cfg.image,
        "WorkingDir": cfg.workdir,
        "Entrypoint": None
        if cfg.entrypoint is None
        else ([cfg.entrypoint] if cfg.entrypoint else [""]),
        "Labels": _labels(cfg),
    }
    if cfg.stop_signal:
        config["StopSignal"] = cfg.stop_signal
    if cfg.stop_timeout is not None:
        config["StopTimeout"] = cfg.stop_timeout
    if cfg.no_healthcheck:
        if cfg.health_cmd or cfg.health_interval or cfg.health_timeout or cfg.health_retries:
            raise CLIError("--no-healthcheck conflicts with --health-* options", 125)
        config["Healthcheck"] = {"Test": ["NONE"]}
    elif (
        cfg.health_cmd
        or cfg.health_interval
        or cfg.health_timeout
        or cfg.health_retries
        or cfg.health_start_period
        or cfg.health_start_interval
    ):
        for flag, v in (
            ("--health-interval", cfg.health_interval),
            ("--health-timeout", cfg.health_timeout),
            ("--health-start-period", cfg.health_start_period),
            ("--health-start-interval", cfg.health_start_interval),
        ):
            if v < 0:
                raise CLIError(f"{flag} cannot be negative", 125)
        if cfg.health_retries < 0:
            raise CLIError("--health-retries cannot be negative", 125)
        config["Healthcheck"] = {
            "Test": ["CMD-SHELL", cfg.health_cmd] if cfg.health_cmd else None,
            "Interval": cfg.health_interval,
            "Timeout": cfg.health_timeout,
            "StartPeriod": cfg.health_start_period,
            "StartInterval": cfg.health_start_interval,
            "Retries": cfg.health_retries,
        }
    log_config: dict[str, Any] = {"Type": cfg.log_driver, "Config": None}
    if cfg.log_opts:
        log_config["Config"] = dict(o.partition("=")[::2] for o in cfg.log_opts)
    # docker sends the whole HostConfig struct, zero values included; dockerd (and ours)
    # keep what was sent, and `docker inspect` shows it, so send the same fields.
    host: dict[str, Any] = {
        "Binds": cfg.volumes or None,
        "ContainerIDFile": "",
        "LogConfig": log_config,
        "NetworkMode": cfg.network or "default",
        "PortBindings": {},
        "RestartPolicy": _restart_policy(cfg.restart),
        "AutoRemove": cfg.auto_remove,
        "VolumeDriver": "",
        "VolumesFrom": None,
        "ConsoleSize": list(console),
        "CapAdd": cfg.cap_add or None,
        "CapDrop": cfg.cap_drop or None,
        "CgroupnsMode": "",
        "Dns": [],
        "DnsOptions": [],
        "DnsSearch": [],
        "ExtraHosts": None,
        "GroupAdd": None,
        "IpcMode": "",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": 0,
        "PidMode": "",
        "Privileged": cfg.privileged,
        "PublishAllPorts": False,
        "ReadonlyRootfs": cfg.read_only,
        "SecurityOpt": None,
        "UTSMode": "",
        "UsernsMode": "",
        "ShmSize": 0,
        "Isolation": "",
        "CpuShares": 0,
        "Memory": cfg.memory,
        "NanoCpus": cfg.nano_cpus,
        "CgroupParent": "",
        "BlkioWeight": 0,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": 0,
        "CpuQuota": 0,
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": "",
        "CpusetMems": "",
        "Devices": [],
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "MemoryReservation": 0,
        "MemorySwap": 0,
        "MemorySwappiness": -1,  # the flag's default; dockerd stores it as null
        "OomKillDisable": False,
        "PidsLimit": cfg.pids_limit or 0,  # 0: unset (dockerd stores null)
        "Ulimits": [],
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": None,
        "ReadonlyPaths": None,
    }
    if cfg.init is not None:
        host["Init"] = cfg.init
    config["HostConfig"] = host
    config["NetworkingConfig"] = {"EndpointsConfig": {}}
    return config


def create_container(env: Env, cfg: ContainerConfig, attach_std: tuple[bool, bool, bool]) -> str:
    """POST /containers/create; when the image is missing, say so and try to pull it."""
    body = build_create_body(cfg, attach_std, env.tty_size())
    params = {"name": cfg.name or None, "platform": cfg.platform or None}
    try:
        resp = env.api.post("/containers/create", params, body)
    except APIError as e:
        if not (e.not_found and "image" in e.message.lower()):
            raise
        ref = (
            cfg.image
            if (":" in cfg.image.rsplit("/", 1)[-1] or "@" in cfg.image)
            else (cfg.image + ":latest")
        )
        env.err.write(f"Unable to find image '{ref}' locally\n")
        _pull(env, ref)
        resp = env.api.post("/containers/create", params, body)
    for w in resp.get("Warnings") or []:
        env.err.write(f"WARNING: {w}\n")
    return str(resp["Id"])


def _pull(env: Env, ref: str) -> None:
    """The missing image's pull, its progress on stderr (stdout is for the container)."""
    from cli.actions._common import print_json_messages

    name, _, tag = ref.rpartition(":")
    resp = env.api.request("POST", "/images/create", {"fromImage": name, "tag": tag})
    try:
        print_json_messages(env, resp.lines(), out=env.err)  # run/create pull to stderr
    finally:
        resp.close()


def create(env: Env, opts: CreateOptions) -> int:
    """docker create: like run's parse, stdout/stderr marked attached (stdin with -i)."""
    cfg = opts.config
    attach = [a.lower() for a in cfg.attach]
    if attach:
        std = ("stdin" in attach, "stdout" in attach, "stderr" in attach)
    else:
        std = (cfg.interactive, True, True)
    cid = create_container(env, cfg, std)
    env.out.write(cid + "\n")
    return 0
