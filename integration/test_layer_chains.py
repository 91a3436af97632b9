"""Images with long layer chains: a hundred layers run and are copied from (their lowerdir list
only fits in mount(2)'s page by the layers' short links), and overlay2's depth limit: a
container needs its image to have fewer than 128 layers, a layer sits on at most 128."""

from __future__ import annotations

from pathlib import Path

import pytest

from .archives import save_archive, tar_bytes
from .conftest import ok, out


def _chain(base: bytes, count: int, tag: str) -> bytes:
    """A `docker save` archive of busybox plus `count - 1` one-file layers, tagged `tag`."""
    layers = [tar_bytes({f"layers/{i:03d}": f"layer {i}\n".encode()}) for i in range(1, count)]
    return save_archive([base, *layers], tag, cmd=("sh",))


@pytest.fixture(scope="module")
def base_layer(busybox_tar: str) -> bytes:
    return Path(busybox_tar).read_bytes()


def _load(cli, base: bytes, count: int, tag: str):
    return cli("load", input=_chain(base, count, tag), timeout=300)


def test_a_hundred_layers_run_and_are_copied_from(cli, daemon, names, base_layer, tmp_path) -> None:
    image = f"{names('chain')}:1"
    ok(_load(cli, base_layer, 100, image))
    ran = out(ok(cli("run", "--rm", image, "sh", "-c", "ls /layers | wc -l; cat /layers/099")))
    assert ran.split("\n")[:2] == ["99", "layer 99"]
    # a stopped container: cp reads and writes through our own view mounts of the chain
    stopped = names("chainc")
    ok(cli("create", "--name", stopped, image, "cat", "/layers/001", "/uploaded"))
    assert b"layer 50\n" in ok(cli("cp", f"{stopped}:/layers/050", "-")).stdout
    upload = tmp_path / "uploaded"
    upload.write_text("copied in\n")
    ok(cli("cp", str(upload), f"{stopped}:/"))
    assert out(ok(cli("start", "-a", stopped))) == "layer 1\ncopied in\n"
    # a running one: through its task's mount
    running = names("chainr")
    ok(cli("run", "-d", "--name", running, image, "sleep", "300"))
    assert b"layer 99\n" in ok(cli("cp", f"{running}:/layers/099", "-")).stdout
    lower = out(ok(cli("inspect", "-f", "{{.GraphDriver.Data.LowerDir}}", running))).strip()
    assert len(lower.split(":")) == 100  # inspect still shows each layer's own directory
    assert all(p.startswith(str(daemon.data_root / "layers")) for p in lower.split(":"))


def test_overlay2_depth_limits(cli, names, base_layer) -> None:
    longest, too_deep, unloadable = (f"{names(n)}:1" for n in ("d127", "d128", "d130"))
    ok(_load(cli, base_layer, 127, longest))
    assert out(ok(cli("run", "--rm", longest, "cat", "/layers/126"))) == "layer 126\n"
    ok(_load(cli, base_layer, 128, too_deep))  # loads: 127 layers below its top one
    refused = cli("create", too_deep, "true")
    assert refused.returncode != 0
    assert "max depth exceeded" in refused.stderr.decode()
    failed = _load(cli, base_layer, 130, unloadable)  # its top layer would sit on 129
    assert failed.returncode != 0 and "max depth exceeded" in failed.stderr.decode()
    assert cli("image", "inspect", unloadable).returncode != 0
