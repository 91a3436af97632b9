"""kill -9 of the daemon while images are committed from a running container, tagged and
removed: the restart leaves every listed image whole (it inspects, has a history, runs) and
no layer dir, layer link, config blob or tmp/ entry beyond what the image store references
(crashcheck.check_files). The container being committed, paused by each commit, runs again
after the restart: a commit cut short does not leave it paused (the last kill lands while a
commit has it frozen).

One daemon takes several kills in a row (crashcheck.KillPoint: after N operations, some time
into the next); at the end everything is removed and the store holds the base image only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from . import crashcheck as cc
from .conftest import IMAGE, ok, out
from .daemon import Daemon

POINTS = (cc.KillPoint(1), cc.KillPoint(2, 0.05), cc.KillPoint(4, 0.1), cc.KillPoint(3, 0.25),
          cc.KillPoint(6, 0.02), cc.KillPoint(5, 0.15))  # fmt: skip
REPO = "crash-img"


def _steps(round_no: int) -> Iterator[tuple[str, ...]]:
    """Per turn: change the container, commit it (with a --change), tag the image, untag the
    previous one and remove the one before (its layer goes with it)."""
    i = 0
    while True:
        tag = f"{round_no}-{i}"
        data = f"head -c 300000 /dev/urandom > /data-{i}; echo {tag} > /tag"
        yield ("exec", "src", "sh", "-c", data)
        yield ("commit", "-c", f"ENV STEP={tag}", "src", f"{REPO}:{tag}")
        yield ("tag", f"{REPO}:{tag}", f"{REPO}:t{tag}")
        if i >= 1:
            yield ("rmi", f"{REPO}:{round_no}-{i - 1}")
        if i >= 2:
            yield ("rmi", f"{REPO}:t{round_no}-{i - 2}")
        i += 1


def test_kill_9_mid_commit_tag_rmi_restarts_whole(busybox_tar: str) -> None:
    d = Daemon()
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        base = cc.ids(d, "images", "-q", "--no-trunc")
        src = out(ok(d.cli("run", "-d", "--name", "src", IMAGE, "sleep", "3600"))).strip()
        v1 = Path(f"/sys/fs/cgroup/freezer/dockerpy/{src}/freezer.state")
        v2 = Path(f"/sys/fs/cgroup/dockerpy/{src}/cgroup.freeze")

        def paused_by_commit() -> bool:
            """The commit froze the container (read off its cgroup: a pause lasts ms)."""
            if v1.exists():
                return v1.read_text().strip() != "THAWED"
            return v2.read_text().strip() == "1"

        for round_no, point in enumerate((*POINTS, cc.KillPoint(1, when=paused_by_commit))):
            cc.kill_during(d, _steps(round_no), point)
            d.start()
            cc.check_all(d)
            assert cc.inspect(d, "inspect", "src")[0]["State"]["Status"] == "running", point
            for image_id in cc.check_images(d, run=False):
                if image_id not in base:  # it runs, with its layer's file and its config's env
                    shown = d.cli("run", "--rm", image_id, "sh", "-c", 'cat /tag; echo "$STEP"')
                    tag, env = out(ok(shown)).split()
                    assert tag == env, image_id
            cc.still_works(d)
        ok(d.cli("commit", "src", f"{REPO}:final"))  # and commit still works
        cc.remove_containers(d)
        for image_id in cc.ids(d, "images", "-aq", "--no-trunc"):
            if image_id not in base:
                ok(d.cli("rmi", "-f", image_id))
        cc.check_files(d)
        assert sorted(set(cc.ids(d, "images", "-aq", "--no-trunc"))) == sorted(base)
    finally:
        d.cleanup()
