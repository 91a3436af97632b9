"""docker create, and the part of run that makes the container: the container flags turned
into the POST /containers/create body as docker's parse() builds it (the whole Config,
HostConfig and NetworkingConfig, zero values included, in Go's field order, so that the
daemon stores and `inspect` shows what it would for the docker CLI), env and label files,
--cidfile, and the image pull (--pull missing|always|never, -q).
"""

from __future__ import annotations

import contextlib
import os

from cli._options import Options
from cli.actions import _specs
from cli.api import APIError, CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from cli.env import Env

__all__ = [
    "ContainerConfig",
    "CreateOptions",
    "build_create_body",
    "create",
    "create_container",
    "env_strings",
    "parse_error",
]


def _flag_defaults() -> dict[str, Any]:
    """Every container flag at its default, named as ContainerConfig reads it."""
    from cli.commands._container_flags import container_flags

    defaults = dict(container_flags.__kwdefaults__ or {})
    defaults.pop("help", None)
    defaults["env"] = defaults.pop("env_")
    return defaults


class ContainerConfig:
    """create's and run's values: the image, its command and every container flag, read as
    attributes named as cli.commands._container_flags' parameters (`env` for `-e`); flags
    not given hold their defaults."""

    __slots__ = ("command", "flags", "image")

    def __init__(self, image: str, command: Sequence[str] = (), **flags: Any) -> None:
        defaults = _flag_defaults()
        unknown = set(flags) - set(defaults)
        if unknown:
            raise TypeError(f"unknown container flags: {', '.join(sorted(unknown))}")
        self.image = image
        self.command = list(command)
        self.flags: dict[str, Any] = {**defaults, **flags}

    @classmethod
    def of_flags(
        cls, image: str, command: Sequence[str], flags: Mapping[str, Any]
    ) -> ContainerConfig:
        """From the keyword arguments the command line gave create or run."""
        values = {k: v for k, v in flags.items() if k not in ("help", "env_")}
        return cls(image, command, env=flags.get("env_", []), **values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.flags[name]
        except KeyError:
            raise AttributeError(name) from None


class CreateOptions(Options):
    """docker create: the container's flags and --pull."""

    config: ContainerConfig
    pull: str = "missing"  # always, missing (pull when not found) or never


def parse_error(command: str, message: str, status: int = 125) -> CLIError:
    """reportError: `docker: <message>` and the help hint of `command` (create or run)."""
    text = f"docker: {message}\n\nRun 'docker {command} --help' for more information"
    return CLIError(text, status)


def _read_kv_file(path: str, what: str) -> list[str]:
    """kvfile.Parse: KEY=VALUE lines, comments and blanks skipped; a bare KEY of an env file
    takes its value from our environment."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        reason = (e.strerror or str(e)).lower()
        raise ValueError(f"open {path}: {reason}") from None
    out = []
    for line in lines:
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, eq, _ = line.partition("=")
        if " " in key.rstrip() or key.strip() == "":
            raise ValueError(f"variable '{key}' contains whitespaces")
        if eq:
            out.append(line)
        elif what == "env" and key in os.environ:  # label files drop bare keys
            out.append(f"{key}={os.environ[key]}")
    return out


def env_strings(files: Sequence[str], values: Sequence[str]) -> list[str]:
    """opts.ReadKVEnvStrings: the --env-file lines then the -e values. A bare `NAME` takes
    its value from our environment; unset, it is dropped from a file but a -e keeps it as
    it is (opts.ValidateEnv), for the daemon to judge."""
    out: list[str] = []
    for f in files:
        out.extend(_read_kv_file(f, "env"))
    for e in values:
        out.append(e if "=" in e or e not in os.environ else f"{e}={os.environ[e]}")
    return out


def _labels(cfg: ContainerConfig) -> dict[str, str]:
    items: list[str] = []
    for f in cfg.label_file:
        items.extend(_read_kv_file(f, "label"))
    items.extend(cfg.label)
    return dict(item.partition("=")[::2] for item in items)


def _healthcheck(cfg: ContainerConfig) -> dict[str, Any] | None:
    durations = (
        ("--health-interval", cfg.health_interval),
        ("--health-timeout", cfg.health_timeout),
        ("--health-retries", cfg.health_retries),
        ("--health-start-period", cfg.health_start_period),
        ("--health-start-interval", cfg.health_start_interval),
    )
    given = bool(cfg.health_cmd) or any(value for _, value in durations)
    if cfg.no_healthcheck:
        if given:
            raise ValueError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    for flag, value in durations:
        if value < 0:
            raise ValueError(f"{flag} cannot be negative")
    check = {  # HealthConfig's fields are all omitempty
        "Test": ["CMD-SHELL", cfg.health_cmd] if cfg.health_cmd else None,
        "Interval": cfg.health_interval,
        "Timeout": cfg.health_timeout,
        "StartPeriod": cfg.health_start_period,
        "StartInterval": cfg.health_start_interval,
        "Retries": cfg.health_retries,
    }
    return {k: v for k, v in check.items() if v}


# --use-api-socket: where the client's credentials are put for the mounted engine socket
_API_SOCKET_CONFIG = "/run/secrets/docker/config.json"


def build_create_body(
    cfg: ContainerConfig,
    attach_std: tuple[bool, bool, bool],
    console: tuple[int, int] = (0, 0),
    have_credentials: bool = False,
    socket: str = "/var/run/docker.sock",
) -> dict[str, Any]:
    """The POST /containers/create body docker's parse() produces for these flags, checked
    in its order; ValueError with docker's text for what it refuses. `console` is the (rows,
    columns) of our stdout's terminal, which docker sends as ConsoleSize so that the
    container's TTY starts at the right size. With --use-api-socket the engine's `socket`
    is mounted at /var/run/docker.sock and, when the client has credentials (and the
    container no DOCKER_CONFIG of its own), DOCKER_CONFIG points where create_container
    puts them."""
    if cfg.mac_address:
        _specs.check_mac(cfg.mac_address)
    swappiness = cfg.memory_swappiness
    if swappiness != -1 and not 0 <= swappiness <= 100:
        raise ValueError(f"invalid value: {swappiness}. Valid memory swappiness range is 0-100")
    binds, volumes = _specs.volume_specs(cfg.volume)
    tmpfs = dict(t.partition(":")[::2] for t in cfg.tmpfs)
    published, bindings = _specs.port_bindings(cfg.publish)
    exposed = _specs.exposed_ports(cfg.expose, published)
    device_mappings = _specs.devices(cfg.device)
    env = env_strings(cfg.env_file, cfg.env)
    mounts = list(cfg.mount)
    if cfg.use_api_socket:
        mounts.append(
            {
                "Type": "bind",
                "Source": socket,
                "Target": "/var/run/docker.sock",
                "BindOptions": {},
            }
        )
        if have_credentials and not any(e.startswith("DOCKER_CONFIG=") for e in env):
            env.append("DOCKER_CONFIG=" + os.path.dirname(_API_SOCKET_CONFIG))
    labels = _labels(cfg)
    _specs.check_modes(cfg.pid, cfg.uts, cfg.userns, cfg.cgroupns)
    restart = _specs.restart_policy(cfg.restart or "no")
    if cfg.log_driver == "none" and cfg.log_opt:
        raise ValueError("invalid logging opts for driver none")
    log_options = dict(o.partition("=")[::2] for o in cfg.log_opt)
    security, masked, readonly = _specs.security_options(cfg.security_opt)
    storage = _specs.storage_options(cfg.storage_opt)
    healthcheck = _healthcheck(cfg)
    cap_add, cap_drop = _specs.capabilities(cfg.cap_add, cfg.cap_drop)
    if cfg.rm and restart["Name"] not in ("", "no"):
        raise ValueError("conflicting options: cannot specify both --restart and --rm")
    network_mode, endpoints = _specs.endpoints(
        cfg.network,
        cfg.network_alias,
        cfg.link,
        cfg.ip,
        cfg.ip6,
        cfg.mac_address,
        cfg.link_local_ip,
    )
    stdin, stdout, stderr = attach_std
    config: dict[str, Any] = {
        "Hostname": cfg.hostname,
        "Domainname": cfg.domainname,
        "User": cfg.user,
        "AttachStdin": stdin,
        "AttachStdout": stdout,
        "AttachStderr": stderr,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    config |= {
        "Tty": cfg.tty,
        "OpenStdin": cfg.interactive,
        "StdinOnce": cfg.interactive and stdin,
        "Env": env or None,
        "Cmd": cfg.command or None,
    }
    if healthcheck is not None:
        config["Healthcheck"] = healthcheck
    config |= {
        "Image": cfg.image,
        "Volumes": volumes,
        "WorkingDir": cfg.workdir,
        "Entrypoint": None if cfg.entrypoint is None else [cfg.entrypoint],
        "OnBuild": None,
        "Labels": labels,
    }
    if cfg.stop_signal:
        config["StopSignal"] = cfg.stop_signal
    if cfg.stop_timeout is not None:
        config["StopTimeout"] = cfg.stop_timeout
    # docker sends the whole HostConfig struct, zero values included; dockerd (and ours)
    # keep what was sent, and `docker inspect` shows it, so send the same fields.
    host: dict[str, Any] = {
        "Binds": binds or None,
        "ContainerIDFile": cfg.cidfile,
        "LogConfig": {"Type": cfg.log_driver, "Config": log_options},
        "NetworkMode": network_mode,
        "PortBindings": bindings,
        "RestartPolicy": restart,
        "AutoRemove": cfg.rm,
        "VolumeDriver": cfg.volume_driver,
        "VolumesFrom": cfg.volumes_from or None,
        "ConsoleSize": list(console),
    }
    if cfg.annotation:
        host["Annotations"] = dict(cfg.annotation)
    host |= {
        "CapAdd": cap_add or None,
        "CapDrop": cap_drop or None,
        "CgroupnsMode": cfg.cgroupns,
        "Dns": cfg.dns,
        "DnsOptions": cfg.dns_option,
        "DnsSearch": cfg.dns_search,
        "ExtraHosts": cfg.add_host or None,
        "GroupAdd": cfg.group_add or None,
        "IpcMode": cfg.ipc,
        "Cgroup": "",
        "Links": cfg.link or None,
        "OomScoreAdj": cfg.oom_score_adj,
        "PidMode": cfg.pid,
        "Privileged": cfg.privileged,
        "PublishAllPorts": cfg.publish_all,
        "ReadonlyRootfs": cfg.read_only,
        "SecurityOpt": security or None,
    }
    if storage:
        host["StorageOpt"] = storage
    if tmpfs:
        host["Tmpfs"] = tmpfs
    host |= {"UTSMode": cfg.uts, "UsernsMode": cfg.userns, "ShmSize": cfg.shm_size}
    if cfg.sysctl:
        host["Sysctls"] = dict(cfg.sysctl)
    if cfg.runtime:
        host["Runtime"] = cfg.runtime
    host |= {
        "Isolation": cfg.isolation,
        "CpuShares": cfg.cpu_shares,
        "Memory": cfg.memory,
        "NanoCpus": cfg.cpus,
        "CgroupParent": cfg.cgroup_parent,
        "BlkioWeight": cfg.blkio_weight,
        "BlkioWeightDevice": cfg.blkio_weight_device,
        "BlkioDeviceReadBps": cfg.device_read_bps,
        "BlkioDeviceWriteBps": cfg.device_write_bps,
        "BlkioDeviceReadIOps": cfg.device_read_iops,
        "BlkioDeviceWriteIOps": cfg.device_write_iops,
        "CpuPeriod": cfg.cpu_period,
        "CpuQuota": cfg.cpu_quota,
        "CpuRealtimePeriod": cfg.cpu_rt_period,
        "CpuRealtimeRuntime": cfg.cpu_rt_runtime,
        "CpusetCpus": cfg.cpuset_cpus,
        "CpusetMems": cfg.cpuset_mems,
        "Devices": device_mappings,
        "DeviceCgroupRules": cfg.device_cgroup_rule or None,
        "DeviceRequests": cfg.gpus or None,
        "MemoryReservation": cfg.memory_reservation,
        "MemorySwap": cfg.memory_swap,
        "MemorySwappiness": swappiness,
        "OomKillDisable": cfg.oom_kill_disable,
        "PidsLimit": cfg.pids_limit,
        "Ulimits": sorted({u["Name"]: u for u in cfg.ulimit}.values(), key=lambda u: u["Name"]),
        "CpuCount": cfg.cpu_count,
        "CpuPercent": cfg.cpu_percent,
        "IOMaximumIOps": cfg.io_maxiops,
        "IOMaximumBandwidth": cfg.io_maxbandwidth,
    }
    if mounts:
        host["Mounts"] = mounts
    host |= {"MaskedPaths": masked, "ReadonlyPaths": readonly}
    if cfg.init is not None:
        host["Init"] = cfg.init
    config["HostConfig"] = host
    config["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return config


def _familiar_tagged(image: str) -> str | None:
    """reference.FamiliarString(TagNameOnly(ref)): `busybox:latest`; None for an image ID."""
    from cli.reference import ReferenceError, familiar_name, parse_normalized

    try:
        ref = parse_normalized(image)
    except ReferenceError:
        return None
    if ref.digest and not ref.tag:
        return f"{familiar_name(ref.name)}@{ref.digest}"
    return f"{familiar_name(ref.name)}:{ref.tag or 'latest'}"


def _pull(env: Env, ref: str, quiet: bool) -> None:
    """The image's pull, its progress on stderr (stdout is for the container's ID or
    output), none with -q."""
    from cli.actions._common import print_json_messages

    name, at, digest = ref.partition("@")
    if at:
        params = {"fromImage": name, "tag": digest}
    else:
        name, _, tag = ref.rpartition(":")
        params = {"fromImage": name, "tag": tag}
    resp = env.api.request("POST", "/images/create", params)
    try:
        if quiet:
            for _ in resp.lines():
                pass
        else:
            print_json_messages(env, resp.lines(), out=env.err)
    finally:
        resp.close()


def _cid_file(path: str) -> None:
    """newCIDFile: refused when the file exists (a container may be using it), else made."""
    if not path:
        return
    if os.path.exists(path):
        raise CLIError(
            f"container ID file found, make sure the other container isn't running or delete {path}"
        )
    try:
        open(path, "w").close()  # made now, written once the ID is known
    except OSError as e:
        reason = (e.strerror or str(e)).lower()
        raise CLIError(f"failed to create the container ID file: open {path}: {reason}") from None


def create_container(
    env: Env, cfg: ContainerConfig, attach_std: tuple[bool, bool, bool], pull: str = "missing"
) -> str:
    """docker's createContainer: the body (ValueError for what parse() refuses), --pull,
    POST /containers/create (pulling a missing image unless --pull never), the daemon's
    warnings, and the ID written to --cidfile (made, empty, beforehand; removed if the create
    fails)."""
    if pull not in ("always", "missing", "never", ""):
        raise ValueError(
            f'invalid pull option: \'{pull}\': must be one of "always", "missing" or "never"'
        )
    credentials = _all_credentials(env) if cfg.use_api_socket else {}
    host = str(getattr(env.api, "host", ""))
    socket = host[len("unix://") :] if host.startswith("unix://") else "/var/run/docker.sock"
    body = build_create_body(cfg, attach_std, env.tty_size(), bool(credentials), socket)
    _cid_file(cfg.cidfile)
    try:
        cid = _create(env, cfg, body, pull)
    except BaseException:
        if cfg.cidfile:
            with contextlib.suppress(OSError):
                os.remove(cfg.cidfile)
        raise
    if cfg.cidfile:
        with open(cfg.cidfile, "w", encoding="utf-8") as f:
            f.write(cid)
    if credentials and "DOCKER_CONFIG=/run/secrets/docker" in (body["Env"] or ()):
        _copy_credentials(env, cid, credentials)
    return cid


def _all_credentials(env: Env) -> dict[str, dict[str, str]]:
    """The client's registry credentials (file or helpers), as config.json `auths` entries."""
    import base64

    from cli.actions.registry import stored_credentials, stored_servers

    out = {}
    for server in stored_servers(env):
        user, password, token = stored_credentials(env, server)
        entry = {}
        if user or password:
            entry["auth"] = base64.b64encode(f"{user}:{password}".encode()).decode()
        if token:
            entry["identitytoken"] = token
        if entry:
            out[server] = entry
    return out


