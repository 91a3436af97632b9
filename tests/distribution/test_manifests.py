"""distribution/manifests.py: parsing, schema1 refusal, platform selection, schema2 layout."""

from __future__ import annotations

import hashlib
import json

import pytest

from dockerpy_engine.distribution import manifests
from dockerpy_engine.distribution._errors import VerificationError
from dockerpy_engine.distribution.types import Descriptor, Platform
from dockerpy_engine.errdefs import InvalidParameter, NotFound

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64
D4 = "sha256:" + "4" * 64


def _index(*platforms: dict[str, str], media_type: str = manifests.OCI_INDEX) -> bytes:
    entries = [
        {
            "mediaType": manifests.OCI_MANIFEST,
            "digest": f"sha256:{i:064x}",
            "size": 100 + i,
            "platform": platform,
        }
        for i, platform in enumerate(platforms)
    ]
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}).encode()


def test_docker_manifest_parses_with_its_digest():
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": manifests.DOCKER_MANIFEST,
            "config": {"mediaType": manifests.DOCKER_CONFIG, "size": 7, "digest": D1},
            "layers": [{"mediaType": manifests.DOCKER_LAYER, "size": 9, "digest": D2}],
        }
    ).encode()
    parsed = manifests.parse(raw, manifests.DOCKER_MANIFEST)
    assert isinstance(parsed, manifests.Manifest)
    assert parsed.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert parsed.config.digest == D1 and parsed.layers[0].size == 9


def test_media_type_from_content_type_or_shape():
    oci = json.dumps({"schemaVersion": 2, "config": {"digest": D1, "size": 1}, "layers": []})
    assert manifests.parse(oci.encode(), "").media_type == manifests.OCI_MANIFEST
    index = manifests.parse(_index({"os": "linux", "architecture": "amd64"}), "")
    assert isinstance(index, manifests.Index) and index.media_type == manifests.OCI_INDEX
    listed = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert manifests.parse(listed, manifests.DOCKER_LIST + "; charset=utf-8").media_type == (
        manifests.DOCKER_LIST
    )


def test_schema1_and_garbage_are_refused():
    with pytest.raises(InvalidParameter, match="schema 1 support has been removed"):
        manifests.parse(b'{"schemaVersion": 1, "fsLayers": []}', "", "busybox:old")
    with pytest.raises(InvalidParameter):
        manifests.parse(b"not json", manifests.OCI_MANIFEST)
    bad_digest = {"schemaVersion": 2, "config": {"digest": "sha256:zz", "size": 1}, "layers": []}
    with pytest.raises(InvalidParameter, match="invalid digest"):
        manifests.parse(json.dumps(bad_digest).encode(), manifests.OCI_MANIFEST)


def test_verify_digest():
    manifests.verify_digest(b"abc", "sha256:" + hashlib.sha256(b"abc").hexdigest(), "manifest")
    with pytest.raises(VerificationError, match="manifest verification failed for digest"):
        manifests.verify_digest(b"abd", "sha256:" + hashlib.sha256(b"abc").hexdigest(), "manifest")


def test_platform_selection_prefers_exact_then_compatible():
    raw = _index(
        {"os": "linux", "architecture": "arm", "variant": "v6"},
        {"os": "linux", "architecture": "arm64", "variant": "v8"},
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "386"},
        {"os": "windows", "architecture": "amd64"},
        {"os": "unknown", "architecture": "unknown"},
    )
    index = manifests.parse(raw, "")
    assert isinstance(index, manifests.Index)

    def pick(text: str) -> int:
        return int(manifests.select_manifest(index, manifests.parse_platform(text)).digest[7:], 16)

    assert pick("linux/amd64") == 2
    assert pick("linux/arm64") == 1  # v8 written out in the index, implicit here
    assert pick("linux/arm/v7") == 0  # v7 runs v6
    assert pick("linux/386") == 3
    assert pick("windows/amd64") == 4
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x in the manifest"):
        pick("linux/s390x")
    only_amd64_v1 = manifests.parse(_index({"os": "linux", "architecture": "386"}), "")
    assert isinstance(only_amd64_v1, manifests.Index)
    assert manifests.select_manifest(only_amd64_v1, Platform("linux", "amd64")).size == 100


def test_parse_platform_and_normalise():
    assert str(manifests.parse_platform("linux/arm64/v8")) == "linux/arm64"
    assert str(manifests.parse_platform("linux/x86_64")) == "linux/amd64"
    assert str(manifests.parse_platform("linux/arm")) == "linux/arm/v7"
    assert manifests.parse_platform("arm64").os == "linux"
    with pytest.raises(InvalidParameter, match="unknown operating system or architecture"):
        manifests.parse_platform("plan9/amd64")
    with pytest.raises(InvalidParameter):
        manifests.parse_platform("linux//")
    assert manifests.matches(Platform("linux", "amd64"), Platform("linux", "amd64", "v1"))
    assert not manifests.matches(Platform("linux", "amd64"), Platform("linux", "arm64"))


def test_schema2_manifest_is_laid_out_as_dockerd():
    raw = manifests.schema2_manifest(
        Descriptor(manifests.DOCKER_CONFIG, D3, 1457),
        [Descriptor(manifests.DOCKER_LAYER, D4, 772788)],
    )
    assert raw.decode() == (
        "{\n"
        '   "schemaVersion": 2,\n'
        f'   "mediaType": "{manifests.DOCKER_MANIFEST}",\n'
        '   "config": {\n'
        f'      "mediaType": "{manifests.DOCKER_CONFIG}",\n'
        '      "size": 1457,\n'
        f'      "digest": "{D3}"\n'
        "   },\n"
        '   "layers": [\n'
        "      {\n"
        f'         "mediaType": "{manifests.DOCKER_LAYER}",\n'
        '         "size": 772788,\n'
        f'         "digest": "{D4}"\n'
        "      }\n"
        "   ]\n"
        "}"
    )
