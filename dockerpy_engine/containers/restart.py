"""Restart policies with dockerd's rules and back-off (its restartmanager).

A container that exits is restarted when its policy says so and the user did not stop it;
the delay starts at 100 ms and doubles on each restart up to one minute, and falls back to
100 ms once a run lasted at least 10 s.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errdefs import InvalidParameter

POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    name: str = "no"
    maximum_retry_count: int = 0

    @classmethod
    def from_api(cls, data: dict | None) -> RestartPolicy:
        data = data or {}
        name = data.get("Name") or "no"
        if name not in POLICIES:
            raise InvalidParameter(
                f"invalid restart policy: unknown policy '{name}'; use one of "
                "'no', 'always', 'on-failure', or 'unless-stopped'"
            )
        retries = int(data.get("MaximumRetryCount") or 0)
        if retries < 0:
            raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
        if retries and name != "on-failure":
            raise InvalidParameter(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
            )
        return cls(name, retries)

    def should_restart(self, exit_code: int, manually_stopped: bool, restart_count: int) -> bool:
        if manually_stopped:
            return False
        if self.name in ("always", "unless-stopped"):
            return True
        if self.name == "on-failure" and exit_code != 0:
            return not self.maximum_retry_count or restart_count < self.maximum_retry_count
        return False

    def restart_on_daemon_start(self, exit_code: int, manually_stopped: bool) -> bool:
        """dockerd starts `always` containers, and `unless-stopped` ones the user did not stop."""
        return not manually_stopped and self.name in ("always", "unless-stopped")


class Backoff:
    """The delay before the next restart of one container."""

    def __init__(self) -> None:
        self.delay = 0.0

    def next(self, ran_for: float) -> float:
        if ran_for >= RESET_AFTER or self.delay == 0.0:
            self.delay = FIRST_DELAY
        else:
            self.delay = min(self.delay * 2, MAX_DELAY)
        return self.delay
