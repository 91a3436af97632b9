"""Container commands: ps, inspect, logs, create, start, run, attach, stop, kill, restart, rm,
wait, exec, rename, pause, unpause, top, prune, diff, commit, port, update, stats (cp and export
are in cli.actions.copy). REST calls through env.api; output and exit statuses as the docker
CLI 28 gives them."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from cli.actions._common import (
    confirm,
    filters_param,
    for_each,
    indent_json,
    print_reclaimed,
    render,
)
from cli.actions._contexts import CONTAINER_HEADERS, ContainerContext
from cli.api import APIError, CLIError, quote
from cli.env import Env
from cli.format import parse_time, tabwrite

__all__ = [
    "CommitOptions",
    "ContainerConfig",
    "CreateOptions",
    "ExecOptions",
    "InspectOptions",
    "LogsOptions",
    "PsOptions",
    "RunOptions",
    "StartOptions",
    "StatsOptions",
    "StopOptions",
    "attach",
    "commit",
    "create",
    "diff",
    "exec_",
    "inspect",
    "kill",
    "logs",
    "pause",
    "port",
    "prune",
    "ps",
    "rename",
    "restart",
    "rm",
    "run",
    "start",
    "stats",
    "stop",
    "top",
    "unpause",
    "update",
    "wait",
]

# ---------------------------------------------------------------------------------------------
# ps


class PsOptions(NamedTuple):
    all: bool = False  # -a: stopped ones too
    quiet: bool = False  # -q: IDs only
    size: bool = False  # -s: SIZE column (and ?size=1)
    last: int = -1  # -n: the n last created (any state)
    latest: bool = False  # -l: the last created
    no_trunc: bool = False
    filters: Sequence[str] = ()
    format: str = ""  # "", "table", "table TEMPLATE", "json" or a template


_PS_TABLE = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
)


def ps(env: Env, opts: PsOptions) -> int:
    fmt = opts.format or env.config.get("psFormat", "")
    if opts.quiet and fmt and fmt != "table":
        env.err.write(
            "WARNING: Ignoring custom format, because both --format and --quiet are set.\n"
        )
    size = opts.size or (bool(fmt) and ".Size" in fmt and not opts.quiet)
    limit = opts.last
    if opts.latest and limit == -1:
        limit = 1
    params: dict[str, Any] = {
        "all": "1" if opts.all or limit > 0 else None,
        "limit": str(limit) if limit > 0 else None,
        "size": "1" if size else None,
        "filters": filters_param(opts.filters),
    }
    containers = env.api.get("/containers/json", params)
    if opts.quiet or (False):
        fmt = "{{.ID}}"
    elif fmt in ("", "table"):
        fmt = _PS_TABLE + ("\t{{.Size}}" if opts.size else "")
    trunc = not opts.no_trunc
    render(env, fmt, CONTAINER_HEADERS, (ContainerContext(c, trunc) for c in containers))
    return 0


# ---------------------------------------------------------------------------------------------
# inspect


class InspectOptions(NamedTuple):
    refs: list[str]
    format: str = ""
    size: bool = False
    type: str = ""  # "" (any), container, image; the management commands fix it


_TYPE_PATHS = {
    "container": "/containers/{}/json",
    "image": "/images/{}/json",
    "network": "/networks/{}",
    "volume": "/volumes/{}",
}


def inspect(env: Env, opts: InspectOptions) -> int:
    """inspect/container inspect/image inspect: docker's IndentedInspector (the daemon's bytes
    re-indented) or the template per object; missing objects reported after the output."""
    from cli import gotemplate

    if opts.type and opts.type not in _TYPE_PATHS:
        raise CLIError(f'"{opts.type}" is not a valid value for --type', 1)
    tmpl = None
    if opts.format and opts.format != "json":
        text = opts.format.replace("\\t", "\t").replace("\\n", "\n")
        try:
            tmpl = gotemplate.parse(text)
        except gotemplate.TemplateError as e:
            raise CLIError(f"template parsing error: {e}") from None
    raws: list[bytes] = []
    errors: list[str] = []
    for ref in opts.refs:
        raw, err = _inspect_one(env, ref, opts)
        if raw is not None:
            raws.append(raw)
        if err:
            errors.append(err)
        if tmpl is not None and raw is not None:
            import json

            try:
                env.out.write(tmpl.execute(json.loads(raw), missingkey_error=True) + "\n")
            except gotemplate.TemplateError as e:
                env.out.write("\n")  # docker flushes an empty buffer before the error
                raise CLIError(f"template parsing error: {e}") from None
    if tmpl is None:
        if raws:
            env.out.write(indent_json(b"[" + b",".join(raws) + b"]") + "\n")
        else:
            env.out.write("[]\n")
    if errors:
        env.err.write("\n".join(errors) + "\n")
        return 1
    return 0


def _inspect_one(env: Env, ref: str, opts: InspectOptions) -> tuple[bytes | None, str]:
    types = [opts.type] if opts.type else ["container", "image", "network", "volume"]
    for t in types:
        params = {"size": "1"} if (t == "container" and opts.size) else None
        try:
            return env.api.get_raw(_TYPE_PATHS[t].format(quote(ref)), params), ""
        except APIError as e:
            if not e.not_found and e.http_status not in (400,):
                return None, str(e)
            if opts.type:
                return None, str(e)
    return None, f"Error: No such object: {ref}"


# ---------------------------------------------------------------------------------------------
# logs


class LogsOptions(NamedTuple):
    container: str
    follow: bool = False
    tail: str = "all"
    since: str = ""
    until: str = ""
    timestamps: bool = False
    details: bool = False


def _container_tty(env: Env, ref: str) -> bool:
    info = env.api.get(f"/containers/{quote(ref)}/json")
    return bool((info.get("Config") or {}).get("Tty"))


def logs(env: Env, opts: LogsOptions) -> int:
    """docker logs: demultiplexed to stdout/stderr unless the container has a TTY."""
    from cli.streams import write_frames

    tty = _container_tty(env, opts.container)
    try:
        params: dict[str, Any] = {
            "stdout": "1",
            "stderr": "1",
            "since": parse_time(opts.since) if opts.since else None,
            "until": parse_time(opts.until) if opts.until else None,
            "timestamps": "1" if opts.timestamps else None,
            "follow": "1" if opts.follow else None,
            "tail": opts.tail,
            "details": "1" if opts.details else None,
        }
    except ValueError as e:
        raise CLIError(str(e)) from None
    resp = env.api.request("GET", f"/containers/{quote(opts.container)}/logs", params)
    try:
        write_frames(resp.chunks(), env.out_b, env.err_b, tty)
    except KeyboardInterrupt:
        return 130
    finally:
        resp.close()
    return 0


# ---------------------------------------------------------------------------------------------
# create / run


class ContainerConfig(NamedTuple):
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


class CreateOptions(NamedTuple):
    config: ContainerConfig
    quiet: bool = False


class RunOptions(NamedTuple):
    config: ContainerConfig
    detach: bool = False
    sig_proxy: bool = True
    detach_keys: str = ""


def _read_kv_file(path: str, what: str) -> list[str]:
    """opts.ParseEnvFile: KEY=VALUE lines, comments and blanks skipped, bare KEY taken from
    the environment."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise CLIError(f"open {path}: {e.strerror.lower() if e.strerror else e}", 125) from None
    out = []
    for n, line in enumerate(lines, 1):
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
        _ = n
    return out


