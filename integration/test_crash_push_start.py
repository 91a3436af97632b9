"""kill -9 of the daemon while it pushes to a registry, and while it starts containers: the
restart leaves the image store whole (crashcheck's checks), no temp file of the push's layer
records behind, a push that completes and images that pull back whole; every container that
was being started either runs or starts now.

One daemon per test takes several kills in a row (crashcheck.KillPoint).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from . import crashcheck as cc
from .archives import tar_bytes
from .conftest import IMAGE, ok, out
from .daemon import Daemon
from .registry import Registry

PUSH_POINTS = (cc.KillPoint(1, 0.05), cc.KillPoint(2, 0.1), cc.KillPoint(4, 0.03),
               cc.KillPoint(3, 0.2))  # fmt: skip
START_POINTS = (cc.KillPoint(2), cc.KillPoint(4, 0.05), cc.KillPoint(1, 0.15),
                cc.KillPoint(6, 0.1))  # fmt: skip
STARTS = 8  # containers created for each round of starts
IMAGES = 5  # images made for each round of pushes: more than a round gets through


def _import(d: Daemon, name: str) -> None:
    """An image of its own (2 MiB that do not compress), so each push uploads."""
    layer = tar_bytes({"blob.bin": os.urandom(2 << 20), "name": name.encode()})
    ok(d.cli("import", "-", name, input=layer))


def _push_steps(repo: str, round_no: int) -> Iterator[tuple[str, ...]]:
    """Per turn: push the image made for it, then tag it and drop the previous turn's."""
    i = 0
    while True:
        yield ("push", f"{repo}:{round_no}-{i}")
        yield ("tag", f"{repo}:{round_no}-{i}", f"{repo}:latest")
        if i:
            yield ("rmi", f"{repo}:{round_no}-{i - 1}")
        i += 1


def _no_temp_records(d: Daemon) -> None:
    """The push's layer → blob records are written in tmp/ and renamed: none is half there."""
    records = d.data_root / "distribution" / "v2metadata-by-diffid" / "sha256"
    for path in records.iterdir() if records.exists() else ():
        assert not path.name.startswith("."), path
        assert json.loads(path.read_bytes()), path


def test_kill_9_mid_push_restarts_and_pushes(busybox_tar: str, registry: Registry) -> None:
    d = Daemon()
    d.start()
    repo = f"{registry.host}/crash-push"
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        for round_no, point in enumerate(PUSH_POINTS):
            for i in range(IMAGES):
                _import(d, f"{repo}:{round_no}-{i}")
            cc.kill_during(d, _push_steps(repo, round_no), point)
            d.start()
            cc.check_all(d)
            _no_temp_records(d)
            last = f"{repo}:{round_no}-{IMAGES - 1}"
            ok(d.cli("push", last))  # and a push completes
            image_id = out(ok(d.cli("image", "inspect", "-f", "{{.Id}}", last))).strip()
            pushed = set(cc.ids(d, "images", "-q", "--filter", f"reference={repo}"))
            ok(d.cli("rmi", "-f", *pushed))
            ok(d.cli("pull", last))  # what the registry holds is whole
            assert out(ok(d.cli("image", "inspect", "-f", "{{.Id}}", last))).strip() == image_id
            cc.check_files(d)
    finally:
        d.cleanup()


def test_kill_9_mid_starts_restarts_startable(busybox_tar: str) -> None:
    d = Daemon()
    d.start()
    try:
        ok(d.cli("import", busybox_tar, IMAGE))
        for round_no, point in enumerate(START_POINTS):
            names = [f"s{round_no}-{i}" for i in range(STARTS)]
            for name in names:
                ok(d.cli("create", "--name", name, IMAGE, "sleep", "300"))
            cc.kill_during(d, (("start", name) for name in names), point)
            d.start()
            cc.check_all(d)
            for name in names:
                state = cc.inspect(d, "inspect", name)[0]["State"]
                if state["Status"] != "running":
                    ok(d.cli("start", name))
                assert cc.inspect(d, "inspect", name)[0]["State"]["Running"]
            cc.remove_containers(d)
        cc.check_files(d)
        cc.still_works(d)
    finally:
        d.cleanup()
