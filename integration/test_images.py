"""docker import with --change, docker load of a docker-save archive, and image inspect."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

from .conftest import IMAGE, ok


def _tar(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1704067200
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _save_archive(base_layer: bytes, tag: str) -> tuple[bytes, str]:
    """A docker-save archive: one layer (the busybox rootfs) plus one with a file of ours."""
    top = _tar({"hello.txt": b"loaded\n"})
    diff_ids = [f"sha256:{hashlib.sha256(layer).hexdigest()}" for layer in (base_layer, top)]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": ["cat", "/hello.txt"], "Env": ["PATH=/bin:/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2024-01-01T00:00:00Z"}] * 2,
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = [
        {"Config": config_name, "RepoTags": [tag], "Layers": ["l0/layer.tar", "l1/layer.tar"]}
    ]
    archive = _tar(
        {
            config_name: config,
            "l0/layer.tar": base_layer,
            "l1/layer.tar": top,
            "manifest.json": json.dumps(manifest).encode(),
        }
    )
    return archive, "sha256:" + config_name[:-5]


def test_load_docker_save_archive(cli, busybox_tar):
    with open(busybox_tar, "rb") as handle:
        archive, image_id = _save_archive(handle.read(), "loaded/app:1")
    result = cli("load", input=archive)
    assert result.returncode == 0, result.stderr
    assert "Loaded image: loaded/app:1" in result.stdout.decode()
    inspect = json.loads(cli("image", "inspect", "loaded/app:1").stdout)[0]
    assert inspect["Id"] == image_id
    assert len(inspect["RootFS"]["Layers"]) == 2
    run = cli("run", "--rm", "loaded/app:1")
    assert run.stdout == b"loaded\n", run.stderr
    # the same archive again: nothing new, same ID
    again = cli("load", "-q", input=archive)
    assert again.returncode == 0, again.stderr
    assert cli("rmi", "loaded/app:1").returncode == 0


def test_load_refuses_a_corrupt_archive(cli, busybox_tar):
    with open(busybox_tar, "rb") as handle:
        archive, _ = _save_archive(handle.read(), "corrupt/app:1")
    # flip one byte of the hello.txt payload inside the top layer: its DiffID no longer matches
    broken = archive.replace(b"loaded\n", b"LOADED\n")
    result = cli("load", input=broken)
    assert result.returncode != 0
    assert cli("image", "inspect", "corrupt/app:1").returncode == 1


def test_import_with_changes(cli, busybox_tar):
    result = cli(
        "import",
        "--change",
        "ENV GREETING=hello",
        "--change",
        'CMD ["sh", "-c", "echo $GREETING from $(pwd)"]',
        "--change",
        "WORKDIR /tmp",
        "-m",
        "imported for a test",
        busybox_tar,
        "changed:1",
    )
    assert result.returncode == 0, result.stderr
    assert cli("run", "--rm", "changed:1").stdout == b"hello from /tmp\n"
    bad = cli("import", "--change", "RUN true", busybox_tar, "bad:1")
    assert bad.returncode != 0
    assert "run is not a valid change command" in bad.stderr.decode()
    assert cli("rmi", "changed:1").returncode == 0


def test_import_keeps_path_escapes_inside(cli, tmp_path):
    """`..` stops at the layer's root, as in dockerd's chrooted unpack: the file is the
    image's, never the host's."""
    evil = tmp_path / "evil.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(f"../../../../../../..{tmp_path}/escaped-by-import")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    evil.write_bytes(buf.getvalue())
    ok(cli("import", str(evil), "evil:1"))
    assert not (tmp_path / "escaped-by-import").exists()
    ok(cli("create", "--name", "evil-import", "evil:1", "x"))
    try:
        assert b"bad" in ok(cli("cp", f"evil-import:{tmp_path}/escaped-by-import", "-")).stdout
    finally:
        cli("rm", "evil-import")
        cli("rmi", "evil:1")


def test_docker_py_images(client):
    image = client.images.get(IMAGE)
    assert IMAGE in image.tags
    assert image.attrs["RootFS"]["Type"] == "layers"
    assert image.tag("pytag/x", "1")
    assert "pytag/x:1" in client.images.get("pytag/x:1").tags
    client.images.remove("pytag/x:1")
    assert all("pytag/x:1" not in i.tags for i in client.images.list())
