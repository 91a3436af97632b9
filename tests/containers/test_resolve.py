"""containers/resolve.py: full ID, then exact name, then unique ID prefix, as dockerd."""

from __future__ import annotations

import pytest

from dockerpy_engine.containers.resolve import resolve
from dockerpy_engine.containers.types import Container
from dockerpy_engine.errdefs import InvalidParameter, NoSuchContainer, NotFound

WEB_ID = "ab12" + "0" * 60
DB_ID = "ab34" + "1" * 60
CACHE_ID = "cd56" + "2" * 60


def container(cid: str, name: str) -> Container:
    return Container(
        id=cid,
        name=name,
        created="2024-01-01T00:00:00.000000000Z",
        image_id="sha256:" + "f" * 64,
        path="sh",
        args=[],
        config={},
        host_config={},
    )


def index(*items: Container) -> tuple[dict[str, Container], dict[str, str]]:
    return {c.id: c for c in items}, {c.name: c.id for c in items}


@pytest.fixture
def store() -> tuple[dict[str, Container], dict[str, str]]:
    return index(container(WEB_ID, "/web"), container(DB_ID, "/db"), container(CACHE_ID, "/cache"))


def test_a_full_id_finds_its_container(store):
    assert resolve(WEB_ID, *store).id == WEB_ID


def test_a_name_finds_its_container(store):
    assert resolve("db", *store).id == DB_ID


def test_a_name_with_its_leading_slash_finds_its_container(store):
    assert resolve("/db", *store).id == DB_ID


def test_a_unique_id_prefix_finds_its_container(store):
    assert resolve("cd", *store).id == CACHE_ID


def test_a_longer_prefix_tells_apart_ids_that_share_a_start(store):
    assert resolve("ab3", *store).id == DB_ID


def test_a_full_id_wins_over_a_name_equal_to_it():
    other_id = "ee" + "3" * 62
    by_id, by_name = index(container(WEB_ID, "/web"), container(other_id, "/" + WEB_ID))

    assert resolve(WEB_ID, by_id, by_name).id == WEB_ID


def test_a_name_wins_over_an_id_prefix_equal_to_it():
    named_like_a_prefix = "ee" + "3" * 62
    by_id, by_name = index(container(WEB_ID, "/web"), container(named_like_a_prefix, "/ab12"))

    assert resolve("ab12", by_id, by_name).id == named_like_a_prefix


def test_an_ambiguous_prefix_is_the_clients_error(store):
    with pytest.raises(InvalidParameter) as caught:
        resolve("ab", *store)

    assert caught.value.message == "multiple IDs found with provided prefix: ab"


def test_an_unknown_reference_is_no_such_container(store):
    with pytest.raises(NoSuchContainer) as caught:
        resolve("nope", *store)

    assert caught.value.message == "No such container: nope"


def test_no_such_container_is_a_not_found_kind(store):
    with pytest.raises(NotFound):
        resolve("zz", *store)


def test_a_prefix_is_not_matched_inside_an_id(store):
    with pytest.raises(NoSuchContainer):
        resolve("12" + "0" * 10, *store)


def test_an_empty_reference_is_no_such_container(store):
    with pytest.raises(NoSuchContainer):
        resolve("", *store)


def test_nothing_resolves_in_an_empty_store():
    with pytest.raises(NoSuchContainer, match=r"^No such container: web$"):
        resolve("web", {}, {})
