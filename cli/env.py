"""What every action gets: the API client (created on first use), the output streams, and the
client configuration (`DOCKER_CONFIG`/`~/.docker/config.json`), read only when asked for.

Actions print through `env.out`/`env.err` (text) and `env.out_b`/`env.err_b` (bytes), never
through sys.stdout directly, so unit tests run them against a fake client and StringIO.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any, BinaryIO, TextIO

__all__ = ["Env", "config_dir", "load_config", "save_config"]


def config_dir(flag: str | None = None) -> str:
    """--config, else DOCKER_CONFIG, else ~/.docker (docker's config.Dir())."""
    if flag:
        return flag
    env = os.environ.get("DOCKER_CONFIG")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".docker")


def load_config(directory: str) -> dict[str, Any]:
    """config.json as a dict (empty when missing); `auths` holds base64 `user:pass` per
    registry, `psFormat`/`imagesFormat` the default formats, `detachKeys`, `HttpHeaders`."""
    path = os.path.join(directory, "config.json")
    from cli import _json

    try:
        with open(path, "rb") as f:
            data = _json.loads(f.read())
    except FileNotFoundError:
        return {}
    except ValueError as e:
        from cli.api import CLIError

        raise CLIError(f"loading config file: {path}: {e}") from None
    return data if isinstance(data, dict) else {}


def save_config(directory: str, data: dict[str, Any]) -> str:
    """Write config.json as the docker CLI does (tab-indented, no final newline, mode 0600,
    through a temporary file renamed over it); returns its path."""
    import json

    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, "config.json")
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent="\t", ensure_ascii=False))
    os.replace(tmp, path)
    return path


class Env:
    """The injected context of an action."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        out: TextIO | None = None,
        err: TextIO | None = None,
        stdin: IO[bytes] | None = None,
        config_path: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.client_factory = client_factory
        self.out: TextIO = out if out is not None else sys.stdout
        self.err: TextIO = err if err is not None else sys.stderr
        self.stdin: IO[bytes] = stdin if stdin is not None else sys.stdin.buffer
        self.config_path = config_path if config_path is not None else config_dir()
        self._client: Any = None
        self._config = config

    @property
    def api(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def out_b(self) -> BinaryIO:
        buf = getattr(self.out, "buffer", None)
        if buf is None:
            return _TextBytes(self.out)  # type: ignore[return-value]
        self.out.flush()
        return buf

    @property
    def err_b(self) -> BinaryIO:
        buf = getattr(self.err, "buffer", None)
        if buf is None:
            return _TextBytes(self.err)  # type: ignore[return-value]
        self.err.flush()
        return buf

    def stdin_is_tty(self) -> bool:
        try:
            return os.isatty(self.stdin.fileno())
        except (OSError, ValueError, AttributeError):
            return False

    def stdout_is_tty(self) -> bool:
        try:
            return os.isatty(self.out.fileno())
        except (OSError, ValueError, AttributeError):
            return False

    def tty_size(self) -> tuple[int, int]:
        """(rows, columns) of the terminal on stdout, (0, 0) when it is not one (docker's
        Out().GetTtySize())."""
        try:
            size = os.get_terminal_size(self.out.fileno())
        except (OSError, ValueError, AttributeError):
            return 0, 0
        return size.lines, size.columns


class _TextBytes:
    """Bytes written to a text stream (StringIO in tests)."""

    def __init__(self, text: TextIO) -> None:
        self.text = text

    def write(self, data: bytes) -> int:
        self.text.write(data.decode(errors="replace"))
        return len(data)

    def flush(self) -> None:
        self.text.flush()
