"""ManagedContainerd: the containerd the daemon runs itself when it is given no --containerd.

As dockerd does: containerd gets its own config (root under the data root, state and socket
under the exec root, CRI off so /etc/containerd/config.toml is never read), its own session
(a Ctrl-C meant for the daemon does not reach it), a log file and a pid file. A containerd left
running by an earlier daemon that was killed is reused, not restarted: that is what lets
containers survive a daemon crash. While we run it is restarted with back-off if it dies.

Files, all under <exec-root>/containerd/: containerd.toml, containerd.pid, containerd.log,
containerd.sock (+ .ttrpc); containerd's state lives there too, its root in
<data-root>/containerd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from pathlib import Path

from dockerpy_engine import errdefs

from .client import ContainerdRuntime

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0
BACKOFF_MIN, BACKOFF_MAX = 0.1, 10.0
STABLE_AFTER = 30.0  # a containerd that ran this long resets the back-off


class ManagedContainerd:
    """Start, reuse, supervise and stop a private containerd."""

    def __init__(
        self,
        data_root: Path,
        exec_root: Path,
        *,
        binary: str = "containerd",
        debug: bool = False,
        start_timeout: float = 10.0,
    ) -> None:
        self.root = Path(data_root) / "containerd"
        self.state = Path(exec_root) / "containerd"
        self.config_path = self.state / "containerd.toml"
        self.pid_file = self.state / "containerd.pid"
        self.log_path = self.state / "containerd.log"
        self.socket = self.state / "containerd.sock"
        self.binary = binary
        self.debug = debug
        self.start_timeout = start_timeout
        self.restarts = 0
        self.reused = False
        self._pid: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def address(self) -> str:
        """The gRPC socket path (give it to ContainerdRuntime)."""
        return str(self.socket)

    @property
    def pid(self) -> int | None:
        return self._pid

    # -- start / stop ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Reuse a live containerd of ours or start one; return once it answers gRPC."""
        if self._monitor is not None:
            return  # already started
        self.state.mkdir(mode=0o711, parents=True, exist_ok=True)
        self.root.mkdir(mode=0o711, parents=True, exist_ok=True)
        self._write_config()
        self._stopping = False
        pid = self._recorded_pid()
        if pid is not None:
            self._pid, self._proc, self.reused = pid, None, True
            try:
                await self._wait_ready()
                log.info("reusing containerd (pid %d) from an earlier run", pid)
            except errdefs.EngineError:
                log.warning("containerd pid %d from an earlier run does not answer; replacing", pid)
                await self._terminate()
                pid = None
        if pid is None:
            self.reused = False
            await self._spawn()
        self._monitor = asyncio.create_task(self._supervise(), name="containerd-supervisor")

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM containerd, SIGKILL it after `timeout` s; its tasks (shims) keep running."""
        self._stopping = True
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        await self._terminate(timeout)
        for path in (self.pid_file, self.socket, Path(self.address + ".ttrpc")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    async def _terminate(self, timeout: float = STOP_TIMEOUT) -> None:
        if self._pid is None:
            return
        try:
            if self._alive():
                os.kill(self._pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(self._wait_exit(), timeout)
                except TimeoutError:
                    log.warning("containerd (pid %d) ignored SIGTERM; killing it", self._pid)
                    os.kill(self._pid, signal.SIGKILL)
                    await self._wait_exit()
        except ProcessLookupError:
            pass
        self._pid = self._proc = None

    # -- the process ----------------------------------------------------------------------------

    def _write_config(self) -> None:
        q = json.dumps  # a JSON string is a valid TOML basic string
        text = "\n".join(
            [
                "version = 2",
                f"root = {q(str(self.root))}",
                f"state = {q(str(self.state))}",
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                "",
                "[grpc]",
                f"  address = {q(self.address)}",
                "",
                "[ttrpc]",
                f"  address = {q(self.address + '.ttrpc')}",
                "",
                "[debug]",
                f"  level = {q('debug' if self.debug else 'info')}",
                "",
            ]
        )
        if not self.config_path.is_file() or self.config_path.read_text() != text:
            tmp = self.config_path.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(self.config_path)

    def _recorded_pid(self) -> int | None:
        """The pid in our pid file if it is a live containerd started with our config."""
        try:
            pid = int(self.pid_file.read_text().strip())
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        ours = (
            Path(os.fsdecode(argv[0])).name == "containerd"
            and os.fsencode(self.config_path) in argv
        )
        return pid if ours and state != "Z" else None

    async def _spawn(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # a stale socket would look ready before containerd is
        with open(self.log_path, "ab") as out:
            self._proc = await asyncio.create_subprocess_exec(
                self.binary,
                "--config",
                str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self._pid = self._proc.pid
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(f"{self._pid}\n")
        tmp.replace(self.pid_file)
        log.info("started containerd (pid %d), log in %s", self._pid, self.log_path)
        try:
            await self._wait_ready()
        except BaseException:
            await self._terminate(1.0)
            raise

    async def _wait_ready(self) -> None:
        """Poll until the socket exists and Version answers; fail fast if the process dies."""
        deadline = time.monotonic() + self.start_timeout
        async with ContainerdRuntime(self.address) as rt:
            while True:
                if not self._alive():
                    raise errdefs.System(f"containerd exited during start-up: {self._log_tail()}")
                if self.socket.exists():
                    with contextlib.suppress(errdefs.Unavailable):
                        await rt.version(timeout=1.0)
                        return
                if time.monotonic() > deadline:
                    raise errdefs.Unavailable(
                        f"containerd did not answer on {self.address} "
                        f"within {self.start_timeout:g}s; see {self.log_path}"
                    )
                await asyncio.sleep(0.01)

    def _alive(self) -> bool:
        if self._proc is not None:
            return self._proc.returncode is None
        if self._pid is None:
            return False
        try:
            state = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"

    async def _wait_exit(self) -> None:
        """Return when the process has exited (our child: reaped; a reused one: gone)."""
        if self._proc is not None:
            await self._proc.wait()
            return
        assert self._pid is not None
        try:
            fd = os.pidfd_open(self._pid)
        except ProcessLookupError:
            return
        except OSError:  # no pidfd (kernel < 5.3): poll
            while self._alive():
                await asyncio.sleep(0.5)
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, lambda: done.done() or done.set_result(None))
        try:
            await done
        finally:
            loop.remove_reader(fd)
            os.close(fd)

    async def _supervise(self) -> None:
        """Restart containerd whenever it dies while we run, backing off if it keeps dying."""
        backoff = BACKOFF_MIN
        while True:
            since = time.monotonic()
            if self._pid is not None:
                await self._wait_exit()
                if self._stopping:
                    return
                code = self._proc.returncode if self._proc is not None else None
                log.warning("containerd (pid %s) exited (%s); restarting", self._pid, code)
                self._pid = self._proc = None
            if time.monotonic() - since > STABLE_AFTER:
                backoff = BACKOFF_MIN
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
            self.reused = False
            try:
                await self._spawn()
                self.restarts += 1
            except Exception:  # keep supervising: the next attempt may work
                log.exception("restarting containerd failed")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"no log at {self.log_path}"
        return " | ".join(tail) or f"(empty log {self.log_path})"
