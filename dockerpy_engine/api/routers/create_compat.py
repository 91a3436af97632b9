"""POST /containers/create as each API version means it: dockerd's postContainersCreate settles
version differences before the daemon sees the request, and so does this.

A field a version did not have is dropped (an old client may send a zero value the daemon would
otherwise act on), a field the version had but the daemon now refuses is refused with dockerd's
words, and the container-wide MAC address (docker-py's `mac_address`, every client before API
1.44) moves to the endpoint of the container's network, where the daemon reads it.
"""

from __future__ import annotations

from typing import Any

from ...errdefs import InvalidParameter
from ...version import api_less_than

_MAC_DEPRECATED = (
    "The container-wide MacAddress field is now deprecated. "
    "It should be specified in EndpointsConfig instead."
)
_PREDEFINED_MODES = ("default", "bridge", "host", "none")


def adapt_create(
    version: str,
    config: dict[str, Any],
    host_config: dict[str, Any],
    networking_config: dict[str, Any],
) -> list[str]:
    """Bring a create request of `version` to the current shape, in place; returns the
    warnings this adds to the response."""
    mounts = [m for m in host_config.get("Mounts") or [] if isinstance(m, dict)]
    endpoints = networking_config.setdefault("EndpointsConfig", {}) or {}
    networking_config["EndpointsConfig"] = endpoints
    if api_less_than(version, "1.25"):
        _reset(host_config, "AutoRemove", False)  # the client removed the container itself
    if api_less_than(version, "1.40"):
        for m in mounts:
            if m.get("BindOptions"):
                m["BindOptions"]["NonRecursive"] = False
        _reset(host_config, "KernelMemoryTCP", 0)
        if not host_config.get("IpcMode"):  # older clients expect containers to share IPC
            host_config["IpcMode"] = "shareable"
    if api_less_than(version, "1.42"):
        for m in mounts:
            if m.get("BindOptions"):
                m["BindOptions"]["CreateMountpoint"] = False
            for key, kind in (("VolumeOptions", "volume"), ("TmpfsOptions", "tmpfs")):
                if m.get(key) is not None and m.get("Type") != kind:
                    m[key] = None  # invalid, but not validated before 1.42
        _reset(host_config, "ConsoleSize", [0, 0])
    else:
        _reset(host_config, "KernelMemory", 0)
        for m in mounts:
            for key, kind in (("VolumeOptions", "volume"), ("BindOptions", "bind"),
                              ("TmpfsOptions", "tmpfs")):  # fmt: skip
                if m.get(key) is not None and m.get("Type") != kind:
                    raise InvalidParameter(
                        f'{key} must not be specified on mount type "{m.get("Type") or ""}"'
                    )
    if api_less_than(version, "1.43"):
        _reset(host_config, "Annotations", None)
    if api_less_than(version, "1.44"):
        if isinstance(config.get("Healthcheck"), dict):
            config["Healthcheck"]["StartInterval"] = 0
        for m in mounts:
            forced = (m.get("BindOptions") or {}).get("ReadOnlyForceRecursive")
            if m.get("Type") == "bind" and forced:
                raise InvalidParameter(
                    "BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer"
                )
        if len(endpoints) > 1:
            raise InvalidParameter(
                "Container cannot be created with multiple network endpoints: "
                + ", ".join(endpoints)
            )
    if api_less_than(version, "1.45"):
        for m in mounts:
            if (m.get("VolumeOptions") or {}).get("Subpath"):
                raise InvalidParameter("VolumeOptions.Subpath needs API v1.45 or newer")
    return _move_mac_address(version, config, host_config, endpoints)


def _reset(host_config: dict[str, Any], key: str, value: Any) -> None:
    """A field the version did not have: what the client sent is dropped."""
    if key in host_config:
        host_config[key] = value


def _move_mac_address(
    version: str, config: dict[str, Any], host_config: dict[str, Any], endpoints: dict[str, Any]
) -> list[str]:
    """dockerd's handleMACAddressBC."""
    mac = str(config.get("MacAddress") or "")
    mode = str(host_config.get("NetworkMode") or "default")
    addressed = mode in ("default", "bridge") or (
        mode not in _PREDEFINED_MODES and not mode.startswith("container:")
    )
    network = "bridge" if mode == "default" and mode not in endpoints else mode
    if api_less_than(version, "1.44"):
        if not mac:  # the old API ignored an endpoint's own address
            for ep in endpoints.values():
                if isinstance(ep, dict):
                    ep["MacAddress"] = ""
            return []
        if not addressed:
            raise InvalidParameter("conflicting options: mac-address and the network mode")
        if not endpoints:
            endpoints[network] = {}
        for name, ep in endpoints.items():
            endpoints[name] = {**(ep or {}), "MacAddress": mac}
        return []
    if not mac:
        return []
    if addressed:
        if not endpoints:
            endpoints[network] = {"MacAddress": mac}
        else:
            ep = endpoints.get(network)
            if ep is None:
                raise InvalidParameter(
                    "if a container-wide MAC address is supplied, HostConfig.NetworkMode must "
                    "match the identity of a network in NetworkSettings.Networks"
                )
            if not ep.get("MacAddress"):
                ep["MacAddress"] = mac
            elif ep["MacAddress"] != mac:
                raise InvalidParameter(
                    "the container-wide MAC address must match the endpoint-specific MAC "
                    "address for the main network, or be left empty"
                )
    config["MacAddress"] = ""
    return [_MAC_DEPRECATED]
