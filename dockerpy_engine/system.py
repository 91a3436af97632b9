"""What `docker version` and `docker info` report: real figures read from this machine."""

from __future__ import annotations

import os
import platform
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import graphdriver
from .config import DaemonConfig
from .containers.logdrivers import driver_names
from .containers.service import ContainerService
from .containers.types import now_rfc3339
from .events import EventBus
from .images import ImageStore
from .runtime import ContainerdRuntime
from .version import API_VERSION, GIT_COMMIT, MIN_API_VERSION, SERVER_VERSION


@dataclass(frozen=True, slots=True)
class HostFacts:
    """Facts that do not change while the daemon runs, read once at start."""

    kernel: str
    os_name: str
    ncpu: int
    mem_total: int
    cgroup_version: str
    runc_version: str

    @classmethod
    def read(cls) -> HostFacts:
        return cls(
            kernel=platform.release(),
            os_name=_os_pretty_name(),
            ncpu=os.cpu_count() or 1,
            mem_total=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
            cgroup_version="2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "1",
            runc_version=_runc_version(),
        )


def _os_pretty_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "Linux"


def _runc_version() -> str:
    """runc's version from its Debian package metadata, without spawning runc on a request."""
    try:
        text = Path("/var/lib/dpkg/status").read_text(errors="replace")
    except OSError:
        return ""
    block = text.split("\nPackage: runc\n", 1)
    if len(block) < 2:
        return ""
    for line in block[1].splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
        if not line:
            break
    return ""


def daemon_id(data_root: Path) -> str:
    """A stable engine ID kept in the data root, as dockerd's engine-id file."""
    path = data_root / "engine-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = str(uuid.uuid4())
        tmp = path.with_suffix(".tmp")
        tmp.write_text(value)
        tmp.rename(path)
        return value


class SystemService:
    """Answers /version and /info from the other services and the host's facts."""

    def __init__(
        self,
        containers: ContainerService,
        images: ImageStore,
        runtime: ContainerdRuntime,
        config: DaemonConfig,
        containerd_version: str,
        events: EventBus,
        warnings: list[str] | None = None,
    ) -> None:
        self._containers = containers
        self._images = images
        self._runtime = runtime
        self._config = config  # the live one: a reload (SIGHUP) changes it in place
        self._data_root = data_root = config.data_root
        self._containerd_version = containerd_version
        self._warnings = warnings or None  # the API's (a TCP host); the router adds the host's
        self._events = events
        self._host = HostFacts.read()
        self._id = daemon_id(data_root)

    @property
    def engine_id(self) -> str:
        """The daemon's ID: the actor of its own events, as dockerd's."""
        return self._id

    def version(self) -> dict[str, Any]:
        details = {
            "ApiVersion": API_VERSION,
            "Arch": _go_arch(),
            "BuildTime": "",
            "Experimental": "false",
            "GitCommit": GIT_COMMIT,
            "GoVersion": f"python{platform.python_version()}",
            "KernelVersion": self._host.kernel,
            "MinAPIVersion": MIN_API_VERSION,
            "Os": "linux",
        }
        return {
            "Platform": {"Name": "dockerpy-engine"},
            "Components": [
                {"Name": "Engine", "Version": SERVER_VERSION, "Details": details},
                {
                    "Name": "containerd",
                    "Version": self._containerd_version,
                    "Details": {"GitCommit": ""},
                },
                {"Name": "runc", "Version": self._host.runc_version, "Details": {"GitCommit": ""}},
            ],
            "Version": SERVER_VERSION,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": GIT_COMMIT,
            "GoVersion": details["GoVersion"],
            "Os": "linux",
            "Arch": _go_arch(),
            "KernelVersion": self._host.kernel,
            "BuildTime": "",
        }

    def info(self) -> dict[str, Any]:
        containers = self._containers.all()
        running = sum(1 for c in containers if c.state.status == "running")
        paused = sum(1 for c in containers if c.state.status == "paused")
        return {
            "ID": self._id,
            "Containers": len(containers),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(containers) - running - paused,
            "Images": len(self._images.list({})),
            "Driver": self._images.graph_driver,
            "DriverStatus": graphdriver.status(self._images.graph_driver),
            "Plugins": {
                "Volume": ["local"],
                "Network": ["host", "null"],
                "Authorization": None,
                "Log": driver_names(),
            },
            "MemoryLimit": True,
            "SwapLimit": True,
            "CpuCfsPeriod": True,
            "CpuCfsQuota": True,
            "CPUShares": True,
            "CPUSet": True,
            "PidsLimit": True,
            "IPv4Forwarding": True,
            "Debug": self._config.debug,
            "NFd": len(os.listdir("/proc/self/fd")),
            "OomKillDisable": self._host.cgroup_version == "1",
            "NGoroutines": 0,
            "SystemTime": now_rfc3339(),
            "LoggingDriver": self._containers.default_log_driver,
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": self._host.cgroup_version,
            "NEventsListener": self._events.listener_count,
            "KernelVersion": self._host.kernel,
            "OperatingSystem": self._host.os_name,
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": platform.machine(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "IndexConfigs": {},
                "InsecureRegistryCIDRs": ["127.0.0.0/8", "::1/128"],
                "Mirrors": [],
            },
            "NCPU": self._host.ncpu,
            "MemTotal": self._host.mem_total,
            "GenericResources": None,
            "DockerRootDir": str(self._data_root),
            "HttpProxy": os.environ.get("HTTP_PROXY", ""),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", ""),
            "NoProxy": os.environ.get("NO_PROXY", ""),
            "Name": socket.gethostname(),
            "Labels": list(self._config.labels),
            "ExperimentalBuild": False,
            "ServerVersion": SERVER_VERSION,
            "Runtimes": {"runc": {"path": "runc"}},
            "DefaultRuntime": "runc",
            "Swarm": {
                "NodeID": "",
                "NodeAddr": "",
                "LocalNodeState": "inactive",
                "ControlAvailable": False,
                "Error": "",
                "RemoteManagers": None,
            },
            "LiveRestoreEnabled": self._config.live_restore,
            "Isolation": "",
            "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": self._containerd_version},
            "RuncCommit": {"ID": self._host.runc_version},
            "InitCommit": {"ID": "tini"},
            "SecurityOptions": self._security_options(),
            "Warnings": self._warnings,
        }

    def _security_options(self) -> list[str]:
        """dockerd's list, in its order: seccomp, then userns when the daemon remaps."""
        options = ["name=seccomp,profile=builtin"]
        if not self._images.ids.empty:
            options.append("name=userns")
        return options


def _go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