def _copy_credentials(env: Env, cid: str, credentials: dict[str, dict[str, str]]) -> None:
    """copyDockerConfigIntoContainer: a config.json holding only the credentials, put into
    the created container for the API socket's clients."""
    import io
    import json
    import tarfile

    data = json.dumps({"auths": credentials}, indent="\t").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(_API_SOCKET_CONFIG)
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
    try:
        resp = env.api.request(
            "PUT", f"/containers/{cid}/archive", {"path": "/"}, data=buf.getvalue()
        )
        resp.read()
        resp.close()
    except CLIError as e:
        raise CLIError(
            "injecting docker config.json into container failed: copying config.json into "
            f"container failed: {e}"
        ) from None


def _create(env: Env, cfg: ContainerConfig, body: dict[str, Any], pull: str) -> str:
    """POST /containers/create; a missing image (any 404, as the docker CLI reads it) is
    pulled and the create tried again, with --pull missing."""
    ref = _familiar_tagged(cfg.image)
    if pull == "always" and ref is not None:
        _pull(env, ref, cfg.quiet)
    params = {"name": cfg.name or None, "platform": cfg.platform or None}
    try:
        resp = env.api.post("/containers/create", params, body)
    except APIError as e:
        if not (e.not_found and ref is not None and pull in ("missing", "")):
            raise
        if not cfg.quiet:
            env.err.write(f"Unable to find image '{ref}' locally\n")
        _pull(env, ref, cfg.quiet)
        resp = env.api.post("/containers/create", params, body)
    for w in resp.get("Warnings") or []:
        env.err.write(f"WARNING: {w}\n")
    return str(resp["Id"])


def attached_streams(cfg: ContainerConfig) -> tuple[bool, bool, bool]:
    """(stdin, stdout, stderr) attached: -a's, else stdout and stderr (and stdin with -i)."""
    attach = [a.lower() for a in cfg.attach]
    if not attach:
        return cfg.interactive, True, True
    return (
        cfg.interactive or "stdin" in attach,
        "stdout" in attach,
        "stderr" in attach,
    )


def create(env: Env, opts: CreateOptions) -> int:
    """docker create: parse errors as `docker: ...` (125), the daemon's as they come (1)."""
    cfg = opts.config
    try:
        cid = create_container(env, cfg, attached_streams(cfg), opts.pull)
    except ValueError as e:
        raise parse_error("create", str(e)) from None
    env.out.write(cid + "\n")
    return 0
