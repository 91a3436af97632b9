"""kill -9 of the daemon while containers and volumes are being created, started and removed:
the next start repairs whatever the kill cut short, without a manual step.

The kill lands at a different point of the work each round (after a different number of
finished operations); what the test checks does not depend on where it landed:
- every container listed inspects, and can be removed;
- containerd holds no container the daemon does not list (no orphan records or tasks);
- nothing stays mounted under the data root, and the image store's tmp is empty;
- volumes list, and each unused one can be removed.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from .conftest import IMAGE, ok, out
from .daemon import Daemon

ROUNDS = (3, 7, 12)  # operations finished before the kill


def _work(d: Daemon, stop: threading.Event, done: list[int]) -> None:
    """create/start/rm and volume create/rm, as fast as the daemon takes them."""
    i = 0
    while not stop.is_set():
        name = f"crash-{i}"
        steps = (
            ("volume", "create", f"vol-{i}"),
            ("run", "-d", "--name", name, "-v", f"vol-{i}:/data", IMAGE, "sleep", "300"),
            ("create", "--name", f"{name}-c", IMAGE, "true"),
            ("rm", "-f", name),
        )
        for step in steps:
            if stop.is_set():
                return
            d.cli(*step, timeout=30)
            done[0] += 1
        i += 1


def _containerd_ids(d: Daemon) -> set[str]:
    sock = d.exec_root / "containerd" / "containerd.sock"
    listing = subprocess.run(
        ["ctr", "-a", str(sock), "-n", "dockerpy", "containers", "ls", "-q"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return set(listing.stdout.decode().split())


@pytest.mark.parametrize("after", ROUNDS)
def test_kill_9_mid_work_restarts_consistent(busybox_tar: str, after: int) -> None:
    d = Daemon()
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        stop = threading.Event()
        done = [0]
        worker = threading.Thread(target=_work, args=(d, stop, done), daemon=True)
        worker.start()
        while done[0] < after and worker.is_alive():
            worker.join(0.01)
        d.kill9()
        stop.set()
        worker.join(60)
        d.start()

        listed = out(ok(d.cli("ps", "-aq", "--no-trunc"))).split()
        for cid in listed:
            info = json.loads(out(ok(d.cli("inspect", cid))))[0]
            assert info["Id"] == cid
        assert _containerd_ids(d) <= set(listed)
        assert f" {d.data_root}/" not in Path("/proc/self/mountinfo").read_text()
        tmp = d.data_root / "tmp"
        assert not tmp.exists() or list(tmp.iterdir()) == []

        if listed:
            ok(d.cli("rm", "-f", *listed))
        assert _containerd_ids(d) == set()
        for volume in out(ok(d.cli("volume", "ls", "-q"))).split():
            ok(d.cli("volume", "rm", volume))
        ok(d.cli("run", "--rm", IMAGE, "true"))  # and it still works
    finally:
        d.cleanup()
