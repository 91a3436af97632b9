"""Attached sessions: `attach`, and the attach stream of `run` (without -d) and `start -a/-i`,
with what the docker CLI puts around it: the wait request sent before the container starts,
raw mode on a terminal, the window size (now and on SIGWINCH), signal forwarding and the detach
keys. `exec` uses the same pieces for its own stream."""

from __future__ import annotations

import contextlib

from cli import _json
from cli.api import APIError, CLIError, quote
from cli.streams import detach_key_bytes, pump_hijacked, raw_terminal, watch_resize

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from cli.env import Env

__all__ = ["attach", "exit_status", "proxy_signals", "resize", "stdin_fd", "stream"]


def resize(env: Env, ident: str, h: int, w: int, exec_: bool = False) -> None:
    """POST .../resize for a container's or an exec's TTY (raises when the daemon refuses)."""
    path = f"/exec/{ident}/resize" if exec_ else f"/containers/{ident}/resize"
    env.api.post(path, {"h": h, "w": w})


def stdin_fd(env: Env) -> int | None:
    """The file descriptor of our stdin, or None when it has none (tests' fakes)."""
    try:
        return env.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def proxy_signals(env: Env, cid: str) -> Callable[[], None]:
    """docker's ForwardAllSignals: every signal we can catch goes to the container as a kill,
    except those that are about this process (SIGCHLD, SIGPIPE, SIGURG, faults) and SIGWINCH,
    which the resize calls stand for. Returns a function that restores the old handlers."""
    import signal

    skip = {
        signal.SIGKILL,
        signal.SIGSTOP,
        signal.SIGCHLD,
        signal.SIGPIPE,
        signal.SIGURG,
        signal.SIGWINCH,
        signal.SIGSEGV,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGILL,
        signal.SIGTRAP,
    }

    def forward(signum: int, _frame: Any) -> None:
        with contextlib.suppress(CLIError):  # docker only logs it (debug level)
            env.api.post(f"/containers/{cid}/kill", {"signal": str(signum)})

    previous = {}
    for s in signal.valid_signals() - skip:
        try:
            previous[s] = signal.signal(s, forward)
        except (OSError, ValueError):
            continue

    def restore() -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)

    return restore


def stream(
    env: Env,
    cid: str,
    *,
    tty: bool,
    std: tuple[bool, bool, bool],
    detach_keys: str,
    wait_condition: str | None,
    start: bool = False,
    auto_remove: bool = False,
    sig_proxy: bool = False,
    nudge: bool = False,
) -> dict[str, Any] | None:
    """Attach to the container's streams (`std`: stdin, stdout, stderr), send the wait, start
    it when asked, and copy until the daemon closes the stream. Returns the wait's result, or
    None when the user typed the detach keys. A start error is raised after the attach is
    closed (and, with --rm, after the removal). `nudge`: attach's resize to one more row and
    column first, so that a shell attached again redraws its prompt."""
    stdin, stdout, stderr = std
    keys = detach_keys or env.config.get("detachKeys") or ""
    params: dict[str, Any] = {
        "stream": "1",
        "stdin": "1" if stdin else None,
        "stdout": "1" if stdout else None,
        "stderr": "1" if stderr else None,
        "detachKeys": keys or None,
    }
    conn = env.api.hijack(f"/containers/{cid}/attach", params)
    waiter = env.api.request("POST", f"/containers/{cid}/wait", {"condition": wait_condition})
    try:
        if start:
            try:
                env.api.post(f"/containers/{cid}/start")
            except APIError:
                conn.close()
                if auto_remove:
                    with contextlib.suppress(OSError):
                        waiter.read()
                raise
        fd = stdin_fd(env) if stdin else None
        restore_signals = proxy_signals(env, cid) if sig_proxy else None
        stop_resize = None
        if tty and env.stdout_is_tty():
            first = None
            if nudge:
                h, w = env.tty_size()
                first = (h + 1, w + 1)
            stop_resize = watch_resize(env.tty_size, lambda h, w: resize(env, cid, h, w), first)
        try:
            with raw_terminal(fd if tty else None):
                escape = detach_key_bytes(keys) if tty and fd is not None else b""
                detached = pump_hijacked(conn, tty, env.out_b, env.err_b, fd, escape)
        finally:
            conn.close()
            if stop_resize is not None:
                stop_resize()
            if restore_signals is not None:
                restore_signals()
        if detached:
            return None
        try:
            result = _json.loads(waiter.read() or b"{}")
        except (OSError, ValueError):
            result = {}
        return result if isinstance(result, dict) else {}
    finally:
        waiter.close()


def exit_status(result: dict[str, Any]) -> int:
    """A wait result as the command's status; a wait error is the command's error."""
    message = (result.get("Error") or {}).get("Message")
    if message:
        raise CLIError(message)
    return int(result.get("StatusCode", 0))


def attach(env: Env, container: str, no_stdin: bool, sig_proxy: bool, detach_keys: str) -> int:
    """docker attach: a running container's streams (stdin only when it was created with -i
    and --no-stdin is not given); exits with the container's status. Detaching is an error,
    as docker reports it."""
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
    result = stream(
        env,
        info["Id"],
        tty=tty,
        std=(stdin, True, True),
        detach_keys=detach_keys,
        wait_condition=None,
        sig_proxy=sig_proxy and not tty,
        nudge=True,
    )
    if result is None:
        raise CLIError("read escape sequence")
    return exit_status(result)
