"""docker exec: create an exec in a running container and start it, detached or with its
streams (raw mode, window size, detach keys as for attach); exits with the command's status."""

from __future__ import annotations

from cli._options import Options
from cli.actions.attach import resize, stdin_fd
from cli.actions.create import env_strings
from cli.api import CLIError, quote
from cli.streams import detach_key_bytes, pump_hijacked, raw_terminal, watch_resize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cli.env import Env

__all__ = ["ExecOptions", "exec_"]


class ExecOptions(Options):
    """docker exec's flags."""

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
    """docker exec: the container is inspected first (so that `No such container` wins over
    the TTY check), then the exec is created with the terminal's size as its ConsoleSize and
    started hijacked (or detached)."""
    env.api.get(f"/containers/{quote(opts.container)}/json")
    if opts.tty and opts.interactive and not opts.detach and not env.stdin_is_tty():
        raise CLIError("the input device is not a TTY", 1)
    keys = opts.detach_keys or env.config.get("detachKeys", "")
    body: dict[str, Any] = {
        "User": opts.user,
        "Privileged": opts.privileged,
        "Tty": opts.tty,
        "AttachStdin": opts.interactive and not opts.detach,
        "AttachStderr": not opts.detach,
        "AttachStdout": not opts.detach,
        "Detach": opts.detach,
        "DetachKeys": keys,
        "Env": env_strings(opts.env_files, opts.env) or None,
        "WorkingDir": opts.workdir,
        "Cmd": opts.command,
    }
    start: dict[str, Any] = {"Detach": opts.detach, "Tty": opts.tty}
    if opts.tty:
        body["ConsoleSize"] = start["ConsoleSize"] = list(env.tty_size())
    created = env.api.post(f"/containers/{quote(opts.container)}/exec", None, body)
    exec_id = created["Id"]
    if opts.detach:
        env.api.post(f"/exec/{exec_id}/start", None, start)
        return 0
    conn = env.api.hijack(f"/exec/{exec_id}/start", None, start)
    fd = stdin_fd(env) if opts.interactive else None
    stop_resize = None
    try:
        if opts.tty and env.stdin_is_tty():
            stop_resize = watch_resize(
                env.tty_size, lambda h, w: resize(env, exec_id, h, w, exec_=True)
            )
        with raw_terminal(fd if opts.tty else None):
            escape = detach_key_bytes(keys) if opts.tty and fd is not None else b""
            detached = pump_hijacked(conn, opts.tty, env.out_b, env.err_b, fd, escape)
    finally:
        conn.close()
        if stop_resize is not None:
            stop_resize()
    if detached:
        raise CLIError("read escape sequence")
    code = env.api.get(f"/exec/{exec_id}/json").get("ExitCode")
    return int(code) if code is not None else 0
