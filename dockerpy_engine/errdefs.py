"""Error kinds the backends raise; only api/middleware.py turns them into status codes.

    EngineError
    ├── InvalidParameter   400
    ├── Unauthorized       401
    ├── Forbidden          403
    ├── NotFound           404
    │   ├── NoSuchContainer
    │   └── NoSuchImage
    ├── Conflict           409
    ├── NotModified        304
    ├── Unavailable        503
    ├── Unimplemented      501
    └── System             500 (a bug or an environment failure)

Services say what kind of failure happened, never which status to send; messages are dockerd's.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error a service may raise on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(EngineError):
    """The request is malformed or asks for something impossible (400)."""


class Unauthorized(EngineError):
    """Credentials are missing or wrong (401)."""


class Forbidden(EngineError):
    """The operation is not allowed in this state (403)."""


class NotFound(EngineError):
    """The named object does not exist (404)."""


class NoSuchContainer(NotFound):
    """No container matches a name, ID or ID prefix."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"No such container: {ref}")


class NoSuchImage(NotFound):
    """No image matches a reference; docker CLI's `run` pulls on this 404, so it means only that."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"No such image: {ref}")


class Conflict(EngineError):
    """The object is in a state or name clash that forbids the operation (409)."""


class NotModified(EngineError):
    """Nothing to do, e.g. starting a running container (304)."""


class Unavailable(EngineError):
    """A dependency (containerd) is not reachable right now (503)."""


class Unimplemented(EngineError):
    """The daemon does not implement this feature (501)."""


class System(EngineError):
    """The environment failed under us: a mount, a runtime call (500)."""