def _env_list(cfg: ContainerConfig) -> list[str]:
    out: list[str] = []
    for f in cfg.env_files:
        out.extend(_read_kv_file(f, "env"))
    for e in cfg.env:
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


def build_create_body(cfg: ContainerConfig, attach_std: tuple[bool, bool, bool]) -> dict[str, Any]:
    """The POST /containers/create body docker's parse() produces for these flags."""
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
        "Env": _env_list(cfg),
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
        "ConsoleSize": [0, 0],
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


def _create(env: Env, cfg: ContainerConfig, attach_std: tuple[bool, bool, bool]) -> str:
    """POST /containers/create; when the image is missing, say so and try to pull it."""
    body = build_create_body(cfg, attach_std)
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
    cid = _create(env, cfg, std)
    env.out.write(cid + "\n")
    return 0


def _start_error_status(message: str) -> int:
    """runStartContainerErr: 127 when the command is missing, 126 when it can't be run."""
    if (
        "executable file not found" in message
        or "no such file or directory" in message
        or "system cannot find the file specified" in message
    ):
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


def _run_error(message: str, status: int = 125) -> CLIError:
    return CLIError(f"docker: {message}\n\nRun 'docker run --help' for more information", status)


def run(env: Env, opts: RunOptions) -> int:
    """docker run: create, then (attached) attach → wait → start → copy streams, exiting with
    the container's status; detached, start and print the ID."""
    cfg = opts.config
    attach = [a.lower() for a in cfg.attach]
    for a in attach:
        if a not in ("stdin", "stdout", "stderr"):
            raise _run_error(
                f'invalid argument "{a}" for "-a, --attach" flag: valid streams '
                "are STDIN, STDOUT and STDERR"
            )
    if opts.detach and attach:
        raise CLIError("conflicting options: cannot specify both --attach and --detach", 1)
    if cfg.tty and cfg.interactive and not opts.detach and not env.stdin_is_tty():
        raise CLIError("the input device is not a TTY", 1)
    if opts.detach:
        std = (False, False, False)
    elif attach:
        std = ("stdin" in attach, "stdout" in attach, "stderr" in attach)
    else:
        std = (cfg.interactive, True, True)
    try:
        cid = _create(env, cfg, std)
    except CLIError as e:
        raise _run_error(str(e), e.status if e.status != 1 else 125) from None
    if opts.detach:
        try:
            env.api.post(f"/containers/{cid}/start")
        except APIError as e:
            raise _run_error(str(e), _start_error_status(e.message)) from None
        env.out.write(cid + "\n")
        return 0
    return _attach_and_start(
        env, cid, cfg.tty, std, cfg.auto_remove, opts.sig_proxy, opts.detach_keys
    )


