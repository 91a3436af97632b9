"""Image archives made by tests: tars in memory and docker-save archives of given layers.

Registry tests need images of their own (unique content, so pushes really upload); load
tests need archives whose shape they control (how many layers, how big, where to cut).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable, Sequence

MTIME = 1_704_067_200  # 2024-01-01T00:00:00Z, as hack/busybox-rootfs


def tar_bytes(entries: dict[str, bytes]) -> bytes:
    """A tar of regular files, in the given order, with one fixed mtime."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), MTIME
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def save_archive(layers: Sequence[bytes], tag: str, cmd: Sequence[str] = ("true",)) -> bytes:
    """A docker-save archive of one image made of `layers` (uncompressed tars), tagged `tag`.

    Members go config, layers in order, then manifest.json last, so an archive cut anywhere
    before its end cannot be loaded.
    """
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": list(cmd), "Env": ["PATH=/bin:/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    name = hashlib.sha256(config).hexdigest() + ".json"
    paths = [f"{i}/layer.tar" for i in range(len(layers))]
    manifest = [{"Config": name, "RepoTags": [tag], "Layers": paths}]
    return tar_bytes(
        {
            name: config,
            **dict(zip(paths, layers, strict=True)),
            "manifest.json": json.dumps(manifest).encode(),
        }
    )


def config_digest(archive: bytes) -> str:
    """The image ID a docker-save archive loads as (its config's digest)."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        extracted = tar.extractfile("manifest.json")
        assert extracted is not None
        name = json.loads(extracted.read())[0]["Config"]
    return "sha256:" + name.removesuffix(".json")


def inspect_image(cli: Callable, name: str) -> dict:
    """`docker image inspect` of one image that must exist."""
    result = cli("image", "inspect", name)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]


def load_unique(cli: Callable, base_layer: bytes, name: str, text: bytes) -> str:
    """Load busybox's `base_layer` plus a layer of its own (`text` in /hello.txt, random
    noise) as `name`, through `docker load`; returns the image ID."""
    top = tar_bytes({"hello.txt": text, "noise.bin": os.urandom(256 << 10)})
    archive = save_archive([base_layer, top], name, cmd=("cat", "/hello.txt"))
    result = cli("load", "-q", input=archive)
    assert result.returncode == 0, result.stderr
    return inspect_image(cli, name)["Id"]
