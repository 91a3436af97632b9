"""kill -9 of the daemon while containers and volumes are being created, started and removed:
the next start repairs whatever the kill cut short, without a manual step.

The kill lands at a different point of the work each round (crashcheck.KillPoint); what the
test checks does not depend on where it landed (crashcheck's checks), and besides:
- volume data written by a container that finished before the kill is still there;
- every container removes, then every volume, and a new container runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import crashcheck as cc
from .conftest import IMAGE, ok, out
from .daemon import Daemon

POINTS = (cc.KillPoint(3), cc.KillPoint(7, 0.05), cc.KillPoint(12, 0.15), cc.KillPoint(5, 0.3))


def _steps() -> Iterator[tuple[str, ...]]:
    """create/start/rm and volume create/rm, with data written into each volume."""
    i = 0
    while True:
        name = f"crash-{i}"
        yield ("volume", "create", f"vol-{i}")
        yield ("run", "--rm", "-v", f"vol-{i}:/data", IMAGE, "sh", "-c", f"echo {i} > /data/f")
        yield ("run", "-d", "--name", name, "-v", f"vol-{i}:/data", IMAGE, "sleep", "300")
        yield ("create", "--name", f"{name}-c", IMAGE, "true")
        yield ("rm", "-f", name)
        i += 1


@pytest.mark.parametrize("point", POINTS, ids=str)
def test_kill_9_mid_work_restarts_consistent(busybox_tar: str, point: cc.KillPoint) -> None:
    d = Daemon()
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        ok(d.cli("run", "--rm", "-v", "kept:/data", IMAGE, "sh", "-c", "echo kept > /data/f"))
        finished = cc.kill_during(d, _steps(), point)
        d.start()

        cc.check_all(d)
        written = [argv[3].split(":")[0] for argv, code in finished if "/data/f" in argv[-1]]
        assert all(code == 0 for _, code in finished)
        for volume in ["kept", *written]:
            data = out(ok(d.cli("run", "--rm", "-v", f"{volume}:/data", IMAGE, "cat", "/data/f")))
            assert data == ("kept\n" if volume == "kept" else f"{volume.split('-')[1]}\n")
        cc.remove_containers(d)
        cc.remove_volumes(d)
        cc.still_works(d)
    finally:
        d.cleanup()
