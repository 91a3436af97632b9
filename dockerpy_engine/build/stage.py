"""One build stage's state, and the `#(nop)` comments that key its cache and name its history.

dockerd records every step as an image whose `container_config.Cmd` says what the step did:
the command for RUN, `[shell…, "#(nop) ", "ENV A=b"]` for a metadata step, a single
`"#(nop) COPY file:<hash> in /dest "` argument for COPY/ADD/WORKDIR. Those strings are both
the cache key and what `docker history` shows, so they follow dockerd's formatting (Go's %q
and %v of slices among it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..gofmt import go_quote
from ..images.types import Image
from .buildargs import BuildArgs
from .instructions import DEFAULT_SHELL, ConfigState

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(slots=True)
class Stage:
    """A stage as it is built: its current image, runtime config and build args."""

    name: str
    index: int
    image: Image | None
    args: BuildArgs
    config: ConfigState = field(default_factory=lambda: ConfigState({}))
    platform: dict[str, str] = field(default_factory=dict)  # os/architecture of scratch

    @classmethod
    def begin(
        cls, name: str, index: int, image: Image | None, args: BuildArgs, platform: dict[str, str]
    ) -> Stage:
        """beginStage: the base image's config, PATH defaulted, build args reset to the stage."""
        config = copy.deepcopy(image.container_config) if image is not None else {}
        env = list(config.get("Env") or [])
        if not any(e.partition("=")[0] == "PATH" for e in env):
            env.append(DEFAULT_PATH)
        config["Env"] = env
        args.reset_allowed()
        return cls(name, index, image, args, ConfigState(config), platform)

    @property
    def image_id(self) -> str:
        return self.image.id if self.image is not None else ""

    @property
    def run_config(self) -> dict[str, Any]:
        return self.config.config

    def shell(self) -> list[str]:
        return list(self.run_config.get("Shell") or DEFAULT_SHELL)

    def env(self) -> dict[str, str]:
        """What instructions expand: the config's Env, then the allowed build args under it."""
        values: dict[str, str] = {}
        for entry in self.args.filter_allowed(self.run_config.get("Env") or []):
            key, _, value = entry.partition("=")
            values[key] = value
        for entry in self.run_config.get("Env") or []:
            key, _, value = entry.partition("=")
            values[key] = value
        return values

    def parent_document(self) -> dict[str, Any]:
        """The config document a child image extends (an empty one for scratch)."""
        if self.image is not None:
            return self.image.config
        return {**self.platform, "rootfs": {"type": "layers"}}

    def with_cmd(self, cmd: list[str] | None, **changes: Any) -> dict[str, Any]:
        """A copy of the runtime config with Cmd (and anything else) replaced."""
        config = copy.deepcopy(self.run_config)
        config["Cmd"] = cmd
        config.update(changes)
        return config

    def nop(self, comment: str) -> dict[str, Any]:
        """withCmdComment: the two-argument comment most metadata steps record."""
        return self.with_cmd([*self.shell(), "#(nop) ", comment])

    def nop_string(self, comment: str) -> dict[str, Any]:
        """withCmdCommentString: the one-argument form of WORKDIR, COPY and ADD."""
        return self.with_cmd([*self.shell(), "#(nop) " + comment])


def go_quote_list(values: list[str] | None) -> str:
    """Go's %q of a []string: `["/bin/sh" "-c" "echo hi"]`."""
    return "[" + " ".join(go_quote(v) for v in values or []) + "]"


def go_list(values: list[str]) -> str:
    """Go's %v of a []string: `[/data /logs]`."""
    return "[" + " ".join(values) + "]"


def go_duration(ns: int) -> str:
    """time.Duration's String for whole seconds, minutes and sub-second values."""
    if ns == 0:
        return "0s"
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return f"{ns / size:g}{unit}"
    seconds = ns / 1_000_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:g}s"
    if minutes or hours:
        text = f"{int(minutes)}m{text}"
    if hours:
        text = f"{int(hours)}h{text}"
    return text


def healthcheck_comment(health: dict[str, Any]) -> str:
    """`HEALTHCHECK %q` of the HealthConfig struct pointer, as dockerd records it."""
    fields = [go_quote_list(health.get("Test"))]
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        fields.append(go_quote(go_duration(int(health.get(key) or 0))))
    retries = int(health.get("Retries") or 0)
    fields.append(f"'\\x{retries:02x}'" if retries < 0x20 else repr(chr(retries)))
    return "HEALTHCHECK &{" + " ".join(fields) + "}"
