"""containers/listing.py: dockerd's container-list filters (validation, order, before/since,
limit and the per-container checks)."""

from __future__ import annotations

from typing import Any

import pytest

from dockerpy_engine import errdefs
from dockerpy_engine.containers.listing import Query, fold
from dockerpy_engine.containers.types import Container, State


def _container(
    n: int,
    status: str = "running",
    *,
    exit_code: int = 0,
    started: bool = True,
    labels: dict[str, str] | None = None,
    image: str = "img-a",
    health: str | None = None,
) -> Container:
    state = State(
        status=status,
        exit_code=exit_code,
        started_at="2026-01-01T00:00:00Z" if started else "0001-01-01T00:00:00Z",
        health={"Status": health} if health else None,
    )
    return Container(
        id=f"{n:02d}" + "c" * 62,
        name=f"/box{n}",
        created=f"2026-01-01T00:00:{n:02d}Z",
        image_id=image,
        path="true",
        args=[],
        config={"Labels": labels or {}},
        host_config={},
        state=state,
    )


# newest first, as the service hands them over
BOXES = [
    _container(5, "running", labels={"tier": "web"}, health="healthy"),
    _container(4, "exited", exit_code=3),
    _container(3, "created", started=False),
    _container(2, "running", image="img-b"),
    _container(1, "exited", exit_code=0, labels={"tier": "db"}),
]


def _query(filters: dict[str, list[str]], *, all_: bool = False, limit: int = -1) -> Query:
    by_name = {c.name.lstrip("/"): c for c in BOXES}

    def find(ref: str) -> Container:
        if ref in by_name:
            return by_name[ref]
        raise errdefs.NotFound(f"No such container: {ref}")

    families = {"img-a": {"img-a", "img-b"}, "img-b": {"img-b"}}
    return fold(
        filters,
        all=all_,
        limit=limit,
        ids=[c.id for c in BOXES],
        find=find,
        family=lambda ref: families.get(ref, set()),
    )


def _row(c: Container) -> dict[str, Any]:
    n = int(c.id[:2])
    return {
        "Names": [c.name],
        "Mounts": [{"Name": f"vol{n}", "Source": f"/v/{n}", "Destination": "/data"}]
        if n == 5
        else [{"Name": "", "Source": "/host", "Destination": "/bind"}],
        "NetworkSettings": {"Networks": {"bridge" if n % 2 else "net2": {"NetworkID": f"{n}abc"}}},
        "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}] if n == 5 else [],
    }


def _names(filters: dict[str, list[str]], **kw: Any) -> list[str]:
    rows = _query(filters, **kw).select(BOXES, _row)
    return [r["Names"][0].lstrip("/") for r in rows]


def test_running_only_unless_all_status_or_limit() -> None:
    assert _names({}) == ["box5", "box2"]
    assert _names({}, all_=True) == ["box5", "box4", "box3", "box2", "box1"]
    assert _names({"status": ["exited"]}) == ["box4", "box1"]
    assert _names({}, limit=2) == ["box5", "box4"]


def test_before_and_since_are_exclusive_and_do_not_imply_all() -> None:
    assert _names({"before": ["box3"]}) == ["box2"]
    assert _names({"before": ["box3"]}, all_=True) == ["box2", "box1"]
    assert _names({"since": ["box3"]}, all_=True) == ["box5", "box4"]


def test_exited_needs_a_container_that_ran() -> None:
    assert _names({"exited": ["0"]}, all_=True) == ["box1"]  # box3 never started
    assert _names({"exited": ["3", "0"]}, all_=True) == ["box4", "box1"]


def test_names_are_go_regexps_on_both_forms_and_ids_unique_prefixes() -> None:
    assert _names({"name": ["^box[12]$"]}, all_=True) == ["box2", "box1"]
    assert _names({"name": ["^/box5"]}) == ["box5"]
    assert _names({"name": ["ox4"]}, all_=True) == ["box4"]
    assert _names({"id": ["04"]}, all_=True) == ["box4"]
    assert _names({"id": ["0"]}, all_=True) == []  # ambiguous: no container
    assert _names({"id": ["c" * 10]}, all_=True) == []  # not a prefix


def test_labels_health_ancestor() -> None:
    assert _names({"label": ["tier"]}, all_=True) == ["box5", "box1"]
    assert _names({"label": ["tier=db"]}, all_=True) == ["box1"]
    assert _names({"health": ["none"]}) == ["box2"]
    assert _names({"health": ["healthy"]}) == ["box5"]
    assert _names({"ancestor": ["img-b"]}, all_=True) == ["box2"]
    assert _names({"ancestor": ["img-a"]}, all_=True) == ["box5", "box4", "box3", "box2", "box1"]
    assert _names({"ancestor": ["unknown"]}, all_=True) == []


def test_row_checks_volume_network_ports() -> None:
    assert _names({"volume": ["vol5"]}) == ["box5"]
    assert _names({"volume": ["/bind"]}, all_=True) == ["box4", "box3", "box2", "box1"]
    assert _names({"volume": ["/host"]}) == ["box2"]
    assert _names({"network": ["net2"]}, all_=True) == ["box4", "box2"]
    assert _names({"network": ["5a"]}) == ["box5"]
    assert _names({"publish": ["8080"]}) == ["box5"]
    assert _names({"expose": ["70-90/tcp"]}) == ["box5"]
    assert _names({"publish": ["80/udp"]}) == []


def test_limit_counts_what_is_kept() -> None:
    assert _names({"label": ["tier"]}, all_=True, limit=1) == ["box5"]
    assert _names({"status": ["exited"]}, limit=1) == ["box4"]


def test_is_task_and_isolation_are_accepted() -> None:
    assert _names({"is-task": ["true"]}) == []
    assert _names({"is-task": ["false"]}) == ["box5", "box2"]
    assert _names({"isolation": ["anything"]}) == ["box5", "box2"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"nope": ["x"]}, "invalid filter 'nope'"),
        ({"dangling": ["true"]}, "invalid filter 'dangling'"),
        ({"status": ["weird"]}, "invalid filter 'status=weird'"),
        ({"exited": ["x"]}, 'strconv.Atoi: parsing "x": invalid syntax'),
        ({"is-task": ["maybe"]}, "invalid filter 'is-task=[maybe]'"),
        ({"health": ["bogus"]}, "Unrecognised filter value for health: bogus"),
        ({"publish": ["80:80"]}, "filter for 'publish' should not contain ':': 80:80"),
        (
            {"expose": ["x"]},
            'error while looking up for expose x: strconv.ParseUint: parsing "x": invalid syntax',
        ),
        (
            {"publish": ["90-80"]},
            "error while looking up for publish 90-80: Invalid range specified for the Port: 90-80",
        ),
    ],
)
def test_bad_values_are_dockerds_400s(filters: dict[str, list[str]], message: str) -> None:
    with pytest.raises(errdefs.InvalidParameter) as caught:
        _query(filters)
    assert caught.value.message == message


def test_an_unknown_before_container_is_a_404() -> None:
    with pytest.raises(errdefs.NotFound):
        _query({"before": ["nosuch"]})