def _attach_and_start(
    env: Env,
    cid: str,
    tty: bool,
    std: tuple[bool, bool, bool],
    auto_remove: bool,
    sig_proxy: bool,
    detach_keys: str,
) -> int:
    import json
    import threading

    from cli.streams import pump_hijacked, raw_terminal, watch_resize

    stdin, stdout, stderr = std
    params: dict[str, Any] = {
        "stream": "1",
        "stdin": "1" if stdin else None,
        "stdout": "1" if stdout else None,
        "stderr": "1" if stderr else None,
        "detachKeys": detach_keys or env.config.get("detachKeys"),
    }
    conn = env.api.hijack(f"/containers/{cid}/attach", params)
    waiter = env.api.request(
        "POST", f"/containers/{cid}/wait", {"condition": "removed" if auto_remove else "next-exit"}
    )
    try:
        env.api.post(f"/containers/{cid}/start")
    except APIError as e:
        conn.close()
        env.err.write(f"docker: {e}\n\nRun 'docker run --help' for more information\n")
        if auto_remove:
            with contextlib.suppress(Exception):
                waiter.read()
        return _start_error_status(e.message)
    stdin_fd = None
    if stdin:
        try:
            stdin_fd = env.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            stdin_fd = None
    restore_signals = _proxy_signals(env, cid) if (sig_proxy and not tty) else None
    stop_resize = None
    terminal = tty and stdin_fd is not None and os.isatty(stdin_fd)
    ctx = raw_terminal(stdin_fd) if terminal and stdin_fd is not None else contextlib.nullcontext()
    try:
        with ctx:
            if tty and env.stdout_is_tty():
                out_fd = env.out.fileno()
                stop_resize = watch_resize(out_fd, lambda h, w: _resize(env, cid, h, w))
            done = threading.Event()
            pump_hijacked(conn, tty, env.out_b, env.err_b, stdin_fd, done.set)
    finally:
        conn.close()
        if stop_resize is not None:
            stop_resize()
        if restore_signals is not None:
            restore_signals()
    try:
        result = json.loads(waiter.read() or b"{}")
    except (OSError, ValueError):
        result = {}
    finally:
        waiter.close()
    err = (result.get("Error") or {}).get("Message") if isinstance(result, dict) else None
    if err:
        env.err.write(f"docker: Error response from daemon: {err}\n")
        return 125
    return int(result.get("StatusCode", 0)) if isinstance(result, dict) else 0


def _resize(env: Env, ident: str, h: int, w: int, exec_: bool = False) -> None:
    path = f"/exec/{ident}/resize" if exec_ else f"/containers/{ident}/resize"
    with contextlib.suppress(CLIError):
        env.api.post(path, {"h": h, "w": w})


