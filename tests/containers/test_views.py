"""containers/views.py: go-units HumanDuration and the Status column of `docker ps`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dockerpy_engine.containers.types import ZERO_TIME, Container, State
from dockerpy_engine.containers.views import human_duration, status_text

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "Less than a second"),
        (0.999, "Less than a second"),
        (1, "1 second"),
        (1.999, "1 second"),
        (2, "2 seconds"),
        (59, "59 seconds"),
        (59.999, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * MINUTE + 59, "59 minutes"),
        (HOUR, "About an hour"),
        (HOUR + 29 * MINUTE, "About an hour"),  # hours round to the nearest
        (HOUR + 30 * MINUTE, "2 hours"),
        (47 * HOUR, "47 hours"),
        (47 * HOUR + 29 * MINUTE, "47 hours"),
        (47 * HOUR + 30 * MINUTE, "2 days"),
        (13 * DAY, "13 days"),
        (14 * DAY, "2 weeks"),
        (59 * DAY, "8 weeks"),
        (60 * DAY, "2 months"),
        (729 * DAY, "24 months"),
        (730 * DAY, "2 years"),
        (3 * 365 * DAY, "3 years"),
    ],
)
def test_human_duration_matches_go_units(seconds, text):
    assert human_duration(seconds) == text


def test_human_duration_years_count_whole_hours_without_rounding():
    """go-units rounds hours to pick the unit but counts years from the truncated hours
    (`int(d.Hours())/24/365`): 3 years minus 20 minutes is still "2 years" in `docker ps`."""
    assert human_duration(3 * 365 * DAY - 20 * MINUTE) == "2 years"


# --- status_text ---------------------------------------------------------------------------------


def ago(seconds: float) -> str:
    stamp = datetime.now(UTC) - timedelta(seconds=seconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}000Z"


def container(**state: object) -> Container:
    return Container(
        id="a" * 64,
        name="/web",
        created=ago(DAY),
        image_id="sha256:" + "b" * 64,
        path="sh",
        args=[],
        config={},
        host_config={},
        state=State(**state),
    )


def test_a_created_container_is_created():
    assert status_text(container(status="created")) == "Created"


def test_a_running_container_is_up_for_the_time_since_it_started():
    c = container(status="running", pid=42, started_at=ago(3 * MINUTE + 5))

    assert status_text(c) == "Up 3 minutes"


def test_a_just_started_container_is_up_less_than_a_second():
    c = container(status="running", started_at=ago(0))

    assert status_text(c) == "Up Less than a second"


def test_a_paused_container_says_paused_after_its_uptime():
    c = container(status="paused", started_at=ago(2 * HOUR))

    assert status_text(c) == "Up 2 hours (Paused)"


def test_an_exited_container_shows_its_exit_code_and_when_it_finished():
    c = container(
        status="exited", exit_code=137, started_at=ago(3 * HOUR), finished_at=ago(2 * HOUR)
    )

    assert status_text(c) == "Exited (137) 2 hours ago"


def test_an_exited_container_with_code_zero():
    c = container(status="exited", exit_code=0, started_at=ago(90), finished_at=ago(45))

    assert status_text(c) == "Exited (0) 45 seconds ago"


def test_an_exited_container_that_never_finished_shows_created():
    c = container(status="exited", finished_at=ZERO_TIME)

    assert status_text(c) == "Created"


def test_a_restarting_container_shows_its_last_exit_code():
    c = container(status="restarting", exit_code=1, finished_at=ago(10))

    assert status_text(c) == "Restarting (1) 10 seconds ago"


def test_a_container_being_removed():
    assert status_text(container(status="removing")) == "Removal In Progress"


def test_a_dead_container():
    assert status_text(container(status="dead")) == "Dead"


def test_a_start_time_in_the_future_counts_as_just_now():
    c = container(status="running", started_at=ago(-30))

    assert status_text(c) == "Up Less than a second"
