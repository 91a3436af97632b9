"""`docker load` of archives built to escape: layer entries that climb out with `..`, that
write through a symlinked parent (relative or absolute), hard links to host files, and a
manifest naming a member outside the archive. Each is refused or contained: nothing appears
on the host, no host file's content reaches the image, and what is loaded runs.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from .archives import MTIME, save_archive
from .conftest import ok, out


def _layer(*members: tuple[str, str, str | bytes]) -> bytes:
    """(kind, name, data): kind f = file (bytes), l = symlink, h = hard link (target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            if kind == "f":
                assert isinstance(data, bytes)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
            info.linkname = str(data)
            tar.addfile(info)
    return buf.getvalue()


def _load(cli, tmp_path: Path, archive: bytes):
    path = tmp_path / "hostile.tar"
    path.write_bytes(archive)
    return cli("load", "-i", str(path))


def _cases(host: Path) -> dict[str, bytes]:
    depth = "../" * 12
    return {
        "dotdot": _layer(("f", f"{depth}{host.relative_to('/')}/dotdot", b"x\n")),
        "relative-link-parent": _layer(("l", "up", depth), ("f", f"up{host}/via-relative", b"x\n")),
        "absolute-link-parent": _layer(("l", "abs", "/"), ("f", f"abs{host}/via-absolute", b"x\n")),
        "hardlink-to-host": _layer(("h", "hl", f"{depth}{host.relative_to('/')}/secret")),
        "hardlink-through-link": _layer(("l", "root", "/"), ("h", "hl2", f"root{host}/secret")),
    }


@pytest.mark.parametrize(
    ("case", "loads"),
    [
        # dockerd unpacks chrooted into the layer: `..` stops at its root, links stay data
        ("dotdot", True),
        ("relative-link-parent", True),
        ("absolute-link-parent", True),
        # a hard link's target must be in the layer; there it does not exist
        ("hardlink-to-host", False),
        ("hardlink-through-link", False),
    ],
)
def test_hostile_layers_are_refused_or_contained(
    cli, names, tmp_path: Path, case: str, loads: bool
) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_bytes(b"host secret\n")
    name = names("hostile")
    base = _layer(("f", "bin/placeholder", b""))  # the image needs no shell to be loaded
    result = _load(cli, tmp_path, save_archive([base, _cases(host)[case]], f"{name}:1"))
    assert sorted(p.name for p in host.iterdir()) == ["secret"]
    assert (host / "secret").read_bytes() == b"host secret\n"
    assert (result.returncode == 0) == loads, result.stderr.decode()
    if not loads:
        assert cli("image", "inspect", f"{name}:1").returncode == 1  # nothing half-loaded
        return
    # loaded: whatever it holds came from the archive, never from the host
    container = out(ok(cli("create", "--name", name, f"{name}:1")))
    assert container
    exported = ok(cli("export", name)).stdout
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member)
                assert data is not None and b"host secret" not in data.read(), member.name


def test_a_manifest_naming_a_member_outside_the_archive_is_refused(
    cli, names, tmp_path: Path
) -> None:
    name = names("hostile")
    archive = save_archive([_layer(("f", "x", b"x"))], f"{name}:1")
    buf = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(archive)) as src,
        tarfile.open(fileobj=buf, mode="w") as dst,
    ):
        for member in src.getmembers():
            data = src.extractfile(member)
            if member.name == "manifest.json":
                assert data is not None
                manifest = json.loads(data.read())
                manifest[0]["Layers"] = ["../../../../../../etc/hostname"]
                raw = json.dumps(manifest).encode()
                member.size = len(raw)
                dst.addfile(member, io.BytesIO(raw))
            else:
                dst.addfile(member, data)
    result = _load(cli, tmp_path, buf.getvalue())
    assert result.returncode == 1
    assert cli("image", "inspect", f"{name}:1").returncode == 1