def _proxy_signals(env: Env, cid: str) -> Any:
    """ForwardAllSignals for an attached run without a TTY: each signal we get goes to the
    container."""
    import signal

    sigs = [
        signal.SIGINT,
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGQUIT,
        signal.SIGUSR1,
        signal.SIGUSR2,
    ]
    previous = {}

    def handler(signum: int, _frame: Any) -> None:
        with contextlib.suppress(Exception):
            env.api.post(f"/containers/{cid}/kill", {"signal": str(signum)})

    for s in sigs:
        with contextlib.suppress(ValueError, OSError):
            previous[s] = signal.signal(s, handler)

    def restore() -> None:
        for s, h in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(s, h)

    return restore


# ---------------------------------------------------------------------------------------------
# start / attach


class StartOptions(NamedTuple):
    containers: list[str]
    attach: bool = False
    interactive: bool = False
    detach_keys: str = ""


def start(env: Env, opts: StartOptions) -> int:
    if (opts.attach or opts.interactive) and len(opts.containers) > 1:
        raise CLIError("you cannot start and attach multiple containers at once", 1)
    if opts.attach or opts.interactive:
        ref = opts.containers[0]
        info = env.api.get(f"/containers/{quote(ref)}/json")
        cid = info["Id"]
        tty = bool(info["Config"].get("Tty"))
        stdin = opts.interactive and bool(info["Config"].get("OpenStdin"))
        if tty and stdin and not env.stdin_is_tty():
            raise CLIError("the input device is not a TTY", 1)
        status = _attach_and_start_existing(env, cid, tty, stdin, opts.detach_keys)
        return status

    def one(ref: str) -> str:
        env.api.post(f"/containers/{quote(ref)}/start")
        return ref

    return for_each(env, opts.containers, one, summary="failed to start containers")


def _attach_and_start_existing(env: Env, cid: str, tty: bool, stdin: bool, keys: str) -> int:
    return _stream_existing(env, cid, tty, stdin, keys, start=True)


def _stream_existing(
    env: Env, cid: str, tty: bool, stdin: bool, keys: str, start: bool, sig_proxy: bool = False
) -> int:
    """Attach to an existing container (starting it for `start -a`), copy its streams until
    the daemon closes them, and return its exit status from a wait begun beforehand."""
    import json

    from cli.streams import pump_hijacked, raw_terminal

    params = {
        "stream": "1",
        "stdout": "1",
        "stderr": "1",
        "stdin": "1" if stdin else None,
        "detachKeys": keys or env.config.get("detachKeys"),
    }
    conn = env.api.hijack(f"/containers/{cid}/attach", params)
    waiter = env.api.request(
        "POST", f"/containers/{cid}/wait", {"condition": "next-exit" if start else None}
    )
    if start:
        try:
            env.api.post(f"/containers/{cid}/start")
        except APIError:
            conn.close()
            waiter.close()
            raise
    stdin_fd = env.stdin.fileno() if stdin else None
    terminal = tty and stdin_fd is not None and os.isatty(stdin_fd)
    ctx = raw_terminal(stdin_fd) if terminal and stdin_fd is not None else contextlib.nullcontext()
    restore_signals = _proxy_signals(env, cid) if (sig_proxy and not tty) else None
    try:
        with ctx:
            pump_hijacked(conn, tty, env.out_b, env.err_b, stdin_fd)
    finally:
        conn.close()
        if restore_signals is not None:
            restore_signals()
    try:
        result = json.loads(waiter.read() or b"{}")
    finally:
        waiter.close()
    message = (result.get("Error") or {}).get("Message")
    if message:
        raise CLIError(message)
    return int(result.get("StatusCode", 0))


