"""version, info and events: docker's layouts (cli/command/system) over /version, /info and
/events."""

from __future__ import annotations

import os
import sys

from cli import __version__, _json
from cli._options import Options
from cli.actions._common import filters_param
from cli.api import API_VERSION, CLIError
from cli.env import Env
from cli.format import bytes_size, parse_time, tabwrite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = [
    "EventsOptions",
    "InfoOptions",
    "VersionOptions",
    "client_version_line",
    "events",
    "filters_param",
    "info",
    "template_output",
    "version",
]

_GO_VERSION = "python" + sys.version.split()[0]


def client_version_line() -> str:
    """`docker -v`: `Docker version 28.2.2, build e6534b4`, with our version."""
    return f"Docker version {__version__}, build dockerpy"


def template_output(
    env: Env,
    fmt: str,
    data: Any,
    name: str = "",
    parse_status: int = 64,
    newline: bool = True,
) -> int:
    """A --format over one document (version, info, system df -v): a template that does not
    parse is `template parsing error` (status 64 for version and info, as docker's), one
    that fails is the template's own error (status 1); `name` is the template's name in the
    messages (docker names version's "version")."""
    from cli import gotemplate

    def named(e: Exception) -> str:
        text = str(e)
        if name:
            text = text.replace("template: :", f"template: {name}:")
            text = text.replace('executing ""', f'executing "{name}"')
        return text

    text = "{{json .}}" if fmt == "json" else fmt
    text = text.replace("\\t", "\t").replace("\\n", "\n")
    try:
        tmpl = gotemplate.parse(text)
    except gotemplate.TemplateError as e:
        raise CLIError(f"template parsing error: {named(e)}", parse_status) from None
    try:
        env.out.write(tmpl.execute(data) + ("\n" if newline else ""))
    except gotemplate.TemplateError as e:
        raise CLIError(named(e)) from None
    return 0


# ---------------------------------------------------------------------------------------------
# version


class VersionOptions(Options):
    format: str = ""  # -f/--format: "json" or a Go template


_VERSION_TEMPLATE = """Client:{{if ne .Client.Platform.Name ""}} {{.Client.Platform.Name}}{{end}}
 Version:\t{{.Client.Version}}
 API version:\t{{.Client.ApiVersion}}{{if ne .Client.ApiVersion .Client.DefaultAPIVersion}} (downgraded from {{.Client.DefaultAPIVersion}}){{end}}
 Go version:\t{{.Client.GoVersion}}
 Git commit:\t{{.Client.GitCommit}}
 Built:\t{{.Client.BuildTime}}
 OS/Arch:\t{{.Client.Os}}/{{.Client.Arch}}
 Context:\t{{.Client.Context}}"""  # noqa: E501


def _client_version(api_version: str) -> dict[str, Any]:
    machine = os.uname().machine
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return {
        "Platform": {"Name": ""},
        "Version": __version__,
        "ApiVersion": api_version,
        "DefaultAPIVersion": API_VERSION,
        "GitCommit": "dockerpy",
        "GoVersion": _GO_VERSION,
        "Os": sys.platform if sys.platform != "linux" else "linux",
        "Arch": arch,
        "BuildTime": "",
        "Context": "default",
    }


def _server_text(server: dict[str, Any]) -> str:
    platform_name = (server.get("Platform") or {}).get("Name")
    lines = [
        "",
        "",
        "Server:" + (f" {platform_name}" if platform_name else ""),
    ]
    for comp in server.get("Components") or []:
        name = comp.get("Name", "")
        details = comp.get("Details") or {}
        lines.append(f" {name}:")
        if name == "Engine":
            lines += [
                f"  Version:\t{comp.get('Version', '')}",
                f"  API version:\t{details.get('ApiVersion', '')} (minimum version "
                f"{details.get('MinAPIVersion', '')})",
                f"  Go version:\t{details.get('GoVersion', '')}",
                f"  Git commit:\t{details.get('GitCommit', '')}",
                f"  Built:\t{details.get('BuildTime', '')}",
                f"  OS/Arch:\t{details.get('Os', '')}/{details.get('Arch', '')}",
                f"  Experimental:\t{details.get('Experimental', '')}",
            ]
        else:
            lines.append(f"  Version:\t{comp.get('Version', '')}")
            lines += [f"  {k}:\t{details[k]}" for k in sorted(details)]
    return "\n".join(lines)


