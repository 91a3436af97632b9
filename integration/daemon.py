"""A real dockerpyd for tests: own data root, exec root and socket, its own managed containerd."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
DOCKERPYD = REPO / ".venv" / "bin" / "dockerpyd"


def docker_cli() -> str:
    """The real docker CLI: /usr/local/bin/docker, or the one hack/install unpacked."""
    for candidate in (shutil.which("docker"), str(REPO / ".venv" / "bin" / "docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no docker CLI found; run hack/install")


class Daemon:
    """Start, stop (SIGTERM) or kill (SIGKILL) a dockerpyd; the same dirs survive restarts."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = base or Path(tempfile.mkdtemp(prefix="dpy-it-"))
        self.socket = self.base / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.data_root = self.base / "root"
        self.exec_root = self.base / "run"
        self.log_path = self.base / "dockerpyd.log"
        self.proc: subprocess.Popen | None = None
        self.netns = ""  # run inside /var/run/netns/<netns> (networking tests)
        self.debug = True  # --debug; off for tests whose daemon.json sets debug itself
        self.listen = ""  # the -H to give instead of self.host (fd://, the socket being passed)

    def start(
        self,
        *extra: str,
        timeout: float = 30,
        netns: str | None = None,
        env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = (),
        launcher: tuple[str, ...] = (),
    ) -> None:
        """Start and wait until the API answers on self.host; `launcher` goes before the
        daemon's command (a shell that sets up inherited fds), `env` replaces the environment."""
        if netns is not None:
            self.netns = netns
        enter = ["nsenter", f"--net=/var/run/netns/{self.netns}"] if self.netns else []
        # outside a private namespace, no bridge, iptables rule or ip_forward on the host
        no_net = [] if self.netns else ["--bridge=none", "--iptables=false", "--ip-forward=false"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    *launcher,
                    *enter,
                    str(DOCKERPYD),
                    "-H",
                    self.listen or self.host,
                    "--data-root",
                    str(self.data_root),
                    "--exec-root",
                    str(self.exec_root),
                    "--pidfile",
                    str(self.base / "dockerpyd.pid"),
                    "--config-file",
                    str(self._config_file()),
                    *(["--debug"] if self.debug else []),
                    *no_net,
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                pass_fds=pass_fds,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerpyd exited: {self.log_path.read_text()[-3000:]}")
            try:
                if self.client().ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError(f"dockerpyd did not answer: {self.log_path.read_text()[-3000:]}")

    @property
    def certs_d(self) -> Path:
        """The certs.d this daemon reads besides /etc/docker's: the one next to its
        --config-file (`<certs_d>/<host:port>/ca.crt`, `client.cert`, `client.key`)."""
        return self.base / "certs.d"

    def _config_file(self) -> Path:
        path = self.base / "daemon.json"
        if not path.exists():
            path.write_text("{}\n")
        return path

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=60)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        self.proc = None

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def cli(self, *args: str, input: bytes | None = None, timeout: float = 60):
        """Run the real docker CLI against this daemon."""
        env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.base / "cfg")}
        return subprocess.run(
            [docker_cli(), *args],
            input=input,
            capture_output=True,
            timeout=timeout,
            env=env,
        )

    def cleanup(self) -> None:
        """Remove every container, stop the daemon and the containerd it left (live restore
        leaves shims and the managed containerd's children), then unmount and delete."""
        if self.proc is None:
            self.start()
        ids = self.cli("ps", "-aq").stdout.split()
        if ids:
            self.cli("rm", "-f", *[i.decode() for i in ids])
        self.stop()
        pidfile = self.exec_root / "containerd" / "containerd.pid"
        if pidfile.exists():
            try:
                pid = int(pidfile.read_text())
                os.kill(pid, signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
        subprocess.run(
            f"grep ' {self.base}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l",
            shell=True,
            check=False,
        )
        shutil.rmtree(self.base, ignore_errors=True)
