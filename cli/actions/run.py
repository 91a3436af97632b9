"""docker run: create the container (pulling a missing image), then either start it and print
its ID (-d) or attach, start and stream until it exits, with the docker CLI's exit statuses
(the container's own, 125 for docker's errors, 126/127 when the command can't be run)."""

from __future__ import annotations

from cli._options import Options
from cli.actions.attach import stream
from cli.actions.create import ContainerConfig, attached_streams, create_container, parse_error
from cli.api import APIError, CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cli.env import Env

__all__ = ["ContainerConfig", "RunOptions", "run", "start_error_status"]


class RunOptions(Options):
    """docker run's own flags besides the container's."""

    config: ContainerConfig
    detach: bool = False
    sig_proxy: bool = True
    detach_keys: str = ""
    pull: str = "missing"


def start_error_status(message: str) -> int:
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


def run(env: Env, opts: RunOptions) -> int:
    """docker run: create, then (attached) attach → wait → start → copy streams, exiting with
    the container's status; detached, start and print the ID. Attached to stdin alone, the ID
    is printed and the status not waited for, as docker does."""
    cfg = opts.config
    if opts.detach and cfg.attach:
        raise CLIError("conflicting options: cannot specify both --attach and --detach", 1)
    std = (False, False, False) if opts.detach else attached_streams(cfg)
    if cfg.tty and std[0] and not env.stdin_is_tty():
        raise CLIError("the input device is not a TTY", 1)
    try:
        cid = create_container(env, cfg, std, opts.pull)
    except ValueError as e:
        raise parse_error("run", str(e)) from None
    except CLIError as e:
        raise parse_error("run", str(e), start_error_status(str(e))) from None
    if opts.detach:
        try:
            env.api.post(f"/containers/{cid}/start")
        except APIError as e:
            raise parse_error("run", str(e), start_error_status(e.message)) from None
        env.out.write(cid + "\n")
        return 0
    if not std[1] and not std[2]:
        env.out.write(cid + "\n")
        env.out.flush()
    try:
        result = stream(
            env,
            cid,
            tty=cfg.tty,
            std=std,
            detach_keys=opts.detach_keys,
            wait_condition="removed" if cfg.rm else "next-exit",
            start=True,
            auto_remove=cfg.rm,
            sig_proxy=opts.sig_proxy,
        )
    except APIError as e:
        env.err.write(f"docker: {e}\n\nRun 'docker run --help' for more information\n")
        return start_error_status(e.message)
    if result is None or (not std[1] and not std[2]):
        return 0  # detached with the keys, or nothing to wait for
    err = (result.get("Error") or {}).get("Message")
    if err:
        env.err.write(f"docker: Error response from daemon: {err}\n")
        return 125
    return int(result.get("StatusCode", 0))