def version(env: Env, opts: VersionOptions) -> int:
    """docker version: the client block, then the server's (or the connection error)."""
    from cli import gotemplate

    api = env.api
    server: dict[str, Any] | None = None
    error: CLIError | None = None
    try:
        server = api.get("/version")
    except CLIError as e:
        error = e
    data = {
        "Client": _client_version(api.version if error is None else API_VERSION),
        "Server": server,
    }
    if opts.format:
        from cli.gotemplate import GoRecord

        template_output(env, opts.format, GoRecord("system.versionInfo", data), "version")
        if error is not None:
            raise error
        return 0
    text = gotemplate.parse(_VERSION_TEMPLATE).execute(data)
    if server is not None:
        text += _server_text(server)
    env.out.write(tabwrite(text + "\n", minwidth=20, padding=1))
    if error is not None:
        env.out.write("\n")
        raise error
    return 0


# ---------------------------------------------------------------------------------------------
# info


class InfoOptions(Options):
    format: str = ""


def _p(out: list[str], *parts: Any) -> None:
    """fmt.Fprintln: operands joined by spaces."""
    out.append(" ".join(_go_str(p) for p in parts) + "\n")


def _p_nonempty(out: list[str], label: str, value: Any) -> None:
    if value not in ("", None):
        _p(out, label, value)


