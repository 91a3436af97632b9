"""distribution/client.py against a fake registry: resume, verification, uploads, tags."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

from dockerpy_engine.distribution._errors import RegistryError, VerificationError
from dockerpy_engine.distribution.types import Descriptor

from .fakes import FakeRegistry, digest, new_client, repository, serve

BLOB = os.urandom(3 << 20) + b"tail"
BLOB_DIGEST = digest(BLOB)


async def _noop(*_args: object) -> None:
    return None


@pytest.fixture
async def fake():
    registry = FakeRegistry(blobs={BLOB_DIGEST: BLOB})
    server = await serve(registry)
    client = new_client()
    yield registry, server, client
    await client.close()
    await server.close()


async def test_blob_streams_to_file_with_progress(fake, tmp_path: Path):
    _registry, server, client = fake
    seen: list[tuple[int, int]] = []

    async def on_bytes(current: int, total: int) -> None:
        seen.append((current, total))

    repo = repository(client, server)
    await repo.ping()
    dest = tmp_path / "blob"
    await repo.fetch_blob(
        Descriptor("", BLOB_DIGEST, len(BLOB)), dest, on_bytes=on_bytes, on_retry=_noop
    )
    assert dest.read_bytes() == BLOB
    assert seen[-1] == (len(BLOB), len(BLOB))
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


async def test_dropped_connection_resumes_with_range(fake, tmp_path: Path):
    registry, server, client = fake
    registry.drop_after[BLOB_DIGEST] = [1_500_000, 2_700_000]  # two drops mid-blob
    repo = repository(client, server)
    dest = tmp_path / "blob"
    await repo.fetch_blob(
        Descriptor("", BLOB_DIGEST, len(BLOB)), dest, on_bytes=_noop, on_retry=_noop
    )
    assert dest.read_bytes() == BLOB
    gets = [r for r in registry.requests if r["method"] == "GET" and "blobs" in r["path"]]
    assert [r["headers"].get("Range") for r in gets] == [
        None,
        "bytes=1500000-",
        "bytes=2700000-",
    ]


async def test_server_without_range_support_starts_over(fake, tmp_path: Path):
    registry, server, client = fake
    registry.drop_after[BLOB_DIGEST] = [1_000_000]
    registry.ignore_range = True
    repo = repository(client, server)
    dest = tmp_path / "blob"
    await repo.fetch_blob(
        Descriptor("", BLOB_DIGEST, len(BLOB)), dest, on_bytes=_noop, on_retry=_noop
    )
    assert dest.read_bytes() == BLOB


async def test_digest_mismatch_is_refused_and_nothing_is_left(fake, tmp_path: Path):
    registry, server, client = fake
    corrupt = bytearray(BLOB)
    corrupt[100] ^= 0xFF
    registry.blobs[BLOB_DIGEST] = bytes(corrupt)
    repo = repository(client, server)
    dest = tmp_path / "blob"
    with pytest.raises(VerificationError, match="filesystem layer verification failed"):
        await repo.fetch_blob(
            Descriptor("", BLOB_DIGEST, len(BLOB)), dest, on_bytes=_noop, on_retry=_noop
        )
    assert not dest.exists()


async def test_more_bytes_than_declared_are_refused(fake, tmp_path: Path):
    _registry, server, client = fake
    repo = repository(client, server)
    with pytest.raises(VerificationError):
        await repo.fetch_blob(
            Descriptor("", BLOB_DIGEST, len(BLOB) - 10),
            tmp_path / "blob",
            on_bytes=_noop,
            on_retry=_noop,
        )
    assert not (tmp_path / "blob").exists()


async def test_resume_that_ends_corrupt_is_retried_once_from_scratch(fake, tmp_path: Path):
    """dockerd's rule: a mismatch after a resumed download may be the resume's fault."""
    registry, server, client = fake
    registry.drop_after[BLOB_DIGEST] = [2_000_000]
    real = registry.blobs[BLOB_DIGEST]
    repo = repository(client, server)

    async def on_bytes(current: int, total: int) -> None:
        if current > 2_000_000:  # after the resume, serve garbage once, then the real bytes
            registry.blobs[BLOB_DIGEST] = real

    broken = bytearray(real)
    broken[2_500_000] ^= 1
    registry.blobs[BLOB_DIGEST] = bytes(broken)
    registry.drop_after[BLOB_DIGEST] = [2_000_000]
    dest = tmp_path / "blob"
    # first attempt: the first 2 MB of the broken copy (equal to the real one), dropped;
    # the resume serves the rest of the broken copy -> mismatch -> one retry from scratch.
    await repo.fetch_blob(
        Descriptor("", BLOB_DIGEST, len(BLOB)), dest, on_bytes=on_bytes, on_retry=_noop
    )
    assert dest.read_bytes() == real


async def test_manifest_by_digest_is_verified(fake):
    registry, server, client = fake
    raw = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    wrong = digest(raw + b" ")
    registry.manifests[f"repo:{wrong}"] = (raw, "application/vnd.oci.image.index.v1+json")
    registry.manifests["repo:good"] = (raw, "application/vnd.oci.image.index.v1+json")
    repo = repository(client, server)
    assert (await repo.get_manifest("good"))[0] == raw
    with pytest.raises(VerificationError, match="manifest verification failed"):
        await repo.get_manifest(wrong)
    with pytest.raises(RegistryError, match="manifest unknown: manifest unknown") as caught:
        await repo.get_manifest("missing")
    assert caught.value.code == "MANIFEST_UNKNOWN"


async def test_streamed_upload_and_mount(fake):
    registry, server, client = fake
    repo = repository(client, server, scopes=("repository:repo:pull,push",))
    payload = [os.urandom(700_000) for _ in range(3)]

    async def chunks():
        for part in payload:
            yield part

    location, mounted = await repo.start_upload()
    assert not mounted and location and "_state=abc%3D" in location
    location = await repo.upload_stream(location, chunks())
    whole = b"".join(payload)
    await repo.finish_upload(location, digest(whole))
    assert registry.blobs[digest(whole)] == whole
    assert await repo.head_blob(digest(whole)) == len(whole)
    assert await repo.head_blob(digest(b"nope")) is None
    assert await repo.start_upload(mount=(digest(whole), "other")) == (None, True)
    with pytest.raises(VerificationError):
        location, _ = await repo.start_upload()
        assert location
        await repo.finish_upload(location, digest(b"x"), b"y")


async def test_tags(fake):
    registry, server, client = fake
    for tag in ("2", "1"):
        registry.manifests[f"repo:{tag}"] = (b"{}", "x")
    assert await repository(client, server).tags() == ["1", "2"]
