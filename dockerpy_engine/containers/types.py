"""Options going into the container service and the records it keeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_rfc3339() -> str:
    """dockerd's timestamps: RFC 3339 with nanoseconds, UTC, 'Z'."""
    stamp = datetime.now(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}000Z"


@dataclass(frozen=True, slots=True)
class CreateOptions:
    """POST /containers/create: the body's three documents, as the client sent them."""

    name: str
    config: dict[str, Any]
    host_config: dict[str, Any]
    networking_config: dict[str, Any]
    platform: str = ""


@dataclass(frozen=True, slots=True)
class StopOptions:
    """Stop/restart: timeout None means the container's StopTimeout (default 10 s)."""

    timeout: int | None = None
    signal: str | None = None


@dataclass(frozen=True, slots=True)
class LogsOptions:
    stdout: bool = False
    stderr: bool = False
    follow: bool = False
    since: float = 0.0
    until: float = 0.0
    timestamps: bool = False
    tail: int | None = None  # None = all


@dataclass(frozen=True, slots=True)
class AttachOptions:
    stream: bool = False
    logs: bool = False
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False


@dataclass(frozen=True, slots=True)
class ListOptions:
    all: bool = False
    limit: int = -1
    size: bool = False
    filters: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class State:
    """Container state as dockerd's inspect shows it."""

    status: str = "created"  # created | running | paused | restarting | removing | exited | dead
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    health: dict[str, Any] | None = None  # {"Status", "FailingStreak", "Log"} with a check

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused", "restarting")


@dataclass(slots=True)
class Container:
    """Everything the daemon keeps about one container (persisted as JSON in store/)."""

    id: str
    name: str  # with the leading slash, as dockerd stores it
    created: str
    image_id: str
    path: str
    args: list[str]
    config: dict[str, Any]
    host_config: dict[str, Any]
    state: State = field(default_factory=State)
    restart_count: int = 0
    log_path: str = ""
    resolv_conf_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    has_been_started: bool = False
    layer_chains: list[str] = field(default_factory=list)  # the image's ChainIDs, base first
    manually_stopped: bool = False  # stop/kill by the user: restart policies stand down
    mount_points: list[dict[str, Any]] = field(default_factory=list)  # volumes/mounts.py
    driver: str = "overlay2"  # the storage driver it was created under (graphdriver.py)
    paused_by_daemon: bool = False  # frozen for a commit: a daemon killed meanwhile resumes it

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Container:
        state = State(**data.pop("state"))
        return cls(state=state, **data)

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def auto_remove(self) -> bool:
        return bool(self.host_config.get("AutoRemove"))