def _go_str(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "<nil>"
    return str(v)


def _client_info(env: Env) -> dict[str, Any]:
    c = _client_version(API_VERSION)
    return {
        "Debug": False,
        "Version": c["Version"],
        "DefaultAPIVersion": c["DefaultAPIVersion"],
        "GitCommit": c["GitCommit"],
        "GoVersion": c["GoVersion"],
        "Os": c["Os"],
        "Arch": c["Arch"],
        "BuildTime": c["BuildTime"],
        "Context": "default",
        "Plugins": [],
        "Warnings": None,
    }


def info(env: Env, opts: InfoOptions) -> int:
    """docker info: Client and Server blocks (prettyPrintInfo), or the template over the
    daemon's /info plus ClientInfo."""
    client = _client_info(env)
    if opts.format:
        from cli.gotemplate import GoRecord

        data = env.api.get("/info")
        data["ClientInfo"] = client
        return template_output(env, opts.format, GoRecord("system.dockerInfo", data))
    out: list[str] = []
    _p(out, "Client:")
    _p_nonempty(out, " Version:   ", client["Version"])
    _p(out, " Context:   ", client["Context"])
    _p(out, " Debug Mode:", client["Debug"])
    _p(out)
    _p(out, "Server:")
    try:
        i = env.api.get("/info")
    except CLIError as e:
        env.out.write("".join(out))
        env.err.write(f"ERROR: {e}\n")
        raise CLIError("errors pretty printing info") from None
    _server_info(out, i)
    env.out.write("".join(out))
    warnings = i.get("Warnings") or []
    if warnings:
        env.err.write("\n".join(warnings) + "\n")
    return 0


def _server_info(out: list[str], i: dict[str, Any]) -> None:
    _p(out, " Containers:", i.get("Containers", 0))
    _p(out, "  Running:", i.get("ContainersRunning", 0))
    _p(out, "  Paused:", i.get("ContainersPaused", 0))
    _p(out, "  Stopped:", i.get("ContainersStopped", 0))
    _p(out, " Images:", i.get("Images", 0))
    _p_nonempty(out, " Server Version:", i.get("ServerVersion"))
    _p_nonempty(out, " Storage Driver:", i.get("Driver"))
    for pair in i.get("DriverStatus") or []:
        out.append(f"  {pair[0]}: {pair[1]}\n")
    _p_nonempty(out, " Logging Driver:", i.get("LoggingDriver"))
    _p_nonempty(out, " Cgroup Driver:", i.get("CgroupDriver"))
    _p_nonempty(out, " Cgroup Version:", i.get("CgroupVersion"))
    plugins = i.get("Plugins") or {}
    _p(out, " Plugins:")
    _p(out, "  Volume:", " ".join(plugins.get("Volume") or []))
    _p(out, "  Network:", " ".join(plugins.get("Network") or []))
    if plugins.get("Authorization"):
        _p(out, "  Authorization:", " ".join(plugins["Authorization"]))
    _p(out, "  Log:", " ".join(plugins.get("Log") or []))
    if i.get("CDISpecDirs"):
        _p(out, " CDI spec directories:")
        for d in i["CDISpecDirs"]:
            out.append(f"  {d}\n")
    swarm = i.get("Swarm") or {}
    _p(out, " Swarm:", swarm.get("LocalNodeState", ""))
    runtimes = i.get("Runtimes") or {}
    if runtimes:
        _p(out, " Runtimes:", " ".join(sorted(runtimes)))
        _p(out, " Default Runtime:", i.get("DefaultRuntime", ""))
    if i.get("OSType") == "linux":
        _p(out, " Init Binary:", i.get("InitBinary", ""))
        for name, key in (
            ("containerd", "ContainerdCommit"),
            ("runc", "RuncCommit"),
            ("init", "InitCommit"),
        ):
            commit = i.get(key) or {}
            line = f" {name} version: {commit.get('ID', '')}"
            expected = commit.get("Expected")
            if expected is not None and expected != commit.get("ID"):
                line += f" (expected: {expected})"
            out.append(line + "\n")
        secopts = i.get("SecurityOptions") or []
        if secopts:
            _p(out, " Security Options:")
            for so in secopts:
                kv = dict(part.split("=", 1) for part in so.split(",") if "=" in part)
                _p(out, "  " + kv.get("name", so))
                if "profile" in kv:
                    _p(out, "   Profile:", kv["profile"])
    if i.get("OSType") == "windows":
        _p(out, " Default Isolation:", i.get("Isolation", ""))
    _p_nonempty(out, " Kernel Version:", i.get("KernelVersion"))
    _p_nonempty(out, " Operating System:", i.get("OperatingSystem"))
    _p_nonempty(out, " OSType:", i.get("OSType"))
    _p_nonempty(out, " Architecture:", i.get("Architecture"))
    _p(out, " CPUs:", i.get("NCPU", 0))
    _p(out, " Total Memory:", bytes_size(i.get("MemTotal", 0)))
    _p_nonempty(out, " Name:", i.get("Name"))
    _p_nonempty(out, " ID:", i.get("ID"))
    _p(out, " Docker Root Dir:", i.get("DockerRootDir", ""))
    _p(out, " Debug Mode:", bool(i.get("Debug")))
    if i.get("Debug"):
        _p(out, "  File Descriptors:", i.get("NFd", 0))
        _p(out, "  Goroutines:", i.get("NGoroutines", 0))
        _p(out, "  System Time:", i.get("SystemTime", ""))
        _p(out, "  EventsListeners:", i.get("NEventsListener", 0))
    _p_nonempty(out, " HTTP Proxy:", i.get("HttpProxy"))
    _p_nonempty(out, " HTTPS Proxy:", i.get("HttpsProxy"))
    _p_nonempty(out, " No Proxy:", i.get("NoProxy"))
    _p_nonempty(out, " Username:", i.get("UserName"))
    if i.get("Labels"):
        _p(out, " Labels:")
        for label in i["Labels"]:
            _p(out, "  " + label)
    _p(out, " Experimental:", bool(i.get("ExperimentalBuild")))
    reg = i.get("RegistryConfig") or {}
    index_configs = reg.get("IndexConfigs") or {}
    cidrs = reg.get("InsecureRegistryCIDRs") or []
    if cidrs or index_configs:
        _p(out, " Insecure Registries:")
        for cfg in index_configs.values():
            if not cfg.get("Secure", True):
                _p(out, "  " + cfg.get("Name", ""))
        for cidr in cidrs:
            out.append(f"  {cidr}\n")
    if reg.get("Mirrors"):
        _p(out, " Registry Mirrors:")
        for m in reg["Mirrors"]:
            _p(out, "  " + m)
    _p(out, " Live Restore Enabled:", bool(i.get("LiveRestoreEnabled")))
    if i.get("ProductLicense"):
        _p(out, " Product License:", i["ProductLicense"])
    for pool in i.get("DefaultAddressPools") or []:
        if pool is (i.get("DefaultAddressPools") or [None])[0]:
            _p(out, " Default Address Pools:")
        out.append(f"   Base: {pool.get('Base')}, Size: {pool.get('Size')}\n")
    _p(out)


# ---------------------------------------------------------------------------------------------
# events


class EventsOptions(Options):
    since: str = ""
    until: str = ""
    filters: Sequence[str] = ()
    format: str = ""


def _event_time(ev: dict[str, Any]) -> str:
    """jsonmessage.RFC3339NanoFixed in local time: 2006-01-02T15:04:05.000000000Z07:00."""
    import datetime as dt

    nanos = ev.get("timeNano") or (ev.get("time", 0) * 1_000_000_000)
    secs, frac = divmod(int(nanos), 1_000_000_000)
    t = dt.datetime.fromtimestamp(secs).astimezone()
    off = t.strftime("%z")
    zone = "Z" if off in ("+0000", "-0000") else f"{off[:3]}:{off[3:]}"
    return f"{t:%Y-%m-%dT%H:%M:%S}.{frac:09d}{zone}"


def _pretty_event(ev: dict[str, Any]) -> str:
    actor = ev.get("Actor") or {}
    line = ""
    if ev.get("timeNano") or ev.get("time"):
        line = _event_time(ev) + " "
    line += f"{ev.get('Type', '')} {ev.get('Action', '')} {actor.get('ID', '')}"
    attrs = actor.get("Attributes") or {}
    if attrs:
        line += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return line + "\n"


# events.Message: Go field → JSON key, in the struct's order
_EVENT_FIELDS = {
    "Status": "status",
    "ID": "id",
    "From": "from",
    "Type": "Type",
    "Action": "Action",
    "Actor": "Actor",
    "Scope": "scope",
    "Time": "time",
    "TimeNano": "timeNano",
}


# A zero events.Message, which docker's events tries a template on first
_EMPTY_EVENT = {"Type": "", "Action": "", "Actor": {"ID": "", "Attributes": {}}, "time": 0}


def _event_record(ev: dict[str, Any]) -> Any:
    """An event as the *events.Message a template sees (its Actor an events.Actor)."""
    from cli.gotemplate import GoRecord

    ev = dict(ev)
    if isinstance(ev.get("Actor"), dict):
        ev["Actor"] = GoRecord(
            "events.Actor", ev["Actor"], {"ID": "ID", "Attributes": "Attributes"}
        )
    return GoRecord("*events.Message", ev, _EVENT_FIELDS)


def events(env: Env, opts: EventsOptions) -> int:
    """docker events: stream /events, one line per event (or the template), until --until or
    Ctrl-C. A template that fails, to parse or on an event, is docker's `Error parsing
    format` with status 64."""
    from cli import gotemplate

    params: dict[str, Any] = {}
    try:
        if opts.since:
            params["since"] = parse_time(opts.since)
        if opts.until:
            params["until"] = parse_time(opts.until)
    except ValueError as e:
        raise CLIError(str(e)) from None
    params["filters"] = filters_param(opts.filters)
    tmpl = None
    if opts.format:
        text = "{{json .}}" if opts.format == "json" else opts.format
        try:
            tmpl = gotemplate.parse(text.replace("\\t", "\t").replace("\\n", "\n"))
            tmpl.execute(_event_record(_EMPTY_EVENT))  # docker tries it before any event
        except gotemplate.TemplateError as e:
            raise CLIError(f"Error parsing format: {e}", 64) from None
    resp = env.api.request("GET", "/events", params)
    try:
        for line in resp.lines():
            if not line.strip():
                continue
            ev = _json.loads(line)
            if tmpl is not None:
                try:
                    env.out.write(tmpl.execute(_event_record(ev)) + "\n")
                except gotemplate.TemplateError as e:
                    raise CLIError(f"Error parsing format: {e}", 64) from None
            else:
                env.out.write(_pretty_event(ev))
            env.out.flush()
    finally:
        resp.close()
    return 0
