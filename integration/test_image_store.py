"""docker save/load round trips, docker history and docker image prune, through the real docker
CLI and docker-py.

Nothing here removes or prunes the session's busybox:latest: round trips use images made from
it (commit), and every prune is narrowed by a label only this module's images carry.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path

from .conftest import IMAGE, ok, out


def image_id(cli, ref: str) -> str:
    return out(ok(cli("image", "inspect", "-f", "{{.Id}}", ref))).strip()


def committed(cli, names, script: str, *changes: str, tag: str | None = None) -> str:
    """Run `script` in a busybox container and commit it (tagged `tag:1` if given)."""
    container = names("src")
    ok(cli("run", "--name", container, IMAGE, "sh", "-c", script))
    args = [arg for change in changes for arg in ("-c", change)]
    target = [f"{tag}:1"] if tag else []
    return out(ok(cli("commit", *args, container, *target))).strip()


def tar_members(data: bytes) -> dict[str, bytes | None]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            m.name: (tar.extractfile(m).read() if m.isfile() else None)  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


# -- save / load -------------------------------------------------------------------------------


def test_save_rmi_load_keeps_the_id(cli, names, tmp_path: Path) -> None:
    repo = names("saved")
    made = committed(cli, names, "echo saved > /saved.txt", tag=repo)
    archive = tmp_path / "x.tar"
    ok(cli("save", "-o", str(archive), f"{repo}:1"))
    ok(cli("rmi", f"{repo}:1"))
    assert cli("image", "inspect", made).returncode != 0
    loaded = ok(cli("load", "-i", str(archive)))
    assert f"Loaded image: {repo}:1" in out(loaded)
    assert image_id(cli, f"{repo}:1") == made
    assert out(ok(cli("run", "--rm", f"{repo}:1", "cat", "/saved.txt"))) == "saved\n"
    # the session image saves too, and loading it over itself changes nothing
    busybox = tmp_path / "busybox.tar"
    before = image_id(cli, IMAGE)
    ok(cli("save", "-o", str(busybox), "busybox"))
    assert "Loaded image: busybox:latest" in out(ok(cli("load", "-i", str(busybox))))
    assert image_id(cli, IMAGE) == before


def test_save_two_images_writes_both_layouts(cli, names) -> None:
    first, second = names("first"), names("second")
    first_id = committed(cli, names, "echo 1 > /one", tag=first)
    second_id = committed(cli, names, "echo 2 > /two", tag=second)
    archive = ok(cli("save", f"{first}:1", f"{second}:1")).stdout
    listing = ok(cli_tar_t(archive)).stdout.decode().split()
    for required in ("manifest.json", "repositories", "oci-layout", "index.json"):
        assert required in listing
    assert any(name.startswith("blobs/sha256/") for name in listing)
    files = tar_members(archive)
    manifest = json.loads(files["manifest.json"] or b"")
    assert [m["RepoTags"] for m in manifest] == [[f"{first}:1"], [f"{second}:1"]]
    assert [m["Config"] for m in manifest] == [
        f"blobs/sha256/{first_id[7:]}",
        f"blobs/sha256/{second_id[7:]}",
    ]
    index = json.loads(files["index.json"] or b"")
    names_in_index = [d["annotations"]["io.containerd.image.name"] for d in index["manifests"]]
    assert names_in_index == [f"docker.io/library/{first}:1", f"docker.io/library/{second}:1"]
    for descriptor in index["manifests"]:
        oci = json.loads(blob(files, descriptor["digest"]))
        assert len(oci["layers"]) == 2
        for layer in oci["layers"]:
            assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
            assert len(blob(files, layer["digest"])) == layer["size"]
    assert json.loads(files["oci-layout"] or b"") == {"imageLayoutVersion": "1.0.0"}


def blob(files: dict[str, bytes | None], digest: str) -> bytes:
    data = files["blobs/sha256/" + digest.removeprefix("sha256:")]
    assert data is not None
    return data


def cli_tar_t(archive: bytes):
    """`docker save a b | tar t`, the pipe's second half."""
    return subprocess.run(["tar", "t"], input=archive, capture_output=True, timeout=60)


def test_save_errors(cli) -> None:
    missing = cli("save", "nope-not-here")
    assert missing.returncode != 0
    assert "No such image: nope-not-here" in missing.stderr.decode()
    missing_tag = cli("save", "busybox:not-a-tag")
    assert missing_tag.returncode != 0
    assert "reference does not exist" in missing_tag.stderr.decode()


