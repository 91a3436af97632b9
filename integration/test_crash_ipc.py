"""kill -9 of the daemon while containers share IPC namespaces (`--ipc shareable` and the
containers joining them with `--ipc container:`): the restart leaves no /dev/shm mount behind
(crashcheck's checks), and every pair that was made starts again and shares its /dev/shm.

One daemon takes several kills in a row (crashcheck.KillPoint).
"""

from __future__ import annotations

from collections.abc import Iterator

from . import crashcheck as cc
from .conftest import IMAGE, ok, out
from .daemon import Daemon

POINTS = (cc.KillPoint(1, 0.05), cc.KillPoint(3, 0.02), cc.KillPoint(2, 0.1),
          cc.KillPoint(5), cc.KillPoint(4, 0.05))  # fmt: skip


def _steps(round_no: int) -> Iterator[tuple[str, ...]]:
    """Per turn: a shareable donor, a mark in its /dev/shm, a joiner that reads it; every
    other turn drops the pair again (rm of a joiner, then of its donor)."""
    i = 0
    while True:
        donor, joiner = f"d{round_no}-{i}", f"j{round_no}-{i}"
        yield ("run", "-d", "--name", donor, "--ipc", "shareable", IMAGE, "sleep", "300")
        yield ("exec", donor, "sh", "-c", "echo mark > /dev/shm/mark")
        yield ("run", "-d", "--name", joiner, "--ipc", f"container:{donor}", IMAGE,
               "sleep", "300")  # fmt: skip
        yield ("exec", joiner, "cat", "/dev/shm/mark")
        if i % 2:
            yield ("rm", "-f", joiner)
            yield ("rm", "-f", donor)
        i += 1


def _names(d: Daemon) -> list[str]:
    return out(ok(d.cli("ps", "-a", "--format", "{{.Names}}"))).split()


def _start_pairs(d: Daemon) -> None:
    """Donors first (a joiner needs its donor running), then each joiner sees a mark its
    donor writes now: they share one /dev/shm again."""
    names = _names(d)
    for name in sorted(names):  # "d…" sorts before "j…"
        if not cc.inspect(d, "inspect", name)[0]["State"]["Running"]:
            ok(d.cli("start", name))
    for joiner in (n for n in names if n.startswith("j")):
        donor = "d" + joiner[1:]
        ok(d.cli("exec", donor, "sh", "-c", f"echo {joiner} > /dev/shm/again"))
        assert out(ok(d.cli("exec", joiner, "cat", "/dev/shm/again"))).strip() == joiner


def test_kill_9_while_sharing_ipc_restarts_clean(busybox_tar: str) -> None:
    d = Daemon()
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        for round_no, point in enumerate(POINTS):
            cc.kill_during(d, _steps(round_no), point)
            d.start()
            cc.check_all(d)
            _start_pairs(d)
        cc.remove_containers(d)
        cc.check_files(d)
        cc.still_works(d)
    finally:
        d.cleanup()
