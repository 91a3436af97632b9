"""Container state changes: start (with -a/-i, an attached session), stop, restart, kill,
pause, unpause, rm, wait, rename and container prune; per-container errors reported as the
docker CLI reports them, the others still done."""

from __future__ import annotations

from cli._options import Options
from cli.actions._common import confirm, filters_param, for_each, print_reclaimed
from cli.api import APIError, CLIError, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cli.env import Env

__all__ = [
    "StartOptions",
    "StopOptions",
    "kill",
    "pause",
    "prune",
    "rename",
    "restart",
    "rm",
    "start",
    "stop",
    "unpause",
    "wait",
]


class StartOptions(Options):
    """docker start's flags."""

    containers: list[str]
    attach: bool = False
    interactive: bool = False
    detach_keys: str = ""


def start(env: Env, opts: StartOptions) -> int:
    """docker start: each container in turn; with -a/-i one container, attached (its signals
    forwarded when it has no TTY), exiting with its status."""
    if (opts.attach or opts.interactive) and len(opts.containers) > 1:
        raise CLIError("you cannot start and attach multiple containers at once", 1)
    if opts.attach or opts.interactive:
        from cli.actions.attach import exit_status, stream

        info = env.api.get(f"/containers/{quote(opts.containers[0])}/json")
        config = info.get("Config") or {}
        tty = bool(config.get("Tty"))
        stdin = opts.interactive and bool(config.get("OpenStdin"))
        if tty and stdin and not env.stdin_is_tty():
            raise CLIError("the input device is not a TTY", 1)
        auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
        result = stream(
            env,
            info["Id"],
            tty=tty,
            std=(stdin, True, True),
            detach_keys=opts.detach_keys,
            wait_condition="removed" if auto_remove else "next-exit",
            start=True,
            auto_remove=auto_remove,
            sig_proxy=not tty,
        )
        return 0 if result is None else exit_status(result)

    def one(ref: str) -> str:
        env.api.post(f"/containers/{quote(ref)}/start")
        return ref

    return for_each(env, opts.containers, one, summary="failed to start containers")


class StopOptions(Options):
    """docker stop's and restart's flags."""

    containers: list[str]
    timeout: int | None = None  # -t: seconds before SIGKILL (None: the container's own)
    signal: str = ""


def _post_each(env: Env, refs: list[str], action: str, params: dict[str, Any] | None = None) -> int:
    """POST /containers/{ref}/{action} for each ref in turn, printing each ref that worked
    and each error as it comes."""

    def one(ref: str) -> str:
        env.api.post(f"/containers/{quote(ref)}/{action}", params)
        return ref

    return for_each(env, refs, one)


def stop(env: Env, opts: StopOptions) -> int:
    return _post_each(
        env, opts.containers, "stop", {"t": opts.timeout, "signal": opts.signal or None}
    )


def restart(env: Env, opts: StopOptions) -> int:
    return _post_each(
        env, opts.containers, "restart", {"t": opts.timeout, "signal": opts.signal or None}
    )


def kill(env: Env, containers: list[str], signal: str = "") -> int:
    return _post_each(env, containers, "kill", {"signal": signal or None})


def pause(env: Env, containers: list[str]) -> int:
    return _post_each(env, containers, "pause")


def unpause(env: Env, containers: list[str]) -> int:
    return _post_each(env, containers, "unpause")


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


def prune(env: Env, force: bool, filters: list[str]) -> int:
    if not force and not confirm(env, "WARNING! This will remove all stopped containers."):
        return 0
    report = env.api.post("/containers/prune", {"filters": filters_param(filters)}) or {}
    deleted = report.get("ContainersDeleted") or []
    print_reclaimed(env, [("Deleted Containers", deleted)], report.get("SpaceReclaimed") or 0)
    return 0
