"""jsonmessage drawing (terminal and pipe), references, and config.json credentials."""

from __future__ import annotations

import io
import json

import pytest

from cli.jsonmessage import JSONMessageError, display_stream, progress_string
from cli.reference import ReferenceError, parse_normalized


def _lines(*msgs: dict) -> list[bytes]:
    return [json.dumps(m).encode() for m in msgs]


PULL = _lines(
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
    {"status": "Downloading", "progressDetail": {"current": 50, "total": 100}, "id": "aaa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa"},
    {"status": "Digest: sha256:abc"},
    {"id": "moby.image.id", "aux": {"ID": "sha256:1"}},
)


def test_pipe_drops_byte_counts_and_prints_the_rest() -> None:
    out = io.StringIO()
    seen: list[dict] = []
    display_stream(PULL, out, tty=False, aux=seen.append)
    assert out.getvalue() == (
        "latest: Pulling from library/busybox\naaa: Pulling fs layer\naaa: Pull complete\n"
        "Digest: sha256:abc\n"
    )
    assert seen == [{"id": "moby.image.id", "aux": {"ID": "sha256:1"}}]


def test_terminal_redraws_each_layer_in_place() -> None:
    out = io.StringIO()
    display_stream(PULL[:4], out, tty=True)
    text = out.getvalue()
    assert text.startswith("latest: Pulling from library/busybox\n\n\x1b[1A\x1b[2K\raaa: ")
    assert ">                         ]      50B/100B\r\x1b[1B" in text
    assert text.endswith("\x1b[1A\x1b[2K\raaa: Pull complete \r\x1b[1B")


def test_errors_carry_their_code() -> None:
    lines = _lines({"stream": "Step 1/1\n"}, {"errorDetail": {"code": 3, "message": "boom"}})
    with pytest.raises(JSONMessageError) as e:
        display_stream(lines, io.StringIO(), tty=False)
    assert str(e.value) == "boom" and e.value.code == 3


def test_progress_string() -> None:
    assert progress_string({}) == ""
    assert progress_string({"current": 1500}) == "   1.5kB"
    bar = progress_string({"current": 50, "total": 100}, width=200)
    assert bar == "[=========================>                         ]      50B/100B"
    assert progress_string({"current": 50, "total": 100}, width=80) == "     50B/100B"
    assert progress_string({"current": 3, "total": 10, "units": "items"}, width=80) == "3/10 items"
    left = progress_string({"current": 50, "total": 100, "start": 1000}, width=80, now=1010)
    assert left.endswith(" 10s")


@pytest.mark.parametrize(
    ("ref", "full", "familiar", "key"),
    [
        ("busybox", "docker.io/library/busybox", "busybox", "https://index.docker.io/v1/"),
        ("me/app:1", "docker.io/me/app:1", "me/app:1", "https://index.docker.io/v1/"),
        ("localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000"),
    ],
)
def test_references(ref: str, full: str, familiar: str, key: str) -> None:
    named = parse_normalized(ref)
    assert (str(named), named.familiar, named.index_key) == (full, familiar, key)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("Foo", "invalid reference format: repository name (library/Foo) must be lowercase"),
        ("a:b:c", "invalid reference format"),
        ("x@sha256:12", "invalid reference format"),
    ],
)
def test_bad_references(ref: str, message: str) -> None:
    with pytest.raises(ReferenceError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_normalized(ref)
