"""How a container's Config is completed from its image's config, as dockerd's `merge` does."""

from __future__ import annotations

from typing import Any

from ..errdefs import InvalidParameter


def _env_key(entry: str) -> str:
    return entry.split("=", 1)[0]


def merge_config(user: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """The user's settings win; the image fills what the user left empty.

    `--entrypoint ""` arrives as [""] from the docker CLI and means "no entrypoint at all":
    the image's Cmd is then not used either, exactly as dockerd.
    """
    merged = dict(user)
    image_env = list(image.get("Env") or [])
    user_env = list(user.get("Env") or [])
    user_keys = {_env_key(e) for e in user_env}
    merged["Env"] = user_env + [e for e in image_env if _env_key(e) not in user_keys]
    labels = dict(image.get("Labels") or {})
    labels.update(user.get("Labels") or {})
    merged["Labels"] = labels
    for key in ("ExposedPorts", "Volumes"):
        combined = dict(image.get(key) or {})
        combined.update(user.get(key) or {})
        merged[key] = combined or None
    entrypoint = user.get("Entrypoint")
    if entrypoint == [""]:
        merged["Entrypoint"] = None
    elif not entrypoint:
        if not user.get("Cmd"):
            merged["Cmd"] = image.get("Cmd")
        if entrypoint is None:
            merged["Entrypoint"] = image.get("Entrypoint")
    for key in ("WorkingDir", "User", "StopSignal", "Healthcheck", "OnBuild", "Shell"):
        if not merged.get(key) and image.get(key):
            merged[key] = image[key]
    return merged


def command_of(config: dict[str, Any]) -> tuple[str, list[str]]:
    """Path and Args as inspect shows them: entrypoint + cmd, split at the first word."""
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not argv:
        raise InvalidParameter("no command specified")
    return argv[0], argv[1:]


def config_for_api(config: dict[str, Any], hostname: str, image_ref: str) -> dict[str, Any]:
    """Fill the fields inspect always shows, in dockerd's types (empty strings, not null)."""
    out: dict[str, Any] = {
        "Hostname": hostname,
        "Domainname": "",
        "User": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": None,
        "Cmd": None,
        "Image": image_ref,
        "Volumes": None,
        "WorkingDir": "",
        "Entrypoint": None,
        "OnBuild": None,
        "Labels": {},
    }
    out.update({k: v for k, v in config.items() if v is not None or k not in out})
    out["Hostname"] = config.get("Hostname") or hostname
    out["Image"] = image_ref
    return out
