"""Restart policies and their back-off, as dockerd's restart manager."""

from __future__ import annotations

import pytest

from dockerpy_engine.containers.restart import FIRST_DELAY, MAX_DELAY, Backoff, RestartPolicy
from dockerpy_engine.errdefs import InvalidParameter


def test_policies_decide_like_dockerd():
    always = RestartPolicy("always")
    assert always.should_restart(0, False, 10)
    assert not always.should_restart(0, True, 0)  # stopped by the user
    on_failure = RestartPolicy("on-failure", 2)
    assert on_failure.should_restart(1, False, 0)
    assert on_failure.should_restart(1, False, 1)
    assert not on_failure.should_restart(1, False, 2)
    assert not on_failure.should_restart(0, False, 0)
    assert RestartPolicy("on-failure").should_restart(1, False, 100)
    assert not RestartPolicy("no").should_restart(1, False, 0)
    assert RestartPolicy("unless-stopped").restart_on_daemon_start(0, False)
    assert not RestartPolicy("unless-stopped").restart_on_daemon_start(0, True)
    assert not RestartPolicy("on-failure").restart_on_daemon_start(1, False)


def test_policy_from_the_api_validates():
    assert RestartPolicy.from_api(None) == RestartPolicy("no")
    assert RestartPolicy.from_api({"Name": "", "MaximumRetryCount": 0}).name == "no"
    assert (
        RestartPolicy.from_api({"Name": "on-failure", "MaximumRetryCount": 3}).maximum_retry_count
        == 3
    )
    with pytest.raises(InvalidParameter, match="invalid restart policy"):
        RestartPolicy.from_api({"Name": "sometimes"})
    with pytest.raises(InvalidParameter, match="only be used with 'on-failure'"):
        RestartPolicy.from_api({"Name": "always", "MaximumRetryCount": 2})
    with pytest.raises(InvalidParameter, match="cannot be negative"):
        RestartPolicy.from_api({"Name": "on-failure", "MaximumRetryCount": -1})


def test_backoff_doubles_to_a_minute_and_resets_after_a_long_run():
    backoff = Backoff()
    delays = [backoff.next(0.5) for _ in range(12)]
    assert delays[0] == FIRST_DELAY and delays[1] == FIRST_DELAY * 2
    assert delays[-1] == MAX_DELAY
    assert backoff.next(30.0) == FIRST_DELAY
