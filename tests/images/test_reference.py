"""Reference parsing and display, checked against distribution/reference's behaviour."""

from __future__ import annotations

import pytest

from dockerpy_engine.errdefs import InvalidParameter
from dockerpy_engine.images.reference import (
    DigestReference,
    Reference,
    familiar_match,
    familiar_string,
    is_image_id_prefix,
    parse,
    parse_any,
    repo_tag_reference,
)

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "full", "familiar"),
    [
        ("busybox", "docker.io/library/busybox", "busybox"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox", "busybox"),
        ("docker.io/busybox", "docker.io/library/busybox", "busybox"),
        ("index.docker.io/foo/bar:x", "docker.io/foo/bar:x", "foo/bar:x"),
        ("foo/bar", "docker.io/foo/bar", "foo/bar"),
        ("library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"),
        ("localhost/x", "localhost/x", "localhost/x"),
        ("localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000/x:1"),
        ("quay.io/a/b-c__d.e", "quay.io/a/b-c__d.e", "quay.io/a/b-c__d.e"),
        ("[::1]:5000/x", "[::1]:5000/x", "[::1]:5000/x"),
        ("Registry.Example/x", "Registry.Example/x", "Registry.Example/x"),
        (
            f"busybox@sha256:{HEX}",
            f"docker.io/library/busybox@sha256:{HEX}",
            f"busybox@sha256:{HEX}",
        ),
    ],
)
def test_parse_normalises_and_familiarises(text: str, full: str, familiar: str) -> None:
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar_string() == familiar
    assert familiar_string(full) == familiar


def test_default_tag_and_lookup_key() -> None:
    assert str(parse("busybox").with_default_tag()) == "docker.io/library/busybox:latest"
    both = parse(f"busybox:1@sha256:{HEX}")
    assert both.lookup_key() == f"docker.io/library/busybox@sha256:{HEX}"
    assert parse("busybox").with_default_tag().familiar_string() == "busybox:latest"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Foo", "invalid reference format: repository name (library/Foo) must be lowercase"),
        ("foo/Bar:1", "invalid reference format: repository name (foo/Bar) must be lowercase"),
        ("", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("-busybox", "invalid reference format"),
        ("a:b:c", "invalid reference format"),
        ("busybox:" + "t" * 129, "invalid reference format"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("busybox@sha256:" + "a" * 40, "invalid checksum digest length"),
        (HEX, f"invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings"),
        ("a" * 256, "repository name must not be more than 255 characters"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse(text)
    assert info.value.message == message


def test_empty_name_for_parse_any() -> None:
    with pytest.raises(InvalidParameter):
        parse_any("")


def test_parse_any() -> None:
    assert parse_any(HEX) == DigestReference(f"sha256:{HEX}")
    assert parse_any(f"sha256:{HEX}") == DigestReference(f"sha256:{HEX}")
    short = parse_any("sha256:abc")
    assert isinstance(short, Reference) and short.tag == "abc" and short.path == "library/sha256"
    assert isinstance(parse_any("abc123"), Reference)


def test_repo_tag_reference() -> None:
    assert repo_tag_reference("") is None
    assert str(repo_tag_reference("foo")) == "docker.io/library/foo:latest"
    assert str(repo_tag_reference("foo:1", "2")) == "docker.io/library/foo:2"
    with pytest.raises(InvalidParameter, match="invalid tag format"):
        repo_tag_reference("foo", "bad tag")
    with pytest.raises(InvalidParameter, match="cannot import digest reference"):
        repo_tag_reference(f"foo@sha256:{HEX}")


def test_is_image_id_prefix() -> None:
    image_id = "sha256:" + "0123456789abcdef" * 4
    assert is_image_id_prefix(image_id, "0123")
    assert is_image_id_prefix(image_id, "sha256:0123")
    assert is_image_id_prefix(image_id, image_id)
    assert not is_image_id_prefix(image_id, "busybox")
    assert not is_image_id_prefix(image_id, "123")


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("busybox", "busybox:latest", True),
        ("busy*", "busybox:latest", True),
        ("busybox:*", "busybox:1", True),
        ("*", "foo/bar:1", False),
        ("*/*", "foo/bar:1", True),
        ("foo/ba[rz]", "foo/baz", True),
        ("foo/ba[^r]", "foo/bar", False),
        ("b?sybox", "busybox", True),
    ],
)
def test_familiar_match(pattern: str, text: str, matches: bool) -> None:
    assert familiar_match(pattern, parse(text)) is matches


def test_bad_pattern() -> None:
    with pytest.raises(InvalidParameter, match="syntax error in pattern"):
        familiar_match("[", parse("busybox"))
