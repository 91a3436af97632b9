"""containers/names.py: dockerd's container-name rule and its adjective_surname generator."""

from __future__ import annotations

import re

import pytest

from dockerpy_engine.containers import names
from dockerpy_engine.containers.names import generate, validate
from dockerpy_engine.errdefs import InvalidParameter


@pytest.mark.parametrize("name", ["web", "db1", "my-app_2.test", "A0", "9lives", "x" * 200])
def test_valid_names_are_stored_with_a_leading_slash(name):
    assert validate(name) == "/" + name


def test_a_name_given_with_its_leading_slash_is_kept_as_is():
    assert validate("/web") == "/web"


@pytest.mark.parametrize(
    "name", ["a", "-web", "_web", ".web", "we b", "web/x", "web:1", "wéb", "", "/", "//web"]
)
def test_invalid_names_get_dockerds_exact_message(name):
    with pytest.raises(InvalidParameter) as caught:
        validate(name)

    assert caught.value.message == (
        f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    )


def test_a_trailing_newline_is_not_a_valid_name_character():
    """Go's `$` only matches at the very end, so dockerd rejects "web\\n"; Python's `$` also
    matches before a final newline, which would store a name "/web\\n"."""
    with pytest.raises(InvalidParameter):
        validate("web\n")


def test_generated_names_are_adjective_underscore_surname():
    for _ in range(50):
        name = generate()
        left, _, right = name.partition("_")
        assert left in names._LEFT
        assert right in names._RIGHT


def test_generated_names_pass_validation():
    for _ in range(50):
        assert validate(generate()).startswith("/")


def test_a_retry_appends_one_digit():
    for _ in range(20):
        assert re.fullmatch(r"[a-z]+_[a-z]+[0-9]", generate(retry=1))


def test_boring_wozniak_is_never_generated(monkeypatch):
    picks = iter(["boring", "wozniak", "happy", "turing"])
    monkeypatch.setattr(names.secrets, "choice", lambda _seq: next(picks))

    assert generate() == "happy_turing"
