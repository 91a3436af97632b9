"""Health-check configuration and dockerd's status rules."""

from __future__ import annotations

from dockerpy_engine.containers.health import (
    DEFAULT_RETRIES,
    MAX_LOG_ENTRIES,
    MAX_OUTPUT,
    NS,
    HealthConfig,
    new_health,
    record,
)


def test_config_defaults_and_none():
    assert HealthConfig.from_api(None) is None
    assert HealthConfig.from_api({"Test": ["NONE"]}) is None
    config = HealthConfig.from_api({"Test": ["CMD-SHELL", "true"], "Interval": 2 * NS})
    assert config.interval == 2 and config.timeout == 30 and config.retries == DEFAULT_RETRIES
    assert config.start_interval == 5 and config.start_period == 0


def test_argv_forms():
    shell = ["/bin/sh", "-c"]
    assert HealthConfig.from_api({"Test": ["CMD-SHELL", "a && b"]}).argv(shell) == [
        "/bin/sh", "-c", "a && b",
    ]  # fmt: skip
    assert HealthConfig.from_api({"Test": ["CMD", "curl", "-f", "x"]}).argv(shell) == [
        "curl", "-f", "x",
    ]  # fmt: skip


def test_status_transitions():
    health = new_health()
    assert record(health, "t", 1, b"", in_start_period=True, retries=2) == "starting"
    assert health["FailingStreak"] == 0  # failures in the start period don't count
    assert record(health, "t", 1, b"", in_start_period=False, retries=2) == "starting"
    assert record(health, "t", 1, b"", in_start_period=False, retries=2) == "unhealthy"
    assert record(health, "t", 0, b"ok", in_start_period=False, retries=2) == "healthy"
    assert health["FailingStreak"] == 0
    assert record(health, "t", 1, b"", in_start_period=True, retries=1) == "unhealthy"


def test_log_keeps_the_last_five_and_cuts_output():
    health = new_health()
    for code in range(8):
        record(health, str(code), code, b"x" * (MAX_OUTPUT + 10), False, 100)
    assert len(health["Log"]) == MAX_LOG_ENTRIES
    assert [e["Start"] for e in health["Log"]] == ["3", "4", "5", "6", "7"]
    assert len(health["Log"][-1]["Output"]) == MAX_OUTPUT
