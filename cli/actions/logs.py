"""docker logs: a container's log stream, demultiplexed to stdout/stderr unless the container
has a TTY."""

from __future__ import annotations

from cli._options import Options
from cli.api import CLIError, quote
from cli.format import parse_time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cli.env import Env

__all__ = ["LogsOptions", "logs"]


class LogsOptions(Options):
    """docker logs' flags."""

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
