"""dockerd's JSON shapes for containers (inspect, ps) and its human status strings."""

from __future__ import annotations

import time
from typing import Any

from ..humanize import human_duration
from ..volumes.mounts import api_mount_points
from .logs import parse_time
from .types import ZERO_TIME, Container


def _since(stamp: str) -> float:
    return max(0.0, time.time() - parse_time(stamp))


def status_text(c: Container) -> str:
    """The Status column of `docker ps`."""
    state = c.state
    if state.status == "running":
        return f"Up {human_duration(_since(state.started_at))}{_health_suffix(c)}"
    if state.status == "paused":
        return f"Up {human_duration(_since(state.started_at))} (Paused)"
    if state.status == "restarting":
        return f"Restarting ({state.exit_code}) {human_duration(_since(state.finished_at))} ago"
    if state.status == "removing":
        return "Removal In Progress"
    if state.status == "dead":
        return "Dead"
    if state.status == "exited" and state.finished_at != ZERO_TIME:
        return f"Exited ({state.exit_code}) {human_duration(_since(state.finished_at))} ago"
    return "Created"


def _health_suffix(c: Container) -> str:
    """`docker ps` shows a health check's status after the uptime."""
    health = c.state.health
    if not health:
        return ""
    if health["Status"] == "starting":
        return " (health: starting)"
    return f" ({health['Status']})"


def _command(c: Container) -> str:
    return " ".join([c.path, *c.args]) if c.path else ""


def summary(c: Container, image_ref: str) -> dict[str, Any]:
    """One row of GET /containers/json."""
    return {
        "Id": c.id,
        "Names": [c.name],
        "Image": image_ref,
        "ImageID": c.image_id,
        "Command": _command(c),
        "Created": int(parse_time(c.created)),
        "Ports": [],
        "Labels": c.config.get("Labels") or {},
        "State": c.state.status,
        "Status": status_text(c),
        "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode") or "default"},
        "NetworkSettings": {"Networks": {}},
        "Mounts": api_mount_points(c.mount_points),
    }


def inspect(c: Container, driver: str, driver_data: dict[str, str] | None) -> dict[str, Any]:
    """GET /containers/{id}/json, field for field as dockerd's ContainerJSON; `driver` is
    the storage driver the container's rootfs is on (GraphDriver.Data is null for vfs)."""
    state = c.state
    return {
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": c.args,
        "State": {
            "Status": state.status,
            "Running": state.status in ("running", "paused"),
            "Paused": state.status == "paused",
            "Restarting": state.status == "restarting",
            "OOMKilled": state.oom_killed,
            "Dead": state.status == "dead",
            "Pid": state.pid,
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": state.started_at,
            "FinishedAt": state.finished_at,
            **({"Health": state.health} if state.health is not None else {}),
        },
        "Image": c.image_id,
        "ResolvConfPath": c.resolv_conf_path,
        "HostnamePath": c.hostname_path,
        "HostsPath": c.hosts_path,
        "LogPath": c.log_path,
        "Name": c.name,
        "RestartCount": c.restart_count,
        "Driver": driver,
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": c.host_config,
        "GraphDriver": {"Name": driver, "Data": driver_data},
        "Mounts": api_mount_points(c.mount_points),
        "Config": c.config,
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "",
            "SandboxKey": "",
            "Ports": {},
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": "",
            "Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": {},
        },
    }