def attach(env: Env, container: str, no_stdin: bool, sig_proxy: bool, detach_keys: str) -> int:
    """docker attach: a running container's streams (stdin only when it was created with -i
    and --no-stdin is not given); exits with the container's status."""
    info = env.api.get(f"/containers/{quote(container)}/json")
    state = info.get("State") or {}
    if not state.get("Running"):
        raise CLIError("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise CLIError("You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise CLIError("You cannot attach to a restarting container, wait until it is running")
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    if tty and not no_stdin and not env.stdin_is_tty():
        raise CLIError("the input device is not a TTY", 1)
    stdin = not no_stdin and bool(config.get("OpenStdin"))
    return _stream_existing(env, info["Id"], tty, stdin, detach_keys, False, sig_proxy)


# ---------------------------------------------------------------------------------------------
# stop / kill / restart / rm / pause / unpause / wait / rename


class StopOptions(NamedTuple):
    containers: list[str]
    timeout: int | None = None  # -t: seconds before SIGKILL (None: the container's own)
    signal: str = ""


def stop(env: Env, opts: StopOptions) -> int:
    params = {"t": opts.timeout, "signal": opts.signal or None}
    return for_each(
        env,
        opts.containers,
        lambda r: (env.api.post(f"/containers/{quote(r)}/stop", params), r)[1],
    )


def restart(env: Env, opts: StopOptions) -> int:
    params = {"t": opts.timeout, "signal": opts.signal or None}
    return for_each(
        env,
        opts.containers,
        lambda r: (env.api.post(f"/containers/{quote(r)}/restart", params), r)[1],
    )


def kill(env: Env, containers: list[str], signal: str = "") -> int:
    params = {"signal": signal or None}
    return for_each(
        env, containers, lambda r: (env.api.post(f"/containers/{quote(r)}/kill", params), r)[1]
    )


def pause(env: Env, containers: list[str]) -> int:
    return for_each(
        env, containers, lambda r: (env.api.post(f"/containers/{quote(r)}/pause"), r)[1]
    )


def unpause(env: Env, containers: list[str]) -> int:
    return for_each(
        env, containers, lambda r: (env.api.post(f"/containers/{quote(r)}/unpause"), r)[1]
    )


def rm(
    env: Env, containers: list[str], force: bool = False, volumes: bool = False, link: bool = False
) -> int:
    """docker rm: with -f a missing container is still reported but not a failure."""
    params = {
        "force": "1" if force else None,
        "v": "1" if volumes else None,
        "link": "1" if link else None,
    }
    failed = False
    for ref in containers:
        try:
            env.api.delete(f"/containers/{quote(ref)}", params)
        except APIError as e:
            env.err.write(f"{e}\n")
            if not (force and e.not_found):
                failed = True
            continue
        env.out.write(ref + "\n")
    return 1 if failed else 0


def wait(env: Env, containers: list[str]) -> int:
    def one(ref: str) -> str:
        result = env.api.post(f"/containers/{quote(ref)}/wait")
        if result and (result.get("Error") or {}).get("Message"):
            raise APIError(500, result["Error"]["Message"])
        return str(result.get("StatusCode", 0) if result else 0)

    return for_each(env, containers, one)


def rename(env: Env, container: str, new_name: str) -> int:
    new_name = new_name.strip()
    if not new_name:
        raise CLIError("Error: neither old nor new names may be empty", 1)
    try:
        env.api.post(f"/containers/{quote(container)}/rename", {"name": new_name})
    except APIError as e:
        env.err.write(f"{e}\n")
        raise CLIError(f"Error: failed to rename container named {container}") from None
    return 0


# ---------------------------------------------------------------------------------------------
# top / prune


def top(env: Env, container: str, ps_args: list[str]) -> int:
    params = {"ps_args": " ".join(ps_args) if ps_args else None}
    doc = env.api.get(f"/containers/{quote(container)}/top", params)
    lines = ["\t".join(doc.get("Titles") or [])]
    lines += ["\t".join(p) for p in doc.get("Processes") or []]
    env.out.write(tabwrite("\n".join(lines) + "\n", minwidth=20, padding=3))
    return 0


def prune(env: Env, force: bool, filters: list[str]) -> int:
    if not force and not confirm(env, "WARNING! This will remove all stopped containers."):
        return 0
    report = env.api.post("/containers/prune", {"filters": filters_param(filters)}) or {}
    deleted = report.get("ContainersDeleted") or []
    print_reclaimed(env, [("Deleted Containers", deleted)], report.get("SpaceReclaimed") or 0)
    return 0


# ---------------------------------------------------------------------------------------------
# exec


class ExecOptions(NamedTuple):
    container: str
    command: list[str]
    interactive: bool = False
    tty: bool = False
    detach: bool = False
    env: Sequence[str] = ()
    env_files: Sequence[str] = ()
    workdir: str = ""
    user: str = ""
    privileged: bool = False
    detach_keys: str = ""


def exec_(env: Env, opts: ExecOptions) -> int:
    """docker exec: create the exec, start it hijacked (or detached), exit with its code."""
    from cli.streams import pump_hijacked, raw_terminal, watch_resize

    if opts.tty and opts.interactive and not opts.detach and not env.stdin_is_tty():
        raise CLIError("the input device is not a TTY", 1)
    envs = []
    for f in opts.env_files:
        envs.extend(_read_kv_file(f, "env"))
    for e in opts.env:
        if "=" in e:
            envs.append(e)
        elif e in os.environ:
            envs.append(f"{e}={os.environ[e]}")
    body: dict[str, Any] = {
        "User": opts.user,
        "Privileged": opts.privileged,
        "Tty": opts.tty,
        "AttachStdin": opts.interactive and not opts.detach,
        "AttachStderr": not opts.detach,
        "AttachStdout": not opts.detach,
        "Detach": opts.detach,
        "DetachKeys": opts.detach_keys or env.config.get("detachKeys", ""),
        "Env": envs or None,
        "WorkingDir": opts.workdir,
        "Cmd": opts.command,
    }
    created = env.api.post(f"/containers/{quote(opts.container)}/exec", None, body)
    exec_id = created["Id"]
    if opts.detach:
        env.api.post(f"/exec/{exec_id}/start", None, {"Detach": True, "Tty": opts.tty})
        return 0
    conn = env.api.hijack(f"/exec/{exec_id}/start", None, {"Detach": False, "Tty": opts.tty})
    stdin_fd = None
    if opts.interactive:
        try:
            stdin_fd = env.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            stdin_fd = None
    terminal = opts.tty and stdin_fd is not None and os.isatty(stdin_fd)
    ctx = raw_terminal(stdin_fd) if terminal and stdin_fd is not None else contextlib.nullcontext()
    stop_resize = None
    try:
        with ctx:
            if opts.tty and env.stdout_is_tty():
                stop_resize = watch_resize(
                    env.out.fileno(), lambda h, w: _resize(env, exec_id, h, w, True)
                )
            pump_hijacked(conn, opts.tty, env.out_b, env.err_b, stdin_fd)
    finally:
        conn.close()
        if stop_resize is not None:
            stop_resize()
    inspect_doc = env.api.get(f"/exec/{exec_id}/json")
    code = inspect_doc.get("ExitCode")
    return int(code) if code is not None else 0


_ = sys


# ---------------------------------------------------------------------------------------------
# diff / commit / port / update


_CHANGE_KINDS = {0: "C", 1: "A", 2: "D"}


def diff(env: Env, container: str) -> int:
    """docker diff: one `KIND PATH` line per change, in the daemon's order."""
    changes = env.api.get(f"/containers/{quote(container)}/changes") or []
    env.out.write("".join(f"{_CHANGE_KINDS.get(c['Kind'], '?')} {c['Path']}\n" for c in changes))
    return 0


class CommitOptions(NamedTuple):
    container: str
    reference: str = ""  # REPOSITORY[:TAG]
    author: str = ""
    message: str = ""
    changes: Sequence[str] = ()  # -c: Dockerfile instructions
    pause: bool = True


def commit(env: Env, opts: CommitOptions) -> int:
    """docker commit: POST /commit; the reference is checked here, as the docker client
    library does, and the new image's ID printed."""
    from cli.reference import ReferenceError, familiar_name, parse_normalized

    repo = tag = None
    if opts.reference:
        try:
            ref = parse_normalized(opts.reference)
        except ReferenceError as e:
            raise CLIError(str(e)) from None
        if ref.digest:
            raise CLIError("refusing to create a tag with a digest reference")
        repo, tag = familiar_name(ref.name), ref.tag or "latest"
    params: dict[str, Any] = {
        "container": opts.container,
        "repo": repo,
        "tag": tag,
        "comment": opts.message or None,
        "author": opts.author or None,
        "changes": list(opts.changes) or None,
        "pause": None if opts.pause else "0",
    }
    result = env.api.post("/commit", params, {})
    env.out.write(f"{result['Id']}\n")
    return 0


def _join_host_port(binding: dict[str, Any]) -> str:
    """net.JoinHostPort: IPv6 addresses in brackets."""
    ip = binding.get("HostIp") or ""
    host = f"[{ip}]" if ":" in ip else ip
    return f"{host}:{binding.get('HostPort', '')}"


def port(env: Env, container: str, private_port: str = "") -> int:
    """docker port: every published mapping (`80/tcp -> 0.0.0.0:8080`), or the host addresses
    of one private port (tcp unless `/PROTO` says otherwise), naturally sorted."""
    from cli.actions._common import natural_key

    info = env.api.get(f"/containers/{quote(container)}/json")
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    if private_port:
        number, _, proto = private_port.partition("/")
        if not number.isdigit() or int(number) >= 1 << 16:
            reason = "value out of range" if number.isdigit() else "invalid syntax"
            raise CLIError(
                f'Error: invalid port ({number}): strconv.ParseUint: parsing "{number}": {reason}'
            )
        bindings = ports.get(f"{number}/{proto or 'tcp'}") or []
        if not bindings:
            raise CLIError(f"Error: No public port '{private_port}' published for {container}")
        lines = [_join_host_port(b) for b in bindings]
    else:
        lines = [
            f"{key} -> {_join_host_port(b)}"
            for key, bindings in ports.items()
            for b in bindings or []
        ]
    if lines:
        env.out.write("\n".join(sorted(lines, key=natural_key)) + "\n")
    return 0


def update(env: Env, containers: list[str], resources: dict[str, Any], restart: str | None) -> int:
    """docker update: the flags given (at least one) to each container; names printed as they
    succeed, the daemon's warnings after them, the errors last."""
    body = {k: v for k, v in resources.items() if v is not None}
    if restart is not None:  # opts.ParseRestartPolicy; the daemon judges the name
        name, colon, count = restart.partition(":")
        if colon and not name:
            raise CLIError("invalid restart policy format: no policy provided before colon")
        if count and not count.lstrip("+-").isdigit():
            raise CLIError("invalid restart policy format: maximum retry count must be an integer")
        body["RestartPolicy"] = {"Name": name, "MaximumRetryCount": int(count or 0)}
    if not body:
        raise CLIError("you must provide one or more flags when using this command")
    warnings: list[str] = []
    errors: list[str] = []
    for ref in containers:
        try:
            result = env.api.post(f"/containers/{quote(ref)}/update", None, body) or {}
        except APIError as e:
            errors.append(str(e))
            continue
        env.out.write(ref + "\n")
        warnings.extend(result.get("Warnings") or [])
    if warnings:
        env.out.write("\n".join(warnings) + "\n")
    if errors:
        raise CLIError("\n".join(errors))
    return 0


# ---------------------------------------------------------------------------------------------
# stats


class StatsOptions(NamedTuple):
    containers: Sequence[str] = ()  # none: every running container (-a: every one)
    all: bool = False
    no_stream: bool = False
    no_trunc: bool = False
    format: str = ""


_STATS_TABLE = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
    "{{.BlockIO}}\t{{.PIDs}}"
)