def test_docker_py_save_round_trip(cli, client, names) -> None:
    repo = names("pysave")
    made = committed(cli, names, "echo py > /py.txt", tag=repo)
    data = b"".join(client.images.get(f"{repo}:1").save())  # by ID: saved untagged
    assert json.loads(tar_members(data)["manifest.json"] or b"")[0]["RepoTags"] is None
    client.images.remove(f"{repo}:1")
    loaded = client.images.load(data)
    assert [image.id for image in loaded] == [made]
    assert client.images.get(made).tags == []
    client.images.remove(made)


# -- history -----------------------------------------------------------------------------------


def test_history_after_commit(cli, names) -> None:
    repo = names("hist")
    made = committed(cli, names, "echo hi > /hi.txt", tag=repo)
    base = image_id(cli, IMAGE)
    rows = out(
        ok(
            cli(
                "history",
                "--no-trunc",
                "--format",
                "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}",
                f"{repo}:1",
            )
        )
    ).splitlines()
    assert len(rows) == 2
    top, bottom = (row.split("|") for row in rows)
    assert top[0] == made and top[1] == "sh -c echo hi > /hi.txt" and top[2] == "3B"
    assert bottom[0] == base and bottom[3] == "Imported from -"
    table = out(ok(cli("history", f"{repo}:1"))).splitlines()
    assert table[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert table[1].startswith(made[7:19])  # truncated IDs by default
    assert cli("history", "nope-not-here").returncode != 0


def test_history_shapes_through_docker_py(cli, client, names) -> None:
    repo = names("histpy")
    made = committed(cli, names, "echo abc > /abc", tag=repo)
    rows = client.api.history(f"{repo}:1")
    assert [sorted(row) for row in rows] == [
        ["Comment", "Created", "CreatedBy", "Id", "Size", "Tags"]
    ] * 2
    assert rows[0]["Id"] == made and rows[0]["Tags"] == [f"{repo}:1"] and rows[0]["Size"] == 4
    assert IMAGE in rows[1]["Tags"]


# -- prune -------------------------------------------------------------------------------------


def test_prune_dangling_with_reclaimed_bytes(cli, client, names) -> None:
    label = f"prunetest={uuid.uuid4().hex[:8]}"
    dangling = committed(
        cli, names, "dd if=/dev/zero of=/blob bs=1000 count=100 2>/dev/null", f"LABEL {label}"
    )
    tagged = committed(cli, names, "echo keep > /keep", f"LABEL {label}", tag=names("kept"))
    report = client.images.prune(filters={"dangling": True, "label": label})
    deleted = [r.get("Deleted") for r in report["ImagesDeleted"]]
    assert deleted[0] == dangling and len(deleted) == 2  # the image and its one layer
    assert report["SpaceReclaimed"] == 100_000
    assert cli("image", "inspect", dangling).returncode != 0
    assert image_id(cli, tagged) == tagged
    again = ok(cli("image", "prune", "-f", "--filter", f"label={label}"))
    assert out(again).strip() == "Total reclaimed space: 0B"


def test_prune_all_keeps_images_in_use(cli, names) -> None:
    label = f"prunetest={uuid.uuid4().hex[:8]}"
    used_repo, unused_repo = names("used"), names("unused")
    used = committed(cli, names, "echo u > /u", f"LABEL {label}", tag=used_repo)
    unused = committed(
        cli,
        names,
        "dd if=/dev/zero of=/b bs=1000 count=50 2>/dev/null",
        f"LABEL {label}",
        tag=unused_repo,
    )
    other = committed(cli, names, "echo o > /o", "LABEL prunetest=other", tag=names("other"))
    ok(cli("create", "--name", names("user"), f"{used_repo}:1", "true"))
    pruned = out(ok(cli("image", "prune", "-a", "-f", "--filter", f"label={label}")))
    assert f"untagged: {unused_repo}:1" in pruned
    assert f"deleted: {unused}" in pruned
    assert "Total reclaimed space: 50kB" in pruned
    assert cli("image", "inspect", unused).returncode != 0
    assert image_id(cli, f"{used_repo}:1") == used  # a container uses it
    assert image_id(cli, other) == other  # another label
    assert image_id(cli, IMAGE)  # the filter kept busybox out of it
    # until: nothing of ours is older than a day
    recent = ["--filter", "until=24h", "--filter", f"label={label}"]
    none = out(ok(cli("image", "prune", "-a", "-f", *recent)))
    assert none.strip() == "Total reclaimed space: 0B"