def _stats_sample(env: Env, ref: str) -> tuple[dict[str, Any] | None, str]:
    """One stats document (stream=false: the daemon samples twice, so CPU % has a delta) or
    the error docker records for the container."""
    try:
        return env.api.get(f"/containers/{quote(ref)}/stats", {"stream": "0"}), ""
    except CLIError as e:
        return None, str(e)


def stats(env: Env, opts: StatsOptions) -> int:
    """docker stats: a snapshot of each container's usage, collected in parallel. Named
    containers that fail make the command fail before anything is printed; with none named,
    failures show as `--`. Streaming redraws the table every half second until interrupted."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from cli.actions._contexts import STATS_HEADERS, StatsContext

    fmt = opts.format or env.config.get("statsFormat", "") or "table"
    if fmt == "table":
        fmt = _STATS_TABLE
    named = list(opts.containers)
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            refs = named or [
                c["Id"][:12]
                for c in env.api.get("/containers/json", {"all": "1" if opts.all else None})
            ]
            samples = list(pool.map(lambda r: (r, *_stats_sample(env, r)), refs))
            errors = [err for _, _, err in samples if err]
            if named and errors:
                raise CLIError("\n".join(errors))
            contexts = [StatsContext(ref, doc, not opts.no_trunc) for ref, doc, _ in samples]
            if not opts.no_stream:
                env.out.write("\033[2J\033[H")
            try:
                render(env, fmt, STATS_HEADERS, contexts)
            except CLIError as e:  # stats words both kinds of template error as parsing ones
                raise CLIError("template parsing error: " + str(e).split(": ", 1)[1]) from None
            env.out.flush()
            if opts.no_stream or (named and not contexts):
                return 0
            time.sleep(0.5)
